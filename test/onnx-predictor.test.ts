import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { decodeImage, landmarkBox, preprocessFaceSync, type RawImage } from '../lib/data/image';
import { readPts } from '../lib/data/pts';
import type { Box } from '../lib/data/types';
import { toOnnx } from '../lib/onnx/export';
import { Predictor } from '../lib/onnx/predictor';
import { MODELS_DIR, PRETRAINED_NAME } from '../lib/onnx/pretrained';
import { encodeModel, GRAPH_DIGEST_KEY, graphBytes, graphDigest, modelProto } from '../lib/onnx/proto';
import { tinyCnn } from '../lib/model';
import { randomizeWeights, rng } from './helpers/onnx-nets';

const SIZE = 32;
const L = 5;
const FLIP = [4, 3, 2, 1, 0];
const MARGIN = 0.2;

/** A 160 x 120 test picture: smooth colour gradients and a few blobs, no two rows alike. */
function picture(): RawImage {
  const width = 160;
  const height = 120;
  const data = new Uint8Array(width * height * 3);
  const r = rng(9);
  const blobs = Array.from({ length: 6 }, () => [r(0, width), r(0, height), r(8, 30), r(0, 255)]);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = 0;
      for (const [bx, by, br, c] of blobs) if ((x - bx) ** 2 + (y - by) ** 2 < br * br) v += c;
      const p = (y * width + x) * 3;
      data[p] = (x * 1.5 + v) % 256;
      data[p + 1] = (y * 2 + v * 0.5) % 256;
      data[p + 2] = (x + y + 40 * Math.sin(x / 7)) % 256;
    }
  }
  return { data, width, height, channels: 3 };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acr-predict-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

let model: tf.LayersModel;
let bytes: Uint8Array;
let raw: RawImage;
let png: Buffer;
const pngPath = path.join(dir, 'face.png');

t.before(async () => {
  await tf.setBackend('cpu');
  model = tinyCnn({ inputSize: SIZE, numLandmarks: L, seed: 2 });
  randomizeWeights(model, 11);
  bytes = toOnnx(model, { flipPermutation: FLIP, cropMargin: MARGIN, loss: 'test', data: 'synthetic' });
  raw = picture();
  png = await sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } }).png().toBuffer();
  fs.writeFileSync(pngPath, png);
});

