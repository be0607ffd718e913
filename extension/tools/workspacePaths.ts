// Where a path the model names may point: inside a workspace folder, and nowhere else. The model's output is
// untrusted, so every tool resolves its paths here first. Refused, with a message the model can act on:
// `..` that climbs out, absolute paths outside the workspace, `~`, and symbolic links whose real path leads
// outside (checked on the nearest existing ancestor for a file that does not exist yet; dangling links are followed
// by hand), and names Windows treats as devices or data streams (windowsNames.ts). Writing tools resolve again right
// before writing, since links can change while the user decides; reading tools read through openInside.ts, which
// checks what it opened, since links can change between this check and the read.
// Multi-root: a path starts in the first folder, or in another one when it begins with that folder's name.
// No vscode import: the unit tests run it on real folders and links.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { windowsPathProblem } from './windowsNames';

export interface WorkspaceRoot {
  /** The folder's name in the workspace (what `folderName/...` refers to). */
  name: string;
  fsPath: string;
}

export interface ResolvedPath {
  root: WorkspaceRoot;
  /** Absolute path as named (links not followed), inside root.fsPath. */
  absolute: string;
  /** Relative to the root, with `/`; '' for the root itself. */
  relative: string;
  /** How tools name it back to the model: relative, with the folder's name first in a multi-root workspace. */
  display: string;
  /** Whether something exists there. */
  exists: boolean;
  /** Where it really is, links followed (also through dangling links); inside the root's real path. */
  real: string;
}

/** A path the model may not use; the message says why and what to do instead. */
export class PathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PathError';
  }
}

const WINDOWS_ABSOLUTE = /^[A-Za-z]:[\\/]/;

export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** Links followed while resolving one path; more means a loop (the OS gives up at a similar depth). */
const MAX_LINKS = 40;

/**
 * The real path of `p`, or of its nearest existing ancestor with the rest appended (for files to be created).
 * A dangling symbolic link on the way is followed by hand (realpath cannot), so a link to a missing file outside
 * the workspace resolves to that outside place, not to the link's folder.
 */
async function realPathOrAncestor(p: string, linksFollowed = 0): Promise<{ real: string; exists: boolean }> {
  const rest: string[] = [];
  let current = p;
  for (;;) {
    try {
      const real = await fs.realpath(current);
      return { real: path.join(real, ...rest.reverse()), exists: rest.length === 0 };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw new PathError('The path goes through a loop of symbolic links; it cannot be used.');
      // ENOENT: not there yet; ENOTDIR: a file where a folder was expected. Either way, check the part that exists.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      const link = await fs.lstat(current).then((s) => s.isSymbolicLink(), () => false);
      if (link) {
        if (linksFollowed >= MAX_LINKS) throw new PathError('The path goes through a loop of symbolic links; it cannot be used.');
        const target = path.resolve(path.dirname(current), await fs.readlink(current));
        return realPathOrAncestor(path.join(target, ...rest.reverse()), linksFollowed + 1);
      }
      const parent = path.dirname(current);
      if (parent === current) return { real: p, exists: false };
      rest.push(path.basename(current));
      current = parent;
    }
  }
}

function displayPath(root: WorkspaceRoot, relative: string, roots: readonly WorkspaceRoot[]): string {
  if (roots.length > 1) return relative ? `${root.name}/${relative}` : `${root.name}/`;
  return relative || '.';
}

/** The root whose folder holds `absolute` (lexically), longest match first. */
function rootHolding(absolute: string, roots: readonly WorkspaceRoot[]): WorkspaceRoot | undefined {
  return [...roots].sort((a, b) => b.fsPath.length - a.fsPath.length).find((r) => isInside(path.resolve(r.fsPath), absolute));
}

/**
 * Resolves a path the model gave (relative to the workspace, or absolute inside it) to a place inside a workspace
 * folder, or throws a PathError. `input` '' or '.' is the first folder itself.
 */
export async function resolveWorkspacePath(input: string, roots: readonly WorkspaceRoot[]): Promise<ResolvedPath> {
  if (roots.length === 0) throw new PathError('No folder is open in the editor, so there are no files to work with.');
  if (typeof input !== 'string') throw new PathError('The path must be a string, like "src/app.ts".');
  if (input.includes('\0')) throw new PathError('The path contains a NUL character.');
  const raw = input.trim();
  if (raw.startsWith('~')) {
    throw new PathError(`"${input}" points into a home folder; only files inside the workspace can be used. Use a path relative to the workspace, like "src/app.ts".`);
  }

  let root: WorkspaceRoot;
  let absolute: string;
  if (path.isAbsolute(raw) || WINDOWS_ABSOLUTE.test(raw)) {
    const normal = path.resolve(raw);
    const holder = rootHolding(normal, roots);
    if (!holder) {
      throw new PathError(`"${input}" is outside the workspace; only files inside it can be used. Use a path relative to the workspace folder, like "src/app.ts".`);
    }
    root = holder;
    absolute = normal;
  } else {
    // Model paths may use either slash; `./` and trailing slashes mean nothing here.
    const parts = raw.replace(/\\/g, '/').split('/').filter((s) => s !== '' && s !== '.');
    root = roots[0];
    if (roots.length > 1 && parts.length > 0) {
      const named = roots.find((r) => r.name === parts[0]);
      if (named) {
        root = named;
        parts.shift();
      }
    }
    const relative = path.posix.normalize(parts.join('/') || '.');
    if (relative === '..' || relative.startsWith('../')) {
      throw new PathError(`"${input}" leads outside the workspace folder; only files inside it can be used.`);
    }
    absolute = path.resolve(root.fsPath, relative);
  }

  const rootAbsolute = path.resolve(root.fsPath);
  if (!isInside(rootAbsolute, absolute)) {
    throw new PathError(`"${input}" leads outside the workspace folder; only files inside it can be used.`);
  }
  const relative = path.relative(rootAbsolute, absolute).split(path.sep).join('/');
  const badName = windowsPathProblem(relative);
  if (badName) throw new PathError(badName);
  const rootReal = (await realPathOrAncestor(rootAbsolute)).real;
  const { real, exists } = await realPathOrAncestor(absolute);
  if (!isInside(rootReal, real)) {
    // The target is not named: it is outside, and none of the model's business.
    throw new PathError(`"${input}" is (or is inside) a symbolic link that leads outside the workspace; it cannot be used.`);
  }
  return { root, absolute, relative, display: displayPath(root, relative, roots), exists, real };
}

/** How a file inside the workspace is named to the model (the same form resolveWorkspacePath accepts). */
export function displayFor(absolute: string, roots: readonly WorkspaceRoot[]): string | undefined {
  const root = rootHolding(path.resolve(absolute), roots);
  if (!root) return undefined;
  const relative = path.relative(path.resolve(root.fsPath), path.resolve(absolute)).split(path.sep).join('/');
  return displayPath(root, relative, roots);
}
