import t from 'tap';
import { info, setIsa, setNumThreads } from '../lib/index';
import { acrLossAndGrad, l1LossAndGrad, l2LossAndGrad, bandwidthCopy, bandwidthRead } from '../lib/kernels/loss';
import { native } from '../lib/binding';
import { acrReference, firstMismatch, l1Reference, l2Reference, lossFixture, rng } from './helpers/loss-reference';

// Every variant the CPU can run. Tolerance: relative 1e-5 (plus 1e-30 absolute for values in
// the float32 denormal range) against the float64 reference.
const ALL = ['scalar', 'avx2', 'avx512'] as const;
const order = { scalar: 0, avx2: 1, avx512: 2 };
const ISAS = ALL.filter((i) => order[i] <= order[info().isaDetected as keyof typeof order]);
const REL = 1e-5;

function relClose(x: number, r: number, rel = REL): boolean {
  return Math.abs(x - r) <= rel * Math.abs(r) + 1e-30;
}

t.teardown(() => {
  setIsa('avx512');
  setNumThreads(0);
});

t.test('native ACR equals the float64 reference for every ISA, size, reduction and constant', async (t) => {
  const sizes = [0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 136, 1000, 16383, 16385, 70001];
  for (const isa of ISAS) {
    setIsa(isa);
    for (const n of sizes) {
      const { pred, gt, phi } = lossFixture(n, n + 1);
      const r = rng(n + 99);
      const weight = Float32Array.from({ length: n }, () => (r() < 0.2 ? 0 : r() * 2));
      for (const reduction of ['mean', 'sum', 'none'] as const) {
        for (const constant of ['continuous', 'reference'] as const) {
          for (const w of [null, weight]) {
            const opts = { reduction, constant, weight: w, lambda: 1.5, threshold: 1 };
            const got = acrLossAndGrad(pred, gt, phi, opts);
            const ref = acrReference(pred, gt, phi, opts);
            const tag = `${isa} n=${n} ${reduction} ${constant} ${w ? 'weighted' : ''}`;
            t.ok(relClose(got.loss, ref.loss), `${tag}: loss ${got.loss} vs ${ref.loss}`);
            const gm = firstMismatch(got.grad!, ref.grad, REL);
            if (gm) t.fail(`${tag}: grad ${gm}`);
            if (reduction === 'none') {
              const lm = firstMismatch(got.perElement!, ref.perElement, REL);
              if (lm) t.fail(`${tag}: per-element ${lm}`);
            } else t.equal(got.perElement, null);
          }
        }
      }
    }
  }
});

t.test('thresholds and lambdas other than 1, every ISA', async (t) => {
  for (const isa of ISAS) {
    setIsa(isa);
    for (const [lambda, threshold] of [[0.5, 0.05], [3, 2.5], [1, 10], [2, 1e-3]]) {
      const { pred, gt, phi } = lossFixture(517, 7, threshold);
      const got = acrLossAndGrad(pred, gt, phi, { lambda, threshold, reduction: 'none' });
      const ref = acrReference(pred, gt, phi, { lambda, threshold, reduction: 'none' });
      t.notOk(firstMismatch(got.perElement!, ref.perElement, REL), `${isa} lambda ${lambda} t ${threshold}: loss`);
      t.notOk(firstMismatch(got.grad!, ref.grad, REL), `${isa} lambda ${lambda} t ${threshold}: grad`);
    }
  }
});

t.test('a = 0 gives loss 0 and gradient 0 for phi 0, 1/2 and 1 (0^0 = 1, sign 0)', async (t) => {
  for (const isa of ISAS) {
    setIsa(isa);
    const n = 19;
    const pred = Float32Array.from({ length: n }, (_, i) => i * 0.01);
    const phi = Float32Array.from({ length: n }, (_, i) => [0, 0.5, 1][i % 3]);
    const r = acrLossAndGrad(pred, pred.slice(), phi, { reduction: 'none' });
    t.same([...r.perElement!], new Array(n).fill(0), `${isa}: losses`);
    t.same([...r.grad!], new Array(n).fill(0), `${isa}: gradients`);
    t.equal(r.loss, 0);
  }
});

