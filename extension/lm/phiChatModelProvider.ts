// Phi-4-mini as a model of VS Code's own Chat and of `vscode.lm` (VS Code 1.104 and later): a language-model chat
// provider, vendor `phi-local`, registered only where the API exists (on older VS Code the extension's own chat
// panel is the way in). One model, the configured folder's, "Phi-4-mini (local)":
// - Listed once a model folder is configured; its token limits are the loaded model's context (before the first
//   load, the folder's genai_config.json and phiLocal.contextLength, which is what the load gives). VS Code hears
//   of every change (load, other folder, other context length).
// - A request is a turn of the turn runner (turn/turnRunner.ts: loads the model if needed, streams the sidecar's
//   text) on the messages mapped to the Phi-4 template's roles (requestMessages.ts); the sidecar fits them into the
//   context from the oldest turn, with a notice that starts the answer.
// - Tools: the request's tools go to the sidecar, which renders them in Phi-4's format and constrains the model's
//   call to them; with toolExecution 'return' the turn ends at the call, which is reported as tool-call parts for
//   the caller (VS Code's Agent mode) to run. Its results come back in the next request as tool messages.
// - Cancelling the request's token cancels phi/chat: the decode loop stops within one step.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { answerReserve, type ChatMessage, type ToolDefinition } from '../../sidecar/protocol';
import { readLoadSettings, readTurnSettings } from '../config';
import { describeError, NO_MODEL_MESSAGE, type ModelManager } from '../model/modelManager';
import { PhiError, type SidecarClient } from '../sidecarClient';
import { TurnRunner } from '../turn/turnRunner';
import {
  chatProviderApi, type LanguageModelChatInformation, type LanguageModelChatProvider, type LanguageModelChatRequestMessage,
  type LanguageModelResponsePart, type PrepareLanguageModelChatModelOptions, type ProvideLanguageModelChatResponseOptions,
} from './languageModelApi';
import { apiErrorFor, withoutStack } from './apiError';
import { toChatMessages } from './requestMessages';
import { estimateToolTokens, selectTools, type ToolSelection } from './toolSelection';

/** Tokens kept free beside the tools' estimate: the template's markers around them, and the estimate's error. */
const TOOL_ROOM_MARGIN = 64;

export const VENDOR = 'phi-local';
export const MODEL_NAME = 'Phi-4-mini (local)';
export const MODEL_FAMILY = 'phi-4-mini';
/** Model setup (Phi: Manage Models): the `languageModelChatProviders` contribution's managementCommand too. */
export const MANAGE_COMMAND = 'phiLocal.manageModels';

export interface PhiModelInformation extends LanguageModelChatInformation {
  /** The model folder's name. */
  readonly detail: string;
}

interface ModelLimits {
  dir: string;
  contextLength: number;
  loaded: boolean;
}

/** Tokens kept for the answer: the phiLocal.maxNewTokens setting, at most half the context. */
function outputTokens(contextLength: number): number {
  return answerReserve(contextLength, readTurnSettings().maxNewTokens);
}

/** The context a load of `dir` will have, read before it is loaded: the folder's, or less with the setting. */
function expectedContextLength(dir: string, setting: number | undefined): number | undefined {
  try {
    const genai = JSON.parse(fs.readFileSync(path.join(dir, 'genai_config.json'), 'utf8')) as { model?: { context_length?: unknown } };
    const folder = genai.model?.context_length;
    if (typeof folder !== 'number' || !Number.isInteger(folder) || folder <= 0) return undefined;
    return setting ? Math.min(setting, folder) : folder;
  } catch {
    return undefined; // not a model folder: nothing to list; a load says what is wrong
  }
}

