import t from 'tap';
import { AsmModel, fitAsm, info, schedule, setIsa, setNumThreads } from '../lib/index';
import { call } from '../lib/binding';
import { asmEigh, asmMeanCov, asmPhi, asmSmooth } from '../lib/kernels/asm';
import { gaussian, maxAbs, maxAbsDiff, meanCov, phiRef, randomOrthogonal, rng, smoothRef, withSpectrum } from './helpers/asm-ref';

const ISAS = (['scalar', 'avx2', 'avx512'] as const).filter((isa, i) => i <= ['scalar', 'avx2', 'avx512'].indexOf(info().isaDetected));
t.teardown(() => {
  setIsa('avx512');
  setNumThreads(0);
});

/** Checks an eigendecomposition of c against its known spectrum; returns the decomposition. */
function checkEigh(t: Tap.Test, c: Float64Array, n: number, lambda: number[]) {
  const { values, vectors } = asmEigh(c, n);
  const scale = Math.max(...lambda.map(Math.abs), 1e-300);
  const sorted = [...lambda].sort((a, b) => b - a);
  t.ok(maxAbsDiff(values, sorted) <= 1e-12 * scale * Math.max(1, n / 16), `eigenvalues match (n=${n})`);
  for (let i = 1; i < n; i++) if (values[i] > values[i - 1]) t.fail(`eigenvalues descending at ${i}`);
  // V V^T = I and C = V^T diag V (rows of `vectors` are the eigenvectors).
  let orth = 0, rec = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let o = 0, r = 0;
      for (let k = 0; k < n; k++) {
        o += vectors[i * n + k] * vectors[j * n + k];
        r += vectors[k * n + i] * values[k] * vectors[k * n + j];
      }
      orth = Math.max(orth, Math.abs(o - (i === j ? 1 : 0)));
      rec = Math.max(rec, Math.abs(r - c[i * n + j]));
    }
  t.ok(orth <= 1e-12 * Math.max(1, n / 16), `V orthonormal (n=${n}, ${orth.toExponential(2)})`);
  t.ok(rec <= 1e-9 * maxAbs(c) || maxAbs(c) === 0, `C = V diag V^T to 1e-9 relative (n=${n}, ${(rec / (maxAbs(c) || 1)).toExponential(2)})`);
  for (let i = 0; i < n; i++) {
    let big = 0;
    for (let j = 1; j < n; j++) if (Math.abs(vectors[i * n + j]) > Math.abs(vectors[i * n + big])) big = j;
    if (!(vectors[i * n + big] > 0)) t.fail(`row ${i}: largest entry is made positive`);
  }
  return { values, vectors };
}

t.test('eigh on matrices with known spectra, every ISA, odd sizes', async (t) => {
  for (const isa of ISAS) {
    setIsa(isa);
    for (const n of [1, 2, 3, 5, 7, 16, 17, 33, 64, 137]) {
      const r = rng(n * 7 + 1);
      const q = randomOrthogonal(n, r);
      const lambda = Array.from({ length: n }, () => 0.01 + 10 * r());
      const c = withSpectrum(q, lambda);
      const { values, vectors } = checkEigh(t, c, n, lambda);
      // Distinct eigenvalues: each vector is +-the matching column of Q.
      const order = lambda.map((l, i) => [l, i]).sort((a, b) => b[0] - a[0]).map((p) => p[1]);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        let dot = 0;
        for (let j = 0; j < n; j++) dot += vectors[i * n + j] * q[j * n + order[i]];
        const gap = Math.min(...values.filter((_, k) => k !== i).map((x) => Math.abs(x - values[i])), Infinity);
        if (gap > 1e-3) worst = Math.max(worst, 1 - Math.abs(dot));
      }
      t.ok(worst < 1e-9, `${isa} n=${n}: eigenvectors match Q up to sign (${worst.toExponential(2)})`);
    }
  }
});

