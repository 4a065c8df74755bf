/**
 * Decoding and THE face preprocessing shared by training (without augmentation), evaluation and
 * prediction: a square crop around the face, resized to `size`, zero outside the image, as
 * float32 RGB HWC normalised with PIXEL_SCALE / PIXEL_OFFSET, plus the affine map from source
 * pixels to crop pixels and its inverse.
 *
 * Coordinates: pixel centres sit on integers in both the source (0-based landmarks) and the
 * crop, so a point at source pixel (i, j) lands on crop pixel T(i, j), and network targets are
 * u = x_crop / size - 0.5.
 */
import { ArgumentError, IoError, ShapeError } from '../errors';
import { describe, integer, nonNegativeNumber, options as opts } from '../validate';
import { PIXEL_OFFSET, PIXEL_SCALE, type Box } from './types';

/** Decoded 8-bit RGB image, HWC interleaved. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

/** A file path, an encoded image in memory (JPEG, PNG, ...) or an already decoded RGB image. */
export type ImageInput = string | Uint8Array | RawImage;

/** Row-major 2x3 affine map [a, b, c, d, e, f]: x' = a x + b y + c, y' = d x + e y + f. */
export type Affine = [number, number, number, number, number, number];

export const DEFAULT_MARGIN = 0.15;

type SharpFn = typeof import('sharp').default;
let sharpFn: SharpFn | undefined;
/** sharp is loaded on first use so that importing the package stays cheap. */
export function loadSharp(): SharpFn {
  if (!sharpFn) {
    sharpFn = require('sharp') as SharpFn;
  }
  return sharpFn;
}

export function isRawImage(v: unknown): v is RawImage {
  const r = v as RawImage;
  return typeof v === 'object' && v !== null && r.data instanceof Uint8Array && Number.isInteger(r.width) && Number.isInteger(r.height) && r.channels === 3 && !Buffer.isBuffer(v);
}

function checkRaw(name: string, r: RawImage): RawImage {
  if (!(r.width > 0 && r.height > 0)) throw new ShapeError(`${name}: width and height must be > 0, got ${r.width}x${r.height}`);
  if (r.data.length !== r.width * r.height * 3) {
    throw new ShapeError(`${name}: data must hold width*height*3 = ${r.width * r.height * 3} bytes, got ${r.data.length}`);
  }
  return r;
}

export interface DecodeOptions {
  /**
   * Rotate/mirror by the EXIF orientation tag. Default false: dataset annotations are made on
   * the stored pixels; turn it on for camera photos shown upright.
   */
  autoOrient?: boolean;
}

/** Decodes to 8-bit RGB (alpha dropped, grey expanded). */
export async function decodeImage(input: ImageInput, options: DecodeOptions = {}): Promise<RawImage> {
  if (isRawImage(input)) return checkRaw('image', input);
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new ArgumentError(`image: expected a path, an encoded image (Buffer/Uint8Array) or { data, width, height, channels: 3 }, got ${describe(input)}`);
  }
  const name = typeof input === 'string' ? input : `<${input.length}-byte buffer>`;
  try {
    const { data, info } = await loadSharp()(input, { failOn: 'error', autoOrient: options.autoOrient === true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 };
  } catch (e) {
    throw new IoError(`${name}: cannot decode image (${(e as Error).message})`, e);
  }
}

export function applyAffine(t: Affine, x: number, y: number): [number, number] {
  return [t[0] * x + t[1] * y + t[2], t[3] * x + t[4] * y + t[5]];
}

