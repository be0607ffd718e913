// What the workspace index leaves out: the patterns of a .gitignore (own parser for the usual subset, see below),
// VS Code globs such as `files.exclude`'s, and a few folders that are never the user's code. Pure: no vscode, no I/O,
// so the unit tests and the benchmark (bench/workspaceIndex.ts) use the same rules as the extension.
//
// .gitignore, as far as this parser goes: blank lines and `#` comments; `!` negation (last match wins); a leading or
// middle `/` anchors the pattern to the .gitignore's folder, else it matches a name at any depth; a trailing `/`
// matches folders only; `*`, `?`, `[…]` (with `!` or `^` negation) and `**` (`**/x`, `x/**`, `a/**/b`); `\` escapes
// the next character; trailing spaces are dropped. A file in an ignored folder stays ignored, as in git (a negation
// cannot bring it back). Not covered: nested .gitignore files are read only when the caller passes them (the
// extension reads the root one of each workspace folder), `.git/info/exclude`, the global excludes file.

/** Folders the index never enters, whatever the settings say. */
export const ALWAYS_EXCLUDED = ['**/.git', '**/node_modules'];

interface Rule {
  regex: RegExp;
  negate: boolean;
  dirOnly: boolean;
}

/** The regex source of a glob piece: `*`, `?`, `**`, `[…]`, `{a,b}` (when `braces`), escapes; `/` separates. */
function globBody(glob: string, braces: boolean): string {
  let out = '';
  let braceDepth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\' && i + 1 < glob.length) {
      out += escapeRegex(glob[++i]);
    } else if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**`: any number of whole path segments when it stands alone between slashes, else like `*`.
        const before = i === 0 || glob[i - 1] === '/';
        let j = i;
        while (glob[j] === '*') j++;
        const after = j === glob.length || glob[j] === '/';
        if (before && after) {
          if (j === glob.length) {
            out += '.*';
          } else {
            out += '(?:.*/)?';
            j++; // the slash is part of the optional group
          }
          i = j - 1;
          continue;
        }
        i = j - 1;
      }
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      out += `[${negate ? '^' : ''}${body.replace(/\\/g, '\\\\').replace(/]/g, '\\]')}]`;
      i = end;
    } else if (braces && c === '{') {
      braceDepth++;
      out += '(?:';
    } else if (braces && c === '}' && braceDepth > 0) {
      braceDepth--;
      out += ')';
    } else if (braces && c === ',' && braceDepth > 0) {
      out += '|';
    } else {
      out += escapeRegex(c);
    }
  }
  return out + ')'.repeat(braceDepth);
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** One line of a .gitignore as a rule, or undefined for a blank line or a comment. `base`: the file's folder ('' for the root). */
export function parseGitignoreLine(line: string, base = ''): Rule | undefined {
  let p = line.replace(/\r$/, '');
  // Trailing spaces go unless escaped.
  p = p.replace(/(?<!\\)\s+$/, '');
  if (!p || p.startsWith('#')) return undefined;
  let negate = false;
  if (p.startsWith('!')) {
    negate = true;
    p = p.slice(1);
  } else if (p.startsWith('\\!') || p.startsWith('\\#')) {
    p = p.slice(1);
  }
  let dirOnly = false;
  if (p.endsWith('/') && !p.endsWith('\\/')) {
    dirOnly = true;
    p = p.slice(0, -1);
  }
  if (!p) return undefined;
  // A slash at the start or in the middle anchors the pattern to `base`; else it matches at any depth below it.
  const anchored = p.includes('/');
  if (p.startsWith('/')) p = p.slice(1);
  const prefix = base ? `${base.replace(/\/+$/, '').split('/').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('/')}/` : '';
  const body = globBody(p, false);
  const regex = new RegExp(`^${prefix}${anchored ? '' : '(?:.*/)?'}${body}$`);
  return { regex, negate, dirOnly };
}

/** The rules of a .gitignore's text, in order. */
export function parseGitignore(text: string, base = ''): Rule[] {
  return text.split('\n').map((l) => parseGitignoreLine(l, base)).filter((r): r is Rule => r !== undefined);
}

/**
 * A VS Code glob (a `files.exclude` key: `*`, `?`, `**`, `[…]`, `{a,b}`) as a regex over workspace-relative paths. As in VS
 * Code, a glob that matches a folder also leaves out what is in it (the caller checks each folder of the path).
 */
export function globToRegExp(glob: string): RegExp {
  const g = glob.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/+$/, '');
  return new RegExp(`^${globBody(g, true)}$`);
}

/**
 * The globs of a `files.exclude`-like setting that are on: `true` entries. Entries with a `when` clause (a sibling
 * file's condition) are left out: this index does not look at siblings.
 */
export function enabledGlobs(setting: Record<string, unknown> | undefined): string[] {
  return Object.entries(setting ?? {}).filter(([, v]) => v === true).map(([k]) => k);
}

/** The rules of one workspace folder: its .gitignore(s), the exclude globs, and ALWAYS_EXCLUDED. */
export class IgnoreRules {
  private readonly gitRules: Rule[] = [];
  private readonly globs: RegExp[];

  constructor(options: { gitignore?: string | { text: string; base: string }[]; excludeGlobs?: readonly string[] } = {}) {
    const gi = options.gitignore;
    if (typeof gi === 'string') this.gitRules.push(...parseGitignore(gi));
    // Deeper files last: their rules win over the root's, as in git.
    else if (gi) for (const f of [...gi].sort((a, b) => depth(a.base) - depth(b.base))) this.gitRules.push(...parseGitignore(f.text, f.base));
    this.globs = [...ALWAYS_EXCLUDED, ...(options.excludeGlobs ?? [])].map(globToRegExp);
  }

  /**
   * Whether the path (relative to the folder, with `/`) is left out: it, or one of the folders it is in, matches an
   * exclude glob, or git would ignore it. `isDir`: the path is a folder.
   */
  ignores(relPath: string, isDir = false): boolean {
    const parts = relPath.replace(/\\/g, '/').split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      const dir = i < parts.length || isDir;
      if (this.globs.some((g) => g.test(p)) || this.gitIgnores(p, dir)) return true;
    }
    return false;
  }

  /** The folder itself is left out (its contents need not be listed): the same test, for a walker that prunes. */
  ignoresOwn(relPath: string, isDir: boolean): boolean {
    return this.globs.some((g) => g.test(relPath)) || this.gitIgnores(relPath, isDir);
  }

  private gitIgnores(p: string, isDir: boolean): boolean {
    let ignored = false;
    for (const r of this.gitRules) {
      if (r.dirOnly && !isDir) continue;
      if (r.regex.test(p)) ignored = !r.negate;
    }
    return ignored;
  }
}

const depth = (base: string) => base.split('/').filter(Boolean).length;
