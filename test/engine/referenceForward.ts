// An independent, plain-TypeScript forward pass of a Phi-3 / Phi-4-mini model folder in the official
// microsoft/Phi-4-mini-instruct-onnx CPU int4 format (model.onnx + model.onnx.data + config.json).
//
// It reads only the weights from model.onnx (initializers) and the architecture from config.json; it never runs
// ONNX Runtime and never reads the graph's cos/sin caches: the LongRoPE tables are recomputed from config.json.
// Used by the parity tests to check what ORT computes for our generated test models.
//
// Architecture (HF Phi3ForCausalLM):
//   x = embed[ids]
//   per layer: h = RMSNorm(x)·w_in; qkv = h·W_qkvᵀ (packed q|k|v); rotary (half-split / NeoX, partial) on q, k;
//              causal GQA attention (scale 1/sqrt(headDim)); x += attn·W_oᵀ;
//              h2 = RMSNorm(x)·w_post; [gate|up] = h2·W_guᵀ; x += (silu(gate)·up)·W_downᵀ
//   logits = (RMSNorm(x)·w_norm)·W_lmᵀ
// Weights are the exact float32 values (embedding as stored; int4 weights dequantised once at load); activations,
// dot products, norms and softmax are float64, so the reference is more precise than what it checks.
// Cost: the last layer computes queries, MLP and lm_head only at the requested positions; the other layers attend
// over all positions (O(S²·headDim·heads)): 4100 tokens of the tiny model take about 4–5 s on one core.

import * as fs from 'node:fs';
import * as path from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto as any;

export interface ReferenceConfig {
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  eps: number;
  ropeTheta: number;
  /** number of leading dims of each head that are rotated (headDim * partial_rotary_factor) */
  rotaryDim: number;
  maxPositionEmbeddings: number;
  originalMaxPositionEmbeddings: number;
  /** rotaryDim/2 factors each */
  shortFactor: number[];
  longFactor: number[];
  /** LongRoPE attention factor (mscale) that multiplies cos and sin */
  mscale: number;
}

export interface ReferenceLayer {
  inputNorm: Float64Array;
  postNorm: Float64Array;
  /** dequantised weights, row-major [N, K] (y = x·Wᵀ); float64 copies of the exact float32 values */
  qkv: Float64Array;
  o: Float64Array;
  gateUp: Float64Array;
  down: Float64Array;
}

export interface ReferenceModel {
  dir: string;
  config: ReferenceConfig;
  /** [vocab, hidden] */
  embed: Float32Array;
  layers: ReferenceLayer[];
  finalNorm: Float64Array;
  /** dequantised lm_head, [vocab, hidden] */
  lmHead: Float32Array;
}

export interface ReferenceOptions {
  /**
   * Which LongRoPE factor set to use. 'auto' (default) does what the official graph does:
   * long factors iff the total sequence length (ids.length) > original_max_position_embeddings.
   */
  factors?: 'auto' | 'short' | 'long';
}

// ---------------------------------------------------------------------------------------------------------------
// config

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`config.json: ${what} missing or not a number`);
  return v;
}

