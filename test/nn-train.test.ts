// A whole MobileNetV2 (lib/model: Conv2D, DepthwiseConv2D, BatchNormalization, ReLU6, Add,
// GlobalAveragePooling2D, Dense) trains the same with the stock cpu kernels and the native ones.
//
// Tolerances: a deep network with ReLU6 kinks and BatchNorm is chaotic under rounding: the
// stock kernels themselves, fed the same images scaled by (1 +- 1e-6), drift from their own
// trajectory by ~1e-4 after one Adam step and ~1e-3 after two. The native kernels sum in
// another order, so they may drift as much, and no more: each step must stay within 10x the
// drift of that perturbed stock run (and 1e-5 for the first, forward-only, loss). Gradients
// are compared before any update the same way: the head (only forward rounding reaches it)
// to 1e-4, the rest as a whole within 10x the perturbed stock run.
import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { useNativeKernels, nativeKernelStats, resetNativeKernelStats } from '../lib/tfjs/native-kernels';
import { benchModel, trainStep } from '../bench/step';
import { buildModel } from '../lib/model';

tf.enableProdMode();
tf.setBackend('cpu');
t.teardown(() => { useNativeKernels(false); });

const SIZE = 48, WIDTH = 0.35, BATCH = 8, OUTPUTS = 10, STEPS = 3;

function data(perturb: boolean): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    let x = tf.randomNormal([BATCH, SIZE, SIZE, 3], 0, 1, 'float32', 11);
    if (perturb) x = tf.mul(x, tf.add(1, tf.randomUniform(x.shape, -1e-6, 1e-6, 'float32', 5)));
    return [x, tf.randomNormal([BATCH, OUTPUTS], 0, 0.3, 'float32', 12)];
  });
}

function model(): tf.LayersModel {
  return benchModel({ inputSize: SIZE, width: WIDTH, outputs: OUTPUTS, seed: 3 });
}

function trajectory(native: boolean, perturb = false): number[] {
  useNativeKernels(native);
  const m = model();
  const opt = tf.train.adam(1e-4);
  const [x, y] = data(perturb);
  const losses: number[] = [];
  for (let i = 0; i < STEPS; i++) losses.push(trainStep(m, opt, x, y));
  tf.dispose([x, y]);
  m.dispose();
  opt.dispose();
  return losses;
}

function gradients(native: boolean, perturb = false): Array<{ name: string; g: Float32Array }> {
  useNativeKernels(native);
  const m = model();
  const [x, y] = data(perturb);
  const names = m.trainableWeights.map((w) => w.originalName);
  const { grads } = tf.variableGrads(() => tf.losses.meanSquaredError(y, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
  // variableGrads keys carry a per-process suffix; its order is the model's weight order.
  const out = Object.values(grads).map((g, i) => ({ name: names[i], g: g.dataSync().slice() as Float32Array }));
  tf.dispose([x, y, ...Object.values(grads)]);
  m.dispose();
  return out;
}

const norm = (a: Float32Array, b?: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - (b ? b[i] : 0)) ** 2, 0));

t.test('every layer type of the network is in the model', async (t) => {
  const m = model();
  const classes = new Set(m.layers.map((l) => l.getClassName()));
  for (const c of ['Conv2D', 'DepthwiseConv2D', 'BatchNormalization', 'ReLU', 'Add', 'GlobalAveragePooling2D', 'Dense']) t.ok(classes.has(c), c);
  t.equal(m.layers.filter((l) => l.getClassName() === 'DepthwiseConv2D').length, 17, 'all 17 inverted-residual blocks');
  m.dispose();
});

t.test('gradients of every variable: native kernels match stock tfjs', async (t) => {
  const stock = gradients(false), perturbed = gradients(false, true), native = gradients(true);
  t.same(native.map((v) => v.name), stock.map((v) => v.name), 'the same variables');
  const scale = Math.max(...stock.map((v) => norm(v.g)));
  // A shift right before a BatchNorm (the project BN's beta, feeding the next block's BN through
  // a 1x1 conv) has a zero gradient; both sides must give rounding noise there, nothing more.
  const zero = stock.filter((v) => norm(v.g) < 1e-6 * scale).map((v) => v.name);
  for (const v of native.filter((v) => zero.includes(v.name))) {
    if (norm(v.g) >= 1e-6 * scale) t.fail(`${v.name}: native gradient norm ${norm(v.g)} where stock's is ~0`);
  }
  const head = native.filter((v) => v.name.startsWith('landmarks/'));
  t.equal(head.length, 2, 'the head kernel and bias');
  for (const v of head) {
    const s = stock.find((w) => w.name === v.name)!;
    const rel = norm(v.g, s.g) / norm(s.g);
    t.ok(rel < 1e-4, `${v.name}: relative difference ${rel.toExponential(2)} < 1e-4 (only forward rounding reaches it)`);
  }
  const total = (other: typeof stock) => {
    let d2 = 0, s2 = 0;
    stock.forEach((v, i) => { if (!zero.includes(v.name)) d2 += norm(other[i].g, v.g) ** 2, s2 += norm(v.g) ** 2; });
    return Math.sqrt(d2 / s2);
  };
  const rel = total(native), drift = total(perturbed);
  t.ok(rel <= Math.max(1e-5, 10 * drift), `all ${stock.length - zero.length} non-zero gradients: relative ${rel.toExponential(2)} <= 10 x perturbed stock's ${drift.toExponential(2)}`);
});

