/**
 * Fits DETECTOR_CALIBRATION (lib/onnx/detect.ts): how the SSD face detector's box relates to the
 * bounding box of the 68 annotated landmarks, which is what training crops around. For each face
 * of a 300-W sample the detection that overlaps the landmark box best is compared with it; the
 * medians of the centre shift (in detector widths/heights) and of the side ratio are printed with
 * their spread. Needs ../shared/data/300w/train and the optional @vladmandic/face-api.
 *
 * It also measures what the calibrated box still gets wrong, in the units of training's box
 * jitter (lib/data/augment.ts): the crop centre's shift as a fraction of the crop side, per axis,
 * and the zoom (ground-truth crop side / detector crop side). Training's --aug-shift and
 * --aug-scale should cover their 95th percentiles.
 *
 *   node --import tsx bench/detector-calibration.ts [--faces 150] [--data ../shared/data/300w/train]
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeImage } from '../lib/data/image';
import { readPts } from '../lib/data/pts';
import { DETECTOR_CALIBRATION, detectFaces, matchDetection } from '../lib/onnx/detect';

const MARGIN = 0.15; // the crop margin of training and the shipped model

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function quantiles(v: number[]): { median: number; q25: number; q75: number } {
  const s = [...v].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), q25: q(0.25), q75: q(0.75) };
}

async function main(): Promise<void> {
  const dir = arg('data', path.join(__dirname, '..', '..', 'shared', 'data', '300w', 'train'));
  const n = Number(arg('faces', '150'));
  if (!fs.existsSync(dir)) {
    console.log(`skipped: ${dir} not found`);
    return;
  }
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.pts')).sort();
  const step = Math.max(1, Math.floor(files.length / n));
  const dxs: number[] = [];
  const dys: number[] = [];
  const sides: number[] = [];
  const shifts: number[] = [];
  const zooms: number[] = [];
  let missed = 0;
  for (let i = 0; i < files.length && dxs.length + missed < n; i += step) {
    const stem = files[i].slice(0, -4);
    const imgFile = ['.jpg', '.png'].map((e) => path.join(dir, stem + e)).find((f) => fs.existsSync(f));
    if (!imgFile) continue;
    const pts = Array.from(await readPts(path.join(dir, files[i])));
    const xs = pts.filter((_, k) => k % 2 === 0);
    const ys = pts.filter((_, k) => k % 2 === 1);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const faces = await detectFaces(await decodeImage(imgFile), { minConfidence: 0.3 });
    // The same face-matching rule as 'acr eval --boxes detector'.
    const hit = matchDetection(faces, pts);
    if (!hit) {
      missed++;
      continue;
    }
    const cx = (x0 + x1) / 2;
    const cy = (y0 + y1) / 2;
    const [x, y, w, h] = hit.detectorBox;
    dxs.push((cx - (x + w / 2)) / w);
    dys.push((cy - (y + h / 2)) / h);
    sides.push(Math.max(x1 - x0, y1 - y0) / w);
    // The box the Predictor crops around (calibrated) against the landmarks' box, both squared up
    // by their larger side as the crop does.
    const { dx, dy, side } = DETECTOR_CALIBRATION;
    const gtSide = Math.max(x1 - x0, y1 - y0);
    const detSide = side * w; // detectFaces squares the box on the detector width
    const detCx = x + w / 2 + dx * w;
    const detCy = y + h / 2 + dy * h;
    shifts.push(Math.max(Math.abs(detCx - cx), Math.abs(detCy - cy)) / (detSide * (1 + 2 * MARGIN)));
    zooms.push(gtSide / detSide); // > 1: the detector crop shows the face smaller (as augment.scale > 1 zooms in)
  }
  const q95 = (v: number[]) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(0.95 * v.length))];
  const q = (v: number[], p: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(p * v.length))];
  const out = {
    faces: dxs.length,
    missed,
    dx: quantiles(dxs),
    dy: quantiles(dys),
    side: quantiles(sides),
    // After calibration: what training's jitter must cover (p95 of the larger per-axis shift; zoom's 2.5-97.5 % range).
    jitter: { shiftP95: q95(shifts), zoomP025: q(zooms, 0.025), zoomP975: q(zooms, 0.975), shiftMedian: q(shifts, 0.5), zoomMedian: q(zooms, 0.5) },
  };
  console.log(JSON.stringify(out, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
