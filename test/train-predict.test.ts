import * as path from 'path';
import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { FLIP_68, cropTransform, invertAffine, landmarkBox, landmarksToSource, preprocessFace, type FaceRecord } from '../lib/data';
import { tinyCnn } from '../lib/model';
import { predictRecords, predictRefined } from '../lib/train/predict';
import { ringLandmarks, tempDir, texture, writeImage } from './helpers/data-fixtures';

t.test('predictRecords flip: the mean of the crop and the mirrored crop mapped back (reference built by hand)', async (t) => {
  await tf.setBackend('cpu');
  const dir = tempDir(t);
  const recs: FaceRecord[] = [];
  for (let i = 0; i < 5; i++) {
    const file = path.join(dir, `f${i}.png`);
    await writeImage(file, texture(50, 44, i + 1));
    recs.push({ id: `f${i}`, imagePath: file, landmarks: ringLandmarks(68, 25, 22, 13, 11 + i) });
  }
  const size = 24;
  const model = tinyCnn({ inputSize: size, numLandmarks: 68, seed: 3 });
  // Give the head weight so the outputs depend on the pixels (a fresh head is ~0).
  const dense = model.layers[model.layers.length - 1];
  dense.setWeights(dense.getWeights().map((w, i) => tf.randomUniform(w.shape, -0.5, 0.5, 'float32', 10 + i)));
  const plain = await predictRecords(model, recs, { batchSize: 2 });
  const flipped = await predictRecords(model, recs, { batchSize: 2, flipPermutation: FLIP_68 });
  t.same(flipped.indices, [0, 1, 2, 3, 4]);
  let worst = 0;
  let moved = 0;
  for (let r = 0; r < recs.length; r++) {
    const face = await preprocessFace(recs[r].imagePath, { landmarks: recs[r].landmarks, size });
    const x = tf.tensor4d(face.image, [1, size, size, 3]);
    // Mirror the crop by hand (column c <- size - 1 - c), predict, mirror the points back.
    const mirrored = tf.tensor4d(Array.from(face.image).map((_, k) => {
      const c = Math.floor(k / 3) % size;
      const row = Math.floor(k / (3 * size));
      return face.image[(row * size + (size - 1 - c)) * 3 + (k % 3)];
    }), [1, size, size, 3]);
    const u = (model.predict(x) as tf.Tensor).dataSync();
    const m = (model.predict(mirrored) as tf.Tensor).dataSync();
    const ref = new Float64Array(136);
    for (let i = 0; i < 68; i++) {
      const j = FLIP_68[i];
      ref[2 * i] = 0.5 * (u[2 * i] + (size - 1 - (m[2 * j] + 0.5) * size) / size - 0.5);
      ref[2 * i + 1] = 0.5 * (u[2 * i + 1] + m[2 * j + 1]);
    }
    const src = landmarksToSource(Float32Array.from(ref), invertAffine(cropTransform({ landmarks: recs[r].landmarks, size })), size);
    for (let k = 0; k < 136; k++) {
      worst = Math.max(worst, Math.abs(src[k] - flipped.landmarks[r * 136 + k]));
      moved = Math.max(moved, Math.abs(plain.landmarks[r * 136 + k] - flipped.landmarks[r * 136 + k]));
    }
  }
  t.ok(worst < 1e-3, `flip-averaged landmarks match the hand-built reference (max diff ${worst} px)`);
  t.ok(moved > 1e-2, `and differ from the plain prediction (${moved} px)`);
  await t.rejects(predictRecords(model, recs, { flipPermutation: [0, 1] }), { code: 'ERR_ARG', message: /flipPermutation: expected 68 indices/ });
});

t.test('predictRefined: each round predicts again on the box of the previous landmarks', async (t) => {
  await tf.setBackend('cpu');
  const dir = tempDir(t);
  const recs: FaceRecord[] = [];
  for (let i = 0; i < 3; i++) {
    const file = path.join(dir, `r${i}.png`);
    await writeImage(file, texture(50, 44, i + 7));
    recs.push({ id: `r${i}`, imagePath: file, landmarks: ringLandmarks(68, 25, 22, 13, 11 + i) });
  }
  const model = tinyCnn({ inputSize: 24, numLandmarks: 68, seed: 5 });
  const dense = model.layers[model.layers.length - 1];
  dense.setWeights(dense.getWeights().map((w, i) => tf.randomUniform(w.shape, -0.5, 0.5, 'float32', 20 + i)));
  const first = await predictRecords(model, recs);
  const moved = recs.map((r, i) => ({ ...r, box: landmarkBox(first.landmarks.subarray(i * 136, (i + 1) * 136)) }));
  const byHand = await predictRecords(model, moved);
  const refined = await predictRefined(model, recs, 1);
  t.same(refined.indices, [0, 1, 2]);
  let diff = 0;
  for (let k = 0; k < byHand.landmarks.length; k++) diff = Math.max(diff, Math.abs(byHand.landmarks[k] - refined.landmarks[k]));
  t.ok(diff < 1e-4, `refine 1 = a hand-made second crop (max diff ${diff} px)`);
  t.same(Array.from((await predictRefined(model, recs, 0)).landmarks), Array.from(first.landmarks), 'refine 0 = one pass');
  await t.rejects(predictRefined(model, recs, -1), { code: 'ERR_RANGE', message: /rounds: expected an integer in \[0, 10\]/ });
});
