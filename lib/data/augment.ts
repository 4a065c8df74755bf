/**
 * Online augmentation, applied to the image and the landmarks together. All geometry (crop,
 * rotation, scale, translation, flip) is composed into one affine map and the crop is
 * resampled ONCE from the source image, so landmarks follow pixels exactly and no detail is
 * lost to repeated interpolation. Photometric changes (colour, gamma, blur, noise, occluding
 * rectangles) follow on the crop. Every random draw comes from the Rng passed in.
 */
import { ArgumentError } from '../errors';
import { describe, finiteNumber, nonNegativeNumber, options as opts } from '../validate';
import { type Affine, type RawImage, composeAffine, cropTransform, normalisePixels, transformPoints, warpAffine } from './image';
import { validateFlipPermutation } from './flip';
import type { Rng } from './rng';
import type { Box } from './types';

export interface AugmentOptions {
  /** Largest rotation in degrees (uniform in [-rotation, rotation]). Default 30. */
  rotation?: number;
  /** Zoom factor range (> 1 zooms in). Default [0.9, 1.1]. */
  scale?: [number, number];
  /** Largest shift as a fraction of the crop side, per axis. Default 0.05. */
  translation?: number;
  /** Probability of a horizontal flip. Default 0.5; needs flipPermutation. */
  flipProb?: number;
  /** Landmark permutation for flips (see flip.ts); required when flipProb > 0. */
  flipPermutation?: ArrayLike<number>;
  /** Probability of colour jitter. Default 0.8. */
  colorProb?: number;
  /** Brightness shift up to +-brightness * 255. Default 0.2. */
  brightness?: number;
  /** Contrast factor in [1 - contrast, 1 + contrast]. Default 0.3. */
  contrast?: number;
  /** Saturation factor in [1 - saturation, 1 + saturation]. Default 0.3. */
  saturation?: number;
  /** Probability of a gamma change. Default 0.3. */
  gammaProb?: number;
  /** Gamma range. Default [0.7, 1.5]. */
  gamma?: [number, number];
  /** Probability of a Gaussian blur. Default 0.1. */
  blurProb?: number;
  /** Largest blur sigma in crop pixels. Default 1.5. */
  blurSigma?: number;
  /** Probability of additive Gaussian noise. Default 0.1. */
  noiseProb?: number;
  /** Largest noise sigma in 0..255 units. Default 8. */
  noiseSigma?: number;
  /** Probability of an occluding rectangle. Default 0.3. */
  occlusionProb?: number;
  /** Rectangle side range as fractions of the crop side. Default [0.1, 0.4]. */
  occlusionSize?: [number, number];
}

export type ResolvedAugment = Required<Omit<AugmentOptions, 'flipPermutation'>> & { flipPermutation?: number[] };

export const AUGMENT_DEFAULTS: Readonly<Omit<ResolvedAugment, 'flipPermutation'>> = Object.freeze({
  rotation: 30,
  scale: [0.9, 1.1] as [number, number],
  translation: 0.05,
  flipProb: 0.5,
  colorProb: 0.8,
  brightness: 0.2,
  contrast: 0.3,
  saturation: 0.3,
  gammaProb: 0.3,
  gamma: [0.7, 1.5] as [number, number],
  blurProb: 0.1,
  blurSigma: 1.5,
  noiseProb: 0.1,
  noiseSigma: 8,
  occlusionProb: 0.3,
  occlusionSize: [0.1, 0.4] as [number, number],
});

/** Every augmentation off: useful as a base for turning single ones on. */
export const AUGMENT_NONE: Readonly<Omit<ResolvedAugment, 'flipPermutation'>> = Object.freeze({
  ...AUGMENT_DEFAULTS,
  rotation: 0,
  scale: [1, 1] as [number, number],
  translation: 0,
  flipProb: 0,
  colorProb: 0,
  gammaProb: 0,
  blurProb: 0,
  noiseProb: 0,
  occlusionProb: 0,
});

function prob(name: string, v: number): number {
  finiteNumber(name, v);
  if (v < 0 || v > 1) throw new ArgumentError(`${name}: expected a probability in [0, 1], got ${v}`);
  return v;
}

function rangePair(name: string, v: unknown, positive: boolean): [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => Number.isFinite(x)) || v[0] > v[1] || (positive && !(v[0] > 0))) {
    throw new ArgumentError(`${name}: expected [min, max] with min <= max${positive ? ' and min > 0' : ''}, got ${describe(v)}`);
  }
  return [v[0], v[1]];
}

