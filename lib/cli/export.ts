/** `acr export`: a saved tfjs model folder (or training checkpoint) to an ONNX file. */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs';
import { flipPermutation, type FlipScheme } from '../data/flip';
import { DEFAULT_MARGIN } from '../data/image';
import { ArgumentError } from '../errors';
import { exportOnnx, type ExportOptions } from '../onnx/export';
import { loadModel } from '../tfjs/io';
import type { Command } from './main';

const usage = `Usage: acr export <tfjs-model-dir> <out.onnx> [options]

Writes a tfjs model folder (model.json + weights, e.g. a training checkpoint) as an ONNX model
(opset 13, input 'image' [N, H, W, 3], output 'landmarks' [N, 2L]) with the metadata that
'acr predict' and other consumers need. Settings of the training run are read from the folder's
state.json when it has one; the options below override them.

Options:
  --flip <scheme>   flip permutation for test-time flip: ibug68, wflw98, cofw29, none,
                    or a JSON array (default: the built-in one for 68, 98 or 29 landmarks)
  --margin <m>      crop margin the model was trained with (default ${DEFAULT_MARGIN})
  --loss <text>     training loss, for the metadata (e.g. "acr lambda=1")
  --data <text>     training data, for the metadata (e.g. "300-W train")
  -h, --help        show this help

Exit codes: 0 success, 1 failure, 2 bad usage.`;

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
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        flip: { type: 'string' },
        margin: { type: 'string' },
        loss: { type: 'string' },
        data: { type: 'string' },
      },
    });
  } catch (err) {
    throw new ArgumentError(`${(err as Error).message}\n\n${usage}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 2) {
    throw new ArgumentError(`expected <tfjs-model-dir> <out.onnx>, got ${positionals.length} arguments\n\n${usage}`);
  }
  const [dir, out] = positionals;
  const margin = values.margin === undefined ? undefined : Number(values.margin);
  if (margin !== undefined && !(Number.isFinite(margin) && margin >= 0)) {
    throw new ArgumentError(`--margin: expected a number >= 0, got ${JSON.stringify(values.margin)}`);
  }
  tf.enableProdMode();
  const model = await loadModel(dir);
  try {
    const outDim = model.outputs[0]?.shape[1];
    const numLandmarks = typeof outDim === 'number' ? outDim / 2 : 0;
    const trained = trainingSettings(dir);
    const options: ExportOptions = {
      cropMargin: margin ?? trained.margin ?? DEFAULT_MARGIN,
      flipPermutation: values.flip !== undefined ? parseFlip(values.flip, numLandmarks) : (flipPermutation(numLandmarks) ?? []),
      loss: values.loss ?? trained.loss ?? '',
      data: values.data ?? trained.data ?? '',
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
