/** A tiny in-memory training setup for tests of the training loop (no files, no images). */
import * as tf from '@tensorflow/tfjs';
import type { TrainData, TrainSet } from '../../lib/train/data';
import type { TrainDeps } from '../../lib/train/deps';
import { Rng, mixSeed } from '../../lib/data/rng';

export const SIZE = 16;
const L = 5;

/** In-memory faces: random images and targets; order and noise depend only on (seed, epoch, face). */
export function syntheticSet(n: number, seed: number, batchSize: number, augment: boolean, size = SIZE): TrainSet {
  const rng = new Rng(seed);
  const images = Float32Array.from({ length: n * size * size * 3 }, () => rng.uniform(-1, 1));
  const targets = Float32Array.from({ length: n * 2 * L }, () => rng.uniform(-0.4, 0.4));
  const px = size * size * 3;
  const steps = augment ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  return {
    length: n,
    numLandmarks: L,
    ids: Array.from({ length: n }, (_, i) => `face${seed}_${i}`),
    targets,
    usable: Array.from({ length: n }, (_, i) => i),
    flipPermutation: null,
    batchesPerEpoch: () => steps,
    async *epoch(epoch, start) {
      const order = Array.from({ length: n }, (_, i) => i);
      if (augment) new Rng(mixSeed(seed, epoch)).shuffle(order);
      for (let s = start; s < steps; s++) {
        const idx = order.slice(s * batchSize, (s + 1) * batchSize);
        const img = new Float32Array(idx.length * px);
        const lm = new Float32Array(idx.length * 2 * L);
        idx.forEach((r, i) => {
          img.set(images.subarray(r * px, (r + 1) * px), i * px);
          lm.set(targets.subarray(r * 2 * L, (r + 1) * 2 * L), i * 2 * L);
          const noise = new Rng(mixSeed(seed, epoch, r));
          if (augment) for (let k = i * px; k < (i + 1) * px; k++) img[k] += noise.uniform(-0.05, 0.05);
        });
        await new Promise((res) => setImmediate(res));
        yield { images: img, landmarks: lm, indices: idx, batchSize: idx.length, size, numLandmarks: L };
      }
    },
  };
}

/** size: the image side (SIZE suits the tiny CNN; MobileNets need >= 32). */
export function data(size = SIZE): TrainData {
  return { train: syntheticSet(20, 1, 8, true, size), val: syntheticSet(6, 2, 8, false, size), summary: 'synthetic' };
}

// Stand-ins for the loss, ASM and metric modules (their own tests cover them).
export const deps: Partial<TrainDeps> = {
  loss: (c) => (y, p, phi) =>
    tf.tidy(() => {
      const d = tf.abs(tf.sub(p, y));
      return c.loss === 'acr' && phi ? tf.mean(tf.log1p(tf.pow(d, tf.sub(2, phi)))) : tf.mean(tf.square(d));
    }),
  fitAsm: (shapes, numLandmarks) => {
    const D = 2 * numLandmarks;
    const n = shapes.length / D;
    const mean = new Float32Array(D);
    for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) mean[j] += shapes[i * D + j] / n;
    return {
      phi: (s, level) => {
        const out = new Float32Array(s.length);
        for (let i = 0; i < s.length / D; i++) {
          let max = 1e-12;
          for (let j = 0; j < D; j++) max = Math.max(max, (out[i * D + j] = Math.abs(s[i * D + j] - mean[j]) * level));
          for (let j = 0; j < D; j++) out[i * D + j] /= max;
        }
        return out;
      },
      smooth: (s) => Float64Array.from({ length: s.length }, (_, k) => mean[k % D]),
      toJSON: () => ({ mean: [...mean] }),
    };
  },
  schedule: (epoch, total) => (epoch < total / 2 ? 0.8 : 0.95),
  nme: (pred, gt, numLandmarks) => {
    const n = pred.length / (2 * numLandmarks);
    return Array.from({ length: n }, (_, i) => {
      let s = 0;
      for (let k = 0; k < numLandmarks; k++) {
        const o = (i * numLandmarks + k) * 2;
        s += Math.hypot(pred[o] - gt[o], pred[o + 1] - gt[o + 1]);
      }
      return s / numLandmarks;
    });
  },
};

export const base = { arch: 'tiny' as const, inputSize: SIZE, width: 1, dropout: 0.3, epochs: 3, batchSize: 8, lr: 3e-3, progress: false, warmupEpochs: 0.5 };

