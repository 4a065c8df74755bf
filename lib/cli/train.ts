/** `acr train`: flags -> TrainConfig -> train(); SIGINT finishes the step, writes the checkpoint, exits 130. */
import { AcrError, ArgumentError } from '../errors';
import { ARCHITECTURES, HEADS, INITS } from '../model';
import { DEFAULT_TRAIN_CONFIG as D, LOSS_NAMES, LR_SCHEDULES, PHI_MODES, PHI_SOURCES, resolveTrainConfig, type TrainConfig } from '../train/config';
import { train } from '../train/loop';
import { parseOptions, usageText, type OptionTable, type ParsedValues } from './args';
import type { Command } from './main';

const OPTIONS: OptionTable = {
  data: { kind: 'string', arg: 'PATH', help: 'Dataset: 300-W style folder (.pts + images), WFLW list or .jsonl', required: true },
  'extra-data': { kind: 'string', arg: 'PATH[@W],...', help: 'Extra training-only datasets, each used in a share W in (0, 1] of the epochs (default 1); never validated on' },
  out: { kind: 'string', arg: 'DIR', help: 'Run folder: checkpoints/, log.jsonl, config.json, asm.json', defaultText: D.out },
  resume: { kind: 'boolean', help: 'Continue from OUT/checkpoints/latest when it exists (same settings and data required)' },
  force: { kind: 'boolean', help: 'Start over in an OUT that already holds a run (deletes its checkpoints, log, eval and split)' },
  loss: { kind: 'string', help: 'Training loss', choices: LOSS_NAMES, defaultText: D.loss },
  lambda: { kind: 'number', arg: 'X', help: 'ACR lambda', defaultText: String(D.lambda) },
  'acr-units': { kind: 'string', help: 'ACR errors in normalised crop coordinates (paper) or input pixels (the log acts past ~1 px)', choices: ['normalized', 'pixels'], defaultText: D.acrUnits },
  'phi-floor': { kind: 'number', arg: 'F', help: 'ACR: raise Phi to at least F in [0, 1] (0: the paper\'s Phi)', defaultText: String(D.phiFloor) },
  'phi-mode': { kind: 'string', help: 'ACR Phi per coordinate (paper) or per landmark', choices: PHI_MODES, defaultText: D.phiMode },
  'phi-source': { kind: 'string', help: 'ACR Phi of the un-augmented face (static), of the augmented target under a Procrustes-aligned ASM (aligned), or shuffled (control)', choices: PHI_SOURCES, defaultText: D.phiSource },
  'loss-units': { kind: 'string', help: 'Units of the baseline losses (pixels: the papers\' defaults apply)', choices: ['pixels', 'normalized'], defaultText: D.lossUnits },
  arch: { kind: 'string', help: 'Network', choices: ARCHITECTURES, defaultText: D.arch },
  'input-size': { kind: 'integer', arg: 'PX', help: 'Square network input side', defaultText: String(D.inputSize) },
  width: { kind: 'number', arg: 'ALPHA', help: 'MobileNet width multiplier', defaultText: String(D.width) },
  init: { kind: 'string', help: 'Backbone weights: random, or the face detector\'s (face-api\'s SSD backbone; arch mobilenetv1, width 1)', choices: INITS, defaultText: D.init },
  'init-from': { kind: 'string', arg: 'DIR', help: 'Fine-tune: start from every weight of a trained model folder (RUN/checkpoints/latest, models/NAME), matched by layer name; same arch, width, head, input size and landmarks' },
  head: { kind: 'string', help: 'Regression head: global average pooling (gap), a global depthwise convolution that weighs each position, started as the average (gdconv), or pooled stride-8/16/32 features + a layout-keeping branch (multiscale, MobileNetV2 only)', choices: HEADS, defaultText: D.head },
  'loss-scale': { kind: 'number', arg: 'X', help: 'Multiply the loss (the ACR reference uses 100; moves gradients away from Adam\'s epsilon)', defaultText: String(D.lossScale) },
  dropout: { kind: 'number', arg: 'RATE', help: 'Dropout before the head', defaultText: String(D.dropout) },
  epochs: { kind: 'integer', help: 'Epochs', defaultText: String(D.epochs) },
  'batch-size': { kind: 'integer', help: 'Batch size', defaultText: String(D.batchSize) },
  lr: { kind: 'number', arg: 'X', help: 'Peak Adam learning rate', defaultText: String(D.lr) },
  'lr-schedule': { kind: 'string', help: 'Learning-rate schedule', choices: LR_SCHEDULES, defaultText: D.lrSchedule },
  'lr-min': { kind: 'number', arg: 'F', help: 'Cosine: final lr as a fraction of --lr', defaultText: String(D.lrMinFactor) },
  'lr-step-epochs': { kind: 'integer', help: 'Step: epochs between lr drops', defaultText: String(D.lrStepEpochs) },
  'lr-step-gamma': { kind: 'number', arg: 'F', help: 'Step: lr factor at each drop', defaultText: String(D.lrStepGamma) },
  warmup: { kind: 'number', arg: 'EPOCHS', help: 'Linear lr warm-up', defaultText: String(D.warmupEpochs) },
  seed: { kind: 'integer', help: 'Seed of initialisation, order, augmentation, dropout (and the split without --split-seed)', defaultText: String(D.seed) },
  'split-seed': { kind: 'integer', help: 'Seed of the train/validation split only (runs with different --seed share it)', defaultText: '--seed' },
  'val-fraction': { kind: 'number', arg: 'F', help: 'Share of faces per source held out for validation (and out of fitAsm)', defaultText: String(D.valFraction) },
  'no-augment': { kind: 'boolean', help: 'Train without online augmentation' },
  'aug-scale': { kind: 'string', arg: 'MIN,MAX', help: 'Box jitter: zoom range (> 1 zooms in); cover the detector (bench/detector-calibration.ts)', defaultText: D.augScale.join(',') },
  'aug-shift': { kind: 'number', arg: 'F', help: 'Box jitter: largest shift per axis, fraction of the crop side', defaultText: String(D.augShift) },
  'aug-rotation': { kind: 'number', arg: 'DEG', help: 'Largest in-plane rotation', defaultText: String(D.augRotation) },
  'aug-occlusion': { kind: 'number', arg: 'P', help: 'Probability of an occluding rectangle (0.1-0.4 of the crop side)', defaultText: String(D.augOcclusion) },
  margin: { kind: 'number', arg: 'F', help: 'Crop margin around the landmarks\' box', defaultText: String(D.margin) },
  limit: { kind: 'integer', help: 'Use only the first N faces (0 = all)', defaultText: String(D.limit) },
  'checkpoint-every': { kind: 'integer', arg: 'STEPS', help: 'Also checkpoint every N steps (0 = at epoch ends only)', defaultText: String(D.checkpointEvery) },
  prefetch: { kind: 'integer', help: 'Batches prepared ahead', defaultText: String(D.prefetch) },
  workers: { kind: 'integer', help: 'Data worker threads (0 = main thread)', defaultText: String(D.workers) },
  'skip-bad': { kind: 'boolean', help: 'Skip faces whose files cannot be read (warn and count) instead of failing' },
  'no-progress': { kind: 'boolean', help: 'No progress bar on stderr' },
  threads: { kind: 'integer', help: 'Native thread pool size (0 = all cores)' },
  'no-native-kernels': { kind: 'boolean', help: 'Use stock tfjs cpu conv kernels instead of the native ones' },
};

