import t from 'tap';
import { LICENCE_300W, modelCard, type ModelCardInput } from '../lib/onnx/model-card';
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
