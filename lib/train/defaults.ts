/** The training loop's default dependencies: lib/data, lib/losses + lib/loss, lib/asm, lib/eval. */
import { INTER_OCULAR, nmePerImage } from '../eval';
import { UnsupportedError } from '../errors';
import type { TrainDeps } from './deps';
import { openDataset } from './folder-data';
import { lossFunction } from './loss-fn';

/** Validation NME: inter-ocular where the scheme defines it (68/98/29 points), else the box diagonal. */
export function validationNme(pred: Float32Array, gt: Float32Array, numLandmarks: number): Float64Array {
  return nmePerImage(pred, gt, numLandmarks, INTER_OCULAR[numLandmarks] ? 'inter-ocular' : 'box-diagonal');
}

export function defaultDeps(): TrainDeps {
  const asmMissing = (): never => {
    throw new UnsupportedError('fitAsm is not in this build yet');
  };
  return { openData: openDataset, loss: lossFunction, fitAsm: asmMissing, schedule: asmMissing, nme: validationNme };
}
