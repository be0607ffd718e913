// A whole model folder: plan (which files, how big, their checksums), check the disk, fetch each file, and only then
// make the folder look complete. Files go into a staging folder next to the target (`.<name>.download/`); once every
// file is verified a marker (COMPLETE_MARKER) is written there and the staging folder is renamed to the target. So a
// folder under the target's name is always complete, and a cancel or a crash leaves only the staging folder, which
// the next download resumes from. One download at a time per folder, across windows (downloadLock.ts).
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { lockDownload } from './downloadLock';
import { cancelled, DownloadError } from './downloadError';
import { downloadFile, PART_SUFFIX, type FileDownloadOptions } from './fileDownloader';
import { HubClient, resolveUrl, type Checksum } from './hubClient';
import type { HttpClient } from './httpClient';
import { formatBytes, TransferRate } from './transferRate';
import { DEFAULT_REVISION, manualCopyHelp, MODEL_REPO, type ModelVariant } from './variants';

/** Written into a downloaded folder once every file is verified: what it is and where it came from. */
export const COMPLETE_MARKER = 'phi-local-download.json';
/** Room left over besides the files (the engine writes a small rewritten graph beside model.onnx at load). */
export const DISK_MARGIN_BYTES = 64 * 1024 * 1024;

export interface DownloadRequest {
  variant: ModelVariant;
  /** The folder the model ends up in, e.g. <global storage>/models/<variant id>. */
  target: string;
  endpoint: string;
  repo?: string;
  revision?: string;
  /** Only these files of the variant's folder (those it has): e.g. TOKENIZER_FILES for the remote engine. */
  only?: readonly string[];
}

export interface PlannedFile {
  /** Path inside the model folder. */
  name: string;
  size: number;
  checksum: Checksum;
  url: string;
}

export interface DownloadPlan {
  repo: string;
  revision: string;
  /** The commit every file comes from (or the revision name when the endpoint cannot say). */
  commit: string;
  files: PlannedFile[];
  totalBytes: number;
}

export interface CompleteMarker {
  repo: string;
  folder: string;
  variant: string;
  endpoint: string;
  commit: string;
  files: { name: string; size: number; checksum: Checksum }[];
  totalBytes: number;
  completedAt: string;
}

export interface DownloadProgress {
  doneBytes: number;
  totalBytes: number;
  /** The file being fetched. */
  file: string;
  fileIndex: number;
  fileCount: number;
  bytesPerSecond: number;
  secondsLeft?: number;
}

export interface DownloadDeps {
  http: HttpClient;
  /** Free bytes for the folder (injected by tests); default fs.statfs. */
  freeBytes?: (dir: string) => Promise<number>;
  now?: () => number;
  log?: (message: string) => void;
  /** Passed to each file's download (retry count and backoff; tests make them short). */
  retry?: Pick<FileDownloadOptions, 'maxAttempts' | 'backoffMs'>;
}

export interface DownloadOutcome {
  dir: string;
  plan?: DownloadPlan;
  /** True when the folder was already complete and nothing was fetched. */
  alreadyComplete: boolean;
  fetchedBytes: number;
  reusedBytes: number;
}

