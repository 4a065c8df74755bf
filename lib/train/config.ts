/**
 * Training configuration: one plain typed object, its defaults in one place (DEFAULT_TRAIN_CONFIG),
 * and one validating resolver the library and the CLI both go through.
 */
import { ArgumentError, ValueRangeError } from '../errors';
import { ARCHITECTURES, HEADS, INITS, type Architecture, type HeadName, type InitName } from '../model';
import * as v from '../validate';

export const LOSS_NAMES = ['acr', 'l2', 'l1', 'smoothl1', 'wing', 'softwing', 'awing'] as const;
export type LossName = (typeof LOSS_NAMES)[number];
export const LR_SCHEDULES = ['cosine', 'step', 'constant'] as const;
export type LrScheduleName = (typeof LR_SCHEDULES)[number];
export const PHI_MODES = ['coordinate', 'landmark'] as const;
export type PhiMode = (typeof PHI_MODES)[number];
export const PHI_SOURCES = ['static', 'aligned', 'shuffled'] as const;
export type PhiSourceName = (typeof PHI_SOURCES)[number];

export interface ExtraSource {
  path: string;
  weight: number;
}

export interface TrainConfig {
  /** Dataset: a 300-W style folder, a WFLW list or a .jsonl file (see lib/data). Split into train / validation. */
  data: string;
  /**
   * Extra training-only datasets (same landmark scheme), each with a sampling weight in (0, 1]:
   * the share of epochs each of its faces takes part in. Never validated on, never split.
   */
  extraData: ExtraSource[];
  /** Run folder: checkpoints, log.jsonl, asm.json, split.json. */
  out: string;
  arch: Architecture;
  /** Square network input in pixels. */
  inputSize: number;
  /** MobileNetV2 width multiplier (tiny: channels / 8). */
  width: number;
  /** Regression head: global average pooling, a global depthwise convolution (gdconv), or PFLD-style multiscale (MobileNetV2 only; lib/model). */
  head: HeadName;
  /**
   * Backbone weights at the start: 'random', or 'face-detector': MobileNetV1 x1.0 from the
   * backbone of face-api's SSD face detector (arch 'mobilenetv1', width 1; lib/model/mobilenetv1.ts).
   */
  init: InitName;
  /**
   * Fine-tuning: a trained model folder (model.json + weights.bin, e.g. RUN/checkpoints/latest
   * or the shipped models/mobilenetv1-300w-68) whose weights replace every weight of the new
   * model, layer by layer name, after `init`. Arch, width, head, input size and landmark count
   * must give the same weight shapes; the optimizer, schedule and dropout are this run's own.
   * '' (default): none.
   */
  initFrom: string;
  dropout: number;
  loss: LossName;
  /**
   * Multiplies the training loss. Targets are normalised crop coordinates, so plain L2/ACR
   * gradients are ~1e-7..1e-6 per weight, near Adam's epsilon (1e-7); the ACR reference code
   * multiplies its loss by 100. Does not change which model is optimal, only Adam's step sizes.
   */
  lossScale: number;
  /** ACR lambda (the weight of the log branch). */
  lambda: number;
  /**
   * Units of ACR's errors: 'normalized' crop coordinates as in the paper (|d| < ~0.1, where
   * ln(1 + a^p) ~ a^p and lambda only rescales the loss), or 'pixels' of the network input (d and
   * the threshold times inputSize: the log bends for errors past ~1 px, so lambda matters).
   */
  acrUnits: 'normalized' | 'pixels';
  /** ACR: Phi raised to at least this value (0: the paper's Phi), so no point is treated as purely L2-like. */
  phiFloor: number;
  /** ACR Phi per coordinate (the paper) or per landmark. */
  phiMode: PhiMode;
  /**
   * Which shape ACR's Phi measures (lib/train/phi.ts): 'static', the un-augmented face; 'aligned',
   * the augmented target under a Procrustes-aligned ASM; 'shuffled', static values shuffled among
   * each face's coordinates (a control with no ASM signal).
   */
  phiSource: PhiSourceName;
  /**
   * How the baseline losses' pixel defaults (wing w=10, eps=2, ...) are read: 'pixels' divides
   * them by inputSize (targets are normalised crop coordinates), 'normalized' uses them as is.
   */
  lossUnits: 'pixels' | 'normalized';
  epochs: number;
  batchSize: number;
  /** Peak learning rate (Adam). */
  lr: number;
  lrSchedule: LrScheduleName;
  /** Cosine: final lr as a fraction of lr. Step: factor applied every lrStepEpochs. */
  lrMinFactor: number;
  lrStepEpochs: number;
  lrStepGamma: number;
  /** Linear warm-up from 0 over this many epochs (fractional allowed). */
  warmupEpochs: number;
  seed: number;
  /** Seed of the train/validation split; null: `seed`. Lets runs of several seeds share one split. */
  splitSeed: number | null;
  /** Share of faces (per source) held out for validation and kept out of fitAsm. */
  valFraction: number;
  /** Online augmentation of the training batches. */
  augment: boolean;
  /** Box jitter of the augmentation: zoom range (> 1 zooms in) and largest shift (fraction of the crop side, per axis). */
  augScale: [number, number];
  augShift: number;
  /** Largest in-plane rotation of the augmentation, degrees. */
  augRotation: number;
  /** Probability of the augmentation's occluding rectangle (0.1-0.4 of the crop side). */
  augOcclusion: number;
  /** Crop margin around the landmarks' box (fraction of its larger side). */
  margin: number;
  /** Use only the first N faces (0 = all): smoke runs. */
  limit: number;
  /** Also write the latest checkpoint every N steps (0 = only at epoch ends). */
  checkpointEvery: number;
  /** Batches prepared ahead of the training step. */
  prefetch: number;
  /** Worker threads decoding and augmenting batches (0: on the main thread, overlapped with async decode). */
  workers: number;
  /** A face whose image cannot be read: stop with an error, or skip it with a warning and count it. */
  onBadData: 'error' | 'skip';
  /** Progress bar on stderr. */
  progress: boolean;
  /** Continue from out/checkpoints/latest when it exists. */
  resume: boolean;
  /**
   * Start over in a run folder that already holds a run (its checkpoints, log, eval, split are
   * deleted). Without it (and without resume) such a folder is refused.
   */
  force: boolean;
  /** Stop (as if interrupted) after this many optimizer steps in this process (0 = never): tests. */
  stopAfterSteps: number;
}

