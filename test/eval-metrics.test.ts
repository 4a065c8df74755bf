import t from 'tap';
import { aucAt, cedCurve, evaluate, failureRate, nmePerImage, normalisingDistances, resolveNormaliser, subsetSummaries } from '../lib/eval/metrics';
import { Rng } from '../lib/data/rng';

// Three hand-made faces of 3 points, normalised by the distance between points 0 and 1.
// Face 0: d = 10, one point off by a 3-4-5 triangle: NME = 5 / 3 / 10 = 1/6.
// Face 1: d = 4, every point off by (0.12, 0.16) = 0.2: NME = 0.2 / 4 = 0.05.
// Face 2: d = 4, every point off by (0.048, 0.064) = 0.08: NME = 0.02.
const GT = [0, 0, 10, 0, 5, 5, 0, 0, 4, 0, 2, 2, 0, 0, 4, 0, 2, 2];
const PRED = [0, 0, 13, 4, 5, 5, 0.12, 0.16, 4.12, 0.16, 2.12, 2.16, 0.048, 0.064, 4.048, 0.064, 2.048, 2.064];
const IO01 = { kind: 'inter-ocular' as const, points: [0, 1] as [number, number] };

t.test('NME per image, FR, AUC and CED against hand-computed values', async (t) => {
  const e = nmePerImage(PRED, GT, 3, IO01);
  t.ok(Math.abs(e[0] - 1 / 6) < 1e-12 && Math.abs(e[1] - 0.05) < 1e-9 && Math.abs(e[2] - 0.02) < 1e-9, `per image ${Array.from(e)}`);
  t.ok(Math.abs(failureRate(e, 0.1) - 1 / 3) < 1e-12, 'FR@0.1 = 1/3');
  // AUC@0.1 = ((0.1 - 0.05) + (0.1 - 0.02)) / (3 * 0.1) = 0.13 / 0.3.
  t.ok(Math.abs(aucAt(e, 0.1) - 0.13 / 0.3) < 1e-9, `AUC ${aucAt(e, 0.1)}`);
  const c = cedCurve(e, 0.1);
  t.same(c.x.map((v) => +v.toFixed(9)), [0, 0.02, 0.05, 0.1]);
  t.same(c.y.map((v) => +v.toFixed(9)), [0, +(1 / 3).toFixed(9), +(2 / 3).toFixed(9), +(2 / 3).toFixed(9)]);
  const ev = evaluate(PRED, GT, 3, { normaliser: IO01 });
  t.ok(Math.abs(ev.summary.nme - (100 * (1 / 6 + 0.05 + 0.02)) / 3) < 1e-7, 'mean NME in %');
  t.ok(Math.abs(ev.summary.medianNme - 5) < 1e-7, 'median NME in %');
  t.ok(Math.abs(ev.summary.failureRate - 100 / 3) < 1e-9);
  t.equal(ev.summary.count, 3);
  t.equal(ev.summary.normaliser, 'inter-ocular(0,1)');
  const sub = subsetSummaries(e, { hard: [0], easy: [1, 2], none: [] });
  t.same(Object.keys(sub), ['hard', 'easy'], 'empty subsets are left out');
  t.ok(Math.abs(sub.easy.nme - 3.5) < 1e-7 && sub.easy.failureRate === 0 && Math.abs(sub.easy.auc - 0.13 / 0.2) < 1e-9);
  t.equal(sub.hard.failureRate, 100);
  t.throws(() => subsetSummaries(e, { bad: [3] }), { code: 'ERR_RANGE', message: /subsets\.bad/ });
});

t.test('AUC edge cases: all perfect = 1, all failed = 0, error exactly at the threshold', async (t) => {
  t.equal(aucAt([0, 0, 0]), 1);
  t.equal(aucAt([0.2, 0.5]), 0);
  t.equal(aucAt([0.1]), 0);
  t.equal(failureRate([0.1]), 0, 'failure means NME > threshold');
  t.same(cedCurve([0.1], 0.1), { x: [0, 0.1], y: [0, 1] });
  t.same(cedCurve([0, 0.3], 0.1), { x: [0, 0.1], y: [0.5, 0.5] });
  t.same(cedCurve([0.05, 0.05, 0.01], 0.1).y.map((v) => +v.toFixed(6)), [0, 0.333333, 1, 1]);
  t.throws(() => aucAt([]), { code: 'ERR_SHAPE' });
  t.throws(() => aucAt([0.1, NaN]), { code: 'ERR_RANGE', message: /index 1/ });
  t.throws(() => aucAt([0.1], 0), { code: 'ERR_RANGE' });
});

