// The model download (extension/model/download/) against a real local HTTP server that serves the generated tiny
// model the way the Hugging Face hub does (test/fixtures/localHub.ts): listing, redirect, Range. Real files, real
// sockets; the only thing injected is the free-space reading in the disk test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DownloadError } from '../../extension/model/download/downloadError';
import { lockDownload, lockFileFor, STALE_MS } from '../../extension/model/download/downloadLock';
import { PART_SUFFIX } from '../../extension/model/download/fileDownloader';
import { createDispatcher, HttpClient, type NetworkSettings } from '../../extension/model/download/httpClient';
import {
  COMPLETE_MARKER, downloadModel, readCompleteMarker, stagingDir, type DownloadDeps, type DownloadProgress, type DownloadRequest,
} from '../../extension/model/download/modelDownload';
import { chooseVariant, MODEL_REPO, TOKENIZER_FILES, VARIANTS } from '../../extension/model/download/variants';
import { formatBytes, formatDuration, TransferRate } from '../../extension/model/download/transferRate';
import { deletable, listModels } from '../../extension/model/modelLibrary';
import { resolveModelLocation } from '../../extension/modelPath';
import { checkModelFolder } from '../../sidecar/diagnostics';
import { PromptBuilder } from '../../sidecar/prompt/promptBuilder';
import { readPromptFiles } from '../../sidecar/prompt/promptFiles';
import { LocalHub } from '../fixtures/localHub';
import { ensureModel } from '../fixtures/models';

const CPU = VARIANTS[0];
const DATA = `${CPU.repoFolder}/model.onnx.data`;

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

