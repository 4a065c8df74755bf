/**
 * Diagnostic: per-variable gradients of one MSE step of lib/model's MobileNetV2, stock tfjs cpu
 * kernels vs the native ones (or, with PERTURB=1, stock vs stock on an input scaled by 1 + 1e-6,
 * which shows how much rounding the network itself amplifies). Prints variables from the head
 * backwards with their relative L2 difference, so the first layer where the two part shows.
 *
 *   node --import tsx bench/nn-grad-compare.ts [inputSize=64] [width=0.35] [batch=4]
 */
import * as tf from '@tensorflow/tfjs';
import { useNativeKernels } from '../lib/tfjs/native-kernels';
import { mobileNetV2 } from '../lib/model';

tf.enableProdMode();
const [size = 64, width = 0.35, batch = 4] = process.argv.slice(2).map(Number);

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const model = mobileNetV2({ inputSize: size, width, numLandmarks: 5, dropout: 0, seed: 3 });
  const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 11);
  const y = tf.randomNormal([batch, 10], 0, 1, 'float32', 12);
  const grads = (native: boolean, input: tf.Tensor): Map<string, Float32Array> => {
    useNativeKernels(native);
    const { grads: g } = tf.variableGrads(
      () => tf.losses.meanSquaredError(y, model.apply(input, { training: true }) as tf.Tensor) as tf.Scalar,
    );
    const out = new Map<string, Float32Array>();
    for (const [k, t] of Object.entries(g)) out.set(k, t.dataSync() as Float32Array);
    tf.dispose(Object.values(g));
    return out;
  };
  const a = grads(false, x);
  const b = process.env.PERTURB ? grads(false, tf.mul(x, 1 + 1e-6)) : grads(true, x);
  useNativeKernels(false);
  console.log(`${process.env.PERTURB ? 'stock vs perturbed stock' : 'stock vs native'}: MobileNetV2 x${width} @ ${size}, batch ${batch}`);
  console.log('variable (head first)'.padEnd(48), 'relative L2 difference', '  gradient norm');
  for (const k of [...a.keys()].reverse()) {
    const p = a.get(k)!, q = b.get(k)!;
    let d = 0, n = 0;
    for (let i = 0; i < p.length; i++) {
      d += (p[i] - q[i]) ** 2;
      n += p[i] ** 2;
    }
    // Gradients that are ~0 by construction (a BN beta followed by another BN) are pure rounding noise.
    const note = Math.sqrt(n) < 1e-6 ? '  (~0 by construction: noise)' : '';
    console.log(k.padEnd(48), Math.sqrt(d / Math.max(n, 1e-30)).toExponential(2).padStart(22), Math.sqrt(n).toExponential(2).padStart(16) + note);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
