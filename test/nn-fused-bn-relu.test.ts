// The fused BatchNormalization + capped ReLU execution (native-layers.ts, BN_RELU_TRAIN): inside
// a model call, a BN whose only consumer is a ReLU(maxValue) runs as one kernel. Checked against
// the same native kernels run apart (bit for bit: output, loss, every gradient, moving
// statistics) and against stock tfjs (per element 2e-4 x max(1, max |reference|), as
// nn-layers.test.ts; for the whole MobileNetV2, all gradients' relative L2 within 10x the drift of a perturbed stock run), plus the graphs where fusing would be wrong and must not happen.
import t, { Test } from 'tap';
import * as tf from '@tensorflow/tfjs';
import { useNativeKernels, nativeKernelStats, resetNativeKernelStats } from '../lib/tfjs/native-kernels';
import { benchModel } from '../bench/step';
import { trainingGrads } from './helpers/model-grads';

tf.enableProdMode();
tf.setBackend('cpu');
t.teardown(() => { useNativeKernels(false); });

type Mode = 'stock' | 'native' | 'fused';

interface Run { loss: number; out: Float32Array; grads: Float32Array[]; weights: Float32Array[]; fused: number }

/** One training-mode forward + gradient of every trainable weight; weights include the moving statistics. */
function run(mode: Mode, build: () => tf.LayersModel, x: tf.Tensor, y: tf.Tensor): Run {
  useNativeKernels(mode !== 'stock', { fuseBatchNormRelu: mode === 'fused' });
  resetNativeKernelStats();
  const model = build();
  const r: Run = {
    ...trainingGrads(model, x, y),
    weights: model.getWeights().map((w) => w.dataSync().slice() as Float32Array),
    fused: nativeKernelStats().native['layer:BatchNormalizationReLUFused'] ?? 0,
  };
  model.dispose();
  return r;
}

