// Finds and reads the project instruction files (projectInstructions.ts says which) in the workspace folders, keeps
// them until a watcher sees one change, and hands each feature the instructions for the file at hand. Nothing is read
// in an untrusted workspace (the files would steer the model) or with phiLocal.instructions.enabled off.
import * as vscode from 'vscode';
import { WatchedWorkspaceFiles } from '../workspaceFileWatch';
import { readInstructionsEnabled } from '../config';
import {
  buildInstructions, describeInstructions, INSTRUCTION_PATHS, INSTRUCTIONS_FOLDER, SCOPED_SUFFIX,
  type InstructionFile, type InstructionsResult,
} from './projectInstructions';

const EMPTY: InstructionsResult = { text: '', used: [], cut: [] };

export class InstructionsReader implements vscode.Disposable {
  // Broad on purpose: a false alarm only means one more read of a few small files. The folders too: a file written
  // at once into a new folder can come before the folder is watched, and only the folder's event comes.
  private readonly files = new WatchedWorkspaceFiles(
    '{**/AGENTS.md,**/copilot-instructions.md,**/*.instructions.md,**/instructions.md,**/.phi,**/.github,**/instructions}',
    () => this.readAll());
  /** The instruction files (or the setting, or trust) changed. */
  readonly onDidChange = this.files.onDidChange;
  private readonly setting = vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration('phiLocal.instructions')) this.files.reset();
  });

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /**
   * The instructions for a turn about a file (a uri, or a workspace-relative path; undefined: no file at hand); empty
   * when off or untrusted.
   */
  async forFile(file: vscode.Uri | string | undefined): Promise<InstructionsResult> {
    if (!readInstructionsEnabled() || !vscode.workspace.isTrusted) return EMPTY;
    const files = await this.files.get();
    const path = typeof file === 'string' ? file : file && vscode.workspace.asRelativePath(file, false);
    return buildInstructions(files, path?.replace(/\\/g, '/'));
  }

  /** As forFile, and logs which files a `feature`'s turn got. */
  async forTurn(feature: string, file: vscode.Uri | string | undefined): Promise<InstructionsResult> {
    const r = await this.forFile(file);
    if (r.used.length || r.cut.length) this.log.info(`${feature}: ${describeInstructions(r)}`);
    return r;
  }

  private async readAll(): Promise<InstructionFile[]> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    const out: InstructionFile[] = [];
    for (const folder of folders) {
      // With several folders the same path can be in each: name the folder too.
      const prefix = folders.length > 1 ? `${folder.name}/` : '';
      const scoped = await this.list(vscode.Uri.joinPath(folder.uri, INSTRUCTIONS_FOLDER));
      const paths = [...INSTRUCTION_PATHS, ...scoped.filter((n) => n.endsWith(SCOPED_SUFFIX)).sort().map((n) => `${INSTRUCTIONS_FOLDER}/${n}`)];
      for (const p of paths) {
        const text = await this.read(vscode.Uri.joinPath(folder.uri, p));
        if (text !== undefined) out.push({ path: prefix + p, text });
      }
    }
    return out;
  }

  private async list(dir: vscode.Uri): Promise<string[]> {
    try {
      return (await vscode.workspace.fs.readDirectory(dir)).filter(([, type]) => type === vscode.FileType.File).map(([name]) => name);
    } catch {
      return []; // no such folder: the usual case
    }
  }

  private async read(uri: vscode.Uri): Promise<string | undefined> {
    try {
      return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch {
      return undefined; // no such file
    }
  }

  dispose(): void {
    this.setting.dispose();
    this.files.dispose();
  }
}

/**
 * The one reader, set by main.ts: Explain and the refactors are built in inline/editorFeatures.ts, which would
 * otherwise have to pass it through. Undefined before activation (and in tests): no instructions.
 */
let shared: InstructionsReader | undefined;

export function setInstructionsReader(reader: InstructionsReader | undefined): void {
  shared = reader;
}

export function instructionsFor(feature: string, file: vscode.Uri | string | undefined): Promise<InstructionsResult> {
  return shared ? shared.forTurn(feature, file) : Promise.resolve(EMPTY);
}
