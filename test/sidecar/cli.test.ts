// The phi-local command, as built (dist/cli.js), against the generated tiny model.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { ensureModel } from '../fixtures/models';

const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');

function phiLocal(args: string[], input?: string) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', input, timeout: 120_000 });
}

describe('phi-local CLI (tiny model)', () => {
  let model: string;
  before(() => {
    assert.ok(fs.existsSync(cli), 'dist/cli.js is built (npm run build)');
    model = ensureModel('tiny');
  });

  it('chat answers a prompt, streaming text to stdout and the speed to stderr', () => {
    const r = phiLocal(['chat', '--model', model, '--ep', 'cpu', '--threads', '2', '--max-tokens', '12', 'Hello!']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.trim().length > 0, 'some text was printed');
    assert.match(r.stderr, /Loaded in [\d.]+ s on cpu \(native\), context 8192/);
    assert.match(r.stderr, /\d+ tokens · [\d.]+ tok\/s · first token \d+ ms · prefill \d+ tokens at [\d.]+ tok\/s/);
  });

  it('chat --json gives the tokens, and greedy gives the same answer twice', () => {
    const run = () => JSON.parse(phiLocal(['chat', '--model', model, '--ep', 'cpu', '--max-tokens', '8', '--json', 'Hi']).stdout);
    const a = run();
    assert.ok(a.tokenIds.length > 0 && a.tokenIds.length <= 8);
    assert.deepEqual(run().tokenIds, a.tokenIds);
  });

  it('chat is interactive without a prompt: turns reuse the cache, /exit quits', () => {
    const r = phiLocal(['chat', '--model', model, '--ep', 'cpu', '--max-tokens', '6', '--temperature', '0'], 'first question\nsecond question\n/exit\n');
    assert.equal(r.status, 0, r.stderr);
    const speeds = r.stderr.split('\n').filter((l) => / tok\/s · first token /.test(l));
    assert.equal(speeds.length, 2, r.stderr);
    const reused = Number(/\((\d+) reused\)/.exec(speeds[1])![1]);
    assert.ok(reused > 5, `the second turn reused ${reused} tokens`);
  });

  it('prompt prints the exact prompt text and token ids for a conversation file', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'phi-cli-')), 'conversation.json');
    fs.writeFileSync(file, JSON.stringify({
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is 2+2?' }],
      tools: [{ name: 'add', description: 'Adds two numbers.', parameters: { type: 'object', properties: { a: { type: 'number' } } } }],
    }));
    const r = phiLocal(['prompt', '--model', model, '--json', file]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.text, '<|system|>Be brief.<|tool|>[{"name": "add", "description": "Adds two numbers.", "parameters": ' +
      '{"type": "object", "properties": {"a": {"type": "number"}}}}]<|/tool|><|end|><|user|>What is 2+2?<|end|><|assistant|>');
    assert.equal(out.ids[0], 200022);
    assert.equal(out.ids[out.ids.length - 1], 200019);
    assert.equal(out.tokens, out.ids.length);
  });

  it('a broken model folder or a bad file gets a clear message and exit code 2', () => {
    const missing = phiLocal(['chat', '--model', '/nonexistent', 'hi']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /phi-local: The model folder \/nonexistent does not exist/);
    const noModel = phiLocal(['chat', 'hi']);
    assert.equal(noModel.status, 2);
    assert.match(noModel.stderr, /--model DIR is required/);
    const badFile = phiLocal(['prompt', '--model', model, '/nonexistent.json']);
    assert.equal(badFile.status, 2);
    assert.match(badFile.stderr, /is not a readable JSON file/);
  });
});
