/**
 * The experiment matrix of issue 6, as data (the one place that defines it): every run shares the
 * network, input size, schedule, augmentation, batch and validation split; rows differ only in the
 * loss, its ACR settings and the seed of initialisation/order/augmentation/dropout.
 */
import type { LossName } from '../../lib/train/config';

/** Settings shared by every run (flags of `acr train`). */
export const FIXED = Object.freeze({
  data: '../shared/data/300w/train',
  arch: 'mobilenetv2',
  width: 0.5,
  inputSize: 96,
  epochs: 40,
  batchSize: 32,
  lr: 1e-3,
  lrSchedule: 'cosine',
  margin: 0.15,
  valFraction: 0.1,
  /** The split seed: the same validation faces for every run, whatever its --seed. */
  splitSeed: 0,
});

/** Extra seeds of the deciding comparisons (seed 0 is the sweep's own row). */
export const EXTRA_SEEDS = [1, 2] as const;

export type Group = 'loss' | 'lambda' | 'phi' | 'seeds';

export interface Experiment {
  name: string;
  group: Group;
  loss: LossName;
  lambda: number;
  phiMode: 'coordinate' | 'landmark';
  seed: number;
}

const base = (loss: LossName, name = loss): Experiment => ({ name: `${name}-s0`, group: 'loss', loss, lambda: 1, phiMode: 'coordinate', seed: 0 });

/** Seed-0 rows: the six losses, the ACR lambda sweep (lambda 1 is the `acr` row), per-landmark Phi. */
export const SWEEP: readonly Experiment[] = Object.freeze([
  base('acr'),
  base('l2'),
  base('l1'),
  base('smoothl1'),
  base('wing'),
  base('awing'),
  ...[0.5, 2, 4].map((lambda): Experiment => ({ name: `acr-lam${lambda}-s0`, group: 'lambda', loss: 'acr', lambda, phiMode: 'coordinate', seed: 0 })),
  { name: 'acr-landmark-s0', group: 'phi', loss: 'acr', lambda: 1, phiMode: 'landmark', seed: 0 },
]);

/** ACR rows competing for "ACR best" and the non-ACR, non-L2 losses competing for "best other". */
export const ACR_CANDIDATES = SWEEP.filter((e) => e.loss === 'acr').map((e) => e.name);
export const OTHER_CANDIDATES = SWEEP.filter((e) => e.loss !== 'acr' && e.loss !== 'l2').map((e) => e.name);

/** The same row with another seed: `acr-lam2-s0` -> `acr-lam2-s1`. */
export function withSeed(e: Experiment, seed: number): Experiment {
  return { ...e, name: e.name.replace(/-s0$/, `-s${seed}`), group: 'seeds', seed };
}

export interface Matrix {
  experiments: Experiment[];
  /** Seed rows that cannot be named yet, with the reason (their seed-0 candidates are not all done). */
  blocked: string[];
  acrBest: string | null;
  otherBest: string | null;
}

/** Lowest validation NME among `names`, or null until every one has a result. */
function best(names: readonly string[], nme: (name: string) => number | null): string | null {
  let bestName: string | null = null;
  let bestNme = Infinity;
  for (const n of names) {
    const x = nme(n);
    if (x === null) return null;
    if (x < bestNme) [bestName, bestNme] = [n, x];
  }
  return bestName;
}

/**
 * The whole matrix: the seed-0 sweep, then seeds 1 and 2 of L2, of the best ACR row and of the best
 * other loss, once the seed-0 results that choose them exist (`nme` gives a finished row's NME).
 */
export function matrix(nme: (name: string) => number | null): Matrix {
  const experiments = [...SWEEP];
  const blocked: string[] = [];
  const byName = new Map(SWEEP.map((e) => [e.name, e]));
  const acrBest = best(ACR_CANDIDATES, nme);
  const otherBest = best(OTHER_CANDIDATES, nme);
  const deciding: Array<[string, string | null, readonly string[]]> = [
    ['L2', 'l2-s0', []],
    ['ACR best', acrBest, ACR_CANDIDATES],
    ['best other loss', otherBest, OTHER_CANDIDATES],
  ];
  for (const [label, name, candidates] of deciding) {
    if (name === null) {
      blocked.push(`${label} x seeds ${EXTRA_SEEDS.join(', ')}: chosen by validation NME once ${candidates.join(', ')} are all evaluated`);
      continue;
    }
    for (const s of EXTRA_SEEDS) experiments.push(withSeed(byName.get(name)!, s));
  }
  return { experiments, blocked, acrBest, otherBest };
}

/** `acr train` arguments of a row (the run folder and --resume are added by the runner). */
export function trainArgs(e: Experiment, data: string = FIXED.data): string[] {
  const a = [
    '--data', data, '--arch', FIXED.arch, '--width', String(FIXED.width), '--input-size', String(FIXED.inputSize),
    '--epochs', String(FIXED.epochs), '--batch-size', String(FIXED.batchSize), '--lr', String(FIXED.lr),
    '--lr-schedule', FIXED.lrSchedule, '--margin', String(FIXED.margin), '--val-fraction', String(FIXED.valFraction),
    '--split-seed', String(FIXED.splitSeed), '--seed', String(e.seed), '--loss', e.loss,
  ];
  if (e.loss === 'acr') a.push('--lambda', String(e.lambda), '--phi-mode', e.phiMode);
  return a;
}
