// Load-time rewrite of the official graph: the export computes the lm head (a 200k-wide MatMulNBits) for every
// prompt position, though generation needs only the last one; that is about a third of prefill time and a
// logits buffer of vocab × positions floats. The rewrite slices the hidden states to the last `logits_to_keep`
// positions just before the lm head (1 for plain decoding; more for callers that need every position's logits).
// Weights are not touched: the rewritten model.onnx is written into the model folder itself, next to the original
// (ORT 1.30 refuses external data paths that leave the model's folder), and reused while the original is unchanged.
// MatMulNBits' accuracy_level is left as exported (4 = int8 compute on the CPU): fp32 compute measured ~3× slower
// per decode step even on an AVX2 CPU without VNNI (see nativeBackend.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type Model = onnxProto.onnx.ModelProto;
type Node = onnxProto.onnx.INodeProto;

/** The int64 [1] input the rewritten graph takes: how many last positions get logits. */
export const LOGITS_TO_KEEP = 'logits_to_keep';
/** Bump when the rewrite changes, so that older cached copies are redone. */
const REWRITE_VERSION = 1;
const STAMP_KEY = 'phi_local.last_logits_rewrite';
const INT64_MAX = 0x7fffffffffffffffn;

export interface GraphChoice {
  /** The model file to load. */
  onnxFile: string;
  /** Set when `onnxFile` is the rewritten graph: the input to feed with the number of logit rows wanted. */
  logitsToKeepInput?: string;
  /** Why the official graph runs unmodified, for the model's warnings. */
  warning?: string;
}

export function rewrittenPath(onnxFile: string): string {
  return path.join(path.dirname(onnxFile), `${path.basename(onnxFile, '.onnx')}.phi-local-last-logits.onnx`);
}