/**
 * Training limits checked up front, so a typo fails in milliseconds with the flag's name instead
 * of deep inside tfjs after the data is loaded: a batch of 32 at 1024 px already needs ~6 GB of
 * activations for MobileNetV2 x1.0; widths beyond 4 are far outside what the architecture was made for.
 */
export const MAX_INPUT_SIZE = 1024;
export const MAX_WIDTH = 4;

export const DEFAULT_TRAIN_CONFIG: Readonly<TrainConfig> = Object.freeze({
  data: '',
  extraData: [],
  out: 'runs/default',
  arch: 'mobilenetv2',
  inputSize: 224,
  width: 1.0,
  head: 'gap',
  init: 'random',
  initFrom: '',
  dropout: 0.2,
  loss: 'acr',
  lossScale: 1,
  lambda: 1,
  acrUnits: 'normalized',
  phiFloor: 0,
  phiMode: 'coordinate',
  phiSource: 'static',
  lossUnits: 'pixels',
  epochs: 60,
  batchSize: 32,
  lr: 1e-3,
  lrSchedule: 'cosine',
  lrMinFactor: 0.01,
  lrStepEpochs: 20,
  lrStepGamma: 0.1,
  warmupEpochs: 0,
  seed: 0,
  splitSeed: null,
  valFraction: 0.1,
  augment: true,
  augScale: [0.9, 1.1],
  augShift: 0.05,
  augRotation: 30,
  augOcclusion: 0.3,
  margin: 0.15,
  limit: 0,
  checkpointEvery: 0,
  prefetch: 2,
  workers: 1,
  onBadData: 'error',
  progress: true,
  resume: false,
  force: false,
  stopAfterSteps: 0,
} satisfies TrainConfig);

