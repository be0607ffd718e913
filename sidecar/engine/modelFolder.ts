// Reads and validates a model folder in the format of microsoft/Phi-4-mini-instruct-onnx. Everything the
// generation loop needs comes from the folder's own files: names of inputs and outputs, layer and head
// counts, KV dtype, eos ids, context length, chat template. A missing or broken file gets an error that
// names the file and says what is wrong with it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../engineError';
import { checkExternalData, readGraphSummary, type GraphSummary, type GraphValue } from './onnxGraph';
import { folderError, readJson, readPromptFiles } from '../prompt/promptFiles';

export interface IoNames {
  inputIds: string;
  attentionMask: string;
  /** Present only in exports that take positions explicitly (DML / WebGPU builds). */
  positionIds?: string;
  pastKeys: string[];
  pastValues: string[];
  logits: string;
  presentKeys: string[];
  presentValues: string[];
}

export interface ModelConfig {
  modelType: string;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headSize: number;
  hiddenSize: number;
  vocabSize: number;
  contextLength: number;
  eosTokenIds: number[];
  bosTokenId?: number;
  /** Element type of the KV cache (and logits): float32 for the CPU export, float16 for the GPU one. */
  kvType: 'float32' | 'float16';
  logitsType: 'float32' | 'float16';
  io: IoNames;
  /**
   * LongRoPE: the graph switches to the long cos/sin cache once the sequence is longer than this. Keys cached
   * under the short factors are then wrong, so the whole sequence has to be fed again (as ONNX Runtime GenAI does).
   * Undefined when the model has no such switch.
   */
  ropeSwitchLength?: number;
  /** Generation defaults from genai_config.json's `search`. */
  search: { doSample: boolean; temperature: number; topK: number; topP: number; repetitionPenalty: number };
  /** The execution providers the folder was exported for (genai_config's provider_options), e.g. [] or ['cuda']. */
  exportedFor: string[];
}

export interface ModelFolder {
  dir: string;
  onnxFile: string;
  config: ModelConfig;
  tokenizerJson: object;
  tokenizerConfig: Record<string, unknown>;
  chatTemplate: string;
  /** Things that are not fatal but that a user debugging a folder should see. */
  warnings: string[];
}

function field<T>(file: string, obj: any, dotted: string, check: (v: unknown) => v is T, what: string): T {
  let v: any = obj;
  for (const k of dotted.split('.')) v = v?.[k];
  if (v === undefined) throw folderError(file, `has no \`${dotted}\`.`);
  if (!check(v)) throw folderError(file, `has an invalid \`${dotted}\`: expected ${what}, found ${JSON.stringify(v)}.`);
  return v;
}
const isPositiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

function perLayer(pattern: string, layers: number): string[] {
  return Array.from({ length: layers }, (_, i) => pattern.replace('%d', String(i)));
}

/**
 * The record Phi Local's download writes into a folder once every file in it is verified (COMPLETE_MARKER in
 * extension/model/download/modelDownload.ts: each file's name, size and checksum). The sidecar does not import the
 * extension, so the name is repeated here (test/unit/downloadTruncation.test.ts checks that the two agree).
 */
export const DOWNLOAD_MANIFEST = 'phi-local-download.json';

/**
 * A downloaded folder's files still have the sizes the download verified: a file cut short or changed since (a full
 * disk, a sync tool, a partial copy) is refused here, naming it, rather than failing later in some other way. Sizes
 * only, a stat per file: re-hashing gigabytes would cost seconds at every load, and the download checked the hashes.
 * A folder without the manifest (copied in by hand) has nothing to check against.
 */
function checkDownloadManifest(dir: string, warnings: string[]): void {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, DOWNLOAD_MANIFEST), 'utf8');
  } catch {
    return;
  }
  let files: unknown;
  try {
    files = JSON.parse(text)?.files;
  } catch {
    // ignored: `files` stays undefined
  }
  if (!Array.isArray(files)) {
    warnings.push(`${DOWNLOAD_MANIFEST} is not readable, so the sizes of the downloaded files were not checked.`);
    return;
  }
  for (const f of files as Array<{ name?: unknown; size?: unknown }>) {
    if (typeof f?.name !== 'string' || typeof f.size !== 'number') continue;
    let size: number;
    try {
      size = fs.statSync(path.join(dir, f.name)).size;
    } catch {
      throw folderError(f.name, `is missing from the model folder ${dir}, but the download put it there (${DOWNLOAD_MANIFEST} lists it). Download the model again.`);
    }
    if (size !== f.size) {
      throw folderError(f.name, `is ${size} bytes, but the download verified it at ${f.size} bytes (${DOWNLOAD_MANIFEST}): ` +
        `it was ${size < f.size ? 'cut short' : 'changed'} since. Delete this model ("Phi: Manage Models") and download it again.`);
    }
  }
}

