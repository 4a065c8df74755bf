import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { tinyCnn } from '../lib/model';
import { exportOnnx } from '../lib/onnx/export';
import { LICENCE_300W, modelCard, modelCardFromRun, type ModelCardInput } from '../lib/onnx/model-card';
import { saveModel } from '../lib/tfjs/io';
import type { LandmarkModelMetadata } from '../lib/onnx/metadata';

const metadata: LandmarkModelMetadata = {
  numLandmarks: 68,
  inputHeight: 112,
  inputWidth: 112,
  pixelScale: 1 / 127.5,
  pixelOffset: -1,
  cropMargin: 0.15,
  flipPermutation: Array.from({ length: 68 }, (_, i) => i),
  loss: 'acr lambda=1',
  data: '300-W train',
  packageVersion: '0.1.0',
};

function input(): ModelCardInput {
  return {
    name: 'acr-test',
    architecture: 'MobileNetV2, width 0.5',
    parameters: 880440,
    metadata,
    files: { 'acr-test.onnx': 3437673, 'acr-test/weights.bin': 3500000 },
    data: { description: '300-W training set', faces: 3148, licence: LICENCE_300W },
    training: { command: 'acr train --data ../shared/data/300w/train', config: { epochs: 3, lr: 0.001 }, epochs: 3, packageVersion: '0.1.0' },
    metrics: [{ dataset: '300-W common', faces: 554, nme: 4.1234, normalisation: 'inter-ocular', failureRate: 1.5, auc: 0.51234, threshold: 0.1 }],
  };
}

t.test('the card carries the licence, convention, recipe and the given metrics', async (t) => {
  const md = modelCard(input());
  t.match(md, /^# acr-test\n/);
  t.match(md, /non-commercial research purposes only/);
  t.match(md, /side = \(1 \+ 2 x 0\.15\) x max/);
  t.match(md, /float32 \[N, 112, 112, 3\], RGB, value = pixel x 0\.00784313725490196 \+ -1/);
  t.match(md, /'landmarks': float32 \[N, 136\]/);
  t.match(md, /acr train --data/);
  t.match(md, /"lr": 0\.001/);
  t.match(md, /\| 300-W common \| 554 \| 4\.12 \| inter-ocular \| 1\.50 \| 0\.5123 \| 0\.1 \|/);
  t.match(md, /\| total \| 6937673 \|/);
  t.match(md, /Test-time flip: supported/);
  t.notMatch(md, /--init-from/, 'a run from scratch says nothing of a starting model');
  const ft = input();
  ft.training = { ...ft.training, config: { ...ft.training.config, initFrom: 'runs/a/checkpoints/latest' }, epochs: 10 };
  t.match(modelCard(ft), /10 epochs, started from the weights of runs\/a\/checkpoints\/latest \(--init-from: fine-tuning/);
});

t.test('nothing measured is said so, never invented', async (t) => {
  const i = input();
  i.metrics = [];
  const md = modelCard(i);
  t.match(md, /Not measured yet/);
  t.notMatch(md, /NME \(%\)/);
  const j = input();
  delete j.metrics[0].failureRate;
  t.match(modelCard(j), /\| 4\.12 \| inter-ocular \| not measured \|/);
});

t.test('missing facts are errors', async (t) => {
  t.throws(() => modelCard({ ...input(), data: { ...input().data, licence: '' } }), { code: 'ERR_ARG', message: /data\.licence/ });
  t.throws(() => modelCard({ ...input(), training: { ...input().training, command: '' } }), { code: 'ERR_ARG', message: /training\.command/ });
  t.throws(() => modelCard({ ...input(), metrics: [{ dataset: 'x', nme: NaN, normalisation: 'io' }] }), { code: 'ERR_ARG', message: /nme/ });
  t.throws(() => modelCard({ ...input(), parameters: 0 }), { code: 'ERR_ARG' });
  t.throws(() => modelCard(undefined as never), { code: 'ERR_ARG' });
});

t.test('a card from a run folder: config, parameters, metadata, metrics, sizes', async (t) => {
  await tf.setBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acr-card-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ckpt = path.join(dir, 'best');
  const model = tinyCnn({ inputSize: 16, numLandmarks: 3 });
  await saveModel(model, ckpt);
  fs.writeFileSync(path.join(ckpt, 'state.json'), JSON.stringify({ epoch: 7, config: { arch: 'tiny', loss: 'acr', margin: 0.1 } }));
  const onnx = path.join(dir, 'm.onnx');
  await exportOnnx(model, onnx, { cropMargin: 0.1, loss: 'acr lambda=1' });
  const summary = path.join(dir, 'summary.json');
  fs.writeFileSync(summary, JSON.stringify({ name: 'x', count: 12, normaliser: 'inter-ocular', threshold: 0.1, nme: 5.5, medianNme: 5, failureRate: 8.25, auc: 0.45 }));
  const md = await modelCardFromRun({
    name: 'm', onnxFile: onnx, checkpointDir: ckpt, evaluations: [{ dataset: 'held-out', summaryFile: summary }],
    command: 'acr train ...', data: { description: 'synthetic', faces: 12 },
  });
  t.match(md, new RegExp(`tiny, ${model.countParams().toLocaleString('en-US')} parameters`));
  t.match(md, /7 epochs/);
  t.match(md, /Loss: acr lambda=1/);
  t.match(md, /\| held-out \| 12 \| 5\.50 \| inter-ocular \| 8\.25 \| 0\.4500 \| 0\.1 \|/);
  t.match(md, new RegExp(`\\| m\\.onnx \\| ${fs.statSync(onnx).size} \\|`));
  t.match(md, /non-commercial/);
  await t.rejects(modelCardFromRun({ name: 'm', onnxFile: onnx, checkpointDir: dir, evaluations: [], command: 'x', data: { description: 'd', faces: 1 } }), { code: 'ERR_IO' });
  model.dispose();
});