/** Merges `partial` over the defaults and validates every field (typed errors naming the field). */
export function resolveTrainConfig(partial?: Partial<TrainConfig>): TrainConfig {
  const p = v.options<TrainConfig>('config', partial);
  for (const k of Object.keys(p)) {
    if (!(k in DEFAULT_TRAIN_CONFIG)) throw new ArgumentError(`config.${k}: unknown option`);
  }
  const c: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...p };
  if (typeof c.data !== 'string') throw new ArgumentError(`config.data: expected a path, got ${v.describe(c.data)}`);
  if (!Array.isArray(c.extraData)) throw new ArgumentError(`config.extraData: expected an array of { path, weight }, got ${v.describe(c.extraData)}`);
  c.extraData.forEach((e, i) => {
    if (e === null || typeof e !== 'object' || typeof e.path !== 'string' || e.path === '') {
      throw new ArgumentError(`config.extraData[${i}]: expected { path: string, weight: number }, got ${v.describe(e)}`);
    }
    const w = v.finiteNumber(`config.extraData[${i}].weight`, e.weight);
    if (!(w > 0 && w <= 1)) throw new ValueRangeError(`config.extraData[${i}].weight: expected a share of epochs in (0, 1], got ${w}`);
  });
  if (typeof c.out !== 'string' || c.out === '') throw new ArgumentError(`config.out: expected a folder path, got ${v.describe(c.out)}`);
  v.oneOf('config.arch', c.arch, ARCHITECTURES);
  v.integer('config.inputSize', c.inputSize, c.arch === 'tiny' ? 8 : 32, MAX_INPUT_SIZE);
  const w = v.positiveNumber('config.width', c.width);
  if (w > MAX_WIDTH) throw new ValueRangeError(`config.width: expected a width multiplier in (0, ${MAX_WIDTH}], got ${w}`);
  v.oneOf('config.head', c.head, HEADS);
  if (c.head === 'multiscale' && c.arch !== 'mobilenetv2') throw new ArgumentError(`config.head: 'multiscale' needs arch 'mobilenetv2', got '${c.arch}'`);
  if (c.head !== 'gap' && c.arch === 'tiny') throw new ArgumentError(`config.head: '${c.head}' needs arch 'mobilenetv2' or 'mobilenetv1', got 'tiny'`);
  v.oneOf('config.init', c.init, INITS);
  if (c.init === 'face-detector' && (c.arch !== 'mobilenetv1' || c.width !== 1)) {
    throw new ArgumentError(`config.init: 'face-detector' needs arch 'mobilenetv1' with width 1, got '${c.arch}' width ${c.width}`);
  }
  if (typeof c.initFrom !== 'string') throw new ArgumentError(`config.initFrom: expected a model folder path or '', got ${v.describe(c.initFrom)}`);
  v.positiveNumber('config.lossScale', c.lossScale);
  const d = v.finiteNumber('config.dropout', c.dropout);
  if (!(d >= 0 && d < 1)) throw new ValueRangeError(`config.dropout: expected a rate in [0, 1), got ${d}`);
  v.oneOf('config.loss', c.loss, LOSS_NAMES);
  v.positiveNumber('config.lambda', c.lambda);
  v.oneOf('config.acrUnits', c.acrUnits, ['normalized', 'pixels'] as const);
  const floor = v.finiteNumber('config.phiFloor', c.phiFloor);
  if (!(floor >= 0 && floor <= 1)) throw new ValueRangeError(`config.phiFloor: expected a value in [0, 1], got ${floor}`);
  v.oneOf('config.phiMode', c.phiMode, PHI_MODES);
  v.oneOf('config.phiSource', c.phiSource, PHI_SOURCES);
  v.oneOf('config.lossUnits', c.lossUnits, ['pixels', 'normalized'] as const);
  v.integer('config.epochs', c.epochs, 1, 1e6);
  v.integer('config.batchSize', c.batchSize, 1, 1e5);
  v.positiveNumber('config.lr', c.lr);
  v.oneOf('config.lrSchedule', c.lrSchedule, LR_SCHEDULES);
  const mf = v.nonNegativeNumber('config.lrMinFactor', c.lrMinFactor);
  if (mf > 1) throw new ValueRangeError(`config.lrMinFactor: expected a fraction in [0, 1], got ${mf}`);
  v.integer('config.lrStepEpochs', c.lrStepEpochs, 1, 1e6);
  v.positiveNumber('config.lrStepGamma', c.lrStepGamma);
  v.nonNegativeNumber('config.warmupEpochs', c.warmupEpochs);
  v.integer('config.seed', c.seed, 0, 2 ** 31 - 1);
  if (c.splitSeed !== null) v.integer('config.splitSeed', c.splitSeed, 0, 2 ** 31 - 1);
  const vf = v.nonNegativeNumber('config.valFraction', c.valFraction);
  if (!(vf < 1)) throw new ValueRangeError(`config.valFraction: expected a fraction in [0, 1), got ${vf}`);
  if (typeof c.augment !== 'boolean') throw new ArgumentError(`config.augment: expected a boolean, got ${v.describe(c.augment)}`);
  if (!Array.isArray(c.augScale) || c.augScale.length !== 2 || !c.augScale.every((x) => Number.isFinite(x) && x > 0) || c.augScale[0] > c.augScale[1]) {
    throw new ArgumentError(`config.augScale: expected [min, max] zoom factors with 0 < min <= max, got ${v.describe(c.augScale)}`);
  }
  const shift = v.nonNegativeNumber('config.augShift', c.augShift);
  if (shift > 0.5) throw new ValueRangeError(`config.augShift: expected a fraction of the crop side in [0, 0.5], got ${shift}`);
  const rot = v.nonNegativeNumber('config.augRotation', c.augRotation);
  if (rot > 180) throw new ValueRangeError(`config.augRotation: expected degrees in [0, 180], got ${rot}`);
  const occ = v.nonNegativeNumber('config.augOcclusion', c.augOcclusion);
  if (occ > 1) throw new ValueRangeError(`config.augOcclusion: expected a probability in [0, 1], got ${occ}`);
  v.nonNegativeNumber('config.margin', c.margin);
  v.integer('config.limit', c.limit, 0, 1e9);
  v.integer('config.checkpointEvery', c.checkpointEvery, 0, 1e9);
  v.integer('config.prefetch', c.prefetch, 1, 64);
  v.integer('config.workers', c.workers, 0, 64);
  v.oneOf('config.onBadData', c.onBadData, ['error', 'skip'] as const);
  if (typeof c.progress !== 'boolean') throw new ArgumentError(`config.progress: expected a boolean, got ${v.describe(c.progress)}`);
  if (typeof c.resume !== 'boolean') throw new ArgumentError(`config.resume: expected a boolean, got ${v.describe(c.resume)}`);
  if (typeof c.force !== 'boolean') throw new ArgumentError(`config.force: expected a boolean, got ${v.describe(c.force)}`);
  if (c.resume && c.force) throw new ArgumentError('config.force: cannot be combined with config.resume (continue the run, or start it over: not both)');
  v.integer('config.stopAfterSteps', c.stopAfterSteps, 0, 1e12);
  return c;
}

/** Fields that must match between a checkpoint and a resumed run (the rest may change, e.g. epochs). */
export const RESUME_INVARIANT: ReadonlyArray<keyof TrainConfig> = [
  'arch', 'inputSize', 'width', 'head', 'init', 'initFrom', 'dropout', 'loss', 'lossScale', 'lambda', 'acrUnits', 'phiFloor', 'phiMode', 'phiSource', 'lossUnits', 'batchSize', 'seed', 'splitSeed', 'valFraction', 'margin', 'limit', 'augment',
  'augScale', 'augShift', 'augRotation', 'augOcclusion', 'extraData',
];
