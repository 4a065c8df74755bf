/**
 * float32 -> IEEE 754 half precision, rounding to nearest, ties to even (what numpy's
 * astype(float16) does): for storing weights at half the size (the shipped model's ONNX
 * initializers and tfjs weights). Decoding is the consumers' job: onnxruntime's Cast, tfjs'
 * float16 weight quantization.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds the low `shift` bits of m away, to nearest, ties to even. */
function roundShift(m: number, shift: number): number {
  if (shift > 24) return 0; // below half the smallest subnormal
  const q = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
}

export function float16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf, NaN (quiet)
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (exp === 0) return sign; // float32 subnormals are far below half's range
    return sign | roundShift(mant | 0x800000, 14 - e); // half subnormal (a carry gives the smallest normal)
  }
  // Normal: keep 10 of 23 mantissa bits; a carry out of the mantissa bumps the exponent (to Inf at the top).
  return sign | roundShift((e << 23) | mant, 13);
}

/** The float16 bit patterns of `values`. */
export function toFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float16Bits(values[i]);
  return out;
}