t.test('eigh: repeated and zero eigenvalues keep the right subspaces', async (t) => {
  for (const isa of ISAS) {
    setIsa(isa);
    const n = 23;
    const q = randomOrthogonal(n, rng(5));
    const lambda = Array.from({ length: n }, (_, i) => (i < 5 ? 4 : i < 9 ? 2.5 : i < 15 ? 1e-3 : 0));
    const c = withSpectrum(q, lambda);
    const { values, vectors } = checkEigh(t, c, n, lambda);
    t.ok(values.slice(15).every((x) => Math.abs(x) < 1e-13 * 4), `${isa}: zero eigenvalues come out ~0`);
    // Projector on the eigenvalue-4 cluster equals Q_c Q_c^T.
    let diff = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let a = 0, b = 0;
        for (let k = 0; k < 5; k++) {
          a += vectors[k * n + i] * vectors[k * n + j];
          b += q[i * n + k] * q[j * n + k];
        }
        diff = Math.max(diff, Math.abs(a - b));
      }
    t.ok(diff < 1e-10, `${isa}: the repeated cluster spans the same subspace (${diff.toExponential(2)})`);
    // All-equal spectrum: the identity times 3 comes back exactly as it went in.
    const id = new Float64Array(49).map((_, i) => (i % 8 === 0 ? 3 : 0));
    checkEigh(t, id, 7, Array(7).fill(3));
  }
});

t.test('eigh: closed forms and edge cases', async (t) => {
  const [a, b, c] = [2.5, -1.25, 0.5];
  const { values, vectors } = asmEigh(Float64Array.of(a, b, b, c), 2);
  const mid = (a + c) / 2, rad = Math.hypot((a - c) / 2, b);
  t.ok(Math.abs(values[0] - (mid + rad)) < 1e-14 && Math.abs(values[1] - (mid - rad)) < 1e-14, 'D = 2 closed form');
  t.ok(Math.abs(a * vectors[0] + b * vectors[1] - values[0] * vectors[0]) < 1e-14, 'D = 2 eigenvector');
  const diag = asmEigh(Float64Array.of(3, 0, 0, 0, 1, 0, 0, 0, 2), 3);
  t.same(Array.from(diag.values), [3, 2, 1], 'a diagonal matrix sorts its diagonal');
  t.same(Array.from(diag.vectors), [1, 0, 0, 0, 0, 1, 0, 1, 0], 'and its unit vectors');
  const zero = asmEigh(new Float64Array(16), 4);
  t.same(Array.from(zero.values), [0, 0, 0, 0], 'zero matrix: zero eigenvalues');
  t.equal(asmEigh(Float64Array.of(-7), 1).values[0], -7, 'n = 1');
  // Only the symmetric part counts.
  const asym = asmEigh(Float64Array.of(1, 3, 1, 1), 2);
  t.ok(Math.abs(asym.values[0] - 3) < 1e-14 && Math.abs(asym.values[1] + 1) < 1e-14, 'symmetric part of a non-symmetric input');
  // Scale invariance: huge and tiny entries neither overflow nor underflow.
  for (const s of [1e150, 1e-150]) {
    const big = asmEigh(Float64Array.of(2 * s, s, s, 2 * s), 2);
    t.ok(Math.abs(big.values[0] / (3 * s) - 1) < 1e-14 && Math.abs(big.values[1] / s - 1) < 1e-14, `entries of size ${s}`);
  }
  t.throws(() => asmEigh(Float64Array.of(1, NaN, NaN, 1), 2), { code: 'ERR_RANGE' });
  // In place (vectors written over a), as fitAsm does.
  const m9 = withSpectrum(randomOrthogonal(9, rng(3)), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
  const ref = asmEigh(m9, 9);
  const vals9 = new Float64Array(9);
  call((nb) => nb.asmEigh(m9, 9, vals9, m9));
  t.same(Array.from(m9), Array.from(ref.vectors), 'in place equals out of place');
  t.same(Array.from(vals9), Array.from(ref.values));
});

t.test('covariance equals the two-pass reference (float32/float64 input, ISAs, threads)', async (t) => {
  const r = rng(11);
  for (const isa of ISAS) {
    setIsa(isa);
    for (const threads of [1, 3]) {
      setNumThreads(threads);
      for (const [n, d] of [[2, 1], [3, 3], [97, 17], [1100, 18], [1601, 136]] as const) {
        const x64 = Float64Array.from({ length: n * d }, () => 5 + gaussian(r));
        const ref = meanCov(x64, n, d);
        const got = asmMeanCov(x64, n, d);
        t.ok(maxAbsDiff(got.mean, ref.mean) <= 1e-13 * 5, `${isa}/${threads}t f64 mean n=${n} d=${d}`);
        t.ok(maxAbsDiff(got.cov, ref.cov) <= 1e-12 * maxAbs(ref.cov), `${isa}/${threads}t f64 cov n=${n} d=${d}`);
        const x32 = Float32Array.from(x64);
        const ref32 = meanCov(x32, n, d);
        const got32 = asmMeanCov(x32, n, d);
        t.ok(maxAbsDiff(got32.cov, ref32.cov) <= 1e-12 * maxAbs(ref32.cov), `${isa}/${threads}t f32 cov n=${n} d=${d}`);
        let sym = true;
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) sym &&= got.cov[i * d + j] === got.cov[j * d + i];
        t.ok(sym, 'exactly symmetric');
      }
    }
  }
  setNumThreads(0);
});

