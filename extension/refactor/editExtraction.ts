// The code a refactor applies, taken out of the model's answer. Small models do not always follow "one fenced block,
// nothing else": the block may come with prose around it, with no fence at all, several blocks, or cut short
// (Stop, the token cap). The result is re-indented to the range it replaces, and it never carries prose.
// Model output is untrusted: this only picks text; what it picks is shown as a diff before anything changes.
// Pure functions, no vscode: the unit tests call them directly.

export interface ExtractedEdit {
  code: string;
  /** 'fenced': from a code block; 'unfenced': the answer had no fence, prose lines were dropped. */
  source: 'fenced' | 'unfenced';
  /** The code block was not closed (the answer was cut short): the code may be incomplete. */
  partial: boolean;
}

interface Block {
  language: string;
  code: string;
  closed: boolean;
}

const FENCE = /^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n`]*$/;

/** Every fenced block of a Markdown answer, the last one possibly unclosed. */
export function fencedBlocks(answer: string): Block[] {
  const blocks: Block[] = [];
  let open: { fence: string; language: string; lines: string[] } | undefined;
  for (const line of answer.split('\n')) {
    const m = FENCE.exec(line);
    if (!open) {
      if (m) open = { fence: m[1], language: m[2].toLowerCase(), lines: [] };
    } else if (m && m[1][0] === open.fence[0] && m[1].length >= open.fence.length && m[2] === '') {
      blocks.push({ language: open.language, code: open.lines.join('\n'), closed: true });
      open = undefined;
    } else {
      open.lines.push(line);
    }
  }
  if (open) blocks.push({ language: open.language, code: open.lines.join('\n'), closed: false });
  return blocks;
}

/** A line of prose rather than code: words and sentence punctuation, none of code's usual symbols. */
function looksLikeProse(line: string): boolean {
  const t = line.trim();
  if (t === '') return false;
  if (/^(\/\/|#|\/\*|\*|--|<!--)/.test(t)) return false; // a comment is code
  if (/[{}();=<>[\]]|=>|:=/.test(t.replace(/\([^)]*\)[.:]?$/, ''))) return false;
  const words = t.split(/\s+/).length;
  return words >= 3 && /^[A-Z*_"'`]/.test(t) && /[.:!?)]$/.test(t);
}

function minIndent(lines: string[]): string {
  let best: string | undefined;
  for (const l of lines) {
    if (l.trim() === '') continue;
    const indent = /^[ \t]*/.exec(l)![0];
    if (best === undefined || indent.length < best.length) best = indent;
  }
  return best ?? '';
}

/** `code` indented like `original`: a model that dropped the common indentation gets it back. */
export function reindent(code: string, original: string): string {
  const want = minIndent(original.split('\n'));
  const lines = code.split('\n');
  const have = minIndent(lines);
  if (want.length <= have.length) return code;
  const add = want.slice(have.length);
  return lines.map((l) => (l.trim() === '' ? l : add + l)).join('\n');
}

const ALIASES: Record<string, string[]> = {
  typescript: ['ts', 'typescript'], typescriptreact: ['tsx', 'typescript'], javascript: ['js', 'javascript'],
  javascriptreact: ['jsx', 'javascript'], python: ['py', 'python'], shellscript: ['sh', 'bash', 'shell'], csharp: ['cs', 'csharp'],
  cpp: ['cpp', 'c++'], rust: ['rs', 'rust'], go: ['go', 'golang'], ruby: ['rb', 'ruby'],
};

/**
 * The code to apply from `answer`, or undefined when it holds none. `original`: the text being replaced (its
 * indentation and final newline are kept). `languageId`: the document's, to prefer a block in that language.
 */
export function extractEdit(answer: string, options: { original: string; languageId?: string }): ExtractedEdit | undefined {
  const all = fencedBlocks(answer);
  const blocks = all.filter((b) => b.code.trim() !== '');
  let picked: { code: string; source: ExtractedEdit['source']; partial: boolean } | undefined;
  if (all.length > 0 && blocks.length === 0) return undefined;
  if (blocks.length > 0) {
    const names = options.languageId ? (ALIASES[options.languageId] ?? [options.languageId]) : [];
    const inLanguage = blocks.filter((b) => b.language === '' || names.includes(b.language));
    const candidates = inLanguage.length ? inLanguage : blocks;
    // Several blocks: the longest is the rewrite; the others are usually usage examples or snippets of it.
    const best = candidates.reduce((a, b) => (b.code.length > a.code.length ? b : a));
    picked = { code: best.code, source: 'fenced', partial: !best.closed };
  } else {
    const lines = answer.replace(/\s+$/, '').split('\n');
    while (lines.length && (lines[0].trim() === '' || looksLikeProse(lines[0]))) lines.shift();
    // Prose after the code: trailing paragraphs of prose lines.
    while (lines.length && (lines[lines.length - 1].trim() === '' || looksLikeProse(lines[lines.length - 1]))) lines.pop();
    if (lines.length) picked = { code: lines.join('\n'), source: 'unfenced', partial: false };
  }
  if (!picked || picked.code.trim() === '') return undefined;
  let code = reindent(picked.code.replace(/^([ \t]*\n)+/, '').replace(/\s+$/, ''), options.original);
  if (options.original.endsWith('\n')) code += '\n';
  return { code, source: picked.source, partial: picked.partial };
}
