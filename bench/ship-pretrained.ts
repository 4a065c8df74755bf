/**
 * Ships a training run as the package's pretrained model: models/<name>.onnx (exported from the
 * run's LAST checkpoint: the best one was picked on the validation faces the card reports),
 * its tfjs weights in models/<name>/ (a starting point for fine-tuning with lib/train) and the
 * model card models/<name>.md, all written from the run's own files (config, epochs, evaluation
 * summaries): no number is typed in. Both copies of the weights are stored as float16 (ONNX:
 * initializers Cast to float32 on load; tfjs: its float16 weight quantization), which keeps a
 * MobileNetV1 x1.0 (3.35 M weights) inside the package's 20 MB budget for models/.
 *
 *   node --import tsx bench/ship-pretrained.ts RUN_DIR "COMMAND THAT TRAINED IT" [HARDWARE] [WALL_CLOCK]
 *
 * RUN_DIR must hold checkpoints/latest and the evaluations bench/recipe/run.sh writes
 * (eval-gt, eval-gt-noflip, eval-detector, eval-detector-noflip; at least eval-gt).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { PRETRAINED_NAME, MODELS_DIR } from '../lib/onnx/pretrained';
import { loadModel, saveModel } from '../lib/tfjs/io';
import { LICENCE_300W, modelCardFromRun } from '../lib/onnx/model-card';

async function main(): Promise<void> {
  const [run, command, hardware, wallClock] = process.argv.slice(2);
  if (!run || !command) {
    console.error('usage: ship-pretrained.ts RUN_DIR "COMMAND" [HARDWARE] [WALL_CLOCK]');
    process.exit(2);
  }
  const best = path.join(run, 'checkpoints', 'latest');
  const summary = path.join(run, 'eval-gt', 'summary.json');
  for (const f of [best, summary]) if (!fs.existsSync(f)) throw new Error(`${f} is missing`);
  fs.mkdirSync(MODELS_DIR, { recursive: true });
  const onnx = path.join(MODELS_DIR, `${PRETRAINED_NAME}.onnx`);
  execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'lib', 'cli', 'main.ts'), 'export', best, onnx, '--float16'], { stdio: 'inherit' });
  const tfjsDir = path.join(MODELS_DIR, PRETRAINED_NAME);
  await tf.setBackend('cpu');
  const model = await loadModel(best);
  await saveModel(model, tfjsDir, { float16: true });
  model.dispose();
  const split = JSON.parse(fs.readFileSync(path.join(run, 'split.json'), 'utf8')) as { train?: string[]; val?: string[] };
  const faces = (split.train?.length ?? 0) + (split.val?.length ?? 0);
  const config = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8')) as { extraData?: Array<{ path: string; weight: number }> };
  const extra = config.extraData ?? [];
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const card = await modelCardFromRun({
    name: PRETRAINED_NAME,
    onnxFile: onnx,
    checkpointDir: best,
    evaluations: [
      ['eval-gt', 'boxes from the landmarks, test-time flip (Predictor default)'],
      ['eval-gt-noflip', 'boxes from the landmarks, no flip'],
      ['eval-detector', "the package's face detector boxes, test-time flip"],
      ['eval-detector-noflip', "the package's face detector boxes, no flip"],
    ]
      .filter(([d]) => fs.existsSync(path.join(run, d, 'summary.json')))
      .map(([d, how]) => ({
        dataset: `300-W held-out validation split (${split.val?.length ?? '?'} faces, split seed 0): ${how}`,
        summaryFile: path.join(run, d, 'summary.json'),
      })),
    command,
    data: extra.length
      ? {
          description:
            `300-W training subsets (LFPW train, HELEN train, AFW), 256x256 crops, ${split.val?.length ?? '?'} of them held out; ` +
            `plus, for training only, ${extra.map((e) => `${path.basename(path.dirname(path.resolve(e.path)))} (weight ${e.weight}: each face in that share of the epochs)`).join(', ')}; ` +
            `${split.train?.length ?? '?'} faces trained on`,
          faces,
          licence: `${LICENCE_300W} YouTube Faces frames (Wolf, Hassner & Maoz 2011; landmarks from the MIT-licensed Udacity P1_Facial_Keypoints data): research use.`,
        }
      : {
          description: `300-W training subsets (LFPW train, HELEN train, AFW), 256x256 crops; ${split.train?.length ?? '?'} faces trained on, the rest held out`,
          faces,
        },
    files: [path.join(tfjsDir, 'model.json'), path.join(tfjsDir, 'weights.bin')],
    hardware,
    wallClock,
    commit,
  });
  // Paths relative to the repository (its parent holds shared/ and the runs), not this machine's.
  const parent = path.resolve(__dirname, '..', '..') + path.sep;
  fs.writeFileSync(path.join(MODELS_DIR, `${PRETRAINED_NAME}.md`), card.split(parent).join(`..${path.sep}`));
  console.log(`shipped ${onnx}, ${tfjsDir}/, ${PRETRAINED_NAME}.md`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
