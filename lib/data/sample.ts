/**
 * Building one training/evaluation sample, shared by the in-process loader and its worker
 * threads. A sample depends only on (seed, epoch, record index), never on which thread made it
 * or in what order, so runs are reproducible and resumable.
 */
import { AcrError } from '../errors';
import { augmentSample, type ResolvedAugment } from './augment';
import { type RawImage, preprocessFaceSync } from './image';
import { Rng, mixSeed } from './rng';
import type { Box } from './types';

export interface SampleConfig {
  size: number;
  margin: number;
  seed: number;
  /** null: plain preprocessing (evaluation). */
  augment: ResolvedAugment | null;
}

export interface SampleRecord {
  landmarks: Float32Array;
  box?: Box;
}

/** Writes one sample into images[slot] and landmarks[slot]. */
export function writeSample(
  cfg: SampleConfig,
  img: RawImage,
  rec: SampleRecord,
  epoch: number,
  index: number,
  images: Float32Array,
  landmarks: Float32Array,
  slot: number,
): void {
  const px = cfg.size * cfg.size * 3;
  const L2 = rec.landmarks.length;
  const out = images.subarray(slot * px, (slot + 1) * px);
  if (cfg.augment) {
    const rng = new Rng(mixSeed(cfg.seed, epoch, index));
    const s = augmentSample(img, rec.landmarks, { box: rec.box, margin: cfg.margin, size: cfg.size }, cfg.augment, rng, out);
    landmarks.set(s.landmarks, slot * L2);
  } else {
    const s = preprocessFaceSync(img, { box: rec.box, landmarks: rec.landmarks, size: cfg.size, margin: cfg.margin }, out);
    landmarks.set(s.landmarks!, slot * L2);
  }
}

export interface BatchResult {
  images: Float32Array;
  landmarks: Float32Array;
  /** Record indices that made it into the batch, in order. */
  indices: number[];
  /** Samples that failed (undecodable image, ...): dropped from the batch. */
  failed: Array<{ index: number; message: string }>;
  /** Time spent producing the batch. */
  ms: number;
}

/**
 * Builds a batch from record indices. Failures are reported, not thrown, so the caller applies
 * its onError policy; a failed sample leaves no gap (the batch is compacted).
 */
export async function produceBatch(
  cfg: SampleConfig,
  numLandmarks: number,
  epoch: number,
  indices: number[],
  record: (i: number) => SampleRecord,
  image: (i: number) => RawImage | Promise<RawImage>,
): Promise<BatchResult> {
  const t0 = performance.now();
  const px = cfg.size * cfg.size * 3;
  let images = new Float32Array(indices.length * px);
  let landmarks = new Float32Array(indices.length * 2 * numLandmarks);
  const ok: number[] = [];
  const failed: BatchResult['failed'] = [];
  for (const i of indices) {
    try {
      const img = await image(i);
      writeSample(cfg, img, record(i), epoch, i, images, landmarks, ok.length);
      ok.push(i);
    } catch (e) {
      // Bad data (undecodable image, degenerate face box) is reported; anything else is a bug.
      if (!(e instanceof AcrError)) throw e;
      failed.push({ index: i, message: e.message });
    }
  }
  if (ok.length < indices.length) {
    images = images.slice(0, ok.length * px);
    landmarks = landmarks.slice(0, ok.length * 2 * numLandmarks);
  }
  return { images, landmarks, indices: ok, failed, ms: performance.now() - t0 };
}
