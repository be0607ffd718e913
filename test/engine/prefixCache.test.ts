// Prompt heads on disk and KV slots, for real: the generated tiny model (EXACT_MODEL: fp32 kernels) on both backends
// (the native one and onnxruntime-node), ORT on the CPU with 2 threads, a PrefixStore in a temporary folder keyed as
// the worker keys it (sidecar/engine/worker.ts), the Generator of sidecar/engine/generate.ts. No doubles.
//
// What is checked: a head read back from disk gives bitwise the logits of a head computed in the generator's own
// chunks, and the same greedy answer; a corrupted, stale or truncated file is reported, never used, and written anew;
// a request reuses exactly the prefix it shares with the best slot (never another conversation's tokens) and answers
// as a fresh generator does, also under a tiny memory budget; and the native backend's slot operations copy exactly
// and give their memory back.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { prefixCacheFolder } from '../../common/prefixCachePath';
import type { Backend } from '../../sidecar/engine/backend';
import { createBackend, type BackendChoice } from '../../sidecar/engine/backendChoice';
import { Generator, MIN_STORED_HEAD, type GenerateRequest, type GeneratorOptions } from '../../sidecar/engine/generate';
import { commonPrefixLength } from '../../sidecar/engine/kvSlots';
import { readModelFolder, type ModelFolder } from '../../sidecar/engine/modelFolder';
import { NativeBuffer } from '../../sidecar/engine/native/nativeMemory';
import { PrefixStore, modelFingerprint, type PrefixIdentity } from '../../sidecar/engine/prefixStore';
import { PromptBuilder } from '../../sidecar/prompt/promptBuilder';
import type { ChatMessage, ToolDefinition } from '../../sidecar/prompt/template';
import { EXACT_MODEL, ensureModel } from '../fixtures/models';
import { maxAbsDiff, randomTokens } from './helpers';

const notCancelled = { aborted: false };
const THREADS = 2;
/** The generator's default prefill chunk (generate.ts): the head is fed in chunks of this size from position 0. */
const PREFILL_CHUNK = 256;

const SYSTEM = 'You are Phi Local, a careful coding assistant inside VS Code. Answer briefly and cite file paths.';
const TOOLS: ToolDefinition[] = [
  { name: 'read_file', description: 'Reads a file of the workspace.', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } },
  { name: 'search', description: 'Searches the workspace for text.', parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } },
];
const conversation = (user: string): ChatMessage[] => [{ role: 'system', content: SYSTEM }, { role: 'user', content: user }];
/** Greedy (the default sampling), past eos, no tool call can start: one exact answer per prompt. */
const ask = (user: string, extra: Partial<GenerateRequest> = {}): GenerateRequest =>
  ({ messages: conversation(user), tools: TOOLS, toolChoice: 'none', maxNewTokens: 12, stopOnEos: false, ...extra });

let folder: ModelFolder;
let prompts: PromptBuilder;
let tmpRoot: string;

before(() => {
  folder = readModelFolder(ensureModel('tiny', EXACT_MODEL));
  prompts = PromptBuilder.fromFolder(folder);
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-prefix-cache-test-'));
});
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** The head as the generator defines it: the common prefix of two renders that differ only in the first user message. */
function headTokens(): number[] {
  const a = prompts.render(conversation('a'), TOOLS).ids;
  const b = prompts.render(conversation('b'), TOOLS).ids;
  return a.slice(0, commonPrefixLength(a, b));
}

