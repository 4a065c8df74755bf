/**
 * Model card (Markdown) for a shipped landmark model, filled from the training run's summary and
 * the exported model's own metadata. Every number on the card comes from the input: what was not
 * measured is printed as "not measured", never estimated.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import type { EvaluationSummary } from '../eval/metrics';
import { ArgumentError, IoError, ParseError } from '../errors';
import { loadModel } from '../tfjs/io';
import { describe } from '../validate';
import type { LandmarkModelMetadata } from './metadata';
import { Predictor } from './predictor';

export interface ModelCardMetric {
  /** e.g. '300-W common', '300-W challenging', '300-W full', 'validation split'. */
  dataset: string;
  /** Normalised mean error in percent, with what it was normalised by (e.g. 'inter-ocular'). */
  nme: number;
  normalisation: string;
  /** Failure rate (percent) and AUC at a threshold, when measured. */
  failureRate?: number;
  auc?: number;
  threshold?: number;
  faces?: number;
}

export interface ModelCardInput {
  /** File stem of the model (models/<name>.onnx). */
  name: string;
  /** e.g. 'MobileNetV2, width 1.0'. */
  architecture: string;
  parameters: number;
  /** What the exported ONNX model says about itself (Predictor.metadata / parseMetadata). */
  metadata: LandmarkModelMetadata;
  /** Files shipped with their sizes in bytes, e.g. { 'acr-....onnx': 9551376 }. */
  files: Record<string, number>;
  data: {
    /** e.g. '300-W training set (LFPW train, HELEN train, AFW)'. */
    description: string;
    faces: number;
    /** The licence the data is under; it also binds models trained on it. */
    licence: string;
  };
  training: {
    /** The command that reproduces the run. */
    command: string;
    /** The run's full configuration (TrainConfig). */
    config: Record<string, unknown>;
    epochs: number;
    hardware?: string;
    wallClock?: string;
    /** Package version and git commit that trained the model. */
    packageVersion: string;
    commit?: string;
  };
  metrics: ModelCardMetric[];
}

/** The 300-W terms: images and annotations for non-commercial research only. */
export const LICENCE_300W =
  '300-W (iBUG, Imperial College London): the images and annotations may be used for non-commercial ' +
  'research purposes only. A model trained on them inherits that restriction: do not use this model commercially.';

function need(cond: boolean, what: string, v: unknown): void {
  if (!cond) throw new ArgumentError(`modelCard: ${what}, got ${describe(v)}`);
}

function fmt(v: number | undefined, digits = 2): string {
  return v === undefined ? 'not measured' : v.toFixed(digits);
}

export function modelCard(input: ModelCardInput): string {
  const c = input;
  need(typeof c?.name === 'string' && c.name !== '', 'name: expected a non-empty string', c?.name);
  need(Number.isInteger(c.parameters) && c.parameters > 0, 'parameters: expected a positive integer', c.parameters);
  need(typeof c.metadata?.numLandmarks === 'number', 'metadata: expected the model metadata (Predictor.metadata)', c.metadata);
  need(typeof c.data?.licence === 'string' && c.data.licence !== '', 'data.licence: expected the data licence', c.data?.licence);
  need(typeof c.training?.command === 'string' && c.training.command !== '', 'training.command: expected the command that reproduces the run', c.training?.command);
  need(Array.isArray(c.metrics), 'metrics: expected an array (empty when nothing was measured)', c.metrics);
  for (const m of c.metrics) need(Number.isFinite(m?.nme), 'metrics[].nme: expected a measured number', m?.nme);
  const m = c.metadata;
  const totalBytes = Object.values(c.files).reduce((a, b) => a + b, 0);
  const lines = [
    `# ${c.name}`,
    '',
    `Facial landmark regressor (${m.numLandmarks} points) trained with acr-loss ${c.training.packageVersion}` +
      `${c.training.commit ? ` (commit ${c.training.commit})` : ''}. ${c.architecture}, ${c.parameters.toLocaleString('en-US')} parameters.`,
    '',
    '## Licence and intended use',
    '',
    `Data licence: ${c.data.licence}`,
    '',
    'Intended use: research on face alignment; a starting point for fine-tuning. Not evaluated for ' +
      'fairness across demographic groups; not for surveillance or identification.',
    '',
    '## Files',
    '',
    '| file | bytes |',
    '| --- | ---: |',
    ...Object.entries(c.files).map(([f, b]) => `| ${f} | ${b} |`),
    `| total | ${totalBytes} |`,
    '',
    '## Input convention',
    '',
    `- Crop: a square around the face box, side = (1 + 2 x ${m.cropMargin}) x max(box width, box height), ` +
      `centred on the box, resized to ${m.inputWidth} x ${m.inputHeight} (bilinear, zero outside the image).`,
    `- Input 'image': float32 [N, ${m.inputHeight}, ${m.inputWidth}, 3], RGB, value = pixel x ${m.pixelScale} + ${m.pixelOffset}.`,
    `- Output 'landmarks': float32 [N, ${2 * m.numLandmarks}] = [u0, v0, u1, v1, ...], u = x / ${m.inputWidth} - 0.5 ` +
      'in crop pixels (pixel centres on integers); `Predictor` maps them back to the photo.',
    `- Test-time flip: ${m.flipPermutation.length ? 'supported (flip permutation in the metadata)' : 'not available'}.`,
    '',
    '## Training data',
    '',
    `${c.data.description}: ${c.data.faces} faces.`,
    '',
    '## Recipe',
    '',
    `Loss: ${m.loss || 'not recorded'}; ${c.training.epochs} epochs` +
      (typeof c.training.config.initFrom === 'string' && c.training.config.initFrom !== ''
        ? `, started from the weights of ${c.training.config.initFrom} (--init-from: fine-tuning; that model's own training is part of the command below)`
        : '') +
      `${c.training.hardware ? ` on ${c.training.hardware}` : ''}${c.training.wallClock ? ` (${c.training.wallClock})` : ''}.`,
    '',
    'Reproduce:',
    '',
    '```sh',
    c.training.command,
    '```',
    '',
    'Full configuration:',
    '',
    '```json',
    JSON.stringify(c.training.config, null, 2),
    '```',
    '',
    '## Metrics',
    '',
  ];
  if (c.metrics.length === 0) {
    lines.push('Not measured yet: no evaluation results were supplied for this model.');
  } else {
    lines.push('| data | faces | NME (%) | normalised by | FR (%) | AUC | threshold |', '| --- | ---: | ---: | --- | ---: | ---: | ---: |');
    for (const x of c.metrics) {
      lines.push(
        `| ${x.dataset} | ${x.faces ?? ''} | ${fmt(x.nme)} | ${x.normalisation} | ${fmt(x.failureRate)} | ${fmt(x.auc, 4)} | ${x.threshold ?? ''} |`,
      );
    }
  }
  lines.push('');
  return lines.join('\n');
}