export function invertAffine(t: Affine): Affine {
  const [a, b, c, d, e, f] = t;
  const det = a * e - b * d;
  if (!(Math.abs(det) > 1e-12)) throw new ArgumentError(`transform: not invertible (determinant ${det})`);
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

/** outer ∘ inner: first apply `inner`, then `outer`. */
export function composeAffine(outer: Affine, inner: Affine): Affine {
  const [a, b, c, d, e, f] = outer;
  const [p, q, r, s, t, u] = inner;
  return [a * p + b * s, a * q + b * t, a * r + b * u + c, d * p + e * s, d * q + e * t, d * r + e * u + f];
}

/** Applies an affine map to flattened [x0, y0, ...] points. */
export function transformPoints(t: Affine, pts: ArrayLike<number>, out = new Float32Array(pts.length)): Float32Array {
  for (let k = 0; k < pts.length; k += 2) {
    const x = pts[k];
    const y = pts[k + 1];
    out[k] = t[0] * x + t[1] * y + t[2];
    out[k + 1] = t[3] * x + t[4] * y + t[5];
  }
  return out;
}

/** Source-pixel landmarks -> network targets u = x_crop / size - 0.5. */
export function landmarksToCrop(landmarks: ArrayLike<number>, transform: Affine, size: number): Float32Array {
  const out = transformPoints(transform, landmarks);
  for (let k = 0; k < out.length; k++) out[k] = out[k] / size - 0.5;
  return out;
}

/** Network outputs u (crop-normalised) -> source pixels, through the inverse transform. */
export function landmarksToSource(u: ArrayLike<number>, inverse: Affine, size: number): Float32Array {
  const px = new Float32Array(u.length);
  for (let k = 0; k < u.length; k++) px[k] = (u[k] + 0.5) * size;
  return transformPoints(inverse, px, px);
}

export interface CropOptions {
  /** Face box in source pixels; wins over landmarks. */
  box?: Box;
  /** Source-pixel landmarks; their bounding box is used when no box is given. */
  landmarks?: ArrayLike<number>;
  /** Output side in pixels. */
  size: number;
  /** Extra room on each side as a fraction of the box's larger side (side = (1 + 2 margin) * max(w, h)). */
  margin?: number;
}

/** [x, y, width, height] of the landmarks' bounding box: the box training crops are placed on. */
export function landmarkBox(lm: ArrayLike<number>, name = 'landmarks'): Box {
  if (!(lm.length >= 2) || lm.length % 2 !== 0) throw new ShapeError(`${name}: expected 2L values with L >= 1, got ${lm.length}`);
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let k = 0; k < lm.length; k += 2) {
    const x = lm[k], y = lm[k + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new ArgumentError(`${name}: non-finite value at point ${k / 2}`);
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  return [minX, minY, maxX - minX, maxY - minY];
}

/** The square crop region in source pixels: centre and side. */
export function cropRegion(o: CropOptions): { cx: number; cy: number; side: number } {
  const margin = nonNegativeNumber('options.margin', o.margin ?? DEFAULT_MARGIN);
  let x0: number, y0: number, w: number, h: number;
  if (o.box !== undefined) {
    if (!Array.isArray(o.box) || o.box.length !== 4 || !o.box.every(Number.isFinite)) {
      throw new ArgumentError(`options.box: expected [x, y, width, height], got ${describe(o.box)}`);
    }
    [x0, y0, w, h] = o.box;
  } else if (o.landmarks !== undefined) {
    [x0, y0, w, h] = landmarkBox(o.landmarks, 'options.landmarks');
  } else {
    throw new ArgumentError('options: a face box or landmarks is needed to place the crop');
  }
  const side = Math.max(w, h) * (1 + 2 * margin);
  if (!(side > 0)) throw new ArgumentError(`options: the face box has no extent (${w}x${h})`);
  return { cx: x0 + w / 2, cy: y0 + h / 2, side };
}

/** The source -> crop affine map of the plain (unaugmented) crop. */
export function cropTransform(o: CropOptions): Affine {
  const size = integer('options.size', o.size, 1, 4096);
  const { cx, cy, side } = cropRegion(o);
  const s = size / side;
  // Source cx maps to crop size/2, i.e. u = 0.
  return [s, 0, size / 2 - s * cx, 0, s, size / 2 - s * cy];
}

/**
 * Centred (2r+1) x (2r+1) moving average at full resolution (running sums, O(1) per pixel).
 * Blurring before a strong shrink stops bilinear sampling from aliasing; being symmetric, it
 * moves no feature, unlike block decimation which shifts them by up to half a block.
 */
function boxBlur(src: RawImage, r: number): RawImage {
  const W = src.width, H = src.height;
  const tmp = new Float32Array(W * H * 3);
  const out = new Uint8Array(W * H * 3);
  const n = 2 * r + 1;
  const sd = src.data;
  // Horizontal pass: window clamped at the borders (edge pixels repeat).
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let ch = 0; ch < 3; ch++) {
      let acc = 0;
      for (let t = -r; t <= r; t++) acc += sd[(row + Math.min(W - 1, Math.max(0, t))) * 3 + ch];
      for (let x = 0; x < W; x++) {
        tmp[(row + x) * 3 + ch] = acc / n;
        acc += sd[(row + Math.min(W - 1, x + r + 1)) * 3 + ch] - sd[(row + Math.max(0, x - r)) * 3 + ch];
      }
    }
  }
  for (let x = 0; x < W; x++) {
    for (let ch = 0; ch < 3; ch++) {
      let acc = 0;
      for (let t = -r; t <= r; t++) acc += tmp[(Math.min(H - 1, Math.max(0, t)) * W + x) * 3 + ch];
      for (let y = 0; y < H; y++) {
        out[(y * W + x) * 3 + ch] = Math.round(acc / n);
        acc += tmp[(Math.min(H - 1, y + r + 1) * W + x) * 3 + ch] - tmp[(Math.max(0, y - r) * W + x) * 3 + ch];
      }
    }
  }
  return { data: out, width: W, height: H, channels: 3 };
}

