// Ghost text from Phi: VS Code's InlineCompletionItemProvider over the sidecar's phi/inlineCompletion.
// When to offer one is triggerPolicy.ts; cache, debounce and cancellation are completionRequester.ts; the prompt
// and where the completion stops are the sidecar's (sidecar/completions/). VS Code cancels the previous call's
// token on every keystroke, and that cancel reaches the model ($/cancelRequest), so a newer keystroke always wins.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelManager } from '../model/modelManager';
import { PhiError, type SidecarClient } from '../sidecarClient';
import { CompletionRequester } from './completionRequester';
import { autoTriggerAllowed, completionsEnabledFor, prefixStartLine } from './triggerPolicy';
import { readCompletionSettings, saveCompletionsEnable } from '../config';
import { completionWindow, PrefillSpeed } from './completionWindow';

const SUFFIX_LINES = 60;

export function completionsEnabled(languageId: string): boolean {
  return completionsEnabledFor(languageId, readCompletionSettings().enable);
}

/**
 * "Completions need a GPU or a remote engine on this machine": said once (remembered), with the choice to enable
 * them anyway or turn them off. Until the user chooses, automatic completions stay quiet on a machine too slow.
 */
class SlowMachineNotice {
  private told = false;

  constructor(private readonly state: vscode.Memento | undefined, private readonly log: vscode.LogOutputChannel) {}

  allowed(): boolean {
    return this.state?.get<boolean>(ENABLE_ANYWAY_KEY) === true;
  }

  tell(tokensPerSecond: number, coldMs: number): void {
    if (this.told) return;
    this.told = true;
    const why = `This machine prefills about ${Math.round(tokensPerSecond)} tokens/s: even a few lines around the cursor take ${(coldMs / 1000).toFixed(1)} s before a completion's first token, more than phiLocal.completions.timeoutMs allows.`;
    this.log.warn(`Inline completions paused: ${why}`);
    if (this.state?.get<boolean>(TOLD_KEY)) return;
    void this.state?.update(TOLD_KEY, true);
    void vscode.window.showWarningMessage(`Phi Local: inline completions need a GPU or a remote engine on this machine. ${why} Enable them anyway?`, 'Enable Anyway', 'Turn Off Completions')
      .then(async (choice) => {
        if (choice === 'Enable Anyway') await this.state?.update(ENABLE_ANYWAY_KEY, true);
        if (choice === 'Turn Off Completions') await saveCompletionsEnable({ '*': false });
      });
  }
}

const ENABLE_ANYWAY_KEY = 'phiLocal.completions.slowMachineEnabled';
const TOLD_KEY = 'phiLocal.completions.slowMachineTold';

export class PhiInlineCompletionProvider implements vscode.InlineCompletionItemProvider, vscode.Disposable {
  private readonly requester: CompletionRequester;
  private inFlight = 0;
  private readonly busyEmitter = new vscode.EventEmitter<boolean>();
  /** True while the model works on a completion (the status item spins). */
  readonly onDidChangeBusy = this.busyEmitter.event;

  private readonly slowMachine: SlowMachineNotice;
  /** The speed the window is sized by: the sidecar's measurement, raised by what completions showed. */
  private readonly prefillSpeed = new PrefillSpeed();

  constructor(
    private readonly sidecar: SidecarClient,
    private readonly models: ModelManager,
    private readonly log: vscode.LogOutputChannel,
    state?: vscode.Memento,
  ) {
    this.slowMachine = new SlowMachineNotice(state, log);
    this.requester = new CompletionRequester(async (params, token) => {
      this.setBusy(+1);
      try {
        // The first completion loads the model (if one is configured); typing on meanwhile cancels only the request.
        await this.models.ensureLoaded();
        return await this.sidecar.inlineCompletion(params, token as vscode.CancellationToken);
      } finally {
        this.setBusy(-1);
      }
    }, () => readCompletionSettings().debounceMs);
  }

  private setBusy(delta: number): void {
    const was = this.inFlight > 0;
    this.inFlight += delta;
    if (was !== this.inFlight > 0) this.busyEmitter.fire(this.inFlight > 0);
  }

