// The README's quick start, runnable: `node --import tsx examples/quickstart.ts`.
import * as tf from '@tensorflow/tfjs';
import { fitAsm, schedule, acrLoss } from '../lib/index';

// tfjs' cpu backend prints "install our node backend" on its first tensor; the ACR op already runs
// natively, so quiet it (this turns off all tfjs warnings: leave it out while debugging).
tf.enableProdMode();

// N x 2L training landmarks [x0, y0, x1, y1, ...], normalised to the crop (u = x / size - 0.5).
const N = 500, L = 68, D = 2 * L;
const shapes = Array.from({ length: N }, () => Array.from({ length: D }, () => Math.random() - 0.5));

const asm = fitAsm(shapes);                                   // mean, eigenvalues, components (float64)
const level = schedule(0, 60);                                // variance level of epoch 0 of 60: 0.8
const phi = Float32Array.from(asm.phi(shapes, level));       // N x D difficulty in [0, 1]

const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: D })] });
const optimizer = tf.train.adam(1e-3);
const x = tf.randomNormal([32, 8]);
const yTrue = tf.tensor2d(shapes.slice(0, 32));
const phiBatch = tf.tensor2d(phi.subarray(0, 32 * D), [32, D]);
for (let step = 0; step < 3; step++) {
  const loss = optimizer.minimize(() => acrLoss(yTrue, model.predict(x) as tf.Tensor2D, phiBatch), true);
  console.log(`step ${step}: ACR loss ${loss!.dataSync()[0].toFixed(5)} (k = ${asm.numComponents(level)} components)`);
  loss!.dispose();
}
