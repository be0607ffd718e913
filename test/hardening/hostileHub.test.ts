// Issue 15, finding 5: a download that a server or proxy cuts short. Against a real HTTP server on 127.0.0.1 that
// speaks the hub's endpoints (revision, tree listing, resolve) and misbehaves on purpose: every answer for a file
// carries 4 of its 9 listed bytes with status 200, and a Range request gets the file from byte 0 again. Before the
// fix each start over counted as progress and the download never ended (616 GETs in 10 s). Also: what a staging
// folder held before the download does not reach the model folder unchecked, and a downloaded folder whose file
// was cut short afterwards is refused at load, naming the file.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DownloadError } from '../../extension/model/download/downloadError';
import { MAX_RESTARTS, PART_SUFFIX } from '../../extension/model/download/fileDownloader';
import { createDispatcher, HttpClient } from '../../extension/model/download/httpClient';
import {
  COMPLETE_MARKER, downloadModel, readCompleteMarker, stagingDir, type DownloadDeps, type DownloadRequest,
} from '../../extension/model/download/modelDownload';
import { MODEL_REPO, VARIANTS } from '../../extension/model/download/variants';
import { checkModelFolder } from '../../sidecar/diagnostics';
import { EngineError } from '../../sidecar/engineError';
import { DOWNLOAD_MANIFEST, readModelFolder } from '../../sidecar/engine/modelFolder';
import { ensureModel } from '../fixtures/models';
import { reportFigure } from './figures';

const CPU = VARIANTS[0];
const COMMIT = 'c0ffee0000000000000000000000000000000005';

/**
 * How the server answers a file:
 * - 'good': the whole file, or the rest for a Range request (206), as the hub's file host does.
 * - 'short': 200 with Content-Length CUT_AT and CUT_AT bytes, a clean end (a proxy that cut the file and the length
 *   with it); Range ignored.
 * - 'cut': 200 with Content-Length of the whole file, CUT_AT bytes, then the connection closed; Range ignored.
 * - 'short-resumable': honours Range (206), but each answer ends cleanly after CUT_AT bytes.
 */
type Mode = 'good' | 'short' | 'cut' | 'short-resumable';
const CUT_AT = 4;
/** A safety valve, not a bound under test: without the fix the download never ends; with it, this many GETs of one file fail the test instead. */
const RUNAWAY_GETS = 200;

class MisbehavingHub {
  private server!: http.Server;
  endpoint = '';
  /** File GETs per name, and content bytes sent per name. */
  readonly gets = new Map<string, number>();
  readonly sent = new Map<string, number>();

  constructor(private readonly files: Map<string, Buffer>, readonly mode: (name: string) => Mode) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const json = (body: unknown) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (p === `/api/models/${MODEL_REPO}/revision/main`) return json({ sha: COMMIT });
    if (p.startsWith(`/api/models/${MODEL_REPO}/tree/${COMMIT}/`)) {
      return json([...this.files].map(([name, data]) => ({
        type: 'file', path: `${CPU.repoFolder}/${name}`, size: data.length,
        oid: createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex'),
        lfs: { oid: createHash('sha256').update(data).digest('hex'), size: data.length },
      })));
    }
    const prefix = `/${MODEL_REPO}/resolve/${COMMIT}/${CPU.repoFolder}/`;
    const name = p.startsWith(prefix) ? p.slice(prefix.length) : '';
    const data = this.files.get(name);
    if (!data) return void res.writeHead(404).end('Entry not found');
    const gets = (this.gets.get(name) ?? 0) + 1;
    this.gets.set(name, gets);
    if (gets > RUNAWAY_GETS) return void res.writeHead(404).end('runaway');
    const mode = this.mode(name);
    const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
    const from = range && (mode === 'good' || mode === 'short-resumable') ? Number(range[1]) : 0;
    const rest = data.subarray(from);
    const body = mode === 'good' ? rest : rest.subarray(0, CUT_AT);
    this.sent.set(name, (this.sent.get(name) ?? 0) + body.length);
    const headers: http.OutgoingHttpHeaders = { 'content-length': mode === 'cut' ? rest.length : body.length };
    if (from > 0) headers['content-range'] = `bytes ${from}-${data.length - 1}/${data.length}`;
    res.writeHead(from > 0 ? 206 : 200, headers);
    if (mode !== 'cut') {
      res.end(body);
      return;
    }
    // Fewer bytes than Content-Length: the bytes (in one write), then the connection closed.
    res.write(body, () => res.socket?.end());
  }
}

