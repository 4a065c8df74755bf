import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { adaptiveWingLoss, l1Loss, l2Loss, smoothL1Loss, softWingLoss, wingLoss } from '../lib/losses';
import { l1LossAndGrad, l2LossAndGrad } from '../lib/kernels/loss';

tf.enableProdMode();

// Plain-number definitions from the papers, per element (x = pred - gt, y = gt).
const ref = {
  smoothL1: (x: number, beta = 1) => (Math.abs(x) < beta ? (0.5 * x * x) / beta : Math.abs(x) - 0.5 * beta),
  wing: (x: number, w = 10, e = 2) => (Math.abs(x) < w ? w * Math.log(1 + Math.abs(x) / e) : Math.abs(x) - (w - w * Math.log(1 + w / e))),
  softWing: (x: number, w1 = 2, w2 = 20, e = 0.5) =>
    Math.abs(x) < w1 ? Math.abs(x) : w2 * Math.log(1 + Math.abs(x) / e) + w1 - w2 * Math.log(1 + w1 / e),
  awing: (x: number, y: number, alpha = 2.1, omega = 14, e = 1, theta = 0.5) => {
    const a = Math.abs(x);
    const p = alpha - y;
    if (a < theta) return omega * Math.log(1 + Math.pow(a / e, p));
    const A = omega * (1 / (1 + Math.pow(theta / e, p))) * p * Math.pow(theta / e, p - 1) * (1 / e);
    const C = theta * A - omega * Math.log(1 + Math.pow(theta / e, p));
    return A * a - C;
  },
};

const xs = [-25, -12, -10.5, -3, -1.5, -0.7, -0.2, 0, 0.05, 0.4, 0.6, 0.99, 1.01, 2.5, 9, 11, 30];
const ys = xs.map((_, i) => (i % 5) / 4); // heatmap-like targets in [0, 1]

function perElement(fn: (a: tf.Tensor, b: tf.Tensor, o: { reduction: 'none' }) => tf.Tensor): number[] {
  return tf.tidy(() => {
    const gt = tf.tensor1d(ys);
    const pred = tf.add(gt, tf.tensor1d(xs));
    return Array.from(fn(gt, pred, { reduction: 'none' }).dataSync());
  });
}

t.test('each baseline equals its paper formula with the field defaults', async (t) => {
  // The float32 differences the losses actually see.
  const d = tf.tidy(() => Array.from(tf.sub(tf.add(tf.tensor1d(ys), tf.tensor1d(xs)), tf.tensor1d(ys)).dataSync()));
  const cases: [string, number[], (x: number, i: number) => number][] = [
    ['l1', perElement(l1Loss), (x) => Math.abs(x)],
    ['l2', perElement(l2Loss), (x) => x * x],
    ['smoothL1', perElement(smoothL1Loss), (x) => ref.smoothL1(x)],
    ['wing', perElement(wingLoss), (x) => ref.wing(x)],
    ['softWing', perElement(softWingLoss), (x) => ref.softWing(x)],
    ['adaptiveWing', perElement(adaptiveWingLoss), (x, i) => ref.awing(x, ys[i])],
  ];
  for (const [name, got, want] of cases) {
    got.forEach((g, i) => {
      const w = want(d[i], i);
      if (!(Math.abs(g - w) <= 1e-5 * Math.abs(w) + 1e-6)) t.fail(`${name}(${d[i]}): ${g} vs ${w}`);
    });
    t.pass(`${name}: ${got.length} points`);
  }
});

