// The recycled output arrays of the native kernels (lib/tfjs/alloc.ts): reused once tfjs has
// let go of them, never while a tensor, a view or a read-out still holds them.
import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { useNativeKernels, nativeKernelStats } from '../lib/tfjs/native-kernels';

tf.enableProdMode();
tf.setBackend('cpu');
t.teardown(() => { useNativeKernels(false); });

// 1 x 32 x 32 x 32 floats: well above the pooling threshold.
const SHAPE: [number, number, number, number] = [1, 32, 32, 32];
const filter = tf.randomNormal([1, 1, 32, 32], 0, 1, 'float32', 1) as tf.Tensor4D;
const conv = (seed: number) => tf.tidy(() => tf.conv2d(tf.randomNormal(SHAPE, 0, 1, 'float32', seed) as tf.Tensor4D, filter, 1, 'valid'));
const pool = () => nativeKernelStats().bufferPool;

t.test('a disposed output is reused by the next op of the same size, with correct results', async (t) => {
  useNativeKernels(true);
  const first = conv(1);
  first.dispose();
  const before = pool().reused;
  const second = conv(2);
  t.equal(pool().reused, before + 1, 'served from the pool');
  useNativeKernels(false);
  const stock = conv(2);
  t.ok(tf.max(tf.abs(tf.sub(second, stock))).dataSync()[0] < 1e-4, 'the reused array holds the new result');
  tf.dispose([second, stock]);
});

t.test('an array that was read out is never recycled', async (t) => {
  useNativeKernels(true);
  const a = conv(3);
  const values = a.dataSync();
  const copy = values.slice();
  a.dispose();
  const b = conv(4);
  t.equal(values.filter((v, i) => v !== copy[i]).length, 0, 'the read-out array still holds its values');
  b.dispose();
});

t.test('a view made by a stock kernel keeps the buffer alive', async (t) => {
  const slice = (x: tf.Tensor) => tf.slice(x, [0, 0, 0, 0], [1, 8, 32, 32]);
  useNativeKernels(false);
  const expected = tf.tidy(() => slice(conv(5)));
  useNativeKernels(true);
  const a = conv(5);
  // A contiguous slice on the cpu backend is a subarray of a's buffer, under its own data id.
  const view = slice(a);
  a.dispose();
  for (let i = 0; i < 3; i++) conv(10 + i).dispose();
  const free = pool().freeBytes;
  t.ok(tf.max(tf.abs(tf.sub(view, expected))).dataSync()[0] < 1e-4, 'the view is unchanged after more same-size ops');
  view.dispose();
  t.ok(pool().freeBytes > free, 'the buffer is free once the view is gone too');
  expected.dispose();
});

t.test('the training step reuses its memory across steps', async (t) => {
  useNativeKernels(true);
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [32, 32, 8], filters: 32, kernelSize: 3, padding: 'same', useBias: false }),
    tf.layers.batchNormalization(), tf.layers.reLU({ maxValue: 6 }),
    tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }),
    tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 4 }),
  ] });
  const opt = tf.train.adam(1e-3);
  const x = tf.randomNormal([8, 32, 32, 8], 0, 1, 'float32', 7), y = tf.randomNormal([8, 4], 0, 1, 'float32', 8);
  const step = () => opt.minimize(() => tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
  step().dispose();
  step().dispose();
  const { allocated, reused } = pool();
  step().dispose();
  t.equal(pool().allocated, allocated, 'no new large arrays in a later step');
  t.ok(pool().reused > reused, 'every large output came from the pool');
  tf.dispose([x, y]);
  model.dispose();
  opt.dispose();
});

t.test('turning the kernels off drops the pool and restores the backend', async (t) => {
  useNativeKernels(true);
  conv(20).dispose();
  const backend = tf.findBackend('cpu') as unknown as { data: object; readSync: unknown };
  t.ok(Object.prototype.hasOwnProperty.call(backend, 'readSync'), 'hooked while on');
  useNativeKernels(false);
  t.notOk(Object.prototype.hasOwnProperty.call(backend, 'readSync'), 'readSync is the class method again');
  t.notOk(Object.prototype.hasOwnProperty.call(backend.data, 'set'), 'the data store is untouched');
  t.same({ enabled: pool().enabled, freeBytes: pool().freeBytes }, { enabled: false, freeBytes: 0 });
  useNativeKernels(true, { recycleBuffers: false });
  const before = pool().reused;
  conv(21).dispose();
  conv(22).dispose();
  t.equal(pool().reused, before, 'recycleBuffers: false allocates every time');
  useNativeKernels(false);
});
