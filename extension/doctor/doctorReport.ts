// Phi: Doctor's report: one markdown document of what the extension sees, for the user and for a bug report.
// Built by a pure function from plain inputs (gathered by ./doctor.ts and ./systemInfo.ts), so a test can check every
// section. Paths stay as they are (the user sees what they would paste); no proxy password is ever an input.
import type { ModelFolderCheck, ProviderProbeResult, SidecarStatus } from '../../sidecar/protocol';
import type { EndpointCheck } from './endpointCheck';
import { formatBytes } from '../model/download/transferRate';
import type { ModelEntry } from '../model/modelLibrary';

export const DOCTOR_SECTIONS = ['Platform', 'Versions', 'Execution providers', 'Model', 'Remote engine', 'Disk', 'Sidecar', 'Network'] as const;

export interface SystemInfo {
  os: string;
  release: string;
  arch: string;
  cpuModel: string;
  cpuCount: number;
  totalMemoryBytes: number;
  freeMemoryBytes: number;
  nodeVersion: string;
}

export interface DiskReading {
  /** What the folder is for, e.g. "downloaded models". */
  label: string;
  dir: string;
  freeBytes?: number;
  error?: string;
}

export interface DoctorInputs {
  generatedAt: string;
  system: SystemInfo;
  versions: { vscode: string; extension: string; appHost?: string; remoteName?: string };
  providers: ProviderProbeResult | { error: string };
  executionProviderSetting: string;
  /** What the loaded model runs on, when one is loaded. */
  loaded?: { provider: string; backend: string; dir: string };
  model: {
    location?: { dir: string; source: string };
    check?: ModelFolderCheck | { error: string };
    present: ModelEntry[];
  };
  /** The remote engine's server check, when phiLocal.engine is remote. */
  remote?: EndpointCheck | { error: string };
  disk: DiskReading[];
  sidecar: { state: string; status?: SidecarStatus; error?: string };
  network: { endpoint: string; proxy: string; extraCaCerts: string; strictSSL: boolean };
}

