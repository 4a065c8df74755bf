/**
 * Ships a training run as the package's pretrained model: models/<name>.onnx (exported from the
 * run's best checkpoint), its tfjs weights in models/<name>/ and the model card models/<name>.md,
 * all written from the run's own files (config, epochs, evaluation summary): no number is typed in.
 *
 *   node --import tsx bench/ship-pretrained.ts RUN_DIR "COMMAND THAT TRAINED IT" [HARDWARE] [WALL_CLOCK]
 *
 * RUN_DIR must hold checkpoints/best and eval/summary.json (`acr eval --run RUN_DIR`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { PRETRAINED_NAME, MODELS_DIR } from '../lib/onnx/pretrained';
import { modelCardFromRun } from '../lib/onnx/model-card';

async function main(): Promise<void> {
  const [run, command, hardware, wallClock] = process.argv.slice(2);
  if (!run || !command) {
    console.error('usage: ship-pretrained.ts RUN_DIR "COMMAND" [HARDWARE] [WALL_CLOCK]');
    process.exit(2);
  }
  const best = path.join(run, 'checkpoints', 'best');
  const summary = path.join(run, 'eval', 'summary.json');
  for (const f of [best, summary]) if (!fs.existsSync(f)) throw new Error(`${f} is missing`);
  fs.mkdirSync(MODELS_DIR, { recursive: true });
  const onnx = path.join(MODELS_DIR, `${PRETRAINED_NAME}.onnx`);
  execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'lib', 'cli', 'main.ts'), 'export', best, onnx], { stdio: 'inherit' });
  const tfjsDir = path.join(MODELS_DIR, PRETRAINED_NAME);
  fs.mkdirSync(tfjsDir, { recursive: true });
  for (const f of ['model.json', 'weights.bin']) fs.copyFileSync(path.join(best, f), path.join(tfjsDir, f));
  const split = JSON.parse(fs.readFileSync(path.join(run, 'split.json'), 'utf8')) as { train?: string[]; val?: string[] };
  const faces = (split.train?.length ?? 0) + (split.val?.length ?? 0);
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const card = await modelCardFromRun({
    name: PRETRAINED_NAME,
    onnxFile: onnx,
    checkpointDir: best,
    evaluations: [{ dataset: `300-W training faces, held-out validation split (${split.val?.length ?? '?'} faces, seed 0)`, summaryFile: summary }],
    command,
    data: {
      description: `300-W training subsets (LFPW train, HELEN train, AFW), 256x256 crops; ${split.train?.length ?? '?'} faces trained on, the rest held out`,
      faces,
    },
    files: [path.join(tfjsDir, 'model.json'), path.join(tfjsDir, 'weights.bin')],
    hardware,
    wallClock,
    commit,
  });
  fs.writeFileSync(path.join(MODELS_DIR, `${PRETRAINED_NAME}.md`), card);
  console.log(`shipped ${onnx}, ${tfjsDir}/, ${PRETRAINED_NAME}.md`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
