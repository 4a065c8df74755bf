// The layers' fused convolutions that fuse nothing (no bias, linear) run as plain Conv2D under
// the native kernels (native-ops.ts): bit-identical to the fused route in the output, the loss,
// every gradient and the input gradient when one is asked for; the first layer's input
// gradient, which no variable needs, is no longer computed; convolutions with a bias or an
// activation keep the fused route.
import t, { Test } from 'tap';
import * as tf from '@tensorflow/tfjs';
import { useNativeKernels, nativeKernelStats, resetNativeKernelStats } from '../lib/tfjs/native-kernels';
import { patchOps, patchSaveForBackward } from '../lib/tfjs/native-ops';
import { patchLayers } from '../lib/tfjs/native-layers';
import { benchModel } from '../bench/step';
import { trainingGrads } from './helpers/model-grads';

tf.enableProdMode();
tf.setBackend('cpu');
t.teardown(() => { useNativeKernels(false); });

interface Run { loss: number; out: Float32Array; grads: Float32Array[]; dx: Float32Array; stats: Record<string, number> }

/** Training-mode forward, gradients of every trainable weight, and separately the input gradient. */
function run(plain: boolean, build: () => tf.LayersModel, x: tf.Tensor, y: tf.Tensor): Run {
  useNativeKernels(true);
  patchOps(plain);
  resetNativeKernelStats();
  const model = build();
  const { loss, out, grads } = trainingGrads(model, x, y);
  const stats = { ...nativeKernelStats().native };
  const dxT = tf.grad((input: tf.Tensor) => tf.losses.meanSquaredError(y, model.apply(input, { training: true }) as tf.Tensor))(x);
  const r: Run = { loss, out, grads, dx: dxT.dataSync().slice() as Float32Array, stats };
  dxT.dispose();
  model.dispose();
  patchOps(true);
  return r;
}

function same(t: Test, name: string, a: Float32Array, b: Float32Array): void {
  const diff = a.findIndex((v, i) => !Object.is(v, b[i]));
  t.ok(a.length === b.length && diff === -1, `${name}: bit for bit${diff >= 0 ? ` (first difference at ${diff})` : ''}`);
}

function compare(t: Test, label: string, build: () => tf.LayersModel, inShape: number[], outs: number): [Run, Run] {
  const x = tf.randomNormal(inShape, 0, 1, 'float32', 3), y = tf.randomNormal([inShape[0], outs], 0, 1, 'float32', 4);
  const fused = run(false, build, x, y), plain = run(true, build, x, y);
  t.equal(plain.loss, fused.loss, `${label}: loss bit for bit`);
  same(t, `${label} output`, plain.out, fused.out);
  plain.grads.forEach((g, i) => same(t, `${label} gradient ${i}`, g, fused.grads[i]));
  same(t, `${label} input gradient`, plain.dx, fused.dx);
  tf.dispose([x, y]);
  return [fused, plain];
}

t.test('MobileNetV2: same bits, one backprop-input fewer (the first layer)', async (t) => {
  const build = () => benchModel({ inputSize: 35, width: 0.35, outputs: 10 });
  const [fused, plain] = compare(t, 'mobilenetv2 0.35/35', build, [3, 35, 35, 3], 10);
  const convs = build().layers.filter((l) => l.getClassName() === 'Conv2D').length;
  t.equal(plain.stats['op:plainConv2d'], convs, 'every Conv2D layer ran plain');
  t.equal(fused.stats.FusedConv2D, convs, 'the fused route ran FusedConv2D');
  t.equal(fused.stats.Conv2DBackpropInput - plain.stats.Conv2DBackpropInput, 1, 'the first layer computes no input gradient');
  t.equal(plain.stats.Conv2DBackpropFilter, fused.stats.Conv2DBackpropFilter, 'every filter gradient still computed');
});

t.test('a bias or an activation keeps the fused route (and the same bits)', async (t) => {
  const build = () => {
    const init = (seed: number) => ({ kernelInitializer: tf.initializers.glorotNormal({ seed }), biasInitializer: tf.initializers.randomNormal({ seed }) });
    const input = tf.input({ shape: [9, 11, 5] });
    let h = tf.layers.conv2d({ filters: 7, kernelSize: 3, padding: 'same', useBias: true, ...init(1) }).apply(input) as tf.SymbolicTensor;
    h = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, useBias: false, activation: 'relu', ...init(2) }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.conv2d({ filters: 5, kernelSize: 1, useBias: false, ...init(3) }).apply(h) as tf.SymbolicTensor;
    const o = tf.layers.dense({ units: 4, ...init(4) }).apply(tf.layers.flatten().apply(h)) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: o });
  };
  const [fused, plain] = compare(t, 'bias / relu / plain', build, [2, 9, 11, 5], 4);
  t.equal(plain.stats['op:plainConv2d'], 1, 'only the convolution with neither bias nor activation ran plain');
  // (under a gradient tape tfjs itself runs a fused conv with an activation unfused)
  t.equal(plain.stats.FusedConv2D, 1, 'the one with a bias ran fused');
  t.equal(fused.stats.FusedConv2D, 2, 'the fused route: the one with a bias and the plain one');
});