export function stagingDir(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.download`);
}

export function readCompleteMarker(dir: string): CompleteMarker | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, COMPLETE_MARKER), 'utf8')) as CompleteMarker;
    return typeof m?.variant === 'string' && Array.isArray(m.files) ? m : undefined;
  } catch {
    return undefined;
  }
}

async function defaultFreeBytes(dir: string): Promise<number> {
  const s = await fsp.statfs(dir);
  return s.bavail * s.bsize;
}

/** A listed name that stays inside the model folder (the listing comes from the network: no `..`, no absolute paths). */
function safeName(name: string): boolean {
  return name.length > 0 && !path.isAbsolute(name) && !name.split(/[\\/]/).some((s) => s === '..' || s === '' || s === '.') && !name.endsWith(PART_SUFFIX);
}

/** Lists the variant's files on the hub. An unreachable hub gets the way to copy the folder in by hand. */
export async function planDownload(request: DownloadRequest, http: HttpClient, signal?: AbortSignal): Promise<DownloadPlan> {
  const repo = request.repo ?? MODEL_REPO;
  const revision = request.revision ?? DEFAULT_REVISION;
  const hub = new HubClient(http, request.endpoint);
  const folder = request.variant.repoFolder.replace(/\/+$/, '');
  try {
    const commit = await hub.resolveRevision(repo, revision, signal);
    const listed = await hub.listFiles(repo, commit, folder, signal);
    const files: PlannedFile[] = [];
    for (const f of listed) {
      if (!f.path.startsWith(folder + '/')) continue;
      const name = f.path.slice(folder.length + 1);
      if (!safeName(name)) throw new DownloadError('bad-response', `The hub's file list names a file outside the model folder: ${f.path}.`);
      if (request.only && !request.only.includes(name)) continue;
      files.push({ name, size: f.size, checksum: f.checksum, url: resolveUrl(request.endpoint, repo, commit, f.path) });
    }
    if (files.length === 0) {
      throw new DownloadError('not-found', `${repo} has no files under ${folder}/ at ${revision} on ${request.endpoint}. Check "phiLocal.download.endpoint".`);
    }
    return { repo, revision, commit, files, totalBytes: files.reduce((n, f) => n + f.size, 0) };
  } catch (e) {
    if (signal?.aborted) throw cancelled();
    if (e instanceof DownloadError && e.code === 'offline') {
      throw new DownloadError('offline', `${e.message} ${manualCopyHelp(request.variant)}`);
    }
    throw e;
  }
}

/** Bytes of the plan's files already in the staging folder (finished files, and parts). */
function bytesOnDisk(staging: string, plan: DownloadPlan): number {
  let n = 0;
  for (const f of plan.files) {
    const done = fileSize(path.join(staging, f.name));
    n += done === f.size ? done : Math.min(Math.max(fileSize(path.join(staging, f.name) + PART_SUFFIX), 0), f.size);
  }
  return n;
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return -1;
  }
}

/**
 * Removes whatever the staging folder holds besides the plan's files (another version's files, stray parts, a copy
 * put there by hand): each plan file was checked against its size and checksum as it was written or reused, so after
 * this everything renamed into the model folder is checked.
 */
async function removeUnlisted(staging: string, plan: DownloadPlan, log: (message: string) => void): Promise<void> {
  const listed = new Set(plan.files.map((f) => path.join(f.name)));
  for (const entry of (await fsp.readdir(staging, { recursive: true })).sort().reverse()) {
    const full = path.join(staging, entry);
    const stat = await fsp.lstat(full).catch(() => undefined);
    if (!stat || listed.has(path.join(entry))) continue;
    // Deepest first (reverse order): a folder is removed only once it is empty, so one that holds listed files stays.
    if (stat.isDirectory()) {
      await fsp.rmdir(full).catch(() => undefined);
      continue;
    }
    log(`${entry}: in the staging folder but not among the published files; removed, not carried into the model folder.`);
    await fsp.rm(full, { force: true });
  }
}

/**
 * Downloads the variant into `request.target` (resuming a staging folder left by an earlier try). Refuses before the
 * first byte when the disk lacks room. Cancel with `signal`: the staging folder stays (incomplete, no marker) to
 * be resumed.
 */
export async function downloadModel(
  request: DownloadRequest,
  deps: DownloadDeps,
  options: { signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void; onPlan?: (plan: DownloadPlan) => void } = {},
): Promise<DownloadOutcome> {
  const { target } = request;
  if (readCompleteMarker(target)) return { dir: target, alreadyComplete: true, fetchedBytes: 0, reusedBytes: 0 };
  if (fs.existsSync(target) && fs.readdirSync(target).length > 0) {
    throw new DownloadError('target', `${target} already exists and is not a finished download. Delete it (or choose another folder) and download again.`);
  }
  const lock = await lockDownload(stagingDir(target));
  try {
    return await downloadLocked(request, deps, options);
  } finally {
    await lock.release();
  }
}

