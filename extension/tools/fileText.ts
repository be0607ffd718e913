// A workspace file's text as the user sees it: the editor's (possibly unsaved) text when the file is open, else
// the file on disk, read through one checked descriptor (openInside.ts). Large and binary files are refused with a
// message, not read into the model's context.
import * as vscode from 'vscode';
import { readFileInside } from './openInside';
import { ToolError } from './toolTypes';
import { PathError, resolveWorkspacePath, type ResolvedPath, type WorkspaceRoot } from './workspacePaths';

/** Larger files are not read whole (read_file reads a line range of at most this much text). */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** resolveWorkspacePath, with its refusals as tool errors. */
export async function resolveForTool(input: string, roots: readonly WorkspaceRoot[]): Promise<ResolvedPath> {
  try {
    return await resolveWorkspacePath(input, roots);
  } catch (e) {
    if (e instanceof PathError) throw new ToolError(e.message);
    throw e;
  }
}

export function openDocument(resolved: ResolvedPath): vscode.TextDocument | undefined {
  const uri = vscode.Uri.file(resolved.absolute).toString();
  return vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
}

export async function readFileText(resolved: ResolvedPath): Promise<string> {
  const open = openDocument(resolved);
  if (open) return open.getText();
  let bytes: Buffer;
  try {
    bytes = await readFileInside(resolved, MAX_FILE_BYTES);
  } catch (e) {
    if (e instanceof PathError) throw new ToolError(e.message);
    throw e;
  }
  if (bytes.subarray(0, 8192).includes(0)) throw new ToolError(`${resolved.display} is a binary file, not text.`);
  return new TextDecoder('utf-8').decode(bytes);
}