  async provideInlineCompletionItems(
    document: vscode.TextDocument, position: vscode.Position, context: vscode.InlineCompletionContext, token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const explicit = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
    if (!completionsEnabled(document.languageId) && !explicit) return undefined;
    // The suggest widget is open: its item decides what gets inserted; do not compete with it.
    if (context.selectedCompletionInfo && !explicit) return undefined;
    const line = document.lineAt(position.line).text;
    const linePrefix = line.slice(0, position.character);
    const lineSuffix = line.slice(position.character);
    if (!explicit && !autoTriggerAllowed(linePrefix, lineSuffix).ok) return undefined;
    if (!this.models.configured) {
      if (explicit) void vscode.window.showInformationMessage('Phi Local: select a model folder first (Phi: Select Model Folder).');
      return undefined;
    }
    // A model that failed to load, or a sidecar that keeps dying, is not retried on every keystroke: the status
    // bar says what is wrong; an explicit trigger tries again.
    if (!explicit && (this.models.phase.kind === 'failed' || this.sidecar.state === 'failed')) return undefined;
    const start = new vscode.Position(prefixStartLine(position.line), 0);
    const endLine = Math.min(document.lineCount - 1, position.line + SUFFIX_LINES);
    const prefix = document.getText(new vscode.Range(start, position));
    const suffix = document.getText(new vscode.Range(position, document.lineAt(endLine).range.end));
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === document);
    const settings = readCompletionSettings();
    // The window the machine can prefill within the time cap (completionWindow.ts); too slow: said once, then only
    // an explicit trigger (or "enable anyway") asks.
    const prefillSpeed = this.prefillSpeed.current(this.loadedDir(), this.models.prefillTokensPerSecond);
    const window = completionWindow(prefillSpeed, settings.timeoutMs);
    if (window && !window.fits && !explicit && !this.slowMachine.allowed()) {
      this.slowMachine.tell(prefillSpeed ?? 0, window.coldMs);
      return undefined;
    }
    const started = performance.now();
    try {
      const answer = await this.requester.request({
        key: { document: document.uri.toString(), prefix, suffix },
        explicit,
        params: {
          languageId: document.languageId,
          fileName: path.posix.basename(document.uri.path),
          prefix,
          suffix,
          indent: editor ? { insertSpaces: editor.options.insertSpaces === true, tabSize: Number(editor.options.tabSize) || 4 } : undefined,
          timeoutMs: settings.timeoutMs,
          ...(window ? { maxPrefixTokens: window.maxPrefixTokens, maxSuffixTokens: window.maxSuffixTokens } : {}),
        },
      }, token);
      const r = answer?.result;
      // What this completion's own prefill took (also one that found nothing to suggest).
      if (r && !answer.fromCache) this.prefillSpeed.observe(this.loadedDir(), r.usage.promptTokens - r.usage.reusedTokens, r.timings.prefillTokensPerSecond);
      if (!answer || !answer.text || token.isCancellationRequested) return undefined;
      this.log.debug(`Completion at ${path.posix.basename(document.uri.path)}:${position.line + 1}: ${answer.fromCache ? 'from cache' : `${r?.finishReason}, ${r?.usage.completionTokens} tokens, prompt ${r?.usage.promptTokens} (${r?.usage.reusedTokens} reused)`} in ${Math.round(performance.now() - started)} ms.`);
      return [new vscode.InlineCompletionItem(answer.text, new vscode.Range(position, position))];
    } catch (e) {
      if (e instanceof PhiError && e.code === 'cancelled') return undefined;
      // A completion failing must not nag on every keystroke: the log says why, an explicit trigger says so too.
      this.log.warn(`Completion failed: ${(e as Error).message}`);
      if (explicit) void vscode.window.showWarningMessage(`Phi Local: no completion: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** The folder of the model loaded now ('' while none is). */
  private loadedDir(): string {
    const phase = this.models.phase;
    return phase.kind === 'ready' ? phase.info.dir : '';
  }

  dispose(): void {
    this.busyEmitter.dispose();
  }
}