t.test('phi = 1 is L1-like (gradient lambda near 0), phi = 0 is L2-like (gradient -> 0)', async (t) => {
  for (const isa of ISAS) {
    setIsa(isa);
    const pred = new Float32Array([1e-6, 1e-6]);
    const gt = new Float32Array([0, 0]);
    const r = acrLossAndGrad(pred, gt, new Float32Array([1, 0]), { reduction: 'sum', lambda: 2 });
    t.ok(relClose(r.grad![0], 2 / (1 + 1e-6), 1e-6), `${isa}: phi 1 gradient ${r.grad![0]}`);
    t.ok(relClose(r.grad![1], (2 * 2 * 1e-6) / (1 + 1e-12), 1e-5), `${isa}: phi 0 gradient ${r.grad![1]}`);
  }
});

t.test('tiny and denormal differences keep their precision (log1p, denormal log)', async (t) => {
  for (const isa of ISAS) {
    setIsa(isa);
    const ds = [1e-40, 3e-39, 1e-30, 1e-20, 1e-10, 1e-7, 1e-4];
    for (const ph of [0, 0.25, 0.5, 0.99, 1]) {
      const pred = Float32Array.from(ds);
      const gt = new Float32Array(ds.length);
      const phi = new Float32Array(ds.length).fill(ph);
      const got = acrLossAndGrad(pred, gt, phi, { reduction: 'none' });
      const ref = acrReference(pred, gt, phi, { reduction: 'none' });
      t.notOk(firstMismatch(got.perElement!, ref.perElement, REL, 1e-44), `${isa} phi ${ph}: losses`);
      t.notOk(firstMismatch(got.grad!, ref.grad, REL, 1e-44), `${isa} phi ${ph}: gradients`);
    }
  }
});

t.test('at the threshold: the log branch; the default constant makes the loss continuous', async (t) => {
  for (const isa of ISAS) {
    setIsa(isa);
    for (const [lambda, thr] of [[1, 1], [2, 0.5], [0.3, 3]]) {
      const tf = Math.fround(thr);
      const below = Math.fround(tf * (1 - 1e-6));
      const above = Math.fround(tf * (1 + 1e-6));
      const pred = new Float32Array([below, tf, above, below, tf, above]);
      const gt = new Float32Array(6);
      const phi = new Float32Array([0.3, 0.3, 0.3, 1, 1, 1]);
      const r = acrLossAndGrad(pred, gt, phi, { lambda, threshold: thr, reduction: 'none' });
      const l = r.perElement!;
      for (const k of [0, 3]) {
        const p = 2 - phi[k];
        t.ok(relClose(l[k + 1], lambda * Math.log1p(Math.pow(tf, p))), `${isa}: a = t uses the log branch`);
        t.ok(Math.abs(l[k + 2] - l[k + 1]) < 1e-4 * Math.max(1, l[k + 1]), `${isa} lambda ${lambda} t ${thr}: continuous above`);
        t.ok(Math.abs(l[k] - l[k + 1]) < 1e-4 * Math.max(1, l[k + 1]), `${isa}: continuous below`);
      }
      // The reference constant (phi ln 2 - 1) jumps at t = 1 unless lambda = phi.
      if (thr === 1 && lambda === 1) {
        const rr = acrLossAndGrad(pred, gt, phi, { lambda: 2, threshold: 1, constant: 'reference', reduction: 'none' });
        t.ok(Math.abs(rr.perElement![2] - rr.perElement![1]) > 0.5, `${isa}: 'reference' is discontinuous for lambda 2`);
      }
    }
  }
});

