// A few Adam steps of a small MobileNetV2 (Conv2D, DepthwiseConv2D, BatchNormalization,
// ReLU6, Add, GlobalAveragePooling2D, Dense) give the same loss trajectory with the stock
// cpu kernels and with the native ones.
import t, { Test } from 'tap';
import * as tf from '@tensorflow/tfjs';
import { useNativeKernels, nativeKernelStats, resetNativeKernelStats } from '../lib/tfjs/native-kernels';
import { mobileNetV2, trainStep } from '../bench/mobilenetv2';

tf.enableProdMode();
tf.setBackend('cpu');
t.teardown(() => { useNativeKernels(false); });

function trajectory(t: Test, native: boolean, steps: number): number[] {
  useNativeKernels(native);
  // blocks 5 includes a stride-2 block and a residual Add.
  const model = mobileNetV2({ inputSize: 24, width: 0.5, outputs: 10, blocks: 5, seed: 3 });
  const opt = tf.train.adam(3e-3);
  const x = tf.randomNormal([4, 24, 24, 3], 0, 1, 'float32', 11), y = tf.randomNormal([4, 10], 0, 1, 'float32', 12);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push(trainStep(model, opt, x, y));
  const layerNames = model.layers.map((l) => l.getClassName());
  t.ok(['Conv2D', 'DepthwiseConv2D', 'BatchNormalization', 'ReLU', 'Add', 'GlobalAveragePooling2D', 'Dense']
    .every((c) => layerNames.includes(c)), 'the model has every MobileNetV2 layer type');
  tf.dispose([x, y]);
  model.dispose();
  opt.dispose();
  return losses;
}

t.test('training trajectory: native kernels match stock tfjs', async (t) => {
  const steps = 4;
  const stock = trajectory(t, false, steps);
  resetNativeKernelStats();
  const native = trajectory(t, true, steps);
  const s = nativeKernelStats();
  for (const k of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter',
    'layer:BatchNormalization', 'layer:ReLU']) t.ok((s.native[k] ?? 0) > 0, `${k} ran natively`);
  t.same(s.fallback, {}, 'no fallbacks');
  t.ok(stock[steps - 1] < stock[0], `the loss goes down (${stock[0].toFixed(4)} -> ${stock[steps - 1].toFixed(4)})`);
  for (let i = 0; i < steps; i++) {
    const rel = Math.abs(native[i] - stock[i]) / Math.abs(stock[i]);
    t.ok(rel < 1e-3, `step ${i}: native ${native[i].toFixed(6)} vs stock ${stock[i].toFixed(6)} (relative ${rel.toExponential(2)})`);
  }
});
