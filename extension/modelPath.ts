// Which model folder to use: the `phiLocal.modelPath` setting, else the PHI_LOCAL_MODEL environment variable
// (what `npm start` and the end-to-end tests set). The setting holds a folder, or the id of a downloaded model
// (`cpu-int4-rtn-block-32-acc-level-4`: its folder under `modelsRoot`, the extension's global storage).
// Pure: no vscode, so it is unit-tested.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const MODEL_ENV_VAR = 'PHI_LOCAL_MODEL';
/** Beside the downloaded models (<global storage>/models): the tokenizer files alone, for the remote engine. */
export const TOKENIZER_FOLDER = 'tokenizer';

export interface ModelLocation {
  dir: string;
  /** 'remote': the remote engine's server (phiLocal.remote.url), whose model the sidecar connects to. */
  source: 'setting' | 'environment' | 'remote';
}

/** The folder of a downloaded model named by its id, when `value` is one (a plain name that exists there). */
function downloadedModelDir(value: string, root: string | undefined): string | undefined {
  if (!root || !/^[A-Za-z0-9][\w.-]*$/.test(value)) return undefined;
  const dir = path.join(root, value);
  return fs.existsSync(dir) ? dir : undefined;
}

/**
 * The folder to load, or undefined when neither the setting nor the environment names one. `~` is the home
 * folder; a relative path is taken from the first workspace folder (or the home folder without one).
 */
export function resolveModelLocation(
  setting: string | undefined,
  env: Record<string, string | undefined> = process.env,
  workspaceFolder?: string,
  home = os.homedir(),
  /** Where downloaded models live (<global storage>/models); without it, an id is just a relative path. */
  modelsRoot?: string,
): ModelLocation | undefined {
  const fromSetting = setting?.trim();
  const raw = fromSetting || env[MODEL_ENV_VAR]?.trim();
  if (!raw) return undefined;
  const downloaded = downloadedModelDir(raw, modelsRoot);
  if (downloaded) return { dir: path.normalize(downloaded), source: fromSetting ? 'setting' : 'environment' };
  let dir = raw === '~' ? home : raw.startsWith('~/') || raw.startsWith('~\\') ? path.join(home, raw.slice(2)) : raw;
  if (!path.isAbsolute(dir)) dir = path.resolve(workspaceFolder ?? home, dir);
  return { dir: path.normalize(dir), source: fromSetting ? 'setting' : 'environment' };
}

/** Whether the demo label is on (`npm start -- --demo` sets PHI_LOCAL_DEMO=1 for a generated, random-weight model). */
export function isDemo(env: Record<string, string | undefined> = process.env): boolean {
  const v = env.PHI_LOCAL_DEMO?.trim().toLowerCase();
  return !!v && v !== '0' && v !== 'false';
}