/** N faces of L landmarks from a low-rank model plus noise, in crop units (about [-0.5, 0.5]). */
function faces(n: number, l: number, seed: number): number[][] {
  const r = rng(seed);
  const base = Array.from({ length: 2 * l }, () => (r() - 0.5) * 0.8);
  const modes = Array.from({ length: 4 }, () => Array.from({ length: 2 * l }, () => gaussian(r) * 0.05));
  return Array.from({ length: n }, () => {
    const w = modes.map((_, i) => gaussian(r) / (i + 1));
    return base.map((b, j) => b + w.reduce((s, wi, i) => s + wi * modes[i][j], 0) + 0.002 * gaussian(r));
  });
}

t.test('fitAsm: every input form gives the same model', async (t) => {
  const shapes = faces(60, 7, 3);
  const a = fitAsm(shapes);
  const nested = fitAsm(shapes.map((s) => Array.from({ length: 7 }, (_, i) => [s[2 * i], s[2 * i + 1]])));
  const flat64 = fitAsm(Float64Array.from(shapes.flat()), { numLandmarks: 7 });
  t.same(Array.from(nested.components), Array.from(a.components), 'N x L x 2 == N x 2L');
  t.same(Array.from(flat64.eigenvalues), Array.from(a.eigenvalues), 'Float64Array == number[][]');
  const flat32 = fitAsm(Float32Array.from(shapes.flat()), { numLandmarks: 7 });
  t.ok(maxAbsDiff(flat32.eigenvalues, a.eigenvalues) < 1e-6 * a.eigenvalues[0], 'Float32Array close to float64');
  const tf = await import('@tensorflow/tfjs');
  const tensor = tf.tensor2d(shapes.map((s) => Array.from(Float32Array.from(s))));
  const fromTensor = fitAsm(tensor);
  t.same(Array.from(fromTensor.eigenvalues), Array.from(flat32.eigenvalues), 'tf.Tensor2D == Float32Array');
  t.same(Array.from(fitAsm(tensor.reshape([60, 7, 2])).mean), Array.from(flat32.mean), 'tf.Tensor [N, L, 2]');
  tensor.dispose();
  t.equal(a.numLandmarks, 7);
  t.equal(a.dimension, 14);
  t.equal(a.numSamples, 60);
  t.same(a.varianceLevels, [0.8, 0.85, 0.9, 0.95, 0.97]);
  t.same(fitAsm(shapes, { varianceLevels: [0.5, 1] }).varianceLevels, [0.5, 1]);
  // Mean and eigen-decomposition agree with the references.
  const ref = meanCov(Float64Array.from(shapes.flat()), 60, 14);
  t.ok(maxAbsDiff(a.mean, ref.mean) < 1e-15, 'mean');
  const re = asmEigh(ref.cov, 14);
  t.ok(maxAbsDiff(a.eigenvalues, re.values) < 1e-15, 'eigenvalues');
});