/** The rewritten graph for `onnxFile` (made now, or reused), or the original with the reason it is not rewritten. */
export function lastLogitsGraph(onnxFile: string, logitsName: string): GraphChoice {
  const unmodified = (reason: string): GraphChoice => ({
    onnxFile,
    warning: `${path.basename(onnxFile)} runs unmodified, computing logits for every prompt position (slower prefill, more memory): ${reason}`,
  });
  const target = rewrittenPath(onnxFile);
  const source = fs.statSync(onnxFile);
  const stamp = JSON.stringify({ version: REWRITE_VERSION, source: path.basename(onnxFile), size: source.size, mtimeMs: source.mtimeMs });
  const rewritten = { onnxFile: target, logitsToKeepInput: LOGITS_TO_KEEP };
  if (readStamp(target) === stamp) return rewritten;

  const bytes = fs.readFileSync(onnxFile);
  let model: Model;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    return unmodified(`it could not be parsed (${(e as Error).message}).`);
  }
  // The schema here is ONNX 1.10's: a field it does not know would be dropped on re-encoding, so only a model that
  // survives a byte-exact round trip is rewritten.
  if (Buffer.compare(Buffer.from(onnx.ModelProto.encode(model).finish()), bytes) !== 0) {
    return unmodified('it uses ONNX fields newer than the rewrite understands.');
  }
  const problem = sliceBeforeLmHead(model, logitsName);
  if (problem) return unmodified(`${problem}.`);
  model.metadataProps = [...model.metadataProps, { key: STAMP_KEY, value: stamp }]; // may be a frozen empty array
  const temporary = `${target}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temporary, onnx.ModelProto.encode(model).finish());
    fs.renameSync(temporary, target); // atomic: a concurrent loader sees the old file or the whole new one
  } catch (e) {
    fs.rmSync(temporary, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    const readOnly = code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
    return unmodified(readOnly
      ? `the model folder is read-only, so the rewritten graph cannot be saved beside it (${target}).`
      : `could not write ${target} (${(e as Error).message}).`);
  }
  return rewritten;
}

/** The stamp of a previously rewritten file, or undefined when there is none (or it is unreadable). */
function readStamp(file: string): string | undefined {
  try {
    const model = onnx.ModelProto.decode(fs.readFileSync(file));
    return model.metadataProps.find((p) => p.key === STAMP_KEY)?.value ?? undefined;
  } catch {
    return undefined;
  }
}

function int64Initializer(name: string, value: bigint): onnxProto.onnx.ITensorProto {
  const raw = Buffer.alloc(8);
  raw.writeBigInt64LE(value);
  return { name, dims: [1], dataType: onnx.TensorProto.DataType.INT64, rawData: raw };
}

/**
 * Rewires the lm head to read only the last `logits_to_keep` positions. Returns what prevented it, or undefined.
 * The lm head is found by structure: the MatMulNBits (or MatMul) that produces the logits output, possibly through
 * position-wise Cast or bias Add nodes.
 */
export function sliceBeforeLmHead(model: Model, logitsName: string): string | undefined {
  const graph = model.graph as onnxProto.onnx.GraphProto | null | undefined; // decoded: repeated fields are arrays
  if (!graph) return 'it holds no graph';
  const nodes = graph.node;
  const output = graph.output.find((o) => o.name === logitsName);
  if (!output) return `it has no output \`${logitsName}\``;
  if (graph.input.some((i) => i.name === LOGITS_TO_KEEP)) return `it already has an input \`${LOGITS_TO_KEEP}\``;
  const opset = model.opsetImport.find((o) => !o.domain)?.version;
  if (!(Number(opset) >= 13)) return `its default opset is ${opset}, older than the rewrite needs (13)`;
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const consumers = (tensor: string) => nodes.filter((n) => n.input?.includes(tensor)).length;

  // Walk back from the logits through position-wise nodes to the lm head.
  const chain: string[] = [logitsName];
  let lmHead: Node | undefined;
  let tensor = logitsName;
  for (let hops = 0; hops < 4 && !lmHead; hops++) {
    const producer = nodes.find((n) => n.output?.includes(tensor));
    if (!producer) return `\`${tensor}\` is not computed by any node`;
    const op = `${producer.domain || ''}:${producer.opType}`;
    if (op === 'com.microsoft:MatMulNBits' || op === ':MatMul') {
      lmHead = producer;
    } else if (op === ':Cast' || (op === ':Add' && producer.input?.length === 2 && producer.input.some((i) => initializers.has(i)))) {
      tensor = producer.input!.find((i) => !initializers.has(i))!;
      if (consumers(tensor) !== 1 || graph.output.some((o) => o.name === tensor)) return `\`${tensor}\` is used elsewhere too`;
      chain.push(tensor);
    } else {
      return `the logits come from a ${producer.opType} node, where the rewrite expects the lm head's MatMulNBits`;
    }
  }
  if (!lmHead) return 'the lm head was not found within a few nodes of the logits';

  const hidden = lmHead.input![0];
  const prefix = '/phi_local/last_logits';
  const start = `${prefix}/start`, end = `${prefix}/end`, axis = `${prefix}/axis`, sliced = `${prefix}/hidden`;
  // New arrays throughout: a decoded message's empty repeated field is a shared frozen array.
  graph.initializer = [...graph.initializer, int64Initializer(end, INT64_MAX), int64Initializer(axis, 1n)] as onnxProto.onnx.TensorProto[];
  graph.input = [...graph.input, {
    name: LOGITS_TO_KEEP,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.INT64, shape: { dim: [{ dimValue: 1 }] } } },
  }] as onnxProto.onnx.ValueInfoProto[];
  // Inserted right before the lm head, so the node list stays in topological order.
  const at = nodes.indexOf(lmHead as onnxProto.onnx.NodeProto);
  graph.node = [...nodes.slice(0, at),
    { name: `${prefix}/Neg`, opType: 'Neg', input: [LOGITS_TO_KEEP], output: [start] },
    { name: `${prefix}/Slice`, opType: 'Slice', input: [hidden, start, end, axis], output: [sliced] },
    ...nodes.slice(at)] as onnxProto.onnx.NodeProto[];
  lmHead.input![0] = sliced;
  // Shapes declared for the old per-position tensors no longer hold.
  graph.valueInfo = graph.valueInfo.filter((v) => !chain.includes(v.name ?? '') && v.name !== lmHead!.output?.[0]);
  const dims = output.type?.tensorType?.shape?.dim;
  if (dims && dims.length === 3) output.type!.tensorType!.shape!.dim = [dims[0], { dimParam: LOGITS_TO_KEEP }, dims[2]] as typeof dims;
  return undefined;
}
