import t from 'tap';
import { info, setIsa, setNumThreads } from '../lib/index';
import { acrLossAndGrad } from '../lib/kernels/loss';

t.test('info reports the build and the run-time choices', async (t) => {
  const i = info();
  t.match(i.isa, /^(scalar|avx2|avx512)$/);
  t.match(i.isaDetected, /^(scalar|avx2|avx512)$/);
  t.ok(i.threads >= 1);
  t.type(i.cudaCompiled, 'boolean');
  t.ok(i.gpuCount >= 0);
  if (i.gpuCount === 0) t.equal(i.gpuName, '');
});

t.test('setIsa never raises the level above the CPU', async (t) => {
  const detected = info().isaDetected;
  t.equal(setIsa('scalar'), 'scalar');
  t.equal(info().isa, 'scalar');
  const back = setIsa('avx512');
  t.equal(back, detected === 'avx512' ? 'avx512' : detected);
  t.throws(() => setIsa('sse9' as never), { code: 'ERR_ARG', name: 'ArgumentError' });
});

t.test('setNumThreads resizes the pool and validates', async (t) => {
  t.equal(setNumThreads(3), 3);
  t.equal(info().threads, 3);
  t.ok(setNumThreads(0) >= 1);
  t.throws(() => setNumThreads(-1), { code: 'ERR_RANGE' });
  t.throws(() => setNumThreads(1.5), { code: 'ERR_RANGE' });
});

t.test('resizing the pool between parallel calls never hangs and keeps results exact', async (t) => {
  // Regression: workers created by a resize once started from a stale generation and could
  // count themselves done for a batch they never saw (a hang, or a read of a freed task).
  const n = 1 << 20;
  const pred = new Float32Array(n).map((_, i) => Math.sin(i) * 0.3);
  const gt = new Float32Array(n);
  const phi = new Float32Array(n).fill(0.5);
  setNumThreads(1);
  const reference = acrLossAndGrad(pred, gt, phi, { reduction: 'sum', gradient: false }).loss;
  for (let i = 0; i < 200; i++) {
    setNumThreads(1 + (i % 4));
    const { loss } = acrLossAndGrad(pred, gt, phi, { reduction: 'sum', gradient: false });
    if (Math.abs(loss - reference) > 1e-9 * Math.abs(reference)) t.fail(`run ${i}: ${loss} != ${reference}`);
  }
  setNumThreads(0);
  t.pass('200 resizes');
});

t.test('info counts the native tfjs kernels and their fallbacks', async (t) => {
  const tf = await import('@tensorflow/tfjs');
  const { useNativeKernels, resetNativeKernelStats } = await import('../lib/index');
  await tf.setBackend('cpu');
  useNativeKernels(true);
  t.teardown(() => useNativeKernels(false));
  resetNativeKernelStats();
  const x = tf.randomNormal([1, 5, 5, 3]);
  const w = tf.randomNormal([3, 3, 3, 4]);
  tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').dispose();
  const k = info().nativeKernels;
  t.equal(k.enabled, true);
  t.ok(k.native.Conv2D >= 1, `Conv2D served natively (${JSON.stringify(k.native)})`);
  tf.dispose([x, w]);
});
