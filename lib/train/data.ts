/**
 * What the training loop needs from a dataset, independent of file formats: the un-augmented
 * targets of every face (for fitAsm, Phi and validation NME) and the batches of each epoch.
 */
import type { Batch } from '../data/types';

export interface TrainSet {
  /** Number of faces (rows of `targets`; Batch.indices point into them). */
  readonly length: number;
  readonly numLandmarks: number;
  /** Face ids, for split files and reports. */
  readonly ids: readonly string[];
  /** length x 2L un-augmented network targets (normalised crop coordinates, u = x / size - 0.5). */
  readonly targets: Float32Array;
  /** Rows of `targets` that take part (faces whose image could not be read are left out). */
  readonly usable: readonly number[];
  /** The landmark permutation of a horizontal flip when augmentation may mirror faces, else null. */
  readonly flipPermutation: readonly number[] | null;
  batchesPerEpoch(): number;
  /**
   * The batches of epoch `epoch` from batch `startBatch` on. Order and augmentation must depend
   * only on (seed, epoch, face), so a resumed run sees the batches the uninterrupted run saw.
   */
  epoch(epoch: number, startBatch: number): AsyncIterable<Batch>;
  close?(): Promise<void>;
}

export interface TrainData {
  train: TrainSet;
  val: TrainSet;
  /** One line for logs. */
  summary: string;
}
