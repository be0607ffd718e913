// The extension's side of the sidecar: a vscode-languageclient LanguageClient that forks dist/sidecar.js with
// VS Code's own Node runtime (TransportKind.ipc) and speaks the typed protocol of sidecar/protocol.ts.
// - Started on first use, not at activation.
// - When the sidecar dies it is restarted (at most 3 times in 3 minutes), the user is told, with "Show Logs",
//   and `onDidStart` fires with `afterRestart` so the model manager reloads the model.
// - No queue here: the sidecar queues turns itself. Cancelling a turn's token sends $/cancelRequest, which stops
//   the model's decode loop (the answer so far comes back with finishReason 'cancelled').
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import {
  CloseAction, ErrorAction, ErrorCodes, LanguageClient, LSPErrorCodes, ResponseError, RevealOutputChannelOn, State, TransportKind, WorkDoneProgress,
  type CloseHandlerResult, type ErrorHandlerResult, type LanguageClientOptions, type ServerOptions,
} from 'vscode-languageclient/node';
import {
  ChatDeltaNotification, ChatRequest, CountTokensRequest, LoadModelRequest, RunToolRequest, StatusNotification, StatusRequest, ToolStepNotification,
  type ToolCallInfo, type ToolResult, type ToolStepNotice,
  type ChatParams, type ChatResult, type CountTokensParams, type CountTokensResult, type EngineErrorCode, type LoadModelParams, type ModelInfo, type PhiErrorData, type SidecarStatus,
  CheckModelFolderRequest, ProbeProvidersRequest, type ModelFolderCheck, type ProviderProbeResult,
  InlineCompletionRequest, type InlineCompletionParams, type InlineCompletionResult,
  ServeRequest, type ServeParams, type ServeResult,
  WarmPromptsRequest, type WarmPromptsParams, type WarmPromptsResult,
} from '../sidecar/protocol';

export type ConnectionState =
  | 'stopped'     // not started yet (or stopped on purpose)
  | 'starting'
  | 'running'
  | 'restarting'  // it died and is being restarted
  | 'failed';     // it could not start, or died too often: it stays down until Restart Sidecar

/** An error the user can read: an engine error from the sidecar, or the sidecar itself being gone. */
export class PhiError extends Error {
  constructor(
    readonly code: EngineErrorCode | 'sidecar-stopped' | 'cancelled' | 'remote-not-allowed',
    message: string,
    /** The model folder file the error is about. */
    readonly file?: string,
  ) {
    super(message);
    this.name = 'PhiError';
  }
}

function isPhiErrorData(value: unknown): value is PhiErrorData {
  const d = value as PhiErrorData;
  return typeof d === 'object' && d !== null && typeof d.code === 'string' && typeof d.message === 'string';
}

/** What a turn with tools does when the sidecar asks: run a call (phi/runTool), hear of a refused one. */
export interface TurnTools {
  runTool(call: ToolCallInfo, token: vscode.CancellationToken): Promise<ToolResult>;
  onRefused?(notice: ToolStepNotice): void;
}

const RESTART_WINDOW_MS = 3 * 60_000;
const MAX_RESTARTS = 3;

