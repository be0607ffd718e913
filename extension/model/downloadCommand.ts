// "Phi: Download Model": picks the variant for this machine (the sidecar tries the execution providers), downloads it
// into the extension's global storage (or a folder the user picks) with a cancellable progress notification (bytes,
// speed, time left), and then uses it (ModelManager.useModelFolder). The work itself is in ./download/, which has no
// vscode in it; this file reads the settings and talks to the user.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readDownloadEndpoint, readLoadSettings } from '../config';
import type { SidecarClient } from '../sidecarClient';
import { cancelled, DownloadError } from './download/downloadError';
import { createDispatcher, describeProxy, HttpClient, readExtraCaCerts, type NetworkSettings } from './download/httpClient';
import { downloadModel, type DownloadProgress } from './download/modelDownload';
import { formatBytes, formatDuration } from './download/transferRate';
import { chooseVariant, MODEL_REPO, TOKENIZER_FILES, VARIANTS, variantById, type ModelVariant } from './download/variants';
import type { ModelManager } from './modelManager';
import { TOKENIZER_FOLDER } from '../modelPath';

export interface DownloadCommandArgs {
  /** Skip the quick pick: the recommended variant into global storage (the walkthrough's one click). */
  recommended?: boolean;
  /** A variant id, to download that one (Manage Models resumes an incomplete download this way). */
  variant?: string;
  /** With `variant`: the folder to download into (default the extension's storage). */
  parent?: string;
}

/** The network settings VS Code and the environment give (http.proxy, http.noProxy, http.proxyStrictSSL, NODE_EXTRA_CA_CERTS). */
export function readNetworkSettings(log?: vscode.LogOutputChannel): NetworkSettings & { endpoint: string } {
  const httpConfig = vscode.workspace.getConfiguration('http');
  const extra = readExtraCaCerts(process.env);
  if (extra.warning) log?.warn(extra.warning);
  const endpoint = readDownloadEndpoint();
  return {
    endpoint,
    proxy: httpConfig.get<string>('proxy') || undefined,
    noProxy: httpConfig.get<string[]>('noProxy') ?? [],
    strictSSL: httpConfig.get<boolean>('proxyStrictSSL', true),
    extraCaCerts: extra.pem,
  };
}

export function modelsRoot(context: vscode.ExtensionContext): string {
  return path.join(context.globalStorageUri.fsPath, 'models');
}

function progressMessage(p: DownloadProgress): string {
  const parts = [`${formatBytes(p.doneBytes)} of ${formatBytes(p.totalBytes)}`];
  if (p.bytesPerSecond > 0) parts.push(`${formatBytes(p.bytesPerSecond)}/s`);
  if (p.secondsLeft !== undefined) parts.push(`${formatDuration(p.secondsLeft)} left`);
  parts.push(`${p.file} (${p.fileIndex + 1}/${p.fileCount})`);
  return parts.join(' · ');
}

