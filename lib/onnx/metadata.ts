/**
 * The metadata an exported landmark model carries (ONNX metadata_props), so that a consumer can
 * feed it and read its output without knowing how it was trained. One place writes and reads
 * the keys: the exporter formats, the Predictor parses and checks.
 */
import { validateFlipPermutation } from '../data/flip';
import { ParseError } from '../errors';

export const INPUT_NAME = 'image';
export const OUTPUT_NAME = 'landmarks';

export interface LandmarkModelMetadata {
  /** L: the network outputs 2L values [u0, v0, u1, v1, ...]. */
  numLandmarks: number;
  /** Network input height and width in pixels (the square crop size). */
  inputHeight: number;
  inputWidth: number;
  /** Input value = pixel * pixelScale + pixelOffset, RGB, NHWC. */
  pixelScale: number;
  pixelOffset: number;
  /** Crop margin used in training around the face box (fraction of the box size). */
  cropMargin: number;
  /** Landmark index permutation that mirrors a face left-right (lib/data/flip.ts); empty when unknown. */
  flipPermutation: number[];
  /** Free text: training loss and data, for the model card and provenance. */
  loss: string;
  data: string;
  packageVersion: string;
}

const KEYS = {
  numLandmarks: 'acr.num_landmarks',
  inputHeight: 'acr.input_height',
  inputWidth: 'acr.input_width',
  pixelScale: 'acr.pixel_scale',
  pixelOffset: 'acr.pixel_offset',
  cropMargin: 'acr.crop_margin',
  flipPermutation: 'acr.flip_permutation',
  loss: 'acr.loss',
  data: 'acr.data',
  packageVersion: 'acr.package_version',
} as const;

/** Human-readable description of the conventions, stored next to the machine-readable keys. */
const CONVENTION =
  `input '${INPUT_NAME}': float32 [N, H, W, 3] RGB, value = pixel * pixel_scale + pixel_offset, ` +
  'a square crop around the face box enlarged by crop_margin; ' +
  `output '${OUTPUT_NAME}': float32 [N, 2L] = [u0, v0, u1, v1, ...], u = x / W - 0.5, v = y / H - 0.5 in crop pixels`;

export function formatMetadata(m: LandmarkModelMetadata): Array<{ key: string; value: string }> {
  return [
    { key: 'acr.format_version', value: '1' },
    { key: 'acr.convention', value: CONVENTION },
    { key: KEYS.numLandmarks, value: String(m.numLandmarks) },
    { key: KEYS.inputHeight, value: String(m.inputHeight) },
    { key: KEYS.inputWidth, value: String(m.inputWidth) },
    { key: KEYS.pixelScale, value: String(m.pixelScale) },
    { key: KEYS.pixelOffset, value: String(m.pixelOffset) },
    { key: KEYS.cropMargin, value: String(m.cropMargin) },
    { key: KEYS.flipPermutation, value: JSON.stringify(m.flipPermutation) },
    { key: KEYS.loss, value: m.loss },
    { key: KEYS.data, value: m.data },
    { key: KEYS.packageVersion, value: m.packageVersion },
  ];
}

/** Reads the metadata back; `file` names the model in error messages. */
export function parseMetadata(file: string, props: Record<string, string>): LandmarkModelMetadata {
  const need = (key: string): string => {
    const v = props[key];
    if (v === undefined) {
      throw new ParseError(file, undefined, `metadata '${key}' is missing: not a landmark model exported by acr-loss (exportOnnx)`);
    }
    return v;
  };
  const num = (key: string, int: boolean): number => {
    const s = need(key);
    const x = Number(s);
    if (s.trim() === '' || !Number.isFinite(x) || (int && (!Number.isInteger(x) || x <= 0))) {
      throw new ParseError(file, undefined, `metadata '${key}' = ${JSON.stringify(s)} is not a valid ${int ? 'positive integer' : 'number'}`);
    }
    return x;
  };
  const numLandmarks = num(KEYS.numLandmarks, true);
  let flipPermutation: unknown;
  try {
    flipPermutation = JSON.parse(need(KEYS.flipPermutation));
  } catch {
    flipPermutation = undefined;
  }
  if (!Array.isArray(flipPermutation)) {
    throw new ParseError(file, undefined, `metadata '${KEYS.flipPermutation}' is not a JSON array`);
  }
  if (flipPermutation.length > 0) {
    try {
      validateFlipPermutation(flipPermutation, numLandmarks);
    } catch (err) {
      throw new ParseError(file, undefined, `metadata '${KEYS.flipPermutation}': ${(err as Error).message}`);
    }
  }
  return {
    numLandmarks,
    inputHeight: num(KEYS.inputHeight, true),
    inputWidth: num(KEYS.inputWidth, true),
    pixelScale: num(KEYS.pixelScale, false),
    pixelOffset: num(KEYS.pixelOffset, false),
    cropMargin: num(KEYS.cropMargin, false),
    flipPermutation: flipPermutation as number[],
    loss: props[KEYS.loss] ?? '',
    data: props[KEYS.data] ?? '',
    packageVersion: props[KEYS.packageVersion] ?? '',
  };
}