export class SidecarClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private clientSubscriptions: vscode.Disposable[] = [];
  private connectionState: ConnectionState = 'stopped';
  private status: SidecarStatus | undefined;
  private crashes: number[] = [];
  private restartPending = false;
  private readonly deltaHandlers = new Map<string, (text: string) => void>();
  /** Tool handlers of the running turns, by turnId. */
  private readonly toolHandlers = new Map<string, TurnTools>();

  private readonly changeEmitter = new vscode.EventEmitter<void>();
  /** The connection state or the sidecar's status changed. */
  readonly onDidChange = this.changeEmitter.event;
  private readonly startEmitter = new vscode.EventEmitter<{ afterRestart: boolean }>();
  /** The sidecar is up: the first time, or again after it died or was restarted (it then has no model). */
  readonly onDidStart = this.startEmitter.event;
  private readonly crashEmitter = new vscode.EventEmitter<{ willRestart: boolean }>();
  /** The sidecar died without being asked to. */
  readonly onDidCrash = this.crashEmitter.event;

  private launching: Promise<{ args: string[]; env: Record<string, string> }> | undefined;

  constructor(
    private readonly serverModule: string,
    private readonly log: vscode.LogOutputChannel,
    private readonly env: Record<string, string> = {},
    /** The engine's arguments and environment, asked on every start (engineLaunch.ts: it may ask the user first). */
    private readonly launch: () => Promise<{ args: string[]; env: Record<string, string> }> = async () => ({ args: [], env: {} }),
  ) {}

  get state(): ConnectionState {
    return this.connectionState;
  }

  /** The sidecar's last reported status (undefined until it is running). */
  get lastStatus(): SidecarStatus | undefined {
    return this.status;
  }

  private setState(state: ConnectionState): void {
    if (this.connectionState === state) return;
    this.connectionState = state;
    if (state !== 'running') this.status = undefined;
    this.changeEmitter.fire();
  }

  private createClient(launch: { args: string[]; env: Record<string, string> }): LanguageClient {
    const run = { module: this.serverModule, args: launch.args, transport: TransportKind.ipc, options: { env: { ...process.env, ...this.env, ...launch.env } } };
    const serverOptions: ServerOptions = { run, debug: run };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [],
      outputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      errorHandler: {
        error: (): ErrorHandlerResult => ({ action: ErrorAction.Continue, handled: true }),
        closed: (): CloseHandlerResult => this.onClosed(),
      },
      initializationFailedHandler: (error) => {
        this.log.error(`The sidecar failed to initialise: ${error instanceof Error ? error.message : String(error)}`);
        return false;
      },
    };
    const client = new LanguageClient('phiLocal', 'Phi Local', serverOptions, clientOptions);
    this.clientSubscriptions = [
      client.onNotification(StatusNotification, (s) => {
        this.status = s;
        this.changeEmitter.fire();
      }),
      client.onNotification(ChatDeltaNotification, (d) => this.deltaHandlers.get(d.turnId)?.(d.text)),
      // A call for a turn that is gone (stopped meanwhile) is answered, never left hanging.
      client.onRequest(RunToolRequest, (p, token) => this.toolHandlers.get(p.turnId)?.runTool(p.call, token)
        ?? { content: 'The turn has ended, so the tool was not run.', isError: true }),
      client.onNotification(ToolStepNotification, (n) => this.toolHandlers.get(n.turnId)?.onRefused?.(n)),
      client.onDidChangeState((e) => {
        if (e.newState === State.Running) {
          const afterRestart = this.restartPending;
          this.restartPending = false;
          this.setState('running');
          this.log.info(`Sidecar running${afterRestart ? ' again' : ''}.`);
          void this.refreshStatus();
          this.startEmitter.fire({ afterRestart });
        } else if (e.newState === State.Starting) {
          if (this.connectionState !== 'restarting') this.setState('starting');
        } else if (e.newState === State.StartFailed) {
          this.setState('failed');
        } else if (this.connectionState !== 'restarting' && this.connectionState !== 'failed') {
          this.setState('stopped');
        }
      }),
    ];
    return client;
  }

  /** Called by the client when the connection closed without stop(): the sidecar died. */
  private onClosed(): CloseHandlerResult {
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < RESTART_WINDOW_MS);
    this.crashes.push(now);
    const willRestart = this.crashes.length <= MAX_RESTARTS;
    this.restartPending = willRestart;
    this.setState(willRestart ? 'restarting' : 'failed');
    this.log.error(willRestart
      ? 'The sidecar stopped unexpectedly; restarting it.'
      : `The sidecar stopped ${this.crashes.length} times in ${RESTART_WINDOW_MS / 60_000} minutes; it is not restarted again.`);
    this.crashEmitter.fire({ willRestart });
    if (willRestart) {
      void vscode.window.showWarningMessage(
        'Phi Local: the sidecar (the process that runs the model) stopped unexpectedly. It is being restarted and the model reloaded.',
        'Show Logs',
      ).then((choice) => { if (choice) this.log.show(true); });
    } else {
      void vscode.window.showErrorMessage(
        'Phi Local: the sidecar keeps stopping, so it was not restarted again. The logs may say why.',
        'Restart Sidecar', 'Show Logs',
      ).then((choice) => {
        if (choice === 'Show Logs') this.log.show(true);
        if (choice === 'Restart Sidecar') void this.restart();
      });
    }
    return { action: willRestart ? CloseAction.Restart : CloseAction.DoNotRestart, handled: true };
  }

  /** Starts the sidecar if it is not running. Resolves once it answers. */
  async start(): Promise<LanguageClient> {
    if (this.connectionState === 'failed' && this.client && this.client.state !== State.Running) {
      throw new PhiError('sidecar-stopped', 'The sidecar is not running. Use "Phi: Restart Sidecar" to start it again; "Phi: Show Logs" may say why it stopped.');
    }
    if (!this.client) {
      this.launching ??= this.launch().finally(() => { this.launching = undefined; });
      let launch: { args: string[]; env: Record<string, string> };
      try {
        launch = await this.launching;
      } catch (e) {
        throw new PhiError('remote-not-allowed', (e as Error).message);
      }
      this.client ??= this.createClient(launch);
    }
    if (this.client.state !== State.Running) {
      if (this.connectionState === 'stopped') this.setState('starting');
      try {
        await this.client.start();
      } catch (e) {
        this.setState('failed');
        this.log.error(`The sidecar did not start: ${(e as Error).message}`);
        throw new PhiError('sidecar-stopped', `The sidecar did not start: ${(e as Error).message}`);
      }
    }
    return this.client;
  }

  /** Stops the sidecar (if running) and starts a new one; the model manager then reloads the model. */
  async restart(): Promise<void> {
    const old = this.client;
    this.client = undefined;
    for (const d of this.clientSubscriptions.splice(0)) d.dispose();
    this.crashes = [];
    if (old) {
      this.log.info('Restarting the sidecar.');
      try {
        await old.dispose(3000);
      } catch (e) {
        this.log.warn(`Stopping the old sidecar: ${(e as Error).message}`);
      }
    }
    this.setState('stopped');
    this.restartPending = old !== undefined;
    await this.start();
  }

  async stop(): Promise<void> {
    const old = this.client;
    this.client = undefined;
    for (const d of this.clientSubscriptions.splice(0)) d.dispose();
    if (old) await old.dispose(2000).catch(() => undefined);
    this.setState('stopped');
  }

  private async refreshStatus(): Promise<void> {
    try {
      const client = this.client;
      if (!client || client.state !== State.Running) return;
      this.status = await client.sendRequest(StatusRequest);
      this.changeEmitter.fire();
    } catch {
      // The notification stream will catch up.
    }
  }

  /** Turns whatever a request failed with into a PhiError. */
  private toPhiError(e: unknown, during: string): PhiError {
    if (e instanceof PhiError) return e;
    if (e instanceof ResponseError && isPhiErrorData(e.data)) return new PhiError(e.data.code, e.data.message, e.data.file);
    if (e instanceof ResponseError && e.code === LSPErrorCodes.RequestCancelled) return new PhiError('cancelled', 'Cancelled.');
    const gone = e instanceof ResponseError && (e.code === ErrorCodes.PendingResponseRejected || e.code === ErrorCodes.ConnectionInactive);
    if (gone || this.connectionState !== 'running') {
      return new PhiError('sidecar-stopped', `The sidecar stopped ${during}. ${this.connectionState === 'restarting' ? 'It is being restarted.' : 'Use "Phi: Restart Sidecar" to start it again.'}`);
    }
    return new PhiError('internal', (e as Error)?.message ?? String(e));
  }

  async loadModel(params: Omit<LoadModelParams, 'workDoneToken'>, onProgress?: (message: string) => void): Promise<ModelInfo> {
    const client = await this.start();
    const token = `load-${randomUUID()}`;
    const progress = onProgress && client.onProgress(WorkDoneProgress.type, token, (value) => {
      if (value.kind === 'begin') onProgress(value.message ?? value.title);
      else if (value.kind === 'report' && value.message) onProgress(value.message);
    });
    try {
      return await client.sendRequest(LoadModelRequest, { ...params, workDoneToken: token });
    } catch (e) {
      throw this.toPhiError(e, 'while loading the model');
    } finally {
      progress?.dispose();
    }
  }

  /**
   * One assistant turn; `onDelta` gets the text as it is generated, `tools` runs the calls the model makes (with
   * params.tools). Cancel `token` to stop the model.
   */
  async chat(params: ChatParams, onDelta: (text: string) => void, token?: vscode.CancellationToken, tools?: TurnTools): Promise<ChatResult> {
    const client = await this.start();
    this.deltaHandlers.set(params.turnId, onDelta);
    if (tools) this.toolHandlers.set(params.turnId, tools);
    try {
      return await client.sendRequest(ChatRequest, params, token);
    } catch (e) {
      throw this.toPhiError(e, 'while answering');
    } finally {
      this.deltaHandlers.delete(params.turnId);
      this.toolHandlers.delete(params.turnId);
    }
  }

  /** Computes prompt heads ahead of need (idle priority: any other request stops it). */
  async warmPrompts(params: WarmPromptsParams): Promise<WarmPromptsResult> {
    const client = await this.start();
    try {
      return await client.sendRequest(WarmPromptsRequest, params);
    } catch (e) {
      throw this.toPhiError(e, 'while preparing prompts');
    }
  }

  /** Tokens by the loaded model's tokenizer (answered even while a turn is being generated). */
  async countTokens(params: CountTokensParams, token?: vscode.CancellationToken): Promise<CountTokensResult> {
    const client = await this.start();
    try {
      return await client.sendRequest(CountTokensRequest, params, token);
    } catch (e) {
      throw this.toPhiError(e, 'while counting tokens');
    }
  }

  /** Ghost text at a cursor (a background request: chats go first). Cancel `token` when the user typed on. */
  async inlineCompletion(params: InlineCompletionParams, token?: vscode.CancellationToken): Promise<InlineCompletionResult> {
    const client = await this.start();
    try {
      return await client.sendRequest(InlineCompletionRequest, params, token);
    } catch (e) {
      throw this.toPhiError(e, 'while completing');
    }
  }

  async getStatus(): Promise<SidecarStatus> {
    const client = await this.start();
    return client.sendRequest(StatusRequest);
  }

  /** Which execution providers load on this machine, and why the others do not (tried once per sidecar). */
  async probeProviders(): Promise<ProviderProbeResult> {
    const client = await this.start();
    try {
      return await client.sendRequest(ProbeProvidersRequest);
    } catch (e) {
      throw this.toPhiError(e, 'while trying the execution providers');
    }
  }

  /** Starts, stops or asks about the OpenAI-compatible endpoint on the sidecar's model (sidecar/serve/serveService.ts). */
  async serve(params: ServeParams): Promise<ServeResult> {
    const client = await this.start();
    try {
      return await client.sendRequest(ServeRequest, params);
    } catch (e) {
      throw this.toPhiError(e, 'while starting the OpenAI-compatible server');
    }
  }

  /** The sidecar's checks of a model folder, without loading it. */
  async checkModelFolder(dir: string): Promise<ModelFolderCheck> {
    const client = await this.start();
    try {
      return await client.sendRequest(CheckModelFolderRequest, { dir });
    } catch (e) {
      throw this.toPhiError(e, 'while checking the model folder');
    }
  }

  dispose(): void {
    void this.stop();
    this.changeEmitter.dispose();
    this.startEmitter.dispose();
    this.crashEmitter.dispose();
  }
}
