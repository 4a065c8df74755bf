import t from 'tap';
import { info, setIsa } from '../lib/index';
import { acrLossAndGrad } from '../lib/kernels/loss';
import { acrReference, firstMismatch } from './helpers/loss-reference';

// The SIMD kernels evaluate ln, a^q and 1/(1 + a^p) with table-driven float32 approximations
// (native/loss/simd_kernels.h). Their stated bound, checked here over dense sweeps of the input
// domain against the float64 reference, per element (reduction 'none', so no normaliser):
//   |got - ref| <= 1e-6 |ref|                         where a^p (loss) / a^q (gradient) >= 2^-126;
//   |got - ref| <= 1e-6 |ref| + 4 lambda p 2^-149     below that, where a^p or a^q is a float32
//                                                     denormal and carries its absolute quantum.
const ALL = ['scalar', 'avx2', 'avx512'] as const;
const order = { scalar: 0, avx2: 1, avx512: 2 };
const ISAS = ALL.filter((i) => order[i] <= order[info().isaDetected as keyof typeof order]);
const REL = 1e-6;
const QUANTUM = 2 ** -149;
const FLT_MIN = 2 ** -126;

t.teardown(() => setIsa('avx512'));

interface Sweep {
  pred: Float32Array;
  gt: Float32Array;
  phi: Float32Array;
}

/** Every a in `as` (both signs alternating) against every phi in `phis`, with gt = 0 or 0.25. */
function sweep(as: number[], phis: number[]): Sweep {
  const n = as.length * phis.length;
  const pred = new Float32Array(n);
  const gt = new Float32Array(n);
  const phi = new Float32Array(n);
  let k = 0;
  for (const ph of phis) {
    for (const a of as) {
      const af = Math.fround(a);
      // gt = 0 keeps d = a exactly; a few with gt != 0 exercise the subtraction too.
      const g = k % 7 === 3 && af > 1e-6 && af < 1e6 ? 0.25 : 0;
      pred[k] = k % 2 ? g - af : g + af;
      gt[k] = g;
      phi[k] = ph;
      k++;
    }
  }
  return { pred, gt, phi };
}

function logspace(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.pow(10, Math.log10(lo) + ((Math.log10(hi) - Math.log10(lo)) * i) / (n - 1)));
}

/** Worst relative error over the normal domain and worst excess over the bound anywhere. */
function check(s: Sweep, lambda: number, threshold: number, got: { perElement: Float32Array; grad: Float32Array }) {
  const ref = acrReference(s.pred, s.gt, s.phi, { lambda, threshold, reduction: 'none' });
  const lf = Math.fround(lambda);
  const tf = Math.fround(threshold);
  let worstL = 0;
  let worstG = 0;
  let bad: string | null = null;
  for (let i = 0; i < s.pred.length; i++) {
    const a = Math.abs(Math.fround(s.pred[i] - s.gt[i]));
    const p = 2 - s.phi[i];
    const aq = a === 0 ? (p === 1 ? 1 : 0) : Math.pow(a, p - 1);
    const ap = a * aq;
    const logBranch = a <= tf;
    const slackL = logBranch && ap < FLT_MIN ? 4 * lf * p * QUANTUM : 0;
    const slackG = logBranch && aq < FLT_MIN ? 4 * lf * p * QUANTUM : 0;
    const el = Math.abs(got.perElement[i] - ref.perElement[i]);
    const eg = Math.abs(got.grad[i] - ref.grad[i]);
    if (!slackL && ref.perElement[i] !== 0) worstL = Math.max(worstL, el / Math.abs(ref.perElement[i]));
    if (!slackG && ref.grad[i] !== 0) worstG = Math.max(worstG, eg / Math.abs(ref.grad[i]));
    if (bad === null && (!(el <= REL * Math.abs(ref.perElement[i]) + slackL) || !(eg <= REL * Math.abs(ref.grad[i]) + slackG))) {
      bad = `a=${a} phi=${s.phi[i]}: loss ${got.perElement[i]} vs ${ref.perElement[i]}, grad ${got.grad[i]} vs ${ref.grad[i]}`;
    }
  }
  return { worstL, worstG, bad };
}

const PHIS = [
  ...Array.from({ length: 33 }, (_, i) => i / 32), // p = 2 - phi over [1, 2]
  1e-8, 1e-6, 0.1234567, 1 / 3, 0.7777777, 1 - 1e-7, 1 - 6e-8, // next to L2-like (0) and L1-like (1)
];

