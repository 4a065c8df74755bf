/** `acr eval`: a trained model + faces -> NME / FR / AUC summary, per-image CSV, CED SVG/PNG, worst faces. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArgumentError, IoError, ParseError } from '../errors';
import { decodeImage, flipPermutation, loadDataset, splitByIds, type Box, type FaceRecord } from '../data';
import { cedPng, cedSvg, writeEvaluationReport, type CedRun, type NormaliserKind } from '../eval';
import { writeFileAtomic } from '../tfjs/io';
import { loadModel } from '../tfjs/io';
import { checkpointPath } from '../train/checkpoint';
import type { TrainConfig } from '../train/config';
import { predictRefined } from '../train/predict';
import { parseOptions, usageText, type OptionTable } from './args';
import type { Command } from './main';

const NORMALISERS: readonly NormaliserKind[] = ['inter-ocular', 'inter-pupil', 'box-diagonal'];

const OPTIONS: OptionTable = {
  run: { kind: 'string', arg: 'DIR', help: 'A training run folder: takes its best (else latest) model, data, crop margin and validation split' },
  model: { kind: 'string', arg: 'DIR', help: 'Model folder (model.json + weights.bin), e.g. RUN/checkpoints/latest' },
  checkpoint: { kind: 'string', help: "With --run: which checkpoint (best was picked on the validation faces: don't report it on them)", choices: ['latest', 'best'], defaultText: 'latest' },
  boxes: {
    kind: 'string',
    arg: 'gt|detector|FILE',
    help: "Face boxes: the landmarks' own (gt), the optional face detector's as Predictor uses them (detector; also written to OUT/boxes.json), or a boxes.json of an earlier run (the same detections, no detector run)",
    defaultText: 'gt',
  },
  refine: { kind: 'integer', arg: 'N', help: "Rounds of re-placing each crop on the box of its own predicted landmarks and predicting again (as Predictor's refine)", defaultText: '0' },
  'no-flip': { kind: 'boolean', help: 'No test-time flip (on by default, as in Predictor, where the landmark scheme has a flip table)' },
  data: { kind: 'string', arg: 'PATH', help: 'Dataset (default: the run\'s)' },
  split: { kind: 'string', help: 'Faces to evaluate', choices: ['val', 'train', 'all'], defaultText: 'val with --run, else all' },
  out: { kind: 'string', arg: 'DIR', help: 'Report folder', defaultText: 'RUN/eval with --run, else eval' },
  normalizer: { kind: 'string', help: 'NME normaliser (300-W: outer eye corners 36/45)', choices: NORMALISERS, defaultText: 'inter-ocular' },
  threshold: { kind: 'number', arg: 'X', help: 'FR and AUC threshold on the NME', defaultText: '0.1' },
  worst: { kind: 'integer', help: 'Worst faces drawn in worst.png (0: none)', defaultText: '12' },
  name: { kind: 'string', help: 'Label of this model in the CED legend', defaultText: 'the run folder name' },
  margin: { kind: 'number', arg: 'F', help: 'Crop margin (default: the run\'s, else 0.15)' },
  'batch-size': { kind: 'integer', help: 'Faces per forward pass', defaultText: '32' },
  limit: { kind: 'integer', arg: 'N', help: 'Evaluate only the first N faces of the split (a quick look; 0 = all)', defaultText: '0' },
  'skip-bad': { kind: 'boolean', help: 'Skip unreadable faces with a warning instead of failing' },
  compare: { kind: 'string', arg: 'DIR,DIR', help: 'Other eval report folders to draw on one CED chart with this one (ced-compare.svg/.png)' },
  threads: { kind: 'integer', help: 'Native thread pool size (0 = all cores)' },
};

/** Per-face NME (fractions) and the run name of an earlier report folder (per_image.csv + summary.json). */
export function readReport(dir: string): CedRun {
  const csv = path.join(dir, 'per_image.csv');
  let text: string;
  let name = path.basename(path.resolve(dir));
  try {
    text = fs.readFileSync(csv, 'utf8');
  } catch (err) {
    throw new IoError(`${csv}: cannot read an eval report (${(err as Error).message})`, err);
  }
  try {
    name = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')).name ?? name;
  } catch {
    // A report without summary.json still plots, under its folder name.
  }
  const lines = text.trim().split(/\r?\n/);
  const col = lines[0].split(',').indexOf('nme_percent');
  if (col < 0) throw new ParseError(csv, 1, "no 'nme_percent' column");
  const errors = lines.slice(1).map((l, i) => {
    const x = Number(l.split(',')[col]);
    if (!Number.isFinite(x)) throw new ParseError(csv, i + 2, `nme_percent is not a number`);
    return x / 100;
  });
  return { name, errors };
}

