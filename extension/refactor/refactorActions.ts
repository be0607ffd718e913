// The refactor actions and the prompt each one sends. Pure: no vscode (the unit tests and the runner share it).
import type { ChatMessage } from '../../sidecar/protocol';

export type RefactorId = 'document' | 'fix' | 'simplify' | 'addTypes' | 'generateTests' | 'custom';

export interface RefactorAction {
  id: RefactorId;
  /** As shown in the palette ("Phi: …") and on the lightbulb ("… with Phi"). */
  title: string;
  /** What the model is asked to do. */
  instruction: string;
  /** 'replace': the answer replaces the range (diff preview first); 'newFile': it opens as a new untitled file. */
  output: 'replace' | 'newFile';
}

export const REFACTOR_ACTIONS: readonly RefactorAction[] = [
  { id: 'document', title: 'Add Documentation', output: 'replace',
    instruction: 'Add documentation comments in the language\'s usual style (JSDoc, docstrings, …) to this code. Do not change the code itself.' },
  { id: 'fix', title: 'Fix Problems', output: 'replace',
    instruction: 'Fix the problems listed below in this code, changing as little as possible.' },
  { id: 'simplify', title: 'Simplify', output: 'replace',
    instruction: 'Simplify this code: make it shorter and clearer without changing what it does.' },
  { id: 'addTypes', title: 'Add Types', output: 'replace',
    instruction: 'Add type annotations to this code (parameters, return values, variables where it helps). Do not change what it does.' },
  { id: 'generateTests', title: 'Generate Tests', output: 'newFile',
    instruction: 'Write unit tests for this code with the test framework the language usually uses. Reply with a complete test file.' },
  { id: 'custom', title: 'Edit with Instructions…', output: 'replace', instruction: '' },
];

export function refactorAction(id: string): RefactorAction | undefined {
  return REFACTOR_ACTIONS.find((a) => a.id === id);
}

export interface RefactorContext {
  /** The file's workspace-relative path. */
  path: string;
  languageId: string;
  /** The code to change: whole lines. */
  code: string;
  /** Some lines before and after, for reference. */
  before: string;
  after: string;
  /** Problems in the range, "line N: message" (for 'fix'). */
  problems?: string[];
  /** The user's instruction (for 'custom'). */
  instruction?: string;
}

export const REFACTOR_SYSTEM_PROMPT =
  'You are Phi, a coding assistant that edits code in the user\'s editor. Reply with the changed code in one ' +
  'fenced code block, and nothing else: no explanation before or after it.';

/** The conversation that asks for the edit. */
export function refactorMessages(action: RefactorAction, c: RefactorContext): ChatMessage[] {
  const fence = '```';
  const instruction = action.id === 'custom' ? (c.instruction ?? '').trim() : action.instruction;
  const parts = [`File: ${c.path} (${c.languageId})`, '', instruction];
  if (action.id === 'fix') {
    parts.push('', c.problems?.length ? `Problems:\n${c.problems.map((p) => `- ${p}`).join('\n')}` : 'No problems were reported: fix any bugs you find.');
  }
  if (c.before.trim()) parts.push('', 'Code before it (for reference, do not repeat it):', `${fence}${c.languageId}`, c.before, fence);
  parts.push('', action.output === 'newFile' ? 'The code:' : 'The code to change:', `${fence}${c.languageId}`, c.code, fence);
  if (c.after.trim()) parts.push('', 'Code after it (for reference, do not repeat it):', `${fence}${c.languageId}`, c.after, fence);
  parts.push('', action.output === 'newFile'
    ? 'Reply with the whole test file in one code block.'
    : 'Reply with the changed code only, in one code block, with the same indentation. It replaces exactly the code to change.');
  return [{ role: 'system', content: REFACTOR_SYSTEM_PROMPT }, { role: 'user', content: parts.join('\n') }];
}
