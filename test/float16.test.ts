import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { float16Bits, toFloat16 } from '../lib/float16';

/** tfjs' own float16 decoder (its weight dequantisation), as the independent reference. */
function decode(bits: Uint16Array): Float32Array {
  const spec: tf.io.WeightsManifestEntry = { name: 'w', shape: [bits.length], dtype: 'float32', quantization: { dtype: 'float16' } };
  const out = tf.io.decodeWeights(bits.slice().buffer, [spec]).w;
  const v = out.dataSync() as Float32Array;
  out.dispose();
  return v;
}

t.test('known values: normal, subnormal, rounding ties to even, overflow, signed zero, Inf, NaN', async (t) => {
  const cases: Array<[number, number]> = [
    [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65519.99, 0x7bff], [65520, 0x7c00], [1e10, 0x7c00],
    [2 ** -14, 0x0400], [6.097555160522461e-5, 0x03ff], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [2 ** -25 * 1.0001, 0x0001],
    [3 * 2 ** -25, 0x0002], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [0, 0], [-0, 0x8000], [1e-45, 0],
    [Infinity, 0x7c00], [-Infinity, 0xfc00],
  ];
  for (const [x, want] of cases) t.equal(float16Bits(x), want, `${x} -> 0x${want.toString(16)}`);
  const nan = float16Bits(NaN);
  t.ok((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0, 'NaN stays NaN');
});

t.test('every result is the nearest float16 (ties to even), checked with tfjs decoding its neighbours', async (t) => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const xs: number[] = [];
  for (let i = 0; i < 4000; i++) {
    const mag = 2 ** (Math.floor(rnd() * 44) - 28); // subnormals to large normals
    xs.push((rnd() < 0.5 ? -1 : 1) * mag * (1 + rnd()));
  }
  const x32 = Float32Array.from(xs);
  const bits = toFloat16(x32);
  const mag = (b: number) => b & 0x7fff;
  const lower = Uint16Array.from(bits, (b) => (mag(b) === 0 ? b : b - 1));
  const upper = Uint16Array.from(bits, (b) => (mag(b) >= 0x7bff ? b : b + 1));
  const [v, lo, hi] = [decode(bits), decode(lower), decode(upper)];
  let bad = 0;
  for (let i = 0; i < x32.length; i++) {
    const d = Math.abs(x32[i] - v[i]);
    for (const [n, nb] of [[lo[i], lower[i]], [hi[i], upper[i]]] as const) {
      const dn = Math.abs(x32[i] - n);
      if (dn < d || (dn === d && nb !== bits[i] && (bits[i] & 1) === 1)) bad++;
    }
  }
  t.equal(bad, 0, `${x32.length} values: none has a nearer (or tied and even) float16 neighbour`);
});
