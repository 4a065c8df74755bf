/**
 * The data contract between the readers (lib/data), the training loop (lib/train), evaluation
 * (lib/eval) and deployment (lib/onnx). Coordinates follow one convention everywhere:
 * pixel coordinates in the source image for records, and normalised crop coordinates
 * u = x / size - 0.5 (about [-0.5, 0.5]) for samples fed to a network.
 */

/** A face box in pixels: left, top, width, height. */
export type Box = [x: number, y: number, width: number, height: number];

/** One annotated face as read from disk, before any decoding. */
export interface FaceRecord {
  /** Stable identifier (file stem or list line), unique within a dataset. */
  id: string;
  /** Absolute path of the image. */
  imagePath: string;
  /** L x 2 landmarks, flattened [x0, y0, x1, y1, ...], in source-image pixels (0-based). */
  landmarks: Float32Array;
  /** A face box when the format gives one; otherwise the crop comes from the landmarks. */
  box?: Box;
  /** Sub-set the face came from (e.g. 'lfpw', 'helen', 'afw'), for reproducible splits. */
  source?: string;
  /** Per-face flags (WFLW: pose, expression, illumination, make-up, occlusion, blur). */
  attributes?: Record<string, number>;
}

/** Pixel normalisation of network inputs: RGB, HWC, value = pixel / 127.5 - 1. */
export const PIXEL_SCALE = 1 / 127.5;
export const PIXEL_OFFSET = -1;

/** A batch ready for a network: images NHWC float32 and normalised landmarks. */
export interface Batch {
  /** B x size x size x 3, float32, normalised as PIXEL_SCALE / PIXEL_OFFSET say. */
  images: Float32Array;
  /** B x 2L, u = x / size - 0.5 in crop coordinates. */
  landmarks: Float32Array;
  /** Indices of the records in this batch (into the array the loader was given). */
  indices: number[];
  batchSize: number;
  size: number;
  numLandmarks: number;
}
