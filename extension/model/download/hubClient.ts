// The Hugging Face hub's ordinary endpoints, as any mirror of it serves them:
//   GET {endpoint}/api/models/{repo}/revision/{revision}               → { sha }   (pins the commit)
//   GET {endpoint}/api/models/{repo}/tree/{revision}/{folder}?recursive=true → [{ type, path, size, oid, lfs? }]
//   GET {endpoint}/{repo}/resolve/{revision}/{path}                    → the file (a 302 to the file host)
//
// What the listing publishes to check a file against: for a file stored with Git LFS (the weights, tokenizer.json)
// `lfs.oid` is the sha256 of its content. For a small file kept in git itself (genai_config.json, ...) the only
// published checksum is `oid`, its git blob id: sha1 over "blob <size>\0" + content, which is how git names
// content. The hub sends no sha256 for those (its resolve answer's ETag is that same blob id; X-Linked-Etag exists
// for LFS files only), so they are checked against the blob id, with their size.
import type { HttpClient } from './httpClient';
import { DownloadError } from './downloadError';

export type Checksum = { algorithm: 'sha256'; hex: string } | { algorithm: 'git-blob-sha1'; hex: string };

export interface RepoFile {
  /** Path in the repository, e.g. cpu_and_mobile/cpu-int4-rtn-block-32-acc-level-4/model.onnx. */
  path: string;
  size: number;
  checksum: Checksum;
}

interface TreeEntry {
  type?: string;
  path?: string;
  size?: number;
  oid?: string;
  lfs?: { oid?: string; size?: number };
}

/** The hub's URL for a file (each path segment escaped; the repo's slash stays). */
export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  const segments = file.split('/').map(encodeURIComponent).join('/');
  return `${trimEndpoint(endpoint)}/${repo}/resolve/${encodeURIComponent(revision)}/${segments}`;
}

export function trimEndpoint(endpoint: string): string {
  return endpoint.trim().replace(/\/+$/, '');
}

/** The `rel="next"` URL of a Link header (the tree listing comes in pages). */
function nextLink(link: string | string[] | undefined): string | undefined {
  const value = Array.isArray(link) ? link.join(',') : link;
  const m = value && /<([^>]+)>\s*;\s*rel="?next"?/.exec(value);
  return m ? m[1] : undefined;
}

export class HubClient {
  constructor(private readonly http: HttpClient, readonly endpoint: string) {}

  /** The commit a branch or tag points at, so every file comes from the same one; the name itself if the endpoint cannot say. */
  async resolveRevision(repo: string, revision: string, signal?: AbortSignal): Promise<string> {
    if (/^[0-9a-f]{40}$/.test(revision)) return revision;
    try {
      const { json } = await this.http.getJson(`${trimEndpoint(this.endpoint)}/api/models/${repo}/revision/${encodeURIComponent(revision)}`, signal);
      const sha = (json as { sha?: unknown })?.sha;
      return typeof sha === 'string' && /^[0-9a-f]{40}$/.test(sha) ? sha : revision;
    } catch (e) {
      // A mirror without this endpoint still serves the files by branch name; anything else (offline, 404 repo) is real.
      if (e instanceof DownloadError && (e.code === 'bad-response' || (e.code === 'http' && !e.retryable))) return revision;
      throw e;
    }
  }

  /** Every file under `folder` of the repository at `revision`, with its size and published checksum. */
  async listFiles(repo: string, revision: string, folder: string, signal?: AbortSignal): Promise<RepoFile[]> {
    const files: RepoFile[] = [];
    const folderPath = folder.split('/').filter(Boolean).map(encodeURIComponent).join('/');
    let url: string | undefined = `${trimEndpoint(this.endpoint)}/api/models/${repo}/tree/${encodeURIComponent(revision)}/${folderPath}?recursive=true`;
    for (let page = 0; url && page < 100; page++) {
      const { json, headers } = await this.http.getJson(url, signal);
      if (!Array.isArray(json)) throw new DownloadError('bad-response', `The hub's file list for ${repo}/${folder} is not a list.`);
      for (const entry of json as TreeEntry[]) {
        if (entry.type !== 'file' || typeof entry.path !== 'string' || typeof entry.size !== 'number') continue;
        files.push({ path: entry.path, size: entry.size, checksum: checksumOf(entry) });
      }
      url = nextLink(headers.link);
      if (url) url = new URL(url, this.endpoint).toString();
    }
    return files;
  }
}

function checksumOf(entry: TreeEntry): Checksum {
  if (entry.lfs?.oid && /^[0-9a-f]{64}$/.test(entry.lfs.oid)) return { algorithm: 'sha256', hex: entry.lfs.oid };
  if (entry.oid && /^[0-9a-f]{40}$/.test(entry.oid)) return { algorithm: 'git-blob-sha1', hex: entry.oid };
  throw new DownloadError('bad-response', `The hub's file list gives no checksum for ${entry.path}.`);
}
