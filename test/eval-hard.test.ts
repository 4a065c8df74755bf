import t from 'tap';
import { fitAsm } from '../lib/asm';
import { hardestIndices, smoothFaceDistance, subsetMean, yawProxy } from '../lib/eval';

/** A frontal 68-point face: jaw arc 0-16, eyes 36-47, nose 27-35 on the midline (x = 0), then the rest. */
function frontal(): number[] {
  const s = new Array<number>(136).fill(0);
  const set = (i: number, x: number, y: number) => ((s[2 * i] = x), (s[2 * i + 1] = y));
  for (let i = 0; i <= 16; i++) {
    const a = Math.PI * (i / 16);
    set(i, -Math.cos(a), Math.sin(a) * 0.9);
  }
  for (let i = 17; i < 27; i++) set(i, -0.6 + (1.2 * (i - 17)) / 9, -0.4);
  for (let i = 27; i < 36; i++) set(i, (i - 31) * 0.02 * (i >= 31 ? 1 : 0), -0.2 + 0.05 * (i - 27));
  set(30, 0, 0.15);
  for (let i = 36; i < 42; i++) set(i, -0.55 + 0.05 * (i - 36), -0.2);
  for (let i = 42; i < 48; i++) set(i, 0.3 + 0.05 * (i - 42), -0.2);
  set(45, 0.55, -0.2);
  set(36, -0.55, -0.2);
  for (let i = 48; i < 68; i++) set(i, -0.3 + (0.6 * (i - 48)) / 19, 0.45);
  return s;
}

function transform(s: number[], scale: number, angle: number, tx: number, ty: number): number[] {
  const out = s.slice();
  const c = Math.cos(angle) * scale, d = Math.sin(angle) * scale;
  for (let i = 0; i < 68; i++) {
    const x = s[2 * i], y = s[2 * i + 1];
    out[2 * i] = c * x - d * y + tx;
    out[2 * i + 1] = d * x + c * y + ty;
  }
  return out;
}

t.test('yawProxy: 0 for a symmetric face, signed, invariant to similarity transforms', async (t) => {
  const f = frontal();
  t.ok(Math.abs(yawProxy(f)[0]) < 1e-12, 'frontal reads 0');
  const turned = f.slice();
  turned[60] = 0.5; // nose tip (30) moved 0.5 toward landmark 16/45
  const y = yawProxy(turned)[0];
  // jaw 0 -> 16 spans x -1..1: t = 0.75 -> 0.5; eye corners -0.55..0.55: t = 1.05/1.1 -> 0.909...
  t.ok(Math.abs(y - (0.5 + 0.5 / 0.55) / 2) < 1e-9, `moved nose: ${y}`);
  const mirrored = f.slice();
  mirrored[60] = -0.5;
  t.ok(Math.abs(yawProxy(mirrored)[0] + y) < 1e-12, 'mirror flips the sign');
  const moved = yawProxy(transform(turned, 37, 0.4, 120, -8))[0];
  t.ok(Math.abs(moved - y) < 1e-9, 'scale, roll and shift do not change it');
  const two = yawProxy([...f, ...turned]);
  t.equal(two.length, 2);
  t.throws(() => yawProxy(f, 98), /68-point/);
  t.throws(() => yawProxy(f.slice(1)), { code: 'ERR_SHAPE' });
  t.throws(() => yawProxy([...f.slice(0, 135), NaN]), { code: 'ERR_ARG' });
});

t.test('smoothFaceDistance: 0 on the model, grows with an off-model deformation', async (t) => {
  // Training shapes: the frontal face plus scaled copies of two deformation modes.
  const f = frontal();
  const modeA = f.map((_, i) => (i % 2 === 0 ? 0.1 * f[i] : 0)); // width
  const modeB = f.map((_, i) => (i % 2 === 1 ? 0.1 * f[i] : 0)); // height
  const shapes: number[][] = [];
  for (let k = 0; k < 40; k++) {
    const a = Math.sin(k * 1.3), b = Math.cos(k * 0.7);
    shapes.push(f.map((x, i) => x + a * modeA[i] + b * modeB[i]));
  }
  const asm = fitAsm(shapes, { numLandmarks: 68 });
  const inside = f.map((x, i) => x + 0.5 * modeA[i] - 0.3 * modeB[i]);
  const off1 = inside.slice();
  off1[60] += 0.05; // one landmark off the shape space
  const off2 = inside.slice();
  off2[60] += 0.2;
  const d = smoothFaceDistance(asm, [...inside, ...off1, ...off2], 0.97);
  t.ok(d[0] < 1e-9, `in the span: ${d[0]}`);
  t.ok(d[1] > 1e-4 && d[2] > 3.5 * d[1], `grows with the deformation: ${d[1]}, ${d[2]}`);
  // Reference for the off-model point: the smooth face puts it (almost) back, the others stay: mean ~ 0.2/68.
  t.ok(Math.abs(d[2] - 0.2 / 68) < 0.2 / 68 * 0.2, `about the displacement / L: ${d[2]}`);
  t.throws(() => smoothFaceDistance(asm, f.slice(2)), { code: 'ERR_SHAPE' });
  t.throws(() => smoothFaceDistance(asm, f, 1.5), /level/);
  t.same(Array.from(smoothFaceDistance(asm, [])), []);
});

t.test('hardestIndices and subsetMean', async (t) => {
  t.same(hardestIndices([0.1, 0.9, 0.5, 0.9, 0.2, 0.3, 0.0, 0.4], 0.25), [1, 3], 'largest first, ties to the lower index');
  t.same(hardestIndices([3, 1, 2], 0.25), [0], 'at least one');
  t.same(hardestIndices([1, 2, 3, 4, 5], 1), [4, 3, 2, 1, 0]);
  t.same(hardestIndices([], 0.25), []);
  t.throws(() => hardestIndices([1, 2], 0), /fraction/);
  t.throws(() => hardestIndices([1, NaN], 0.5), /scores\[1\]/);
  t.equal(subsetMean([1, 2, 3, 4], [1, 3]), 3);
  t.ok(Number.isNaN(subsetMean([1, 2], [])));
  t.throws(() => subsetMean([1, 2], [2]), /not an index/);
});