/** downloadModel's work, while this process holds the staging folder's lock. */
async function downloadLocked(
  request: DownloadRequest,
  deps: DownloadDeps,
  options: { signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void; onPlan?: (plan: DownloadPlan) => void },
): Promise<DownloadOutcome> {
  const { signal, onProgress } = options;
  const { target } = request;
  const log = deps.log ?? (() => undefined);
  const now = deps.now ?? (() => performance.now());
  const plan = await planDownload(request, deps.http, signal);
  options.onPlan?.(plan);
  const staging = stagingDir(target);
  const parent = path.dirname(target);
  await fsp.mkdir(parent, { recursive: true });
  const onDisk = fs.existsSync(staging) ? bytesOnDisk(staging, plan) : 0;
  const needed = plan.totalBytes - onDisk + DISK_MARGIN_BYTES;
  const free = await (deps.freeBytes ?? defaultFreeBytes)(parent);
  if (free < needed) {
    throw new DownloadError('disk-space', `Not enough disk space in ${parent}: the model needs ${formatBytes(needed)} more ` +
      `(${formatBytes(plan.totalBytes)} in all${onDisk ? `, ${formatBytes(onDisk)} already downloaded` : ''}), and ${formatBytes(free)} is free. ` +
      'Free some space, or download into another folder.');
  }
  log(`Downloading ${plan.repo}/${request.variant.repoFolder} (${plan.files.length} files, ${formatBytes(plan.totalBytes)}, commit ${plan.commit}) into ${target}` +
    `${onDisk ? `; ${formatBytes(onDisk)} already on disk` : ''}.`);
  await fsp.mkdir(staging, { recursive: true });

  const rate = new TransferRate();
  let completedBytes = 0;
  let fetchedBytes = 0;
  let reusedBytes = 0;
  let networkBytes = 0; // for the speed: what came over the network, not what was found on disk
  let lastReport = -Infinity;
  const report = (file: PlannedFile, index: number, doneBytes: number, force: boolean) => {
    const t = now();
    rate.add(t, networkBytes);
    if (!force && t - lastReport < 250) return;
    lastReport = t;
    onProgress?.({
      doneBytes, totalBytes: plan.totalBytes, file: file.name, fileIndex: index, fileCount: plan.files.length,
      bytesPerSecond: rate.bytesPerSecond, secondsLeft: rate.secondsLeft(plan.totalBytes - doneBytes),
    });
  };
  for (const [index, file] of plan.files.entries()) {
    if (signal?.aborted) throw cancelled();
    const dest = path.join(staging, file.name);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    let last = -1;
    const result = await downloadFile(deps.http, { url: file.url, dest, size: file.size, checksum: file.checksum, name: file.name }, {
      signal, log, ...deps.retry,
      onProgress: (bytes) => {
        // The first report is what was on disk already; after that, growth came over the network.
        if (last >= 0 && bytes > last) networkBytes += bytes - last;
        last = bytes;
        report(file, index, completedBytes + bytes, false);
      },
    }).catch((e: unknown) => {
      // Something on the way cuts the file short every time: a download on this network will not get it.
      if (e instanceof DownloadError && e.code === 'truncated') throw new DownloadError(e.code, `${e.message} ${manualCopyHelp(request.variant)}`);
      throw e;
    });
    fetchedBytes += result.fetchedBytes;
    reusedBytes += result.reusedBytes;
    completedBytes += file.size;
    report(file, index, completedBytes, true);
  }

  await removeUnlisted(staging, plan, log);
  const marker: CompleteMarker = {
    repo: plan.repo, folder: request.variant.repoFolder, variant: request.variant.id, endpoint: request.endpoint,
    commit: plan.commit, files: plan.files.map(({ name, size, checksum }) => ({ name, size, checksum })),
    totalBytes: plan.totalBytes, completedAt: new Date().toISOString(),
  };
  const markerTmp = path.join(staging, COMPLETE_MARKER + '.tmp');
  await fsp.writeFile(markerTmp, JSON.stringify(marker, null, 2) + '\n');
  await fsp.rename(markerTmp, path.join(staging, COMPLETE_MARKER));
  if (fs.existsSync(target)) await fsp.rmdir(target).catch(() => undefined); // an empty folder picked as the target
  await fsp.rename(staging, target);
  log(`Downloaded ${plan.files.length} files into ${target}: ${formatBytes(fetchedBytes)} fetched, ${formatBytes(reusedBytes)} resumed from disk.`);
  return { dir: target, plan, alreadyComplete: false, fetchedBytes, reusedBytes };
}