/** tfjs on the shared preprocessing: the reference the Predictor must reproduce. */
function reference(box: Box, mirrored = false): Float32Array {
  const face = preprocessFaceSync(raw, { box, size: SIZE, margin: MARGIN });
  return tf.tidy(() => {
    let x = tf.tensor4d(face.image, [1, SIZE, SIZE, 3]);
    if (mirrored) x = tf.reverse(x, 2);
    return (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
  });
}

/** Crop coordinates back to pixels by hand: x = cx + u * side (side = (1 + 2 margin) * max(w, h)). */
function toPixels(u: ArrayLike<number>, box: Box): number[] {
  const [x, y, w, h] = box;
  const side = Math.max(w, h) * (1 + 2 * MARGIN);
  return Array.from(u, (v, k) => (k % 2 === 0 ? x + w / 2 : y + h / 2) + v * side);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return a.length === b.length ? d : Infinity;
}

t.test('export -> load -> predict: landmarks in source pixels match tfjs + inverse crop', async (t) => {
  const p = await Predictor.load(bytes);
  t.equal(p.numLandmarks, L);
  t.equal(p.inputSize, SIZE);
  t.same(p.metadata.flipPermutation, FLIP);
  const box: Box = [40, 30, 70, 60];
  const u = reference(box);
  for (const image of [pngPath, png, raw, { data: raw.data, width: raw.width, height: raw.height }]) {
    const res = await p.predict(image as never, { box, flip: false });
    t.ok(maxDiff(res.normalized, u) < 1e-5, `normalised output = tfjs (${maxDiff(res.normalized, u)})`);
    t.ok(maxDiff(res.landmarks, toPixels(u, box)) < 1e-3, `pixels = cx + u * side (${maxDiff(res.landmarks, toPixels(u, box))})`);
    t.same(res.box, box);
  }
  await p.dispose();
  await p.dispose(); // twice is fine
  await t.rejects(p.predict(raw, { box: [0, 0, 50, 50] }), { code: 'ERR_ARG', message: /used after dispose\(\); load the model again/ });
});

t.test('predictBatch equals single predictions', async (t) => {
  const p = await Predictor.load(bytes);
  const boxes: Box[] = [[40, 30, 70, 60], [0, 0, 50, 50], [100.5, 60.25, 80, 90]];
  const batch = await p.predictBatch(boxes.map((box) => ({ image: raw, box })), { flip: false });
  t.equal(batch.length, 3);
  for (let i = 0; i < 3; i++) {
    const single = await p.predict(raw, { box: boxes[i], flip: false });
    t.ok(maxDiff(batch[i].landmarks, single.landmarks) < 1e-3, `face ${i}: batch = single`);
    t.ok(maxDiff(batch[i].landmarks, toPixels(reference(boxes[i]), boxes[i])) < 1e-3, `face ${i}: = tfjs reference`);
  }
  await p.dispose();
});

t.test('refine: each round re-crops on the box of the previous landmarks', async (t) => {
  const p = await Predictor.load(bytes);
  const box: Box = [40, 30, 70, 60];
  const first = await p.predict(raw, { box, flip: false });
  const round1 = await p.predict(raw, { box: landmarkBox(first.landmarks), flip: false });
  const round2 = await p.predict(raw, { box: landmarkBox(round1.landmarks), flip: false });
  const refined = await p.predict(raw, { box, flip: false, refine: 2 });
  t.ok(maxDiff(refined.landmarks, round2.landmarks) < 1e-4, 'refine 2 = two manual re-crops');
  t.same(refined.box, box, 'the box reported is the one given');
  t.ok(maxDiff(refined.transform, round2.transform) < 1e-6, 'the transform is the last crop\'s');
  t.ok(maxDiff((await p.predict(raw, { box, flip: false, refine: 0 })).landmarks, first.landmarks) < 1e-6, 'refine 0 = one pass');
  const batch = await p.predictBatch([{ image: raw, box }, { image: raw, box: [0, 0, 50, 50] }], { flip: false, refine: 2 });
  t.ok(maxDiff(batch[0].landmarks, round2.landmarks) < 1e-4, 'batch = single');
  for (const bad of [-1, 1.5, 11, '1']) {
    await t.rejects(p.predict(raw, { box, refine: bad as number }), { code: /ERR_/, message: /options\.refine/ }, `refine ${String(bad)}`);
  }
  await p.dispose();
});

t.test('test-time flip averages with the mirrored crop, re-ordered by the permutation', async (t) => {
  const p = await Predictor.load(bytes);
  const box: Box = [40, 30, 70, 60];
  const u = reference(box);
  const m = reference(box, true);
  // Mirrored crop pixel x' = size - 1 - x; landmark i of the face is landmark FLIP[i] of the mirror.
  const expected = new Float32Array(2 * L);
  for (let i = 0; i < L; i++) {
    const j = FLIP[i];
    const xm = SIZE - 1 - (m[2 * j] + 0.5) * SIZE;
    expected[2 * i] = 0.5 * (u[2 * i] + (xm / SIZE - 0.5));
    expected[2 * i + 1] = 0.5 * (u[2 * i + 1] + m[2 * j + 1]);
  }
  const res = await p.predict(png, { box, flip: true });
  t.ok(maxDiff(res.normalized, expected) < 1e-5, `flip average (${maxDiff(res.normalized, expected)})`);
  t.ok(maxDiff(res.landmarks, toPixels(expected, box)) < 1e-3, 'mapped back to pixels');
  const plain = await p.predict(png, { box, flip: false });
  t.same((await p.predict(png, { box })).normalized, res.normalized, 'flip is on by default when the model has a permutation');
  t.ok(maxDiff(res.normalized, plain.normalized) > 1e-4, 'flip changes the result of a random model');
  const [b0, b1] = await p.predictBatch([{ image: png, box }, { image: raw, box: [0, 0, 50, 50] }], { flip: true });
  t.ok(maxDiff(b0.normalized, res.normalized) < 1e-5, 'batched flip = single flip');
  t.ok(b1.landmarks.length === 2 * L);
  await p.dispose();

  const noFlip = await Predictor.load(toOnnx(model, { cropMargin: MARGIN }));
  await t.rejects(noFlip.predict(png, { box, flip: true }), { code: 'ERR_UNSUPPORTED', message: /no flip permutation/ });
  t.ok(await noFlip.predict(png, { box }), 'without a permutation the default is no flip');
  await t.rejects(noFlip.predict(png, { box, flip: 'yes' as never }), { code: 'ERR_ARG', message: /options\.flip: expected a boolean/ });
  await noFlip.dispose();
});

t.test('flip-averaged predictions are mirror-equivariant', async (t) => {
  // The crop maps the box centre to crop pixel size/2 (not the symmetric (size - 1)/2), so the
  // mirrored box is shifted by one crop pixel (side / size source pixels) to make the crop of the
  // mirrored photo the exact mirror of the crop. Then the flip average on the mirrored photo must
  // be the mirrored flip average, for any weights.
  const p = await Predictor.load(bytes);
  const { width, height, data } = raw;
  const mirrored = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) mirrored[(y * width + (width - 1 - x)) * 3 + c] = data[(y * width + x) * 3 + c];
    }
  }
  const box: Box = [40, 30, 30, 24]; // crop scale > 1/2: no box-filter shrink before sampling
  const side = Math.max(box[2], box[3]) * (1 + 2 * MARGIN);
  const mbox: Box = [width - 1 - box[0] - box[2] + side / SIZE, box[1], box[2], box[3]];
  const a = await p.predict(raw, { box, flip: true });
  const b = await p.predict({ data: mirrored, width, height }, { box: mbox, flip: true });
  let d = 0;
  for (let i = 0; i < L; i++) {
    const j = FLIP[i];
    d = Math.max(d, Math.abs(a.landmarks[2 * i] - (width - 1 - b.landmarks[2 * j])), Math.abs(a.landmarks[2 * i + 1] - b.landmarks[2 * j + 1]));
  }
  t.ok(d < 1e-3, `max deviation ${d} px`);
  const plainA = await p.predict(raw, { box, flip: false });
  const plainB = await p.predict({ data: mirrored, width, height }, { box: mbox, flip: false });
  let e = 0;
  for (let i = 0; i < L; i++) e = Math.max(e, Math.abs(plainA.landmarks[2 * i] - (width - 1 - plainB.landmarks[2 * FLIP[i]])));
  t.ok(e > 1e-2, `without flip averaging a random model is not equivariant (${e} px)`);
  await p.dispose();
});