export class PhiChatModelProvider implements LanguageModelChatProvider<PhiModelInformation>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeLanguageModelChatInformation = this.changeEmitter.event;
  private readonly subscriptions: vscode.Disposable[] = [this.changeEmitter];
  private lastKey = '';
  private readonly turns: TurnRunner;

  constructor(
    private readonly sidecar: SidecarClient,
    private readonly models: ModelManager,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.turns = new TurnRunner(sidecar, models);
    this.lastKey = this.key();
    const changed = () => {
      const key = this.key();
      if (key === this.lastKey) return;
      this.lastKey = key;
      this.changeEmitter.fire();
    };
    this.subscriptions.push(
      models.onDidChange(changed),
      vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('phiLocal')) changed(); }),
    );
  }

  /** What the model list depends on: a change fires onDidChangeLanguageModelChatInformation. */
  private key(): string {
    const limits = this.limits();
    return limits ? `${limits.dir}|${limits.contextLength}|${outputTokens(limits.contextLength)}|${limits.loaded}` : '';
  }

  /** The loaded model's folder and context; before a load, the configured folder's. */
  private limits(): ModelLimits | undefined {
    const phase = this.models.phase;
    if (phase.kind === 'ready') return { dir: phase.info.dir, contextLength: phase.info.contextLength, loaded: true };
    const settings = readLoadSettings();
    if (!settings.location) return undefined;
    const contextLength = expectedContextLength(settings.location.dir, settings.contextLength);
    return contextLength ? { dir: settings.location.dir, contextLength, loaded: false } : undefined;
  }

  /** The model as VS Code lists it. */
  information(): PhiModelInformation | undefined {
    const limits = this.limits();
    if (!limits) return undefined;
    const maxOutputTokens = outputTokens(limits.contextLength);
    return {
      id: modelId(limits.dir),
      name: MODEL_NAME,
      family: MODEL_FAMILY,
      version: path.basename(limits.dir),
      detail: path.basename(limits.dir),
      tooltip: `Microsoft's Phi-4-mini-instruct on this machine, from ${limits.dir}: private, offline, no sign-in. ` +
        `Context ${limits.contextLength} tokens${limits.loaded ? '' : ' (the model loads on first use)'}.`,
      maxInputTokens: limits.contextLength - maxOutputTokens,
      maxOutputTokens,
      capabilities: { imageInput: false, toolCalling: true },
      isUserSelectable: true,
    };
  }

  provideLanguageModelChatInformation(options: PrepareLanguageModelChatModelOptions): PhiModelInformation[] {
    const info = this.information();
    // Asked with the user present (VS Code's "Add Models"), and no folder to offer: open model setup.
    if (!info && !options.silent) void vscode.commands.executeCommand(MANAGE_COMMAND);
    return info ? [info] : [];
  }

  async provideLanguageModelChatResponse(
    _model: PhiModelInformation,
    requestMessages: readonly LanguageModelChatRequestMessage[],
    options: ProvideLanguageModelChatResponseOptions,
    progress: vscode.Progress<LanguageModelResponsePart>,
    token: vscode.CancellationToken,
  ): Promise<void> {
    const requested: ToolDefinition[] = (options.tools ?? []).map((t) => ({
      name: t.name, description: t.description, parameters: t.inputSchema as Record<string, unknown> | undefined,
    }));
    let tools = requested;
    try {
      const messages = toChatMessages(requestMessages);
      if (!messages.some((m) => m.role !== 'system')) throw new PhiError('bad-request', 'The request has no message for Phi-4-mini to answer.');
      if (requested.length) {
        const selection = await this.toolsThatFit(requested, messages, token);
        tools = selection.offered;
        if (selection.left.length) {
          this.log.info(`Language model request: ${requested.length} tool definitions do not fit beside the conversation; offered the ${tools.length} most relevant, left out ${selection.left.join(', ')}.`);
          const named = selection.left.length > 8 ? `${selection.left.slice(0, 8).join(', ')} and ${selection.left.length - 8} more` : selection.left.join(', ');
          progress.report(new vscode.LanguageModelTextPart(`*Phi Local: Phi-4-mini's context holds only some of the ${requested.length} tools; offered the ${tools.length} most relevant to this request (left out: ${named}; the output channel lists them all).*\n\n`));
        }
      }
      const toolChoice = options.toolMode === vscode.LanguageModelChatToolMode.Required ? 'required' : 'auto';
      this.log.info(`Language model request: ${messages.length} messages, ${tools.length} tools` +
        `${tools.length ? ` (${tools.map((t) => t.name).join(', ')}; tool choice ${toolChoice})` : ''}.`);
      const outcome = await this.turns.run({
        purpose: 'lm', messages, tools, toolChoice, toolExecution: 'return',
        // The answer's share VS Code was told (maxOutputTokens), so the input may have the rest.
        answerTokens: (model, setting) => answerReserve(model.contextLength, setting),
      }, { onText: (text) => progress.report(new vscode.LanguageModelTextPart(text)) }, token);
      const result = outcome.result;
      if (!result) return;
      for (const call of result.toolCalls ?? []) {
        progress.report(new vscode.LanguageModelToolCallPart(call.id, call.name, call.arguments));
      }
      this.log.info(`Language model answer: ${result.usage.promptTokens} prompt tokens (${result.usage.reusedTokens} reused), ` +
        `${result.tokenIds.length} generated, ${result.finishReason}` +
        `${result.toolCalls?.length ? `; calls ${result.toolCalls.map((c) => c.name).join(', ')}` : ''}.`);
    } catch (e) {
      if (!(e instanceof PhiError && e.code === 'prompt-too-long')) this.log.warn(`Language model request failed: ${describeError(e)}`);
      throw this.toApiError(e instanceof PhiError && e.code === 'prompt-too-long' ? this.refused(e, tools.length) : e);
    }
  }

  /**
   * The request's tools within the room the context leaves beside its messages and the answer (toolSelection.ts):
   * all of them when they fit, else the most relevant to the latest user message.
   */
  private async toolsThatFit(tools: ToolDefinition[], messages: ChatMessage[], token: vscode.CancellationToken): Promise<ToolSelection> {
    const model = await this.models.ensureLoaded({ notifyFailure: false });
    const free = model.contextLength - answerReserve(model.contextLength, readTurnSettings().maxNewTokens) - TOOL_ROOM_MARGIN;
    // Clearly within the context (at most a token per character): no count needed.
    const chars = messages.reduce((n, m) => n + m.content.length, 0);
    if (chars + tools.reduce((n, t) => n + estimateToolTokens(t), 0) <= free) return { offered: tools, left: [] };
    const counted = await this.sidecar.countTokens({ messages }, token);
    const room = free - counted.tokens;
    const query = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    return selectTools(tools, query, Math.max(0, room));
  }

  /** The sidecar's "does not fit", with what to do about it in VS Code's Chat; logged. */
  private refused(e: PhiError, tools: number): PhiError {
    const phase = this.models.phase;
    const info = phase.kind === 'ready' ? phase.info : undefined;
    const message = `${e.message} ` +
      (tools ? 'Use Ask mode, or fewer tools ("Configure Tools..."); or attach less context' : 'Attach less context or start a new chat') +
      (info && info.contextLength < info.modelContextLength ? `, or raise "phiLocal.contextLength" (the model takes up to ${info.modelContextLength}).` : '.');
    this.log.warn(`Language model request refused: ${message}`);
    return new PhiError('prompt-too-long', message);
  }

  async provideTokenCount(_model: PhiModelInformation, text: string | LanguageModelChatRequestMessage, token: vscode.CancellationToken): Promise<number> {
    try {
      await this.models.ensureLoaded({ notifyFailure: false });
      if (typeof text === 'string') return (await this.sidecar.countTokens({ text }, token)).tokens;
      const messages = toChatMessages([text]);
      if (messages.length === 0) return 0;
      const counts = await this.sidecar.countTokens({ messages }, token);
      return (counts.perMessage ?? []).reduce((a, b) => a + b, 0);
    } catch (e) {
      throw this.toApiError(e);
    }
  }

  /**
   * The API's error for what went wrong (apiError.ts: a LanguageModelError kind where one fits, one message, no
   * stack); no model or one that does not load: also a way to set one up.
   */
  private toApiError(e: unknown): Error {
    if (e instanceof vscode.LanguageModelError) return withoutStack(e);
    const code = e instanceof PhiError ? e.code : undefined;
    if (code === 'no-model') this.offerModelSetup(NO_MODEL_MESSAGE);
    if (code === 'model-folder' || code === 'model-load') this.offerModelSetup(`Could not load the model: ${describeError(e)}`);
    return apiErrorFor(code, describeError(e), vscode.LanguageModelError);
  }

  private offerModelSetup(message: string): void {
    void vscode.window.showErrorMessage(`Phi Local: ${message}`, 'Download Model', 'Manage Models').then((choice) => {
      if (choice === 'Download Model') void vscode.commands.executeCommand('phiLocal.downloadModel');
      if (choice === 'Manage Models') void vscode.commands.executeCommand(MANAGE_COMMAND);
    });
  }

  dispose(): void {
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}