describe('model download from a local hub', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-download-'));
  let model: string;
  let hub: LocalHub;
  let n = 0;
  const logs: string[] = [];

  before(async () => {
    model = ensureModel('tiny');
    hub = new LocalHub({
      repo: MODEL_REPO,
      folders: { [CPU.repoFolder]: model, [VARIANTS[1].repoFolder]: model },
      // What the engine writes at load and the generator's manifest are not part of the official folder.
      exclude: (name) => name.includes('phi-local') || name === 'test-model.json',
      pageSize: 4,
    });
    await hub.start();
  });
  after(async () => {
    await hub?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const deps = (extra: Partial<DownloadDeps> = {}, network: NetworkSettings = {}): DownloadDeps => ({
    http: new HttpClient(createDispatcher(network, {}), { stallSeconds: 10 }),
    log: (m) => logs.push(m),
    retry: { maxAttempts: 4, backoffMs: () => 20 },
    ...extra,
  });
  const request = (extra: Partial<DownloadRequest> = {}): DownloadRequest => ({
    variant: CPU, target: path.join(tmp, `models-${++n}`, CPU.id), endpoint: hub.endpoint, ...extra,
  });
  const sameAsSource = (dir: string) => {
    for (const f of hub.files.filter((x) => x.repoPath.startsWith(CPU.repoFolder + '/'))) {
      const name = path.basename(f.repoPath);
      assert.equal(fs.statSync(path.join(dir, name)).size, f.size, name);
      assert.equal(sha256(path.join(dir, name)), f.sha256, name);
    }
  };

  it('the tokenizer files alone (for the remote engine): only those the folder has, verified, enough to render Phi-4\'s prompts', async () => {
    const before = hub.servedBytes();
    const req = request({ only: TOKENIZER_FILES });
    const out = await downloadModel(req, deps());
    const published = hub.files.filter((f) => f.repoPath.startsWith(CPU.repoFolder + '/')).map((f) => path.basename(f.repoPath));
    const expected = TOKENIZER_FILES.filter((name) => published.includes(name)).sort();
    assert.ok(expected.includes('tokenizer.json') && expected.includes('tokenizer_config.json'));
    assert.deepEqual(fs.readdirSync(req.target).filter((f) => f !== COMPLETE_MARKER).sort(), expected);
    assert.deepEqual(readCompleteMarker(req.target)?.files.map((f) => f.name).sort(), expected);
    const size = (name: string) => fs.statSync(path.join(model, name)).size;
    assert.equal(hub.servedBytes() - before, expected.reduce((n, name) => n + size(name), 0), 'no weights fetched');
    for (const name of expected) assert.equal(sha256(path.join(req.target, name)), sha256(path.join(model, name)), name);
    const fromFiles = PromptBuilder.fromFolder(readPromptFiles(req.target));
    const fromModel = PromptBuilder.fromFolder(readPromptFiles(model));
    const chat = [{ role: 'user' as const, content: 'Hello <|end|> there' }];
    assert.deepEqual(fromFiles.render(chat).ids, fromModel.render(chat).ids);
    assert.equal(out.plan?.files.length, expected.length);
  });

  it('downloads every file of the variant, verified, and marks the folder complete last', async () => {
    const before = hub.servedBytes();
    const progress: DownloadProgress[] = [];
    const req = request();
    const out = await downloadModel(req, deps(), { onProgress: (p) => progress.push(p) });
    const total = hub.files.filter((f) => f.repoPath.startsWith(CPU.repoFolder + '/')).reduce((s, f) => s + f.size, 0);
    assert.equal(out.dir, req.target);
    assert.equal(out.plan?.totalBytes, total);
    assert.equal(out.fetchedBytes, total);
    assert.equal(hub.servedBytes() - before, total, 'each byte served once');
    sameAsSource(req.target);
    const marker = readCompleteMarker(req.target);
    assert.equal(marker?.variant, CPU.id);
    assert.equal(marker?.files.length, out.plan?.files.length);
    assert.ok(marker!.files.some((f) => f.checksum.algorithm === 'sha256') && marker!.files.some((f) => f.checksum.algorithm === 'git-blob-sha1'),
      'large files are checked by sha256, small ones by their git blob id');
    assert.ok(!fs.existsSync(stagingDir(req.target)), 'the staging folder became the target');
    assert.deepEqual(fs.readdirSync(req.target).filter((f) => f.endsWith(PART_SUFFIX)), []);
    // The listing came in pages (pageSize 4) and every file came by way of the pinned commit.
    assert.ok(hub.apiRequests.filter((r) => r.includes('/tree/')).length >= 2, 'the tree listing was paged');
    // Progress went up to the total, with a speed.
    assert.equal(progress.at(-1)?.doneBytes, total);
    assert.ok(progress.some((p) => p.bytesPerSecond > 0));
    // And the engine accepts the folder.
    const check = checkModelFolder(req.target);
    assert.equal(check.ok, true, JSON.stringify(check.error));
  });

  it('a second download of a complete folder fetches nothing', async () => {
    const req = request();
    await downloadModel(req, deps());
    const before = hub.servedBytes();
    const again = await downloadModel(req, deps());
    assert.equal(again.alreadyComplete, true);
    assert.equal(hub.servedBytes(), before);
  });

  it('a connection cut mid-file is resumed with a Range request: bytes on disk are not fetched again', async () => {
    const req = request();
    const data = hub.file('model.onnx.data');
    hub.cutOnce.set(DATA, 40_000_000);
    const servedBefore = hub.served.length;
    const out = await downloadModel(req, deps());
    const requests = hub.served.slice(servedBefore).filter((r) => r.repoPath === DATA);
    assert.equal(requests.length, 2, 'one cut answer, one resumed');
    assert.equal(requests[0].rangeStart, 0);
    assert.ok(requests[1].rangeStart > 0 && requests[1].rangeStart <= 40_000_000, `resumed from ${requests[1].rangeStart}`);
    assert.equal(requests[1].bytes, data.size - requests[1].rangeStart, 'the resumed answer held only the rest');
    assert.ok(requests[0].bytes + requests[1].bytes <= data.size + 1_000_000, 'at most what was in flight at the cut was sent twice');
    sameAsSource(out.dir);
    assert.ok(logs.some((l) => /model\.onnx\.data: .*(dropped|ended|closed)/i.test(l)), logs.join('\n'));
  });

  it('a cancelled download leaves no folder claiming to be complete, and the next one resumes it', async () => {
    const req = request();
    const abort = new AbortController();
    const data = hub.file('model.onnx.data');
    await assert.rejects(
      downloadModel(req, deps(), {
        signal: abort.signal,
        onProgress: (p) => { if (p.file === 'model.onnx.data' && p.doneBytes > 30_000_000) abort.abort(); },
      }),
      (e: unknown) => e instanceof DownloadError && e.code === 'cancelled',
    );
    assert.ok(!fs.existsSync(req.target), 'no folder under the target name');
    const staging = stagingDir(req.target);
    assert.equal(readCompleteMarker(staging), undefined, 'the staging folder has no completion marker');
    assert.ok(!fs.existsSync(path.join(staging, COMPLETE_MARKER)));
    assert.ok(!fs.existsSync(path.join(staging, 'model.onnx.data')), 'the unfinished file is not under its real name');
    const part = fs.statSync(path.join(staging, 'model.onnx.data' + PART_SUFFIX)).size;
    assert.ok(part > 0 && part < data.size, `part of ${part} bytes`);
    // Manage Models shows it as an incomplete download, not as a model.
    const root = path.dirname(req.target);
    assert.deepEqual(listModels(root, undefined).map((m) => [m.kind, m.id]), [['incomplete', CPU.id]]);

    const servedBefore = hub.served.length;
    const out = await downloadModel(req, deps());
    const resumed = hub.served.slice(servedBefore).filter((r) => r.repoPath === DATA);
    assert.equal(resumed.length, 1);
    assert.equal(resumed[0].rangeStart, part, 'asked only for the bytes after the part');
    assert.equal(resumed[0].bytes, data.size - part);
    assert.ok(out.reusedBytes >= part);
    sameAsSource(out.dir);
    // Now it is a downloaded model; the configured folder elsewhere is listed too, as the active one.
    const listed = listModels(root, model);
    assert.deepEqual(listed.map((m) => [m.kind, m.active]), [['downloaded', false], ['folder', true]]);
    assert.equal(listed[0].variant?.id, CPU.id);
    assert.ok(listed[0].bytes >= data.size);
    assert.ok(deletable(listed[0], root) && !deletable(listed[1], root), 'only what Phi Local downloaded can be deleted');
    // A download marker copied into a folder elsewhere does not make that folder deletable.
    const elsewhere = path.join(tmp, 'my-own-folder');
    fs.mkdirSync(elsewhere, { recursive: true });
    fs.copyFileSync(path.join(req.target, COMPLETE_MARKER), path.join(elsewhere, COMPLETE_MARKER));
    const pointedAt = listModels(root, elsewhere).find((m) => m.dir === elsewhere)!;
    assert.equal(pointedAt.kind, 'folder');
    assert.equal(deletable(pointedAt, root), false, 'a folder outside the downloaded-models root is never deleted');
    assert.equal(listModels(root, req.target)[0].active, true);
    // The setting can name it by its id.
    assert.equal(resolveModelLocation(CPU.id, {}, undefined, os.homedir(), root)?.dir, req.target);
    assert.equal(resolveModelLocation('no-such-model', {}, '/ws', os.homedir(), root)?.dir, path.resolve('/ws/no-such-model'));
  });

  it('a corrupted byte fails the checksum and the file is fetched again (sha256 and git blob files)', async () => {
    const req = request();
    const config = `${CPU.repoFolder}/genai_config.json`;
    hub.corruptOnce.add(DATA);
    hub.corruptOnce.add(config);
    const servedBefore = hub.served.length;
    const out = await downloadModel(req, deps());
    const served = hub.served.slice(servedBefore);
    assert.equal(served.filter((r) => r.repoPath === DATA).length, 2);
    assert.equal(served.filter((r) => r.repoPath === config).length, 2);
    sameAsSource(out.dir);
    assert.ok(logs.some((l) => /model\.onnx\.data: the sha256 does not match/.test(l)));
    assert.ok(logs.some((l) => /genai_config\.json: the git-blob-sha1 does not match/.test(l)));
  });

  it('a staging folder left from another commit is not trusted by size: a same-size file with other bytes is fetched again', async () => {
    const req = request();
    const staging = stagingDir(req.target);
    fs.mkdirSync(staging, { recursive: true });
    const cpuFile = (name: string) => hub.files.find((f) => f.repoPath === `${CPU.repoFolder}/${name}`)!;
    // Another version's genai_config.json: the same name and size, other content.
    const stale = fs.readFileSync(cpuFile('genai_config.json').local);
    stale[0] ^= 0x20;
    fs.writeFileSync(path.join(staging, 'genai_config.json'), stale);
    // And a file that is the right one: hashed again, then reused, not fetched.
    fs.copyFileSync(cpuFile('tokenizer.json').local, path.join(staging, 'tokenizer.json'));
    const servedBefore = hub.served.length;
    const out = await downloadModel(req, deps());
    const served = hub.served.slice(servedBefore);
    assert.equal(served.filter((r) => r.repoPath === cpuFile('genai_config.json').repoPath).length, 1, 'the stale file was fetched');
    assert.equal(served.filter((r) => r.repoPath === cpuFile('tokenizer.json').repoPath).length, 0, 'the right file was reused');
    sameAsSource(out.dir);
    assert.ok(logs.some((l) => /genai_config\.json: the file already in the staging folder does not match/.test(l)), logs.join('\n'));
  });

  it('two downloads into the same folder: the second is refused while the first holds the lock; a stale lock is taken over', async () => {
    const req = request();
    const staging = stagingDir(req.target);
    const held = await lockDownload(staging);
    const servedBefore = hub.served.length;
    await assert.rejects(downloadModel(req, deps()), (e: unknown) => {
      assert.ok(e instanceof DownloadError);
      assert.equal(e.code, 'busy');
      assert.match(e.message, new RegExp(`Another VS Code window is already downloading this model .*process ${process.pid}`));
      return true;
    });
    assert.equal(hub.served.length, servedBefore, 'nothing was fetched');
    await held.release();
    assert.ok(!fs.existsSync(lockFileFor(staging)));
    // A lock left by a window that is gone (its process has exited) does not block the next download.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.writeFileSync(lockFileFor(staging), JSON.stringify({ pid: Number(gone.stdout), host: os.hostname(), startedAt: new Date().toISOString() }));
    const out = await downloadModel(req, deps());
    sameAsSource(out.dir);
    assert.ok(!fs.existsSync(lockFileFor(staging)), 'the lock is released when the download ends');
    // Nor does one from another host that stopped being refreshed.
    const other = stagingDir(path.join(tmp, 'elsewhere', CPU.id));
    fs.mkdirSync(path.dirname(other), { recursive: true });
    fs.writeFileSync(lockFileFor(other), JSON.stringify({ pid: 1, host: 'another-host', startedAt: '2020-01-01T00:00:00Z' }));
    const old = new Date(Date.now() - STALE_MS - 60_000);
    fs.utimesSync(lockFileFor(other), old, old);
    await (await lockDownload(other)).release();
  });

  it('a file the hub does not have (404) says which and what to check', async () => {
    const missing = new LocalHub({
      repo: MODEL_REPO, folders: { [CPU.repoFolder]: model },
      exclude: (name) => name.includes('phi-local') || name === 'test-model.json',
      failFile: { [`${CPU.repoFolder}/tokenizer.json`]: 404 },
    });
    await missing.start();
    try {
      const req = request({ endpoint: missing.endpoint });
      await assert.rejects(downloadModel(req, deps()), (e: unknown) => {
        assert.ok(e instanceof DownloadError);
        assert.equal(e.code, 'not-found');
        assert.match(e.message, /tokenizer\.json does not exist \(HTTP 404\)/);
        assert.match(e.message, /phiLocal\.download\.endpoint/);
        return true;
      });
      assert.ok(!fs.existsSync(req.target));
      // A repository the endpoint does not have at all is a 404 too.
      await assert.rejects(downloadModel(request({ endpoint: missing.endpoint, repo: 'someone/else' }), deps()),
        (e: unknown) => e instanceof DownloadError && e.code === 'not-found' && /HTTP 404/.test(e.message));
    } finally {
      await missing.stop();
    }
  });

  it('a refused connection says the hub cannot be reached and how to copy the folder in by hand', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const req = request({ endpoint: `http://127.0.0.1:${port}` });
    await assert.rejects(downloadModel(req, deps()), (e: unknown) => {
      assert.ok(e instanceof DownloadError);
      assert.equal(e.code, 'offline');
      assert.match(e.message, /refused the connection/);
      assert.match(e.message, /cpu_and_mobile\/cpu-int4-rtn-block-32-acc-level-4\//);
      assert.match(e.message, /Phi: Select Model Folder/);
      return true;
    });
    assert.ok(!fs.existsSync(path.dirname(req.target)) || !fs.existsSync(stagingDir(req.target)));
  });

  it('not enough disk space is refused before the first byte', async () => {
    const req = request();
    const servedBefore = hub.servedBytes();
    let asked = '';
    await assert.rejects(downloadModel(req, deps({ freeBytes: async (dir) => { asked = dir; return 50_000_000; } })), (e: unknown) => {
      assert.ok(e instanceof DownloadError);
      assert.equal(e.code, 'disk-space');
      assert.match(e.message, /Not enough disk space in .*: the model needs 1\d\d MB more .* and 48 MB is free/);
      return true;
    });
    assert.equal(asked, path.dirname(req.target));
    assert.equal(hub.servedBytes(), servedBefore, 'no file byte was fetched');
    assert.ok(!fs.existsSync(stagingDir(req.target)));
  });

  it('goes through the proxy that http.proxy or HTTP_PROXY names, and not for NO_PROXY hosts', async () => {
    const tunnels: string[] = [];
    const proxy = http.createServer();
    proxy.on('connect', (req, socket, head) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = net.connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const hubHost = new URL(hub.endpoint).host;
    const list = (network: NetworkSettings, env: Record<string, string>) =>
      new HttpClient(createDispatcher(network, env)).getJson(`${hub.endpoint}/api/models/${MODEL_REPO}/revision/main`);
    try {
      await list({ proxy: proxyUrl }, {});
      assert.deepEqual(tunnels, [hubHost], 'http.proxy');
      await list({}, { HTTP_PROXY: proxyUrl });
      assert.deepEqual(tunnels, [hubHost, hubHost], 'HTTP_PROXY');
      await list({}, { HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' });
      await list({ proxy: proxyUrl, noProxy: ['127.0.0.1'] }, {});
      assert.equal(tunnels.length, 2, 'NO_PROXY and http.noProxy go direct');
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});

describe('download helpers', () => {
  it('picks the GPU variant only when a GPU provider loads', () => {
    const probes = [
      { provider: 'cuda', loads: false, reason: 'no libcudart' },
      { provider: 'webgpu', loads: false, reason: 'no adapter' },
      { provider: 'cpu', loads: true },
    ];
    assert.equal(chooseVariant(probes, 'auto').variant.kind, 'cpu');
    assert.match(chooseVariant(probes, 'auto').reason, /cuda: no libcudart; webgpu: no adapter/);
    const cuda = probes.map((p) => (p.provider === 'cuda' ? { provider: 'cuda', loads: true } : p));
    assert.equal(chooseVariant(cuda, 'auto').variant.id, 'gpu-int4-rtn-block-32');
    assert.equal(chooseVariant(cuda, 'cpu').variant.kind, 'cpu', 'the setting wins');
    assert.equal(chooseVariant(cuda, 'webgpu').variant.kind, 'cpu', 'the provider asked for does not load');
  });

  it('measures speed over a window and formats sizes and durations', () => {
    const rate = new TransferRate(4000);
    assert.equal(rate.bytesPerSecond, 0);
    rate.add(0, 0);
    rate.add(1000, 10_000_000);
    assert.equal(rate.bytesPerSecond, 10_000_000);
    assert.equal(rate.secondsLeft(50_000_000), 5);
    for (let t = 2000; t <= 10_000; t += 1000) rate.add(t, 10_000_000); // a stall shows within the window
    assert.equal(rate.bytesPerSecond, 0);
    assert.equal(rate.secondsLeft(1), undefined);
    assert.equal(formatBytes(2_684_354_560), '2.5 GB');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatDuration(75), '1 min 15 s');
    assert.equal(formatDuration(3 * 3600 + 120), '3 h 02 min');
  });
});