t.test('bad models: typed errors, no crash', async (t) => {
  await t.rejects(Predictor.load(path.join(dir, 'missing.onnx')), { code: 'ERR_IO', message: /cannot read/ });
  const garbage = path.join(dir, 'garbage.onnx');
  fs.writeFileSync(garbage, Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919 + 13) % 251)));
  await t.rejects(Predictor.load(garbage), { code: 'ERR_PARSE', name: 'ParseError', message: /garbage\.onnx/ });
  await t.rejects(Predictor.load(bytes.subarray(0, bytes.length - 1000)), { code: 'ERR_PARSE' });
  await t.rejects(Predictor.load(new Uint8Array(0)), { code: 'ERR_PARSE' });
  // A valid ONNX model without this package's metadata.
  const type = modelProto();
  const obj = type.toObject(type.decode(bytes)) as { metadataProps: unknown[] };
  obj.metadataProps = [];
  await t.rejects(Predictor.load(encodeModel(obj as never)), { code: 'ERR_PARSE', message: /metadata 'acr\.num_landmarks' is missing/ });
  await t.rejects(Predictor.load(bytes, { numLandmarks: 68 }), { code: 'ERR_SHAPE', message: /predicts 5 landmarks, expected 68/ });
  await t.rejects(Predictor.load(42 as never), { code: 'ERR_ARG' });
  if (!fs.existsSync(path.join(MODELS_DIR, `${PRETRAINED_NAME}.onnx`))) {
    await t.rejects(Predictor.load(), { code: 'ERR_IO', message: /no pretrained model/ }, 'no model given and none shipped');
  }
});

t.test('bad images and boxes: typed errors, no crash', async (t) => {
  const p = await Predictor.load(bytes);
  const box: Box = [40, 30, 70, 60];
  await t.rejects(p.predict(Buffer.from('not an image at all'), { box }), { code: 'ERR_IO', message: /cannot decode/ });
  const txt = path.join(dir, 'notes.jpg');
  fs.writeFileSync(txt, 'hello');
  await t.rejects(p.predict(txt, { box }), { code: 'ERR_IO' });
  await t.rejects(p.predict(path.join(dir, 'nope.png'), { box }), { code: 'ERR_IO' });
  await t.rejects(p.predict(png, { box: [500, 10, 50, 50] }), { code: 'ERR_RANGE', message: /outside the 160x120 image/ });
  await t.rejects(p.predict(png, { box: [-80, 10, 50, 50] }), { code: 'ERR_RANGE' });
  await t.rejects(p.predict(png, { box: [10, 10, 0, 50] }), { code: 'ERR_RANGE' });
  await t.rejects(p.predict(png, { box: [10, 10, 50] as never }), { code: 'ERR_ARG' });
  await t.rejects(p.predict(png, { box: [10, NaN, 50, 50] }), { code: 'ERR_ARG' });
  await t.rejects(p.predictBatch([]), { code: 'ERR_ARG' });
  await t.rejects(p.run(new Float32Array(10), 1), { code: 'ERR_SHAPE' });
  const partly = await p.predict(png, { box: [-20, -10, 60, 60] });
  t.ok(partly.landmarks.every(Number.isFinite), 'a box partly outside the image is fine (zero padding)');
  await p.dispose();
});