export function readReferenceConfig(dir: string): ReferenceConfig {
  const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const hidden = num(c.hidden_size, 'hidden_size');
  const heads = num(c.num_attention_heads, 'num_attention_heads');
  const headDim = typeof c.head_dim === 'number' ? c.head_dim : hidden / heads;
  const partial = typeof c.partial_rotary_factor === 'number' ? c.partial_rotary_factor : 1;
  const rotaryDim = Math.round(headDim * partial);
  if (rotaryDim % 2 !== 0) throw new Error(`rotary dim ${rotaryDim} is odd`);
  const half = rotaryDim / 2;
  const maxPos = num(c.max_position_embeddings, 'max_position_embeddings');
  const origMax = typeof c.original_max_position_embeddings === 'number' ? c.original_max_position_embeddings : maxPos;
  const rs = c.rope_scaling ?? null;
  let shortFactor = new Array(half).fill(1);
  let longFactor = new Array(half).fill(1);
  let mscale = 1;
  if (rs) {
    const type = rs.type ?? rs.rope_type;
    if (type !== 'longrope' && type !== 'su') throw new Error(`unsupported rope_scaling type ${type}`);
    if (!Array.isArray(rs.short_factor) || rs.short_factor.length !== half) throw new Error(`rope_scaling.short_factor must have ${half} entries`);
    if (!Array.isArray(rs.long_factor) || rs.long_factor.length !== half) throw new Error(`rope_scaling.long_factor must have ${half} entries`);
    shortFactor = rs.short_factor.map(Number);
    longFactor = rs.long_factor.map(Number);
    if (typeof rs.attention_factor === 'number') mscale = rs.attention_factor; // HF honours an explicit one
    else {
      const scale = maxPos / origMax;
      mscale = scale <= 1 ? 1 : Math.sqrt(1 + Math.log(scale) / Math.log(origMax));
    }
  }
  return {
    hidden,
    intermediate: num(c.intermediate_size, 'intermediate_size'),
    layers: num(c.num_hidden_layers, 'num_hidden_layers'),
    heads,
    kvHeads: typeof c.num_key_value_heads === 'number' ? c.num_key_value_heads : heads,
    headDim,
    vocab: num(c.vocab_size, 'vocab_size'),
    eps: typeof c.rms_norm_eps === 'number' ? c.rms_norm_eps : 1e-5,
    ropeTheta: typeof c.rope_theta === 'number' ? c.rope_theta : 10000,
    rotaryDim,
    maxPositionEmbeddings: maxPos,
    originalMaxPositionEmbeddings: origMax,
    shortFactor,
    longFactor,
    mscale,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// initializers

const toNum = (v: any): number => (typeof v === 'number' ? v : typeof v?.toNumber === 'function' ? v.toNumber() : Number(v));

interface TensorInfo { name: string; dims: number[]; dataType: number; proto: any }

class InitializerReader {
  private readonly tensors = new Map<string, TensorInfo>();
  private readonly fds = new Map<string, number>();

  constructor(private readonly dir: string) {
    const model = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, 'model.onnx')));
    for (const t of model.graph?.initializer ?? []) {
      this.tensors.set(t.name, { name: t.name, dims: (t.dims ?? []).map(toNum), dataType: t.dataType, proto: t });
    }
  }

  has(name: string) { return this.tensors.has(name); }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`initializer ${name} not found in ${path.join(this.dir, 'model.onnx')}`);
    return t;
  }

  /** The tensor's raw little-endian bytes (a fresh, aligned copy). */
  bytes(name: string): Uint8Array {
    const { proto: t } = this.info(name);
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      const kv: Record<string, string> = {};
      for (const e of t.externalData ?? []) kv[e.key] = e.value;
      if (!kv.location) throw new Error(`${name}: external tensor without location`);
      const offset = kv.offset ? Number(kv.offset) : 0;
      const file = path.join(this.dir, kv.location);
      const length = kv.length ? Number(kv.length) : fs.statSync(file).size - offset;
      let fd = this.fds.get(file);
      if (fd === undefined) { fd = fs.openSync(file, 'r'); this.fds.set(file, fd); }
      const out = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const n = fs.readSync(fd, out, got, Math.min(length - got, 1 << 30), offset + got);
        if (n <= 0) throw new Error(`${name}: external data truncated (${got}/${length} bytes at ${offset} in ${kv.location})`);
        got += n;
      }
      return out;
    }
    if (t.rawData && t.rawData.length > 0) return new Uint8Array(t.rawData); // copy: aligned
    if (t.floatData && t.floatData.length > 0) return new Uint8Array(Float32Array.from(t.floatData).buffer);
    if (t.int32Data && t.int32Data.length > 0) return Uint8Array.from(t.int32Data); // uint8 tensors stored as int32_data
    return new Uint8Array(0);
  }

  f32(name: string, expectCount?: number): Float32Array {
    const { dataType, dims } = this.info(name);
    if (dataType !== onnx.TensorProto.DataType.FLOAT) throw new Error(`${name}: expected float32, got data type ${dataType}`);
    const b = this.bytes(name);
    const a = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    const count = dims.reduce((x, y) => x * y, 1);
    if (a.length !== count) throw new Error(`${name}: ${a.length} floats for dims [${dims}]`);
    if (expectCount !== undefined && count !== expectCount) throw new Error(`${name}: ${count} elements, expected ${expectCount}`);
    return a;
  }

  u8(name: string): Uint8Array {
    const { dataType } = this.info(name);
    if (dataType !== onnx.TensorProto.DataType.UINT8) throw new Error(`${name}: expected uint8, got data type ${dataType}`);
    return this.bytes(name);
  }

  close() { for (const fd of this.fds.values()) fs.closeSync(fd); this.fds.clear(); }
}