t.test('exact AUC = integral of the CED step function (dense numerical check)', async (t) => {
  const rng = new Rng(11);
  const e = Array.from({ length: 300 }, () => Math.abs(rng.normal()) * 0.05);
  const c = cedCurve(e, 0.1);
  // Integrate the steps: value y[i] on [x[i], x[i+1]).
  let area = 0;
  for (let i = 0; i + 1 < c.x.length; i++) area += c.y[i] * (c.x[i + 1] - c.x[i]);
  t.ok(Math.abs(area / 0.1 - aucAt(e, 0.1)) < 1e-12, 'steps integrate to aucAt');
  // Independent: midpoint rule on 200,000 cells of the CED evaluated by counting.
  const sorted = e.slice().sort((a, b) => a - b);
  const M = 200000;
  let sum = 0;
  let j = 0;
  for (let k = 0; k < M; k++) {
    const x = ((k + 0.5) / M) * 0.1;
    while (j < sorted.length && sorted[j] <= x) j++;
    sum += j / sorted.length;
  }
  t.ok(Math.abs(sum / M - aucAt(e, 0.1)) < 1e-4, `midpoint rule ${sum / M} vs exact ${aucAt(e, 0.1)}`);
});

/** A 68-point face whose eye groups and box are set by hand; other points at the centre. */
function face68(): number[] {
  const p = new Array(136).fill(0).map((_, i) => (i % 2 ? 40 : 50));
  const set = (k: number, x: number, y: number) => ((p[2 * k] = x), (p[2 * k + 1] = y));
  for (let k = 36; k <= 41; k++) set(k, k % 2 ? 28 : 32, 40); // right-eye group, mean (30, 40)
  for (let k = 42; k <= 47; k++) set(k, k % 2 ? 72 : 68, 40); // left-eye group, mean (70, 40)
  set(36, 25, 40); // outer corners 36 and 45: 50 apart
  set(45, 75, 40);
  set(8, 50, 70); // chin: the box becomes x 25..75, y 40..70
  return p;
}

t.test('normalisers: 300-W outer corners, pupils, box diagonal; scheme defaults', async (t) => {
  const gt = face68();
  const pred = gt.map((v, i) => (i % 2 ? v : v + 2)); // every point 2 px to the right
  // Outer eye corners 36/45: d = 50.
  t.ok(Math.abs(nmePerImage(pred, gt, 68, 'inter-ocular')[0] - 2 / 50) < 1e-12);
  // Pupils: means of 36-41 (x = 25, 28, 32, 28, 32, 28) and 42-47 (x = 68, 72, 68, 75, 68, 72), all at y = 40.
  const lx = (25 + 28 + 32 + 28 + 32 + 28) / 6;
  const rx = (68 + 72 + 68 + 75 + 68 + 72) / 6;
  t.ok(Math.abs(nmePerImage(pred, gt, 68, 'inter-pupil')[0] - 2 / (rx - lx)) < 1e-12, 'inter-pupil');
  // Box of the ground truth: 50 x 30 -> diagonal sqrt(3400).
  t.ok(Math.abs(nmePerImage(pred, gt, 68, 'box-diagonal')[0] - 2 / Math.sqrt(50 * 50 + 30 * 30)) < 1e-12, 'box diagonal');
  t.same(Array.from(normalisingDistances(gt, 68, { kind: 'inter-ocular', points: [36, 45] })), [50]);
  t.equal(resolveNormaliser('inter-ocular', 98).name, 'inter-ocular(60,72)');
  t.equal(resolveNormaliser('inter-ocular', 29).name, 'inter-ocular(8,9)');
  t.same((resolveNormaliser('inter-pupil', 98) as { left: number[] }).left, [96]);
  t.throws(() => resolveNormaliser('inter-ocular', 5), { code: 'ERR_ARG', message: /no default outer eye corners for 5/ });
  t.throws(() => resolveNormaliser('inter-pupil', 29), { code: 'ERR_ARG', message: /no default eye centres for 29/ });
  t.throws(() => resolveNormaliser({ kind: 'inter-ocular', points: [0, 99] }, 68), { code: 'ERR_RANGE' });
  t.throws(() => resolveNormaliser('mean' as never, 68), { code: 'ERR_ARG' });
});

t.test('metrics reject bad input with named errors', async (t) => {
  t.throws(() => nmePerImage([1, 2], [1, 2, 3, 4], 1, 'box-diagonal'), { code: 'ERR_SHAPE', message: /^pred/ });
  t.throws(() => nmePerImage([1, 2, 3], [1, 2, 3], 2, IO01), { code: 'ERR_SHAPE', message: /^gt/ });
  t.throws(() => nmePerImage([NaN, 0, 0, 0], [0, 0, 1, 1], 2, IO01), { code: 'ERR_RANGE', message: /^pred: non-finite value NaN at index 0/ });
  t.throws(() => nmePerImage([0, 0, 0, 0], [0, 0, 0, 0], 2, IO01), { code: 'ERR_RANGE', message: /face 0 has a zero normalising distance/ });
  t.throws(() => evaluate(PRED, GT, 3, {} as never), { code: 'ERR_ARG', message: /options\.normaliser/ });
  t.throws(() => evaluate([], [], 3, { normaliser: IO01 }), { code: 'ERR_SHAPE' });
});
