// Where a model's prompt heads are kept on disk (sidecar/engine/prefixStore.ts): one folder per model folder under
// the cache root, so that deleting a model (extension/model/) deletes its heads with it.
import { createHash } from 'node:crypto';
import * as path from 'node:path';

export function prefixCacheFolder(root: string, modelDir: string): string {
  return path.join(root, createHash('sha256').update(path.resolve(modelDir)).digest('hex').slice(0, 16));
}

/** The cache root inside the extension's global storage. */
export function prefixCacheRoot(globalStorage: string): string {
  return path.join(globalStorage, 'prompt-cache');
}