export class ModelDownloader {
  private running: Promise<boolean> | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly sidecar: SidecarClient,
    private readonly models: ModelManager,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** The variant for this machine, and why (the sidecar's provider probe; the CPU one if the sidecar cannot say). */
  async recommend(): Promise<{ variant: ModelVariant; reason: string }> {
    try {
      const probe = await this.sidecar.probeProviders();
      return chooseVariant(probe.providers, readLoadSettings().executionProvider);
    } catch (e) {
      this.log.warn(`Could not ask the sidecar which execution providers load: ${(e as Error).message}`);
      return { variant: VARIANTS[0], reason: 'the sidecar could not try the GPU providers.' };
    }
  }

  /** The command. Resolves true once the downloaded model is in use. */
  run(args: DownloadCommandArgs = {}): Promise<boolean> {
    if (this.running) {
      void vscode.window.showInformationMessage('Phi Local: a model download is already running (see its notification).');
      return this.running;
    }
    this.running = this.runOnce(args).finally(() => { this.running = undefined; });
    return this.running;
  }

  private async runOnce(args: DownloadCommandArgs): Promise<boolean> {
    const choice = await this.choose(args);
    if (!choice) return false;
    const { variant, parent } = choice;
    const target = path.join(parent, variant.id);
    const network = readNetworkSettings(this.log);
    this.log.info(`Download of ${MODEL_REPO}/${variant.repoFolder} from ${network.endpoint} into ${target} (proxy: ${describeProxy(network)}` +
      `${network.extraCaCerts ? ', extra CA certificates from NODE_EXTRA_CA_CERTS' : ''}${network.strictSSL === false ? ', certificates not checked (http.proxyStrictSSL)' : ''}).`);
    const dispatcher = createDispatcher(network);
    try {
      const outcome = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          // Said where the user looks, not only in the log: with checks off, anyone in between could swap the files
          // (the checksums come over the same connection).
          title: `Phi: downloading Phi-4-mini-instruct (${variant.label})${network.strictSSL === false ? ', certificates NOT checked (http.proxyStrictSSL is off)' : ''}`,
          cancellable: true,
        },
        async (progress, token) => {
          const abort = new AbortController();
          const onCancel = token.onCancellationRequested(() => abort.abort());
          progress.report({ message: 'listing the files…' });
          let lastPercent = 0;
          return downloadModel({ variant, target, endpoint: network.endpoint }, { http: new HttpClient(dispatcher), log: (m) => this.log.info(m) }, {
            signal: abort.signal,
            onPlan: (plan) => progress.report({ message: `${plan.files.length} files, ${formatBytes(plan.totalBytes)}…` }),
            onProgress: (p) => {
              const percent = p.totalBytes ? (100 * p.doneBytes) / p.totalBytes : 0;
              progress.report({ message: progressMessage(p), increment: Math.max(0, percent - lastPercent) });
              lastPercent = Math.max(lastPercent, percent);
            },
          }).catch((e: unknown) => {
            throw token.isCancellationRequested ? cancelled() : e;
          }).finally(() => onCancel.dispose());
        },
      );
      this.log.info(outcome.alreadyComplete ? `${target} was already downloaded.` : `Downloaded into ${target}.`);
      const result = await this.models.useModelFolder(outcome.dir, { showProgress: true });
      if (!result.ok) {
        this.log.error(result.message);
        void vscode.window.showErrorMessage(result.message, 'Show Logs').then((c) => { if (c) this.log.show(true); });
        return false;
      }
      void vscode.window.showInformationMessage(`Phi Local: Phi-4-mini-instruct is downloaded and ready (${result.info.executionProvider}).`, 'Open Chat').then((c) => {
        if (c) void vscode.commands.executeCommand('phiLocal.openChat');
      });
      return true;
    } catch (e) {
      await this.explain(e, variant, parent);
      return false;
    } finally {
      void dispatcher.close().catch(() => undefined);
    }
  }

  /**
   * Phi: Download Tokenizer Files — Phi-4's tokenizer and chat template alone (TOKENIZER_FILES, a few MB, checked like
   * the model's files), for the remote engine to render Phi-4's prompts itself when the model is not on this machine.
   * Resolves with the folder, or undefined.
   */
  async downloadTokenizer(): Promise<string | undefined> {
    const variant = VARIANTS[0];
    const target = path.join(this.context.globalStorageUri.fsPath, TOKENIZER_FOLDER, variant.id);
    const network = readNetworkSettings(this.log);
    const dispatcher = createDispatcher(network);
    this.log.info(`Download of ${MODEL_REPO}/${variant.repoFolder}'s tokenizer files (${TOKENIZER_FILES.join(', ')}) from ${network.endpoint} into ${target} (proxy: ${describeProxy(network)}).`);
    try {
      const outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Phi: downloading Phi-4-mini\'s tokenizer files', cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          const onCancel = token.onCancellationRequested(() => abort.abort());
          return downloadModel({ variant, target, endpoint: network.endpoint, only: TOKENIZER_FILES }, { http: new HttpClient(dispatcher), log: (m) => this.log.info(m) }, {
            signal: abort.signal,
            onProgress: (p) => progress.report({ message: progressMessage(p) }),
          }).finally(() => onCancel.dispose());
        },
      );
      this.log.info(outcome.alreadyComplete ? `${target} was already downloaded.` : `Downloaded the tokenizer files into ${target}.`);
      void vscode.window.showInformationMessage('Phi Local: Phi-4-mini\'s tokenizer files are here: the remote engine renders Phi-4\'s prompts itself now.');
      return target;
    } catch (e) {
      const message = e instanceof DownloadError || e instanceof Error ? e.message : String(e);
      this.log.error(`The tokenizer files were not downloaded: ${message}`);
      void vscode.window.showErrorMessage(`Phi Local could not download the tokenizer files: ${message}`, 'Show Logs').then((c) => { if (c) this.log.show(true); });
      return undefined;
    } finally {
      void dispatcher.close().catch(() => undefined);
    }
  }

  /** Which variant, and where: the quick pick, or none for the walkthrough's one click. */
  private async choose(args: DownloadCommandArgs): Promise<{ variant: ModelVariant; parent: string } | undefined> {
    const root = modelsRoot(this.context);
    const named = args.variant ? variantById(args.variant) : undefined;
    if (named) return { variant: named, parent: args.parent ?? root };
    const recommended = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Phi: checking which execution providers load' },
      () => this.recommend(),
    );
    this.log.info(`Recommended variant: ${recommended.variant.label}: ${recommended.reason}`);
    if (args.recommended) return { variant: recommended.variant, parent: root };
    type Item = vscode.QuickPickItem & { variant: ModelVariant; elsewhere?: boolean };
    const others = VARIANTS.filter((v) => v !== recommended.variant);
    const items: Item[] = [
      { label: `$(cloud-download) ${recommended.variant.label}`, description: `recommended · about ${formatBytes(recommended.variant.approxBytes)}`, detail: `Because ${recommended.reason}`, variant: recommended.variant },
      ...others.map((v) => ({ label: `$(cloud-download) ${v.label}`, description: `about ${formatBytes(v.approxBytes)}`, detail: v.repoFolder, variant: v })),
      { label: `$(folder) ${recommended.variant.label}, into a folder I choose…`, detail: `Default: ${root}`, variant: recommended.variant, elsewhere: true },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: `Download ${MODEL_REPO}`, placeHolder: 'Which variant? It goes into the extension\'s storage unless you choose a folder.' });
    if (!pick) return undefined;
    if (!pick.elsewhere) return { variant: pick.variant, parent: root };
    const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Download Here', title: `The model goes into a new folder ${pick.variant.id} inside the folder you choose` });
    return folder?.[0] ? { variant: pick.variant, parent: folder[0].fsPath } : undefined;
  }

  private async explain(e: unknown, variant: ModelVariant, parent: string): Promise<void> {
    const error = e instanceof DownloadError ? e : new DownloadError('http', (e as Error)?.message ?? String(e));
    if (error.code === 'cancelled') {
      this.log.info('The download was cancelled; what arrived is kept to resume from.');
      void vscode.window.showInformationMessage(`Phi Local: ${error.message}`);
      return;
    }
    this.log.error(`Download failed (${error.code}): ${error.message}`);
    const buttons = error.code === 'offline' ? ['Select Model Folder', 'Retry', 'Show Logs']
      : error.code === 'disk-space' ? ['Retry', 'Show Logs']
        : error.code === 'proxy' || error.code === 'tls' ? ['Open Proxy Settings', 'Retry', 'Show Logs']
          : ['Retry', 'Show Logs'];
    const choice = await vscode.window.showErrorMessage(`Phi Local could not download the model: ${error.message}`, ...buttons);
    if (choice === 'Show Logs') this.log.show(true);
    if (choice === 'Select Model Folder') await vscode.commands.executeCommand('phiLocal.selectModelFolder');
    if (choice === 'Open Proxy Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'http.proxy');
    if (choice === 'Retry') void this.run({ variant: variant.id, parent });
  }
}