function hasDetector(): boolean {
  try {
    require.resolve('@vladmandic/face-api/package.json');
    return true;
  } catch {
    return false;
  }
}
const HAS_DETECTOR = hasDetector();
const TRAIN = path.join(__dirname, '..', '..', 'shared', 'data', '300w', 'train');

t.test('without a box: the optional detector finds the face, or says why not', async (t) => {
  const p = await Predictor.load(bytes);
  if (!HAS_DETECTOR) {
    await t.rejects(p.predict(png), { code: 'ERR_UNSUPPORTED', message: /--box/ });
    await p.dispose();
    return;
  }
  await t.rejects(p.predict(png), { code: 'ERR_RANGE', message: /no face found/ }, 'a picture without a face');
  await p.dispose();
});

const STEM = 'afw_1051618982_1';
const REAL_FACE = fs.existsSync(path.join(TRAIN, `${STEM}.jpg`)) && fs.existsSync(path.join(TRAIN, `${STEM}.pts`));

t.test('the detector box on a real face overlaps its landmark box', { skip: !REAL_FACE ? `300-W not found at ${TRAIN}` : !HAS_DETECTOR ? 'no face detector installed' : false }, async (t) => {
  const p = await Predictor.load(bytes);
  const pts = Array.from(await readPts(path.join(TRAIN, `${STEM}.pts`)));
  const xs = pts.filter((_, k) => k % 2 === 0);
  const ys = pts.filter((_, k) => k % 2 === 1);
  const gt = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  const res = await p.predict(path.join(TRAIN, `${STEM}.jpg`));
  const [x, y, w, h] = res.box;
  const ix = Math.max(0, Math.min(x + w, gt[2]) - Math.max(x, gt[0]));
  const iy = Math.max(0, Math.min(y + h, gt[3]) - Math.max(y, gt[1]));
  const iou = (ix * iy) / (w * h + (gt[2] - gt[0]) * (gt[3] - gt[1]) - ix * iy);
  t.ok(iou > 0.6, `calibrated detector box overlaps the landmark box (IoU ${iou.toFixed(3)})`);
  t.ok(res.score! > 0.5, `detector score ${res.score}`);
  await p.dispose();
});

t.test('a damaged weight is found at load: the graph digest recorded at export', async (t) => {
  const good = Buffer.from(bytes);
  const g = graphBytes(good)!;
  t.ok(g && g.length > good.length / 2, 'the graph is most of the file');
  const digest = (modelProto().toObject(modelProto().decode(good)) as { metadataProps: Array<{ key: string; value: string }> }).metadataProps.find((p) => p.key === GRAPH_DIGEST_KEY);
  t.equal(digest?.value, graphDigest(good), 'exportOnnx records the digest');
  // Flip one bit of the largest initializer's raw data (found by its bytes, not by a guessed offset).
  const decoded = modelProto().decode(good) as unknown as { graph: { initializer: Array<{ rawData: Uint8Array }> } };
  const biggest = decoded.graph.initializer.reduce((a, b) => (b.rawData.length > a.rawData.length ? b : a));
  const at = Buffer.from(good).indexOf(Buffer.from(biggest.rawData));
  t.ok(at > 0);
  const bad = Buffer.from(good);
  bad[at + Math.floor(biggest.rawData.length / 2)] ^= 0x40;
  const file = path.join(dir, 'damaged.onnx');
  fs.writeFileSync(file, bad);
  await t.rejects(Predictor.load(file), { code: 'ERR_CORRUPT', message: /damaged\.onnx: the graph's SHA-256 differs/ });
  await t.rejects(Predictor.load(bad), { code: 'ERR_CORRUPT', message: /<buffer>/ });
  // A model without a digest (exported before it existed) still loads.
  const msg = modelProto().decode(good) as unknown as { metadataProps: Array<{ key: string }> };
  msg.metadataProps = msg.metadataProps.filter((p) => p.key !== GRAPH_DIGEST_KEY);
  const legacy = await Predictor.load(modelProto().encode(msg).finish());
  t.ok(legacy.metadata.numLandmarks === L);
  await legacy.dispose();
});