/** Integer source window [x0, y0, w, h] covering the output square (plus `pad`), or null if off-image. */
function sourceWindow(src: RawImage, inv: Affine, size: number, pad: number): [number, number, number, number] | null {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const [x, y] of [[-1, -1], [size, -1], [-1, size], [size, size]]) {
    const [sx, sy] = applyAffine(inv, x, y);
    minX = Math.min(minX, sx); maxX = Math.max(maxX, sx);
    minY = Math.min(minY, sy); maxY = Math.max(maxY, sy);
  }
  const x0 = Math.max(0, Math.floor(minX) - pad), y0 = Math.max(0, Math.floor(minY) - pad);
  const x1 = Math.min(src.width - 1, Math.ceil(maxX) + pad), y1 = Math.min(src.height - 1, Math.ceil(maxY) + pad);
  return x1 < x0 || y1 < y0 ? null : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

function subImage(src: RawImage, x0: number, y0: number, w: number, h: number): RawImage {
  if (x0 === 0 && y0 === 0 && w === src.width && h === src.height) return src;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(src.data.subarray(((y0 + y) * src.width + x0) * 3, ((y0 + y) * src.width + x0 + w) * 3), y * w * 3);
  return { data, width: w, height: h, channels: 3 };
}

/**
 * Resamples `src` through `transform` (source -> output pixels) into a size x size x 3 float
 * image with values 0..255, bilinear, zero outside the source. When the map shrinks by 2x or
 * more, the source is first blurred so the result does not alias.
 */
