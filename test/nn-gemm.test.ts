import t, { Test } from 'tap';
import { info, setIsa, setNumThreads } from '../lib/info';
import { sgemm, gemmKernelName, setGemmKernel, GemmActivation } from '../lib/kernels/nn';

// Deterministic xorshift so failures reproduce.
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296 - 0.5;
  };
}

function randArray(n: number, r: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r();
  return a;
}

const ACT: Record<GemmActivation, (x: number, alpha: number) => number> = {
  linear: (x) => x,
  relu: (x) => Math.max(x, 0),
  relu6: (x) => Math.min(Math.max(x, 0), 6),
  leakyrelu: (x, a) => (x < 0 ? a * x : x),
  elu: (x) => (x < 0 ? Math.expm1(x) : x),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};

// Plain double-precision reference with the same storage conventions as sgemm.
function reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number, ta: boolean, tb: boolean,
  bias: Float32Array | undefined, act: GemmActivation, alpha: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      c[i * n + j] = ACT[act](s + (bias ? bias[j] : 0), alpha);
    }
  }
  return c;
}

function check(t: Test, m: number, n: number, k: number, ta: boolean, tb: boolean, seed: number,
  act: GemmActivation = 'linear', withBias = false): void {
  const r = rng(seed);
  const a = randArray(m * k, r), b = randArray(k * n, r);
  const bias = withBias ? randArray(n, r) : undefined;
  const got = sgemm(a, b, m, n, k, { transposeA: ta, transposeB: tb, bias, activation: act, alpha: 0.1 });
  const want = reference(a, b, m, n, k, ta, tb, bias, act, 0.1);
  // float32 accumulation of k terms of size <= 0.25: error well under 1e-5 * sqrt(k) per element.
  const tol = 2e-6 * Math.sqrt(k + 1) + 1e-6;
  let worst = 0;
  for (let i = 0; i < m * n; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  t.ok(worst <= tol, `${m}x${n}x${k} ta=${ta} tb=${tb} ${act}${withBias ? '+bias' : ''}: max error ${worst} <= ${tol}`);
}

// The AVX-512 level runs the measured faster of two kernels: test both explicitly.
const VARIANTS = [['scalar', 'auto'], ['avx2', 'auto'], ['avx512', 'avx512'], ['avx512', 'avx2'], ['avx512', 'auto']] as const;
const detected = info().isaDetected;

t.teardown(() => { setIsa('avx512'); setNumThreads(0); setGemmKernel('auto'); });

for (const [isa, kernel] of VARIANTS) {
  t.test(`sgemm on ${isa} (kernel ${kernel}) matches the reference`, async (t) => {
    const inForce = setIsa(isa);
    if (inForce !== isa) {
      t.comment(`skipped: ${isa} not supported on this CPU (${detected})`);
      return;
    }
    setGemmKernel(kernel);
    t.match(gemmKernelName(), new RegExp(`^${kernel === 'auto' ? isa === 'avx512' ? 'avx' : isa : kernel}`));
    let seed = 1;
    // Sizes around every tile edge (4x8, 6x16, 14x32), 1, and past the K/M blocking.
    const dims: Array<[number, number, number]> = [
      [1, 1, 1], [1, 7, 3], [5, 1, 9], [3, 5, 1], [13, 17, 19], [14, 32, 8], [15, 33, 7], [6, 16, 16],
      [29, 47, 200], [170, 40, 300], [33, 65, 520], [7, 3, 1100],
      // widths where a 32-column tile wastes no more than a 16-column one (the AVX-512 kernel runs)
      [3, 31, 5], [29, 64, 37], [45, 96, 300], [15, 63, 20], [200, 128, 9],
      // wide outputs: A is packed (narrow ones read row-major A in place)
      [31, 530, 40],
    ];
    for (const [m, n, k] of dims) for (const ta of [false, true]) for (const tb of [false, true]) check(t, m, n, k, ta, tb, seed++);
    setGemmKernel('auto');
  });
}

// With at most three micro-panels of A rows, B with unit column stride is read in place (only a
// partial last panel is packed); with more, it is packed. Same k order and blocking either way:
// the same bits, checked on rows a small M shares with a large one (1 thread: no split-K).
t.test('B read in place (small M) gives the bits of packed B (large M)', async (t) => {
  setNumThreads(1);
  for (const [isa, kernel] of VARIANTS) {
    if (setIsa(isa) !== isa) continue;
    setGemmKernel(kernel);
    let seed = 300;
    for (const [m, n, k] of [[5, 37, 700], [20, 100, 300], [1, 16, 5], [13, 64, 257]] as Array<[number, number, number]>) {
      const r = rng(seed++);
      const big = 400;
      const a = randArray(big * k, r), b = randArray(k * n, r);
      for (const ta of [false, true]) {
        // the first m rows of op(A): row-major, its first m*k values; transposed, a column slice
        const aSmall = ta ? Float32Array.from({ length: k * m }, (_, q) => a[Math.floor(q / m) * big + (q % m)]) : a.subarray(0, m * k);
        const small = sgemm(aSmall, b, m, n, k, { transposeA: ta });
        const full = sgemm(a, b, big, n, k, { transposeA: ta });
        const diff = small.findIndex((v, i) => !Object.is(v, full[i]));
        t.equal(diff, -1, `${isa}/${kernel} ${m}x${n}x${k} ta=${ta}: rows of a ${big}-row product, bit for bit`);
      }
    }
    setGemmKernel('auto');
  }
  setIsa('avx512');
  setNumThreads(0);
});

t.test('epilogue: bias and every activation', async (t) => {
  let seed = 100;
  for (const act of Object.keys(ACT) as GemmActivation[]) {
    check(t, 19, 37, 23, false, false, seed++, act, true);
    check(t, 19, 37, 23, true, true, seed++, act, false);
  }
});

t.test('threading paths: row blocks, column split, split-K; 1 and 3 threads', async (t) => {
  for (const threads of [1, 3]) {
    setNumThreads(threads);
    check(t, 400, 24, 64, false, false, 7);      // many row blocks
    check(t, 8, 300, 64, false, true, 8);        // one row block, columns split
    check(t, 20, 12, 3000, true, false, 9);      // long K, small C: split-K
    check(t, 20, 12, 3000, true, false, 10, 'relu6', true);
  }
  setNumThreads(0);
});

t.test('degenerate sizes: zero K gives bias/zeros, zero M or N gives empty', async (t) => {
  const z = sgemm(new Float32Array(0), new Float32Array(0), 2, 3, 0, { bias: new Float32Array([1, -2, 3]), activation: 'relu' });
  t.same(Array.from(z), [1, 0, 3, 1, 0, 3]);
  t.equal(sgemm(new Float32Array(0), new Float32Array(12), 0, 4, 3).length, 0);
  t.equal(sgemm(new Float32Array(6), new Float32Array(0), 2, 0, 3).length, 0);
});

t.test('argument errors are typed and never reach native code unchecked', async (t) => {
  t.throws(() => sgemm(new Float32Array(5), new Float32Array(6), 2, 3, 3), { code: 'ERR_SHAPE' });
  t.throws(() => sgemm(new Float32Array(6), new Float32Array(8), 2, 3, 3), { code: 'ERR_SHAPE' });
  t.throws(() => sgemm(new Float64Array(6) as never, new Float32Array(9), 2, 3, 3), { code: 'ERR_DTYPE' });
  t.throws(() => sgemm(new Float32Array(6), new Float32Array(9), 2, 3, 3, { activation: 'swish' as never }), { code: 'ERR_ARG' });
  t.throws(() => sgemm(new Float32Array(6), new Float32Array(9), 2, 3, 3, { bias: new Float32Array(2) }), { code: 'ERR_SHAPE' });
  t.throws(() => sgemm(new Float32Array(6), new Float32Array(9), 2.5, 3, 3), { code: 'ERR_RANGE' });
});