t.test('numComponents: the variance fraction at its boundaries', async (t) => {
  const d = 6;
  const model = (ev: number[]) =>
    new AsmModel({
      numLandmarks: d / 2, numSamples: 10, varianceLevels: [0.9],
      mean: new Float64Array(d), eigenvalues: Float64Array.from(ev), components: Float64Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0)),
    });
  const m = model([4, 3, 2, 1, 0, 0]);
  t.equal(m.numComponents(0.1), 1);
  t.equal(m.numComponents(0.4), 1, 'exactly 0.4 is reached by the first component');
  t.equal(m.numComponents(0.4 + 1e-9), 2, 'just above needs one more');
  t.equal(m.numComponents(0.7), 2, '0.4 + 0.3 reaches 0.7 despite rounding');
  t.equal(m.numComponents(0.7 + 1e-9), 3);
  t.equal(m.numComponents(0.9), 3);
  t.equal(m.numComponents(0.95), 4);
  t.equal(m.numComponents(1), 4, 'v = 1: every nonzero component, no zero ones');
  t.equal(model([1, 1e-15, 0, 0, 0, 0]).numComponents(1), 1, 'v = 1 ignores variance below rounding');
  t.equal(model([0, 0, 0, 0, 0, 0]).numComponents(0.8), 0, 'no variance: k = 0');
  // Away from exact ties the rule equals sklearn's searchsorted(cumsum, v, side='right') + 1.
  const r = rng(9);
  for (let trial = 0; trial < 200; trial++) {
    const ev = Array.from({ length: d }, () => r() ** 3).sort((a, b) => b - a);
    const mm = model(ev);
    const total = ev.reduce((a, b) => a + b, 0);
    const lv = 0.01 + 0.98 * r();
    let cum = 0, sk = 0;
    for (const x of ev) if ((cum += x) / total <= lv) sk++;
    t.equal(mm.numComponents(lv), Math.min(sk + 1, d), `random spectrum ${trial}`);
  }
  for (const bad of [0, -0.1, 1.5, NaN, Infinity]) t.throws(() => m.numComponents(bad), { code: 'ERR_RANGE' });
  t.throws(() => m.numComponents('0.9' as never), { code: 'ERR_RANGE' });
});

t.test('Smooth-Face: the mean is fixed, coefficients are clamped, dropped modes vanish', async (t) => {
  const shapes = faces(80, 6, 4);
  const m = fitAsm(shapes);
  const d = m.dimension;
  for (const level of [0.5, 0.8, 0.97, 1]) {
    const s = m.smooth([Array.from(m.mean)], level);
    t.ok(maxAbsDiff(s, m.mean) < 1e-15, `smooth(mean) = mean at ${level}`);
  }
  const k = m.numComponents(0.9);
  t.ok(k >= 2 && k < d, `k = ${k} at 0.9`);
  const along = (i: number, c: number) => Array.from(m.mean, (x, j) => x + c * Math.sqrt(m.eigenvalues[i]) * m.components[i * d + j]);
  // Inside the box: unchanged. Outside: clamped to +-3 sigma. Beyond k: removed.
  t.ok(maxAbsDiff(m.smooth([along(0, 2.5)], 0.9), along(0, 2.5)) < 1e-14, 'a shape inside +-3 sigma is its own Smooth-Face');
  t.ok(maxAbsDiff(m.smooth([along(0, 10)], 0.9), along(0, 3)) < 1e-14, '+10 sigma is clamped to +3 sigma');
  t.ok(maxAbsDiff(m.smooth([along(1, -7)], 0.9), along(1, -3)) < 1e-14, '-7 sigma is clamped to -3 sigma');
  t.ok(maxAbsDiff(m.smooth([along(k, 1)], 0.9), m.mean) < 1e-14, 'a mode beyond k is removed');
  // Batched native equals the reference, float64 and float32, for every ISA.
  const basis = { mean: m.mean, components: m.components, eigenvalues: m.eigenvalues, k };
  const test = faces(37, 6, 99).map((s, i) => s.map((x) => x * (1 + 0.2 * (i % 3))));
  for (const isa of ISAS) {
    setIsa(isa);
    const got = m.smooth(test, 0.9) as Float64Array;
    t.type(got, Float64Array);
    let worst = 0;
    test.forEach((s, i) => (worst = Math.max(worst, maxAbsDiff(got.subarray(i * d, (i + 1) * d), smoothRef(s, basis)))));
    t.ok(worst < 1e-14, `${isa}: smooth matches the reference (${worst.toExponential(2)})`);
    const got32 = m.smooth(Float32Array.from(test.flat()), 0.9);
    t.type(got32, Float32Array);
    t.ok(maxAbsDiff(got32, got) < 1e-6, `${isa}: float32 smooth`);
  }
  // In place on the raw kernel.
  const x = Float64Array.from(test.flat());
  const copy = asmSmooth(x, 37, d, basis);
  asmSmooth(x, 37, d, basis, { out: x });
  t.same(Array.from(x), Array.from(copy), 'in place equals out of place');
  t.same(Array.from(m.smooth([], 0.9)), [], 'no shapes: empty result');
});

