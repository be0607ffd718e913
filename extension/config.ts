// The `phiLocal.*` settings, read fresh whenever they are needed so that changes apply without a reload. The only
// module that reads or writes them (their defaults: settingDefaults.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EXECUTION_PROVIDER_CHOICES, type ExecutionProviderChoice, type SamplingOptions, type ToolChoice } from '../sidecar/protocol';
import { resolveModelLocation, TOKENIZER_FOLDER, type ModelLocation } from './modelPath';
import { SETTING_DEFAULTS, type SettingName } from './settingDefaults';

export const SECTION = 'phiLocal';

/** A setting's value, else its default from settingDefaults.ts. */
function setting<K extends SettingName>(key: K): (typeof SETTING_DEFAULTS)[K] {
  return vscode.workspace.getConfiguration(SECTION).get(key, SETTING_DEFAULTS[key]);
}

/** The settings that decide what is loaded: a change to any of them reloads the model. */
export const LOAD_SETTINGS = ['modelPath', 'executionProvider', 'contextLength', 'threads', 'kvCacheMemory'] as const;

/** The settings that decide which engine the sidecar runs: a change to any of them restarts the sidecar. */
export const ENGINE_SETTINGS = ['engine', 'remote.url', 'remote.model', 'remote.api'] as const;

export interface EngineSettings {
  engine: 'local' | 'remote';
  remoteUrl: string | undefined;
  remoteModel: string | undefined;
  /** How the remote engine speaks to its server (sidecar/remote/remoteEngine.ts). */
  remoteApi: 'auto' | 'chat' | 'completions';
  /**
   * A folder with Phi-4's tokenizer files, for the remote engine's exact prompts: the configured model folder, else a
   * downloaded model's; undefined when there is none.
   */
  tokenizerDir: string | undefined;
}

const hasTokenizer = (dir: string | undefined): dir is string => !!dir && fs.existsSync(path.join(dir, 'tokenizer.json'));

/** The configured model folder, a downloaded model's, or the tokenizer files downloaded alone (Phi: Download Tokenizer Files). */
function findTokenizerDir(modelPath: string | undefined): string | undefined {
  const configured = resolveModelLocation(modelPath, process.env, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, undefined, downloadedModelsRoot)?.dir;
  if (hasTokenizer(configured)) return configured;
  if (!downloadedModelsRoot) return undefined;
  const subfolders = (root: string): string[] => {
    try {
      return fs.readdirSync(root).sort().map((name) => path.join(root, name));
    } catch {
      return []; // nothing downloaded there yet
    }
  };
  return [...subfolders(downloadedModelsRoot), ...subfolders(path.join(path.dirname(downloadedModelsRoot), TOKENIZER_FOLDER))].find(hasTokenizer);
}

export function readEngineSettings(): EngineSettings {
  const url = setting('remote.url').trim();
  const model = setting('remote.model').trim();
  const api: string = setting('remote.api');
  return {
    engine: setting('engine') === 'remote' ? 'remote' : 'local', remoteUrl: url || undefined, remoteModel: model || undefined,
    remoteApi: api === 'chat' || api === 'completions' ? api : 'auto',
    tokenizerDir: findTokenizerDir(setting('modelPath')),
  };
}

export interface LoadSettings {
  location: ModelLocation | undefined;
  executionProvider: ExecutionProviderChoice;
  /** Undefined: the engine's default. */
  contextLength: number | undefined;
  threads: number | undefined;
  /** MiB for the KV caches; 0: no bound. */
  kvCacheMemory: number;
}

export interface TurnSettings {
  maxNewTokens: number;
  sampling: SamplingOptions;
}

function positive(value: number | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : undefined;
}

let downloadedModelsRoot: string | undefined;

/** Where downloaded models live (<global storage>/models; set once at activation), so an id in modelPath finds its folder. */
export function setDownloadedModelsRoot(dir: string | undefined): void {
  downloadedModelsRoot = dir;
}

export function readLoadSettings(): LoadSettings {
  const provider: string = setting('executionProvider');
  const engine = readEngineSettings();
  return {
    // The remote engine needs no model folder: its server is where the model is.
    location: engine.engine === 'remote' ? (engine.remoteUrl ? { dir: engine.remoteUrl, source: 'remote' } : undefined) : resolveModelLocation(setting('modelPath'), process.env, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, undefined, downloadedModelsRoot),
    executionProvider: EXECUTION_PROVIDER_CHOICES.includes(provider as ExecutionProviderChoice) ? (provider as ExecutionProviderChoice) : 'auto',
    contextLength: positive(setting('contextLength')),
    // At most this machine's CPU threads (the sidecar refuses more: they only wait on each other); the setting may
    // come from a workspace's settings.
    threads: ((n) => (n === undefined ? undefined : Math.min(n, os.availableParallelism())))(positive(setting('threads'))),
    kvCacheMemory: ((n: number) => (Number.isFinite(n) && n >= 0 ? Math.floor(n) : SETTING_DEFAULTS.kvCacheMemory))(setting('kvCacheMemory')),
  };
}

