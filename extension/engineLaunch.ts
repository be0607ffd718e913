// Which engine the sidecar runs (`phiLocal.engine`): the local model, or a remote OpenAI-compatible server
// (`phiLocal.remote.url`, `phiLocal.remote.model`, the API key in VS Code's SecretStorage). Nothing leaves the machine
// until the user has agreed, once per server, that code and conversations go to it.
import { prefixCacheRoot } from '../common/prefixCachePath';
import * as vscode from 'vscode';
import { networkEnv } from '../common/network';
import { readEngineSettings, type EngineSettings } from './config';
import { readNetworkSettings } from './model/downloadCommand';

export const REMOTE_KEY_SECRET = 'phiLocal.remote.apiKey';
const CONSENT_KEY = 'phiLocal.remote.allowedServers';

/** How to start the sidecar: its command-line arguments and environment. */
export interface SidecarLaunch {
  args: string[];
  env: Record<string, string>;
}

export class RemoteNotAllowedError extends Error {}

/** The server's identity for consent and the status bar: scheme, host and port. */
export function serverOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

export class EngineLaunch {
  constructor(private readonly context: vscode.ExtensionContext, private readonly log: vscode.LogOutputChannel) {}

  /** The settings as they are now (read on every start, so changes apply without a reload). */
  settings(): EngineSettings {
    return readEngineSettings();
  }

  /**
   * The launch for the configured engine. For a remote one, asks first (once per server) whether code may be sent
   * there; a no is a RemoteNotAllowedError, and the sidecar does not start.
   */
  async resolve(): Promise<SidecarLaunch> {
    const s = this.settings();
    // The local engine keeps prompt heads' keys and values in the extension's storage (deleted with their model).
    if (s.engine !== 'remote') return { args: [], env: { PHI_LOCAL_PREFIX_CACHE: prefixCacheRoot(this.context.globalStorageUri.fsPath) } };
    if (!s.remoteUrl) throw new RemoteNotAllowedError('phiLocal.engine is "remote" but phiLocal.remote.url is empty: set the server\'s URL (e.g. http://gpu-box:8000/v1).');
    let server: string;
    try {
      server = serverOf(s.remoteUrl);
    } catch {
      throw new RemoteNotAllowedError(`phiLocal.remote.url is not a URL: ${s.remoteUrl}`);
    }
    await this.ensureConsent(server);
    const key = await this.context.secrets.get(REMOTE_KEY_SECRET);
    this.log.info(s.tokenizerDir && s.remoteApi !== 'chat'
      ? `Remote engine: Phi-4 prompts rendered here with the tokenizer files of ${s.tokenizerDir} (/v1/completions).`
      : 'Remote engine: the server\'s chat template (/v1/chat/completions)' + (s.remoteApi === 'chat' ? '.' : '; for a Phi-4 model, run "Phi: Download Tokenizer Files for the Remote Engine" (a few MB) for exact prompts and constrained tool calls.'));
    return {
      args: ['--engine', 'remote'],
      env: {
        PHI_LOCAL_REMOTE_URL: s.remoteUrl,
        ...(s.remoteModel ? { PHI_LOCAL_REMOTE_MODEL: s.remoteModel } : {}),
        ...(key ? { PHI_LOCAL_REMOTE_KEY: key } : {}),
        PHI_LOCAL_REMOTE_API: s.remoteApi,
        ...(s.tokenizerDir ? { PHI_LOCAL_REMOTE_TOKENIZER: s.tokenizerDir } : {}),
        // The proxy and certificate settings the download uses, for the sidecar's requests to the server.
        ...networkEnv(readNetworkSettings(this.log)),
      },
    };
  }

  private async ensureConsent(server: string): Promise<void> {
    const allowed = this.context.globalState.get<string[]>(CONSENT_KEY, []);
    if (allowed.includes(server)) return;
    const choice = await vscode.window.showWarningMessage(
      `Phi Local: send your code to ${server}?`,
      {
        modal: true,
        detail: `The remote engine (phiLocal.engine) runs the model on ${server}. Your questions, the code you select or ` +
          'attach, and what the workspace tools read will be sent there. Nothing is sent until you agree; you are asked once per server.',
      },
      'Send Code to This Server',
    );
    if (choice !== 'Send Code to This Server') {
      this.log.warn(`The remote engine at ${server} was not allowed; nothing was sent.`);
      throw new RemoteNotAllowedError(`Phi Local sends nothing to ${server} until you agree. Set phiLocal.engine to "local" to use the model on this machine.`);
    }
    await this.context.globalState.update(CONSENT_KEY, [...allowed, server]);
    this.log.info(`Code may be sent to ${server} (the user agreed).`);
  }

  /** Phi: Set Remote API Key — stored in SecretStorage, never in settings. Empty removes it. */
  async setApiKey(): Promise<boolean> {
    const value = await vscode.window.showInputBox({
      title: 'Phi: API key of the remote engine',
      prompt: 'Sent as "Authorization: Bearer <key>" to phiLocal.remote.url. Kept in VS Code\'s secret storage. Empty removes it.',
      password: true,
      ignoreFocusOut: true,
    });
    if (value === undefined) return false;
    if (value) await this.context.secrets.store(REMOTE_KEY_SECRET, value);
    else await this.context.secrets.delete(REMOTE_KEY_SECRET);
    this.log.info(value ? 'The remote engine\'s API key was set.' : 'The remote engine\'s API key was removed.');
    return true;
  }
}
