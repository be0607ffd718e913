// The readings of this machine Phi: Doctor reports that need no vscode: platform, CPU, memory, free disk.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import type { DiskReading, SystemInfo } from './doctorReport';

export function systemInfo(): SystemInfo {
  const cpus = os.cpus();
  return {
    os: os.type(), release: os.release(), arch: os.arch(),
    cpuModel: cpus[0]?.model.trim() || 'unknown', cpuCount: os.availableParallelism?.() ?? cpus.length,
    totalMemoryBytes: os.totalmem(), freeMemoryBytes: os.freemem(), nodeVersion: process.version,
  };
}

/** Free space for `dir`, or for the nearest folder above it that exists (a download folder may not exist yet). */
export async function diskReading(label: string, dir: string): Promise<DiskReading> {
  let probe = dir;
  for (;;) {
    try {
      const s = await fs.statfs(probe);
      return { label, dir, freeBytes: s.bavail * s.bsize };
    } catch (e) {
      const parent = probe.replace(/[\\/][^\\/]*$/, '');
      if (!parent || parent === probe) return { label, dir, error: (e as Error).message };
      probe = parent;
    }
  }
}