export function warpAffine(src: RawImage, transform: Affine, size: number, out: Float32Array = new Float32Array(size * size * 3)): Float32Array {
  if (out.length !== size * size * 3) throw new ShapeError(`out: expected ${size * size * 3} floats, got ${out.length}`);
  const scale = Math.sqrt(Math.abs(transform[0] * transform[4] - transform[1] * transform[3]));
  const k = Math.floor(1 / scale);
  if (k >= 2) {
    // Blur only the part of the source the output sees (big photos, small crops).
    const r = Math.floor(k / 2);
    const region = sourceWindow(src, invertAffine(transform), size, r + 2);
    if (!region) return out.fill(0);
    const [x0, y0, w, h] = region;
    src = boxBlur(subImage(src, x0, y0, w, h), r);
    transform = composeAffine(transform, [1, 0, x0, 0, 1, y0]);
  }
  const inv = invertAffine(transform);
  const [ia, ib, ic, id, ie, iff] = inv;
  const W = src.width, H = src.height, d = src.data;
  let o = 0;
  for (let y = 0; y < size; y++) {
    let sx = ib * y + ic;
    let sy = ie * y + iff;
    for (let x = 0; x < size; x++, sx += ia, sy += id, o += 3) {
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      if (x0 < -1 || y0 < -1 || x0 >= W || y0 >= H) {
        out[o] = out[o + 1] = out[o + 2] = 0;
        continue;
      }
      const fx = sx - x0, fy = sy - y0;
      const w00 = (1 - fx) * (1 - fy), w10 = fx * (1 - fy), w01 = (1 - fx) * fy, w11 = fx * fy;
      let r = 0, g = 0, b = 0;
      const inX0 = x0 >= 0, inX1 = x0 + 1 < W, inY0 = y0 >= 0, inY1 = y0 + 1 < H;
      if (inY0) {
        const row = y0 * W;
        if (inX0) {
          const p = (row + x0) * 3;
          r += w00 * d[p]; g += w00 * d[p + 1]; b += w00 * d[p + 2];
        }
        if (inX1) {
          const p = (row + x0 + 1) * 3;
          r += w10 * d[p]; g += w10 * d[p + 1]; b += w10 * d[p + 2];
        }
      }
      if (inY1) {
        const row = (y0 + 1) * W;
        if (inX0) {
          const p = (row + x0) * 3;
          r += w01 * d[p]; g += w01 * d[p + 1]; b += w01 * d[p + 2];
        }
        if (inX1) {
          const p = (row + x0 + 1) * 3;
          r += w11 * d[p]; g += w11 * d[p + 1]; b += w11 * d[p + 2];
        }
      }
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
    }
  }
  return out;
}

/** 0..255 -> network range, in place (PIXEL_SCALE / PIXEL_OFFSET). */
export function normalisePixels(img: Float32Array): Float32Array {
  // Local copies: imported bindings can compile to getter calls inside the loop.
  const scale = PIXEL_SCALE, offset = PIXEL_OFFSET;
  for (let i = 0; i < img.length; i++) img[i] = img[i] * scale + offset;
  return img;
}

export interface PreprocessOptions extends CropOptions {}

export interface PreprocessedFace {
  /** size x size x 3, float32 RGB HWC, normalised (PIXEL_SCALE / PIXEL_OFFSET). */
  image: Float32Array;
  size: number;
  /** Source pixels -> crop pixels. */
  transform: Affine;
  /** Crop pixels -> source pixels. */
  inverse: Affine;
  /** The given landmarks as network targets (u = x_crop / size - 0.5), when landmarks were given. */
  landmarks?: Float32Array;
}

/** Synchronous core of preprocessFace for already decoded images. */
export function preprocessFaceSync(image: RawImage, options: PreprocessOptions, out?: Float32Array): PreprocessedFace {
  const o = opts<PreprocessOptions>('options', options) as PreprocessOptions;
  checkRaw('image', image);
  const size = integer('options.size', o.size, 1, 4096);
  const transform = cropTransform(o);
  const img = normalisePixels(warpAffine(image, transform, size, out));
  const res: PreprocessedFace = { image: img, size, transform, inverse: invertAffine(transform) };
  if (o.landmarks !== undefined) res.landmarks = landmarksToCrop(o.landmarks, transform, size);
  return res;
}

/**
 * The one preprocessing used by training (no augmentation), evaluation and prediction.
 * Map predictions back with landmarksToSource(pred, result.inverse, result.size).
 */
export async function preprocessFace(image: ImageInput, options: PreprocessOptions): Promise<PreprocessedFace> {
  return preprocessFaceSync(await decodeImage(image), options);
}
