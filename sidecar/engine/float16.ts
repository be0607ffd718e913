// IEEE half-precision to single, for GPU exports whose logits are float16 (Node 20 has no Float16Array).

const table = new Float32Array(65536);
for (let h = 0; h < 65536; h++) {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  table[h] = exponent === 0 ? sign * 2 ** -14 * (fraction / 1024)
    : exponent === 31 ? (fraction ? NaN : sign * Infinity)
    : sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

export function float16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}
