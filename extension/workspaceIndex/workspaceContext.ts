// `@workspace <question>` in the chat: the question, the best chunks of the workspace index as a context block ahead
// of it (within a token budget), the instruction to cite `path:line`, and the answer's Sources (the excerpts, those
// the answer cites first, each a link to a line). Pure: no vscode.
import { fenceFor } from '../chat/contextChips';
import type { Chunk } from './chunker';
import type { Hit } from './searchIndex';

export const WORKSPACE_MENTION = '@workspace';

/** Tokens the excerpts may take in the prompt (estimated at CHARS_PER_TOKEN). */
export const CONTEXT_TOKENS = 1500;
export const CHARS_PER_TOKEN = 4;

/** The question after `@workspace` when the message starts with it (after blanks), else undefined. */
export function parseWorkspaceQuestion(message: string): string | undefined {
  const m = /^\s*@workspace(?=\s|$)\s*([\s\S]*)$/.exec(message);
  return m ? m[1].trim() : undefined;
}

/** One excerpt that went into the prompt. */
export interface WorkspaceSource {
  path: string;
  startLine: number;
  endLine: number;
  symbol?: string;
}

/** A Sources entry under an answer: where its link opens, and whether the answer cited it. */
export interface SourceLink {
  path: string;
  /** 1-based line the link opens at: the line the answer cited inside the excerpt, else its first line. */
  line: number;
  label: string;
  cited: boolean;
}

const FENCE_LANGUAGES: Record<string, string> = {
  ts: 'typescript', tsx: 'tsx', js: 'javascript', jsx: 'jsx', mjs: 'javascript', cjs: 'javascript', py: 'python',
  go: 'go', rs: 'rust', java: 'java', kt: 'kotlin', cs: 'csharp', c: 'c', h: 'c', cpp: 'cpp', hpp: 'cpp', rb: 'ruby',
  php: 'php', sh: 'bash', md: 'markdown', json: 'json', yml: 'yaml', yaml: 'yaml', css: 'css', html: 'html', swift: 'swift',
};

function fenceLanguage(path: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';
  return FENCE_LANGUAGES[ext] ?? '';
}

/** How an excerpt is named to the model and in the Sources list: `path:start-end`. */
export function sourceLabel(s: WorkspaceSource): string {
  return s.endLine > s.startLine ? `${s.path}:${s.startLine}-${s.endLine}` : `${s.path}:${s.startLine}`;
}

function formatExcerpt(chunk: Chunk): string {
  const fence = fenceFor(chunk.text);
  return `${sourceLabel(chunk)}${chunk.symbol ? ` (${chunk.symbol})` : ''}\n${fence}${fenceLanguage(chunk.path)}\n${chunk.text.replace(/\n?$/, '\n')}${fence}`;
}

/**
 * The excerpts that fit in `maxTokens`, best first: a hit that does not fit is skipped for a smaller one after it;
 * when not even the best fits, its first lines do.
 */
export function pickExcerpts(hits: readonly Hit[], maxTokens = CONTEXT_TOKENS, charsPerToken = CHARS_PER_TOKEN): Chunk[] {
  const budget = maxTokens * charsPerToken;
  let used = 0;
  const picked: Chunk[] = [];
  for (const { chunk } of hits) {
    // The same lines twice (overlapping windows of one file) say nothing new.
    if (picked.some((p) => p.path === chunk.path && p.startLine <= chunk.endLine && chunk.startLine <= p.endLine)) continue;
    const cost = formatExcerpt(chunk).length + 2;
    if (used + cost <= budget) {
      picked.push(chunk);
      used += cost;
    }
  }
  if (picked.length === 0 && hits.length > 0) {
    const best = hits[0].chunk;
    const lines = best.text.split('\n');
    const overhead = formatExcerpt({ ...best, text: '' }).length + 2;
    let text = '';
    let n = 0;
    for (const l of lines) {
      if (overhead + text.length + l.length + 1 > budget) break;
      text += `${l}\n`;
      n++;
    }
    if (n > 0) picked.push({ ...best, text: text.replace(/\n$/, ''), endLine: best.startLine + n - 1 });
  }
  return picked;
}

/** What the model reads for `@workspace`: the excerpts, how to cite them, the question. */
export function workspacePrompt(question: string, excerpts: readonly Chunk[]): string {
  if (excerpts.length === 0) {
    return `(The workspace index found nothing that matches this question. Say so if you cannot answer without the code.)\n\n${question}`;
  }
  return [
    'Excerpts from the files of my workspace, each named by its path and lines:',
    '',
    excerpts.map(formatExcerpt).join('\n\n'),
    '',
    'Answer my question from these excerpts. When you use one, cite it as `path:line` (the line where the code you mean is). ' +
      'If they do not hold the answer, say so.',
    '',
    `Question: ${question}`,
  ].join('\n');
}

/** The sources of excerpts. */
export function toSources(excerpts: readonly Chunk[]): WorkspaceSource[] {
  return excerpts.map((c) => ({ path: c.path, startLine: c.startLine, endLine: c.endLine, ...(c.symbol ? { symbol: c.symbol } : {}) }));
}

/**
 * The Sources list under an answer: every excerpt, those the answer cites first. A citation is the excerpt's path (or
 * its file name alone) with a line inside the excerpt (`path:12`, `path#L12`, `path, line 12`: its link opens at that
 * line) or with no line at all (its link opens at the excerpt's first line); a line outside the excerpt cites
 * another part of the file, not this one.
 */
export function answerSources(sources: readonly WorkspaceSource[], answer: string): SourceLink[] {
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const links = sources.map((s): SourceLink => {
    const name = s.path.slice(s.path.lastIndexOf('/') + 1);
    let line = s.startLine;
    let cited = false;
    // The full path, then the file name alone (the model often shortens it).
    for (const pattern of [escape(s.path), escape(name)]) {
      const re = new RegExp(`(?:^|[^\\w/.-])(?:[\\w.-]+/)*${pattern}(?![\\w/-]|\\.\\w)(?::|#L|,? line )?(\\d+)?`, 'gi');
      for (const m of answer.matchAll(re)) {
        const n = m[1] ? Number(m[1]) : undefined;
        if (n === undefined) cited = true;
        else if (n >= s.startLine && n <= s.endLine) {
          cited = true;
          line = n;
          break;
        }
      }
      if (cited) break;
    }
    return { path: s.path, line, label: `${s.path}:${line}${s.symbol ? ` (${s.symbol})` : ''}`, cited };
  });
  return [...links.filter((l) => l.cited), ...links.filter((l) => !l.cited)];
}