t.test('wing-family losses are continuous at their breakpoints', async (t) => {
  for (const [name, fn, at] of [
    ['wing', wingLoss, 10],
    ['softWing', softWingLoss, 2],
    ['smoothL1', smoothL1Loss, 1],
  ] as const) {
    const v = tf.tidy(() => {
      const gt = tf.zeros([2]);
      return Array.from(fn(gt, tf.tensor1d([at * (1 - 1e-6), at * (1 + 1e-6)]), { reduction: 'none' }).dataSync());
    });
    t.ok(Math.abs(v[0] - v[1]) < 1e-4 * Math.max(1, Math.abs(v[0])), `${name} at ${at}: ${v[0]} vs ${v[1]}`);
  }
  const aw = tf.tidy(() =>
    Array.from(adaptiveWingLoss(tf.tensor1d([0.3, 0.3]), tf.tensor1d([0.3 + 0.5 * (1 - 1e-6), 0.3 + 0.5 * (1 + 1e-6)]), { reduction: 'none' }).dataSync()),
  );
  t.ok(Math.abs(aw[0] - aw[1]) < 1e-4, `adaptiveWing at theta: ${aw[0]} vs ${aw[1]}`);
});

t.test('gradients are finite, 0 at zero error, and tfjs L1/L2 agree with the native kernels', async (t) => {
  const before = tf.memory().numTensors;
  const gt = tf.tensor2d([0.1, -0.2, 0.3, 0, 0.5, 0.25], [2, 3]);
  const pred = tf.tensor2d([0.4, -0.2, -1.3, 2, 0.5, 0.2], [2, 3]);
  const weight = tf.tensor2d([1, 0, 2, 1, 1, 0.5], [2, 3]);
  for (const fn of [l1Loss, l2Loss, smoothL1Loss, wingLoss, softWingLoss, adaptiveWingLoss]) {
    const g = tf.grad((p: tf.Tensor) => fn(gt, p, { weight }))(pred);
    const gv = g.dataSync();
    t.ok(gv.every(Number.isFinite), `${fn.name}: finite gradient`);
    t.equal(gv[1], 0, `${fn.name}: zero gradient at zero error`);
    t.equal(gv[4], 0, `${fn.name}: zero gradient at zero error`);
    g.dispose();
  }
  for (const [fn, native] of [[l1Loss, l1LossAndGrad], [l2Loss, l2LossAndGrad]] as const) {
    const { value, grads } = tf.variableGrads(() => fn(gt, pvar, { weight }) as tf.Scalar, [pvar]);
    const n = native(pred.dataSync() as Float32Array, gt.dataSync() as Float32Array, { weight: weight.dataSync() as Float32Array });
    t.ok(Math.abs(value.dataSync()[0] - n.loss) < 1e-6, `${fn.name}: value equals the native kernel`);
    const gv = grads[pvar.name].dataSync();
    t.ok(n.grad!.every((x, i) => Math.abs(x - gv[i]) < 1e-6), `${fn.name}: gradient equals the native kernel`);
    value.dispose();
    tf.dispose(grads);
  }
  tf.dispose([gt, pred, weight]);
  t.equal(tf.memory().numTensors, before, 'no tensors leaked');
});
const pvar = tf.variable(tf.tensor2d([0.4, -0.2, -1.3, 2, 0.5, 0.2], [2, 3]));

t.test('arguments are validated', async (t) => {
  const a = tf.zeros([2, 2]);
  const b = tf.zeros([2, 3]);
  t.throws(() => wingLoss(a, b), { code: 'ERR_SHAPE', message: /yTrue/ });
  t.throws(() => wingLoss(a, a, { w: -1 }), { code: 'ERR_RANGE', message: /options.w/ });
  t.throws(() => softWingLoss(a, a, { epsilon: 0 }), { code: 'ERR_RANGE', message: /epsilon/ });
  t.throws(() => smoothL1Loss(a, a, { beta: NaN }), { code: 'ERR_RANGE', message: /beta/ });
  t.throws(() => l2Loss(a, a, { reduction: 'avg' as never }), { code: 'ERR_ARG' });
  t.throws(() => l1Loss(a, [1] as never), { code: 'ERR_DTYPE' });
  const zero = l2Loss(a, a, { weight: new Float32Array(4) });
  t.equal(zero.dataSync()[0], 0, 'all-zero weights: 0');
  tf.dispose([a, b, zero]);
});