t.test('Phi: in [0, 1], max 1 per face, epsilon case, landmark mode', async (t) => {
  const m = fitAsm(faces(120, 9, 6));
  const d = m.dimension;
  const test = faces(41, 9, 17).map((s, i) => (i % 5 === 0 ? s.map((x, j) => x + (j === 3 ? 0.3 : 0)) : s));
  for (const isa of ISAS) {
    setIsa(isa);
    for (const level of [0.8, 0.95, 1]) {
      const k = m.numComponents(level);
      const basis = { mean: m.mean, components: m.components, eigenvalues: m.eigenvalues, k };
      for (const mode of ['coordinate', 'landmark'] as const) {
        const phi = m.phi(test, level, { mode });
        let worst = 0;
        for (let i = 0; i < test.length; i++) {
          const row = phi.subarray(i * d, (i + 1) * d);
          if (!row.every((x) => x >= 0 && x <= 1)) t.fail(`${mode}: face ${i} in [0, 1]`);
          if (Math.max(...row) !== 1) t.fail(`${mode}: face ${i} has max exactly 1`);
          if (mode === 'landmark') for (let j = 0; j < d; j += 2) if (row[j] !== row[j + 1]) t.fail(`landmark mode shares x and y`);
          worst = Math.max(worst, maxAbsDiff(row, phiRef(test[i], basis, mode)));
        }
        t.ok(worst < 1e-12, `${isa} ${mode} v=${level}: matches the reference (${worst.toExponential(2)})`);
        const phi32 = m.phi(Float32Array.from(test.flat()), level, { mode });
        t.ok(maxAbsDiff(phi32, phi) < 1e-4, `${isa} ${mode}: float32 input close`);
      }
    }
  }
  // Exactly on the Smooth-Face (up to rounding): Phi is all 0, not noise scaled up to 1.
  const onMean = m.phi([Array.from(m.mean)], 0.9);
  t.same(Array.from(onMean), Array(d).fill(0), 'the mean face has Phi = 0');
  const inside = Array.from(m.mean, (x, j) => x + 0.5 * Math.sqrt(m.eigenvalues[0]) * m.components[j]);
  t.same(Array.from(m.phi([inside], 0.9, { mode: 'landmark' })), Array(d).fill(0), 'a face inside the model has Phi = 0');
  t.same(Array.from(m.phi([inside], 0.9, { epsilon: 0 })).some((x) => x === 1), true, 'epsilon 0 normalises round-off noise');
  // A displaced landmark gets the top weight.
  const moved = Array.from(m.mean);
  moved[6] += 0.25;
  const pm = m.phi([moved], 0.9, { mode: 'landmark' });
  t.equal(pm[6], 1);
  t.equal(pm[7], 1);
  t.throws(() => m.phi([moved], 0.9, { mode: 'radial' as never }), { code: 'ERR_ARG' });
  t.throws(() => m.phi([moved], 0.9, { epsilon: -1 }), { code: 'ERR_RANGE' });
  t.throws(() => asmPhi(new Float64Array(3), 1, 3, { mean: new Float64Array(3), components: new Float64Array(9), eigenvalues: new Float64Array(3), k: 1 }, { mode: 'landmark' }), { code: 'ERR_SHAPE' });
});

