// Reads what the engine needs to know about a model.onnx before handing it to ONNX Runtime: the graph's
// inputs and outputs (names, element types, shapes) and which external data files it refers to, up to which
// byte. Weights stay on disk: only the small graph file is parsed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type ElementType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'other';

export interface GraphValue {
  name: string;
  type: ElementType;
  /** Dimensions: a number when fixed, the symbolic name when not. */
  dims: Array<number | string>;
}

export interface ExternalDataRef {
  /** File name relative to the model.onnx folder. */
  location: string;
  /** The highest byte offset any initializer needs from it. */
  requiredBytes: number;
}

export interface GraphSummary {
  inputs: GraphValue[];
  outputs: GraphValue[];
  externalData: ExternalDataRef[];
  /** op types used anywhere in the main graph, with their domains (`com.microsoft:GroupQueryAttention`). */
  ops: Set<string>;
}

function elementType(code: number | null | undefined): ElementType {
  const T = onnx.TensorProto.DataType;
  switch (code) {
    case T.FLOAT: return 'float32';
    case T.FLOAT16: return 'float16';
    case T.INT64: return 'int64';
    case T.INT32: return 'int32';
    case T.UINT8: return 'uint8';
    default: return 'other';
  }
}

function graphValue(v: onnxProto.onnx.IValueInfoProto): GraphValue {
  const tensor = v.type?.tensorType;
  const dims = (tensor?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0)));
  return { name: v.name ?? '', type: elementType(tensor?.elemType), dims };
}

/** Parses model.onnx (throws protobuf errors as they are; the caller says which file was broken). */
export function readGraphSummary(onnxFile: string): GraphSummary {
  const model = onnx.ModelProto.decode(fs.readFileSync(onnxFile));
  const graph = model.graph;
  if (!graph) throw new Error('the file holds no graph');
  const initializerNames = new Set((graph.initializer ?? []).map((t) => t.name));
  const required = new Map<string, number>();
  for (const t of graph.initializer ?? []) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const entry = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
    const location = String(entry.location ?? '');
    const end = Number(entry.offset ?? 0) + Number(entry.length ?? 0);
    required.set(location, Math.max(required.get(location) ?? 0, end));
  }
  return {
    // Older exports list initializers among the inputs; those are not fed.
    inputs: (graph.input ?? []).filter((v) => !initializerNames.has(v.name ?? '')).map(graphValue),
    outputs: (graph.output ?? []).map(graphValue),
    externalData: [...required].map(([location, requiredBytes]) => ({ location, requiredBytes })),
    ops: new Set((graph.node ?? []).map((n) => `${n.domain || 'ai.onnx'}:${n.opType}`)),
  };
}

/** Checks that every external data file exists and is long enough; returns a problem per bad file. */
export function checkExternalData(onnxFile: string, refs: readonly ExternalDataRef[]): Array<{ file: string; problem: string }> {
  const problems: Array<{ file: string; problem: string }> = [];
  for (const ref of refs) {
    const file = path.join(path.dirname(onnxFile), ref.location);
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      problems.push({ file: ref.location, problem: `is missing (model.onnx keeps its weights there)` });
      continue;
    }
    if (size < ref.requiredBytes) {
      problems.push({
        file: ref.location,
        problem: `is truncated: ${size} bytes, but model.onnx needs ${ref.requiredBytes} (an interrupted download or copy?)`,
      });
    }
  }
  return problems;
}
