// The models present on this machine: those downloaded into the extension's global storage (complete, or a
// download that stopped part-way), and the configured folder wherever it is. Pure (fs only): unit-tested.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCompleteMarker } from './download/modelDownload';
import { variantById, type ModelVariant } from './download/variants';

export interface ModelEntry {
  dir: string;
  /** The downloaded model's id (its folder name), when it is one of ours. */
  id?: string;
  variant?: ModelVariant;
  /** 'downloaded': complete, in global storage; 'incomplete': a download that stopped; 'folder': the configured folder. */
  kind: 'downloaded' | 'incomplete' | 'folder';
  bytes: number;
  /** The folder the settings point at. */
  active: boolean;
}

/** Bytes of every file under `dir`. */
export function folderBytes(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) total += folderBytes(full);
    else if (e.isFile()) total += fs.statSync(full).size;
  }
  return total;
}

function same(a: string | undefined, b: string | undefined): boolean {
  return !!a && !!b && path.resolve(a) === path.resolve(b);
}

/** What is in `modelsRoot` (downloads), plus `activeDir` when it lives elsewhere. */
export function listModels(modelsRoot: string | undefined, activeDir: string | undefined): ModelEntry[] {
  const entries: ModelEntry[] = [];
  let names: string[] = [];
  try {
    names = modelsRoot ? fs.readdirSync(modelsRoot).sort() : [];
  } catch {
    // no downloads yet
  }
  for (const name of names) {
    const dir = path.join(modelsRoot!, name);
    if (!fs.statSync(dir).isDirectory()) continue;
    const staging = /^\.(.+)\.download$/.exec(name);
    if (staging) {
      // A finished download was renamed away from this name, so one still here stopped part-way.
      entries.push({ dir, id: staging[1], variant: variantById(staging[1]), kind: 'incomplete', bytes: folderBytes(dir), active: false });
      continue;
    }
    const marker = readCompleteMarker(dir);
    if (!marker) continue;
    entries.push({ dir, id: name, variant: variantById(marker.variant), kind: 'downloaded', bytes: folderBytes(dir), active: same(dir, activeDir) });
  }
  if (activeDir && !entries.some((e) => e.active)) {
    const marker = readCompleteMarker(activeDir);
    entries.push({
      dir: path.resolve(activeDir), variant: marker ? variantById(marker.variant) : variantById(path.basename(activeDir)),
      kind: 'folder', bytes: folderBytes(activeDir), active: true,
    });
  }
  return entries;
}

/**
 * Whether Phi Local may delete this folder: only what it downloaded itself, directly under `modelsRoot` (never a
 * folder the user pointed at, even one holding a download marker: a marker is easy to copy anywhere).
 */
export function deletable(entry: ModelEntry, modelsRoot: string): boolean {
  if (path.dirname(path.resolve(entry.dir)) !== path.resolve(modelsRoot)) return false;
  return entry.kind === 'incomplete' || readCompleteMarker(entry.dir) !== undefined;
}
