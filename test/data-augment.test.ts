import { existsSync } from 'fs';
import * as path from 'path';
import t from 'tap';
import { AUGMENT_NONE, augmentSample, resolveAugment } from '../lib/data/augment';
import { FLIP_29, FLIP_68, FLIP_98, flipLandmarks, flipPermutation, validateFlipPermutation } from '../lib/data/flip';
import {
  type Affine,
  type RawImage,
  composeAffine,
  cropTransform,
  decodeImage,
  invertAffine,
  landmarksToCrop,
  landmarksToSource,
  preprocessFace,
  preprocessFaceSync,
  transformPoints,
  warpAffine,
} from '../lib/data/image';
import { Rng, mixSeed } from '../lib/data/rng';
import { loadDataset } from '../lib/data/dataset';
import { makeImage, sharp, tempDir, texture, writeImage } from './helpers/data-fixtures';

/** Black image with a 3x3 red, green and blue dot centred on three landmarks (integer pixels). */
function dotImage(W: number, H: number, pts: number[]): RawImage {
  return makeImage(W, H, (x, y) => {
    const c: [number, number, number] = [0, 0, 0];
    for (let k = 0; k < 3; k++) if (Math.abs(x - pts[2 * k]) <= 1 && Math.abs(y - pts[2 * k + 1]) <= 1) c[k] = 255;
    return c;
  });
}

/** Intensity-weighted centroid of one channel over a whole crop (network-normalised values). */
function centroid(img: Float32Array, size: number, ch: number): [number, number] {
  let s = 0, sx = 0, sy = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = img[3 * (y * size + x) + ch] + 1; // back to >= 0
      if (v > 0.05) {
        s += v;
        sx += v * x;
        sy += v * y;
      }
    }
  }
  return [sx / s, sy / s];
}

const PTS = [70, 80, 130, 84, 100, 140];
const SRC = dotImage(200, 220, PTS);

t.test('preprocessFace: landmarks land where their pixels land, and map back to the source', async (t) => {
  for (const size of [64, 96, 31]) {
    const f = preprocessFaceSync(SRC, { landmarks: PTS, size, margin: 0.2 });
    for (let k = 0; k < 3; k++) {
      const [cx, cy] = centroid(f.image, size, k);
      const ex = (f.landmarks![2 * k] + 0.5) * size, ey = (f.landmarks![2 * k + 1] + 0.5) * size;
      t.ok(Math.hypot(cx - ex, cy - ey) < 0.5, `size ${size} dot ${k}: found (${cx.toFixed(2)}, ${cy.toFixed(2)}), expected (${ex.toFixed(2)}, ${ey.toFixed(2)})`);
    }
    const back = landmarksToSource(f.landmarks!, f.inverse, size);
    for (let k = 0; k < 6; k++) t.ok(Math.abs(back[k] - PTS[k]) < 1e-3, 'round trip to source pixels');
  }
  // The crop is centred on the landmarks' box: its centre maps to u = 0.
  const f = preprocessFaceSync(SRC, { landmarks: PTS, size: 64 });
  const [u, v] = transformPoints(f.transform, [100, 110]);
  t.ok(Math.abs(u - 32) < 1e-9 && Math.abs(v - 32) < 1e-9);
});

t.test('preprocessFace: box wins over landmarks, margin scales, zero padding outside the image', async (t) => {
  const white = makeImage(40, 40, () => [255, 255, 255]);
  // A box in the top-left corner: most of the square crop lies outside the image.
  const f = preprocessFaceSync(white, { box: [0, 0, 10, 10], landmarks: [30, 30, 35, 35], size: 32, margin: 0.5 });
  t.same(Array.from(transformPoints(f.transform, [5, 5])).map((v) => Math.round(v * 1e6) / 1e6), [16, 16], 'box centre -> crop centre');
  t.equal(f.image[0], -1, 'outside the image: zero pixel, i.e. -1 after normalisation');
  t.equal(f.image[3 * (31 * 32 + 31)], 1, 'inside: white = +1');
  const g = preprocessFaceSync(white, { box: [0, 0, 10, 20], size: 32, margin: 0 });
  t.ok(Math.abs(g.transform[0] - 32 / 20) < 1e-12, 'side = larger box side x (1 + 2 margin)');
  t.throws(() => preprocessFaceSync(white, { size: 32 }), { code: 'ERR_ARG', message: /box or landmarks/ });
  t.throws(() => preprocessFaceSync(white, { box: [0, 0, 0, 0], size: 32 }), { code: 'ERR_ARG', message: /no extent/ });
  t.throws(() => preprocessFaceSync(white, { box: [0, 0, 5, 5], size: 0 }), { code: 'ERR_RANGE', message: /options\.size/ });
  t.throws(() => preprocessFaceSync({ data: new Uint8Array(5), width: 2, height: 2, channels: 3 }, { box: [0, 0, 1, 1], size: 8 }), { code: 'ERR_SHAPE' });
});

