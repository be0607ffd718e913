// Finds and reads the prompt files (`.github/prompts/*.prompt.md`, promptFiles.ts parses them) in the workspace
// folders, keeps them until a watcher sees one change, and says when they did. Nothing is read in an untrusted
// workspace: a prompt file is text that steers the model.
import * as vscode from 'vscode';
import { WatchedWorkspaceFiles } from '../workspaceFileWatch';
import { MAX_PROMPT_FILE_BYTES, MAX_PROMPT_FILES, parsePromptFile, PROMPT_SUFFIX, PROMPTS_FOLDER, type PromptFile } from './promptFiles';

export class PromptFileReader implements vscode.Disposable {
  // The folders too: a file written at once into a new folder can come before the folder is watched.
  private readonly files = new WatchedWorkspaceFiles(`{**/*${PROMPT_SUFFIX},**/.github,**/.github/prompts}`, () => this.readAll());
  /** A prompt file (or the folders, or trust) changed. */
  readonly onDidChange = this.files.onDidChange;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** The prompt files of the workspace folders; none in an untrusted workspace. */
  async list(): Promise<PromptFile[]> {
    return vscode.workspace.isTrusted ? this.files.get() : [];
  }

  private async readAll(): Promise<PromptFile[]> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    const out: PromptFile[] = [];
    for (const folder of folders) {
      const dir = vscode.Uri.joinPath(folder.uri, PROMPTS_FOLDER);
      let names: string[];
      try {
        names = (await vscode.workspace.fs.readDirectory(dir)).filter(([n, t]) => t === vscode.FileType.File && n.endsWith(PROMPT_SUFFIX)).map(([n]) => n).sort();
      } catch {
        continue; // no such folder: the usual case
      }
      const prefix = folders.length > 1 ? `${folder.name}/` : '';
      for (const name of names) {
        if (out.length >= MAX_PROMPT_FILES) break;
        const path = `${prefix}${PROMPTS_FOLDER}/${name}`;
        try {
          const uri = vscode.Uri.joinPath(dir, name);
          if ((await vscode.workspace.fs.stat(uri)).size > MAX_PROMPT_FILE_BYTES) {
            this.log.warn(`Chat: prompt file ${path} is larger than ${MAX_PROMPT_FILE_BYTES / 1024} KB; left out.`);
            continue;
          }
          const file = parsePromptFile(name, path, new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)));
          if (file) out.push(file);
          else this.log.warn(`Chat: prompt file ${path} has a name a command cannot have; left out.`);
        } catch (e) {
          this.log.warn(`Chat: could not read prompt file ${path}: ${(e as Error).message}`);
        }
      }
    }
    if (out.length) this.log.info(`Chat: prompt files: ${out.map((f) => f.path).join(', ')}.`);
    return out;
  }

  dispose(): void {
    this.files.dispose();
  }
}