t.test('approximation bound: dense sweep of a over [1e-45, t] and p over [1, 2]', async (t) => {
  for (const [lambda, threshold] of [[1, 1], [1.5, 0.05], [3, 2.5], [2, 1e18], [1e30, 1], [0.5, 1e-3]]) {
    const tf = Math.fround(threshold);
    const as = [
      0,
      ...logspace(1e-45, tf, 3000), // tiny, denormal, ... up to the threshold
      ...Array.from({ length: 400 }, (_, i) => tf * (1 - i * 1e-6)), // just below the threshold (L2/L1 switch at a = t)
      ...Array.from({ length: 200 }, (_, i) => tf * (1 + (i + 1) * 1e-6)), // just above it (quadratic branch)
      ...Array.from({ length: 400 }, (_, i) => Math.min(1, tf) * (1 - i * 2.5e-4)), // a near 1
      ...Array.from({ length: 200 }, (_, i) => 1 - i * 6e-8), // a within float32 ulps of 1
      ...logspace(tf, Math.min(1e18, tf * 1e6), 200), // well into the quadratic branch
    ];
    const s = sweep(as, PHIS);
    for (const isa of ISAS) {
      setIsa(isa);
      const got = acrLossAndGrad(s.pred, s.gt, s.phi, { lambda, threshold, reduction: 'none' });
      const r = check(s, lambda, threshold, got as { perElement: Float32Array; grad: Float32Array });
      t.equal(r.bad, null, `${isa} lambda ${lambda} t ${threshold}: within 1e-6 relative (+ denormal quantum)`);
      t.ok(r.worstL <= REL && r.worstG <= REL,
        `${isa} lambda ${lambda} t ${threshold}: worst relative error loss ${r.worstL.toExponential(2)}, gradient ${r.worstG.toExponential(2)} (n = ${s.pred.length})`);
    }
  }
});

t.test('approximation bound: random differences and phi (the training regime)', async (t) => {
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const n = 200003; // not a multiple of any vector group
  const gt = Float32Array.from({ length: n }, () => rnd() - 0.5);
  const pred = Float32Array.from(gt, (g) => g + (rnd() - 0.5) * Math.pow(10, -6 * rnd()));
  const phi = Float32Array.from({ length: n }, () => rnd());
  for (const isa of ISAS) {
    setIsa(isa);
    const got = acrLossAndGrad(pred, gt, phi, { reduction: 'none' });
    const r = check({ pred, gt, phi }, 1, 1, got as { perElement: Float32Array; grad: Float32Array });
    t.equal(r.bad, null, `${isa}: within the bound`);
    t.ok(r.worstL <= REL && r.worstG <= REL, `${isa}: worst relative error loss ${r.worstL.toExponential(2)}, gradient ${r.worstG.toExponential(2)}`);
  }
});

t.test('one special lane anywhere in a vector group sends only its group to the exact path', async (t) => {
  const n = 203;
  const base = () => {
    const gt = Float32Array.from({ length: n }, (_, i) => ((i * 37) % 101) / 101 - 0.5);
    const pred = Float32Array.from(gt, (g, i) => g + (((i * 53) % 97) / 97 - 0.5) * 0.3);
    const phi = Float32Array.from({ length: n }, (_, i) => ((i * 29) % 89) / 88);
    return { pred, gt, phi };
  };
  for (const isa of ISAS) {
    setIsa(isa);
    for (const pos of [0, 7, 8, 15, 16, 31, 32, 47, 63, 64, 127, 191, 192, 202]) {
      for (const kind of ['above t', 'huge d', 'phi -0', 'phi 1', 'phi 0'] as const) {
        const { pred, gt, phi } = base();
        if (kind === 'above t') pred[pos] = gt[pos] + 1.5;
        else if (kind === 'huge d') pred[pos] = 2e18; // above kBigDiff (1e18): the float64 element path
        else phi[pos] = kind === 'phi -0' ? -0 : kind === 'phi 1' ? 1 : 0;
        const got = acrLossAndGrad(pred, gt, phi, { reduction: 'none' });
        const ref = acrReference(pred, gt, phi, { reduction: 'none' });
        const m = firstMismatch(got.perElement!, ref.perElement, REL) ?? firstMismatch(got.grad!, ref.grad, REL);
        if (m) t.fail(`${isa} ${kind} at ${pos}: ${m}`);
      }
    }
    t.pass(`${isa}: every position and kind matches the reference`);
  }
});