function table(rows: [string, string][]): string[] {
  return ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`)];
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

export function buildDoctorReport(d: DoctorInputs): string {
  const out: string[] = ['# Phi Local: Doctor', '', `Generated ${d.generatedAt}. Copy this into a bug report; it holds no conversation text.`];
  const section = (name: (typeof DOCTOR_SECTIONS)[number]) => out.push('', `## ${name}`, '');

  section('Platform');
  out.push(...table([
    ['OS', `${d.system.os} ${d.system.release} (${d.system.arch})`],
    ['CPU', `${d.system.cpuModel}, ${d.system.cpuCount} logical cores`],
    ['Memory', `${formatBytes(d.system.totalMemoryBytes)} in all, ${formatBytes(d.system.freeMemoryBytes)} free (the model needs about 4 GB while it runs)`],
  ]));

  section('Versions');
  out.push(...table([
    ['Phi Local', d.versions.extension],
    ['VS Code', `${d.versions.vscode}${d.versions.appHost ? ` (${d.versions.appHost})` : ''}${d.versions.remoteName ? `, remote: ${d.versions.remoteName}` : ''}`],
    ['Node (extension host)', d.system.nodeVersion],
    ['ONNX Runtime', 'error' in d.providers ? 'unknown (the sidecar did not answer)' : d.providers.onnxruntimeVersion],
  ]));

  section('Execution providers');
  out.push(`Setting \`phiLocal.executionProvider\`: ${code(d.executionProviderSetting)}.` +
    (d.loaded ? ` The loaded model runs on **${d.loaded.provider}** (${d.loaded.backend}).` : ''), '');
  if ('error' in d.providers) {
    out.push(`Could not ask the sidecar: ${d.providers.error}`);
  } else {
    out.push('| provider | loads here | why not |', '|---|---|---|');
    for (const p of d.providers.providers) out.push(`| ${p.provider} | ${p.loads ? 'yes' : 'no'} | ${(p.reason ?? '').replace(/\|/g, '\\|')} |`);
  }

  section('Model');
  const loc = d.model.location;
  out.push(loc?.source === 'remote' ? `The model runs on the remote engine's server, ${code(loc.dir)} (see Remote engine).` : loc ? `Folder in use: ${code(loc.dir)} (from ${loc.source === 'environment' ? 'PHI_LOCAL_MODEL' : 'phiLocal.modelPath'}).` : 'No model folder is set: run **Phi: Download Model** or **Phi: Select Model Folder**.');
  const check = d.model.check;
  if (check && 'ok' in check) {
    out.push('', check.ok ? '**Checks: passed.**' : `**Checks: failed**: ${check.error?.message ?? 'unknown error'}${check.error?.file ? ` (file ${code(check.error.file)})` : ''}`);
    if (check.summary) {
      const s = check.summary;
      out.push('', `${s.modelType}, ${s.numLayers} layers, context ${s.contextLength.toLocaleString('en-US')} tokens, KV cache ${s.kvType}, exported for ${s.exportedFor.length ? s.exportedFor.join(', ') : 'the CPU'}.`);
    }
    for (const w of check.warnings) out.push(`- Warning: ${w}`);
    if (check.files.length) {
      out.push('', '| file | size |', '|---|---|');
      for (const f of check.files) out.push(`| ${f.name} | ${formatBytes(f.bytes)} |`);
    }
  } else if (check) {
    out.push('', `Could not check the folder: ${check.error}`);
  }
  out.push('', `Models on this machine: ${d.model.present.length || 'none'}`);
  for (const m of d.model.present) {
    out.push(`- ${m.variant?.label ?? m.id ?? 'folder'}: ${code(m.dir)}, ${formatBytes(m.bytes)}, ${m.kind}${m.active ? ', in use' : ''}`);
  }

  section('Remote engine');
  if (!d.remote) {
    out.push('Not used: `phiLocal.engine` is `local` (the model runs on this machine).');
  } else if ('error' in d.remote) {
    out.push(`Could not check it: ${d.remote.error}`);
  } else {
    const r = d.remote;
    out.push(`Server ${code(r.url)}${r.latencyMs !== undefined ? `, a 1-token answer in ${Math.round(r.latencyMs)} ms` : ''}.`, '');
    out.push('| check | | what | fix |', '|---|---|---|---|');
    for (const s of r.steps) out.push(`| ${s.name} | ${s.ok ? 'ok' : '**failed**'} | ${s.detail.replace(/\|/g, '\\|')} | ${(s.fix ?? '').replace(/\|/g, '\\|')} |`);
  }

  section('Disk');
  out.push('| folder | path | free |', '|---|---|---|');
  for (const r of d.disk) out.push(`| ${r.label} | ${code(r.dir)} | ${r.freeBytes !== undefined ? formatBytes(r.freeBytes) : `unknown (${r.error ?? 'no reading'})`} |`);

  section('Sidecar');
  const s = d.sidecar.status;
  out.push(...table([
    ['Connection', d.sidecar.state],
    ['Model state', s ? `${s.state}${s.loading ? ` (loading ${s.loading})` : ''}${s.error ? `: ${s.error.message}` : ''}` : d.sidecar.error ?? 'unknown'],
    ['Process', s ? `pid ${s.pid}, memory ${formatBytes(s.rssBytes)}` : '–'],
    ['Generating', s?.generating ? `${s.generating.tokens} tokens at ${s.generating.tokensPerSecond.toFixed(1)} tok/s` : 'no'],
  ]));

  section('Network');
  out.push(...table([
    ['Download endpoint', d.network.endpoint],
    ['Proxy', d.network.proxy],
    ['Extra CA certificates', d.network.extraCaCerts],
    ['Certificate checks', d.network.strictSSL ? 'on' : 'off (http.proxyStrictSSL is false)'],
  ]));
  return out.join('\n') + '\n';
}
