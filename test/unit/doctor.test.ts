// Phi: Doctor's report, built from real readings of this machine: the platform, the sidecar's real provider probe
// and model folder checks (run in-process here, the same functions the sidecar answers with), free disk, and the
// models present. Only the sidecar's connection state and status are written by hand (no sidecar process runs).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { buildDoctorReport, DOCTOR_SECTIONS, type DoctorInputs } from '../../extension/doctor/doctorReport';
import { diskReading, systemInfo } from '../../extension/doctor/systemInfo';
import { listModels } from '../../extension/model/modelLibrary';
import { checkModelFolder, probeProviders } from '../../sidecar/diagnostics';
import { ensureModel } from '../fixtures/models';

describe('Phi: Doctor report', () => {
  it('lists every section, with this machine\'s readings', async () => {
    const model = ensureModel('tiny');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-doctor-'));
    try {
      const providers = await probeProviders();
      const inputs: DoctorInputs = {
        generatedAt: new Date().toISOString(),
        system: systemInfo(),
        versions: { vscode: '1.100.3', extension: '0.1.0', appHost: 'desktop' },
        providers,
        executionProviderSetting: 'auto',
        model: { location: { dir: model, source: 'environment' }, check: checkModelFolder(model), present: listModels(root, model) },
        disk: [await diskReading('downloaded models', path.join(root, 'models')), await diskReading('the model folder in use', model)],
        sidecar: { state: 'running', status: { state: 'no-model', queued: 0, pid: process.pid, rssBytes: process.memoryUsage().rss } },
        network: { endpoint: 'http://127.0.0.1:9', proxy: 'none', extraCaCerts: 'none', strictSSL: true },
      };
      const report = buildDoctorReport(inputs);
      const headings = [...report.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
      assert.deepEqual(headings, [...DOCTOR_SECTIONS]);
      assert.match(report, new RegExp(`${os.type()} ${os.release().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.match(report, new RegExp(`${os.cpus().length} logical cores|${os.availableParallelism()} logical cores`));
      assert.match(report, new RegExp(`Node \\(extension host\\) \\| ${process.version.replace(/\./g, '\\.')}`));
      assert.match(report, /\| cpu \| yes \| {2}\|/, 'the CPU provider loads');
      for (const p of providers.providers.filter((x) => !x.loads)) {
        assert.ok(report.includes(`| ${p.provider} | no | `) && p.reason, `${p.provider} has a reason`);
      }
      assert.match(report, /ONNX Runtime \| 1\.\d+/);
      assert.match(report, /\*\*Checks: passed\.\*\*/);
      assert.match(report, /phi3, 2 layers, context 8,192 tokens, KV cache float32/);
      assert.match(report, /\| model\.onnx\.data \| 115 MB \|/);
      assert.match(report, /\| downloaded models \| `.*models` \| \d[\d.]* (MB|GB|TB) \|/, 'free space of a folder that does not exist yet comes from its parent');
      assert.match(report, /pid \d+, memory \d+/);
      assert.match(report, /Download endpoint \| http:\/\/127\.0\.0\.1:9/);

      // A broken folder: the check names the file.
      const broken = buildDoctorReport({ ...inputs, model: { ...inputs.model, check: checkModelFolder(root) } });
      assert.match(broken, /\*\*Checks: failed\*\*: genai_config\.json is missing .* \(file `genai_config\.json`\)/);
      // No sidecar: each section still says something.
      const down = buildDoctorReport({ ...inputs, providers: { error: 'The sidecar did not start.' }, sidecar: { state: 'failed', error: 'it did not answer' } });
      assert.deepEqual([...down.matchAll(/^## (.+)$/gm)].map((m) => m[1]), [...DOCTOR_SECTIONS]);
      assert.match(down, /Could not ask the sidecar: The sidecar did not start\./);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
