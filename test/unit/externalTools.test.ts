// VS Code's tools (other extensions', MCP servers') in the chat, the parts without vscode: the read-only rule, which
// tools are listed (Phi Local's own left out), what is on by default, a definition as the model gets it (and as the
// sidecar bounds it), a tool result's parts as text, the external consent card, and the per-conversation memory.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consentCard } from '../../extension/tools/consentCard';
import {
  budgetNote, chosenTools, costLabel, defaultChoice, DESCRIPTION_MAX_CHARS, estimateTokens, isOwnTool, isReadOnlyTool, listableTools,
  resultToText, toolDefinitionOf, type ExternalToolInfo,
} from '../../extension/tools/externalTools';
import { TOOL_CHOICES_KEY, ToolChoices, type ChoiceMemento } from '../../extension/tools/toolChoices';
import { toolSchemaBeyondBounds } from '../../sidecar/toolCalls/toolSchemaBounds';

const tool = (name: string, tags: string[] = [], description = `The ${name} tool.`, inputSchema?: object): ExternalToolInfo => ({ name, description, tags, inputSchema });
const WORKSPACE = new Set(['read_file', 'apply_edit']);

describe('external tools: the read-only rule', () => {
  it('a tag that reads "readonly" whatever its case and separators, alone or as a suffix, makes a tool read-only', () => {
    for (const tag of ['readonly', 'read-only', 'read_only', 'ReadOnly', 'READ ONLY', 'mcp_readonly', 'vscode_readOnly']) {
      assert.equal(isReadOnlyTool(tool('t', [tag])), true, tag);
    }
  });

  it('no such tag (or one that only contains the words elsewhere) is not read-only: such tools ask first', () => {
    for (const tags of [[], ['vscode_editing'], ['readonlyish'], ['read'], ['only'], ['mcp', 'search']]) {
      assert.equal(isReadOnlyTool(tool('t', tags)), false, JSON.stringify(tags));
    }
    // Not the name, not the description.
    assert.equal(isReadOnlyTool({ tags: [] }), false);
    assert.equal(isReadOnlyTool(tool('readonly_lookup', [], 'A read-only lookup.')), false);
  });
});

describe('external tools: which are listed and which are on by default', () => {
  it('leaves out Phi Local\'s own tools, VS Code\'s internal ones and names listed twice', () => {
    assert.equal(isOwnTool('read_file', WORKSPACE), true);
    assert.equal(isOwnTool('phiLocal_search', WORKSPACE), true);
    assert.equal(isOwnTool('phi-local.ask', WORKSPACE), true);
    assert.equal(isOwnTool('github_search', WORKSPACE), false);
    const listed = listableTools([tool('read_file'), tool('weather', ['readonly']), tool('phiLocal_x'), tool('weather', []), tool('deploy'), tool(''), tool('vscode_editFile_internal')], WORKSPACE);
    assert.deepEqual(listed.map((t) => t.name), ['weather', 'deploy']);
    assert.deepEqual(listed[0].tags, ['readonly'], 'the first of a name is kept');
  });

  it('by default only read-only tools are on, in order, within the token budget', () => {
    const tools = [tool('a', ['readonly']), tool('write', []), tool('b', ['read-only']), tool('big', ['readonly'], 'x'.repeat(900)), tool('c', ['readonly'])];
    assert.deepEqual(defaultChoice(tools), ['a', 'b', 'big', 'c']);
    const small = estimateTokens(toolDefinitionOf(tools[0]));
    // A budget that holds the small ones but not the big one: the big one is skipped, the ones after it still fit.
    assert.deepEqual(defaultChoice(tools, small * 3 + 1), ['a', 'b', 'c']);
    assert.deepEqual(defaultChoice(tools, 0), []);
  });

  it('a conversation\'s choice wins over the default, in list order, and only names listed now', () => {
    const tools = [tool('a', ['readonly']), tool('write'), tool('b', ['readonly'])];
    assert.deepEqual(chosenTools(tools, undefined).map((t) => t.name), ['a', 'b']);
    assert.deepEqual(chosenTools(tools, ['write', 'gone']).map((t) => t.name), ['write']);
    assert.deepEqual(chosenTools(tools, ['b', 'write']).map((t) => t.name), ['write', 'b']);
    assert.deepEqual(chosenTools(tools, []), [], 'an empty choice is none, not the default');
  });
});

describe('external tools: the definition the model gets', () => {
  it('name, description and inputSchema as the parameters; an object schema when the tool has none', () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    assert.deepEqual(toolDefinitionOf(tool('weather', [], 'Weather for a city.', schema)), { name: 'weather', description: 'Weather for a city.', parameters: schema });
    assert.deepEqual(toolDefinitionOf(tool('ping')).parameters, { type: 'object', properties: {} });
  });

  it('a long description is cut to the bound, with a mark', () => {
    const d = toolDefinitionOf(tool('t', [], 'word '.repeat(1000))).description;
    assert.ok(d.length <= DESCRIPTION_MAX_CHARS, `${d.length}`);
    assert.ok(d.endsWith('…'));
  });

  it('its schema goes through the sidecar\'s schema bounds like ours: a deep one is past them, a usual one is not', () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 40; i++) deep = { type: 'object', properties: { x: deep }, required: ['x'] };
    assert.match(toolSchemaBeyondBounds(toolDefinitionOf(tool('deep', [], 'd', deep)).parameters) ?? '', /\w/);
    assert.equal(toolSchemaBeyondBounds(toolDefinitionOf(tool('ok', [], 'd', { type: 'object', properties: { q: { type: 'string' } } })).parameters), undefined);
  });

  it('costs: an estimate grows with the definition and says it is one; the total warns past a quarter of the context', () => {
    assert.ok(estimateTokens(toolDefinitionOf(tool('t', [], 'x'.repeat(300)))) > estimateTokens(toolDefinitionOf(tool('t', [], 'x'))));
    assert.equal(costLabel(42, false), '42 tokens');
    assert.equal(costLabel(42, true), '≈42 tokens (estimated)');
    assert.match(budgetNote(100, 4096), /^100 tokens of the model's 4096-token context per turn \(2%\)$/);
    assert.match(budgetNote(1500, 4096), /too many/);
    assert.equal(budgetNote(10, undefined), '10 tokens of tool definitions per turn');
  });
});

