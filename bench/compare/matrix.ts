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
  acrUnits?: 'normalized' | 'pixels';
  phiFloor?: number;
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

/**
 * Forms of ACR that keep its idea, run (seeds 0-2) only when the paper's form does not beat the
 * best L1-type arm: on input-pixel errors, where the log bends and lambda matters, and with a
 * Phi floor, so that no point is trained purely L2-like.
 */
export const VARIANTS: readonly Arm[] = Object.freeze([
  { arm: 'acr-px', loss: 'acr', label: 'ACR on input-pixel errors (log past ~1 px), lambda 1', lambda: 1, phiSource: 'static', acrUnits: 'pixels' },
  { arm: 'acr-floor', loss: 'acr', label: 'ACR with Phi >= 0.5 (every point at least a^1.5 below the switch)', lambda: 1, phiSource: 'static', phiFloor: 0.5 },
]);

/** Every arm, base and variant. */
export const ALL_ARMS: readonly Arm[] = Object.freeze([...ARMS, ...VARIANTS]);

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
 * Every row: the base rows; seeds 3 and 4 of both arms of each deciding pair whose means lie within
 * two standard errors of their difference once its base seeds are all scored; and the ACR variants
 * once ACR's base seeds score no better than the best L1-type arm's. `nme(name)` gives a finished
 * row's NME, or null.
 */
export function allRows(nme: (name: string) => number | null): Row[] {
  const rows = baseRows();
  const seeds = (arm: string): number[] | null => {
    const xs = BASE_SEEDS.map((s) => nme(`${arm}-s${s}`));
    return xs.some((x) => x === null) ? null : (xs as number[]);
  };
  const extra = new Set<string>();
  for (const [a, b] of DECIDING_PAIRS) {
    const [xa, xb] = [seeds(a), seeds(b)];
    if (xa && xb && withinTwoSe(xa, xb)) [a, b].forEach((arm) => extra.add(arm));
  }
  const acr = seeds('acr');
  const l1Type = L1_TYPE.map(seeds);
  if (acr && l1Type.every((x) => x !== null)) {
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    if (mean(acr) >= Math.min(...(l1Type as number[][]).map(mean))) rows.push(...BASE_SEEDS.flatMap((s) => VARIANTS.map((v) => rowOf(v, s))));
  }
  for (const s of EXTRA_SEEDS) for (const a of ARMS) if (extra.has(a.arm)) rows.push(rowOf(a, s));
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
  if (r.acrUnits) a.push('--acr-units', r.acrUnits);
  if (r.phiFloor !== undefined) a.push('--phi-floor', String(r.phiFloor));
  return a;
}