t.test('toJSON / fromJSON round trip is exact and validated', async (t) => {
  const m = fitAsm(faces(50, 5, 8), { varianceLevels: [0.9, 0.95] });
  const text = JSON.stringify(m);
  const back = AsmModel.fromJSON(text);
  for (const key of ['mean', 'eigenvalues', 'components'] as const) {
    t.ok(back[key].every((x, i) => Object.is(x, m[key][i])), `${key} bit-exact`);
  }
  t.equal(back.numLandmarks, 5);
  t.equal(back.numSamples, 50);
  t.same(back.varianceLevels, [0.9, 0.95]);
  const probe = faces(9, 5, 1);
  t.same(Array.from(back.phi(probe, 0.9)), Array.from(m.phi(probe, 0.9)), 'same Phi after reload');
  t.same(Array.from(AsmModel.fromJSON(m.toJSON()).mean), Array.from(m.mean), 'from the object too');
  const j = m.toJSON();
  const bad: Array<[string, unknown, string]> = [
    ['not JSON', '{oops', 'ERR_ARG'],
    ['array', [], 'ERR_ARG'],
    ['format', { ...j, format: 'pca' }, 'ERR_ARG'],
    ['version', { ...j, version: 2 }, 'ERR_ARG'],
    ['numLandmarks', { ...j, numLandmarks: 6 }, 'ERR_SHAPE'],
    ['numSamples', { ...j, numSamples: 1 }, 'ERR_RANGE'],
    ['levels', { ...j, varianceLevels: [1.2] }, 'ERR_RANGE'],
    ['mean type', { ...j, mean: 'x' }, 'ERR_ARG'],
    ['mean NaN', { ...j, mean: j.mean.map((x, i) => (i === 3 ? null : x)) }, 'ERR_RANGE'],
    ['ascending', { ...j, eigenvalues: [...j.eigenvalues].reverse() }, 'ERR_RANGE'],
    ['negative', { ...j, eigenvalues: j.eigenvalues.map((x, i) => (i === 9 ? -1 : x)) }, 'ERR_RANGE'],
    ['not orthonormal', { ...j, components: j.components.map((x, i) => (i === 0 ? x + 0.01 : x)) }, 'ERR_RANGE'],
    ['short', { ...j, components: j.components.slice(1) }, 'ERR_SHAPE'],
  ];
  for (const [what, input, code] of bad) t.throws(() => AsmModel.fromJSON(input as never), { code }, what);
});

t.test('fitAsm rejects bad input with typed errors that name the problem', async (t) => {
  const good = faces(5, 3, 2);
  t.throws(() => fitAsm(good.map((s, i) => (i === 3 ? s.map((x, j) => (j === 4 ? NaN : x)) : s))), { code: 'ERR_RANGE', message: /row 3, column 4/ });
  t.throws(() => fitAsm(Float32Array.from(good.flat(), (x, i) => (i === 7 ? Infinity : x)), { numLandmarks: 3 }), { code: 'ERR_RANGE', message: /row 1, column 1/ });
  t.throws(() => fitAsm(Float64Array.from(good.flat(), (x, i) => (i === 12 ? NaN : x)), { numLandmarks: 3 }), { code: 'ERR_RANGE', message: /row 2, column 0/ });
  t.throws(() => fitAsm([[1e308, 1e308], [1e308, 1e308]]), { code: 'ERR_RANGE', message: /too large/ });
  t.throws(() => fitAsm([[1e200, 0], [-1e200, 0]]), { code: 'ERR_RANGE', message: /covariance overflows/ });
  t.throws(() => fitAsm([good[0]]), { code: 'ERR_SHAPE', message: /at least 2/ });
  t.throws(() => fitAsm([]), { code: 'ERR_SHAPE' });
  t.throws(() => fitAsm([[1, 2, 3], [4, 5, 6]]), { code: 'ERR_SHAPE', message: /even/ });
  t.throws(() => fitAsm([[1, 2], [3, 4, 5, 6]]), { code: 'ERR_SHAPE', message: /row 1/ });
  t.throws(() => fitAsm([[[1, 2]], [[1, 2], [3, 4]]]), { code: 'ERR_SHAPE' });
  t.throws(() => fitAsm([[[1, 2, 3]], [[1, 2, 3]]]), { code: 'ERR_SHAPE' });
  t.throws(() => fitAsm([[1, '2' as never], [3, 4]]), { code: 'ERR_DTYPE', message: /row 0, column 1/ });
  t.throws(() => fitAsm(new Int32Array(12) as never, { numLandmarks: 3 }), { code: 'ERR_DTYPE' });
  t.throws(() => fitAsm(new Float32Array(12)), { code: 'ERR_ARG', message: /numLandmarks/ });
  t.throws(() => fitAsm(new Float32Array(13), { numLandmarks: 3 }), { code: 'ERR_SHAPE' });
  t.throws(() => fitAsm(good, { numLandmarks: 4 }), { code: 'ERR_SHAPE' });
  t.throws(() => fitAsm(good, { varianceLevels: [0.9, 0] }), { code: 'ERR_RANGE' });
  t.throws(() => fitAsm(good, { varianceLevels: [] }), { code: 'ERR_ARG' });
  t.throws(() => fitAsm('shapes' as never), { code: 'ERR_ARG' });
  t.throws(() => fitAsm(good, 5 as never), { code: 'ERR_ARG' });
  t.throws(() => fitAsm(good, { device: 'tpu' as never }), { code: 'ERR_ARG' });
  const tf = await import('@tensorflow/tfjs');
  const ti = tf.tensor2d([[1, 2], [3, 4]], undefined, 'int32');
  t.throws(() => fitAsm(ti), { code: 'ERR_DTYPE' });
  ti.dispose();
  t.throws(() => fitAsm(ti), { code: 'ERR_ARG', message: /disposed/ });
  const m = fitAsm(good);
  t.throws(() => m.smooth(faces(2, 4, 1), 0.9), { code: 'ERR_SHAPE', message: /3 landmarks/ });
  t.throws(() => m.phi(new Float32Array(7), 0.9), { code: 'ERR_SHAPE' });
  t.throws(() => m.smooth(good, 1.01), { code: 'ERR_RANGE' });
  t.throws(() => m.phi(good, 0), { code: 'ERR_RANGE' });
  if (info().gpuCount === 0) t.throws(() => fitAsm(good, { device: 'cuda' }), { code: 'ERR_UNSUPPORTED' });
});