t.test('preprocessFace: path, encoded buffer and raw pixels give the same result', async (t) => {
  const dir = tempDir(t);
  const img = texture(50, 60);
  const file = path.join(dir, 'a.png');
  await writeImage(file, img);
  const opts = { landmarks: [10, 10, 40, 50], size: 24 };
  const a = await preprocessFace(file, opts);
  const b = await preprocessFace(await sharp(file).toBuffer(), opts);
  const c = await preprocessFace(img, opts);
  t.same(Array.from(a.image), Array.from(c.image));
  t.same(Array.from(b.image), Array.from(c.image));
  // Grey and RGBA inputs decode to RGB.
  const grey = await sharp(Buffer.alloc(16 * 8, 77), { raw: { width: 16, height: 8, channels: 1 } }).png().toBuffer();
  const g = await decodeImage(grey);
  t.same([g.width, g.height, g.channels, g.data.length, g.data[0], g.data[1], g.data[2]], [16, 8, 3, 384, 77, 77, 77]);
  const rgba = await sharp(Buffer.alloc(4 * 4 * 4, 200), { raw: { width: 4, height: 4, channels: 4 } }).png().toBuffer();
  t.equal((await decodeImage(rgba)).data.length, 48);
  // EXIF orientation 6 (rotate 90 deg clockwise): kept as stored unless autoOrient.
  const tagged = await sharp(Buffer.from(texture(30, 10).data), { raw: { width: 30, height: 10, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  t.same([(await decodeImage(tagged)).width, (await decodeImage(tagged)).height], [30, 10]);
  const upright = await decodeImage(tagged, { autoOrient: true });
  t.same([upright.width, upright.height], [10, 30]);
  await t.rejects(decodeImage(Buffer.from('not an image')), { code: 'ERR_IO', message: /cannot decode image/ });
  await t.rejects(decodeImage(path.join(dir, 'missing.jpg')), { code: 'ERR_IO', message: /missing\.jpg: cannot decode/ });
  await t.rejects(decodeImage(42 as never), { code: 'ERR_ARG' });
});

t.test('warpAffine: a strong shrink is blurred first and keeps geometry', async (t) => {
  // 300x300 source, crop of ~230 px to 32 px: scale ~0.14, blurred with a 7x7 box.
  const pts = [60, 70, 250, 90, 150, 270];
  const src = dotImage(300, 300, pts);
  const f = preprocessFaceSync(src, { landmarks: pts, size: 32, margin: 0.05 });
  for (let k = 0; k < 3; k++) {
    const [cx, cy] = centroid(f.image, 32, k);
    const ex = (f.landmarks![2 * k] + 0.5) * 32, ey = (f.landmarks![2 * k + 1] + 0.5) * 32;
    t.ok(Math.hypot(cx - ex, cy - ey) < 0.5, `dot ${k} within 0.5 px after filtering (${Math.hypot(cx - ex, cy - ey).toFixed(3)})`);
  }
});

t.test('augmentation: landmarks follow the pixels (rotation, scale, shift, flip) within 1 px', async (t) => {
  const perm = [1, 0, 2]; // red <-> green swap under a flip, blue on the midline
  const aug = resolveAugment({ ...AUGMENT_NONE, rotation: 30, scale: [0.8, 1.2], translation: 0.1, flipProb: 0.5, flipPermutation: perm }, 3);
  let flips = 0;
  let worst = 0;
  let checked = 0;
  for (let s = 0; s < 40; s++) {
    const size = s % 2 ? 64 : 96;
    const res = augmentSample(SRC, Float32Array.from(PTS), { size, margin: 0.3 }, aug, new Rng(s));
    if (res.flipped) flips++;
    for (let k = 0; k < 3; k++) {
      // After a flip, landmark k is the mirrored landmark perm[k]: its dot has colour perm[k].
      const colour = res.flipped ? perm[k] : k;
      // Only dots well inside the crop can be found whole (shifts may push some out).
      if (Math.abs(res.landmarks[2 * k]) > 0.5 - 3 / size || Math.abs(res.landmarks[2 * k + 1]) > 0.5 - 3 / size) continue;
      checked++;
      const [cx, cy] = centroid(res.image, size, colour);
      const ex = (res.landmarks[2 * k] + 0.5) * size, ey = (res.landmarks[2 * k + 1] + 0.5) * size;
      worst = Math.max(worst, Math.hypot(cx - ex, cy - ey));
    }
  }
  t.ok(worst < 1, `largest dot-to-landmark distance ${worst.toFixed(3)} px over ${checked} dots`);
  t.ok(checked >= 90, `most dots stay inside the crop (${checked}/120)`);
  t.ok(flips > 5 && flips < 35, `flips happen about half the time (${flips}/40)`);
});

t.test('augmentation: deterministic in the RNG state, pixels stay in range, photometric ops change pixels', async (t) => {
  const img = texture(120, 120);
  const lm = Float32Array.from(FLIP_68.flatMap((_, k) => [30 + (k % 9) * 7, 30 + Math.floor(k / 9) * 7]));
  const aug = resolveAugment({ flipPermutation: FLIP_68, colorProb: 1, gammaProb: 1, blurProb: 1, noiseProb: 1, occlusionProb: 1 }, 68);
  const a = augmentSample(img, lm, { size: 48 }, aug, new Rng(5));
  const b = augmentSample(img, lm, { size: 48 }, aug, new Rng(5));
  t.same(Array.from(a.image), Array.from(b.image));
  t.same(Array.from(a.landmarks), Array.from(b.landmarks));
  t.ok(a.image.every((v) => v >= -1 - 1e-6 && v <= 1 + 1e-6), 'normalised values within [-1, 1]');
  const plain = preprocessFaceSync(img, { landmarks: lm, size: 48 });
  const geomOnly = resolveAugment({ ...AUGMENT_NONE }, 68);
  const c = augmentSample(img, lm, { size: 48 }, geomOnly, new Rng(5));
  t.same(Array.from(c.image), Array.from(plain.image), 'everything off = plain preprocessing');
  t.same(Array.from(c.landmarks), Array.from(plain.landmarks!));
  for (const k of ['colorProb', 'gammaProb', 'blurProb', 'noiseProb', 'occlusionProb'] as const) {
    const one = resolveAugment({ ...AUGMENT_NONE, gamma: [2, 2], [k]: 1 }, 68);
    const r = augmentSample(img, lm, { size: 48 }, one, new Rng(9));
    let diff = 0;
    for (let i = 0; i < r.image.length; i++) diff = Math.max(diff, Math.abs(r.image[i] - plain.image[i]));
    t.ok(diff > 0.05, `${k} changes pixels (max change ${diff.toFixed(3)})`);
    t.same(Array.from(r.landmarks), Array.from(plain.landmarks!), `${k} leaves landmarks alone`);
  }
});

t.test('augmentation options are validated', async (t) => {
  t.throws(() => resolveAugment({}, 5), { code: 'ERR_ARG', message: /flipPermutation: flips need a landmark permutation for 5 points/ });
  t.doesNotThrow(() => resolveAugment({ flipProb: 0 }, 5));
  t.throws(() => resolveAugment({ flipProb: 2, flipPermutation: FLIP_68 }, 68), { code: 'ERR_ARG', message: /augment\.flipProb/ });
  t.throws(() => resolveAugment({ scale: [1.2, 0.8], flipPermutation: FLIP_68 }, 68), { code: 'ERR_ARG', message: /augment\.scale/ });
  t.throws(() => resolveAugment({ rotation: -1, flipPermutation: FLIP_68 }, 68), { code: 'ERR_RANGE', message: /augment\.rotation/ });
  t.throws(() => resolveAugment({ flipPermutation: FLIP_98 }, 68), { code: 'ERR_SHAPE' });
});

t.test('flip tables: permutations, involutions, flip twice = identity', async (t) => {
  for (const p of [FLIP_68, FLIP_98, FLIP_29]) {
    t.same(validateFlipPermutation(p, p.length), p);
    const lm = Float32Array.from({ length: 2 * p.length }, (_, i) => (i * 37) % 101);
    const twice = flipLandmarks(flipLandmarks(lm, p, 120), p, 120);
    t.same(Array.from(twice), Array.from(lm), `${p.length} points: flip twice is the identity`);
  }
  t.same(flipPermutation(68), FLIP_68.slice());
  t.same(flipPermutation('wflw98'), FLIP_98.slice());
  t.equal(flipPermutation(5), undefined);
  t.same(flipPermutation([2, 1, 0]), [2, 1, 0]);
  t.throws(() => flipPermutation([1, 2, 0]), { code: 'ERR_ARG', message: /own inverse/ });
  t.throws(() => flipPermutation([0, 0, 1]), { code: 'ERR_ARG', message: /appears twice/ });
  t.throws(() => flipPermutation([0, 3]), { code: 'ERR_ARG', message: /integer in \[0, 1\]/ });
  t.throws(() => flipPermutation([0, 1], 3), { code: 'ERR_SHAPE' });
  t.throws(() => flipPermutation('dlib5' as never), { code: 'ERR_ARG' });
  t.throws(() => flipPermutation('ibug68', 98), { code: 'ERR_SHAPE' });
  // Image side: the mirror map puts pixels exactly on pixels, so mirroring twice is exact.
  const img = texture(17, 17);
  const F: Affine = [-1, 0, 16, 0, 1, 0];
  const once = warpAffine(img, F, 17);
  t.equal(once[0], img.data[16 * 3], 'first pixel of the mirror = last pixel of the row');
  const twice = warpAffine({ data: Uint8Array.from(once), width: 17, height: 17, channels: 3 }, F, 17);
  t.same(Array.from(twice), Array.from(img.data), 'mirror twice = identity, pixel for pixel');
});

/**
 * A frontal 68-point face built from the iBUG layout written out independently here:
 * image-left to image-right along each contour, eyes 36 outer / 39 inner (image-left eye),
 * 42 inner / 45 outer (image-right eye), mouth corners 48 / 54 and 60 / 64.
 */
function template68(cx: number): Float32Array {
  const p: Array<[number, number]> = [];
  for (let i = 0; i <= 16; i++) {
    const a = Math.PI * (i / 16);
    p.push([cx - 40 * Math.cos(a), 60 + 45 * Math.sin(a)]); // jaw 0-16, left to right along a U
  }
  for (let i = 0; i < 5; i++) p.push([cx - 36 + 7 * i, 40 - (i === 2 ? 3 : 0)]); // brow 17-21 (left)
  for (let i = 0; i < 5; i++) p.push([cx + 8 + 7 * i, 40 - (i === 2 ? 3 : 0)]); // brow 22-26 (right)
  for (let i = 0; i < 4; i++) p.push([cx, 50 + 6 * i]); // nose bridge 27-30
  for (let i = 0; i < 5; i++) p.push([cx - 8 + 4 * i, 76 + (i === 2 ? 2 : 0)]); // nostrils 31-35
  const eye = (x0: number, outerFirst: boolean): Array<[number, number]> => {
    // corner, two upper-lid points, other corner, two lower-lid points (clockwise in the image).
    const xs = outerFirst ? [x0, x0 + 5, x0 + 10, x0 + 15, x0 + 10, x0 + 5] : [x0, x0 + 5, x0 + 10, x0 + 15, x0 + 10, x0 + 5];
    return xs.map((x, k) => [x, k === 0 || k === 3 ? 52 : k < 3 ? 49 : 55] as [number, number]);
  };
  p.push(...eye(cx - 26, true)); // 36 outer .. 39 inner
  p.push(...eye(cx + 11, false)); // 42 inner .. 45 outer
  const mouthOuter: Array<[number, number]> = [[cx - 18, 92]];
  for (let i = 1; i <= 5; i++) mouthOuter.push([cx - 18 + 6 * i, 88 - (i === 3 ? 1 : 0)]); // 49-53 upper, left to right
  mouthOuter.push([cx + 18, 92]); // 54
  for (let i = 1; i <= 5; i++) mouthOuter.push([cx + 18 - 6 * i, 98]); // 55-59 lower, right to left
  p.push(...mouthOuter);
  p.push([cx - 12, 92], [cx - 6, 91], [cx, 91], [cx + 6, 91], [cx + 12, 92], [cx + 6, 94], [cx, 94], [cx - 6, 94]); // 60-67
  return Float32Array.from(p.flat());
}

t.test('68-point flip is semantic: the left eye stays the left eye, a symmetric face maps onto itself', async (t) => {
  const W = 201;
  const face = template68((W - 1) / 2);
  t.equal(face.length, 136);
  const flipped = flipLandmarks(face, FLIP_68, W);
  let worst = 0;
  for (let k = 0; k < 136; k++) worst = Math.max(worst, Math.abs(flipped[k] - face[k]));
  t.ok(worst < 1e-4, `symmetric template is its own flip (max diff ${worst})`);
  // Shift the image-left eye up: after the flip it is the image-right eye (42-47) that is higher.
  const asym = face.slice();
  for (let k = 36; k <= 41; k++) asym[2 * k + 1] -= 5;
  const f2 = flipLandmarks(asym, FLIP_68, W);
  const meanY = (a: Float32Array, from: number, to: number) => {
    let s = 0;
    for (let k = from; k <= to; k++) s += a[2 * k + 1];
    return s / (to - from + 1);
  };
  const meanX = (a: Float32Array, from: number, to: number) => {
    let s = 0;
    for (let k = from; k <= to; k++) s += a[2 * k];
    return s / (to - from + 1);
  };
  t.ok(meanX(f2, 36, 41) < meanX(f2, 42, 47), 'points 36-41 are still on the image-left');
  t.ok(meanY(f2, 42, 47) < meanY(f2, 36, 41), 'the raised eye moved to the other side of the image');
  t.ok(f2[2 * 36] < f2[2 * 39] && f2[2 * 45] > f2[2 * 42], 'outer corners stay outer');
  t.ok(f2[2 * 48] < f2[2 * 54], 'mouth corner 48 stays image-left');
});

const REAL = path.resolve(__dirname, '../../shared/data/300w/train');
t.test('68-point flip on the real mean face: flipped mean shape = mean shape', { skip: existsSync(REAL) ? false : `${REAL} is absent` }, async (t) => {
  const ds = await loadDataset(REAL);
  const mean = new Float64Array(136);
  for (const r of ds.records) for (let k = 0; k < 136; k++) mean[k] += r.landmarks[k] / ds.records.length;
  // Mirror about the mean face's own midline (x of nose bridge points 27-30).
  const mid = (mean[54] + mean[56] + mean[58] + mean[60]) / 4;
  const W = 2 * mid + 1;
  const f = flipLandmarks(mean, FLIP_68, W);
  const iod = Math.hypot(mean[90] - mean[72], mean[91] - mean[73]);
  let worst = 0;
  for (let k = 0; k < 68; k++) worst = Math.max(worst, Math.hypot(f[2 * k] - mean[2 * k], f[2 * k + 1] - mean[2 * k + 1]));
  t.ok(worst / iod < 0.05, `worst point ${((100 * worst) / iod).toFixed(2)}% of the inter-ocular distance`);
});

t.test('Rng: seeded, resumable from its saved state, sane distributions', async (t) => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 5 }, () => a.nextUint32());
  t.same(Array.from({ length: 5 }, () => b.nextUint32()), xs);
  t.not(new Rng(43).nextUint32(), xs[0]);
  const state = a.getState();
  const cont = Array.from({ length: 10 }, () => a.next());
  const r = Rng.fromState(JSON.parse(JSON.stringify(state)));
  t.same(Array.from({ length: 10 }, () => r.next()), cont, 'restored state continues the stream');
  t.throws(() => Rng.fromState([1, 2, 3] as never), { code: 'ERR_ARG' });
  const g = new Rng('seed');
  let s = 0, s2 = 0, n = 20000, ints = new Set<number>();
  for (let i = 0; i < n; i++) {
    const z = g.normal();
    s += z;
    s2 += z * z;
    ints.add(g.int(7));
  }
  t.ok(Math.abs(s / n) < 0.05 && Math.abs(s2 / n - 1) < 0.05, 'normal: mean 0, variance 1');
  t.same([...ints].sort(), [0, 1, 2, 3, 4, 5, 6]);
  const perm = new Rng(1).shuffle([...Array(50).keys()]);
  t.same(perm.slice().sort((x, y) => x - y), [...Array(50).keys()]);
  t.not(mixSeed(1, 2), mixSeed(2, 1));
  t.equal(mixSeed(1, 2), mixSeed(1, 2));
  t.not(mixSeed(2 ** 40), mixSeed(0), 'high bits count');
});