/** One id per model folder: VS Code remembers the picked model by it. */
function modelId(dir: string): string {
  let h = 0;
  for (const c of dir) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return `${MODEL_FAMILY}-${path.basename(dir).replace(/[^\w.-]+/g, '-').toLowerCase()}-${(h >>> 0).toString(16)}`;
}

/**
 * Registers the provider where this VS Code has the API (1.104 and later); undefined elsewhere. The provider is
 * returned for the extension's API (the tests read it).
 */
export function registerPhiChatModelProvider(
  sidecar: SidecarClient, models: ModelManager, log: vscode.LogOutputChannel,
): { provider: PhiChatModelProvider; disposable: vscode.Disposable } | undefined {
  const api = chatProviderApi();
  if (!api) {
    log.info(`This VS Code (${vscode.version}) has no language-model provider API: Phi-4-mini is in the Phi Local chat only.`);
    return undefined;
  }
  const provider = new PhiChatModelProvider(sidecar, models, log);
  const registration = api.registerLanguageModelChatProvider(VENDOR, provider as unknown as LanguageModelChatProvider);
  log.info(`Phi-4-mini is offered to VS Code's Chat as "${MODEL_NAME}" (vendor ${VENDOR}).`);
  return { provider, disposable: vscode.Disposable.from(registration, provider) };
}
