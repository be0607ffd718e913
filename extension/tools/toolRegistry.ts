// The workspace tools the model is offered, in the order it sees them. Reading tools first; the two writing tools
// (which ask the user) last. A tool that must ask calls context.confirm with a ConsentRequest of its kind ('edit',
// 'command', 'read'; toolTypes.ts): the card follows from the kind, so adding a tool is one file plus a line here.
import { applyEdit } from './applyEdit';
import { createFile } from './createFile';
import { findFiles } from './findFiles';
import { getActiveEditor, type ActiveEditorSource } from './getActiveEditor';
import { getDiagnostics } from './getDiagnostics';
import { listDirectory } from './listDirectory';
import type { ProposalDocuments } from '../proposalDocuments';
import { readFile } from './readFile';
import { searchText } from './searchText';
import type { Tool } from './toolTypes';

export function createTools(proposals: ProposalDocuments, activeEditor: ActiveEditorSource): Tool[] {
  return [
    readFile,
    listDirectory,
    searchText,
    findFiles,
    getDiagnostics,
    getActiveEditor(activeEditor),
    applyEdit(proposals),
    createFile(proposals),
  ];
}

/** Tools that still work with no folder open (the others all name workspace paths). */
export const WITHOUT_FOLDER = new Set(['get_active_editor']);