const SUMMARY = 'Train a face-alignment network with the ACR loss (or a baseline loss) on a landmark dataset.';
const EXAMPLE = [
  'Example:',
  '  acr train --data ../shared/data/300w/train --out runs/acr --loss acr --epochs 30 --input-size 96 --width 0.5',
  '  acr train --data ../shared/data/300w/train --out runs/acr --resume     # continue after Ctrl-C or a kill',
].join('\n');

/** Flag values -> config fields (kebab-case flags, camelCase fields). */
export function configFromFlags(v: ParsedValues): Partial<TrainConfig> {
  const c: Partial<TrainConfig> = {};
  const set = <K extends keyof TrainConfig>(k: K, flag: string) => {
    if (v[flag] !== undefined) c[k] = v[flag] as TrainConfig[K];
  };
  set('data', 'data');
  set('out', 'out');
  set('loss', 'loss');
  set('lambda', 'lambda');
  set('acrUnits', 'acr-units');
  set('phiFloor', 'phi-floor');
  set('phiMode', 'phi-mode');
  set('phiSource', 'phi-source');
  set('lossUnits', 'loss-units');
  set('arch', 'arch');
  set('inputSize', 'input-size');
  set('width', 'width');
  set('head', 'head');
  set('init', 'init');
  set('initFrom', 'init-from');
  set('lossScale', 'loss-scale');
  set('augShift', 'aug-shift');
  set('augRotation', 'aug-rotation');
  set('augOcclusion', 'aug-occlusion');
  if (v['extra-data'] !== undefined) c.extraData = parseExtraData(String(v['extra-data']));
  if (v['aug-scale'] !== undefined) c.augScale = parseRange('--aug-scale', String(v['aug-scale']));
  set('dropout', 'dropout');
  set('epochs', 'epochs');
  set('batchSize', 'batch-size');
  set('lr', 'lr');
  set('lrSchedule', 'lr-schedule');
  set('lrMinFactor', 'lr-min');
  set('lrStepEpochs', 'lr-step-epochs');
  set('lrStepGamma', 'lr-step-gamma');
  set('warmupEpochs', 'warmup');
  set('seed', 'seed');
  set('splitSeed', 'split-seed');
  set('valFraction', 'val-fraction');
  set('margin', 'margin');
  set('limit', 'limit');
  set('checkpointEvery', 'checkpoint-every');
  set('prefetch', 'prefetch');
  set('workers', 'workers');
  if (v['no-augment']) c.augment = false;
  if (v['skip-bad']) c.onBadData = 'skip';
  if (v['no-progress']) c.progress = false;
  if (v.resume) c.resume = true;
  if (v.force) c.force = true;
  return c;
}

