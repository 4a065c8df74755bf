/**
 * Face boxes for photos given without one: the SSD MobileNet v1 detector of the optional package
 * @vladmandic/face-api (MIT; its weights ship inside the npm package), run on the tfjs wasm
 * backend. The detector's box is tighter than the landmark box that training crops around, so it
 * is mapped to the training convention with a fit measured on 300-W (bench/detector-calibration.ts).
 */
import * as path from 'path';
import type { RawImage } from '../data/image';
import type { Box } from '../data/types';
import { UnsupportedError } from '../errors';

export interface DetectedFace {
  /** The face box in the training crop's convention (the landmarks' bounding box), pixels. */
  box: Box;
  /** The detector's own box and confidence. */
  detectorBox: Box;
  score: number;
}

export interface DetectOptions {
  /** Minimum detector confidence (default 0.5). */
  minConfidence?: number;
}

/**
 * Detector box -> landmark box: centre shift as a fraction of the detector box's width/height,
 * and the landmark box's larger side over the detector box's width. Medians over 147 300-W
 * training faces sampled evenly (3 of 150 not found; quartiles dx 0.017..0.040, dy 0.112..0.149,
 * side 0.936..0.994); reproduce with `node --import tsx bench/detector-calibration.ts`.
 */
export const DETECTOR_CALIBRATION = { dx: 0.027, dy: 0.133, side: 0.966 };

const PACKAGE = '@vladmandic/face-api';
const MISSING =
  `face detection needs the optional package ${PACKAGE} (npm install ${PACKAGE}); ` +
  'otherwise pass the face box ([x, y, width, height] in pixels; on the command line --box x,y,w,h)';

interface FaceApi {
  nets: { ssdMobilenetv1: { isLoaded: boolean; loadFromDisk(dir: string): Promise<void> } };
  SsdMobilenetv1Options: new (o: { minConfidence: number }) => unknown;
  detectAllFaces(input: unknown, options: unknown): Promise<Array<{ score: number; box: { x: number; y: number; width: number; height: number } }>>;
}

let faceApi: FaceApi | undefined;

async function detector(): Promise<FaceApi> {
  if (faceApi) return faceApi;
  let api: FaceApi;
  let dir: string;
  try {
    api = require(`${PACKAGE}/dist/face-api.node-wasm.js`) as FaceApi;
    dir = path.join(path.dirname(require.resolve(`${PACKAGE}/package.json`)), 'model');
  } catch (err) {
    throw new UnsupportedError(`${MISSING} (${(err as Error).message.split('\n')[0]})`);
  }
  await api.nets.ssdMobilenetv1.loadFromDisk(dir);
  faceApi = api;
  return api;
}

/** Faces in a decoded image, best first. */
export async function detectFaces(image: RawImage, options?: DetectOptions): Promise<DetectedFace[]> {
  const tf = await import('@tensorflow/tfjs');
  try {
    await import('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    throw new UnsupportedError(
      `face detection runs on @tensorflow/tfjs-backend-wasm, an optional peer dependency: install the version equal to your ` +
        `@tensorflow/tfjs (${tf.version_core}): npm install @tensorflow/tfjs-backend-wasm@${tf.version_core}; ` +
        `otherwise pass the face box ([x, y, width, height] in pixels; on the command line --box x,y,w,h) ` +
        `(${(err as Error).message.split('\n')[0]})`,
    );
  }
  const previous = tf.getBackend();
  // The detector runs on wasm (cpu is ~10x slower); the caller's backend is restored afterwards.
  await tf.setBackend('wasm');
  try {
    const api = await detector();
    const input = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
    try {
      const found = await api.detectAllFaces(input, new api.SsdMobilenetv1Options({ minConfidence: options?.minConfidence ?? 0.5 }));
      const { dx, dy, side } = DETECTOR_CALIBRATION;
      return found
        .sort((a, b) => b.score - a.score)
        .map(({ score, box: b }) => {
          const cx = b.x + b.width / 2 + dx * b.width;
          const cy = b.y + b.height / 2 + dy * b.height;
          const s = side * b.width;
          return { box: [cx - s / 2, cy - s / 2, s, s] as Box, detectorBox: [b.x, b.y, b.width, b.height] as Box, score };
        });
    } finally {
      input.dispose();
    }
  } finally {
    if (previous) await tf.setBackend(previous);
  }
}

/**
 * The detected face that belongs to an annotated face, for scoring a model on detector boxes:
 * the detection whose centre lies inside the landmarks' bounding box, nearest its centre; null
 * when the detector found none there. The landmarks only pick which face is meant, as in the
 * field's "detector box" protocols; the box itself is the detector's (calibrated).
 */
export function matchDetection(faces: readonly DetectedFace[], landmarks: ArrayLike<number>): DetectedFace | null {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i + 1 < landmarks.length; i += 2) {
    x0 = Math.min(x0, landmarks[i]);
    x1 = Math.max(x1, landmarks[i]);
    y0 = Math.min(y0, landmarks[i + 1]);
    y1 = Math.max(y1, landmarks[i + 1]);
  }
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  let best: DetectedFace | null = null;
  let bestD = Infinity;
  for (const f of faces) {
    const [x, y, w, h] = f.detectorBox;
    const fx = x + w / 2;
    const fy = y + h / 2;
    if (!(fx > x0 && fx < x1 && fy > y0 && fy < y1)) continue;
    const d = Math.hypot(fx - cx, fy - cy);
    if (d < bestD) {
      bestD = d;
      best = f;
    }
  }
  return best;
}
