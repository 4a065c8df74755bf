// The fused native BatchNormalization (training) and capped-ReLU layer paths against the
// stock tfjs layers: outputs, moving statistics and gradients.
import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { useNativeKernels, nativeKernelStats, resetNativeKernelStats } from '../lib/tfjs/native-kernels';

tf.enableProdMode();
tf.setBackend('cpu');
t.teardown(() => { useNativeKernels(false); });

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

interface BnRun { y: Float32Array; dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array; mean: Float32Array; variance: Float32Array }

/** One training-mode call of a fresh layer with fixed gamma/beta; loss = sum(y * w). */
function runBn(native: boolean, x: tf.Tensor, w: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): BnRun {
  useNativeKernels(native);
  const layer = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 });
  layer.build(x.shape);
  layer.setWeights([gamma, beta, tf.zeros(gamma.shape), tf.ones(gamma.shape)]);
  const [g, b] = layer.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val);
  let y: tf.Tensor | undefined;
  const f = (xx: tf.Tensor) => {
    const out = layer.apply(xx, { training: true }) as tf.Tensor;
    y = tf.keep(out.clone());
    return tf.sum(tf.mul(out, w)) as tf.Scalar;
  };
  const { grads } = tf.variableGrads(() => f(x), [g, b]);
  const dx = tf.grad(f)(x);
  const [, , mean, variance] = layer.getWeights();
  const r = {
    y: y!.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array,
    dgamma: grads[g.name].dataSync() as Float32Array, dbeta: grads[b.name].dataSync() as Float32Array,
    mean: mean.dataSync() as Float32Array, variance: variance.dataSync() as Float32Array,
  };
  return r;
}

t.test('BatchNormalization in training mode: outputs, moving statistics and gradients', async (t) => {
  for (const shape of [[4, 5, 6, 3], [2, 7], [1, 3, 3, 17], [32, 4, 4, 40]]) {
    const c = shape[shape.length - 1];
    const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 1), 3), 5); // offset mean: exercises the shifted sums
    const w = tf.randomNormal(shape, 0, 1, 'float32', 2);
    const gamma = tf.randomUniform([c], 0.5, 1.5, 'float32', 3), beta = tf.randomNormal([c], 0, 1, 'float32', 4);
    const stock = runBn(false, x, w, gamma, beta);
    resetNativeKernelStats();
    const nat = runBn(true, x, w, gamma, beta);
    t.ok((nativeKernelStats().native['layer:BatchNormalization'] ?? 0) >= 1, `[${shape}] native path taken`);
    for (const k of ['y', 'dx', 'dgamma', 'dbeta', 'mean', 'variance'] as const) {
      const scale = Math.max(1, ...Array.from(stock[k]).map(Math.abs));
      const d = maxDiff(nat[k], stock[k]);
      t.ok(d <= 2e-4 * scale, `[${shape}] ${k}: max difference ${d.toExponential(2)} <= ${(2e-4 * scale).toExponential(2)}`);
    }
  }
});

t.test('BatchNormalization in inference mode and on other axes keeps the stock code', async (t) => {
  useNativeKernels(true);
  resetNativeKernelStats();
  const layer = tf.layers.batchNormalization({ axis: 1 });
  const x = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 5);
  layer.apply(x, { training: true });
  layer.apply(x);
  t.equal(nativeKernelStats().native['layer:BatchNormalization'] ?? 0, 0);
});

t.test('ReLU(maxValue) forward and gradient, including the exact boundaries 0 and cap', async (t) => {
  const x = tf.tensor([-2, -0, 0, 0.5, 3, 5.999, 6, 6.001, 9, NaN]);
  const dy = tf.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const run = (native: boolean) => {
    useNativeKernels(native);
    const layer = tf.layers.reLU({ maxValue: 6 });
    const f = (v: tf.Tensor) => layer.apply(v) as tf.Tensor;
    return [f(x).dataSync(), tf.grad(f)(x, dy).dataSync()];
  };
  const [ys, gs] = run(false);
  resetNativeKernelStats();
  const [yn, gn] = run(true);
  t.ok((nativeKernelStats().native['layer:ReLU'] ?? 0) >= 1, 'native path taken');
  t.same(Array.from(yn), Array.from(ys), 'forward identical');
  t.same(Array.from(gn), Array.from(gs), 'gradient identical');
  const big = tf.randomNormal([3, 50, 50, 8], 3, 4, 'float32', 9);
  const dyb = tf.randomNormal(big.shape, 0, 1, 'float32', 10);
  const runBig = (native: boolean) => {
    useNativeKernels(native);
    const f = (v: tf.Tensor) => tf.layers.reLU({ maxValue: 6 }).apply(v) as tf.Tensor;
    return tf.grad(f)(big, dyb).dataSync();
  };
  t.same(Array.from(runBig(true)), Array.from(runBig(false)), 'gradient identical on a large tensor');
});