export interface RunCardOptions {
  /** File stem of the model (models/<name>.onnx). */
  name: string;
  /** The exported model: its metadata goes on the card. */
  onnxFile: string;
  /** The training checkpoint the model was exported from (model.json, weights.bin, state.json). */
  checkpointDir: string;
  /** Evaluation summaries (summary.json of lib/eval writeEvaluationReport), one per test set. */
  evaluations: Array<{ dataset: string; summaryFile: string }>;
  /** The command that reproduces the training run. */
  command: string;
  data: { description: string; faces: number; licence?: string };
  /** Files shipped besides the ONNX model (sizes are measured); default model.json and weights.bin. */
  files?: string[];
  hardware?: string;
  wallClock?: string;
  commit?: string;
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new IoError(`cannot read ${file}: ${(err as Error).message}`, err);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ParseError(file, undefined, `not JSON (${(err as Error).message})`);
  }
}

/**
 * The model card of a training run: configuration and epochs from the checkpoint's state.json,
 * parameters from its tfjs model, conventions from the exported ONNX model, metrics from the
 * evaluation summaries, file sizes measured on disk.
 */
export async function modelCardFromRun(o: RunCardOptions): Promise<string> {
  const state = await readJson(path.join(o.checkpointDir, 'state.json'));
  const config = state.config as Record<string, unknown> | undefined;
  if (!config || typeof config !== 'object') throw new ParseError(path.join(o.checkpointDir, 'state.json'), undefined, 'no training config');
  const model = await loadModel(o.checkpointDir);
  const parameters = model.countParams();
  model.dispose();
  const predictor = await Predictor.load(o.onnxFile);
  const metadata = predictor.metadata;
  await predictor.dispose();
  const files: Record<string, number> = {};
  for (const f of [o.onnxFile, ...(o.files ?? ['model.json', 'weights.bin'].map((b) => path.join(o.checkpointDir, b)))]) {
    files[path.basename(f)] = (await fs.stat(f)).size;
  }
  const metrics: ModelCardMetric[] = [];
  for (const e of o.evaluations) {
    const s = (await readJson(e.summaryFile)) as Partial<EvaluationSummary>;
    metrics.push({ dataset: e.dataset, faces: s.count, nme: Number(s.nme), normalisation: String(s.normaliser), failureRate: s.failureRate, auc: s.auc, threshold: s.threshold });
  }
  const arch = String(config.arch ?? 'unknown');
  return modelCard({
    name: o.name,
    architecture: architectureText(arch, config),
    parameters,
    metadata,
    files,
    data: { description: o.data.description, faces: o.data.faces, licence: o.data.licence ?? LICENCE_300W },
    training: {
      command: o.command,
      config,
      epochs: Number(state.epoch),
      hardware: o.hardware,
      wallClock: o.wallClock,
      packageVersion: metadata.packageVersion,
      commit: o.commit,
    },
    metrics,
  });
}

function architectureText(arch: string, config: Record<string, unknown>): string {
  const size = `width ${String(config.width)}, input ${String(config.inputSize)}`;
  if (arch === 'mobilenetv2') return `MobileNetV2, ${size}`;
  if (arch === 'mobilenetv1') {
    return `MobileNetV1, ${size}` + (config.init === 'face-detector' ? ", backbone initialised from face-api's SSD face detector (@vladmandic/face-api, MIT; trained on WIDER FACE)" : '');
  }
  return arch;
}
