// Which model is loaded, and loading it: lazily the first time the chat needs it, again after a sidecar restart
// or a change of the load settings, and on demand through "Select Model Folder" (a folder picker, a progress
// notification, and on failure the sidecar's message, which names the file and what is wrong, with
// "Pick Another Folder" and "Show Logs").
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelInfo } from '../../sidecar/protocol';
import { LOAD_SETTINGS, readLoadSettings, sameLoad, saveModelPath, SECTION, type LoadSettings } from '../config';
import { PhiError, type SidecarClient } from '../sidecarClient';

export type ModelPhase =
  | { kind: 'idle' }
  | { kind: 'loading'; dir: string; message?: string }
  | { kind: 'ready'; info: ModelInfo }
  | { kind: 'failed'; dir: string; error: PhiError };

/** The outcome of `useModelFolder`. */
export type ModelFolderResult =
  | { ok: true; dir: string; info: ModelInfo }
  | { ok: false; dir: string; error: PhiError; message: string };

export const NO_MODEL_MESSAGE =
  'No model folder is selected. Phi Local needs the ONNX export of microsoft/Phi-4-mini-instruct ' +
  '(the cpu_and_mobile/cpu-int4-rtn-block-32-acc-level-4 folder, or gpu/gpu-int4-rtn-block-32): download it, or select a folder you have.';

/** The error's message, with the file it is about when the message does not already name it. */
export function describeError(e: unknown): string {
  if (e instanceof PhiError) {
    const base = path.basename(e.file ?? '');
    return e.file && !e.message.includes(base) ? `${e.message} (${e.file})` : e.message;
  }
  return (e as Error)?.message ?? String(e);
}

