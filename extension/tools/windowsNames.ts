// File names that Windows does not treat as files: device names (CON, NUL, COM1, and the same with any extension,
// like AUX.txt) open a device instead, and a colon opens an alternate data stream (a.txt:secret, a.txt::$DATA),
// text the editor and the user never see. Refused on every platform: a workspace may be shared with Windows users,
// and such a name on Linux would break their checkout anyway. Pure: no I/O.

/** Device names, compared case-insensitively on the part before the first dot, trailing spaces dropped (as Windows does). */
const DEVICES = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$|clock\$)$/i;

/**
 * Why one path segment (a file or folder name) cannot be used, or undefined when it can. The message names the
 * segment and says what to do instead.
 */
export function windowsNameProblem(segment: string): string | undefined {
  if (segment.includes(':')) {
    return `"${segment}" contains ":", which on Windows names a hidden stream of a file (or a drive), not a file; it cannot be used. Use a plain file name.`;
  }
  const base = segment.split('.')[0].replace(/[ .]+$/, '');
  if (DEVICES.test(base)) {
    return `"${segment}" is a device name on Windows (${base.toUpperCase()}), not a file, even with an extension; it cannot be used. Pick another name.`;
  }
  return undefined;
}

/** The first problem among the segments of a `/`-separated relative path, or undefined. */
export function windowsPathProblem(relative: string): string | undefined {
  for (const segment of relative.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') continue;
    const problem = windowsNameProblem(segment);
    if (problem) return problem;
  }
  return undefined;
}
