/**
 * The training step the benchmarks time, on the package's own MobileNetV2 (lib/model) set up as
 * the libtorch peer (bench/libtorch) builds it: no dropout, BatchNorm momentum 0.999, MSE loss,
 * Adam. Also the forward multiply-accumulate count, for GFLOP/s.
 */
import * as tf from '@tensorflow/tfjs';
import { mobileNetV2 } from '../lib/model';

export interface BenchModelSpec {
  inputSize: number;
  width: number;
  /** Regression outputs (2 x landmarks; default 136). */
  outputs?: number;
  seed?: number;
}

export function benchModel(spec: BenchModelSpec): tf.LayersModel {
  const outputs = spec.outputs ?? 136;
  if (outputs % 2 !== 0) throw new Error(`outputs: expected an even count (2 per landmark), got ${outputs}`);
  return mobileNetV2({ inputSize: spec.inputSize, width: spec.width, numLandmarks: outputs / 2, dropout: 0, bnMomentum: 0.999, seed: spec.seed ?? 0 });
}

/** One training step: forward in training mode, MSE, gradients, Adam update. Returns the loss. */
export function trainStep(model: tf.LayersModel, opt: tf.Optimizer, x: tf.Tensor, y: tf.Tensor): number {
  const loss = opt.minimize(() => tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true);
  const v = loss!.dataSync()[0];
  loss!.dispose();
  return v;
}

/** Multiply-accumulates of one forward pass (convolutions and dense), for GFLOP/s. */
export function forwardMacs(model: tf.LayersModel): number {
  let macs = 0;
  for (const layer of model.layers) {
    const out = layer.outputShape as number[];
    const cls = layer.getClassName();
    if (cls === 'Conv2D') {
      const w = layer.getWeights()[0].shape as number[];
      macs += out[1] * out[2] * out[3] * w[0] * w[1] * w[2];
    } else if (cls === 'DepthwiseConv2D') {
      const w = layer.getWeights()[0].shape as number[];
      macs += out[1] * out[2] * out[3] * w[0] * w[1];
    } else if (cls === 'Dense') {
      macs += (layer.getConfig().units as number) * (layer.getWeights()[0].shape[0] as number);
    }
  }
  return macs;
}