// Mean's gradient as dy - 0 broadcast, then divided: the bits of tfjs' dy * ones / size, -0 and
// NaN included, over reduced axes of every kind; the stock gradient is back after patchOps(false).
t.test('Mean gradient: bit-identical to the stock one, which comes back when unpatched', async (t) => {
  useNativeKernels(true);
  const stockGrad = (() => { patchOps(false); const g = tf.getGradient('Mean'); patchOps(true); return g; })();
  t.not(tf.getGradient('Mean'), stockGrad, 'patched while the native kernels are on');
  const x = tf.randomNormal([3, 5, 4, 7], 0, 1, 'float32', 8);
  for (const [axis, keepDims] of [[[1, 2], false], [[1, 2], true], [0, false], [[2, 3], false], [-1, true], [[0, 1, 2, 3], false]] as Array<[number | number[], boolean]>) {
    const dyShape = tf.mean(x, axis, keepDims).shape;
    const dy = tf.randomNormal(dyShape, 0, 1, 'float32', 9);
    const dyv = dy.dataSync().slice();
    if (dyv.length > 2) { dyv[0] = -0; dyv[1] = NaN; }
    const dyt = tf.tensor(dyv, dyShape);
    const grad = (plain: boolean) => {
      patchOps(plain);
      const g = tf.grad((v: tf.Tensor) => tf.mean(v, axis, keepDims))(x, dyt);
      const out = g.dataSync().slice() as Float32Array;
      g.dispose();
      return out;
    };
    const stock = grad(false), ours = grad(true);
    same(t, `axis ${JSON.stringify(axis)} keepDims ${keepDims}`, ours, stock);
    tf.dispose([dy, dyt]);
  }
  patchOps(false);
  t.equal(tf.getGradient('Mean'), stockGrad, 'stock gradient restored');
  patchOps(true);
  x.dispose();
});

// Saved-for-backward tensors without an Identity kernel: the same loss, output and gradients bit
// for bit as the engine's own clone, one Identity call fewer per saved tensor, the same tensor
// count after the step (nothing leaked), a saved tensor the program disposed before the backward
// pass still read correctly, and the stock method back when unpatched.
t.test('tensors saved for the backward pass: no kernel, same bits, nothing leaked', async (t) => {
  useNativeKernels(true);
  const engine = tf.engine() as unknown as { saveTensorsForBackwardMode: unknown };
  const stockSave = Object.getPrototypeOf(engine).saveTensorsForBackwardMode;
  t.not(engine.saveTensorsForBackwardMode, stockSave, 'patched while the native kernels are on');
  const x = tf.randomNormal([2, 35, 35, 3], 0, 1, 'float32', 5), y = tf.randomNormal([2, 10], 0, 1, 'float32', 6);
  const model = benchModel({ inputSize: 35, width: 0.35, outputs: 10 });
  const counted = <T>(patched: boolean, fn: () => T) => {
    patchSaveForBackward(patched);
    const identity = tf.getKernel('Identity', 'cpu')!;
    let identities = 0;
    tf.unregisterKernel('Identity', 'cpu');
    tf.registerKernel({ ...identity, kernelFunc: (a) => { identities++; return identity.kernelFunc(a); } });
    resetNativeKernelStats();
    const before = tf.memory().numTensors;
    try {
      const r = fn();
      return { r, identities, saved: nativeKernelStats().native['op:savedWithoutKernel'] ?? 0, leaked: tf.memory().numTensors - before };
    } finally {
      tf.unregisterKernel('Identity', 'cpu');
      tf.registerKernel(identity);
      patchSaveForBackward(true);
    }
  };
  const stock = counted(false, () => trainingGrads(model, x, y)), ours = counted(true, () => trainingGrads(model, x, y));
  t.equal(ours.r.loss, stock.r.loss, 'loss bit for bit');
  same(t, 'output', ours.r.out, stock.r.out);
  ours.r.grads.forEach((g, i) => same(t, `gradient ${i}`, g, stock.r.grads[i]));
  t.ok(ours.saved > 100, `saved without a kernel: ${ours.saved}`);
  t.equal(stock.saved, 0, 'none when unpatched');
  t.equal(stock.identities - ours.identities, ours.saved, 'one Identity call fewer per saved tensor');
  t.equal(ours.leaked, 0, 'no tensor left behind');
  t.equal(stock.leaked, 0, 'no tensor left behind (stock)');

  // exp saves its output; the program disposes it before the backward pass reads it.
  const a = tf.randomNormal([4, 5], 0, 1, 'float32', 7);
  const f = (v: tf.Tensor) => { const e = tf.exp(v); const s = tf.sum(tf.mul(e, tf.sin(v))); e.dispose(); return s; };
  const grad = (patched: boolean) => counted(patched, () => { const g = tf.grad(f)(a); const out = g.dataSync().slice() as Float32Array; g.dispose(); return out; });
  const gStock = grad(false), gOurs = grad(true);
  same(t, 'gradient through a disposed saved output', gOurs.r, gStock.r);
  t.ok(gOurs.saved > 0 && gOurs.leaked === 0 && gStock.leaked === 0, 'saved without a kernel, nothing left behind');

  patchOps(false);
  t.equal(engine.saveTensorsForBackwardMode, stockSave, 'stock method restored');
  t.notOk(Object.prototype.hasOwnProperty.call(engine, 'saveTensorsForBackwardMode'), 'no own property left');
  patchOps(true);
  tf.dispose([a, x, y]);
  model.dispose();
});

