/**
 * Peer on the same validation faces: the 68-point landmark nets of @vladmandic/face-api (optional
 * dependency; MIT; weights ship in the npm package), on tfjs wasm, given the same face boxes.
 *
 * Box: our models crop around the ground-truth landmarks' box (+ margin). face-api's landmark net
 * expects the box of its own SSD detector, which is larger and sits higher than the landmark box;
 * the landmark box is mapped into the detector's convention with the inverse of the fit measured on
 * 300-W (lib/onnx/detect.ts, DETECTOR_CALIBRATION), square like the detector's face boxes. The crop
 * (clamped to the image) goes to `detectLandmarks`, which pads it to a square, resizes to 112 px and
 * returns points in crop pixels; they are shifted back to image pixels and scored with lib/eval
 * (inter-ocular NME, FR/AUC at 0.1) like every other row.
 *
 *   node --import tsx bench/experiments/faceapi-peer.ts   # -> RUNS_DIR/peers/faceapi-68{,-tiny}/eval
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { decodeImage, loadDataset, splitByIds, type FaceRecord } from '../../lib/data';
import { writeEvaluationReport } from '../../lib/eval';
import { DETECTOR_CALIBRATION } from '../../lib/onnx/detect';
import { SWEEP } from './matrix';
import { RUNS_DIR, state } from './runs';

interface Net {
  loadFromDisk(dir: string): Promise<void>;
  detectLandmarks(input: tf.Tensor3D): Promise<{ positions: Array<{ x: number; y: number }> }>;
}
interface FaceApi {
  nets: { faceLandmark68Net: Net; faceLandmark68TinyNet: Net; ssdMobilenetv1: { loadFromDisk(dir: string): Promise<void> } };
  SsdMobilenetv1Options: new (o: { minConfidence: number }) => unknown;
  detectAllFaces(input: tf.Tensor3D, options: unknown): Promise<Array<{ box: { x: number; y: number; width: number; height: number } }>>;
}

type Box4 = [number, number, number, number];

function iou(a: Box4, b: Box4): number {
  const w = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  const i = Math.max(0, w) * Math.max(0, h);
  return i / (a[2] * a[3] + b[2] * b[3] - i);
}

/** The ground-truth landmarks' box mapped to face-api's detector convention (square, pixels). */
export function detectorBox(landmarks: ArrayLike<number>): [number, number, number, number] {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < landmarks.length; i += 2) {
    x0 = Math.min(x0, landmarks[i]);
    x1 = Math.max(x1, landmarks[i]);
    y0 = Math.min(y0, landmarks[i + 1]);
    y1 = Math.max(y1, landmarks[i + 1]);
  }
  const { dx, dy, side } = DETECTOR_CALIBRATION;
  // Inverse of detect.ts: landmark side = side * W, landmark centre = detector centre + (dx, dy) * W.
  const w = Math.max(x1 - x0, y1 - y0) / side;
  const cx = (x0 + x1) / 2 - dx * w;
  const cy = (y0 + y1) / 2 - dy * w;
  return [cx - w / 2, cy - w / 2, w, w];
}

/**
 * The box of each face: 'mapped' = detectorBox of the ground truth; 'ssd' = face-api's own SSD
 * detection that overlaps it most (its real pipeline; the mapped box when nothing overlaps).
 */
async function boxes(api: FaceApi, records: FaceRecord[], mode: 'mapped' | 'ssd'): Promise<{ boxes: Box4[]; fallbacks: number }> {
  const out: Box4[] = [];
  let fallbacks = 0;
  for (const r of records) {
    const mapped = detectorBox(r.landmarks);
    if (mode === 'mapped') {
      out.push(mapped);
      continue;
    }
    const img = await decodeImage(r.imagePath);
    const input = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    const found = await api.detectAllFaces(input, new api.SsdMobilenetv1Options({ minConfidence: 0.3 }));
    input.dispose();
    const scored = found.map((f) => [f.box.x, f.box.y, f.box.width, f.box.height] as Box4).map((b) => ({ b, o: iou(b, mapped) })).sort((a, b) => b.o - a.o);
    if (scored.length && scored[0].o > 0.3) out.push(scored[0].b);
    else [fallbacks, out[out.length]] = [fallbacks + 1, mapped];
  }
  return { boxes: out, fallbacks };
}