/** Reads the folder's files and checks them against each other and against model.onnx's graph. */
export function readModelFolder(dir: string): ModelFolder {
  dir = path.resolve(dir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new EngineError('model-folder', `The model folder ${dir} does not exist or is not a folder.`);
  }
  const warnings: string[] = [];
  checkDownloadManifest(dir, warnings);
  const G = 'genai_config.json';
  const genai = readJson(dir, G, true);
  const decoder = field(G, genai, 'model.decoder', (v): v is any => typeof v === 'object' && v !== null, 'an object');
  const numLayers = field(G, genai, 'model.decoder.num_hidden_layers', isPositiveInt, 'a positive integer');
  const numHeads = field(G, genai, 'model.decoder.num_attention_heads', isPositiveInt, 'a positive integer');
  const numKvHeads = field(G, genai, 'model.decoder.num_key_value_heads', isPositiveInt, 'a positive integer');
  const headSize = field(G, genai, 'model.decoder.head_size', isPositiveInt, 'a positive integer');
  const hiddenSize = field(G, genai, 'model.decoder.hidden_size', isPositiveInt, 'a positive integer');
  const vocabSize = field(G, genai, 'model.vocab_size', isPositiveInt, 'a positive integer');
  const contextLength = field(G, genai, 'model.context_length', isPositiveInt, 'a positive integer');
  const eosRaw = field(G, genai, 'model.eos_token_id',
    (v): v is number | number[] => Number.isInteger(v) || (Array.isArray(v) && v.length > 0 && v.every(Number.isInteger)),
    'a token id or a list of them');
  const eosTokenIds = Array.isArray(eosRaw) ? eosRaw : [eosRaw];
  const badEos = eosTokenIds.find((id) => id < 0 || id >= vocabSize);
  if (badEos !== undefined) throw folderError(G, `has eos_token_id ${badEos}, outside the vocabulary of ${vocabSize}.`);
  if (numHeads % numKvHeads !== 0) {
    throw folderError(G, `has num_attention_heads ${numHeads}, not a multiple of num_key_value_heads ${numKvHeads}.`);
  }
  const filename = field(G, genai, 'model.decoder.filename', isString, 'a file name');
  const inputs = decoder.inputs ?? {};
  const outputs = decoder.outputs ?? {};
  const io: IoNames = {
    inputIds: inputs.input_ids ?? 'input_ids',
    attentionMask: inputs.attention_mask ?? 'attention_mask',
    positionIds: inputs.position_ids,
    pastKeys: perLayer(inputs.past_key_names ?? 'past_key_values.%d.key', numLayers),
    pastValues: perLayer(inputs.past_value_names ?? 'past_key_values.%d.value', numLayers),
    logits: outputs.logits ?? 'logits',
    presentKeys: perLayer(outputs.present_key_names ?? 'present.%d.key', numLayers),
    presentValues: perLayer(outputs.present_value_names ?? 'present.%d.value', numLayers),
  };
  const search = genai.search ?? {};
  const exportedFor = (decoder.session_options?.provider_options ?? [])
    .flatMap((o: Record<string, unknown>) => Object.keys(o ?? {}));

  // config.json (the Hugging Face config) says where LongRoPE switches caches.
  const hf = readJson(dir, 'config.json', false);
  let ropeSwitchLength: number | undefined;
  const ropeType = hf?.rope_scaling?.type ?? hf?.rope_scaling?.rope_type;
  if (hf === undefined) {
    warnings.push('config.json is missing: assuming the LongRoPE switch at 4096 tokens, as in Phi-4-mini.');
    ropeSwitchLength = genai.model.type === 'phi3' ? 4096 : undefined;
  } else if (ropeType === 'longrope' || ropeType === 'su') {
    ropeSwitchLength = Number.isInteger(hf.original_max_position_embeddings) ? hf.original_max_position_embeddings : 4096;
  }

  // The graph must have exactly the inputs and outputs genai_config.json promises.
  const onnxFile = path.join(dir, filename);
  if (!fs.existsSync(onnxFile)) throw folderError(filename, `is missing from the model folder ${dir}.`);
  let graph: GraphSummary;
  try {
    graph = readGraphSummary(onnxFile);
  } catch (e) {
    throw folderError(filename, `is not a readable ONNX model (${(e as Error).message}). Download or copy it again.`);
  }
  const dataProblem = checkExternalData(onnxFile, graph.externalData)[0];
  if (dataProblem) throw folderError(dataProblem.file, dataProblem.problem + '. Download or copy it again.');
  const kvType = checkGraph(filename, graph, io, { numKvHeads, headSize, vocabSize });
  const logitsType = graph.outputs.find((o) => o.name === io.logits)!.type as 'float32' | 'float16';

  const { tokenizerJson, tokenizerConfig, chatTemplate } = readPromptFiles(dir);
  for (const id of eosTokenIds) {
    if (!(tokenizerJson.added_tokens ?? []).some((t: any) => t.id === id)) {
      warnings.push(`eos token id ${id} from genai_config.json is not an added token of tokenizer.json.`);
    }
  }

  return {
    dir, onnxFile, chatTemplate, tokenizerJson, tokenizerConfig, warnings,
    config: {
      modelType: String(genai.model.type ?? ''), numLayers, numHeads, numKvHeads, headSize, hiddenSize, vocabSize,
      contextLength, eosTokenIds, bosTokenId: genai.model.bos_token_id, kvType, logitsType, io, ropeSwitchLength,
      search: {
        doSample: search.do_sample ?? false,
        temperature: search.temperature ?? 1,
        topK: search.top_k ?? 1,
        topP: search.top_p ?? 1,
        repetitionPenalty: search.repetition_penalty ?? 1,
      },
      exportedFor,
    },
  };
}

