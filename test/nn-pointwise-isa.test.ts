// The per-element training kernels compiled per ISA (batchnorm_*.cc: BN forward and gradient,
// with and without the fused cap, and the capped ReLU) give the same bits on every ISA, at sizes
// that divide neither the SIMD width nor the thread count; the portable variant is checked
// against a float64 reference (2e-5 x max(1, max |reference|) per element). The native Adam
// update is checked bit for bit against tfjs' float32 operation order, written out here.
import t, { Test } from 'tap';
import { call } from '../lib/binding';
import { setIsa } from '../lib/info';

t.teardown(() => { setIsa('avx512'); });

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randn(n: number, r: () => number, scale = 1, shift = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = shift + scale * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  return a;
}

interface BnOut { y: Float32Array; mean: Float32Array; variance: Float32Array; dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array }

const EPS = 1e-3;

function bn(x: Float32Array, dy: Float32Array, C: number, gamma: Float32Array | null, beta: Float32Array | null, cap: number): BnOut {
  const n = x.length;
  const o: BnOut = { y: new Float32Array(n), mean: new Float32Array(C), variance: new Float32Array(C), dx: new Float32Array(n),
    dgamma: new Float32Array(C), dbeta: new Float32Array(C) };
  call((b) => b.nnBatchNormTrain(x, gamma, beta, o.y, o.mean, o.variance, C, EPS, cap));
  call((b) => b.nnBatchNormTrainGrad(dy, x, gamma, o.mean, o.variance, o.dx, o.dgamma, o.dbeta, C, EPS, beta, cap));
  return o;
}

/** BN (+ cap) forward and gradient in float64. */
function bnReference(x: Float32Array, dy: Float32Array, C: number, gamma: Float32Array | null, beta: Float32Array | null, cap: number) {
  const rows = x.length / C;
  const y = new Float64Array(x.length), dx = new Float64Array(x.length);
  const dgamma = new Float64Array(C), dbeta = new Float64Array(C), mean = new Float64Array(C), variance = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0, q = 0;
    for (let r = 0; r < rows; r++) s += x[r * C + c];
    const m = s / rows;
    for (let r = 0; r < rows; r++) q += (x[r * C + c] - m) ** 2;
    const v = q / rows, inv = 1 / Math.sqrt(v + EPS), g = gamma ? gamma[c] : 1, bt = beta ? beta[c] : 0;
    mean[c] = m;
    variance[c] = v;
    let sg = 0, sgx = 0;
    const gate = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const i = r * C + c, pre = (x[i] - m) * inv * g + bt;
      y[i] = cap >= 0 ? Math.min(Math.max(pre, 0), cap) : pre;
      gate[r] = cap >= 0 ? (pre > 0 && pre <= cap ? dy[i] : 0) : dy[i];
      sg += gate[r];
      sgx += gate[r] * (x[i] - m) * inv;
    }
    dbeta[c] = sg;
    dgamma[c] = sgx;
    for (let r = 0; r < rows; r++) {
      const i = r * C + c;
      dx[i] = g * inv * (gate[r] - sg / rows - (x[i] - m) * inv * sgx / rows);
    }
  }
  return { y, mean, variance, dx, dgamma, dbeta };
}

function close(t: Test, name: string, got: Float32Array, want: Float64Array, tol: number, skip?: (i: number) => boolean): void {
  let scale = 1;
  for (const w of want) scale = Math.max(scale, Math.abs(w));
  let worst = 0, at = -1;
  for (let i = 0; i < got.length; i++) {
    if (skip?.(i)) continue;
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= worst)) { worst = d; at = i; }
  }
  t.ok(worst <= tol * scale, `${name}: max |diff| ${worst} at ${at} (limit ${tol * scale})`);
}

function same(t: Test, name: string, a: Float32Array, b: Float32Array): void {
  const ia = new Uint32Array(a.buffer, a.byteOffset, a.length), ib = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let diff = -1;
  for (let i = 0; i < ia.length && diff < 0; i++) if (ia[i] !== ib[i]) diff = i;
  t.equal(diff, -1, `${name}: bit for bit${diff >= 0 ? ` (first difference at ${diff}: ${a[diff]} vs ${b[diff]})` : ''}`);
}

// [rows, C]: channels below, at and past the vector widths; row counts that split unevenly over
// the threads; large enough cases that the reductions and passes run in parallel.
const SHAPES: Array<[number, number]> = [[1, 1], [7, 3], [33, 17], [65, 33], [257, 100], [1001, 7], [2049, 48], [3001, 35]];
const ISAS = ['scalar', 'avx2', 'avx512'] as const;