async function predict(net: Net, records: FaceRecord[], faceBoxes: Box4[]): Promise<Float32Array> {
  const out = new Float32Array(records.length * 136);
  for (let i = 0; i < records.length; i++) {
    const img = await decodeImage(records[i].imagePath);
    const [bx, by, bw, bh] = faceBoxes[i];
    const x0 = Math.max(0, Math.round(bx)), y0 = Math.max(0, Math.round(by));
    const x1 = Math.min(img.width, Math.round(bx + bw)), y1 = Math.min(img.height, Math.round(by + bh));
    const crop = tf.tidy(() => tf.tensor3d(img.data, [img.height, img.width, 3], 'int32').slice([y0, x0, 0], [y1 - y0, x1 - x0, 3]) as tf.Tensor3D);
    try {
      const lm = await net.detectLandmarks(crop);
      lm.positions.forEach((p, j) => {
        out[i * 136 + 2 * j] = p.x + x0;
        out[i * 136 + 2 * j + 1] = p.y + y0;
      });
    } finally {
      crop.dispose();
    }
  }
  return out;
}

async function main(): Promise<void> {
  // The validation faces of the seed-0 sweep (every row shares them).
  const ref = SWEEP.map((e) => state(e.name)).find((s) => fs.existsSync(path.join(s.runDir, 'split.json')));
  if (!ref) throw new Error('no run with a split.json yet: the peer is scored on the runs\' validation faces');
  const valIds: string[] = JSON.parse(fs.readFileSync(path.join(ref.runDir, 'split.json'), 'utf8')).val;
  const ds = await loadDataset(String(ref.config?.data));
  const val = splitByIds(ds.records, valIds).val;

  await tf.setBackend('wasm');
  await tf.ready();
  const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
  const modelDir = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  const version = JSON.parse(fs.readFileSync(path.join(modelDir, '..', 'package.json'), 'utf8')).version;
  await api.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  const boxSets = { mapped: await boxes(api, val, 'mapped'), ssd: await boxes(api, val, 'ssd') };
  const BOX_TEXT = {
    mapped: 'ground-truth landmark box mapped to the SSD detector convention (DETECTOR_CALIBRATION inverse)',
    ssd: `face-api's SSD detection overlapping the ground-truth box most (IoU > 0.3; ${boxSets.ssd.fallbacks} faces without one use the mapped box)`,
  };
  const variants = [
    ['faceapi-68', 'faceLandmark68Net', 'mapped'],
    ['faceapi-68-tiny', 'faceLandmark68TinyNet', 'mapped'],
    ['faceapi-68-ssdbox', 'faceLandmark68Net', 'ssd'],
  ] as const;
  for (const [name, netName, boxMode] of variants) {
    const net = api.nets[netName];
    await net.loadFromDisk(modelDir);
    const t0 = Date.now();
    const pred = await predict(net, val, boxSets[boxMode].boxes);
    const ms = (Date.now() - t0) / val.length;
    const dir = path.join(RUNS_DIR, 'peers', name, 'eval');
    const r = await writeEvaluationReport(dir, val, pred, {
      normaliser: 'inter-ocular',
      threshold: 0.1,
      worst: 12,
      name,
      meta: { model: `@vladmandic/face-api ${version} ${netName}`, box: BOX_TEXT[boxMode], msPerFace: ms, backend: 'wasm' },
    });
    const s = r.summary;
    console.log(`${name}: ${s.count} faces, NME ${s.nme.toFixed(3)}%, FR@0.1 ${s.failureRate.toFixed(2)}%, AUC@0.1 ${s.auc.toFixed(4)}, ${ms.toFixed(1)} ms/face (decode + crop + net); ${dir}`);
  }
}

main().catch((err) => {
  console.error(`error: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
