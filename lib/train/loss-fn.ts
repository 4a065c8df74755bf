/**
 * The training loss by name. Network targets are normalised crop coordinates (a pixel of the
 * crop is 1 / inputSize). ACR works on them directly, as the paper (acrUnits 'pixels' scales
 * them to input pixels first; phiFloor raises Phi). The baselines' defaults come
 * from papers that measured pixels: with lossUnits 'pixels' their length parameters are divided
 * by inputSize (the conversion lib/losses documents), so they keep the shape they had there;
 * with 'normalized' the defaults are used as they are. L1/L2 have no parameters; Adaptive Wing's
 * parameters are heatmap-intensity units and are always used as they are.
 */
import * as tf from '@tensorflow/tfjs';
import { acrLoss } from '../loss';
import { adaptiveWingLoss, l1Loss, l2Loss, smoothL1Loss, softWingLoss, wingLoss } from '../losses';
import { ArgumentError } from '../errors';
import type { TrainConfig } from './config';
import type { LossFn } from './deps';

type LossConfig = Pick<TrainConfig, 'loss' | 'lambda' | 'lossUnits' | 'inputSize'> & Partial<Pick<TrainConfig, 'lossScale' | 'acrUnits' | 'phiFloor'>>;

export function lossFunction(config: LossConfig): LossFn {
  const base = unscaledLoss(config);
  const scale = config.lossScale ?? 1;
  return scale === 1 ? base : (y, p, phi) => tf.mul(base(y, p, phi), scale) as tf.Scalar;
}

function unscaledLoss(config: LossConfig): LossFn {
  const k = config.lossUnits === 'pixels' ? 1 / config.inputSize : 1;
  switch (config.loss) {
    case 'acr':
      return (y, p, phi) => {
        if (!phi) throw new ArgumentError('acr loss: phi is required');
        const opts = { lambda: config.lambda, phiFloor: config.phiFloor ?? 0 };
        if (config.acrUnits !== 'pixels') return acrLoss(y, p, phi, opts) as tf.Scalar;
        // Errors and the L2 switch (threshold 1 = the whole crop) both in input pixels.
        const S = config.inputSize;
        return acrLoss(tf.mul(y, S), tf.mul(p, S), phi, { ...opts, threshold: S }) as tf.Scalar;
      };
    case 'l2':
      return (y, p) => l2Loss(y, p) as tf.Scalar;
    case 'l1':
      return (y, p) => l1Loss(y, p) as tf.Scalar;
    case 'smoothl1':
      return (y, p) => smoothL1Loss(y, p, { beta: 1 * k }) as tf.Scalar;
    case 'wing':
      return (y, p) => wingLoss(y, p, { w: 10 * k, epsilon: 2 * k }) as tf.Scalar;
    case 'softwing':
      return (y, p) => softWingLoss(y, p, { w1: 2 * k, w2: 20 * k, epsilon: 0.5 * k }) as tf.Scalar;
    case 'awing':
      return (y, p) => adaptiveWingLoss(y, p) as tf.Scalar;
  }
}