function identical(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

function compare(t: Test, name: string, build: () => tf.LayersModel, x: tf.Tensor, y: tf.Tensor, expectFused: number,
  deep = false): void {
  const stock = run('stock', build, x, y), apart = run('native', build, x, y), fused = run('fused', build, x, y);
  t.equal(apart.fused, 0, `${name}: no fusion when turned off`);
  t.equal(fused.fused, expectFused, `${name}: ${expectFused} BN + ReLU pairs fused`);
  t.ok(Object.is(fused.loss, apart.loss), `${name}: loss bit for bit (${fused.loss})`);
  t.ok(identical(fused.out, apart.out), `${name}: output bit for bit`);
  t.ok(fused.grads.every((g, i) => identical(g, apart.grads[i])), `${name}: all ${fused.grads.length} gradients bit for bit`);
  t.ok(fused.weights.every((w, i) => identical(w, apart.weights[i])), `${name}: weights and moving statistics bit for bit`);
  const tol = (ref: Float32Array) => 2e-4 * ref.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
  t.ok(maxDiff(fused.out, stock.out) <= tol(stock.out), `${name}: output within 2e-4 of stock tfjs`);
  if (deep) {
    // Through ~50 layers (BN over 16 values at the end), float32 summation order alone moves
    // the gradients: the bound is 10x the drift of stock tfjs itself fed x * (1 +- 1e-6), as
    // nn-train.test.ts, on all gradients as one vector (relative L2).
    const rel = (a: Float32Array[]) => {
      let num = 0, den = 0;
      a.forEach((g, i) => g.forEach((v, j) => { num += (v - stock.grads[i][j]) ** 2; den += stock.grads[i][j] ** 2; }));
      return Math.sqrt(num / den);
    };
    const perturbed = run('stock', build, tf.mul(x, tf.add(1, tf.randomUniform(x.shape, -1e-6, 1e-6, 'float32', 5))), y);
    const drift = rel(perturbed.grads), d = rel(fused.grads);
    t.ok(d <= Math.max(1e-5, 10 * drift), `${name}: all gradients within 10x perturbed stock's drift of stock tfjs ` +
      `(relative L2 ${d.toExponential(2)}, drift ${drift.toExponential(2)})`);
  } else {
    const worst = fused.grads.map((g, i) => maxDiff(g, stock.grads[i]) / tol(stock.grads[i]));
    t.ok(Math.max(...worst) <= 1, `${name}: gradients within 2e-4 of stock tfjs (worst ${Math.max(...worst).toFixed(3)} of the bound)`);
  }
  const ws = fused.weights.map((w, i) => maxDiff(w, stock.weights[i]) / tol(stock.weights[i]));
  t.ok(Math.max(...ws) <= 1, `${name}: moving statistics within 2e-4 of stock tfjs`);
}

t.test('MobileNetV2 x0.35/64 (35 BN + ReLU6 pairs): fused = apart bit for bit, = stock within tolerance', async (t) => {
  const x = tf.randomNormal([4, 64, 64, 3], 0, 1, 'float32', 3), y = tf.randomNormal([4, 136], 0, 1, 'float32', 4);
  compare(t, 'mobilenetv2', () => benchModel({ inputSize: 64, width: 0.35, seed: 1 }), x, y, 35, true);
});

/** conv -> BN -> ReLU(cap) -> ..., with the BN output optionally also used elsewhere. */
function small(variant: 'pair' | 'shared-output' | 'model-output' | 'uncapped' | 'sequential'): () => tf.LayersModel {
  return () => {
    if (variant === 'sequential') {
      return tf.sequential({ layers: [
        tf.layers.conv2d({ inputShape: [9, 9, 3], filters: 8, kernelSize: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
        tf.layers.batchNormalization({ epsilon: 1e-3 }), tf.layers.reLU({ maxValue: 6 }),
        tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ] });
    }
    const input = tf.input({ shape: [9, 9, 3] });
    const conv = tf.layers.conv2d({ filters: 8, kernelSize: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    // gamma/beta away from 1/0 so the cap and 0 both cut
    const bn = tf.layers.batchNormalization({ epsilon: 1e-3, gammaInitializer: tf.initializers.constant({ value: 3 }),
      betaInitializer: tf.initializers.constant({ value: 1 }) }).apply(conv) as tf.SymbolicTensor;
    const act = tf.layers.reLU({ maxValue: variant === 'uncapped' ? undefined : 2 }).apply(bn) as tf.SymbolicTensor;
    const pooled = tf.layers.globalAveragePooling2d({}).apply(act) as tf.SymbolicTensor;
    let out = tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(pooled) as tf.SymbolicTensor;
    if (variant === 'shared-output') { // the BN output also feeds another branch
      const other = tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })
        .apply(tf.layers.globalAveragePooling2d({}).apply(bn)) as tf.SymbolicTensor;
      out = tf.layers.add().apply([out, other]) as tf.SymbolicTensor;
    }
    // the BN output is also a model output: the model returns [out, bn]
    if (variant === 'model-output') return tf.model({ inputs: input, outputs: [out, bn] });
    return tf.model({ inputs: input, outputs: out });
  };
}

t.test('small graphs: fused where the ReLU alone consumes the BN, apart elsewhere', async (t) => {
  const x = tf.randomNormal([3, 9, 9, 3], 0, 1, 'float32', 5), y = tf.randomNormal([3, 4], 0, 1, 'float32', 6);
  compare(t, 'conv-bn-relu', small('pair'), x, y, 1);
  compare(t, 'sequential', small('sequential'), x, y, 1);
  compare(t, 'bn output shared', small('shared-output'), x, y, 0);
  compare(t, 'relu without cap', small('uncapped'), x, y, 0);
});

t.test('a BN output that is also a model output is not fused', async (t) => {
  useNativeKernels(true);
  resetNativeKernelStats();
  const m = small('model-output')();
  const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 7);
  const [, bnOut] = m.apply(x, { training: true }) as tf.Tensor[];
  t.equal(nativeKernelStats().native['layer:BatchNormalizationReLUFused'] ?? 0, 0, 'not fused');
  t.ok(bnOut.min().dataSync()[0] < 0, 'the BN output keeps its negative values');
});

t.test('a BN layer applied on its own, outside a model call, is not fused', async (t) => {
  useNativeKernels(true);
  const m = small('pair')();
  resetNativeKernelStats();
  const bnLayer = m.layers.find((l) => l.getClassName() === 'BatchNormalization')!;
  const y = bnLayer.apply(tf.randomNormal([2, 7, 7, 8], 0, 1, 'float32', 8), { training: true }) as tf.Tensor;
  t.equal(nativeKernelStats().native['layer:BatchNormalizationReLUFused'] ?? 0, 0, 'not fused');
  t.ok(y.min().dataSync()[0] < 0 && y.max().dataSync()[0] > 2, 'uncapped BN output');
});
