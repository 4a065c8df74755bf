/** The training loop's default dependencies: lib/data, lib/losses + lib/loss, lib/asm, lib/eval. */
import { fitAsm, schedule } from '../asm';
import { INTER_OCULAR, nmePerImage } from '../eval';
import type { FittedAsm, TrainDeps } from './deps';
import { openDataset } from './folder-data';
import { lossFunction } from './loss-fn';

/** Validation NME: inter-ocular where the scheme defines it (68/98/29 points), else the box diagonal. */
export function validationNme(pred: Float32Array, gt: Float32Array, numLandmarks: number): Float64Array {
  return nmePerImage(pred, gt, numLandmarks, INTER_OCULAR[numLandmarks] ? 'inter-ocular' : 'box-diagonal');
}

/** The Active Shape Model of the training faces; Phi comes back as float32 like the shapes. */
export function trainAsm(shapes: Float32Array, numLandmarks: number): FittedAsm {
  const model = fitAsm(shapes, { numLandmarks });
  return {
    phi: (s, level, mode) => model.phi(s, level, { mode }) as Float32Array,
    smooth: (s, level) => model.smooth(s, level, { numLandmarks }),
    toJSON: () => model.toJSON(),
  };
}

export function defaultDeps(): TrainDeps {
  return { openData: openDataset, loss: lossFunction, fitAsm: trainAsm, schedule, nme: validationNme };
}
