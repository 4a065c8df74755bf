/**
 * The pretrained model shipped in the package (models/), used by `acr predict` when no --model
 * is given: models/<name>.onnx, its tfjs weights in models/<name>/ and models/<name>.md (card).
 */
import * as fs from 'fs';
import * as path from 'path';
import { IoError } from '../errors';

/**
 * File stem of the shipped model: named for the network and the data, not the loss, because the
 * shipped model is whichever row of the loss comparison (docs/results.md) scored best.
 */
export const PRETRAINED_NAME = 'mobilenetv1-300w-68';

/** The models/ folder of this installation (same place from lib/ and from dist/). */
export const MODELS_DIR = path.resolve(__dirname, '..', '..', 'models');

export function pretrainedModelPath(): string {
  const file = path.join(MODELS_DIR, `${PRETRAINED_NAME}.onnx`);
  if (!fs.existsSync(file)) {
    throw new IoError(`no pretrained model in this installation (${file} is missing): pass a model with --model <file.onnx>`);
  }
  return file;
}

/** Folder of the shipped model's tfjs weights (model.json + weights.bin). */
export function pretrainedTfjsDir(): string {
  return path.join(MODELS_DIR, PRETRAINED_NAME);
}
