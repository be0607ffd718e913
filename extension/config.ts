// The `phiLocal.*` settings, read fresh whenever they are needed so that changes apply without a reload.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ExecutionProviderChoice, SamplingOptions, ToolChoice } from '../sidecar/protocol';
import { resolveModelLocation, TOKENIZER_FOLDER, type ModelLocation } from './model/modelPath';

export const SECTION = 'phiLocal';

/** The settings that decide what is loaded: a change to any of them reloads the model. */
export const LOAD_SETTINGS = ['modelPath', 'executionProvider', 'contextLength', 'threads'] as const;

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
  const c = vscode.workspace.getConfiguration(SECTION);
  const url = c.get<string>('remote.url', '').trim();
  const model = c.get<string>('remote.model', '').trim();
  const api = c.get<string>('remote.api', 'auto');
  return {
    engine: c.get<string>('engine') === 'remote' ? 'remote' : 'local', remoteUrl: url || undefined, remoteModel: model || undefined,
    remoteApi: api === 'chat' || api === 'completions' ? api : 'auto',
    tokenizerDir: findTokenizerDir(c.get<string>('modelPath')),
  };
}

export interface LoadSettings {
  location: ModelLocation | undefined;
  executionProvider: ExecutionProviderChoice;
  /** Undefined: the engine's default. */
  contextLength: number | undefined;
  threads: number | undefined;
}

export interface TurnSettings {
  maxNewTokens: number;
  sampling: SamplingOptions;
}

const PROVIDERS: readonly ExecutionProviderChoice[] = ['auto', 'cpu', 'webgpu', 'cuda', 'dml'];

function positive(value: number | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : undefined;
}

let downloadedModelsRoot: string | undefined;

/** Where downloaded models live (<global storage>/models; set once at activation), so an id in modelPath finds its folder. */
export function setDownloadedModelsRoot(dir: string | undefined): void {
  downloadedModelsRoot = dir;
}

export function readLoadSettings(): LoadSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const provider = c.get<string>('executionProvider', 'auto');
  const engine = readEngineSettings();
  return {
    // The remote engine needs no model folder: its server is where the model is.
    location: engine.engine === 'remote' ? (engine.remoteUrl ? { dir: engine.remoteUrl, source: 'remote' } : undefined) : resolveModelLocation(c.get<string>('modelPath'), process.env, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, undefined, downloadedModelsRoot),
    executionProvider: PROVIDERS.includes(provider as ExecutionProviderChoice) ? (provider as ExecutionProviderChoice) : 'auto',
    contextLength: positive(c.get<number>('contextLength')),
    // At most this machine's CPU threads (the sidecar refuses more: they only wait on each other); the setting may
    // come from a workspace's settings.
    threads: ((n) => (n === undefined ? undefined : Math.min(n, os.availableParallelism())))(positive(c.get<number>('threads'))),
  };
}

export function readTurnSettings(): TurnSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const temperature = c.get<number>('temperature', 0);
  const topP = c.get<number>('topP', 1);
  return {
    maxNewTokens: positive(c.get<number>('maxNewTokens')) ?? 1024,
    sampling: {
      temperature: Number.isFinite(temperature) && temperature >= 0 ? temperature : 0,
      topP: Number.isFinite(topP) && topP > 0 && topP <= 1 ? topP : 1,
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
  const c = vscode.workspace.getConfiguration(SECTION);
  const choice = c.get<string>('tools.toolChoice', 'auto');
  return {
    enabled: c.get<boolean>('tools.enabled', true) !== false,
    toolChoice: TOOL_CHOICES.includes(choice as ToolChoice) ? (choice as ToolChoice) : 'auto',
    maxCallsPerTurn: Math.min(positive(c.get<number>('tools.maxCallsPerTurn')) ?? 5, 50),
  };
}

/** Same load settings: nothing to reload. */
export function sameLoad(a: LoadSettings, b: LoadSettings): boolean {
  return a.location?.dir === b.location?.dir && a.executionProvider === b.executionProvider &&
    a.contextLength === b.contextLength && a.threads === b.threads;
}