describe('a download that the server or a proxy cuts short', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-truncation-'));
  const hubs: MisbehavingHub[] = [];
  let n = 0;
  let logs: string[] = [];
  after(async () => {
    // Each hub is one download against a server that misbehaves; one that reached the runaway valve never ended.
    const runaway = hubs.filter((h) => [...h.gets.values()].some((g) => g > RUNAWAY_GETS)).length;
    const gets = hubs.reduce((n, h) => n + [...h.gets.values()].reduce((a, b) => a + b, 0), 0);
    reportFigure('hostile hub (downloads cut short)', {
      tried: hubs.length, refused: hubs.length - runaway, lost: runaway,
      note: `downloads that gave up with the cause named or finished verified; ${gets} GETs in all (before the fix: 616 in 10 s for one)`,
    });
    for (const h of hubs) await h.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const NINE = Buffer.from('123456789');
  async function hubWith(files: Record<string, Buffer>, mode: (name: string) => Mode): Promise<MisbehavingHub> {
    const hub = new MisbehavingHub(new Map(Object.entries(files)), mode);
    await hub.start();
    hubs.push(hub);
    return hub;
  }
  const deps = (maxAttempts: number): DownloadDeps => {
    logs = [];
    return {
      http: new HttpClient(createDispatcher({}, {}), { stallSeconds: 10 }),
      log: (m) => logs.push(m),
      retry: { maxAttempts, backoffMs: () => 0 },
      freeBytes: async () => Number.MAX_SAFE_INTEGER, // this test is not about disk space
    };
  };
  const request = (hub: MisbehavingHub): DownloadRequest => ({ variant: CPU, target: path.join(tmp, `models-${++n}`, CPU.id), endpoint: hub.endpoint });

  it('every answer 4 of 9 bytes with 200, Range ignored: gives up after MAX_RESTARTS fresh starts and says what happened', async () => {
    const hub = await hubWith({ 'model.onnx.data': NINE }, () => 'short');
    const req = request(hub);
    // Tries without progress are allowed far more often than restarts here, so it is the restart cap that ends it.
    await assert.rejects(downloadModel(req, deps(1000)), (e: unknown) => {
      assert.ok(e instanceof DownloadError, String(e));
      assert.equal(e.code, 'truncated', e.message);
      // What happened: which file, how far of how far, that it does not resume, and how often it started over.
      assert.match(e.message, /^model\.onnx\.data: the download cannot get past byte 4 of 9: answers end early/);
      assert.match(e.message, /ignores Range requests/);
      assert.match(e.message, new RegExp(`Gave up after ${MAX_RESTARTS} fresh starts`));
      // What to do: another network or a mirror that resumes, or the folder by hand.
      assert.match(e.message, /proxy or firewall/);
      assert.match(e.message, /phiLocal\.download\.endpoint/);
      assert.match(e.message, /Phi: Select Model Folder/);
      return true;
    });
    // The bound on GETs: the first answer (reaches byte 4), MAX_RESTARTS answers that each start the file over,
    // and one more, whose start over is refused (its body dropped unread).
    assert.equal(hub.gets.get('model.onnx.data'), MAX_RESTARTS + 2);
    // The bound on bytes per file (fileDownloader.ts): at most (MAX_RESTARTS + 2) × its size.
    assert.ok(hub.sent.get('model.onnx.data')! <= (MAX_RESTARTS + 2) * NINE.length);
    assert.equal(logs.filter((l) => /starting the file over/.test(l)).length, MAX_RESTARTS, logs.join('\n'));
    assert.ok(!fs.existsSync(req.target), 'no model folder');
    assert.equal(readCompleteMarker(stagingDir(req.target)), undefined, 'the staging folder is not marked complete');
  });

  it('start-overs that fetch the same bytes again are not progress: the tries-without-progress cap ends it too', async () => {
    // maxAttempts 3 < MAX_RESTARTS + 1, so this cap comes first: GET 1 reaches byte 4 (progress: try 1 of 3), GETs 2
    // and 3 start over and reach byte 4 again (no progress: tries 2 and 3), and then it gives up.
    const maxAttempts = 3;
    const hub = await hubWith({ 'model.onnx.data': NINE }, () => 'short');
    await assert.rejects(downloadModel(request(hub), deps(maxAttempts)), (e: unknown) => {
      assert.ok(e instanceof DownloadError, String(e));
      assert.equal(e.code, 'truncated');
      assert.match(e.message, new RegExp(`^model\\.onnx\\.data: the server, or a proxy on the way, keeps ending the file early: ` +
        `${maxAttempts} tries in a row got no further than byte 4 of 9`));
      assert.match(e.message, /Phi: Select Model Folder/);
      return true;
    });
    assert.equal(hub.gets.get('model.onnx.data'), maxAttempts);
  });

  it('Content-Length 9, 4 bytes, then the connection closed, Range ignored: gives up within a bound whatever the timing', async () => {
    // Bytes a client has received but not yet read when a connection drops are lost (the body stream is destroyed),
    // so whether an answer's 4 bytes reach the file depends on timing; the server writes them at once, so an answer
    // delivers all 4 or none. Either way at most one answer is progress (only bytes 1 to 4 are ever sent), and tries
    // without progress are allowed maxAttempts - 1 times in a row before it and after it: GETs <= 2 × maxAttempts - 1.
    const maxAttempts = 6; // the default
    const hub = await hubWith({ 'model.onnx.data': NINE }, () => 'cut');
    await assert.rejects(downloadModel(request(hub), deps(maxAttempts)), (e: unknown) => {
      assert.ok(e instanceof DownloadError, String(e));
      // The restart cap (cut short, cannot resume) or the tries-without-progress cap (the connection dropped).
      assert.ok(e.code === 'truncated' || e.code === 'offline', e.message);
      assert.match(e.message, /model\.onnx\.data/);
      assert.match(e.message, /byte [04] of 9/);
      assert.match(e.message, /ignores Range requests|dropped/);
      return true;
    });
    const gets = hub.gets.get('model.onnx.data')!;
    assert.ok(gets <= 2 * maxAttempts - 1, `${gets} GETs`);
    assert.ok(hub.sent.get('model.onnx.data')! <= gets * CUT_AT);
  });

  it('a proxy that cuts every answer short but honours Range still finishes: each answer gets further', async () => {
    const hub = await hubWith({ 'model.onnx.data': NINE }, () => 'short-resumable');
    const req = request(hub);
    // Each answer reaches a new byte, so each is progress: two tries without progress allowed is plenty.
    const out = await downloadModel(req, deps(2));
    assert.equal(hub.gets.get('model.onnx.data'), Math.ceil(NINE.length / CUT_AT));
    assert.equal(hub.sent.get('model.onnx.data'), NINE.length, 'no byte fetched twice');
    assert.deepEqual(fs.readFileSync(path.join(out.dir, 'model.onnx.data')), NINE);
  });

  it('what the staging folder held is not carried into the model folder unchecked', async () => {
    const files = { 'a.bin': Buffer.from('aaaaaaaa'), 'b.bin': Buffer.from('bbbbbbbb'), 'c.bin': Buffer.from('cccccccc') };
    const hub = await hubWith(files, () => 'good');
    const req = request(hub);
    const staging = stagingDir(req.target);
    fs.mkdirSync(path.join(staging, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(staging, 'a.bin'), 'aaaaaaaa-and-more'); // longer than listed
    fs.writeFileSync(path.join(staging, 'b.bin'), 'bbb'); // shorter than listed (under its real name, not a part)
    fs.writeFileSync(path.join(staging, 'c.bin'), 'cccccccX'); // the listed size, other bytes
    fs.writeFileSync(path.join(staging, 'old-model.onnx.data'), 'another version'); // not listed
    fs.writeFileSync(path.join(staging, 'gone.bin' + PART_SUFFIX), 'a part of a file no longer listed');
    fs.writeFileSync(path.join(staging, 'sub', 'stray.txt'), 'not listed either');
    const out = await downloadModel(req, deps(3));
    for (const [name, data] of Object.entries(files)) {
      assert.deepEqual(fs.readFileSync(path.join(out.dir, name)), data, name);
      assert.equal(hub.gets.get(name), 1, `${name} was fetched again`);
    }
    assert.deepEqual(fs.readdirSync(out.dir, { recursive: true }).map(String).sort(), [...Object.keys(files), COMPLETE_MARKER].sort(),
      'only the published files and the marker reach the model folder');
    for (const stray of ['old-model.onnx.data', 'gone.bin' + PART_SUFFIX, path.join('sub', 'stray.txt')]) {
      assert.ok(logs.some((l) => l.startsWith(`${stray}: in the staging folder but not among the published files; removed`)), `${stray}\n${logs.join('\n')}`);
    }
  });
});

describe('a downloaded model folder is checked against the download manifest at load', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-manifest-'));
  let hub: MisbehavingHub;
  let dir: string;
  before(async () => {
    const model = ensureModel('tiny');
    // The official folder's files (not what the engine writes at load, nor the generator's own manifest).
    const names = fs.readdirSync(model).filter((f) => !f.includes('phi-local') && f !== 'test-model.json');
    hub = new MisbehavingHub(new Map(names.map((f) => [f, fs.readFileSync(path.join(model, f))])), () => 'good');
    await hub.start();
    const out = await downloadModel({ variant: CPU, target: path.join(tmp, CPU.id), endpoint: hub.endpoint }, {
      http: new HttpClient(createDispatcher({}, {})),
      freeBytes: async () => Number.MAX_SAFE_INTEGER,
    });
    dir = out.dir;
  });
  after(async () => {
    await hub?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the sidecar reads the manifest the download writes', () => {
    assert.equal(DOWNLOAD_MANIFEST, COMPLETE_MARKER);
    assert.ok(readModelFolder(dir), 'the folder as downloaded loads');
  });

  it('a file shorter than the manifest says is refused, naming the file', () => {
    const file = path.join(dir, 'tokenizer.json');
    const size = fs.statSync(file).size;
    const original = fs.readFileSync(file);
    fs.truncateSync(file, Math.floor(size / 2));
    try {
      assert.throws(() => readModelFolder(dir), (e: unknown) => {
        assert.ok(e instanceof EngineError, String(e));
        assert.equal(e.code, 'model-folder');
        assert.equal(e.file, 'tokenizer.json');
        assert.match(e.message, new RegExp(`^tokenizer\\.json is ${Math.floor(size / 2)} bytes, but the download verified it at ${size} bytes .*cut short`));
        assert.match(e.message, /download it again/);
        return true;
      });
      // The Doctor's folder check says the same.
      const check = checkModelFolder(dir);
      assert.equal(check.ok, false);
      assert.equal(check.error?.message.startsWith('tokenizer.json is'), true, check.error?.message);
    } finally {
      fs.writeFileSync(file, original);
    }
    // A listed file that is gone is refused by name too.
    fs.renameSync(path.join(dir, 'config.json'), path.join(tmp, 'config.json'));
    try {
      assert.throws(() => readModelFolder(dir), (e: unknown) => e instanceof EngineError && e.file === 'config.json' && /is missing .*lists it/.test(e.message));
    } finally {
      fs.renameSync(path.join(tmp, 'config.json'), path.join(dir, 'config.json'));
    }
  });
});
