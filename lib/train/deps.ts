/**
 * The pieces the training loop takes from the rest of the package (dataset reader, losses,
 * Active Shape Model, schedule, metrics), behind one interface so tests and users can swap any.
 */
import type * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from './config';
import type { TrainData } from './data';

/** n x 2L Phi values in [0, 1], one row per training face. */
export type PhiTable = Float32Array;

/** A scalar training loss; `phi` is given for ACR only. */
export type LossFn = (yTrue: tf.Tensor2D, yPred: tf.Tensor2D, phi: tf.Tensor2D | null) => tf.Scalar;

export interface FittedAsm {
  phi(shapes: Float32Array, level: number, mode: TrainConfig['phiMode']): PhiTable;
  /** Smooth-Faces of n x 2L shapes at `level` (n x 2L). */
  smooth(shapes: Float64Array, level: number): ArrayLike<number>;
  toJSON(): unknown;
}

export interface TrainDeps {
  openData(config: TrainConfig): Promise<TrainData>;
  loss(config: TrainConfig): LossFn;
  fitAsm(shapes: Float32Array, numLandmarks: number): FittedAsm;
  /** Variance level for 0-based `epoch` of `total`. */
  schedule(epoch: number, total: number): number;
  /** Per-face NME of predictions vs targets (both n x 2L). */
  nme(pred: Float32Array, gt: Float32Array, numLandmarks: number): ArrayLike<number>;
}
