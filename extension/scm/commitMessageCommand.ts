// Write Commit Message: the staged diff and the recent subjects (through the built-in Git extension's API) go to a
// turn (turn/turnRunner.ts); the answer streams into the Source Control input box; a progress notification's Cancel
// stops it. The prompt is commitPrompt.ts's.
import { execFile } from 'node:child_process';
import * as vscode from 'vscode';
import { readTurnSettings } from '../config';
import { describeError, type ModelManager } from '../model/modelManager';
import type { SidecarClient } from '../sidecarClient';
import { TurnRunner } from '../turn/turnRunner';
import { cleanCommitMessage, commitMessages, diffBudget } from './commitPrompt';

/** The part of the Git extension's API (extensions/git/src/api/git.d.ts) used here. */
interface GitRepository {
  readonly rootUri: vscode.Uri;
  readonly inputBox: { value: string };
  diff?(cached?: boolean): Promise<string>;
  log(options?: { maxEntries?: number }): Promise<{ message: string }[]>;
}
interface GitApi {
  readonly repositories: GitRepository[];
  getRepository(uri: vscode.Uri): GitRepository | null;
}

/** A commit message needs few tokens; the rest of the context goes to the diff. */
const ANSWER_TOKENS = 256;

export class CommitMessageCommand implements vscode.Disposable {
  private readonly turns: TurnRunner;
  /** The turn running now: a second run stops it first. */
  private running: vscode.CancellationTokenSource | undefined;

  constructor(sidecar: SidecarClient, private readonly models: ModelManager, private readonly log: vscode.LogOutputChannel) {
    this.turns = new TurnRunner(sidecar, models);
  }

  /** `scm`: the Source Control provider, when run from its title bar. */
  async run(scm?: { rootUri?: vscode.Uri }): Promise<void> {
    const repo = await this.repository(scm?.rootUri);
    if (!repo) {
      void vscode.window.showErrorMessage('Phi: no Git repository is open. Open a folder that is a Git repository (and make sure the built-in Git extension is enabled).');
      return;
    }
    let diff: string;
    let subjects: string[];
    try {
      diff = await stagedDiff(repo);
      subjects = (await repo.log({ maxEntries: 10 }).catch(() => [])).map((c) => c.message.split('\n')[0]);
    } catch (e) {
      void vscode.window.showErrorMessage(`Phi: could not read the staged changes: ${describeError(e)}`);
      return;
    }
    if (!diff.trim()) {
      void vscode.window.showInformationMessage('Phi: nothing is staged. Stage the changes to describe first.');
      return;
    }

    this.running?.cancel();
    const source = new vscode.CancellationTokenSource();
    this.running = source;
    const before = repo.inputBox.value;
    try {
      const outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Phi: Write Commit Message', cancellable: true },
        async (progress, cancel) => {
          const sub = cancel.onCancellationRequested(() => source.cancel());
          try {
            progress.report({ message: 'loading the model…' });
            // The budget needs the model's context, so the model is loaded before the messages are built.
            const model = await untilCancelled(this.models.ensureLoaded(), source.token);
            if (!model) return { cancelled: true as const };
            const answerTokens = Math.min(ANSWER_TOKENS, readTurnSettings().maxNewTokens);
            const prompt = commitMessages({ diff, recentSubjects: subjects, diffBudget: diffBudget(model.contextLength, answerTokens) });
            if (prompt.summarised.length) this.log.info(`Commit message: summarised ${prompt.summarised.join(', ')} to fit the context.`);
            progress.report({ message: 'writing… (Cancel stops it)' });
            return await this.turns.run({ purpose: 'commit', messages: prompt.messages, answerTokens: () => answerTokens }, {
              onProgress: { everyMs: 150, report: (soFar) => { repo.inputBox.value = soFar; } },
            }, source.token);
          } finally {
            sub.dispose();
          }
        },
      );
      if (outcome.cancelled) {
        // Keep what was written before the stop; nothing written: the user's own text comes back.
        if (!outcome.result?.text.trim()) repo.inputBox.value = before;
        vscode.window.setStatusBarMessage('$(debug-stop) Phi: commit message stopped.', 4000);
        return;
      }
      repo.inputBox.value = cleanCommitMessage(outcome.result.text);
    } catch (e) {
      repo.inputBox.value = before;
      const message = describeError(e);
      this.log.error(`Commit message failed: ${message}`);
      void vscode.window.showErrorMessage(`Phi: Write Commit Message failed: ${message}`, 'Show Logs').then((c) => { if (c) this.log.show(true); });
    } finally {
      if (this.running === source) this.running = undefined;
      source.dispose();
    }
  }

  /** The repository of the clicked provider, else of the active editor, else the only (or first) one. */
  private async repository(root?: vscode.Uri): Promise<GitRepository | undefined> {
    const extension = vscode.extensions.getExtension<{ getAPI(version: 1): GitApi }>('vscode.git');
    if (!extension) return undefined;
    const api = (extension.isActive ? extension.exports : await extension.activate()).getAPI(1);
    const editor = vscode.window.activeTextEditor?.document.uri;
    return (root && api.getRepository(root)) || (editor && api.getRepository(editor)) || api.repositories[0];
  }

  dispose(): void {
    this.running?.cancel();
  }
}

/** The staged diff: the API's, or `git diff --cached` in the repository root where the API lacks it. */
async function stagedDiff(repo: GitRepository): Promise<string> {
  if (typeof repo.diff === 'function') return repo.diff(true);
  return new Promise((resolve, reject) => {
    execFile('git', ['diff', '--cached'], { cwd: repo.rootUri.fsPath, maxBuffer: 64 << 20 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

/** The promise's value, or undefined once the token is cancelled (a load goes on; only the wait ends). */
function untilCancelled<T>(promise: Promise<T>, token: vscode.CancellationToken): Promise<T | undefined> {
  if (token.isCancellationRequested) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const sub = token.onCancellationRequested(() => { sub.dispose(); resolve(undefined); });
    promise.then((v) => { sub.dispose(); resolve(v); }, (e: unknown) => { sub.dispose(); reject(e); });
  });
}
