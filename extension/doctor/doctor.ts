// "Phi: Doctor": gathers what the extension sees (this machine, the versions, the sidecar's provider probe and model
// folder checks, disk, network settings), shows the report in an untitled markdown editor, writes it to the log, and
// offers "Copy Report" for a bug report.
import * as vscode from 'vscode';
import { readEngineSettings, readLoadSettings } from '../config';
import { REMOTE_KEY_SECRET } from '../engineLaunch';
import { createDispatcher, describeProxy } from '../model/download/httpClient';
import { modelsRoot, readNetworkSettings } from '../model/downloadCommand';
import { describeError, type ModelManager } from '../model/modelManager';
import { listModels } from '../model/modelLibrary';
import type { SidecarClient } from '../sidecarClient';
import { buildDoctorReport, type DoctorInputs } from './doctorReport';
import { checkEndpoint } from './endpointCheck';
import { diskReading, systemInfo } from './systemInfo';

export async function gatherDoctorInputs(
  context: vscode.ExtensionContext, sidecar: SidecarClient, models: ModelManager,
): Promise<DoctorInputs> {
  const settings = readLoadSettings();
  const location = settings.location;
  /** The model folder in use on this machine (none with the remote engine). */
  const folder = location?.source === 'remote' ? undefined : location?.dir;
  const root = modelsRoot(context);
  const network = readNetworkSettings();
  const engine = readEngineSettings();
  const remote = engine.engine !== 'remote' ? undefined : !engine.remoteUrl ? { error: 'phiLocal.remote.url is empty.' }
    : await checkEndpoint(engine.remoteUrl, engine.remoteModel, await context.secrets.get(REMOTE_KEY_SECRET), createDispatcher(network),
      { api: engine.remoteApi, tokenizerDir: engine.tokenizerDir })
      .catch((e: unknown) => ({ error: describeError(e) }));
  const providers = await sidecar.probeProviders().catch((e: unknown) => ({ error: describeError(e) }));
  const check = folder ? await sidecar.checkModelFolder(folder).catch((e: unknown) => ({ error: describeError(e) })) : undefined;
  const status = await sidecar.getStatus().catch(() => undefined);
  const phase = models.phase;
  return {
    generatedAt: new Date().toISOString(),
    system: systemInfo(),
    versions: {
      vscode: vscode.version, extension: String(context.extension.packageJSON.version ?? 'unknown'),
      appHost: vscode.env.appHost, remoteName: vscode.env.remoteName,
    },
    providers,
    executionProviderSetting: settings.executionProvider,
    loaded: phase.kind === 'ready' ? { provider: phase.info.executionProvider, backend: phase.info.backend, dir: phase.info.dir } : undefined,
    model: { location, check, present: listModels(root, folder) },
    remote,
    disk: await Promise.all([
      diskReading('downloaded models', root),
      ...(folder ? [diskReading('the model folder in use', folder)] : []),
    ]),
    sidecar: { state: sidecar.state, status, error: status ? undefined : 'it did not answer' },
    network: {
      endpoint: network.endpoint,
      proxy: describeProxy(network),
      extraCaCerts: network.extraCaCerts ? `from NODE_EXTRA_CA_CERTS (${process.env.NODE_EXTRA_CA_CERTS})` : 'none',
      strictSSL: network.strictSSL !== false,
    },
  };
}

export async function runDoctor(context: vscode.ExtensionContext, sidecar: SidecarClient, models: ModelManager, log: vscode.LogOutputChannel): Promise<string> {
  const report = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Phi: Doctor is looking around…' },
    async () => buildDoctorReport(await gatherDoctorInputs(context, sidecar, models)),
  );
  log.info(`Phi: Doctor\n${report}`);
  const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: report });
  await vscode.window.showTextDocument(doc, { preview: false });
  void vscode.window.showInformationMessage('Phi Local: the Doctor report is open (and in the log).', 'Copy Report').then(async (choice) => {
    if (choice !== 'Copy Report') return;
    await vscode.env.clipboard.writeText(report);
    void vscode.window.showInformationMessage('Phi Local: the report is on the clipboard.');
  });
  return report;
}
