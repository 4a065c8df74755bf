/** `acr predict`: landmarks on a photo with an ONNX model, as text or JSON, and an overlay PNG. */
import { parseArgs } from 'util';
import type { Box } from '../data/types';
import { decodeImage, type ImageInput, loadSharp } from '../data/image';
import { ArgumentError, ValueRangeError } from '../errors';
import { detectFaces } from '../onnx/detect';
import { writeOverlay } from '../onnx/overlay';
import { type FacePrediction, Predictor } from '../onnx/predictor';
import { pretrainedModelPath } from '../onnx/pretrained';
import type { Command } from './main';

const usage = `Usage: acr predict <image> [options]

Predicts facial landmarks on a photo (JPEG, PNG, WebP, ...) and prints them in image pixels of
the upright photo (EXIF orientation applied, as viewers show it). Without --box, every face the
optional detector (@vladmandic/face-api) finds is used.

Options:
  --box x,y,w,h     face box in pixels (left, top, width, height)
  --model <file>    ONNX model from 'acr export' (default: the model shipped in models/)
  --out <file.png>  also write the image with the box and landmarks drawn on it
  --json            print JSON: { image, model, faces: [{ box, score?, landmarks: [[x, y], ...] }] }
  --flip            average with the prediction on the mirrored face (test-time flip)
  -h, --help        show this help

Exit codes: 0 success, 1 failure (unreadable model or image, ...), 2 bad usage.`;

function parseBox(s: string): Box {
  const v = s.split(',').map((p) => Number(p.trim()));
  if (v.length !== 4 || !v.every(Number.isFinite)) {
    throw new ArgumentError(`--box: expected x,y,w,h (four numbers), got ${JSON.stringify(s)}`);
  }
  return v as Box;
}

async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        box: { type: 'string' },
        model: { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean' },
        flip: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new ArgumentError(`${(err as Error).message}\n\n${usage}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new ArgumentError(`expected one image, got ${positionals.length}\n\n${usage}`);
  const file = positionals[0];
  const box = values.box === undefined ? undefined : parseBox(values.box);
  const modelFile = values.model ?? pretrainedModelPath();
  const predictor = await Predictor.load(modelFile);
  try {
    const image = await upright(file);
    const flip = values.flip === true;
    let faces: FacePrediction[];
    if (box) {
      faces = [await predictor.predict(image, { box, flip })];
    } else {
      // The detector runs on tfjs: without this its banner about tfjs-node lands on stderr.
      (await import('@tensorflow/tfjs')).enableProdMode();
      const raw = await decodeImage(image);
      const found = await detectFaces(raw);
      if (found.length === 0) throw new ValueRangeError(`${file}: no face found; pass its box with --box x,y,w,h`);
      faces = await predictor.predictBatch(found.map((f) => ({ image: raw, box: f.box })), { flip });
      faces.forEach((f, i) => (f.score = found[i].score));
    }
    if (values.out !== undefined) await writeOverlay(image, faces, values.out);
    const points = (f: FacePrediction): Array<[number, number]> =>
      Array.from({ length: f.landmarks.length / 2 }, (_, i) => [round(f.landmarks[2 * i]), round(f.landmarks[2 * i + 1])]);
    if (values.json) {
      const out = faces.map((f) => ({ box: f.box.map(round), ...(f.score !== undefined ? { score: round(f.score) } : {}), landmarks: points(f) }));
      console.log(JSON.stringify({ image: file, model: modelFile, faces: out }));
    } else {
      for (const f of faces) {
        const score = f.score !== undefined ? ` (detector score ${round(f.score)})` : '';
        console.log(`${file}: face box ${f.box.map(round).join(',')}${score}, ${f.landmarks.length / 2} landmarks (x y in pixels):`);
        for (const [x, y] of points(f)) console.log(`${x} ${y}`);
      }
      if (values.out !== undefined) console.log(`overlay written to ${values.out}`);
    }
  } finally {
    await predictor.dispose();
  }
  return 0;
}

/**
 * Camera photos often store their pixels sideways with an EXIF orientation tag; boxes and points
 * refer to the photo as viewers show it, so such a photo is turned upright first.
 */
async function upright(file: string): Promise<ImageInput> {
  let orientation: number | undefined;
  try {
    orientation = (await loadSharp()(file).metadata()).orientation;
  } catch {
    return file; // not an image: decodeImage says so with a typed error
  }
  return orientation === undefined || orientation === 1 ? file : loadSharp()(file).rotate().png().toBuffer();
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

export const command: Command = {
  name: 'predict',
  summary: 'Predict facial landmarks on a photo with an ONNX model',
  usage,
  run,
};