t.test('one resampling: augmented crop = direct warp of the source with the composed map', async (t) => {
  const img = texture(100, 90);
  const lm = Float32Array.from([20, 20, 80, 25, 50, 70]);
  const aug = resolveAugment({ ...AUGMENT_NONE, rotation: 20, scale: [0.9, 1.1], translation: 0.05 }, 3);
  const res = augmentSample(img, lm, { size: 40 }, aug, new Rng(3));
  const direct = warpAffine(img, res.transform, 40);
  let worst = 0;
  for (let i = 0; i < direct.length; i++) worst = Math.max(worst, Math.abs(res.image[i] - (direct[i] / 127.5 - 1)));
  t.ok(worst < 1e-5, 'same pixels as a single warp');
  const base = cropTransform({ landmarks: lm, size: 40 });
  const extra = composeAffine(res.transform, invertAffine(base));
  t.ok(Math.abs(Math.hypot(extra[0], extra[3]) - Math.hypot(extra[1], extra[4])) < 1e-9, 'the augmentation on top of the crop is a similarity');
  t.same(Array.from(landmarksToCrop(lm, res.transform, 40)).map((v) => +v.toFixed(5)), Array.from(res.landmarks).map((v) => +v.toFixed(5)));
});

t.test('warpAffine: blurring only the visible window = naive full-image blur then bilinear', async (t) => {
  const img = texture(300, 200, 5);
  // A small rotated crop near the image edge: scale ~0.2, so a 5x5 box blur (k = 5, r = 2).
  const c = Math.cos(0.3) * 0.2, s = Math.sin(0.3) * 0.2;
  const T: Affine = [c, -s, -c * 230 + s * 150 + 8, s, c, -s * 230 - c * 150 + 8];
  const got = warpAffine(img, T, 16);
  const r = 2, W = img.width, H = img.height;
  const px = (x: number, y: number, ch: number) => img.data[(Math.min(H - 1, Math.max(0, y)) * W + Math.min(W - 1, Math.max(0, x))) * 3 + ch];
  const blurred = (x: number, y: number, ch: number) => {
    if (x < 0 || y < 0 || x >= W || y >= H) return 0;
    let acc = 0;
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) acc += px(x + dx, y + dy, ch);
    return Math.round(acc / 25);
  };
  const inv = invertAffine(T);
  let worst = 0;
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 16; x++) {
      const sx = inv[0] * x + inv[1] * y + inv[2], sy = inv[3] * x + inv[4] * y + inv[5];
      const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
      for (let ch = 0; ch < 3; ch++) {
        const ref = (1 - fx) * (1 - fy) * blurred(x0, y0, ch) + fx * (1 - fy) * blurred(x0 + 1, y0, ch) + (1 - fx) * fy * blurred(x0, y0 + 1, ch) + fx * fy * blurred(x0 + 1, y0 + 1, ch);
        worst = Math.max(worst, Math.abs(ref - got[3 * (16 * y + x) + ch]));
      }
    }
  }
  t.ok(worst <= 1, `within one grey level of the reference (max diff ${worst.toFixed(3)})`);
  const off = warpAffine(img, [0.1, 0, -500, 0, 0.1, -500], 16);
  t.ok(off.every((v) => v === 0), 'a window entirely off the image is all zeros');
});
