/** `acr predict`: landmarks on a photo with an ONNX model, as text or JSON, and an overlay PNG. */
import type { Box } from '../data/types';
import { decodeImage, type ImageInput, loadSharp } from '../data/image';
import { ArgumentError } from '../errors';
import { detectFaces } from '../onnx/detect';
import { writeOverlay } from '../onnx/overlay';
import { type FacePrediction, Predictor } from '../onnx/predictor';
import { pretrainedModelPath } from '../onnx/pretrained';
import { parseCommand, usageText, type OptionTable } from './args';
import type { Command } from './main';

const OPTIONS: OptionTable = {
  box: { kind: 'string', arg: 'x,y,w,h', help: 'Face box in pixels (left, top, width, height)' },
  model: { kind: 'string', arg: 'FILE', help: "ONNX model from 'acr export'", defaultText: 'the model shipped in models/' },
  out: { kind: 'string', arg: 'FILE.png', help: 'Also write the image with the box and landmarks drawn on it' },
  json: { kind: 'boolean', help: 'Print JSON: { image, model, faces: [{ box, score?, landmarks: [[x, y], ...] }] }' },
  flip: { kind: 'boolean', help: 'Demand test-time flip (on by default when the model has a flip permutation; an error when it has none)' },
  'no-flip': { kind: 'boolean', help: 'No test-time flip averaging (half the network time)' },
  refine: { kind: 'integer', arg: 'N', help: 'Rounds of re-cropping on the box of the predicted landmarks (helps with detector boxes; 1 + N times the network time)', defaultText: '0' },
  'min-confidence': { kind: 'number', arg: 'X', help: 'Without --box: the detector\'s minimum score in (0, 1]', defaultText: '0.5' },
};

const SUMMARY =
  'Predicts facial landmarks on a photo (JPEG, PNG, WebP, ...) and prints them in image pixels of\n' +
  'the upright photo (EXIF orientation applied, as viewers show it). Without --box, every face the\n' +
  'optional detector (@vladmandic/face-api) finds is used.';

const usage = usageText('predict <image>', SUMMARY, OPTIONS, 'Exit code 3: no box given and the detector found no face (with --json: an empty face list).');

function parseBox(s: string): Box {
  const v = s.split(',').map((p) => Number(p.trim()));
  if (v.length !== 4 || !v.every(Number.isFinite)) {
    throw new ArgumentError(`--box: expected x,y,w,h (four numbers), got ${JSON.stringify(s)}`);
  }
  return v as Box;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('predict', argv, OPTIONS, ['<image>']);
  const [file] = positionals;
  const box = values.box === undefined ? undefined : parseBox(values.box as string);
  const modelFile = (values.model as string | undefined) ?? pretrainedModelPath();
  const outFile = values.out as string | undefined;
  const minConfidence = (values['min-confidence'] as number | undefined) ?? 0.5;
  if (!(minConfidence > 0 && minConfidence <= 1)) throw new ArgumentError(`--min-confidence: expected a score in (0, 1], got ${minConfidence}`);
  const predictor = await Predictor.load(modelFile);
  try {
    const image = await upright(file);
    if (values.flip && values['no-flip']) throw new ArgumentError('--flip and --no-flip: choose one');
    // Default (undefined): flip averaging when the model has a flip permutation.
    const flip = values.flip ? true : values['no-flip'] ? false : undefined;
    const refine = values.refine as number | undefined;
    if (refine !== undefined && !(refine >= 0 && refine <= 10)) throw new ArgumentError(`--refine: expected a count of rounds in 0..10, got ${refine}`);
    let faces: FacePrediction[];
    if (box) {
      faces = [await predictor.predict(image, { box, flip, refine })];
    } else {
      // The detector runs on tfjs: without this its banner about tfjs-node lands on stderr.
      (await import('@tensorflow/tfjs')).enableProdMode();
      const raw = await decodeImage(image);
      const found = await detectFaces(raw, { minConfidence });
      if (found.length === 0) {
        // Not a failure of the tool: the photo has no face the detector trusts (exit 3, documented).
        if (values.json) console.log(JSON.stringify({ image: file, model: modelFile, faces: [] }));
        else console.error(`acr predict: ${file}: no face found (detector score >= ${minConfidence}); pass its box with --box x,y,w,h or lower --min-confidence`);
        return NO_FACE;
      }
      faces = await predictor.predictBatch(found.map((f) => ({ image: raw, box: f.box })), { flip, refine });
      faces.forEach((f, i) => (f.score = found[i].score));
    }
    if (outFile !== undefined) await writeOverlay(image, faces, outFile);
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
      if (outFile !== undefined) console.log(`overlay written to ${outFile}`);
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

/** Exit status of `acr predict` when the detector finds no face (with --json: an empty face list). */
export const NO_FACE = 3;

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

export const command: Command = {
  name: 'predict',
  summary: 'Predict facial landmarks on a photo with an ONNX model',
  usage,
  run,
};