export class ModelManager implements vscode.Disposable {
  private phaseValue: ModelPhase = { kind: 'idle' };
  private loading: { settings: LoadSettings; promise: Promise<ModelInfo> } | undefined;
  private loaded: { settings: LoadSettings; info: ModelInfo } | undefined;
  /** A model was asked for in this session: sidecar restarts and setting changes load it again. */
  private wanted = false;
  /** A folder picked with Select Model Folder, used until `phiLocal.modelPath` says so too (its save is async). */
  private picked: string | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    private readonly sidecar: SidecarClient,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.push(
      this.changeEmitter,
      sidecar.onDidCrash(() => {
        this.loaded = undefined;
        this.loading = undefined;
        this.setPhase({ kind: 'idle' });
      }),
      sidecar.onDidStart(({ afterRestart }) => {
        if (!afterRestart) return;
        this.loaded = undefined;
        this.loading = undefined;
        this.setPhase({ kind: 'idle' });
        if (this.wanted && this.settings().location) {
          this.log.info('Reloading the model in the restarted sidecar.');
          this.ensureLoaded({ notifyFailure: true }).catch(() => undefined);
        }
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!LOAD_SETTINGS.some((k) => e.affectsConfiguration(`${SECTION}.${k}`))) return;
        if (e.affectsConfiguration(`${SECTION}.modelPath`)) this.picked = undefined;
        if (!this.wanted) return;
        const settings = this.settings();
        if (!settings.location) return;
        if (this.loaded && sameLoad(this.loaded.settings, settings)) return;
        if (this.loading && sameLoad(this.loading.settings, settings)) return;
        this.log.info('The model settings changed: reloading the model.');
        this.ensureLoaded({ notifyFailure: true }).catch(() => undefined);
      }),
    );
  }

  get phase(): ModelPhase {
    return this.phaseValue;
  }

  /**
   * How fast the loaded model prefills on this machine (tokens/s): measured by the sidecar after the load and
   * announced in its status, so not in the load's answer. Undefined until then, and for an engine that does not say.
   */
  get prefillTokensPerSecond(): number | undefined {
    if (this.phaseValue.kind !== 'ready') return undefined;
    const announced = this.sidecar.lastStatus?.model;
    const info = this.phaseValue.info;
    return (announced?.dir === info.dir ? announced.prefillTokensPerSecond : undefined) ?? info.prefillTokensPerSecond;
  }

  /** Whether a model folder is configured (setting or PHI_LOCAL_MODEL). */
  get configured(): boolean {
    return this.settings().location !== undefined;
  }

  /** The load settings, with a just-picked folder taking the place of `modelPath` until its save shows. */
  private settings(): LoadSettings {
    const s = readLoadSettings();
    return this.picked && s.location?.dir !== this.picked ? { ...s, location: { dir: this.picked, source: 'setting' } } : s;
  }

  private setPhase(phase: ModelPhase): void {
    this.phaseValue = phase;
    void vscode.commands.executeCommand('setContext', 'phiLocal.modelReady', phase.kind === 'ready');
    this.changeEmitter.fire();
  }

  /** The model a turn needs: the configured one, loaded now unless it already is (or is being loaded). */
  async ensureLoaded(options: { notifyFailure?: boolean } = {}): Promise<ModelInfo> {
    const settings = this.settings();
    if (!settings.location) {
      this.offerModelSetup();
      throw new PhiError('no-model', NO_MODEL_MESSAGE);
    }
    this.wanted = true;
    if (this.loaded && sameLoad(this.loaded.settings, settings) && this.sidecar.state === 'running') return this.loaded.info;
    if (this.loading && sameLoad(this.loading.settings, settings)) return this.loading.promise;
    return this.load(settings, options.notifyFailure ?? false);
  }

  private load(settings: LoadSettings, notifyFailure: boolean): Promise<ModelInfo> {
    const dir = settings.location!.dir;
    this.log.info(`Loading the model in ${dir} (provider ${settings.executionProvider}${settings.contextLength ? `, context ${settings.contextLength}` : ''}${settings.threads ? `, ${settings.threads} threads` : ''}).`);
    const promise: Promise<ModelInfo> = this.sidecar.loadModel(
      { dir, executionProvider: settings.executionProvider, contextLength: settings.contextLength, threads: settings.threads, kvCacheMemory: settings.kvCacheMemory },
      (message) => {
        if (this.loading?.promise === promise) this.setPhase({ kind: 'loading', dir, message });
      },
    );
    const previous = this.loaded;
    this.loading = { settings, promise };
    this.setPhase({ kind: 'loading', dir });
    promise.then(
      (info) => {
        if (this.loading?.promise !== promise) return;
        this.loading = undefined;
        this.loaded = { settings, info };
        this.setPhase({ kind: 'ready', info });
      },
      (e: unknown) => {
        if (this.loading?.promise !== promise) return;
        this.loading = undefined;
        const error = e instanceof PhiError ? e : new PhiError('internal', describeError(e));
        // The sidecar refuses a broken folder before it lets go of the model it holds: that one still works.
        const held = this.sidecar.lastStatus?.model;
        if (previous && held?.dir === previous.info.dir) {
          this.setPhase({ kind: 'ready', info: previous.info });
          this.log.error(`Loading ${dir} failed: ${describeError(error)} ${previous.info.dir} is still loaded.`);
        } else {
          this.loaded = undefined;
          this.setPhase({ kind: 'failed', dir, error });
          this.log.error(`Loading ${dir} failed: ${describeError(error)}`);
        }
        if (notifyFailure && error.code !== 'sidecar-stopped') void this.offerAnotherFolder(dir, error);
      },
    );
    return promise;
  }

  /** Shows the loading progress as a notification; dismissing it hides it only (the load goes on). */
  private showProgress(dir: string, promise: Promise<unknown>): void {
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Phi: loading the model from ${path.basename(dir)}`, cancellable: true },
      (progress, token) => new Promise<void>((resolve) => {
        let last: string | undefined;
        const sub = this.onDidChange(() => {
          const p = this.phaseValue;
          if (p.kind === 'loading' && p.message && p.message !== last) {
            last = p.message;
            progress.report({ message: p.message });
          }
        });
        const done = () => {
          sub.dispose();
          resolve();
        };
        token.onCancellationRequested(done);
        promise.then(done, done);
      }),
    );
  }

  private setupOfferedAt = -Infinity;

  /**
   * The no-model prompt: download the model (one click) or select a folder already on disk. Shown at most once a
   * minute, however many features ask for the model meanwhile.
   */
  offerModelSetup(): void {
    if (Date.now() - this.setupOfferedAt < 60_000) return;
    this.setupOfferedAt = Date.now();
    void vscode.window.showInformationMessage(
      'Phi Local has no model yet. Download Phi-4-mini-instruct (about 2.8 GB, once), or select a folder you already have.',
      'Download Model', 'Select Model Folder',
    ).then((choice) => {
      if (choice === 'Download Model') void vscode.commands.executeCommand('phiLocal.downloadModel', { recommended: true });
      if (choice === 'Select Model Folder') void vscode.commands.executeCommand('phiLocal.selectModelFolder');
    });
  }

  private async offerAnotherFolder(dir: string, error: PhiError): Promise<void> {
    const choice = await vscode.window.showErrorMessage(`Phi Local could not load the model in ${dir}: ${describeError(error)}`, 'Pick Another Folder', 'Show Logs');
    if (choice === 'Show Logs') this.log.show(true);
    if (choice === 'Pick Another Folder') await this.selectModelFolder();
  }

  /** Loads the configured model now, with a progress notification (walkthrough, status menu, settings). */
  async loadConfigured(): Promise<ModelInfo | undefined> {
    const settings = this.settings();
    if (!settings.location) return undefined;
    const promise = this.ensureLoaded({ notifyFailure: true });
    if (this.phaseValue.kind === 'loading') this.showProgress(settings.location.dir, promise);
    return promise.catch(() => undefined);
  }

  /**
   * "Select Model Folder": pick a folder, load it (progress notification), and on success save it as
   * `phiLocal.modelPath`. A folder that fails gets the sidecar's message and the choice to pick another.
   */
  async selectModelFolder(): Promise<boolean> {
    const current = this.settings().location?.dir;
    let defaultUri = current ? vscode.Uri.file(current) : vscode.workspace.workspaceFolders?.[0]?.uri;
    for (;;) {
      const picked = await vscode.window.showOpenDialog({
        canSelectFolders: true, canSelectFiles: false, canSelectMany: false, defaultUri,
        openLabel: 'Use This Model Folder',
        title: 'Select the Phi-4-mini-instruct ONNX model folder (the one with genai_config.json)',
      });
      if (!picked?.[0]) return false;
      const result = await this.useModelFolder(picked[0].fsPath, { showProgress: true });
      if (result.ok) {
        void vscode.window.showInformationMessage(`Phi Local: the model is ready (${result.info.executionProvider}).`, 'Open Chat').then((choice) => {
          if (choice) void vscode.commands.executeCommand('phiLocal.openChat');
        });
        return true;
      }
      const choice = await vscode.window.showErrorMessage(result.message, 'Pick Another Folder', 'Show Logs');
      if (choice === 'Show Logs') this.log.show(true);
      if (choice !== 'Pick Another Folder') return false;
      defaultUri = picked[0];
    }
  }

  /**
   * What "Select Model Folder" does with the picked folder (no dialogs): checks and loads it, and on success saves
   * it as `phiLocal.modelPath`. On failure `message` is what the user is shown: it names the folder and the file
   * that is missing or wrong.
   */
  async useModelFolder(folder: string, options: { showProgress?: boolean } = {}): Promise<ModelFolderResult> {
    const dir = path.normalize(folder);
    const settings: LoadSettings = { ...this.settings(), location: { dir, source: 'setting' } };
    this.wanted = true;
    const promise = this.load(settings, false);
    if (options.showProgress) this.showProgress(dir, promise);
    try {
      const info = await promise;
      this.picked = dir;
      await this.saveModelPath(dir);
      return { ok: true, dir, info };
    } catch (e) {
      const error = e instanceof PhiError ? e : new PhiError('internal', describeError(e));
      return { ok: false, dir, error, message: `Phi Local could not use ${dir}: ${describeError(error)}` };
    }
  }

  /** Saves the folder as phiLocal.modelPath; a failure is logged: the model is loaded either way. */
  private async saveModelPath(dir: string): Promise<void> {
    try {
      await saveModelPath(dir);
    } catch (e) {
      this.log.warn(`Could not save phiLocal.modelPath: ${(e as Error).message}`);
    }
  }

  dispose(): void {
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}
