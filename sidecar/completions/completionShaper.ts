// Turns the model's raw continuation into the ghost text: where to stop (end of line; end of the block the line
// opened; a closing fence), what to drop (the space held back from the prompt, text that repeats what already
// follows the cursor), and the document's indentation style. Called on the growing text while the model writes,
// so the generation stops as soon as the completion is complete, and once more on the final text.
// Pure functions: the unit tests call them directly.
import { indentOf, type CompletionPrompt } from './completionPrompt';

export interface ShapeOptions {
  /** The document's indentation: lines the model indents with the other style are converted. */
  indent?: { insertSpaces: boolean; tabSize: number };
  /** The most lines of a block completion. */
  maxLines?: number;
}

export type ShapeContext = Pick<CompletionPrompt, 'mode' | 'baseIndent' | 'heldBack' | 'lineSuffix' | 'suffix' | 'linePrefix'>;

export const DEFAULT_MAX_BLOCK_LINES = 16;

function width(indent: string, tabSize: number): number {
  let w = 0;
  for (const c of indent) w += c === '\t' ? tabSize - (w % tabSize) : 1;
  return w;
}

const CLOSER = /^([}\])]|end\b|fi\b|done\b|esac\b)/;

/**
 * The completion in `raw` and whether it is complete (the model can stop). `final`: the model has stopped, so the
 * last line counts as whole.
 */
export function shapeCompletion(raw: string, ctx: ShapeContext, final: boolean, options: ShapeOptions = {}): { text: string; done: boolean } {
  const tabSize = options.indent?.tabSize ?? 4;
  let text = ctx.heldBack && raw.startsWith(ctx.heldBack) ? raw.slice(ctx.heldBack.length) : raw;
  let done = false;

  // A closing fence ends the code (the prompt opened one), wherever the model puts it.
  const fence = text.indexOf('```');
  if (fence >= 0) {
    text = text.slice(0, fence);
    done = true;
  }

  const lines = text.split('\n');
  if (ctx.mode === 'line') {
    if (lines.length > 1) {
      text = lines[0];
      done = true;
    }
  } else {
    // Complete lines: all but the last, unless the model stopped.
    const whole = done || final ? lines.length : lines.length - 1;
    const base = width(ctx.baseIndent, tabSize);
    const maxLines = options.maxLines ?? DEFAULT_MAX_BLOCK_LINES;
    let keep = lines.length;
    for (let i = 1; i < whole; i++) {
      const line = lines[i];
      if (line.trim() === '') continue;
      if (width(indentOf(line), tabSize) <= base) {
        keep = CLOSER.test(line.trim()) ? i + 1 : i;
        done = true;
        break;
      }
      if (i + 1 >= maxLines) {
        keep = i + 1;
        done = true;
        break;
      }
    }
    text = lines.slice(0, keep).join('\n');
  }
  if (!done && !final) return { text, done: false };

  text = text.replace(/[ \t]+$/gm, '').replace(/\n+$/, '');
  text = dropSuffixRepeat(text, ctx);
  text = convertIndentation(text, options.indent);
  return { text, done: true };
}

/** Removes what repeats the code after the cursor. */
function dropSuffixRepeat(text: string, ctx: ShapeContext): string {
  const after = ctx.suffix.trimStart();
  // The whole completion is already there (the model copied the next lines).
  if (text.trim() && after.startsWith(text.trim())) return '';
  const lines = text.split('\n');
  if (lines.length === 1) {
    // `foo(|)` → the model writes `a, b)`: the `)` is already right of the cursor.
    const rest = ctx.lineSuffix.trim();
    for (let k = Math.min(rest.length, text.length); k > 0; k--) {
      if (text.endsWith(rest.slice(0, k))) return text.slice(0, text.length - k);
    }
    return text;
  }
  // A block whose last lines are the lines after the cursor (an editor that auto-closed the brace, for one).
  const next = ctx.suffix.split('\n').slice(1).map((l) => l.trim()).filter((l) => l !== '');
  for (let k = Math.min(next.length, lines.length - 1); k > 0; k--) {
    const tail = lines.slice(lines.length - k).map((l) => l.trim());
    if (tail.every((l, i) => l === next[i])) return lines.slice(0, lines.length - k).join('\n');
  }
  return text;
}

/** Lines after the first, re-indented in the document's style when the model used the other one. */
function convertIndentation(text: string, indent: ShapeOptions['indent']): string {
  if (!indent) return text;
  const [first, ...rest] = text.split('\n');
  const fixed = rest.map((line) => {
    const lead = indentOf(line);
    if (indent.insertSpaces && lead.includes('\t')) return ' '.repeat(width(lead, indent.tabSize)) + line.slice(lead.length);
    if (!indent.insertSpaces && lead.includes(' ')) {
      const w = width(lead, indent.tabSize);
      return '\t'.repeat(Math.floor(w / indent.tabSize)) + ' '.repeat(w % indent.tabSize) + line.slice(lead.length);
    }
    return line;
  });
  return [first, ...fixed].join('\n');
}
