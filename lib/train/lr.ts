/** Learning-rate schedules as pure functions of the optimizer step, so a resumed run gets the same lr. */
import type { TrainConfig } from './config';

export type LrConfig = Pick<TrainConfig, 'lr' | 'lrSchedule' | 'lrMinFactor' | 'lrStepEpochs' | 'lrStepGamma' | 'warmupEpochs' | 'epochs'>;

/** The learning rate for 0-based optimizer step `step` of a run with `stepsPerEpoch` steps per epoch. */
export function learningRate(c: LrConfig, step: number, stepsPerEpoch: number): number {
  const total = c.epochs * stepsPerEpoch;
  const warmup = Math.round(c.warmupEpochs * stepsPerEpoch);
  if (step < warmup) return (c.lr * (step + 1)) / warmup;
  switch (c.lrSchedule) {
    case 'constant':
      return c.lr;
    case 'step':
      return c.lr * Math.pow(c.lrStepGamma, Math.floor(step / stepsPerEpoch / c.lrStepEpochs));
    case 'cosine': {
      const span = Math.max(1, total - warmup - 1);
      const t = Math.min(1, (step - warmup) / span);
      const min = c.lr * c.lrMinFactor;
      return min + 0.5 * (c.lr - min) * (1 + Math.cos(Math.PI * t));
    }
  }
}
