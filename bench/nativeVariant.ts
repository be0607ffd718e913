// A native-backend configuration for the tuning benchmarks (bench/profile.ts, bench/tune.ts), given as flags:
//   --accuracy-level 0..4   every MatMulNBits' accuracy_level, set in a copy of the rewritten graph (weights untouched)
//   --config key=value      a session configuration entry (e.g. session.intra_op.allow_spinning=0); repeatable
//   --opt-level 0|1|2|99    graph optimization level
//   --threads N             intra-op threads
//   --no-arena, --no-mem-pattern
import * as fs from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import onnxProto from 'onnx-proto';
import { lastLogitsGraph } from '../sidecar/engine/graphRewrite';
import type { ModelFolder } from '../sidecar/engine/modelFolder';
import type { NativeBackendOptions } from '../sidecar/engine/native/nativeBackend';

export const VARIANT_OPTIONS = {
  'accuracy-level': { type: 'string' },
  config: { type: 'string', multiple: true, default: [] as string[] },
  'opt-level': { type: 'string' },
  threads: { type: 'string' },
  'no-arena': { type: 'boolean', default: false },
  'no-mem-pattern': { type: 'boolean', default: false },
} satisfies NonNullable<ParseArgsConfig['options']>;

export interface NativeVariant {
  onnxFile: string;
  options: Omit<NativeBackendOptions, 'contextLength'>;
  description: string;
}

/** A copy of `onnxFile` beside it with every MatMulNBits' accuracy_level set to `level`. */
function withAccuracyLevel(onnxFile: string, level: number): string {
  const { onnx } = onnxProto;
  const target = onnxFile.replace(/\.onnx$/, `.phi-local-acc${level}.onnx`);
  if (fs.existsSync(target) && fs.statSync(target).mtimeMs >= fs.statSync(onnxFile).mtimeMs) return target;
  const model = onnx.ModelProto.decode(fs.readFileSync(onnxFile));
  for (const node of model.graph?.node ?? []) {
    if (node.opType !== 'MatMulNBits') continue;
    const attributes = node.attribute ?? [];
    const attr = attributes.find((a) => a.name === 'accuracy_level');
    if (attr) attr.i = level;
    else node.attribute = [...attributes, { name: 'accuracy_level', type: onnx.AttributeProto.AttributeType.INT, i: level }];
  }
  fs.writeFileSync(`${target}.tmp`, onnx.ModelProto.encode(model).finish());
  fs.renameSync(`${target}.tmp`, target);
  return target;
}

/**
 * Session configuration keys of ORT 1.30 (onnxruntime_session_options_config_keys.h) that tuning may set. ORT ignores
 * a key it does not know without a word (`session.intra_op.dynamic_block_base` is not one: the key is
 * `session.dynamic_block_base`), so others are refused here rather than measured as a no-op.
 */
const KNOWN_CONFIG_KEYS = new Set(['session.intra_op.allow_spinning', 'session.inter_op.allow_spinning', 'session.dynamic_block_base',
  'session.force_spinning_stop', 'session.intra_op_thread_affinities', 'session.set_denormal_as_zero', 'session.disable_prepacking',
  'session.use_env_allocators', 'mlas.use_lut_gemm', 'mlas.disable_kleidiai']);

/** Parsed variant flags (VARIANT_OPTIONS) → the graph file and backend options. */
export function nativeVariant(folder: ModelFolder, flags: Record<string, unknown>): NativeVariant {
  const graph = lastLogitsGraph(folder.onnxFile, folder.config.io.logits);
  if (graph.warning) process.stderr.write(`${graph.warning}\n`);
  const level = flags['accuracy-level'] as string | undefined;
  const sessionConfig = Object.fromEntries((flags.config as string[] | undefined ?? []).map((kv) => {
    const at = kv.indexOf('=');
    if (at < 1) throw new Error(`--config takes key=value, not ${kv}`);
    if (!KNOWN_CONFIG_KEYS.has(kv.slice(0, at))) throw new Error(`--config ${kv.slice(0, at)}: not a key ORT 1.30 reads (known: ${[...KNOWN_CONFIG_KEYS].join(', ')})`);
    return [kv.slice(0, at), kv.slice(at + 1)];
  }));
  return {
    onnxFile: level === undefined ? graph.onnxFile : withAccuracyLevel(graph.onnxFile, Number(level)),
    options: {
      threads: flags.threads ? Number(flags.threads) : undefined,
      logitsToKeepInput: graph.logitsToKeepInput,
      sessionConfig,
      graphOptimizationLevel: flags['opt-level'] ? Number(flags['opt-level']) : undefined,
      memArena: !flags['no-arena'],
      memPattern: !flags['no-mem-pattern'],
    },
    description: [level !== undefined ? `accuracy_level ${level}` : '', ...Object.entries(sessionConfig).map(([k, v]) => `${k}=${v}`),
      flags['opt-level'] ? `opt level ${flags['opt-level']}` : '', flags.threads ? `${flags.threads} threads` : '',
      flags['no-arena'] ? 'no arena' : '', flags['no-mem-pattern'] ? 'no mem pattern' : ''].filter(Boolean).join(', ') || 'defaults',
  };
}

/** Parses one variant's flags, e.g. '--accuracy-level 0 --config session.intra_op.allow_spinning=0'. */
export function parseVariantFlags(flags: string[]): Record<string, unknown> {
  return parseArgs({ args: flags, options: VARIANT_OPTIONS, strict: true }).values;
}
