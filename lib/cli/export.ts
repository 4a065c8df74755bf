/** `acr export`: a saved tfjs model folder (or training checkpoint) to an ONNX file. */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { flipPermutation, type FlipScheme } from '../data/flip';
import { DEFAULT_MARGIN } from '../data/image';
import { ArgumentError } from '../errors';
import { exportOnnx, type ExportOptions } from '../onnx/export';
import { loadModel } from '../tfjs/io';
import { parseCommand, usageText, type OptionTable } from './args';
import type { Command } from './main';

const OPTIONS: OptionTable = {
  flip: {
    kind: 'string',
    arg: 'SCHEME',
    help: 'Flip permutation for test-time flip: ibug68, wflw98, cofw29, none, or a JSON array',
    defaultText: 'the built-in one for 68, 98 or 29 landmarks',
  },
  margin: { kind: 'number', arg: 'M', help: 'Crop margin the model was trained with', defaultText: `the run's, else ${DEFAULT_MARGIN}` },
  loss: { kind: 'string', arg: 'TEXT', help: 'Training loss, for the metadata (e.g. "acr lambda=1")' },
  data: { kind: 'string', arg: 'TEXT', help: 'Training data, for the metadata (e.g. "300-W train")' },
  float16: { kind: 'boolean', help: 'Store the weights as float16 (half the file; outputs within ~1e-3 of float32)' },
};

const SUMMARY =
  'Writes a tfjs model folder (model.json + weights, e.g. a training checkpoint) as an ONNX model\n' +
  "(opset 13, input 'image' [N, H, W, 3], output 'landmarks' [N, 2L]) with the metadata that\n" +
  "'acr predict' and other consumers need. Settings of the training run are read from the folder's\n" +
  'state.json when it has one; the options below override them.';

const usage = usageText('export <tfjs-model-dir> <out.onnx>', SUMMARY, OPTIONS);

/** What a training checkpoint's state.json says about the run, when the folder has one. */
function trainingSettings(dir: string): { margin?: number; loss?: string; data?: string } {
  const file = path.join(dir, 'state.json');
  if (!fs.existsSync(file)) return {};
  let config: Record<string, unknown> | undefined;
  try {
    config = JSON.parse(fs.readFileSync(file, 'utf8'))?.config;
  } catch {
    return {};
  }
  if (!config || typeof config !== 'object') return {};
  const out: { margin?: number; loss?: string; data?: string } = {};
  if (typeof config.margin === 'number') out.margin = config.margin;
  if (typeof config.loss === 'string') {
    out.loss = config.loss + (config.loss === 'acr' && typeof config.lambda === 'number' ? ` lambda=${config.lambda}` : '');
  }
  // The last two path components name the data set without leaking the trainer's folders.
  if (typeof config.data === 'string' && config.data !== '') out.data = config.data.split(/[\\/]+/).filter(Boolean).slice(-2).join('/');
  return out;
}

/** --flip: a scheme name, 'none' or a JSON array; a value that does not fit is a usage error. */
function parseFlip(spec: string, numLandmarks: number): number[] {
  if (spec === 'none') return [];
  try {
    const value = spec.trim().startsWith('[') ? (JSON.parse(spec) as number[]) : (spec as FlipScheme);
    return flipPermutation(value, numLandmarks) ?? [];
  } catch (err) {
    throw new ArgumentError(`--flip: ${(err as Error).message}`);
  }
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('export', argv, OPTIONS, ['<tfjs-model-dir>', '<out.onnx>']);
  const [dir, out] = positionals;
  const margin = values.margin as number | undefined;
  if (margin !== undefined && !(margin >= 0)) throw new ArgumentError(`--margin: expected a number >= 0, got ${margin}`);
  const flip = values.flip as string | undefined;
  const loss = values.loss as string | undefined;
  const data = values.data as string | undefined;
  tf.enableProdMode();
  const model = await loadModel(dir);
  try {
    const outDim = model.outputs[0]?.shape[1];
    const numLandmarks = typeof outDim === 'number' ? outDim / 2 : 0;
    const trained = trainingSettings(dir);
    const options: ExportOptions = {
      cropMargin: margin ?? trained.margin ?? DEFAULT_MARGIN,
      flipPermutation: flip !== undefined ? parseFlip(flip, numLandmarks) : (flipPermutation(numLandmarks) ?? []),
      loss: loss ?? trained.loss ?? '',
      data: data ?? trained.data ?? '',
      float16Weights: values.float16 === true,
    };
    const bytes = await exportOnnx(model, out, options);
    console.log(`${out}: ${(bytes / 1e6).toFixed(2)} MB, ${numLandmarks} landmarks, input ${model.inputs[0].shape.slice(1).join('x')}`);
  } finally {
    model.dispose();
  }
  return 0;
}

export const command: Command = {
  name: 'export',
  summary: 'Write a trained tfjs model (e.g. a checkpoint) as an ONNX model',
  usage,
  run,
};
