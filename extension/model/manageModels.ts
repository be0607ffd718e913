// "Phi: Manage Models": the models on this machine in a quick pick, with their size and variant and which one is in
// use. Pick one to switch to it; its buttons reveal it in the file explorer or delete it (only folders Phi Local
// downloaded, after a confirmation). An incomplete download can be resumed or deleted.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { prefixCacheFolder, prefixCacheRoot } from '../../common/prefixCachePath';
import * as vscode from 'vscode';
import { clearModelPath, readLoadSettings } from '../config';
import { formatBytes } from './download/transferRate';
import { deletable, listModels, type ModelEntry } from './modelLibrary';
import type { ModelManager } from './modelManager';

const REVEAL: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('folder-opened'), tooltip: 'Reveal in File Explorer' };
const DELETE: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('trash'), tooltip: 'Delete' };

type Item = vscode.QuickPickItem & { entry?: ModelEntry; command?: string };

function itemFor(entry: ModelEntry, root: string): Item {
  const name = entry.variant?.label ?? entry.id ?? entry.dir;
  const label = entry.kind === 'incomplete' ? `$(warning) ${name}` : `${entry.active ? '$(check)' : '$(circle-large-outline)'} ${name}`;
  const what = entry.kind === 'incomplete' ? `incomplete download · ${formatBytes(entry.bytes)} so far · pick to resume`
    : `${formatBytes(entry.bytes)}${entry.kind === 'downloaded' ? ' · downloaded' : ' · folder'}${entry.active ? ' · in use' : ''}`;
  return { label, description: what, detail: entry.dir, entry, buttons: deletable(entry, root) ? [REVEAL, DELETE] : [REVEAL] };
}

export async function manageModels(models: ModelManager, root: string, log: vscode.LogOutputChannel): Promise<void> {
  const active = readLoadSettings().location?.dir;
  const entries = listModels(root, active);
  const items: Item[] = [
    ...entries.map((e) => itemFor(e, root)),
    { label: '', kind: vscode.QuickPickItemKind.Separator },
    { label: '$(cloud-download) Download Model…', command: 'phiLocal.downloadModel' },
    { label: '$(folder-opened) Select Model Folder…', command: 'phiLocal.selectModelFolder' },
  ];
  const pick = vscode.window.createQuickPick<Item>();
  pick.title = 'Phi Local: Models';
  pick.placeholder = entries.length ? 'Pick a model to use it' : 'No model yet: download one, or select a folder you have';
  pick.items = items;
  const chosen = await new Promise<{ item: Item; button?: vscode.QuickInputButton } | undefined>((resolve) => {
    pick.onDidAccept(() => resolve(pick.selectedItems[0] ? { item: pick.selectedItems[0] } : undefined));
    pick.onDidTriggerItemButton((e) => resolve({ item: e.item, button: e.button }));
    pick.onDidHide(() => resolve(undefined));
    pick.show();
  });
  pick.dispose();
  if (!chosen) return;
  const { item, button } = chosen;
  if (item.command) return void vscode.commands.executeCommand(item.command);
  const entry = item.entry;
  if (!entry) return;
  if (button === REVEAL) return void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(entry.dir));
  if (button === DELETE && deletable(entry, root)) return deleteModel(entry, root, log);
  if (entry.kind === 'incomplete') return void vscode.commands.executeCommand('phiLocal.downloadModel', { variant: entry.id });
  if (entry.active) return void models.loadConfigured();
  const result = await models.useModelFolder(entry.dir, { showProgress: true });
  if (!result.ok) void vscode.window.showErrorMessage(result.message);
  else void vscode.window.showInformationMessage(`Phi Local: now using ${entry.variant?.label ?? entry.dir}.`);
}

async function deleteModel(entry: ModelEntry, root: string, log: vscode.LogOutputChannel): Promise<void> {
  const name = entry.variant?.label ?? entry.id ?? entry.dir;
  const inUse = entry.active ? ' It is the model in use: the chat will have no model until you pick another.' : '';
  const answer = await vscode.window.showWarningMessage(
    `Delete ${name} (${formatBytes(entry.bytes)})?`,
    { modal: true, detail: `${entry.dir} and everything in it will be deleted.${inUse}` },
    'Delete',
  );
  if (answer !== 'Delete') return;
  await fs.rm(entry.dir, { recursive: true, force: true });
  // Its prompt heads' keys and values (sidecar/engine/prefixStore.ts) go with it; the models root sits in global storage.
  await fs.rm(prefixCacheFolder(prefixCacheRoot(path.dirname(root)), entry.dir), { recursive: true, force: true });
  log.info(`Deleted ${entry.dir} and its prompt cache.`);
  if (entry.active) {
    await clearModelPath();
  }
  void vscode.window.showInformationMessage(`Phi Local: deleted ${name}.`);
}
