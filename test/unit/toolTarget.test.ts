// A step's one-line summary comes from the tool's schema (its first required string argument), so the webview
// needs no tool's argument names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toolTarget } from '../../extension/tools/toolTarget';

const schema = (required: string[], properties: Record<string, { type: string }>) => ({ parameters: { type: 'object', properties, required } });

describe('tool step target', () => {
  it('is the first required string argument', () => {
    const applyEdit = schema(['path', 'new_text'], { path: { type: 'string' }, new_text: { type: 'string' } });
    assert.equal(toolTarget(applyEdit, JSON.stringify({ path: 'src/app.py', new_text: 'x' })), 'src/app.py');
    assert.equal(toolTarget(schema(['query'], { query: { type: 'string' } }), '{"query":"TODO"}'), 'TODO');
    assert.equal(toolTarget(schema(['count', 'name'], { count: { type: 'integer' }, name: { type: 'string' } }), '{"count":1,"name":"n"}'), 'n');
  });

  it('is nothing for an unknown tool, a schema without one, or arguments that are not JSON', () => {
    assert.equal(toolTarget(undefined, '{"path":"a"}'), undefined);
    assert.equal(toolTarget(schema([], { path: { type: 'string' } }), '{"path":"a"}'), undefined);
    assert.equal(toolTarget(schema(['path'], { path: { type: 'string' } }), 'functools[{"name": "read_file"'), undefined);
    assert.equal(toolTarget(schema(['path'], { path: { type: 'string' } }), 'null'), undefined);
    assert.equal(toolTarget(schema(['path'], { path: { type: 'string' } }), '{"path":3}'), undefined);
  });
});
