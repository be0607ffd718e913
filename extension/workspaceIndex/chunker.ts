// A file cut into the pieces the workspace index ranks: one per top-level declaration (found by a line-start regex
// for the common languages, and markdown headings), small neighbours merged, long ones cut into 40-line windows that
// overlap by 10; a file without declarations is windows only. Pure: no vscode, no I/O.

export interface Chunk {
  /** Workspace-relative path, with `/`. */
  path: string;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  text: string;
  /** The declared name the chunk starts with, when the regex saw one. */
  symbol?: string;
}

export interface ChunkOptions {
  /** Longest chunk in lines; longer declarations are cut into windows this long. */
  maxLines?: number;
  /** Lines a window shares with the one before. */
  overlap?: number;
  /** Declarations shorter than this go with the next one (imports, one-line constants). */
  minLines?: number;
  /** Longest text of a chunk in characters (a cut, for very long lines). */
  maxChars?: number;
}

export const CHUNK_DEFAULTS: Required<ChunkOptions> = { maxLines: 40, overlap: 10, minLines: 6, maxChars: 4000 };

/**
 * A top-level declaration at the start of a line, and its name: TypeScript/JavaScript, Python, Go, Rust, Java/C#/
 * Kotlin, C/C++ (a type or a function whose name is followed by `(` at column 0), Ruby, PHP, shell functions, and
 * markdown headings.
 */
const DECLARATION = new RegExp([
  // TS / JS (export, default, async, declare, abstract), with the name
  String.raw`^(?:export\s+(?:default\s+)?)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\*?|class|interface|type|enum|namespace|module|const|let|var)\s+([A-Za-z_$][\w$]*)`,
  // Python, Ruby
  String.raw`^(?:async\s+)?(?:def|class|module)\s+([A-Za-z_][\w.]*)`,
  // Go
  String.raw`^(?:func|type)\s+(?:\([^)]*\)\s*)?([A-Za-z_]\w*)`,
  // Rust
  String.raw`^(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:unsafe\s+)?(?:fn|struct|enum|trait|impl|mod|type|const|static)\b\s*(?:<[^>]*>\s*)?([A-Za-z_]\w*)?`,
  // Java, C#, Kotlin, Scala, Swift, PHP: a modifier or a type keyword first
  String.raw`^(?:(?:public|private|protected|internal|static|final|abstract|sealed|open|data|override)\s+)*(?:class|interface|object|record|struct|enum|fun|func|function|def|trait)\s+([A-Za-z_]\w*)`,
  // C / C++: `type name(` at column 0, not a statement keyword
  String.raw`^(?!(?:if|for|while|switch|return|else|do)\b)[A-Za-z_][\w:<>,*&\s]*?\b([A-Za-z_]\w*)\s*\([^;]*$`,
  // shell
  String.raw`^(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)\s*\{`,
  // markdown headings
  String.raw`^#{1,6}\s+(\S.*)$`,
].join('|'));

/** The declared name at the start of `line`, '' for an anonymous one, undefined when the line starts none. */
export function declarationAt(line: string): string | undefined {
  if (!line || /^\s/.test(line)) return undefined;
  // The first 300 characters are enough for a declaration, and keep the regex's backtracking bounded.
  const m = DECLARATION.exec(line.slice(0, 300));
  if (!m) return undefined;
  return (m.slice(1).find((g) => g !== undefined) ?? '').trim().slice(0, 80);
}

/** The file's chunks. Empty text (or only blank lines) has none. */
export function chunkFile(path: string, text: string, options: ChunkOptions = {}): Chunk[] {
  const o = { ...CHUNK_DEFAULTS, ...options };
  const step = Math.max(1, o.maxLines - Math.min(o.overlap, o.maxLines - 1));
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const isMarkdown = /\.(?:md|mdx|markdown)$/i.test(path);

  // Sections: from one declaration to the next (the lines before the first are a section too).
  const sections: { start: number; symbol?: string }[] = [{ start: 0 }];
  for (let i = 0; i < lines.length; i++) {
    const symbol = isMarkdown ? /^#{1,6}\s+(\S.*)$/.exec(lines[i])?.[1]?.trim().slice(0, 80) : declarationAt(lines[i]);
    if (symbol === undefined) continue;
    if (i === 0) sections[0].symbol = symbol || undefined;
    else sections.push({ start: i, symbol: symbol || undefined });
  }

  // Small sections merge into the next (a lone import block, a one-line constant).
  const merged: { start: number; end: number; symbol?: string }[] = [];
  for (let k = 0; k < sections.length; k++) {
    const start = sections[k].start;
    const end = k + 1 < sections.length ? sections[k + 1].start : lines.length;
    const prev = merged[merged.length - 1];
    if (prev && prev.end - prev.start < o.minLines && end - prev.start <= o.maxLines) {
      prev.end = end;
      prev.symbol ??= sections[k].symbol;
    } else {
      merged.push({ start, end, symbol: sections[k].symbol });
    }
  }

  const chunks: Chunk[] = [];
  const push = (start: number, end: number, symbol: string | undefined) => {
    const body = lines.slice(start, end).join('\n');
    if (!body.trim()) return;
    chunks.push({ path, startLine: start + 1, endLine: end, text: body.length > o.maxChars ? body.slice(0, o.maxChars) : body, ...(symbol ? { symbol } : {}) });
  };
  for (const s of merged) {
    if (s.end - s.start <= o.maxLines) {
      push(s.start, s.end, s.symbol);
      continue;
    }
    for (let a = s.start; a < s.end; a += step) {
      const b = Math.min(a + o.maxLines, s.end);
      push(a, b, s.symbol);
      if (b === s.end) break;
    }
  }
  return chunks;
}