const SUMMARY =
  'Evaluate a trained model: per-face NME with the chosen normaliser, FR and AUC at the threshold (AUC = area\n' +
  'under the CED curve on [0, threshold] / threshold). Writes summary.json, per_image.csv, ced.svg, ced.png and\n' +
  'worst.png (predictions in red vs ground truth in green) into the report folder.';

function readRunConfig(run: string): TrainConfig {
  const file = path.join(run, 'config.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as TrainConfig;
  } catch (err) {
    throw new IoError(`${file}: cannot read the run's config (${(err as Error).message})`, err);
  }
}

/** Face id -> the detector's calibrated box, or null where it found no face there (OUT/boxes.json). */
type BoxFile = Record<string, Box | null>;

/** The detector's box of each face (runs the detector); null where it misses the face. */
async function detectBoxes(records: FaceRecord[]): Promise<BoxFile> {
  const { detectFaces, matchDetection } = await import('../onnx/detect');
  const boxes: BoxFile = {};
  for (const r of records) {
    const hit = matchDetection(await detectFaces(await decodeImage(r.imagePath), { minConfidence: 0.3 }), r.landmarks);
    boxes[r.id] = hit ? hit.box : null;
  }
  return boxes;
}

function readBoxFile(file: string): BoxFile {
  let o: unknown;
  try {
    o = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new IoError(`--boxes ${file}: cannot read a boxes.json (${(err as Error).message})`, err);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ParseError(file, undefined, 'expected an object { faceId: [x, y, w, h] | null }');
  for (const [id, b] of Object.entries(o)) {
    if (b !== null && !(Array.isArray(b) && b.length === 4 && b.every((x) => Number.isFinite(x)))) throw new ParseError(file, undefined, `${id}: expected [x, y, w, h] or null`);
  }
  return o as BoxFile;
}

/** Records with the detector's box in place of the landmark box; faces it missed are set apart. */
function withBoxes(records: FaceRecord[], boxes: BoxFile, source: string): { records: FaceRecord[]; missed: string[] } {
  const out: FaceRecord[] = [];
  const missed: string[] = [];
  for (const r of records) {
    if (!(r.id in boxes)) throw new ArgumentError(`--boxes ${source}: no entry for face ${r.id} (made for other faces?)`);
    const b = boxes[r.id];
    if (b) out.push({ ...r, box: b });
    else missed.push(r.id);
  }
  if (out.length === 0) throw new ArgumentError(`--boxes ${source}: the detector found none of the faces`);
  return { records: out, missed };
}

export const command: Command = {
  name: 'eval',
  summary: 'Evaluate a model: NME/FR/AUC JSON, per-image CSV, CED SVG/PNG, worst faces',
  usage: usageText('eval', SUMMARY, OPTIONS, 'Examples:\n  acr eval --run runs/acr\n  acr eval --model runs/acr/checkpoints/best --data faces/ --split all --out eval/acr'),
  async run(argv) {
    const v = parseOptions('eval', argv, OPTIONS);
    const run = v.run as string | undefined;
    if (!run && !v.model) throw new ArgumentError(`--model or --run is required; see 'acr eval --help'`);
    const runConfig = run ? readRunConfig(run) : null;
    const data = (v.data as string | undefined) ?? runConfig?.data;
    if (!data) throw new ArgumentError(`--data is required without --run; see 'acr eval --help'`);
    const split = (v.split as string | undefined) ?? (run ? 'val' : 'all');
    if (split !== 'all' && !run) throw new ArgumentError(`--split ${split} needs --run (the split lives in RUN/split.json)`);
    // A run without a validation set has no best checkpoint: its latest model is the result.
    const which = (v.checkpoint as string | undefined) ?? 'latest';
    // checkpointPath: after a crash mid-swap the newest complete copy may be in latest.old / latest.tmp.
    const pick = (r: string) => {
      const dir = which === 'best' && checkpointPath(path.join(r, 'checkpoints', 'best')) !== null ? path.join(r, 'checkpoints', 'best') : path.join(r, 'checkpoints', 'latest');
      return checkpointPath(dir) ?? dir;
    };
    const modelDir = (v.model as string | undefined) ?? pick(run!);
    const out = (v.out as string | undefined) ?? (run ? path.join(run, 'eval') : 'eval');
    const margin = (v.margin as number | undefined) ?? runConfig?.margin ?? 0.15;
    const onBad = v['skip-bad'] ? 'skip' : 'error';

    const { setupBackend } = await import('./backend');
    await setupBackend({ threads: v.threads as number | undefined, nativeKernels: true });
    const model = await loadModel(modelDir);
    const ds = await loadDataset(data, { onError: onBad === 'skip' ? 'skip' : 'throw' });
    let records = runConfig && runConfig.limit > 0 && data === runConfig.data ? ds.records.slice(0, runConfig.limit) : ds.records;
    if (split !== 'all') {
      const file = path.join(run!, 'split.json');
      let ids: { train: string[]; val: string[] };
      try {
        ids = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (err) {
        throw new IoError(`${file}: cannot read the run's split (${(err as Error).message})`, err);
      }
      const s = splitByIds(records, ids.val);
      records = split === 'val' ? s.val : s.train;
    }
    const limit = (v.limit as number | undefined) ?? 0;
    if (limit < 0) throw new ArgumentError(`--limit: expected a count >= 0 (0 = all), got ${limit}`);
    if (limit > 0) records = records.slice(0, limit);
    if (records.length === 0) throw new ArgumentError(`--split ${split}: no faces to evaluate`);
    const boxes = (v.boxes as string | undefined) ?? 'gt';
    let missed: string[] = [];
    let detected: BoxFile | null = null;
    if (boxes !== 'gt') {
      detected = boxes === 'detector' ? await detectBoxes(records) : readBoxFile(boxes);
      ({ records, missed } = withBoxes(records, detected, boxes));
    }
    const flipPerm = v['no-flip'] ? undefined : flipPermutation(records[0].landmarks.length / 2);
    const refine = (v.refine as number | undefined) ?? 0;
    if (!Number.isInteger(refine) || refine < 0 || refine > 10) throw new ArgumentError(`--refine: expected a count of rounds in 0..10, got ${refine}`);
    const pred = await predictRefined(model, records, refine, { margin, batchSize: (v['batch-size'] as number | undefined) ?? 32, onBadData: onBad, ...(flipPerm ? { flipPermutation: flipPerm } : {}) });
    const evaluated = pred.indices.map((i) => records[i]);
    const name = (v.name as string | undefined) ?? path.basename(path.resolve(run ?? modelDir));
    const report = await writeEvaluationReport(out, evaluated, pred.landmarks, {
      normaliser: ((v.normalizer as NormaliserKind | undefined) ?? 'inter-ocular'),
      threshold: (v.threshold as number | undefined) ?? 0.1,
      worst: (v.worst as number | undefined) ?? 12,
      name,
      meta: {
        model: path.resolve(modelDir),
        data: path.resolve(data),
        split,
        margin,
        loss: runConfig?.loss,
        inputSize: model.inputs[0].shape[1],
        boxes,
        flip: flipPerm !== undefined,
        refine,
        ...(limit > 0 ? { limit } : {}),
        ...(detected ? { detectorMissed: missed.length, detectorMissedIds: missed } : {}),
      },
    });
    if (boxes === 'detector') {
      writeFileAtomic(path.join(out, 'boxes.json'), JSON.stringify(detected));
      report.files.push(path.join(out, 'boxes.json'));
    }
    const s = report.summary;
    if (v.compare) {
      const runs: CedRun[] = [{ name, errors: report.evaluation.perImage }, ...String(v.compare).split(',').map((d) => readReport(d.trim()))];
      const opts = { threshold: s.threshold, title: `CED (${s.normaliser})` };
      writeFileAtomic(path.join(out, 'ced-compare.svg'), cedSvg(runs, opts));
      writeFileAtomic(path.join(out, 'ced-compare.png'), await cedPng(runs, opts));
      report.files.push(path.join(out, 'ced-compare.svg'), path.join(out, 'ced-compare.png'));
    }
    if (missed.length) console.log(`the detector found no face for ${missed.length} faces (left out, listed in summary.json)`);
    console.log(`${name}: ${s.count} faces, NME ${s.nme.toFixed(3)}% (${s.normaliser}), FR@${s.threshold} ${s.failureRate.toFixed(2)}%, AUC@${s.threshold} ${s.auc.toFixed(4)}`);
    console.log(`wrote ${report.files.join(', ')}`);
    return 0;
  },
};
