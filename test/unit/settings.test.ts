// package.json's contributed settings against their one home in the code: the defaults (extension/settingDefaults.ts,
// which config.ts falls back to) and the execution providers (EXECUTION_PROVIDERS in sidecar/protocol.ts).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { SETTING_DEFAULTS } from '../../extension/settingDefaults';
import { providerCandidates } from '../../sidecar/engine/executionProvider';
import { EXECUTION_PROVIDER_CHOICES, EXECUTION_PROVIDER_NAMES } from '../../sidecar/protocol';

const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
const sections = [manifest.contributes.configuration].flat() as { properties: Record<string, { default?: unknown; enum?: string[] }> }[];
const properties = Object.assign({}, ...sections.map((s) => s.properties)) as Record<string, { default?: unknown; enum?: string[] }>;

describe('package.json settings', () => {
  it('declares exactly the settings that have a default in settingDefaults.ts, with the same defaults', () => {
    const declared = Object.keys(properties).filter((k) => k.startsWith('phiLocal.')).map((k) => k.slice('phiLocal.'.length));
    assert.deepEqual(declared.sort(), Object.keys(SETTING_DEFAULTS).sort());
    for (const [key, value] of Object.entries(SETTING_DEFAULTS)) {
      assert.deepEqual(properties[`phiLocal.${key}`].default, value, `phiLocal.${key}`);
    }
  });

  it('offers exactly the execution providers of EXECUTION_PROVIDERS, and auto', () => {
    assert.deepEqual([...properties['phiLocal.executionProvider'].enum!].sort(), [...EXECUTION_PROVIDER_CHOICES].sort());
  });
});

describe('execution providers', () => {
  it('tries the GPUs each platform can have, best first, the CPU last', () => {
    assert.deepEqual(EXECUTION_PROVIDER_NAMES, ['cuda', 'dml', 'webgpu', 'cpu']);
    assert.deepEqual(providerCandidates('auto', 'win32'), ['cuda', 'dml', 'webgpu', 'cpu']);
    assert.deepEqual(providerCandidates('auto', 'linux'), ['cuda', 'webgpu', 'cpu']);
    assert.deepEqual(providerCandidates('auto', 'darwin'), ['webgpu', 'cpu']);
    assert.deepEqual(providerCandidates('auto', 'aix'), ['cpu']);
    assert.deepEqual(providerCandidates('cuda', 'linux'), ['cuda', 'cpu']);
  });
});