/**
 * Dequantises a MatMulNBits int4 (block 32, symmetric unless zero points are present) weight to a row-major
 * float32 [N, K] matrix: W[n,k] = (q - zp) * scale.
 */
function dequantMatMulNBits<T extends Float32Array | Float64Array>(r: InitializerReader, prefix: string, N: number, K: number,
  make: (n: number) => T): T {
  const qName = `${prefix}.MatMul.weight_Q4`;
  const sName = `${prefix}.MatMul.weight_scales`;
  const zName = `${prefix}.MatMul.weight_zp`;
  const blocks = Math.ceil(K / 32);
  const qDims = r.info(qName).dims;
  if (qDims.length !== 3 || qDims[0] !== N || qDims[1] !== blocks || qDims[2] !== 16) {
    throw new Error(`${qName}: dims [${qDims}], expected [${N}, ${blocks}, 16]`);
  }
  const q = r.u8(qName);
  const s = r.f32(sName, N * blocks);
  const zp = r.has(zName) ? r.u8(zName) : null; // packed uint8 [N * ceil(blocks/2)], low nibble first
  const zpRow = Math.ceil(blocks / 2);
  const w = make(N * K);
  for (let n = 0; n < N; n++) {
    const qRow = n * blocks * 16;
    const wRow = n * K;
    for (let b = 0; b < blocks; b++) {
      const scale = s[n * blocks + b];
      let z = 8;
      if (zp) { const zb = zp[n * zpRow + (b >> 1)]; z = b & 1 ? zb >> 4 : zb & 15; }
      const k0 = b * 32;
      const kEnd = Math.min(K, k0 + 32);
      for (let k = k0; k < kEnd; k += 2) {
        const byte = q[qRow + (k >> 1)];
        w[wRow + k] = Math.fround(((byte & 15) - z) * scale); // what MatMulNBits' float32 dequantisation gives
        if (k + 1 < kEnd) w[wRow + k + 1] = Math.fround(((byte >> 4) - z) * scale);
      }
    }
  }
  return w;
}