t.test('identical shapes: no variance, k = 0, Smooth-Face = mean, Phi = 0', async (t) => {
  const s = [0.1, -0.2, 0.3, 0.05];
  const m = fitAsm([s, s, s]);
  t.same(Array.from(m.eigenvalues), [0, 0, 0, 0]);
  t.equal(m.numComponents(0.9), 0);
  t.same(Array.from(m.smooth([[0, 0, 0, 0]], 0.9)), Array.from(m.mean));
  t.same(Array.from(m.phi([s], 0.9)), [0, 0, 0, 0]);
});

t.test('schedule follows the reference and scales with the epoch count', async (t) => {
  const at = (e: number) => schedule(e, 150);
  t.same([0, 15, 16, 30, 31, 70, 71, 100, 101, 149].map(at), [0.8, 0.8, 0.85, 0.85, 0.9, 0.9, 0.95, 0.95, 0.97, 0.97]);
  t.same([0, 31, 32, 61, 62, 141, 142, 201, 202, 299].map((e) => schedule(e, 300)), [0.8, 0.8, 0.85, 0.85, 0.9, 0.9, 0.95, 0.95, 0.97, 0.97]);
  t.equal(schedule(0, 1), 0.8);
  const levels = Array.from({ length: 10 }, (_, e) => schedule(e, 10));
  t.ok(levels.every((x, i) => i === 0 || x >= levels[i - 1]), 'non-decreasing');
  t.throws(() => schedule(150, 150), { code: 'ERR_RANGE' });
  t.throws(() => schedule(-1, 150), { code: 'ERR_RANGE' });
  t.throws(() => schedule(1.5, 150), { code: 'ERR_RANGE' });
  t.throws(() => schedule(0, 0), { code: 'ERR_RANGE' });
});

t.test('training glue: the default deps use fitAsm and schedule', async (t) => {
  const { defaultDeps } = await import('../lib/train/defaults');
  const deps = defaultDeps();
  const shapes = Float32Array.from(faces(40, 5, 12).flat());
  const fitted = deps.fitAsm(shapes, 5);
  const direct = fitAsm(shapes, { numLandmarks: 5 });
  const phi = fitted.phi(shapes, 0.9, 'landmark');
  t.type(phi, Float32Array);
  t.same(Array.from(phi), Array.from(direct.phi(shapes, 0.9, { mode: 'landmark' })));
  t.same(fitted.toJSON(), direct.toJSON());
  t.equal(deps.schedule(20, 150), 0.85);
});
