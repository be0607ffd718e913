// npm run test:hardening: the hardening suite (test/hardening/, and the hardening checks that live beside the code
// they test), then a table of its figures: tried, refused, lost per check. `npm test` runs the same files (they are
// under test/), in the bounded form; PHI_LOCAL_SOAK_MINUTES=60 makes the soak an hour.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const HARDENING_FILES = ['test/hardening'];

const figures = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'phi-hardening-')), 'figures.jsonl');
const run = spawnSync(process.execPath, ['test/run.mjs', ...HARDENING_FILES], {
  stdio: 'inherit', env: { ...process.env, PHI_LOCAL_HARDENING_FIGURES: figures },
});
const rows = fs.existsSync(figures) ? fs.readFileSync(figures, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
const width = Math.max(5, ...rows.map((r) => r.check.length));
console.log(`\nHardening figures (${rows.length} checks)\n${'check'.padEnd(width)} | tried | refused | lost | what`);
console.log(`${'-'.repeat(width)}-|-------|---------|------|-----`);
for (const r of rows) console.log(`${r.check.padEnd(width)} | ${String(r.tried).padStart(5)} | ${String(r.refused).padStart(7)} | ${String(r.lost).padStart(4)} | ${r.note ?? ''}`);
fs.rmSync(path.dirname(figures), { recursive: true, force: true });
process.exit(run.status ?? 1);