t.test('training trajectory: native kernels match stock tfjs within its own rounding sensitivity', async (t) => {
  const stock = trajectory(false);
  const perturbed = trajectory(false, true);
  resetNativeKernelStats();
  const native = trajectory(true);
  const s = nativeKernelStats();
  for (const k of ['Conv2D', 'op:plainConv2d', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput',
    'DepthwiseConv2dNativeBackpropFilter', 'layer:BatchNormalization', 'layer:ReLU', 'optimizer:Adam']) t.ok((s.native[k] ?? 0) > 0, `${k} ran natively`);
  t.same(s.fallback, {}, 'no fallbacks');
  t.ok(stock[STEPS - 1] < stock[0], `the loss goes down (${stock[0].toFixed(4)} -> ${stock[STEPS - 1].toFixed(4)})`);
  for (let i = 0; i < STEPS; i++) {
    const rel = Math.abs(native[i] - stock[i]) / stock[i];
    const drift = Math.abs(perturbed[i] - stock[i]) / stock[i];
    const tol = Math.max(1e-5, 10 * drift);
    t.ok(rel <= tol, `step ${i}: native ${native[i].toFixed(7)} vs stock ${stock[i].toFixed(7)}: relative ${rel.toExponential(2)} <= ${tol.toExponential(2)} (perturbed stock drift ${drift.toExponential(2)})`);
  }
});

t.test("the 'gdconv' head (a whole-map depthwise kernel, 'valid'): native forward and gradients match stock tfjs", async (t) => {
  // MobileNetV1 at 72 px ends on a 3x3 map: the head's kernel is 3x3 'valid', stride 1, one output pixel;
  // at 100 px a 4x4 map: the generic depthwise path runs, not the 3x3 one.
  for (const inputSize of [72, 100]) {
    const grads = (native: boolean) => {
      useNativeKernels(native);
      const m = buildModel({ arch: 'mobilenetv1', inputSize, width: 0.25, numLandmarks: 5, dropout: 0, seed: 4, head: 'gdconv' });
      // A non-uniform kernel, so each position's weight matters in the forward pass too.
      const k = m.getLayer('head_gdconv');
      k.setWeights([tf.randomUniform(k.getWeights()[0].shape, 0, 0.3, 'float32', 7)]);
      const x = tf.randomNormal([4, inputSize, inputSize, 3], 0, 1, 'float32', 8), y = tf.randomNormal([4, 10], 0, 0.3, 'float32', 9);
      const names = m.trainableWeights.map((w) => w.originalName);
      const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(y, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
      const out = { loss: value.dataSync()[0], g: new Map(Object.values(grads).map((g, i) => [names[i], g.dataSync().slice() as Float32Array])) };
      tf.dispose([x, y, value, ...Object.values(grads)]);
      m.dispose();
      return out;
    };
    const stock = grads(false);
    resetNativeKernelStats();
    const native = grads(true);
    t.ok((nativeKernelStats().native.DepthwiseConv2dNativeBackpropFilter ?? 0) > 0, 'depthwise gradients ran natively');
    t.ok(Math.abs(native.loss - stock.loss) <= 1e-5 * stock.loss, `${inputSize} px: loss ${native.loss} vs ${stock.loss}`);
    const name = [...stock.g.keys()].find((n) => n.startsWith('head_gdconv/'))!;
    const rel = norm(native.g.get(name)!, stock.g.get(name)!) / norm(stock.g.get(name)!);
    t.ok(rel < 1e-4, `${inputSize} px: ${name} gradient, relative difference ${rel.toExponential(2)} < 1e-4`);
  }
});