export function readTurnSettings(): TurnSettings {
  const temperature: number = setting('temperature');
  const topP: number = setting('topP');
  return {
    maxNewTokens: positive(setting('maxNewTokens')) ?? SETTING_DEFAULTS.maxNewTokens,
    sampling: {
      temperature: Number.isFinite(temperature) && temperature >= 0 ? temperature : SETTING_DEFAULTS.temperature,
      topP: Number.isFinite(topP) && topP > 0 && topP <= 1 ? topP : SETTING_DEFAULTS.topP,
    },
  };
}

export interface ToolSettings {
  enabled: boolean;
  toolChoice: ToolChoice;
  maxCallsPerTurn: number;
}

const TOOL_CHOICES: readonly ToolChoice[] = ['auto', 'required', 'none'];

/** `phiLocal.tools.*`: whether the chat offers the workspace tools, and how the model may use them. */
export function readToolSettings(): ToolSettings {
  const choice: string = setting('tools.toolChoice');
  return {
    enabled: setting('tools.enabled') !== false,
    toolChoice: TOOL_CHOICES.includes(choice as ToolChoice) ? (choice as ToolChoice) : 'auto',
    maxCallsPerTurn: Math.min(positive(setting('tools.maxCallsPerTurn')) ?? SETTING_DEFAULTS['tools.maxCallsPerTurn'], 50),
  };
}

/** Same load settings: nothing to reload. */
export function sameLoad(a: LoadSettings, b: LoadSettings): boolean {
  return a.location?.dir === b.location?.dir && a.executionProvider === b.executionProvider &&
    a.contextLength === b.contextLength && a.threads === b.threads && a.kvCacheMemory === b.kvCacheMemory;
}

/** `phiLocal.serve.port`: where Phi: Start OpenAI-Compatible Server listens. */
export function readServePort(): number {
  const port: number = setting('serve.port');
  return Number.isInteger(port) && port >= 0 && port <= 65535 ? port : SETTING_DEFAULTS['serve.port'];
}

/** `phiLocal.download.endpoint`: the Hugging Face hub, or a mirror. */
export function readDownloadEndpoint(): string {
  return setting('download.endpoint').trim() || SETTING_DEFAULTS['download.endpoint'];
}

/** Phi: Pick Remote Model's choice (machine-scoped: the user's, never a workspace's). */
export async function saveRemoteModel(id: string): Promise<void> {
  await vscode.workspace.getConfiguration(SECTION).update('remote.model', id, vscode.ConfigurationTarget.Global);
}

/** Saves the model folder where it takes effect: the workspace when the workspace sets one, else the user settings. */
export async function saveModelPath(dir: string): Promise<void> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const inspected = config.inspect<string>('modelPath');
  const target = inspected?.workspaceFolderValue ? vscode.ConfigurationTarget.WorkspaceFolder
    : inspected?.workspaceValue ? vscode.ConfigurationTarget.Workspace
      : vscode.ConfigurationTarget.Global;
  await config.update('modelPath', dir, target);
}

/** Clears `phiLocal.modelPath` in the user and workspace settings (its model was deleted). */
export async function clearModelPath(): Promise<void> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const inspected = config.inspect<string>('modelPath');
  for (const [value, target] of [
    [inspected?.globalValue, vscode.ConfigurationTarget.Global],
    [inspected?.workspaceValue, vscode.ConfigurationTarget.Workspace],
  ] as const) {
    if (value) await config.update('modelPath', undefined, target).then(undefined, () => undefined);
  }
}

export interface CompletionSettings {
  /** Per language id, `*` for the rest (triggerPolicy.ts reads it). */
  enable: unknown;
  debounceMs: number;
  timeoutMs: number;
}

/** `phiLocal.completions.*`: inline completions. */
export function readCompletionSettings(): CompletionSettings {
  const debounceMs: number = setting('completions.debounceMs');
  const timeoutMs: number = setting('completions.timeoutMs');
  return {
    enable: vscode.workspace.getConfiguration(SECTION).get<unknown>('completions.enable'),
    debounceMs: Number.isFinite(debounceMs) && debounceMs >= 0 ? debounceMs : SETTING_DEFAULTS['completions.debounceMs'],
    timeoutMs: Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : SETTING_DEFAULTS['completions.timeoutMs'],
  };
}

/** Saves `phiLocal.completions.enable` in the user settings (Phi: Toggle Inline Completions). */
export async function saveCompletionsEnable(enable: Record<string, boolean>): Promise<void> {
  await vscode.workspace.getConfiguration(SECTION).update('completions.enable', enable, vscode.ConfigurationTarget.Global);
}

/** `phiLocal.explain.codeLens`: the Explain lens above functions and classes. */
export function readExplainCodeLens(): boolean {
  return setting('explain.codeLens') !== false;
}

/** `phiLocal.instructions.enabled`: the project's instruction files (AGENTS.md, …) go into the system prompt. */
export function readInstructionsEnabled(): boolean {
  return setting('instructions.enabled') !== false;
}

/** `phiLocal.workspaceIndex.enabled`: the local index of the workspace that `@workspace` questions are answered from. */
export function readWorkspaceIndexEnabled(): boolean {
  return setting('workspaceIndex.enabled') !== false;
}
