// The status bar item: what the model is doing, at a glance, with the details in its tooltip and a menu on click.
//   $(circle-slash) Phi: no model · $(loading~spin) Phi: loading… · $(check) Phi: cpu · $(pulse) Phi: 12.3 tok/s · $(error) Phi: error
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { KvCacheStatus, ModelInfo, SidecarStatus } from '../sidecar/protocol';
import { readLoadSettings } from './config';
import { describeError, type ModelManager } from './model/modelManager';
import type { SidecarClient } from './sidecarClient';

export interface StatusView {
  text: string;
  tooltip: string;
  error: boolean;
}

function megabytes(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024)).toLocaleString('en-US')} MB`;
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

function modelLines(info: ModelInfo): string[] {
  const lines = [
    `Model: ${escapeMarkdown(info.dir)}`,
    `Running on **${info.executionProvider}** (${escapeMarkdown(info.backend)})`,
    `Context: ${info.contextLength.toLocaleString('en-US')} tokens${info.modelContextLength !== info.contextLength ? ` (the model allows ${info.modelContextLength.toLocaleString('en-US')})` : ''}`,
  ];
  for (const f of info.fallbacks) lines.push(`Not used: ${escapeMarkdown(f.provider)}: ${escapeMarkdown(f.reason)}`);
  for (const w of info.warnings) lines.push(`Warning: ${escapeMarkdown(w)}`);
  return lines;
}

/** What the KV caches hold: per feature, its tokens and memory, and the budget. */
export function cacheLine(cache: KvCacheStatus): string {
  const slots = cache.slots.map((s) => `${escapeMarkdown(s.label || 'unused')} ${s.tokens.toLocaleString('en-US')} tokens (${megabytes(s.bytes)})`);
  const heads = cache.heads && (cache.heads.fromDisk || cache.heads.computed) ? `; prompt heads: ${cache.heads.fromDisk} read from disk, ${cache.heads.computed} computed` : '';
  return `Cached: ${slots.length ? slots.join(', ') : 'nothing yet'}; ${megabytes(cache.bytes)}${cache.budgetBytes ? ` of ${megabytes(cache.budgetBytes)}` : ''}${heads}`;
}

/** What the item says for a sidecar state and a model phase. Exported for the tests that have vscode. */
export function statusView(sidecar: SidecarClient, models: ModelManager, demo: boolean): StatusView {
  const s: SidecarStatus | undefined = sidecar.lastStatus;
  const phase = models.phase;
  const lines: string[] = ['**Phi Local**' + (demo ? ' (demo model with random weights: answers are gibberish)' : '')];
  const tail = (): string[] => {
    const out: string[] = [];
    if (s) out.push(`Sidecar: pid ${s.pid}, memory ${megabytes(s.rssBytes)}${s.queued ? `, ${s.queued} waiting` : ''}`);
    if (s?.kvCache) out.push(cacheLine(s.kvCache));
    out.push('', 'Click for the Phi menu.');
    return out;
  };
  const demoTag = demo ? ' (demo)' : '';

  if (sidecar.state === 'restarting') {
    lines.push('The sidecar stopped unexpectedly and is being restarted.');
    return { text: '$(error) Phi: error', tooltip: [...lines, ...tail()].join('\n\n'), error: true };
  }
  if (sidecar.state === 'failed') {
    lines.push('The sidecar is not running. Use **Restart Sidecar**; **Show Logs** may say why it stopped.');
    return { text: '$(error) Phi: error', tooltip: [...lines, ...tail()].join('\n\n'), error: true };
  }
  if (s?.generating) {
    lines.push(`Generating: ${s.generating.tokens} tokens at ${s.generating.tokensPerSecond.toFixed(1)} tok/s`);
    if (s.model) lines.push(...modelLines(s.model));
    const speed = s.generating.tokensPerSecond > 0 ? s.generating.tokensPerSecond.toFixed(1) : '…';
    return { text: `$(pulse) Phi: ${speed} tok/s`, tooltip: [...lines, ...tail()].join('\n\n'), error: false };
  }
  if (s?.state === 'loading' || phase.kind === 'loading') {
    const dir = s?.loading ?? (phase.kind === 'loading' ? phase.dir : undefined);
    lines.push(`Loading the model${dir ? ` from ${escapeMarkdown(dir)}` : ''}…`);
    if (phase.kind === 'loading' && phase.message) lines.push(escapeMarkdown(phase.message));
    return { text: '$(loading~spin) Phi: loading…', tooltip: [...lines, ...tail()].join('\n\n'), error: false };
  }
  if (s?.state === 'ready' && s.model) {
    lines.push(...modelLines(s.model));
    return { text: `$(check) Phi: ${s.model.executionProvider}${demoTag}`, tooltip: [...lines, ...tail()].join('\n\n'), error: false };
  }
  if (phase.kind === 'failed' || s?.state === 'error') {
    const message = phase.kind === 'failed' ? describeError(phase.error) : s?.error?.message ?? 'unknown error';
    const dir = phase.kind === 'failed' ? phase.dir : undefined;
    lines.push(`The model could not be loaded${dir ? ` from ${escapeMarkdown(dir)}` : ''}: ${escapeMarkdown(message)}`);
    return { text: '$(error) Phi: error', tooltip: [...lines, ...tail()].join('\n\n'), error: true };
  }
  const location = readLoadSettings().location;
  lines.push(location?.source === 'remote'
    ? `Remote engine: ${escapeMarkdown(location.dir)}. It connects when the chat first needs it.`
    : location
    ? `Model folder: ${escapeMarkdown(location.dir)}${location.source === 'environment' ? ' (from PHI\\_LOCAL\\_MODEL)' : ''}. It loads when the chat first needs it.`
    : 'No model folder selected: use **Select Model Folder**.');
  return { text: '$(circle-slash) Phi: no model', tooltip: [...lines, ...tail()].join('\n\n'), error: false };
}

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscriptions: vscode.Disposable[] = [];
  private current!: StatusView;

  constructor(
    private readonly sidecar: SidecarClient,
    private readonly models: ModelManager,
    private readonly demo: boolean,
  ) {
    this.item = vscode.window.createStatusBarItem('phiLocal.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Phi Local';
    this.item.command = 'phiLocal.showMenu';
    this.subscriptions.push(
      this.item,
      sidecar.onDidChange(() => this.update()),
      models.onDidChange(() => this.update()),
      vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('phiLocal.modelPath')) this.update(); }),
    );
    this.update();
    this.item.show();
  }

  /** What the item shows now (the extension's API hands it to the extension-host tests). */
  get view(): StatusView {
    return this.current;
  }

  private update(): void {
    const view = statusView(this.sidecar, this.models, this.demo);
    this.current = view;
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip);
    tooltip.supportThemeIcons = false;
    this.item.tooltip = tooltip;
    this.item.backgroundColor = view.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.accessibilityInformation = { label: view.text.replace(/\$\([^)]*\)\s*/g, ''), role: 'button' };
  }

  dispose(): void {
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}

/** The menu behind the status bar item. */
export async function showMenu(generating: boolean): Promise<void> {
  const items: (vscode.QuickPickItem & { command: string })[] = [
    { label: '$(comment-discussion) Open Chat', command: 'phiLocal.openChat' },
    { label: '$(add) New Chat', command: 'phiLocal.newChat' },
    ...(generating ? [{ label: '$(debug-stop) Stop Generating', command: 'phiLocal.stop' }] : []),
    { label: '$(folder-opened) Select Model Folder', command: 'phiLocal.selectModelFolder', description: path.basename(readLoadSettings().location?.dir ?? '') },
    { label: '$(cloud-download) Download Model', command: 'phiLocal.downloadModel' },
    { label: '$(library) Manage Models', command: 'phiLocal.manageModels' },
    { label: '$(debug-restart) Restart Sidecar', command: 'phiLocal.restartSidecar' },
    { label: '$(pulse) Doctor', command: 'phiLocal.doctor', description: 'what Phi Local sees, for a bug report' },
    { label: '$(output) Show Logs', command: 'phiLocal.showLogs' },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'Phi Local', placeHolder: 'What do you want to do?' });
  if (pick) await vscode.commands.executeCommand(pick.command);
}
