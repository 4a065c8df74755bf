/**
 * Landmarks for faces on disk with a trained model: the plain crop the training used, the
 * network, and the crop's inverse transform back to source-image pixels.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../errors';
import { DataLoader, cropTransform, flipLandmarks, invertAffine, landmarkBox, landmarksToSource, type FaceRecord } from '../data';
import * as v from '../validate';

export interface PredictOptions {
  /** Crop margin; must match the training's (default 0.15). */
  margin?: number;
  batchSize?: number;
  onBadData?: 'error' | 'skip';
  /**
   * Test-time flip: also run the mirrored crop, mirror its prediction back (landmarks re-ordered
   * by this permutation, e.g. flipPermutation(68)) and average the two, as Predictor's `flip`.
   */
  flipPermutation?: readonly number[];
}

/** The square input side of a landmark model ([B, S, S, 3]). */
export function modelInputSize(model: tf.LayersModel): number {
  const s = model.inputs[0].shape;
  if (s.length !== 4 || s[1] !== s[2] || typeof s[1] !== 'number' || s[3] !== 3) {
    throw new ArgumentError(`model: expected an input of shape [batch, S, S, 3], got [${s.join(', ')}]`);
  }
  return s[1];
}

export interface Predictions {
  /** N x 2L predictions in source-image pixels, in the order of the faces that could be read. */
  landmarks: Float32Array;
  /** Indices (into `records`) of those faces. */
  indices: number[];
}

/** Predicts landmarks (source pixels) for every record whose image can be read. */
export async function predictRecords(model: tf.LayersModel, records: FaceRecord[], options: PredictOptions = {}): Promise<Predictions> {
  const o = v.options<PredictOptions>('options', options);
  const size = modelInputSize(model);
  const margin = v.nonNegativeNumber('options.margin', o.margin ?? 0.15);
  const batchSize = v.integer('options.batchSize', o.batchSize ?? 32, 1, 1e5);
  const D = model.outputs[0].shape[1];
  if (records.length === 0) return { landmarks: new Float32Array(0), indices: [] };
  if (D !== records[0].landmarks.length) {
    throw new ArgumentError(`model: predicts ${D} coordinates, the faces have ${records[0].landmarks.length}`);
  }
  const perm = o.flipPermutation;
  if (perm !== undefined && perm.length !== D / 2) throw new ArgumentError(`options.flipPermutation: expected ${D / 2} indices, got ${perm.length}`);
  const loader = await DataLoader.create(records, { size, batchSize, margin, augment: false, shuffle: false, onError: o.onBadData === 'skip' ? 'skip' : 'throw' });
  const out: Float32Array[] = [];
  const indices: number[] = [];
  try {
    for await (const b of loader.epoch(0)) {
      const y = tf.tidy(() => {
        const x = tf.tensor4d(b.images, [b.batchSize, size, size, 3]);
        return perm ? tf.concat([model.predict(x) as tf.Tensor, model.predict(tf.reverse(x, 2)) as tf.Tensor]) : (model.predict(x) as tf.Tensor);
      });
      const u = await y.data<'float32'>();
      y.dispose();
      if (perm) averageFlipped(u, b.batchSize, D, perm, size);
      b.indices.forEach((r, i) => {
        const rec = records[r];
        const inverse = invertAffine(cropTransform({ box: rec.box, landmarks: rec.landmarks, size, margin }));
        out.push(landmarksToSource(u.subarray(i * D, (i + 1) * D), inverse, size));
        indices.push(r);
      });
    }
  } finally {
    await loader.close();
  }
  const landmarks = new Float32Array(out.length * D);
  out.forEach((p, i) => landmarks.set(p, i * D));
  return { landmarks, indices };
}

/**
 * Predicts, then re-places each crop on the box of its own predicted landmarks and predicts again,
 * `rounds` times (as Predictor's `refine`): the crop then sits on the face as in training (box of the landmarks) wherever the
 * first box came from (a face detector's, a tracker's). Returns the last round's predictions.
 */
export async function predictRefined(model: tf.LayersModel, records: FaceRecord[], rounds: number, options: PredictOptions = {}): Promise<Predictions> {
  v.integer('rounds', rounds, 0, 10);
  let pred = await predictRecords(model, records, options);
  for (let k = 0; k < rounds && pred.indices.length > 0; k++) {
    const D = records[0].landmarks.length;
    // A collapsed prediction (all points on a line) keeps the box it had.
    const moved = pred.indices.map((r, i) => {
      const b = landmarkBox(pred.landmarks.subarray(i * D, (i + 1) * D), `face ${records[r].id}'s predicted landmarks`);
      return b[2] > 0 && b[3] > 0 ? { ...records[r], box: b } : records[r];
    });
    const next = await predictRecords(model, moved, options);
    pred = { landmarks: next.landmarks, indices: next.indices.map((i) => pred.indices[i]) };
  }
  return pred;
}

/**
 * Rows 0..B-1 of `u` (2B x D) take the mean of themselves and the mirrored crop's rows B..2B-1
 * mirrored back: crop pixel x -> size - 1 - x (the flip about the pixel-grid centre), landmarks
 * re-ordered by `perm`.
 */
function averageFlipped(u: Float32Array, B: number, D: number, perm: readonly number[], size: number): void {
  const px = new Float32Array(D);
  for (let i = 0; i < B; i++) {
    for (let k = 0; k < D; k++) px[k] = (u[(B + i) * D + k] + 0.5) * size;
    const back = flipLandmarks(px, perm, size);
    for (let k = 0; k < D; k++) u[i * D + k] = 0.5 * (u[i * D + k] + (back[k] / size - 0.5));
  }
}
