// Each way a model folder can be broken gets its own error, naming the file and what is wrong with it.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineError } from '../../sidecar/engineError';
import { readModelFolder } from '../../sidecar/engine/modelFolder';
import { ensureModel } from '../fixtures/models';

describe('model folder validation', () => {
  let good: string;
  let scratch: string;
  let n = 0;

  before(() => {
    good = ensureModel('tiny');
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-folder-'));
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  /** A copy of the good folder (the big weights file linked, not copied) with one thing broken. */
  function broken(change: (dir: string) => void): string {
    const dir = path.join(scratch, `case-${n++}`);
    fs.mkdirSync(dir);
    for (const f of fs.readdirSync(good)) {
      if (f === 'model.onnx.data') fs.symlinkSync(path.join(good, f), path.join(dir, f));
      else fs.copyFileSync(path.join(good, f), path.join(dir, f));
    }
    change(dir);
    return dir;
  }
  const editJson = (dir: string, file: string, edit: (j: any) => void) => {
    const j = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    edit(j);
    fs.writeFileSync(path.join(dir, file), JSON.stringify(j));
  };

  function expectError(dir: string, file: string | undefined, message: RegExp): void {
    assert.throws(() => readModelFolder(dir), (e: unknown) => {
      assert.ok(e instanceof EngineError, `expected an EngineError, got ${e}`);
      assert.equal(e.code, 'model-folder');
      assert.equal(e.file, file);
      assert.match(e.message, message);
      return true;
    });
  }

  it('reads the good folder: everything from its files', () => {
    const f = readModelFolder(good);
    assert.equal(f.config.numLayers, 2);
    assert.equal(f.config.numKvHeads, 1);
    assert.equal(f.config.headSize, 64);
    assert.equal(f.config.vocabSize, 200064);
    assert.deepEqual(f.config.eosTokenIds, [200020, 199999]);
    assert.equal(f.config.kvType, 'float32');
    assert.equal(f.config.ropeSwitchLength, 4096);
    assert.equal(f.config.io.pastKeys[1], 'past_key_values.1.key');
    assert.equal(f.config.io.presentValues[0], 'present.0.value');
    assert.match(f.chatTemplate, /<\|assistant\|>/);
    assert.deepEqual(f.warnings, []);
  });

  it('a folder that does not exist', () => {
    expectError(path.join(scratch, 'nope'), undefined, /does not exist/);
  });
  it('genai_config.json missing', () => {
    expectError(broken((d) => fs.rmSync(path.join(d, 'genai_config.json'))), 'genai_config.json', /is missing/);
  });
  it('genai_config.json not JSON', () => {
    expectError(broken((d) => fs.writeFileSync(path.join(d, 'genai_config.json'), '{"model": ')), 'genai_config.json', /not valid JSON/);
  });
  it('genai_config.json without a head count', () => {
    const dir = broken((d) => editJson(d, 'genai_config.json', (j) => { delete j.model.decoder.num_key_value_heads; }));
    expectError(dir, 'genai_config.json', /has no `model.decoder.num_key_value_heads`/);
  });
  it('genai_config.json with an eos id outside the vocabulary', () => {
    const dir = broken((d) => editJson(d, 'genai_config.json', (j) => { j.model.eos_token_id = [200020, 300000]; }));
    expectError(dir, 'genai_config.json', /eos_token_id 300000, outside the vocabulary/);
  });
  it('genai_config.json whose KV head count disagrees with the graph', () => {
    const dir = broken((d) => editJson(d, 'genai_config.json', (j) => { j.model.decoder.num_key_value_heads = 2; }));
    expectError(dir, 'model.onnx', /KV input `past_key_values.0.key` has shape \[.*\], but genai_config.json says 2 KV heads/);
  });
  it('genai_config.json naming inputs the graph does not have', () => {
    const dir = broken((d) => editJson(d, 'genai_config.json', (j) => { j.model.decoder.inputs.past_key_names = 'past.%d.k'; }));
    expectError(dir, 'model.onnx', /has no input `past.0.k`, which genai_config.json names/);
  });
  it('model.onnx missing', () => {
    expectError(broken((d) => fs.rmSync(path.join(d, 'model.onnx'))), 'model.onnx', /is missing/);
  });
  it('model.onnx not an ONNX file', () => {
    const dir = broken((d) => fs.writeFileSync(path.join(d, 'model.onnx'), Buffer.from('<html>404 Not Found</html>')));
    expectError(dir, 'model.onnx', /is not a readable ONNX model/);
  });
  it('model.onnx.data missing', () => {
    expectError(broken((d) => fs.rmSync(path.join(d, 'model.onnx.data'))), 'model.onnx.data', /is missing/);
  });
  it('model.onnx.data truncated (an interrupted download)', () => {
    const dir = broken((d) => {
      const file = path.join(d, 'model.onnx.data');
      const size = fs.statSync(file).size;
      fs.rmSync(file);
      const fd = fs.openSync(file, 'w');
      fs.ftruncateSync(fd, Math.floor(size / 2));
      fs.closeSync(fd);
    });
    expectError(dir, 'model.onnx.data', /is truncated: \d+ bytes, but model.onnx needs \d+/);
  });
  it('tokenizer.json missing', () => {
    expectError(broken((d) => fs.rmSync(path.join(d, 'tokenizer.json'))), 'tokenizer.json', /is missing/);
  });
  it('tokenizer.json broken', () => {
    const dir = broken((d) => fs.writeFileSync(path.join(d, 'tokenizer.json'), '{"version": "1.0", "model": {'));
    expectError(dir, 'tokenizer.json', /not valid JSON/);
  });
  it('tokenizer_config.json without a chat template', () => {
    const dir = broken((d) => editJson(d, 'tokenizer_config.json', (j) => { delete j.chat_template; }));
    expectError(dir, 'tokenizer_config.json', /has no `chat_template`/);
  });
  it('config.json missing is only a warning (the switch defaults to Phi-4-mini’s)', () => {
    const f = readModelFolder(broken((d) => fs.rmSync(path.join(d, 'config.json'))));
    assert.equal(f.config.ropeSwitchLength, 4096);
    assert.match(f.warnings.join('\n'), /config.json is missing/);
  });
});
