// The protocol module: its own types (it imports nothing from an engine) and every method in exactly one direction.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as protocol from '../../sidecar/protocol';

describe('sidecar/protocol.ts', () => {
  it('declares each method in exactly one direction', () => {
    // RequestType / NotificationType objects: a method name and a parameter count.
    const isMethod = (v: unknown): v is { method: string } =>
      typeof v === 'object' && v !== null && typeof (v as { method?: unknown }).method === 'string' && typeof (v as { numberOfParams?: unknown }).numberOfParams === 'number';
    const methods = Object.entries(protocol).filter(([, v]) => isMethod(v)) as [string, { method: string }][];
    assert.ok(methods.length >= 12, `${methods.length} methods`);
    const toSidecar = new Set(Object.values(protocol.ClientToSidecar).map((m) => m.method));
    const toClient = new Set(Object.values(protocol.SidecarToClient).map((m) => m.method));
    for (const [name, m] of methods) {
      assert.ok(toSidecar.has(m.method) !== toClient.has(m.method), `${name} (${m.method}) is in ${toSidecar.has(m.method) ? 'both directions' : 'neither direction'}`);
    }
    assert.equal(toSidecar.size + toClient.size, methods.length);
  });

  it('imports nothing but the protocol library (no engine types on the wire)', () => {
    const source = fs.readFileSync(path.join(__dirname, '..', '..', 'sidecar', 'protocol.ts'), 'utf8');
    const imports = [...source.matchAll(/^import[^;]*from '([^']+)'/gm)].map((m) => m[1]);
    assert.deepEqual(imports, ['vscode-languageserver-protocol']);
  });
});
