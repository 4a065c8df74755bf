import t from 'tap';
import { info } from '../lib/info';
import { acrLossAndGrad } from '../lib/kernels/loss';
import { acrReference, firstMismatch, lossFixture, rng } from './helpers/loss-reference';

// GPU vs CPU for the fused ACR loss. Runs only where a CUDA device is present; elsewhere the
// file is a tap skip (ACR_REQUIRE_GPU=1 makes a missing device a failure, for GPU machines).
const gpus = info().gpuCount;
if (gpus === 0) {
  if (process.env.ACR_REQUIRE_GPU === '1') t.fail('ACR_REQUIRE_GPU=1 but no CUDA device is available');
  else t.plan(0, `no CUDA device (cudaCompiled=${info().cudaCompiled}); the GPU-vs-CPU tests need one`);
} else {
  t.test(`CUDA (${info().gpuName}) equals the CPU kernel and the reference`, async (t) => {
    for (const n of [1, 255, 256, 257, 136 * 1000 + 3, 136 * 65536]) {
      const { pred, gt, phi } = lossFixture(n, n);
      const r = rng(n);
      const weight = Float32Array.from({ length: n }, () => (r() < 0.2 ? 0 : r()));
      for (const reduction of ['mean', 'sum', 'none'] as const) {
        for (const w of [null, weight]) {
          for (const constant of ['continuous', 'reference'] as const) {
            const o = { reduction, weight: w, constant, lambda: 1.25 };
            const gpu = acrLossAndGrad(pred, gt, phi, { ...o, device: 'cuda' });
            const cpu = acrLossAndGrad(pred, gt, phi, { ...o, device: 'cpu' });
            const tag = `n=${n} ${reduction} ${constant}${w ? ' weighted' : ''}`;
            t.ok(Math.abs(gpu.loss - cpu.loss) <= 1e-6 * Math.abs(cpu.loss) + 1e-30, `${tag}: loss ${gpu.loss} vs ${cpu.loss}`);
            const gm = firstMismatch(gpu.grad!, cpu.grad!, 1e-5);
            if (gm) t.fail(`${tag}: gradient ${gm}`);
            if (reduction === 'none' && firstMismatch(gpu.perElement!, cpu.perElement!, 1e-5)) t.fail(`${tag}: per-element`);
            if (n < 5000) {
              const ref = acrReference(pred, gt, phi, o);
              t.notOk(firstMismatch(gpu.grad!, ref.grad, 1e-5), `${tag}: gradient vs reference`);
            }
          }
        }
      }
    }
    const bad = new Float32Array(300).fill(0.5);
    bad[123] = -1;
    t.throws(() => acrLossAndGrad(new Float32Array(300), new Float32Array(300), bad, { device: 'cuda' }), {
      code: 'ERR_RANGE',
      message: /index 123/,
    });
  });
}