/** Calls of the named cpu kernels while fn runs. */
function kernelCalls<T>(names: string[], fn: () => T): { r: T; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const saved = names.map((n) => tf.getKernel(n, 'cpu')!);
  for (const k of saved) {
    tf.unregisterKernel(k.kernelName, 'cpu');
    tf.registerKernel({ ...k, kernelFunc: (a) => { calls[k.kernelName] = (calls[k.kernelName] ?? 0) + 1; return k.kernelFunc(a); } });
  }
  try {
    return { r: fn(), calls };
  } finally {
    for (const k of saved) {
      tf.unregisterKernel(k.kernelName, 'cpu');
      tf.registerKernel(k);
    }
  }
}

// A clone's gradient (tfjs: dy through a float32 Cast kernel) as a new tensor on dy's data: same
// bits, one Cast call fewer per clone, nothing leaked, the stock gradient back when unpatched.
t.test('Identity gradient without a Cast kernel: same bits, nothing leaked', async (t) => {
  useNativeKernels(true);
  const stockGrad = (() => { patchOps(false); const g = tf.getGradient('Identity'); patchOps(true); return g; })();
  t.not(tf.getGradient('Identity'), stockGrad, 'patched while the native kernels are on');
  const v = tf.randomNormal([3, 7], 0, 1, 'float32', 11), w = tf.randomNormal([3, 7], 0, 1, 'float32', 12);
  const grad = (patched: boolean) => {
    patchOps(patched);
    resetNativeKernelStats();
    const before = tf.memory().numTensors;
    const { r, calls } = kernelCalls(['Cast'], () => {
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.clone(tf.clone(x)), w)))(v);
      const out = g.dataSync().slice() as Float32Array;
      g.dispose();
      return out;
    });
    return { out: r, casts: calls.Cast ?? 0, free: nativeKernelStats().native['op:identityGradWithoutKernel'] ?? 0, leaked: tf.memory().numTensors - before };
  };
  const stock = grad(false), ours = grad(true);
  same(t, 'gradient through two clones', ours.out, stock.out);
  t.equal(stock.casts - ours.casts, 2, 'one Cast call fewer per clone');
  t.equal(ours.free, 2, 'two kernel-free copies');
  t.same([ours.leaked, stock.leaked], [0, 0], 'no tensor left behind');
  patchOps(false);
  t.equal(tf.getGradient('Identity'), stockGrad, 'stock gradient restored');
  patchOps(true);
  tf.dispose([v, w]);
});

// tfjs' Add layer sums from a clone of its first input; the patched one adds the inputs directly:
// the same output and gradients bit for bit (stock kernels on both sides), one Identity call fewer
// per Add, and the stock merge back when unpatched.
t.test('Add layer without the clone of its first input: same bits, one Identity call fewer', async (t) => {
  useNativeKernels(false);
  const input = tf.input({ shape: [6] });
  const a = tf.layers.dense({ units: 5, kernelInitializer: 'glorotNormal' }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.dense({ units: 5, kernelInitializer: 'glorotNormal' }).apply(input) as tf.SymbolicTensor;
  const c = tf.layers.dense({ units: 5, kernelInitializer: 'glorotNormal' }).apply(input) as tf.SymbolicTensor;
  const sum2 = tf.layers.add().apply([a, b]) as tf.SymbolicTensor;
  const sum3 = tf.layers.add().apply([sum2, c, a]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: sum3 });
  const x = tf.randomNormal([4, 6], 0, 1, 'float32', 13), y = tf.randomNormal([4, 5], 0, 1, 'float32', 14);
  const addProto = Object.getPrototypeOf(model.layers[4]) as { mergeFunction: unknown };
  const stockMerge = addProto.mergeFunction;
  const runOnce = (patched: boolean) => {
    patchLayers(patched);
    resetNativeKernelStats();
    const { r, calls } = kernelCalls(['Identity'], () => trainingGrads(model, x, y));
    return { ...r, identities: calls.Identity ?? 0, adds: nativeKernelStats().native['layer:Add'] ?? 0 };
  };
  const stock = runOnce(false), ours = runOnce(true);
  t.equal(ours.loss, stock.loss, 'loss bit for bit');
  same(t, 'output', ours.out, stock.out);
  ours.grads.forEach((g, i) => same(t, `gradient ${i}`, g, stock.grads[i]));
  t.equal(ours.adds, 2, 'both Add layers patched');
  t.equal(stock.identities - ours.identities, 2, 'one Identity call fewer per Add');
  patchLayers(false);
  t.equal(addProto.mergeFunction, stockMerge, 'stock merge restored');
  tf.dispose([x, y]);
  model.dispose();
});
