import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { LOSS_NAMES } from '../lib/train/config';
import { lossFunction } from '../lib/train/loss-fn';
import { acrLoss } from '../lib/loss';
import { wingLoss } from '../lib/losses';

tf.enableProdMode();

const y = tf.tensor2d([[0.1, -0.2, 0.3, 0.05]]);
const p = tf.tensor2d([[0.12, -0.1, 0.25, 0.05]]);
const phi = tf.tensor2d([[0.2, 1, 0.5, 0]]);

t.test('every loss name gives a finite scalar with a finite gradient', async (t) => {
  for (const loss of LOSS_NAMES) {
    const f = lossFunction({ loss, lambda: 1, lossUnits: 'pixels', inputSize: 64 });
    const v = f(y, p, phi);
    t.equal(v.rank, 0, loss);
    t.ok(Number.isFinite(v.dataSync()[0]) && v.dataSync()[0] > 0, `${loss} > 0`);
    const g = tf.grad((q: tf.Tensor) => f(y, q as tf.Tensor2D, phi))(p);
    t.ok(Array.from(g.dataSync()).every(Number.isFinite), `${loss} gradient finite`);
  }
});

t.test('acr passes lambda and needs phi; pixel units scale the wing parameters', async (t) => {
  const f = lossFunction({ loss: 'acr', lambda: 2.5, lossUnits: 'pixels', inputSize: 64 });
  t.equal(f(y, p, phi).dataSync()[0], acrLoss(y, p, phi, { lambda: 2.5 }).dataSync()[0]);
  t.throws(() => f(y, p, null), { code: 'ERR_ARG' });
  const w = lossFunction({ loss: 'wing', lambda: 1, lossUnits: 'pixels', inputSize: 64 });
  t.equal(w(y, p, null).dataSync()[0], wingLoss(y, p, { w: 10 / 64, epsilon: 2 / 64 }).dataSync()[0]);
  const wn = lossFunction({ loss: 'wing', lambda: 1, lossUnits: 'normalized', inputSize: 64 });
  t.equal(wn(y, p, null).dataSync()[0], wingLoss(y, p).dataSync()[0]);
  t.not(w(y, p, null).dataSync()[0], wn(y, p, null).dataSync()[0]);
});

t.test('acr in input pixels: ln(1 + |d S|^(2 - phi)) below the S-pixel switch (plain reference); phi floor', async (t) => {
  const S = 64;
  const f = lossFunction({ loss: 'acr', lambda: 2, lossUnits: 'pixels', inputSize: S, acrUnits: 'pixels' });
  const [yv, pv, phv] = [y.dataSync(), p.dataSync(), phi.dataSync()];
  let ref = 0;
  for (let i = 0; i < yv.length; i++) ref += 2 * Math.log1p(Math.abs((pv[i] - yv[i]) * S) ** (2 - phv[i]));
  ref /= yv.length;
  const got = f(y, p, phi).dataSync()[0];
  t.ok(Math.abs(got - ref) <= 1e-5 * ref, `${got} vs ${ref}`);
  t.ok(got > 10 * lossFunction({ loss: 'acr', lambda: 2, lossUnits: 'pixels', inputSize: S }).call(null, y, p, phi).dataSync()[0], 'larger than on normalised errors');
  // The log acts: doubling a large pixel error adds ~ln 2^p, far less than the 4x of L2.
  const far = tf.tensor2d([[0.1 + 20 / S, -0.2, 0.3, 0.05]]);
  const farther = tf.tensor2d([[0.1 + 40 / S, -0.2, 0.3, 0.05]]);
  t.ok(f(y, farther, phi).dataSync()[0] / f(y, far, phi).dataSync()[0] < 1.5, 'sub-quadratic growth past 1 px');

  const floored = lossFunction({ loss: 'acr', lambda: 1, lossUnits: 'pixels', inputSize: S, phiFloor: 0.5 });
  t.equal(floored(y, p, phi).dataSync()[0], acrLoss(y, p, tf.maximum(phi, 0.5), { lambda: 1 }).dataSync()[0]);
  const g = tf.grad((q: tf.Tensor) => f(y, q as tf.Tensor2D, phi))(p);
  t.ok(Array.from(g.dataSync()).every(Number.isFinite), 'finite gradient');
});