for (const kind of ['native', 'onnxruntime-node'] as const satisfies readonly BackendChoice[]) {
  describe(`prompt heads on disk and KV slots (tiny model, real ORT, ${kind} backend)`, () => {
    const backends: Backend[] = [];
    let caseNo = 0;

    async function newBackend(contextLength?: number): Promise<Backend> {
      const { backend } = await createBackend(folder, { backend: kind, executionProvider: 'cpu', threads: THREADS, ...(contextLength ? { contextLength } : {}) });
      assert.equal(backend.info.name, kind);
      backends.push(backend);
      return backend;
    }
    /** As worker.ts keys it. */
    function identityOf(backend: Backend): PrefixIdentity {
      return {
        model: modelFingerprint(folder.dir),
        backend: backend.info.name,
        executionProvider: backend.info.executionProvider,
        threads: THREADS,
        kvType: folder.config.kvType,
        bytesPerPosition: backend.bytesPerPosition,
      };
    }
    /** A store of its own (each case starts with an empty folder). */
    function newStore(backend: Backend, identity: Partial<PrefixIdentity> = {}): PrefixStore {
      const root = path.join(tmpRoot, `${kind}-${++caseNo}`);
      return new PrefixStore(prefixCacheFolder(root, folder.dir), { ...identityOf(backend), ...identity }, 1 << 30);
    }
    /** `logged`: the problems the generator reports (a head read back is reported too, in `reads`). */
    function generatorOn(backend: Backend, options: GeneratorOptions = {}): { generator: Generator; logged: string[]; reads: string[] } {
      const logged: string[] = [];
      const reads: string[] = [];
      const log = (m: string) => (/read from disk and checked in/.test(m) ? reads : logged).push(m);
      return { generator: new Generator(backend, prompts, folder.config, { log, ...options }), logged, reads };
    }
    function kvFiles(store: PrefixStore): string[] {
      return fs.existsSync(store.dir) ? fs.readdirSync(store.dir).filter((f) => f.endsWith('.kv')).map((f) => path.join(store.dir, f)) : [];
    }
    /** The answer of a generator that has nothing cached and no store (its slots emptied before each request). */
    let reference: Generator;
    let referenceBackend: Backend;
    async function freshAnswer(request: GenerateRequest): Promise<number[]> {
      reference.reset();
      const r = await reference.generate(request, notCancelled);
      assert.equal(r.usage.reusedTokens, 0);
      return r.tokenIds;
    }

    before(async () => {
      referenceBackend = await newBackend();
      reference = generatorOn(referenceBackend).generator;
    });
    after(async () => {
      for (const b of backends) await b.release();
    });

    it('the head is long enough to be stored', () => {
      assert.ok(headTokens().length >= MIN_STORED_HEAD, `head of ${headTokens().length} tokens`);
      assert.ok(headTokens().length < PREFILL_CHUNK, 'one prefill chunk: the reference below feeds it in one pass');
    });

    it('a head read back from disk gives exactly the logits of a head computed in the generator\'s chunks, and the same greedy answer', async () => {
      const head = headTokens();
      const request = ask('Where is the prompt cache written?');
      const prompt = prompts.render(request.messages, request.tools).ids;
      assert.deepEqual(prompt.slice(0, head.length), head);
      const expected = await freshAnswer(request);

      const store = newStore(referenceBackend);
      const a = generatorOn(await newBackend(), { prefixStore: store });
      const first = await a.generator.generate(request, notCancelled);
      await a.generator.settled();
      assert.equal(first.usage.diskTokens, undefined, 'nothing stored yet');
      assert.deepEqual(first.tokenIds, expected, 'with a store, before anything is stored: the fresh answer');
      assert.ok(store.has(head), 'the head was stored');
      assert.equal(kvFiles(store).length, 1);
      assert.deepEqual(a.logged, []);

      const b = generatorOn(await newBackend(), { prefixStore: store });
      const second = await b.generator.generate(request, notCancelled);
      assert.equal(second.usage.diskTokens, head.length);
      assert.equal(second.usage.reusedTokens, head.length);
      assert.deepEqual(second.tokenIds, expected, 'greedy answer with the head from disk = without the store');
      assert.deepEqual(b.logged, []);
      assert.equal(b.reads.length, 1, 'the read is logged with its size and times');
      assert.match(b.reads[0], new RegExp(`a ${head.length}-token prompt head`));

      // The logits, on the backends directly: the stored positions imported, then the rest of the prompt…
      const stored = store.load(head);
      assert.equal(stored.problem, undefined);
      assert.ok(stored.data);
      assert.equal(stored.data.byteLength, head.length * referenceBackend.bytesPerPosition);
      const fromDisk = await newBackend();
      fromDisk.importPositions(stored.data, head.length);
      assert.equal(fromDisk.cachedLength, head.length);
      const diskLogits = await fromDisk.forward(prompt.slice(head.length), { allPositions: true });
      // …against the head computed from nothing in the chunks generate.ts's prefill uses (of PREFILL_CHUNK from 0 up to
      // the head; then the rest).
      const computed = await newBackend();
      for (let i = 0; i < head.length; i += PREFILL_CHUNK) await computed.forward(head.slice(i, Math.min(head.length, i + PREFILL_CHUNK)));
      assert.deepEqual(computed.exportPositions(head.length), stored.data, 'the stored keys and values are the computed ones, bit for bit');
      const computedLogits = await computed.forward(prompt.slice(head.length), { allPositions: true });
      assert.equal(maxAbsDiff(diskLogits, computedLogits), 0);
      assert.deepEqual(diskLogits, computedLogits);
      // And the comparison means something: a head whose first key row (layer 0, position 0) is off by 0.5 gives other logits.
      const disturbed = new Uint8Array(stored.data); // a copy, aligned
      assert.equal(folder.config.kvType, 'float32');
      const firstKeys = new Float32Array(disturbed.buffer, 0, folder.config.headSize);
      for (let i = 0; i < firstKeys.length; i++) firstKeys[i] += 0.5;
      const wrong = await newBackend();
      wrong.importPositions(disturbed, head.length);
      const wrongLogits = await wrong.forward(prompt.slice(head.length), { allPositions: true });
      assert.ok(wrongLogits.every(Number.isFinite));
      assert.ok(maxAbsDiff(wrongLogits, computedLogits) > 0);
    });

    it('warm() computes a head ahead of need and stores it; later it is found in memory, or read from disk', async () => {
      const head = headTokens();
      const request = ask('Warm me up.');
      const expected = await freshAnswer(request);
      const store = newStore(referenceBackend);
      const cancelled = generatorOn(await newBackend(), { prefixStore: store });
      assert.equal(await cancelled.generator.warm(request, { aborted: true }), 'cancelled');
      await cancelled.generator.settled();
      assert.equal(store.has(head), false, 'a cancelled warm-up stores nothing');

      const w = generatorOn(await newBackend(), { prefixStore: store });
      assert.equal(await w.generator.warm(request, notCancelled), 'computed');
      await w.generator.settled();
      assert.ok(store.has(head));
      assert.equal(await w.generator.warm(request, notCancelled), 'memory');
      const inMemory = await w.generator.generate(request, notCancelled);
      assert.equal(inMemory.usage.reusedTokens, head.length);
      assert.equal(inMemory.usage.diskTokens, undefined, 'reused from the slot, not read again');
      assert.deepEqual(inMemory.tokenIds, expected);

      const d = generatorOn(await newBackend(), { prefixStore: store });
      assert.equal(await d.generator.warm(request, notCancelled), 'disk');
      const afterDisk = await d.generator.generate(request, notCancelled);
      assert.equal(afterDisk.usage.reusedTokens, head.length);
      assert.deepEqual(afterDisk.tokenIds, expected);
      const direct = generatorOn(await newBackend(), { prefixStore: store });
      const fromDisk = await direct.generator.generate(request, notCancelled);
      assert.equal(fromDisk.usage.diskTokens, head.length);
      assert.deepEqual(fromDisk.tokenIds, expected);
      assert.deepEqual([...cancelled.logged, ...w.logged, ...d.logged, ...direct.logged], []);
      // What warm() stored is what a request computes, bit for bit.
      const computed = await newBackend();
      await computed.forward(head);
      assert.deepEqual(store.load(head).data, computed.exportPositions(head.length));
    });

    it('the prefill speed comes from a warm-up\'s 64-token pass when one ran; else measurePrefill times a pass of its own', async () => {
      // Counts the backend's forward passes (a spy on the real backend: the passes still run).
      const counted = async () => {
        const backend = await newBackend();
        const forward = backend.forward.bind(backend);
        const calls = { n: 0 };
        backend.forward = (...args: Parameters<Backend['forward']>) => { calls.n++; return forward(...args); };
        return { backend, calls };
      };
      // A head of two full 64-token passes at least: the first is never timed (it may pay for the kernels' first run).
      const system = `${SYSTEM} ${SYSTEM} ${SYSTEM}`;
      const long = (user: string) => prompts.render([{ role: 'system', content: system }, { role: 'user', content: user }], TOOLS).ids;
      const head = commonPrefixLength(long('a'), long('b'));
      assert.ok(head >= 2 * 64 + 1, `head of ${head} tokens`);
      const warmed = await counted();
      const w = generatorOn(warmed.backend);
      const request = { ...ask('Warm me up.'), messages: [{ role: 'system', content: system }, { role: 'user', content: 'Warm me up.' }] } as GenerateRequest;
      assert.equal(await w.generator.warm(request, notCancelled), 'computed');
      const afterWarm = warmed.calls.n;
      const speed = await w.generator.measurePrefill(notCancelled);
      assert.ok(speed !== undefined && speed > 0, `speed ${speed}`);
      assert.equal(warmed.calls.n, afterWarm, 'no pass of its own after the warm-up');

      const cold = await counted();
      const c = generatorOn(cold.backend);
      const measured = await c.generator.measurePrefill(notCancelled);
      assert.ok(measured !== undefined && measured > 0);
      assert.equal(cold.calls.n, 2, 'a short pass for the kernels, then the timed one');
      assert.equal(await c.generator.measurePrefill(notCancelled), measured, 'measured once');
      assert.equal(cold.calls.n, 2);
      // A request that wants the model before the timed pass stops it.
      const stopped = generatorOn((await counted()).backend);
      assert.equal(await stopped.generator.measurePrefill({ aborted: true }), undefined);
    });

    /** A store holding the head, written by a generator's first request; and that request's answer. */
    async function storedHead(request: GenerateRequest): Promise<{ store: PrefixStore; file: string; expected: number[] }> {
      const store = newStore(referenceBackend);
      const a = generatorOn(await newBackend(), { prefixStore: store });
      const r = await a.generator.generate(request, notCancelled);
      await a.generator.settled();
      const files = kvFiles(store);
      assert.equal(files.length, 1);
      return { store, file: files[0], expected: r.tokenIds };
    }

    /** A damaged file: the next request reports it, answers as without cache, and the head is stored anew. */
    async function rejectedThenRebuilt(store: PrefixStore, file: string, request: GenerateRequest, expected: number[], problem: RegExp): Promise<void> {
      const head = headTokens();
      const g = generatorOn(await newBackend(), { prefixStore: store });
      const r = await g.generator.generate(request, notCancelled);
      assert.equal(g.logged.length, 1, `logged: ${JSON.stringify(g.logged)}`);
      assert.match(g.logged[0], /^Prompt cache: /);
      assert.match(g.logged[0], problem);
      assert.ok(g.logged[0].includes(path.basename(file)), 'the message names the file');
      assert.equal(r.usage.diskTokens, undefined);
      assert.equal(r.usage.reusedTokens, 0);
      assert.deepEqual(r.tokenIds, expected, 'the same answer as without cache');
      await g.generator.settled();
      assert.ok(fs.existsSync(file), 'stored anew');
      assert.equal(store.load(head).problem, undefined);
      const next = generatorOn(await newBackend(), { prefixStore: store });
      const again = await next.generator.generate(request, notCancelled);
      assert.equal(again.usage.diskTokens, head.length, 'the rebuilt file is used');
      assert.deepEqual(again.tokenIds, expected);
      assert.deepEqual(next.logged, []);
    }

    it('a corrupted file (one byte of its data flipped) is reported as a CRC-32 mismatch, not used, and rebuilt', async () => {
      const request = ask('Explain the CRC check.');
      const { store, file, expected } = await storedHead(request);
      const bytes = fs.readFileSync(file);
      const dataStart = 'PHIKV\n'.length + 4 + bytes.readUInt32LE('PHIKV\n'.length);
      assert.equal(bytes.length - dataStart, headTokens().length * referenceBackend.bytesPerPosition);
      bytes[dataStart + Math.floor((bytes.length - dataStart) / 2)] ^= 0x01;
      fs.writeFileSync(file, bytes);
      await rejectedThenRebuilt(store, file, request, expected, /CRC-32/);
    });

    it('a stale file (computed with other threads, or another model) is reported as stale, not used, and rebuilt', async () => {
      const request = ask('What makes a cache file stale?');
      const { store, file, expected } = await storedHead(request);
      const head = headTokens();
      const data = store.load(head).data!;
      // The same positions, saved by a store whose identity differs in one field each time.
      for (const [field, value] of [['threads', THREADS + 1], ['model', `${modelFingerprint(folder.dir)};model.onnx.data:1:2`]] as const) {
        const other = new PrefixStore(store.dir, { ...identityOf(referenceBackend), [field]: value }, 1 << 30);
        await other.save(head, new Uint8Array(data));
        assert.ok(fs.existsSync(file));
        await rejectedThenRebuilt(store, file, request, expected, new RegExp(`stale: computed with ${field}`));
      }
    });

    it('a truncated file (cut in its data, or in its header) is detected, not used, and rebuilt', async () => {
      const request = ask('What if the disk filled up?');
      const { store, file, expected } = await storedHead(request);
      const full = fs.readFileSync(file);
      fs.writeFileSync(file, full.subarray(0, full.length - 100));
      await rejectedThenRebuilt(store, file, request, expected, new RegExp(`it is ${headTokens().length * referenceBackend.bytesPerPosition - 100} bytes, not ${headTokens().length * referenceBackend.bytesPerPosition}`));
      fs.writeFileSync(file, full.subarray(0, 20));
      await rejectedThenRebuilt(store, file, request, expected, /header is damaged/);
    });

    it('a request reuses exactly the prefix it shares with the best slot, never another conversation\'s tokens, and answers as a fresh generator', async () => {
      const g = generatorOn(await newBackend()).generator;
      const requestA = ask('alpha: what does the parser do?', { slot: 'chat' });
      const requestB = ask('beta: where are the tests?', { slot: 'explain' });
      const requestC = ask('gamma: rename the function.', { slot: 'chat' });
      const [pa, pb, pc] = [requestA, requestB, requestC].map((r) => prompts.render(r.messages, r.tools).ids);
      const ra = await g.generate(requestA, notCancelled);
      const rb = await g.generate(requestB, notCancelled);
      assert.equal(ra.usage.reusedTokens, 0);
      assert.equal(rb.usage.reusedTokens, commonPrefixLength(pa, pb), 'B copies in the prefix it shares with A\'s slot');
      const rc = await g.generate(requestC, notCancelled);
      // What each slot holds: its prompt and the answer's tokens but the last (never fed).
      const held = [[...pa, ...ra.tokenIds.slice(0, -1)], [...pb, ...rb.tokenIds.slice(0, -1)]];
      const best = Math.max(...held.map((t) => commonPrefixLength(t, pc)));
      assert.equal(rc.usage.reusedTokens, best);
      assert.ok(best >= headTokens().length, 'at least the head is shared');
      assert.ok(best < pc.length - 1, 'and not the user message');
      assert.deepEqual(rc.tokenIds, await freshAnswer(requestC));
      assert.deepEqual(ra.tokenIds, await freshAnswer(requestA));
      assert.deepEqual(rb.tokenIds, await freshAnswer(requestB));
      // The same conversation again in its slot reuses all of its prompt but the last token (fed for the logits).
      const again = await g.generate(requestB, notCancelled);
      assert.equal(again.usage.reusedTokens, pb.length - 1);
      assert.deepEqual(again.tokenIds, rb.tokenIds);
    });

    it('under a memory budget of 300 positions, across 3 labels, the slots stay within it between requests and the answers equal a fresh generator\'s', async () => {
      const backend = await newBackend();
      const budget = backend.bytesPerPosition * 300;
      const g = generatorOn(backend, { kvBudgetBytes: budget }).generator;
      const labels = ['chat', 'explain', 'completion'];
      const users = ['fix the bug', 'what is this?', 'complete the loop', 'add a test', 'explain the regex', 'sort the list', 'fix the bug'];
      for (const [i, user] of users.entries()) {
        const request = ask(user, { slot: labels[i % labels.length], maxNewTokens: 16 });
        const length = prompts.render(request.messages, request.tools).ids.length + 16;
        assert.ok(length * backend.bytesPerPosition <= budget, `request ${i} alone fits the budget (${length} positions)`);
        const r = await g.generate(request, notCancelled);
        const { bytes, slots } = g.cacheSummary();
        assert.ok(bytes <= budget, `after request ${i}: ${bytes} bytes held, budget ${budget}`);
        assert.equal(bytes, slots.reduce((sum, s) => sum + s.bytes, 0));
        assert.ok(slots.every((s) => !s.busy));
        assert.deepEqual(r.tokenIds, await freshAnswer(request), `request ${i} (${user})`);
      }
    });

    it('requests run at once on one generator, each in its slot, answer as a fresh generator does and take turns', async () => {
      const g = generatorOn(await newBackend()).generator;
      const requests = [['chat', 'alpha: what does the parser do?'], ['explain', 'beta: where are the tests?'], ['completion', 'gamma: rename it.']]
        .map(([slot, user]) => ask(user, { slot, maxNewTokens: 40 }));
      const events: string[] = [];
      const results = await Promise.all(requests.map((r, i) => g.generate(r, notCancelled, { onText: () => events.push(`text ${i}`) })
        .then((result) => { events.push(`end ${i}`); return result; })));
      for (const [i, r] of results.entries()) {
        assert.equal(r.usage.completionTokens, 40);
        assert.deepEqual(r.tokenIds, await freshAnswer(requests[i]), `request ${i}`);
      }
      assert.deepEqual(g.cacheSummary().slots.map((s) => s.label).sort(), ['chat', 'completion', 'explain']);
      // Taking turns: a request waiting for its first token goes first at the gate, so each one's first text comes
      // before any of them ends (40 tokens each).
      const firstEnd = events.findIndex((e) => e.startsWith('end'));
      const runs = events.reduce<string[]>((out, e) => {
        const last = out.at(-1)?.split(' ×')[0];
        if (last === e) out[out.length - 1] = `${e} ×${Number(out.at(-1)!.split(' ×')[1] ?? 1) + 1}`;
        else out.push(e);
        return out;
      }, []);
      for (let i = 0; i < requests.length; i++) {
        const first = events.indexOf(`text ${i}`);
        assert.ok(first >= 0 && first < firstEnd, `request ${i}'s first text came after a request ended: ${runs.join(', ')}`);
      }
    });

    it('after requests that ran at once have ended, the slots hold no more than the memory budget', async () => {
      const backend = await newBackend();
      const budget = backend.bytesPerPosition * 300;
      const g = generatorOn(backend, { kvBudgetBytes: budget }).generator;
      const requests = [['chat', 'fix the bug'], ['explain', 'what is this?'], ['completion', 'complete the loop']]
        .map(([slot, user]) => ask(user, { slot, maxNewTokens: 60 }));
      const positions = requests.map((r) => prompts.render(r.messages, r.tools).ids.length + 60);
      assert.ok(positions.every((p) => p * backend.bytesPerPosition <= budget), `each alone fits the budget: ${positions}`);
      assert.ok(positions.reduce((a, b) => a + b) * backend.bytesPerPosition > budget, 'all three together do not');
      const results = await Promise.all(requests.map((r) => g.generate(r, notCancelled)));
      for (const [i, r] of results.entries()) assert.deepEqual(r.tokenIds, await freshAnswer(requests[i]), `request ${i}`);
      const { bytes, slots } = g.cacheSummary();
      assert.ok(slots.every((s) => !s.busy));
      assert.ok(bytes <= budget, `idle slots hold ${bytes} bytes (${slots.map((s) => `${s.label} ${s.tokens}`).join(', ')} positions), budget ${budget}`);
      // The next request brings them back within it.
      await g.generate(ask('one more', { slot: 'chat', maxNewTokens: 4 }), notCancelled);
      assert.ok(g.cacheSummary().bytes <= budget);
    });

    it('slot copy, export and import round-trip exactly, and a copied slot computes the same next logits', async () => {
      const backend = await newBackend(512);
      const tokens = randomTokens(11, 40);
      backend.selectSlot(0);
      await backend.forward(tokens);
      const source = backend.exportPositions(40);
      assert.equal(source.byteLength, 40 * backend.bytesPerPosition);
      backend.copySlot(0, 1, 40);
      backend.copySlot(0, 2, 25);
      backend.selectSlot(1);
      assert.equal(backend.cachedLength, 40);
      assert.deepEqual(backend.exportPositions(40), source);
      backend.selectSlot(2);
      assert.equal(backend.cachedLength, 25);
      const part = backend.exportPositions(25);
      backend.selectSlot(0);
      assert.deepEqual(part, backend.exportPositions(25), 'a partial copy holds the source\'s first positions');
      backend.selectSlot(3);
      backend.importPositions(source, 40);
      assert.equal(backend.cachedLength, 40);
      assert.deepEqual(backend.exportPositions(40), source);
      // The next pass from each holds the same keys: bitwise the same logits.
      const next = [tokens[5], tokens[7]];
      const fromImport = await backend.forward(next, { allPositions: true });
      backend.selectSlot(1);
      const fromCopy = await backend.forward(next, { allPositions: true });
      backend.selectSlot(0);
      const fromSource = await backend.forward(next, { allPositions: true });
      assert.deepEqual(fromImport, fromSource);
      assert.deepEqual(fromCopy, fromSource);
      // The slots are independent: slot 2 still holds its 25 positions.
      backend.selectSlot(2);
      assert.equal(backend.cachedLength, 25);
      assert.deepEqual(backend.exportPositions(25), part);
    });

    if (kind === 'native') {
      it('freeSlot gives a native slot\'s buffers back (NativeBuffer.liveBytes drops by the slot\'s bytes), and the slot works again after', async () => {
        const contextLength = 512;
        const backend = await newBackend(contextLength);
        const slotBytes = backend.bytesPerPosition * contextLength; // every layer's keys and values for the whole context
        backend.selectSlot(0);
        await backend.forward(randomTokens(12, 20));
        const withOne = NativeBuffer.liveBytes;
        backend.copySlot(0, 1, 20);
        assert.equal(NativeBuffer.liveBytes, withOne + slotBytes, 'a second slot allocates its buffers');
        backend.freeSlot(1);
        assert.equal(NativeBuffer.liveBytes, withOne, 'freeSlot gives them back');
        backend.freeSlot(1);
        assert.equal(NativeBuffer.liveBytes, withOne, 'freeing an empty slot changes nothing');
        assert.throws(() => backend.freeSlot(0), /selected slot/);
        backend.selectSlot(1);
        assert.equal(backend.cachedLength, 0, 'a freed slot is empty');
        assert.equal(NativeBuffer.liveBytes, withOne + slotBytes);
        await backend.forward(randomTokens(12, 20));
        const a = backend.exportPositions(20);
        backend.selectSlot(0);
        assert.deepEqual(a, backend.exportPositions(20), 'recomputed in the reallocated slot: the same keys');
      });
    }
  });
}