t.test('the gradient matches central finite differences of the loss', async (t) => {
  for (const isa of ISAS) {
    setIsa(isa);
    const r = rng(5);
    const n = 41;
    const gt = Float32Array.from({ length: n }, () => r() - 0.5);
    // Keep away from the kinks (a = 0 and a = t) so the difference quotient is meaningful.
    const pred = Float32Array.from(gt, (g, i) => g + (i % 2 ? 1 : -1) * (0.05 + 1.5 * r()));
    const phi = Float32Array.from({ length: n }, () => r());
    const weight = Float32Array.from({ length: n }, () => 0.5 + r());
    const opts = { reduction: 'mean' as const, weight, lambda: 1.3 };
    const g = acrLossAndGrad(pred, gt, phi, opts).grad!;
    let worst = 0;
    for (let i = 0; i < n; i++) {
      if (Math.abs(Math.abs(pred[i] - gt[i]) - 1) < 0.02) continue;
      const h = 1e-3;
      const up = pred.slice();
      const dn = pred.slice();
      up[i] += h;
      dn[i] -= h;
      const fd = (acrLossAndGrad(up, gt, phi, opts).loss - acrLossAndGrad(dn, gt, phi, opts).loss) / (up[i] - dn[i]);
      worst = Math.max(worst, Math.abs(fd - g[i]) / Math.max(Math.abs(g[i]), 1e-3));
    }
    t.ok(worst < 2e-3, `${isa}: worst relative difference ${worst.toExponential(2)}`);
  }
});

t.test('mask semantics: mean over the visible elements; all hidden gives 0', async (t) => {
  const { pred, gt, phi } = lossFixture(50, 3);
  const weight = Float32Array.from({ length: 50 }, (_, i) => (i % 4 === 0 ? 0 : 1));
  const visible = [...Array(50).keys()].filter((i) => weight[i] === 1);
  const masked = acrLossAndGrad(pred, gt, phi, { weight });
  const sub = acrLossAndGrad(
    Float32Array.from(visible, (i) => pred[i]),
    Float32Array.from(visible, (i) => gt[i]),
    Float32Array.from(visible, (i) => phi[i]),
  );
  t.ok(relClose(masked.loss, sub.loss), 'masked mean = mean over the visible elements');
  visible.forEach((i, k) => {
    if (!relClose(masked.grad![i], sub.grad![k])) t.fail(`grad ${i}`);
  });
  for (let i = 0; i < 50; i += 4) if (masked.grad![i] !== 0) t.fail(`hidden element ${i} has a gradient`);
  const none = acrLossAndGrad(pred, gt, phi, { weight: new Float32Array(50) });
  t.equal(none.loss, 0);
  t.ok(none.grad!.every((x) => x === 0));
  t.throws(() => acrLossAndGrad(pred, gt, phi, { weight: new Float32Array(50).fill(-1) }), { code: 'ERR_RANGE', message: /weight/ });
  const badPhi = phi.slice();
  badPhi[37] = 1.5;
  t.throws(() => acrLossAndGrad(pred, gt, badPhi), { code: 'ERR_RANGE', message: /phi.*index 37/ });
  badPhi[37] = NaN;
  t.throws(() => acrLossAndGrad(pred, gt, badPhi), { code: 'ERR_RANGE', message: /phi/ });
});

t.test('empty batch: loss 0, empty gradient', async (t) => {
  const e = new Float32Array(0);
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    const r = acrLossAndGrad(e, e, e, { reduction, dim: 136 });
    t.equal(r.loss, 0);
    t.equal(r.grad!.length, 0);
  }
});

t.test('huge batch: threaded result equals one thread bit for bit and matches the reference', async (t) => {
  const n = 136 * 9000 + 5;
  const { pred, gt, phi } = lossFixture(n, 11);
  setIsa('avx512');
  setNumThreads(1);
  const one = acrLossAndGrad(pred, gt, phi);
  setNumThreads(3);
  const three = acrLossAndGrad(pred, gt, phi);
  setNumThreads(0);
  t.equal(three.loss, one.loss, 'same float64 sum for any thread count');
  t.ok(Buffer.from(three.grad!.buffer).equals(Buffer.from(one.grad!.buffer)), 'same gradient bytes');
  const ref = acrReference(pred, gt, phi);
  t.ok(relClose(one.loss, ref.loss, 1e-6), `loss ${one.loss} vs ${ref.loss}`);
  t.notOk(firstMismatch(one.grad!, ref.grad, REL), 'gradient');
});