/** Fills defaults and checks every option once, so per-sample code can trust them. */
export function resolveAugment(options: AugmentOptions | undefined, numLandmarks: number): ResolvedAugment {
  const o = { ...AUGMENT_DEFAULTS, ...opts<AugmentOptions>('augment', options) };
  const r: ResolvedAugment = {
    rotation: nonNegativeNumber('augment.rotation', o.rotation),
    scale: rangePair('augment.scale', o.scale, true),
    translation: nonNegativeNumber('augment.translation', o.translation),
    flipProb: prob('augment.flipProb', o.flipProb),
    colorProb: prob('augment.colorProb', o.colorProb),
    brightness: nonNegativeNumber('augment.brightness', o.brightness),
    contrast: nonNegativeNumber('augment.contrast', o.contrast),
    saturation: nonNegativeNumber('augment.saturation', o.saturation),
    gammaProb: prob('augment.gammaProb', o.gammaProb),
    gamma: rangePair('augment.gamma', o.gamma, true),
    blurProb: prob('augment.blurProb', o.blurProb),
    blurSigma: nonNegativeNumber('augment.blurSigma', o.blurSigma),
    noiseProb: prob('augment.noiseProb', o.noiseProb),
    noiseSigma: nonNegativeNumber('augment.noiseSigma', o.noiseSigma),
    occlusionProb: prob('augment.occlusionProb', o.occlusionProb),
    occlusionSize: rangePair('augment.occlusionSize', o.occlusionSize, true),
  };
  if (o.flipPermutation !== undefined) r.flipPermutation = validateFlipPermutation(o.flipPermutation, numLandmarks);
  if (r.flipProb > 0 && !r.flipPermutation) {
    throw new ArgumentError(`augment.flipPermutation: flips need a landmark permutation for ${numLandmarks} points (built-ins: 68, 98, 29); pass one or set flipProb: 0`);
  }
  return r;
}

export interface AugmentedSample {
  /** size x size x 3, normalised (PIXEL_SCALE / PIXEL_OFFSET). */
  image: Float32Array;
  /** Network targets u = x_crop / size - 0.5 (permuted when flipped). */
  landmarks: Float32Array;
  /** Source pixels -> crop pixels, augmentation included. */
  transform: Affine;
  flipped: boolean;
}

/**
 * The geometric part: source -> crop map with a random similarity about the crop centre and an
 * optional mirror. Draw order is fixed so a given Rng state always yields the same map.
 */
export function randomGeometry(base: Affine, size: number, aug: ResolvedAugment, rng: Rng): { transform: Affine; flipped: boolean } {
  const theta = (rng.uniform(-aug.rotation, aug.rotation) * Math.PI) / 180;
  const s = rng.uniform(aug.scale[0], aug.scale[1]);
  const tx = rng.uniform(-aug.translation, aug.translation) * size;
  const ty = rng.uniform(-aug.translation, aug.translation) * size;
  const flipped = rng.chance(aug.flipProb);
  const c = size / 2;
  const cos = Math.cos(theta) * s, sin = Math.sin(theta) * s;
  // x' = R S (x - c) + c + t
  let a: Affine = [cos, -sin, c + tx - (cos * c - sin * c), sin, cos, c + ty - (sin * c + cos * c)];
  // Mirror about the pixel-grid centre (size - 1) / 2 so the flip itself needs no interpolation.
  if (flipped) a = composeAffine([-1, 0, size - 1, 0, 1, 0], a);
  return { transform: composeAffine(a, base), flipped };
}

/** Augments one face: one resampling from `src`, then photometric changes, then normalisation. */
export function augmentSample(
  src: RawImage,
  landmarks: ArrayLike<number>,
  crop: { box?: Box; margin?: number; size: number },
  aug: ResolvedAugment,
  rng: Rng,
  out?: Float32Array,
): AugmentedSample {
  const size = crop.size;
  const base = cropTransform({ box: crop.box, landmarks, size, margin: crop.margin });
  const { transform, flipped } = randomGeometry(base, size, aug, rng);
  const img = warpAffine(src, transform, size, out);
  let lm = transformPoints(transform, landmarks);
  if (flipped) {
    const perm = aug.flipPermutation!;
    const p = new Float32Array(lm.length);
    for (let i = 0; i < perm.length; i++) {
      p[2 * i] = lm[2 * perm[i]];
      p[2 * i + 1] = lm[2 * perm[i] + 1];
    }
    lm = p;
  }
  for (let k = 0; k < lm.length; k++) lm[k] = lm[k] / size - 0.5;
  photometric(img, size, aug, rng);
  return { image: normalisePixels(img), landmarks: lm, transform, flipped };
}

