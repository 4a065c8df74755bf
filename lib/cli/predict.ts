/** `acr predict`: landmarks on a photo with an ONNX model, as text or JSON, and an overlay PNG. */
import { parseArgs } from 'util';
import type { Box } from '../data/types';
import { ArgumentError } from '../errors';
import { writeOverlay } from '../onnx/overlay';
import { Predictor } from '../onnx/predictor';
import { pretrainedModelPath } from '../onnx/pretrained';
import type { Command } from './main';

const usage = `Usage: acr predict <image> [options]

Predicts facial landmarks on a photo (JPEG, PNG, WebP, ...) and prints them in image pixels.

Options:
  --box x,y,w,h     face box in pixels (left, top, width, height)
  --model <file>    ONNX model from 'acr export' (default: the model shipped in models/)
  --out <file.png>  also write the image with the box and landmarks drawn on it
  --json            print JSON: { image, model, box, landmarks: [[x, y], ...] }
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
  const image = positionals[0];
  const box = values.box === undefined ? undefined : parseBox(values.box);
  const modelFile = values.model ?? pretrainedModelPath();
  const predictor = await Predictor.load(modelFile);
  try {
    const face = await predictor.predict(image, { box, flip: values.flip === true });
    const points: Array<[number, number]> = [];
    for (let k = 0; k < face.landmarks.length; k += 2) points.push([face.landmarks[k], face.landmarks[k + 1]]);
    if (values.out !== undefined) await writeOverlay(image, [face], values.out);
    if (values.json) {
      console.log(JSON.stringify({ image, model: modelFile, box: face.box, landmarks: points.map(([x, y]) => [round(x), round(y)]) }));
    } else {
      console.log(`${image}: ${points.length} landmarks (x y in pixels), face box ${face.box.map(round).join(',')}`);
      for (const [x, y] of points) console.log(`${round(x)} ${round(y)}`);
      if (values.out !== undefined) console.log(`overlay written to ${values.out}`);
    }
  } finally {
    await predictor.dispose();
  }
  return 0;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

export const command: Command = {
  name: 'predict',
  summary: 'predict facial landmarks on a photo with an ONNX model',
  usage,
  run,
};
