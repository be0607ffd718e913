// The commit message turn's prompt, from the staged diff and the repository's recent subjects (no vscode here, so
// the unit tests run it). A diff past the budget keeps the smaller files whole and shows the largest ones as their
// header and +/- line counts only, and the prompt says which were summarised, so the model does not guess at them.
import type { ChatMessage } from '../../sidecar/protocol';

export interface CommitPromptInput {
  /** `git diff --cached` output. */
  diff: string;
  /** The last commits' subjects, newest first: the style to follow. */
  recentSubjects: string[];
  /** The most characters of diff the prompt may hold. */
  diffBudget: number;
}

export interface CommitPrompt {
  messages: ChatMessage[];
  /** The files shown only as their header and line counts. */
  summarised: string[];
}

/** One file's part of a diff: from its `diff --git` line to the next. */
interface FileDiff {
  path: string;
  text: string;
}

/** Characters per token, rough: the budget comes from tokens, the diff is measured in characters. */
const CHARS_PER_TOKEN = 3;
/** Room for the instructions, the style examples and the chat template. */
const PROMPT_RESERVE_TOKENS = 600;

/** The diff's character budget on a model with this context, leaving room for the answer and the instructions. */
export function diffBudget(contextLength: number, answerTokens: number): number {
  return Math.max(1000, (contextLength - answerTokens - PROMPT_RESERVE_TOKENS) * CHARS_PER_TOKEN);
}

export function splitDiff(diff: string): FileDiff[] {
  const parts = diff.split(/^(?=diff --git )/m).filter((p) => p.trim());
  return parts.map((text) => {
    const m = /^diff --git a\/(.*?) b\/(.*)$/m.exec(text);
    return { path: m ? m[2] : text.split('\n')[0], text };
  });
}

/** A file's header lines (up to its first hunk) and how many lines it adds and removes. */
export function summariseFile(file: FileDiff): string {
  const lines = file.text.split('\n');
  const firstHunk = lines.findIndex((l) => l.startsWith('@@'));
  const header = (firstHunk < 0 ? lines : lines.slice(0, firstHunk)).filter((l) => l).join('\n');
  let added = 0;
  let removed = 0;
  for (const l of lines.slice(Math.max(0, firstHunk))) {
    if (l.startsWith('+') && !l.startsWith('+++')) added++;
    else if (l.startsWith('-') && !l.startsWith('---')) removed++;
  }
  return `${header}\n[summarised: +${added} -${removed} lines, hunks left out]\n`;
}

/** The diff within the budget: whole files, smallest first kept whole, the largest summarised until it fits. */
export function boundDiff(diff: string, budget: number): { text: string; summarised: string[] } {
  const files = splitDiff(diff);
  const shown = files.map((f) => f.text);
  const summarised: string[] = [];
  const size = () => shown.reduce((n, t) => n + t.length, 0);
  const bySize = files.map((f, i) => i).sort((a, b) => files[b].text.length - files[a].text.length);
  for (const i of bySize) {
    if (size() <= budget) break;
    shown[i] = summariseFile(files[i]);
    summarised.push(files[i].path);
  }
  let text = shown.join('');
  // So many files that even their summaries overflow: cut, and say so.
  if (text.length > budget) text = `${text.slice(0, Math.max(0, budget - 40))}\n[the rest of the diff is left out]\n`;
  return { text, summarised };
}

export function commitMessages(input: CommitPromptInput): CommitPrompt {
  const { text, summarised } = boundDiff(input.diff, input.diffBudget);
  const style = input.recentSubjects.filter((s) => s.trim()).slice(0, 10);
  const system = [
    'You write git commit messages. Answer with the commit message only: no quotes, no code fences, no explanation.',
    'Line one is a subject of at most 72 characters in the imperative mood; add a blank line and a short body only when the change needs one.',
  ].join('\n');
  const parts = [
    style.length
      ? `Follow the style of this repository's recent commit subjects:\n${style.map((s) => `- ${s}`).join('\n')}`
      : '',
    summarised.length
      ? `The diff was too long: these files are shown only as their header and line counts: ${summarised.join(', ')}.`
      : '',
    `The staged diff:\n\`\`\`diff\n${text}\`\`\``,
    'Write the commit message for this change.',
  ].filter(Boolean);
  return { messages: [{ role: 'system', content: system }, { role: 'user', content: parts.join('\n\n') }], summarised };
}

/** The answer as a message: without a fence or quotes a small model may add around it. */
export function cleanCommitMessage(answer: string): string {
  let text = answer.trim();
  const fence = /^```[\w-]*\n([\s\S]*?)\n?```$/.exec(text);
  if (fence) text = fence[1].trim();
  if (/^(["'`]).*\1$/s.test(text) && !text.includes('\n')) text = text.slice(1, -1);
  return text;
}