t.test('finite input never gives NaN or Inf; NaN input propagates without a crash', async (t) => {
  for (const isa of ISAS) {
    setIsa(isa);
    const big = 3e38;
    const pred = new Float32Array([big, -big, 1e20, 5, 0, 0.3, 0.1, 0.2, 0.4]);
    const gt = new Float32Array([-big, big, -1e20, -5, 0, 0.3, 0.1, 0.2, 0.4]);
    const phi = new Float32Array(9).fill(0.5);
    const weight = new Float32Array([1, 0, 2, 0, 1, 0, 1, 1, 0]);
    for (const [reduction, w] of [['mean', null], ['sum', null], ['none', null], ['mean', weight], ['none', weight]] as const) {
      const r = acrLossAndGrad(pred, gt, phi, { reduction, threshold: 1e18, lambda: 1e30, weight: w });
      t.ok(Number.isFinite(r.loss), `${isa} ${reduction}: loss ${r.loss}`);
      t.ok(r.grad!.every(Number.isFinite), `${isa} ${reduction}: gradient finite (saturates at FLT_MAX)`);
      if (r.perElement) t.ok(r.perElement.every(Number.isFinite), `${isa}: per-element finite`);
    }
    const ref = acrReference(pred, gt, phi, { reduction: 'sum' });
    t.ok(relClose(acrLossAndGrad(pred, gt, phi, { reduction: 'sum' }).loss, ref.loss), `${isa}: float64 sum of huge terms`);
    const nan = pred.slice();
    nan[6] = NaN;
    const rn = acrLossAndGrad(nan, gt, phi, { reduction: 'none' });
    t.ok(Number.isNaN(rn.loss) && Number.isNaN(rn.perElement![6]) && Number.isNaN(rn.grad![6]), `${isa}: NaN propagates`);
    t.ok(Number.isFinite(rn.perElement![7]), `${isa}: neighbours unaffected`);
  }
});

t.test('incoming gradient: dyScalar scales, per-element dy multiplies (reduction none)', async (t) => {
  const { pred, gt, phi } = lossFixture(77, 4);
  const b = native();
  const base = new Float32Array(77);
  const scaled = new Float32Array(77);
  b.acrLossAndGrad(pred, gt, phi, null, 7, 11, 1, 1, 'continuous', 'cpu', 'sum', 1, null, null, base);
  b.acrLossAndGrad(pred, gt, phi, null, 7, 11, 1, 1, 'continuous', 'cpu', 'sum', -2.5, null, null, scaled);
  t.notOk(firstMismatch(scaled, base.map((x) => -2.5 * x), 1e-6));
  const dy = Float32Array.from({ length: 77 }, (_, i) => i - 30);
  const per = new Float32Array(77);
  b.acrLossAndGrad(pred, gt, phi, null, 7, 11, 1, 1, 'continuous', 'cpu', 'none', 1, dy, null, per);
  t.notOk(firstMismatch(per, base.map((x, i) => dy[i] * x), 1e-6));
  const lossOut = new Float32Array(1);
  const v = b.acrLossAndGrad(pred, gt, phi, null, 7, 11, 1, 1, 'continuous', 'cpu', 'mean', 1, null, lossOut, null);
  t.equal(lossOut[0], Math.fround(v), 'scalar loss written to lossOut[0]');
  t.throws(() => b.acrLossAndGrad(pred, gt, phi, null, 7, 11, 1, 1, 'continuous', 'cpu', 'mean', 1, dy, null, per), { code: 'ERR_ARG' });
  t.throws(() => b.acrLossAndGrad(pred, gt, phi, null, 7, 12, 1, 1, 'continuous', 'cpu', 'mean', 1, null, null, null), { code: 'ERR_SHAPE' });
  t.throws(() => b.acrLossAndGrad(pred, gt, phi, null, 7, 11, 1, 1, 'continuous', 'cpu', 'mean', 1, null, new Float32Array(2), null), { code: 'ERR_SHAPE' });
  if (info().gpuCount === 0) {
    t.throws(() => acrLossAndGrad(pred, gt, phi, { device: 'cuda' }), { code: 'ERR_UNSUPPORTED' });
  }
});