/** Colour, gamma, blur, noise and occlusion on a 0..255 HWC float crop, in place. */
export function photometric(img: Float32Array, size: number, aug: ResolvedAugment, rng: Rng): void {
  const n = size * size;
  if (rng.chance(aug.colorProb)) {
    const b = rng.uniform(-aug.brightness, aug.brightness) * 255;
    const c = rng.uniform(1 - aug.contrast, 1 + aug.contrast);
    const s = rng.uniform(1 - aug.saturation, 1 + aug.saturation);
    let mean = 0;
    for (let i = 0; i < n; i++) mean += 0.299 * img[3 * i] + 0.587 * img[3 * i + 1] + 0.114 * img[3 * i + 2];
    mean /= n;
    for (let i = 0; i < n; i++) {
      const p = 3 * i;
      const grey = 0.299 * img[p] + 0.587 * img[p + 1] + 0.114 * img[p + 2];
      for (let ch = 0; ch < 3; ch++) {
        const v = grey + (img[p + ch] - grey) * s; // saturation
        img[p + ch] = (v - mean) * c + mean + b; // contrast about the mean, brightness
      }
    }
  }
  if (rng.chance(aug.gammaProb)) {
    const g = rng.uniform(aug.gamma[0], aug.gamma[1]);
    // Table with linear interpolation: Math.pow per value is the slowest step otherwise.
    const N = 1024;
    const lut = new Float32Array(N + 2);
    for (let k = 0; k <= N; k++) lut[k] = 255 * Math.pow(k / N, g);
    lut[N + 1] = lut[N];
    const toIdx = N / 255;
    for (let i = 0; i < img.length; i++) {
      const v = img[i];
      const f = (v < 0 ? 0 : v > 255 ? 255 : v) * toIdx;
      const k = f | 0;
      img[i] = lut[k] + (lut[k + 1] - lut[k]) * (f - k);
    }
  }
  if (rng.chance(aug.blurProb) && aug.blurSigma > 0) gaussianBlur(img, size, rng.uniform(0.3, Math.max(0.3, aug.blurSigma)));
  if (rng.chance(aug.noiseProb) && aug.noiseSigma > 0) {
    const sigma = rng.uniform(0, aug.noiseSigma);
    // Box-Muller, both outputs used.
    for (let i = 0; i < img.length; i += 2) {
      const u = 1 - rng.next();
      const v = rng.next();
      const r = sigma * Math.sqrt(-2 * Math.log(u));
      img[i] += r * Math.cos(2 * Math.PI * v);
      if (i + 1 < img.length) img[i + 1] += r * Math.sin(2 * Math.PI * v);
    }
  }
  if (rng.chance(aug.occlusionProb)) {
    const w = Math.max(1, Math.round(rng.uniform(aug.occlusionSize[0], aug.occlusionSize[1]) * size));
    const h = Math.max(1, Math.round(rng.uniform(aug.occlusionSize[0], aug.occlusionSize[1]) * size));
    const x0 = rng.int(size - Math.min(w, size) + 1);
    const y0 = rng.int(size - Math.min(h, size) + 1);
    const solid = rng.chance(0.5);
    const col = [rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)];
    for (let y = y0; y < Math.min(size, y0 + h); y++) {
      for (let x = x0; x < Math.min(size, x0 + w); x++) {
        const p = 3 * (y * size + x);
        for (let ch = 0; ch < 3; ch++) img[p + ch] = solid ? col[ch] : rng.uniform(0, 255);
      }
    }
  }
  clamp255(img);
}

function clamp255(img: Float32Array): void {
  for (let i = 0; i < img.length; i++) {
    const v = img[i];
    img[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
}

/** Separable Gaussian blur with clamped edges, in place. */
export function gaussianBlur(img: Float32Array, size: number, sigma: number): void {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp((-i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  const tmp = new Float32Array(img.length);
  const pass = (src: Float32Array, dst: Float32Array, horizontal: boolean) => {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let r0 = 0, g0 = 0, b0 = 0;
        for (let t = -r; t <= r; t++) {
          let xx = horizontal ? x + t : x;
          let yy = horizontal ? y : y + t;
          xx = xx < 0 ? 0 : xx >= size ? size - 1 : xx;
          yy = yy < 0 ? 0 : yy >= size ? size - 1 : yy;
          const p = 3 * (yy * size + xx);
          const w = k[t + r];
          r0 += w * src[p];
          g0 += w * src[p + 1];
          b0 += w * src[p + 2];
        }
        const q = 3 * (y * size + x);
        dst[q] = r0;
        dst[q + 1] = g0;
        dst[q + 2] = b0;
      }
    }
  };
  pass(img, tmp, true);
  pass(tmp, img, false);
}
