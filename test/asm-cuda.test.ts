/**
 * GPU against CPU for the ASM kernels (covariance, Smooth-Face, Phi). Runs only where a CUDA
 * device is present; elsewhere the file is a tap skip (ACR_REQUIRE_GPU=1 makes a missing device a
 * failure, for GPU machines).
 */
import t from 'tap';
import { fitAsm, info } from '../lib/index';
import { asmMeanCov, asmPhi, asmSmooth } from '../lib/kernels/asm';
import { gaussian, maxAbs, maxAbsDiff, rng } from './helpers/asm-ref';

const gpus = info().gpuCount;
if (gpus === 0) {
  const why = info().cudaCompiled ? 'no CUDA device is available' : 'this build has no CUDA support';
  if (process.env.ACR_REQUIRE_GPU === '1') t.fail(`ACR_REQUIRE_GPU=1 but ${why}`);
  else t.plan(0, `${why}; the GPU-vs-CPU tests need one`);
} else {
  const r = rng(77);
  const data = (n: number, d: number) => Float32Array.from({ length: n * d }, (_, i) => 0.3 * Math.sin(i % d) + 0.05 * gaussian(r));

  t.test(`covariance: GPU (${info().gpuName}) equals CPU`, async (t) => {
    for (const [n, d] of [[2, 1], [300, 136], [20011, 196], [70000, 136], [5000, 67]] as const) {
      const x = data(n, d);
      const cpu = asmMeanCov(x, n, d, { device: 'cpu' });
      const gpu = asmMeanCov(x, n, d, { device: 'cuda' });
      t.equal(gpu.device, 'cuda');
      t.ok(maxAbsDiff(gpu.mean, cpu.mean) < 1e-12, `mean n=${n} d=${d}`);
      t.ok(maxAbsDiff(gpu.cov, cpu.cov) < 1e-10 * maxAbs(cpu.cov), `cov n=${n} d=${d}`);
      const x64 = Float64Array.from(x);
      t.ok(maxAbsDiff(asmMeanCov(x64, n, d, { device: 'cuda' }).cov, cpu.cov) < 1e-10 * maxAbs(cpu.cov), `float64 input n=${n}`);
    }
    // 'auto' keeps small work on the CPU (the GPU's context and copies would cost more).
    t.equal(asmMeanCov(data(3000, 136), 3000, 136).device, 'cpu', 'auto stays on the CPU for N = 3,000');
  });

  t.test('Smooth-Face and Phi: GPU equals CPU', async (t) => {
    const n = 30000, d = 136;
    const x = data(n, d);
    const model = fitAsm(x.subarray(0, 3000 * d), { numLandmarks: 68 });
    for (const level of [0.8, 0.97, 1]) {
      const basis = { mean: model.mean, components: model.components, eigenvalues: model.eigenvalues, k: model.numComponents(level) };
      const sc = asmSmooth(x, n, d, basis, { device: 'cpu' });
      const sg = asmSmooth(x, n, d, basis, { device: 'cuda' });
      t.ok(maxAbsDiff(sc, sg) < 1e-6, `smooth v=${level}`);
      for (const mode of ['coordinate', 'landmark'] as const) {
        const pc = asmPhi(x, n, d, basis, { mode, device: 'cpu' });
        const pg = asmPhi(x, n, d, basis, { mode, device: 'cuda' });
        t.ok(maxAbsDiff(pc, pg) < 1e-5, `phi ${mode} v=${level}`);
        const x64 = Float64Array.from(x.subarray(0, 1000 * d));
        const p64c = asmPhi(x64, 1000, d, basis, { mode, device: 'cpu' });
        const p64g = asmPhi(x64, 1000, d, basis, { mode, device: 'cuda' });
        t.ok(maxAbsDiff(p64c, p64g) < 1e-12, `phi ${mode} float64`);
      }
    }
    const mean = Float32Array.from(model.mean);
    const onMean = asmPhi(mean, 1, d, { mean: model.mean, components: model.components, eigenvalues: model.eigenvalues, k: 5 }, { device: 'cuda' });
    t.same(Array.from(onMean), Array(d).fill(0), 'epsilon guard on the GPU');
  });
}