export function loadReferenceModel(dir: string): ReferenceModel {
  const config = readReferenceConfig(dir);
  const { hidden: H, intermediate: I, heads, kvHeads, headDim, vocab } = config;
  const r = new InitializerReader(dir);
  try {
    const qkvN = (heads + 2 * kvHeads) * headDim;
    const f64 = (n: number) => new Float64Array(n);
    const f32 = (n: number) => new Float32Array(n);
    const norm = (name: string) => Float64Array.from(r.f32(name, H));
    const layers: ReferenceLayer[] = [];
    for (let l = 0; l < config.layers; l++) {
      const p = `model.layers.${l}`;
      layers.push({
        inputNorm: norm(`${p}.input_layernorm.weight`),
        postNorm: norm(`${p}.post_attention_layernorm.weight`),
        qkv: dequantMatMulNBits(r, `${p}.attn.qkv_proj`, qkvN, H, f64),
        o: dequantMatMulNBits(r, `${p}.attn.o_proj`, H, heads * headDim, f64),
        gateUp: dequantMatMulNBits(r, `${p}.mlp.gate_up_proj`, 2 * I, H, f64),
        down: dequantMatMulNBits(r, `${p}.mlp.down_proj`, H, I, f64),
      });
    }
    if (!r.has('model.embed_tokens.weight')) throw new Error('model.embed_tokens.weight (fp32 embedding) not found');
    return {
      dir,
      config,
      embed: r.f32('model.embed_tokens.weight', vocab * H),
      layers,
      finalNorm: norm('model.norm.weight'),
      lmHead: dequantMatMulNBits(r, 'lm_head', vocab, H, f32),
    };
  } finally {
    r.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// forward
// Hot loops are monomorphic over Float64Array (V8 reads float64 typed arrays about twice as fast as float32 ones
// here, and it keeps the reference more precise than what it checks).

/** out[t, :] = RMSNorm(x[t, :]) * w for t in rows (row width H). */
function rmsNorm(x: Float64Array, w: Float64Array, rows: Int32Array, H: number, eps: number, out: Float64Array) {
  for (let r = 0; r < rows.length; r++) {
    const o = rows[r] * H;
    let ss = 0;
    for (let i = 0; i < H; i++) { const v = x[o + i]; ss += v * v; }
    const inv = 1 / Math.sqrt(ss / H + eps);
    for (let i = 0; i < H; i++) out[o + i] = x[o + i] * inv * w[i];
  }
}

/**
 * y[t, n] = sum_k x[t, k] * W[n, k] for t in rows and n0 <= n < n1
 * (x: [*, K] row-major, W: [N, K] row-major, y: [*, yStride], all indexed by token t).
 * Register-blocked 2 rows × 2 outputs: one load per multiply-add.
 */
function matmulRows(x: Float64Array, rows: Int32Array, K: number, W: Float64Array, n0: number, n1: number, y: Float64Array, yStride: number) {
  let r = 0;
  for (; r + 1 < rows.length; r += 2) {
    const tA = rows[r], tB = rows[r + 1];
    const xA = tA * K, xB = tB * K;
    const yA = tA * yStride, yB = tB * yStride;
    let n = n0;
    for (; n + 1 < n1; n += 2) {
      const w0 = n * K, w1 = w0 + K;
      let a0 = 0, a1 = 0, b0 = 0, b1 = 0;
      for (let k = 0; k < K; k++) {
        const u = x[xA + k], v = x[xB + k], p = W[w0 + k], q = W[w1 + k];
        a0 += u * p; a1 += u * q; b0 += v * p; b1 += v * q;
      }
      y[yA + n] = a0; y[yA + n + 1] = a1; y[yB + n] = b0; y[yB + n + 1] = b1;
    }
    for (; n < n1; n++) {
      const w0 = n * K;
      let a0 = 0, b0 = 0;
      for (let k = 0; k < K; k++) { const p = W[w0 + k]; a0 += x[xA + k] * p; b0 += x[xB + k] * p; }
      y[yA + n] = a0; y[yB + n] = b0;
    }
  }
  for (; r < rows.length; r++) {
    const t = rows[r];
    const xo = t * K, yo = t * yStride;
    for (let n = n0; n < n1; n++) {
      const w0 = n * K;
      let a0 = 0;
      for (let k = 0; k < K; k++) a0 += x[xo + k] * W[w0 + k];
      y[yo + n] = a0;
    }
  }
}

/** y[n] = sum_k x[k] * W[n, k] over all N rows of a float32 matrix (the lm_head). */
function matvecF32(x: Float64Array, W: Float32Array, N: number, K: number, y: Float32Array) {
  const k4 = K & ~3;
  for (let n = 0; n < N; n++) {
    const wo = n * K;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    let k = 0;
    for (; k < k4; k += 4) {
      a0 += x[k] * W[wo + k];
      a1 += x[k + 1] * W[wo + k + 1];
      a2 += x[k + 2] * W[wo + k + 2];
      a3 += x[k + 3] * W[wo + k + 3];
    }
    for (; k < K; k++) a0 += x[k] * W[wo + k];
    y[n] = a0 + a1 + a2 + a3;
  }
}

function range(n: number): Int32Array { const a = new Int32Array(n); for (let i = 0; i < n; i++) a[i] = i; return a; }

/** cos/sin tables [S, rotaryDim/2], already multiplied by mscale, for positions 0..S-1. */
export function ropeTables(cfg: ReferenceConfig, S: number, factors: number[]): { cos: Float64Array; sin: Float64Array } {
  const half = cfg.rotaryDim / 2;
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / (factors[i] * Math.pow(cfg.ropeTheta, (2 * i) / cfg.rotaryDim));
  const cos = new Float64Array(S * half);
  const sin = new Float64Array(S * half);
  for (let p = 0; p < S; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * invFreq[i];
      cos[p * half + i] = Math.cos(a) * cfg.mscale;
      sin[p * half + i] = Math.sin(a) * cfg.mscale;
    }
  }
  return { cos, sin };
}

/**
 * Copies a head vector src[so .. so+D) to dst[dOff ..], rotating its first 2*half dims for position p
 * (half-split / NeoX pairs (i, i+half)); the remaining dims are copied unrotated.
 */
function copyRotated(src: Float64Array, so: number, dst: Float64Array, dOff: number, D: number, p: number, half: number, cos: Float64Array, sin: Float64Array) {
  const c0 = p * half;
  for (let i = 0; i < half; i++) {
    const x1 = src[so + i], x2 = src[so + i + half];
    const c = cos[c0 + i], s = sin[c0 + i];
    dst[dOff + i] = x1 * c - x2 * s;
    dst[dOff + i + half] = x2 * c + x1 * s;
  }
  for (let i = 2 * half; i < D; i++) dst[dOff + i] = src[so + i];
}

/**
 * Logits rows for the requested positions of a one-shot forward over `ids` (no past; total length = ids.length;
 * token t is at position t). Returns one Float32Array(vocab) per entry of `positions`, in that order.
 *
 * Every layer but the last computes all positions (their keys and values feed the next layer); the last layer
 * computes keys and values for all positions but queries, MLP and lm_head only for the requested ones.
 */
export function referenceLogits(model: ReferenceModel, ids: number[], positions: number[], opts: ReferenceOptions = {}): Float32Array[] {
  const cfg = model.config;
  const { hidden: H, intermediate: I, heads, kvHeads, headDim: D, vocab, eps } = cfg;
  const S = ids.length;
  if (S === 0) throw new Error('referenceLogits: empty ids');
  for (const p of positions) if (!(Number.isInteger(p) && p >= 0 && p < S)) throw new Error(`referenceLogits: position ${p} outside 0..${S - 1}`);
  if (heads % kvHeads !== 0) throw new Error(`heads ${heads} not a multiple of kv heads ${kvHeads}`);
  const group = heads / kvHeads;
  const half = cfg.rotaryDim / 2;
  const factorSet = opts.factors ?? 'auto';
  const useLong = factorSet === 'long' || (factorSet === 'auto' && S > cfg.originalMaxPositionEmbeddings);
  const { cos, sin } = ropeTables(cfg, S, useLong ? cfg.longFactor : cfg.shortFactor);

  // residual stream [S, H]
  const x = new Float64Array(S * H);
  for (let t = 0; t < S; t++) {
    const id = ids[t];
    if (!(Number.isInteger(id) && id >= 0 && id < vocab)) throw new Error(`referenceLogits: token id ${id} outside vocab`);
    for (let i = 0; i < H; i++) x[t * H + i] = model.embed[id * H + i];
  }

  const allRows = range(S);
  const outRows = Int32Array.from(new Set(positions)).sort();
  const qDim = heads * D;
  const qkvN = (heads + 2 * kvHeads) * D;
  // all [S, width], indexed by token
  const h = new Float64Array(S * H);
  const qkv = new Float64Array(S * qkvN);
  const attn = new Float64Array(S * qDim);
  const proj = new Float64Array(S * H);
  const gu = new Float64Array(S * 2 * I);
  const m = new Float64Array(S * I);
  // q: [heads, S, D], k: [kvHeads, S, D] (a head's rows contiguous); vT: [kvHeads, D, S] (transposed, so both
  // attention products are unit-stride dot products)
  const q = new Float64Array(heads * S * D);
  const k = new Float64Array(kvHeads * S * D);
  const vT = new Float64Array(kvHeads * D * S);
  const scores = new Float64Array(2 * S);

  model.layers.forEach((L, l) => {
    const rows = l === model.layers.length - 1 ? outRows : allRows;

    // --- attention
    rmsNorm(x, L.inputNorm, allRows, H, eps, h);
    const hIn = h;
    matmulRows(hIn, allRows, H, L.qkv, qDim, qkvN, qkv, qkvN); // k, v for all positions
    matmulRows(hIn, rows, H, L.qkv, 0, qDim, qkv, qkvN); // q where needed
    for (let t = 0; t < S; t++) {
      const ro = t * qkvN;
      for (let g = 0; g < kvHeads; g++) {
        copyRotated(qkv, ro + qDim + g * D, k, (g * S + t) * D, D, t, half, cos, sin);
        const vo = ro + qDim + (kvHeads + g) * D;
        for (let d = 0; d < D; d++) vT[(g * D + d) * S + t] = qkv[vo + d];
      }
    }
    for (let r = 0; r < rows.length; r++) {
      const t = rows[r];
      for (let hh = 0; hh < heads; hh++) copyRotated(qkv, t * qkvN + hh * D, q, (hh * S + t) * D, D, t, half, cos, sin);
    }
    attend(q, k, vT, scores, attn, rows, heads, group, S, D);
    matmulRows(attn, rows, qDim, L.o, 0, H, proj, H);
    addRows(x, proj, rows, H);

    // --- MLP
    rmsNorm(x, L.postNorm, rows, H, eps, h);
    matmulRows(h, rows, H, L.gateUp, 0, 2 * I, gu, 2 * I);
    for (let r = 0; r < rows.length; r++) {
      const t = rows[r];
      const go = t * 2 * I;
      const mo = t * I;
      for (let i = 0; i < I; i++) {
        const gate = gu[go + i];
        m[mo + i] = (gate / (1 + Math.exp(-gate))) * gu[go + I + i];
      }
    }
    matmulRows(m, rows, I, L.down, 0, H, proj, H);
    addRows(x, proj, rows, H);
  });

  // final norm + lm_head for the requested positions only
  const finalNorm = model.finalNorm;
  const one = Int32Array.of(0);
  const row = new Float64Array(H);
  const normed = new Float64Array(H);
  return positions.map((p) => {
    for (let i = 0; i < H; i++) row[i] = x[p * H + i];
    rmsNorm(row, finalNorm, one, H, eps, normed);
    const y = new Float32Array(vocab);
    matvecF32(normed, model.lmHead, vocab, H, y);
    return y;
  });
}

/**
 * Causal attention for the query positions `rows`: attn[i, h*D ..] = softmax(q_h,i · k_g,j * scale, j <= i) · v_g,j
 * with g = floor(h / group). q: [heads, S, D], k: [kvHeads, S, D], vT: [kvHeads, D, S], attn: [S, heads*D].
 * Query heads that share a kv head are processed two at a time, so each k and v element loaded serves two heads.
 */
function attend(q: Float64Array, k: Float64Array, vT: Float64Array, scores: Float64Array, attn: Float64Array, rows: Int32Array,
  heads: number, group: number, S: number, D: number) {
  const scale = 1 / Math.sqrt(D);
  const qDim = heads * D;
  const sA = scores.subarray(0, S);
  const sB = scores.subarray(S, 2 * S);
  for (let hA = 0; hA < heads; hA++) {
    const g = Math.floor(hA / group);
    const paired = hA + 1 < (g + 1) * group; // hA + 1 uses the same kv head
    const hB = paired ? hA + 1 : hA;
    for (let r = 0; r < rows.length; r++) {
      const i = rows[r];
      attendPair(q, k, vT, sA, sB, attn, (hA * S + i) * D, (hB * S + i) * D, g * S * D, g * D * S, i, D, S, scale,
        i * qDim + hA * D, i * qDim + hB * D);
    }
    if (paired) hA++;
  }
}

/**
 * One query position i for two query heads A and B (possibly the same) sharing a kv head.
 * Register-blocked 2 keys × 2 heads (scores) and 2 dims × 2 heads (weighted values): one load per multiply-add.
 */
function attendPair(q: Float64Array, k: Float64Array, vT: Float64Array, sA: Float64Array, sB: Float64Array, attn: Float64Array,
  qA: number, qB: number, kBase: number, vBase: number, i: number, D: number, S: number, scale: number, oA: number, oB: number) {
  const n = i + 1;
  let maxA = -Infinity, maxB = -Infinity;
  for (let j = 0; j < n; j += 2) {
    const k0 = kBase + j * D;
    if (j + 1 < n) {
      const k1 = k0 + D;
      let a0 = 0, a1 = 0, b0 = 0, b1 = 0;
      for (let d = 0; d < D; d++) {
        const x = q[qA + d], y = q[qB + d], u = k[k0 + d], w = k[k1 + d];
        a0 += x * u; a1 += x * w; b0 += y * u; b1 += y * w;
      }
      a0 *= scale; a1 *= scale; b0 *= scale; b1 *= scale;
      sA[j] = a0; sA[j + 1] = a1; sB[j] = b0; sB[j + 1] = b1;
      if (a0 > maxA) maxA = a0;
      if (a1 > maxA) maxA = a1;
      if (b0 > maxB) maxB = b0;
      if (b1 > maxB) maxB = b1;
    } else {
      let a0 = 0, b0 = 0;
      for (let d = 0; d < D; d++) { const u = k[k0 + d]; a0 += q[qA + d] * u; b0 += q[qB + d] * u; }
      a0 *= scale; b0 *= scale;
      sA[j] = a0; sB[j] = b0;
      if (a0 > maxA) maxA = a0;
      if (b0 > maxB) maxB = b0;
    }
  }
  let sumA = 0, sumB = 0;
  for (let j = 0; j < n; j++) {
    const eA = Math.exp(sA[j] - maxA); sA[j] = eA; sumA += eA;
    const eB = Math.exp(sB[j] - maxB); sB[j] = eB; sumB += eB;
  }
  const invA = 1 / sumA, invB = 1 / sumB;
  for (let d = 0; d < D; d += 2) {
    const v0 = vBase + d * S;
    if (d + 1 < D) {
      const v1 = v0 + S;
      let a0 = 0, a1 = 0, b0 = 0, b1 = 0;
      for (let j = 0; j < n; j++) {
        const x = sA[j], y = sB[j], u = vT[v0 + j], w = vT[v1 + j];
        a0 += x * u; a1 += x * w; b0 += y * u; b1 += y * w;
      }
      attn[oA + d] = a0 * invA; attn[oA + d + 1] = a1 * invA;
      attn[oB + d] = b0 * invB; attn[oB + d + 1] = b1 * invB;
    } else {
      let a0 = 0, b0 = 0;
      for (let j = 0; j < n; j++) { const u = vT[v0 + j]; a0 += sA[j] * u; b0 += sB[j] * u; }
      attn[oA + d] = a0 * invA; attn[oB + d] = b0 * invB;
    }
  }
}

function addRows(x: Float64Array, y: Float64Array, rows: Int32Array, H: number) {
  for (let r = 0; r < rows.length; r++) {
    const o = rows[r] * H;
    for (let i = 0; i < H; i++) x[o + i] += y[o + i];
  }
}