describe('external tools: a result as the model reads it', () => {
  class LanguageModelTextPart { constructor(readonly value: string) {} }
  class LanguageModelPromptTsxPart { constructor(readonly value: unknown) {} }
  class LanguageModelDataPart { constructor(readonly data: Uint8Array, readonly mimeType: string) {} }
  class SomethingNew { readonly x = 1; }

  it('text parts as they are, one per line; other parts summarised', () => {
    const text = resultToText([
      new LanguageModelTextPart('Sunny, 21 °C.'),
      new LanguageModelPromptTsxPart({ node: 1 }),
      new LanguageModelDataPart(new TextEncoder().encode('{"ok":true}'), 'application/json'),
      new LanguageModelDataPart(new Uint8Array(10), 'image/png'),
      new SomethingNew(),
      new LanguageModelTextPart('Wind 3 m/s.'),
    ]);
    assert.equal(text, [
      'Sunny, 21 °C.',
      '[a prompt-tsx part, not shown]',
      '{"ok":true}',
      '[image/png data, 10 bytes, not shown]',
      '[a SomethingNew that is not text, not shown]',
      'Wind 3 m/s.',
    ].join('\n'));
  });

  it('nothing (or only empty text) says so', () => {
    assert.equal(resultToText([]), '(The tool returned nothing.)');
    assert.equal(resultToText(undefined), '(The tool returned nothing.)');
    assert.equal(resultToText([new LanguageModelTextPart('')]), '(The tool returned nothing.)');
  });
});

describe('external tools: the consent card of a call that is not read-only', () => {
  it('names the tool and shows its arguments verbatim; the usual three answers', () => {
    const card = consentCard({ kind: 'external', tool: 'deploy_site', input: '{\n  "env": "prod"\n}' });
    assert.equal(card.kind, 'external');
    assert.equal(card.title, 'Call deploy_site');
    assert.equal(card.code, '{\n  "env": "prod"\n}');
    assert.match(card.detail, /deploy_site.*another extension or an MCP server/);
    assert.equal(card.showDiff, false);
    assert.deepEqual(card.choices.map((c) => [c.choice, c.label]), [['once', 'Allow once'], ['chat', 'Allow for this chat'], ['deny', 'Deny']]);
    assert.match(card.choices[1].hint, /deploy_site in this conversation/);
  });
});

describe('external tools: the choice per conversation', () => {
  function memento(initial: Record<string, unknown> = {}): ChoiceMemento & { values: Record<string, unknown> } {
    const values = { ...initial };
    return { values, get: <T>(k: string) => values[k] as T | undefined, update: async (k, v) => { values[k] = v; } };
  }

  it('remembers a choice per conversation, read back by a new instance (a reload)', async () => {
    const m = memento();
    const live = new Set(['c1', 'c2']);
    const choices = new ToolChoices(m, (id) => live.has(id));
    assert.equal(choices.get('c1'), undefined, 'no choice: the default applies');
    await choices.set('c1', ['weather']);
    await choices.set('c2', []);
    assert.deepEqual(choices.get('c1'), ['weather']);
    const reloaded = new ToolChoices(m, (id) => live.has(id));
    assert.deepEqual(reloaded.get('c1'), ['weather']);
    assert.deepEqual(reloaded.get('c2'), [], 'an empty choice is kept as made');
  });

  it('a new chat\'s choice waits for its first message\'s conversation; New Chat starts from the default', async () => {
    const m = memento();
    const choices = new ToolChoices(m, () => true);
    await choices.set(undefined, ['deploy']);
    assert.deepEqual(choices.get(undefined), ['deploy']);
    await choices.adopt('new-id');
    assert.deepEqual(choices.get('new-id'), ['deploy']);
    assert.equal(choices.get(undefined), undefined);
    await choices.set(undefined, ['x']);
    choices.clearPending();
    assert.equal(choices.get(undefined), undefined);
    await choices.adopt('other');
    assert.equal(choices.get('other'), undefined, 'nothing pending: nothing adopted');
  });

  it('drops the choices of deleted conversations on the next write, and ignores a malformed saved value', async () => {
    const m = memento({ [TOOL_CHOICES_KEY]: { gone: ['a'], kept: ['b'] } });
    const choices = new ToolChoices(m, (id) => id !== 'gone');
    await choices.set('new', ['c']);
    assert.deepEqual(m.values[TOOL_CHOICES_KEY], { kept: ['b'], new: ['c'] });
    assert.equal(new ToolChoices(memento({ [TOOL_CHOICES_KEY]: ['not', 'a', 'map'] }), () => true).get('x'), undefined);
  });
});