t.test('BN forward and gradient (with and without cap, gamma/beta absent): every ISA bit for bit, float64 reference', async (t) => {
  const r = rng(7);
  for (const [rows, C] of SHAPES) {
    const x = randn(rows * C, r, 2, 0.5), dy = randn(rows * C, r);
    const gamma = randn(C, r, 0.5, 1), beta = randn(C, r, 1);
    for (const [cap, g, b] of [[-1, gamma, beta], [6, gamma, beta], [0.5, gamma, beta], [-1, null, null]] as const) {
      const label = `${rows}x${C} cap ${cap}${g ? '' : ' no gamma/beta'}`;
      setIsa('scalar');
      const base = bn(x, dy, C, g, b, cap);
      const ref = bnReference(x, dy, C, g, b, cap);
      // An element whose pre-activation sits at a gate edge may legitimately fall either side.
      const edge = (i: number) => cap >= 0 && (Math.abs(ref.y[i]) < 1e-5 || Math.abs(ref.y[i] - cap) < 1e-5);
      close(t, `${label} y`, base.y, ref.y, 2e-5);
      close(t, `${label} mean`, base.mean, ref.mean, 2e-5);
      close(t, `${label} variance`, base.variance, ref.variance, 2e-5);
      close(t, `${label} dx`, base.dx, ref.dx, 2e-5, edge);
      close(t, `${label} dgamma`, base.dgamma, ref.dgamma, 2e-4);
      close(t, `${label} dbeta`, base.dbeta, ref.dbeta, 2e-4);
      for (const isa of ISAS.slice(1)) {
        if (setIsa(isa) !== isa) continue;
        const o = bn(x, dy, C, g, b, cap);
        for (const k of Object.keys(o) as Array<keyof BnOut>) same(t, `${label} ${isa} ${k}`, o[k], base[k]);
      }
    }
  }
  setIsa('avx512');
});

t.test('capped ReLU and its gradient, edges and NaN included: every ISA bit for bit, exact reference', async (t) => {
  const r = rng(9);
  for (const n of [1, 15, 17, 1000, 65536 * 2 + 3]) {
    const x = randn(n, r, 4, 2), dy = randn(n, r);
    for (let i = 0; i < Math.min(n, 6); i++) x[i] = [0, 6, -0, NaN, 6.000001, -1e-30][i];
    // tfjs' relu (x < 0 ? 0 : x, so -0 stays -0) then clipByValue.
    const want = x.map((v) => (Number.isNaN(v) ? NaN : v < 0 ? 0 : v > 6 ? 6 : v));
    const wantDx = x.map((v, i) => (Number.isNaN(v) ? NaN : v > 0 && v <= 6 ? dy[i] : 0));
    let base: Float32Array[] | null = null;
    for (const isa of ISAS) {
      if (setIsa(isa) !== isa) continue;
      const y = new Float32Array(n), dx = new Float32Array(n);
      call((b) => b.nnReluCap(x, y, 6));
      call((b) => b.nnReluCapGrad(dy, x, dx, 6));
      if (!base) {
        base = [y, dx];
        same(t, `relu cap ${n} ${isa} y = reference`, y, want);
        same(t, `relu cap ${n} ${isa} dx = reference`, dx, wantDx);
      } else {
        same(t, `relu cap ${n} ${isa} y`, y, base[0]);
        same(t, `relu cap ${n} ${isa} dx`, dx, base[1]);
      }
    }
  }
  setIsa('avx512');
});

t.test("Adam update: tfjs' float32 operation order, bit for bit, at odd sizes", async (t) => {
  const r = rng(11);
  const f = Math.fround;
  const b1 = 0.9, b2 = 0.999, eps = 1e-7, lr = 1e-3, step = 3;
  const k = [b1, 1 - b1, b2, 1 - b2, f(1 - f(b1 ** step)), f(1 - f(b2 ** step)), eps, -lr].map(f);
  for (const n of [1, 5, 17, 16385, 16384 * 3 + 7]) {
    const p = randn(n, r), g = randn(n, r, 0.1), m = randn(n, r, 0.01), v = randn(n, r, 0.001).map(Math.abs);
    const po = new Float32Array(n), mo = new Float32Array(n), vo = new Float32Array(n);
    call((b) => b.nnAdamUpdate(p, g, m, v, po, mo, vo, k));
    const wm = new Float32Array(n), wv = new Float32Array(n), wp = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      wm[i] = f(f(m[i] * k[0]) + f(g[i] * k[1]));
      wv[i] = f(f(v[i] * k[2]) + f(f(g[i] * g[i]) * k[3]));
      wp[i] = f(f(f(f(wm[i] / k[4]) / f(f(Math.sqrt(f(wv[i] / k[5]))) + k[6])) * k[7]) + p[i]);
    }
    same(t, `adam ${n} m`, mo, wm);
    same(t, `adam ${n} v`, vo, wv);
    same(t, `adam ${n} p`, po, wp);
  }
});