t.test('L2 and L1 baselines equal their references for every ISA', async (t) => {
  for (const isa of ISAS) {
    setIsa(isa);
    for (const n of [0, 5, 16, 33, 20001]) {
      const { pred, gt } = lossFixture(n, 8);
      const weight = Float32Array.from({ length: n }, (_, i) => (i % 3) * 0.5);
      for (const reduction of ['mean', 'sum', 'none'] as const) {
        for (const w of [null, weight]) {
          for (const [fn, ref] of [[l2LossAndGrad, l2Reference], [l1LossAndGrad, l1Reference]] as const) {
            const got = fn(pred, gt, { reduction, weight: w });
            const want = ref(pred, gt, { reduction, weight: w });
            const tag = `${isa} ${fn.name} n=${n} ${reduction}`;
            t.ok(relClose(got.loss, want.loss), `${tag}: loss`);
            const gm = firstMismatch(got.grad!, want.grad, REL);
            if (gm) t.fail(`${tag}: grad ${gm}`);
            if (reduction === 'none' && firstMismatch(got.perElement!, want.perElement, REL)) t.fail(`${tag}: per-element`);
          }
        }
      }
    }
  }
});

t.test('outputs can be caller buffers; gradient can be skipped', async (t) => {
  const { pred, gt, phi } = lossFixture(40, 2);
  const grad = new Float32Array(40);
  const perElement = new Float32Array(40);
  const r = acrLossAndGrad(pred, gt, phi, { reduction: 'none', out: { grad, perElement } });
  t.equal(r.grad, grad);
  t.equal(r.perElement, perElement);
  const f = acrLossAndGrad(pred, gt, phi, { gradient: false });
  t.equal(f.grad, null);
  t.ok(relClose(f.loss, acrReference(pred, gt, phi).loss));
  t.throws(() => acrLossAndGrad(pred, gt, phi, { out: { grad: new Float32Array(3) } }), { code: 'ERR_SHAPE' });
  t.throws(() => acrLossAndGrad(pred, gt, phi, { dim: 3 }), { code: 'ERR_SHAPE' });
  t.throws(() => acrLossAndGrad(pred, gt, phi, { lambda: 0 }), { code: 'ERR_RANGE', message: /lambda/ });
  t.throws(() => acrLossAndGrad(pred, gt, phi, { threshold: -1 }), { code: 'ERR_RANGE', message: /threshold/ });
  t.throws(() => acrLossAndGrad(pred, gt, phi, { reduction: 'max' as never }), { code: 'ERR_ARG' });
  t.throws(() => acrLossAndGrad(pred, gt.subarray(1), phi), { code: 'ERR_SHAPE', message: /gt/ });
  t.throws(() => acrLossAndGrad(pred, gt, new Float64Array(40) as never), { code: 'ERR_DTYPE', message: /phi/ });
});

t.test('bandwidth probes copy and read correctly', async (t) => {
  const n = 300001;
  const src = Float32Array.from({ length: n }, (_, i) => (i % 97) * 0.5);
  const dst = new Float32Array(n);
  bandwidthCopy(src, dst);
  t.ok(Buffer.from(dst.buffer).equals(Buffer.from(src.buffer)));
  let s = 0;
  for (let i = 0; i < n; i++) s += src[i];
  t.equal(bandwidthRead(src), s);
  t.throws(() => bandwidthCopy(src, new Float32Array(3)), { code: 'ERR_SHAPE' });
});
