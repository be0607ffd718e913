// Phi: Pick Remote Model — the models the remote server lists (GET /v1/models, through the user's proxy, with the key
// from secret storage), one picked into phiLocal.remote.model (which restarts the sidecar on it). Listing sends no
// code, so it needs no consent; a failure says what to fix, as the Doctor does.
import * as vscode from 'vscode';
import { getModels } from './doctor/endpointCheck';
import { REMOTE_KEY_SECRET } from './engineLaunch';
import { readEngineSettings, saveRemoteModel } from './config';
import { createDispatcher, networkError } from './model/download/httpClient';
import { readNetworkSettings } from './model/downloadCommand';

export async function pickRemoteModel(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): Promise<string | undefined> {
  const { remoteUrl, remoteModel } = readEngineSettings();
  if (!remoteUrl) {
    const choice = await vscode.window.showWarningMessage('Phi Local: set phiLocal.remote.url (the server\'s OpenAI base URL, e.g. http://gpu-box:8000/v1) first.', 'Open Settings');
    if (choice) await vscode.commands.executeCommand('workbench.action.openSettings', 'phiLocal.remote.url');
    return undefined;
  }
  const dispatcher = createDispatcher(readNetworkSettings(log));
  let models: { id: string; max_model_len?: number }[];
  try {
    const listing = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Phi: asking ${remoteUrl} for its models` },
      async () => getModels(remoteUrl, await context.secrets.get(REMOTE_KEY_SECRET), dispatcher));
    if (listing.status === 401 || listing.status === 403) throw new Error(`${remoteUrl}/models answered ${listing.status}: set the server's key with "Phi: Set Remote API Key".`);
    if (listing.status !== 200) throw new Error(`${remoteUrl}/models answered ${listing.status}: phiLocal.remote.url must be the OpenAI base URL, ending in /v1.`);
    models = (JSON.parse(listing.body) as { data?: { id: string; max_model_len?: number }[] }).data ?? [];
  } catch (e) {
    const message = e instanceof SyntaxError ? `${remoteUrl}/models did not answer JSON.` : (e as Error).message.includes(remoteUrl) ? (e as Error).message : networkError(e, `${remoteUrl}/models`).message;
    log.error(`Listing the remote models failed: ${message}`);
    void vscode.window.showErrorMessage(`Phi Local: ${message}`, 'Run Doctor').then((c) => { if (c) void vscode.commands.executeCommand('phiLocal.doctor'); });
    return undefined;
  } finally {
    void dispatcher.close().catch(() => undefined);
  }
  if (models.length === 0) {
    void vscode.window.showWarningMessage(`Phi Local: ${remoteUrl} lists no model.`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(models.map((m) => ({
    label: m.id, description: [m.id === remoteModel ? 'in use' : '', m.max_model_len ? `context ${m.max_model_len}` : ''].filter(Boolean).join(' · '),
  })), { title: `Models on ${remoteUrl}`, placeHolder: 'The model Phi Local uses on this server' });
  if (!pick) return undefined;
  await saveRemoteModel(pick.label);
  log.info(`Remote model: ${pick.label} on ${remoteUrl}.`);
  return pick.label;
}