/** Checks model.onnx's inputs and outputs against genai_config.json; returns the KV element type. */
function checkGraph(
  file: string, graph: GraphSummary, io: IoNames,
  shape: { numKvHeads: number; headSize: number; vocabSize: number },
): 'float32' | 'float16' {
  const inputs = new Map(graph.inputs.map((v) => [v.name, v]));
  const outputs = new Map(graph.outputs.map((v) => [v.name, v]));
  const need = (map: Map<string, GraphValue>, name: string, kind: string): GraphValue => {
    const v = map.get(name);
    if (!v) throw folderError(file, `has no ${kind} \`${name}\`, which genai_config.json names.`);
    return v;
  };
  for (const name of [io.inputIds, io.attentionMask]) {
    const v = need(inputs, name, 'input');
    if (v.type !== 'int64') throw folderError(file, `input \`${name}\` is ${v.type}; the engine feeds int64.`);
  }
  if (io.positionIds) need(inputs, io.positionIds, 'input');
  const logits = need(outputs, io.logits, 'output');
  if (logits.type !== 'float32' && logits.type !== 'float16') {
    throw folderError(file, `output \`${io.logits}\` is ${logits.type}; expected float32 or float16.`);
  }
  const lastDim = logits.dims[logits.dims.length - 1];
  if (typeof lastDim === 'number' && lastDim !== shape.vocabSize) {
    throw folderError(file, `output \`${io.logits}\` has ${lastDim} entries per token, but genai_config.json says vocab_size ${shape.vocabSize}.`);
  }
  const kvNames = [...io.pastKeys, ...io.pastValues];
  const kvType = need(inputs, io.pastKeys[0], 'input').type;
  if (kvType !== 'float32' && kvType !== 'float16') throw folderError(file, `KV input \`${io.pastKeys[0]}\` is ${kvType}; expected float32 or float16.`);
  for (const name of kvNames) {
    const v = need(inputs, name, 'input');
    if (v.type !== kvType) throw folderError(file, `KV input \`${name}\` is ${v.type}, but \`${io.pastKeys[0]}\` is ${kvType}.`);
    const [, heads, , size] = v.dims;
    if ((typeof heads === 'number' && heads !== shape.numKvHeads) || (typeof size === 'number' && size !== shape.headSize)) {
      throw folderError(file, `KV input \`${name}\` has shape [${v.dims.join(', ')}], but genai_config.json says ${shape.numKvHeads} KV heads of size ${shape.headSize}.`);
    }
  }
  for (const name of [...io.presentKeys, ...io.presentValues]) need(outputs, name, 'output');
  const known = new Set([io.inputIds, io.attentionMask, io.positionIds, ...kvNames]);
  const unknown = graph.inputs.find((v) => !known.has(v.name));
  if (unknown) throw folderError(file, `has an input \`${unknown.name}\` the engine does not know how to feed.`);
  return kvType;
}
