/** The reference variance schedule of ACR training, scaled to any number of epochs. */
import * as v from '../validate';

/** The reference code's schedule over 150 epochs: level used before each breakpoint epoch. */
export const REFERENCE_EPOCHS = 150;
export const REFERENCE_SCHEDULE: ReadonlyArray<{ readonly before: number; readonly level: number }> = [
  { before: 16, level: 0.8 },
  { before: 31, level: 0.85 },
  { before: 71, level: 0.9 },
  { before: 101, level: 0.95 },
  { before: Infinity, level: 0.97 },
];

/**
 * The ASM variance level for `epoch` (0-based) of `totalEpochs`: 0.80 for epochs 0-15 of 150,
 * 0.85 for 16-30, 0.90 for 31-70, 0.95 for 71-100, 0.97 after; the breakpoints scale with
 * totalEpochs / 150. Early epochs thus smooth hard (only the dominant modes), late ones keep
 * almost every mode.
 */
export function schedule(epoch: number, totalEpochs: number): number {
  const total = v.integer('totalEpochs', totalEpochs, 1, 2 ** 31);
  const e = v.integer('epoch', epoch, 0, total - 1);
  // epoch < before * total / 150, in integers so that 150 epochs reproduce the reference exactly.
  for (const step of REFERENCE_SCHEDULE) if (e * REFERENCE_EPOCHS < step.before * total) return step.level;
  return REFERENCE_SCHEDULE[REFERENCE_SCHEDULE.length - 1].level;
}
