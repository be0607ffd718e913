// The code an action works on: the selection grown to whole lines; without a selection, the innermost function,
// method or class around the cursor (from the language's document symbols); else the cursor's line.
import * as vscode from 'vscode';

const CODE_SYMBOLS = new Set([vscode.SymbolKind.Function, vscode.SymbolKind.Method, vscode.SymbolKind.Constructor, vscode.SymbolKind.Class]);

/** Whole lines from `range`'s first to its last (a range ending at a line's start does not include that line). */
export function wholeLines(document: vscode.TextDocument, range: vscode.Range): vscode.Range {
  const endLine = range.end.character === 0 && range.end.line > range.start.line ? range.end.line - 1 : range.end.line;
  return new vscode.Range(range.start.line, 0, endLine, document.lineAt(endLine).text.length);
}

export async function codeSymbols(document: vscode.TextDocument): Promise<vscode.DocumentSymbol[]> {
  const symbols = await vscode.commands.executeCommand<(vscode.DocumentSymbol | vscode.SymbolInformation)[] | undefined>(
    'vscode.executeDocumentSymbolProvider', document.uri).then(undefined, () => undefined);
  const out: vscode.DocumentSymbol[] = [];
  const walk = (list: vscode.DocumentSymbol[]) => {
    for (const s of list) {
      if (CODE_SYMBOLS.has(s.kind)) out.push(s);
      walk(s.children ?? []);
    }
  };
  walk((symbols ?? []).filter((s): s is vscode.DocumentSymbol => 'children' in s));
  return out;
}

export async function targetRange(editor: vscode.TextEditor): Promise<vscode.Range> {
  const doc = editor.document;
  if (!editor.selection.isEmpty) return wholeLines(doc, editor.selection);
  const cursor = editor.selection.active;
  const around = (await codeSymbols(doc)).filter((s) => s.range.contains(cursor))
    .sort((a, b) => (a.range.end.line - a.range.start.line) - (b.range.end.line - b.range.start.line))[0];
  return wholeLines(doc, around?.range ?? new vscode.Range(cursor.line, 0, cursor.line, 0));
}