t.test('ReLU without maxValue keeps the stock code', async (t) => {
  useNativeKernels(true);
  resetNativeKernelStats();
  (tf.layers.reLU().apply(tf.tensor([-1, 2])) as tf.Tensor).dataSync();
  t.equal(nativeKernelStats().native['layer:ReLU'] ?? 0, 0);
});

// From the second step the native Adam updates a weight and its moments in place (their arrays
// are then its own); a weight read out (dataSync) or a moment shared (clone) takes the kernel
// path for that step, leaving what was read out or shared untouched; the bits stay tfjs'.
t.test('in-place Adam: bit-identical, and not where an array was read out or is shared', async (t) => {
  const shapes = [[1], [5], [16385], [300, 70]];
  const grads = [0, 1, 2, 3, 4, 5].map((i) => shapes.map((s, j) => tf.randomNormal(s, 0, 1, 'float32', 50 + 10 * i + j)));
  const run = (native: boolean) => {
    useNativeKernels(native);
    resetNativeKernelStats();
    const ws = shapes.map((s, j) => tf.variable(tf.randomNormal(s, 0, 1, 'float32', 40 + j), true, `ip${native ? 'n' : 's'}${j}`));
    const opt = tf.train.adam(0.01, 0.85, 0.99, 1e-6);
    const apply = (step: number) => opt.applyGradients(Object.fromEntries(ws.map((w, j) => [w.name, grads[step][j]])) as never);
    let readOut: Float32Array | undefined, readCopy: number[] = [], shared: tf.Tensor | undefined, sharedCopy: number[] = [];
    for (let step = 0; step < grads.length; step++) {
      if (step === 2) { readOut = ws[3].dataSync() as Float32Array; readCopy = Array.from(readOut); }
      if (step === 3) {
        const m = (opt as unknown as { accumulatedFirstMoment: Array<{ variable: tf.Variable }> }).accumulatedFirstMoment[2].variable;
        shared = m.clone();
        sharedCopy = Array.from(shared.dataSync());
      }
      apply(step);
    }
    const stats = nativeKernelStats().native;
    const out = { w: ws.map((w) => Array.from(w.dataSync())), stats, readStill: readOut && Array.from(readOut), readCopy,
      sharedStill: shared && Array.from(shared.dataSync()), sharedCopy };
    tf.dispose([...ws, ...(shared ? [shared] : [])]);
    return out;
  };
  const stock = run(false), nat = run(true);
  nat.w.forEach((w, j) => t.ok(w.length === stock.w[j].length && w.every((v, i) => Object.is(v, stock.w[j][i])), `weight ${j} bit for bit`));
  // Step 0: no array is the optimizer's own yet (4 kernel updates); steps 1-5 in place but for
  // weight 3 at step 2 (read out) and variable 2 at step 3 (moment shared): 18 of 24.
  t.equal(nat.stats['optimizer:AdamInPlace'], 18, 'in place where nothing else sees the arrays');
  t.same(nat.readStill, nat.readCopy, 'an array read out before a step is not changed by it');
  t.same(nat.sharedStill, nat.sharedCopy, 'a clone of a moment is not changed by the next step');
});

t.test('native Adam update is bit-identical to tf.train.adam, state included', async (t) => {
  // Same gradients each step (the forward/backward kernels are not part of this comparison).
  const grads = [0, 1, 2, 3].map((i) => tf.randomNormal([300, 70], 0, 1, 'float32', 30 + i));
  const run = async (native: boolean) => {
    useNativeKernels(native);
    const w = tf.variable(tf.randomNormal([300, 70], 0, 1, 'float32', 21), true, native ? 'wn' : 'ws');
    const opt = tf.train.adam(0.01, 0.85, 0.99, 1e-6);
    for (const g of grads) opt.applyGradients({ [w.name]: g } as unknown as Parameters<typeof opt.applyGradients>[0]);
    const state = await opt.getWeights();
    return { w: Array.from(w.dataSync()), state: state.map((s) => ({ name: s.name.replace(/^w[ns]/, 'w'), v: Array.from(s.tensor.dataSync()) })) };
  };
  const stock = await run(false);
  resetNativeKernelStats();
  const nat = await run(true);
  t.equal(nativeKernelStats().native['optimizer:Adam'], 4, 'native update ran every step');
  t.ok(nat.w.every((v, i) => v === stock.w[i]), 'same weights, bit for bit');
  t.same(nat.state.map((s) => s.name), stock.state.map((s) => s.name), 'same state variables');
  nat.state.forEach((s, i) => t.ok(s.v.every((v, j) => v === stock.state[i].v[j]), `state ${s.name} bit for bit`));
});