/** 'PATH[@W],PATH[@W]' -> [{ path, weight }] (weight 1 when left out; range checks are the config's). */
function parseExtraData(text: string): TrainConfig['extraData'] {
  return text.split(',').map((item) => {
    const at = item.lastIndexOf('@');
    const p = (at >= 0 ? item.slice(0, at) : item).trim();
    const w = at >= 0 ? Number(item.slice(at + 1)) : 1;
    if (p === '' || !Number.isFinite(w)) throw new ArgumentError(`--extra-data: expected PATH[@WEIGHT],... with a number after '@', got '${item}'`);
    return { path: p, weight: w };
  });
}

/** 'MIN,MAX' -> [min, max] (range checks are the config's). */
function parseRange(flag: string, text: string): [number, number] {
  const parts = text.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x))) throw new ArgumentError(`${flag}: expected MIN,MAX (two numbers), got '${text}'`);
  return [parts[0], parts[1]];
}

const FLAG_OF: Record<string, string> = {
  extraData: 'extra-data', phiSource: 'phi-source', lossScale: 'loss-scale', augScale: 'aug-scale', augShift: 'aug-shift', augRotation: 'aug-rotation', augOcclusion: 'aug-occlusion',
  phiMode: 'phi-mode', lossUnits: 'loss-units', inputSize: 'input-size', batchSize: 'batch-size', lrSchedule: 'lr-schedule',
  lrMinFactor: 'lr-min', lrStepEpochs: 'lr-step-epochs', lrStepGamma: 'lr-step-gamma', warmupEpochs: 'warmup', valFraction: 'val-fraction', splitSeed: 'split-seed',
  checkpointEvery: 'checkpoint-every', onBadData: 'skip-bad',
};

/** A config validation error, reworded with the flag's name (usage error: exit 2). */
export function asFlagError(err: AcrError): ArgumentError {
  const msg = err.message.replace(/^config\.(\w+)/, (_m, k: string) => `--${FLAG_OF[k] ?? k}`);
  return new ArgumentError(msg);
}

export const command: Command = {
  name: 'train',
  summary: 'Train a landmark regressor (ACR or baseline loss), resumable',
  usage: usageText('train', SUMMARY, OPTIONS, EXAMPLE, true),
  async run(argv) {
    const v = parseOptions('train', argv, OPTIONS);
    let config: TrainConfig;
    try {
      config = resolveTrainConfig(configFromFlags(v));
    } catch (err) {
      throw err instanceof AcrError ? asFlagError(err) : err;
    }
    const { setupBackend } = await import('./backend');
    await setupBackend({ threads: v.threads as number | undefined, nativeKernels: !v['no-native-kernels'] });

    const ac = new AbortController();
    const onSigint = () => {
      if (ac.signal.aborted) {
        process.stderr.write('\nacr train: second interrupt, quitting without a checkpoint\n');
        process.exit(130);
      }
      process.stderr.write('\nacr train: interrupted; finishing the step and writing the checkpoint (Ctrl-C again to quit now)\n');
      ac.abort();
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    try {
      const r = await train(config, { signal: ac.signal });
      const best = r.bestNme === null ? 'no validation set' : `best val NME ${(100 * r.bestNme).toFixed(3)}% at epoch ${r.bestEpoch}`;
      if (r.status === 'interrupted') {
        console.log(`interrupted after ${r.globalStep} steps; resume with: acr train ${argv.filter((a) => a !== '--resume').join(' ')} --resume`);
        return 130;
      }
      console.log(`${r.status}: ${r.epochsDone}/${config.epochs} epochs, ${r.globalStep} steps, ${best}; checkpoints in ${config.out}/checkpoints`);
      return 0;
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
  },
};
