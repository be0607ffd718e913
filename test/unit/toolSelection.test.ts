// VS Code's Chat sending more tool definitions than Phi-4-mini's context holds (extension/lm/toolSelection.ts): the
// most relevant ones offered within the room, the rest named, never a refusal for tools alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_OFFERED, estimateToolTokens, selectTools, words } from '../../extension/lm/toolSelection';
import type { ToolDefinition } from '../../sidecar/protocol';

const tool = (name: string, description: string): ToolDefinition => ({
  name, description, parameters: { type: 'object', properties: { input: { type: 'string', description: 'What to act on.' } } },
});

/** About 40 tools, as VS Code's Agent mode sends, with a few whose words match the requests below. */
const TOOLS: ToolDefinition[] = [
  tool('run_in_terminal', 'Run a shell command in a terminal and return its output.'),
  tool('read_file', 'Read the contents of a file in the workspace.'),
  tool('create_file', 'Create a new file with the given content.'),
  tool('get_errors', 'Get compile and lint errors (diagnostics) of files.'),
  tool('fetch_webpage', 'Fetch the main content of a web page from a URL.'),
  tool('githubRepo', 'Search a GitHub repository for code snippets.'),
  tool('run_tests', 'Run unit tests and report failures.'),
  ...Array.from({ length: 33 }, (_, i) => tool(`extension_tool_${i}`, `Does task number ${i} for an extension: ${'lorem ipsum dolor '.repeat(8)}`)),
];

describe('tool selection for VS Code\'s Chat (pure)', () => {
  it('offers every tool, unchanged, when they fit', () => {
    const few = TOOLS.slice(0, 5);
    const s = selectTools(few, 'anything', 10_000);
    assert.deepEqual(s.offered, few);
    assert.deepEqual(s.left, []);
  });

  it('offers the tools the request is about, within the room, and names the ones left out', () => {
    const total = TOOLS.reduce((n, t) => n + estimateToolTokens(t), 0);
    const room = Math.floor(total / 5);
    const s = selectTools(TOOLS, 'The unit tests fail: run the tests and show me the errors', room);
    const names = s.offered.map((t) => t.name);
    assert.ok(names.includes('run_tests') && names.includes('get_errors'), names.join(', '));
    assert.ok(s.offered.reduce((n, t) => n + estimateToolTokens(t), 0) <= room, 'within the room');
    assert.ok(s.offered.length <= MAX_OFFERED);
    assert.equal(s.offered.length + s.left.length, TOOLS.length, 'every tool is offered or named');
    assert.ok(!s.left.includes('run_tests'));
    // The offered ones keep the request's order (the model sees them as VS Code listed them).
    assert.deepEqual(names, TOOLS.filter((t) => names.includes(t.name)).map((t) => t.name));
  });

  it('a request that matches nothing still gets tools, the first ones, up to the bound', () => {
    const total = TOOLS.reduce((n, t) => n + estimateToolTokens(t), 0);
    const s = selectTools(TOOLS, 'zzz qqq', total - 1);
    assert.equal(s.offered.length, MAX_OFFERED);
    assert.deepEqual(s.offered, TOOLS.slice(0, MAX_OFFERED));
  });

  it('splits camelCase, snake_case and kebab-case names into words', () => {
    assert.deepEqual(words('githubRepo run_in_terminal get-errors'), ['github', 'repo', 'run', 'terminal', 'get', 'error']);
    assert.deepEqual(words('files file class'), ['file', 'file', 'class'], 'plurals as their singular');
  });
});
