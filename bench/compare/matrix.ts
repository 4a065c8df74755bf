/**
 * The loss comparison of issue 11, as data (the one place that defines it): every row shares the
 * network, input, schedule, augmentation, batch, loss scale and validation split of SETTING; rows
 * differ only in the loss (an "arm") and the seed of initialisation, order, augmentation and dropout.
 */
import type { LossName, PhiSourceName } from '../../lib/train/config';
import { withinTwoSe } from './stats';

/** `acr train` flags shared by every row: the accuracy recipe at the cheap size (x0.5 at 96 px). */
export const SETTING = Object.freeze({
  data: '../shared/data/300w/train',
  width: 0.5,
  inputSize: 96,
  epochs: 80,
  warmup: 2,
  batchSize: 32,
  lr: 1e-3,
  lrSchedule: 'cosine',
  margin: 0.15,
  valFraction: 0.1,
  /** The same 202 validation faces for every row, whatever its --seed. */
  splitSeed: 0,
  head: 'gap',
  /** The recipe's box jitter, which covers the package detector's 95th percentile. */
  augScale: '0.75,1.15',
  augShift: 0.08,
  /**
   * The reference's x100. At scale 1 the median per-weight gradient of L2 (~4e-7) is close to tfjs
   * Adam's epsilon (1e-7), which damps L2's steps more than the L1-type losses' (larger gradients):
   * a bias between arms. At x100 epsilon is negligible for every arm.
   */
  lossScale: 100,
});

export interface Arm {
  arm: string;
  loss: LossName;
  label: string;
  lambda?: number;
  phiSource?: PhiSourceName;
}

/** The losses compared. ACR is the paper's form (lambda 1, Phi per coordinate of the un-augmented face). */
export const ARMS: readonly Arm[] = Object.freeze([
  { arm: 'l2', loss: 'l2', label: 'L2' },
  { arm: 'acr', loss: 'acr', label: 'ACR (paper: lambda 1, static Phi)', lambda: 1, phiSource: 'static' },
  { arm: 'acr-shuffled', loss: 'acr', label: 'ACR, Phi shuffled within each face (control: no ASM signal)', lambda: 1, phiSource: 'shuffled' },
  { arm: 'smoothl1', loss: 'smoothl1', label: 'smooth L1 (beta 1 px)' },
  { arm: 'l1', loss: 'l1', label: 'L1' },
  { arm: 'wing', loss: 'wing', label: 'Wing (w 10 px, eps 2 px)' },
  { arm: 'acr-aligned', loss: 'acr', label: 'ACR, Phi of the augmented face under a Procrustes-aligned ASM', lambda: 1, phiSource: 'aligned' },
]);

/** The L1-type arms ACR must beat to be worth its ASM. */
export const L1_TYPE = Object.freeze(['smoothl1', 'l1', 'wing']);

export const BASE_SEEDS = Object.freeze([0, 1, 2]);
/** Seeds added to two arms whose means are within two standard errors of each other. */
export const EXTRA_SEEDS = Object.freeze([3, 4]);

export interface Row extends Arm {
  name: string;
  seed: number;
}

export const rowOf = (a: Arm, seed: number): Row => ({ ...a, name: `${a.arm}-s${seed}`, seed });

/** The base rows, seed-major: every arm's seed 0 first, so a partial matrix already compares all arms. */
export function baseRows(): Row[] {
  return BASE_SEEDS.flatMap((s) => ARMS.map((a) => rowOf(a, s)));
}

/** Pairs whose difference decides a question of the issue (each needs 5 seeds when it is close). */
export const DECIDING_PAIRS: ReadonlyArray<readonly [string, string]> = Object.freeze([
  ['acr', 'l2'],
  ['acr', 'acr-shuffled'],
  ['acr', 'smoothl1'],
  ['acr', 'l1'],
  ['acr', 'wing'],
  ['acr-aligned', 'acr'],
]);

/**
 * Every row: the base rows, then seeds 3 and 4 of both arms of each deciding pair whose means lie
 * within two standard errors of their difference once its base seeds are all scored. `nme(name)`
 * gives a finished row's NME, or null.
 */
export function allRows(nme: (name: string) => number | null): Row[] {
  const rows = baseRows();
  const byArm = new Map(ARMS.map((a) => [a.arm, a]));
  const extra = new Set<string>();
  for (const [a, b] of DECIDING_PAIRS) {
    const xa = BASE_SEEDS.map((s) => nme(`${a}-s${s}`));
    const xb = BASE_SEEDS.map((s) => nme(`${b}-s${s}`));
    if ([...xa, ...xb].some((x) => x === null)) continue;
    if (withinTwoSe(xa as number[], xb as number[])) [a, b].forEach((arm) => extra.add(arm));
  }
  for (const s of EXTRA_SEEDS) for (const a of ARMS) if (extra.has(a.arm)) rows.push(rowOf(byArm.get(a.arm)!, s));
  return rows;
}

/** `acr train` arguments of a row (the run folder, threads and --resume are added by the runner). */
export function trainArgs(r: Row, data: string = SETTING.data): string[] {
  const S = SETTING;
  const a = [
    '--data', data, '--arch', 'mobilenetv2', '--width', String(S.width), '--input-size', String(S.inputSize), '--head', S.head,
    '--epochs', String(S.epochs), '--warmup', String(S.warmup), '--batch-size', String(S.batchSize), '--lr', String(S.lr),
    '--lr-schedule', S.lrSchedule, '--margin', String(S.margin), '--val-fraction', String(S.valFraction),
    '--split-seed', String(S.splitSeed), '--seed', String(r.seed), '--aug-scale', S.augScale, '--aug-shift', String(S.augShift),
    '--loss-scale', String(S.lossScale), '--loss', r.loss,
  ];
  if (r.loss === 'acr') a.push('--lambda', String(r.lambda ?? 1), '--phi-source', r.phiSource ?? 'static');
  return a;
}
