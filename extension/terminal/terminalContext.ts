// What a terminal said, for Explain and Fix: the last command of each terminal and its output, recorded through
// shell integration (the output is only readable from the moment a command starts, so the recorder reads every
// command's output as it comes, keeping only the end of it, and only the last command per terminal), and the text
// selected in a terminal (Terminal.selection; where a VS Code lacks it, copied through the clipboard, which is put
// back after).
import * as vscode from 'vscode';

/** Raw characters kept of one command's output: the end of it (escape sequences included, so more than is sent). */
const MAX_RAW_CHARS = 64_000;

export interface RecordedCommand {
  commandLine: string;
  cwd?: string;
  /** The raw output so far (its last MAX_RAW_CHARS characters). */
  output: string;
  /** Characters dropped from the start to stay within MAX_RAW_CHARS. */
  droppedChars: number;
  exitCode?: number;
  ended: boolean;
  /** Settles once the output stream has been read to its end. */
  read: Promise<void>;
}

export class TerminalRecorder implements vscode.Disposable {
  private readonly last = new Map<vscode.Terminal, RecordedCommand>();
  /** The last command before the one running (it comes back when that one turns out to be an empty Enter). */
  private readonly previous = new Map<vscode.Terminal, RecordedCommand>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.subscriptions.push(
      vscode.window.onDidStartTerminalShellExecution((e) => this.started(e)),
      vscode.window.onDidEndTerminalShellExecution((e) => {
        const r = this.last.get(e.terminal);
        if (!r) return;
        r.ended = true;
        r.exitCode = e.exitCode;
        // The command line may be more accurate at the end.
        if (e.execution.commandLine.value) r.commandLine = e.execution.commandLine.value;
        // Enter on an empty prompt is no command: the one before stays the last.
        const before = this.previous.get(e.terminal);
        if (!r.commandLine.trim() && !r.output.trim() && before) void r.read.then(() => {
          if (this.last.get(e.terminal) === r && !r.output.trim()) this.last.set(e.terminal, before);
        });
      }),
      vscode.window.onDidCloseTerminal((t) => {
        this.last.delete(t);
        this.previous.delete(t);
      }),
    );
  }

  private started(e: vscode.TerminalShellExecutionStartEvent): void {
    const record: RecordedCommand = {
      commandLine: e.execution.commandLine.value,
      cwd: e.execution.cwd?.fsPath,
      output: '',
      droppedChars: 0,
      ended: false,
      read: Promise.resolve(),
    };
    const before = this.last.get(e.terminal);
    if (before) this.previous.set(e.terminal, before);
    this.last.set(e.terminal, record);
    // read() right away: it yields only what is written after its first call.
    const stream = e.execution.read();
    record.read = (async () => {
      try {
        for await (const data of stream) {
          record.output += data;
          if (record.output.length > MAX_RAW_CHARS) {
            const drop = record.output.length - MAX_RAW_CHARS;
            record.output = record.output.slice(drop);
            record.droppedChars += drop;
          }
        }
      } catch (err) {
        this.log.debug(`Terminal output of "${record.commandLine}" could not be read: ${(err as Error).message}`);
      }
    })();
  }

  /**
   * The terminal's last command, its output read to the end (waited for at most `waitMs` when the command has
   * ended but the stream has not), or undefined when none was seen (no shell integration, or none since Phi started).
   */
  async lastCommand(terminal: vscode.Terminal, waitMs = 1000): Promise<RecordedCommand | undefined> {
    const r = this.last.get(terminal);
    if (r?.ended) await Promise.race([r.read, new Promise((resolve) => setTimeout(resolve, waitMs))]);
    return r;
  }

  dispose(): void {
    this.last.clear();
    this.previous.clear();
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}

/** Terminal.selection: VS Code 1.100 has it at run time, though its typings (@types/vscode 1.100) do not yet. */
function selectionApi(terminal: vscode.Terminal): { available: boolean; text?: string } {
  try {
    if (!('selection' in terminal)) return { available: false };
    const text = (terminal as { selection?: unknown }).selection;
    return { available: true, text: typeof text === 'string' && text ? text : undefined };
  } catch {
    return { available: false };
  }
}

/** A clipboard call that may never answer (a browser that does not let the page read it): undefined after a while. */
function withTimeout<T>(p: Thenable<T>, ms: number): Promise<T | undefined> {
  return Promise.race([Promise.resolve(p).catch(() => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))]);
}

/**
 * The text selected in `terminal`, or undefined. `known`: the caller knows a selection is there (a menu shown only
 * then): without Terminal.selection the selection is copied through the clipboard, which VS Code answers with a
 * warning when there is none, so that is done only when a selection is known, or `tryClipboard` says so.
 */
export async function terminalSelection(terminal: vscode.Terminal, opts: { known?: boolean; tryClipboard?: boolean } = {}): Promise<string | undefined> {
  const api = selectionApi(terminal);
  if (api.available) return api.text;
  if (!opts.known && !opts.tryClipboard) return undefined;
  return copiedThroughClipboard(terminal, 'workbench.action.terminal.copySelection');
}

/**
 * The output of the terminal's last command as the terminal shows it (its shell integration marks), copied through
 * the clipboard. For a command so quick that its output came in the same piece of data as its start mark: VS Code
 * 1.100 hands read() only the data that comes after that piece, so the recorder saw none of it.
 */
export function lastCommandOutputFromTerminal(terminal: vscode.Terminal): Promise<string | undefined> {
  return copiedThroughClipboard(terminal, 'workbench.action.terminal.copyLastCommandOutput');
}

/** What a copy command of the (then active) terminal puts on the clipboard; the clipboard is put back after. */
async function copiedThroughClipboard(terminal: vscode.Terminal, command: string): Promise<string | undefined> {
  if (vscode.window.activeTerminal !== terminal) terminal.show(true);
  const before = await withTimeout(vscode.env.clipboard.readText(), 2000);
  // A marker first: if the copy does nothing (no selection, no output), the clipboard still holds it.
  const marker = `phi-local-nothing-copied-${Date.now()}`;
  try {
    await withTimeout(vscode.env.clipboard.writeText(marker), 2000);
    await vscode.commands.executeCommand(command);
    const copied = await withTimeout(vscode.env.clipboard.readText(), 2000);
    return copied && copied !== marker ? copied : undefined;
  } finally {
    await withTimeout(vscode.env.clipboard.writeText(before ?? ''), 2000);
  }
}

/** The shell's name from its path (`/bin/bash` → bash, `C:\…\pwsh.exe` → pwsh). */
export function shellName(shellPath: string): string | undefined {
  const name = shellPath.split(/[\\/]/).pop()?.replace(/\.exe$/i, '');
  return name || undefined;
}
