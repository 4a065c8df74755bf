// Fine-tuning (--init-from / config.initFrom): a new run starts from every weight of a trained
// model folder, matched by layer name, with its own dropout and schedule; a model that is not the
// same network is refused before any training, naming the layer and the shapes.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { train } from '../lib/train';
import { resolveTrainConfig } from '../lib/train/config';
import { mobileNetV2 } from '../lib/model';
import { copyWeights } from '../lib/model/transfer';
import { base, data, deps } from './helpers/synthetic-train';

tf.enableProdMode();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'acr-init-from-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const bits = (m: tf.LayersModel) => m.getWeights().map((w) => Buffer.from((w.dataSync() as Float32Array).buffer).toString('base64'));

t.test('copyWeights: every weight, bit for bit, whatever the dropout; other networks refused', async (t) => {
  const opts = { inputSize: 32, width: 0.35, numLandmarks: 5 };
  const source = mobileNetV2({ ...opts, seed: 1, dropout: 0.2 });
  const target = mobileNetV2({ ...opts, seed: 2, dropout: 0 });
  t.notSame(bits(target), bits(source), 'different seeds start apart');
  const n = copyWeights(target, source, 'src');
  t.equal(n, source.getWeights().length, 'every weight (BN moving statistics included)');
  t.same(bits(target), bits(source), 'bit for bit');
  const before = bits(target);
  t.throws(() => copyWeights(target, mobileNetV2({ ...opts, numLandmarks: 7, seed: 3 }), 'src'),
    { code: 'ERR_SHAPE', message: /src: layer 'landmarks' has weights of shapes \[\[\d+,14\],\[14\]\], this model \[\[\d+,10\],\[10\]\]/ });
  t.throws(() => copyWeights(target, mobileNetV2({ ...opts, head: 'gdconv', seed: 3 }), 'src'),
    { code: 'ERR_ARG', message: /src: its layer '\w+' has weights and no layer of this model has that name/ });
  t.throws(() => copyWeights(mobileNetV2({ ...opts, head: 'gdconv', seed: 3 }), target, 'src'),
    { code: 'ERR_ARG', message: /src: no layer '\w+'/ });
  t.same(bits(target), before, 'a refused copy changes nothing');
});

t.test('train from a trained run: starts from its weights, refuses another network and a missing folder', async (t) => {
  const first = await train({ ...base, loss: 'l2', epochs: 2, out: path.join(tmp, 'first') }, { data: data(), deps });
  const from = path.join(tmp, 'first', 'checkpoints', 'latest');
  // A learning rate of ~0 and no dropout: the fine-tuned run ends where it started, on the first run's weights.
  const ft = await train({ ...base, loss: 'l2', epochs: 1, dropout: 0, lr: 1e-30, warmupEpochs: 0, seed: 9, initFrom: from, out: path.join(tmp, 'ft') }, { data: data(), deps });
  t.equal(ft.status, 'completed');
  const trainable = (m: tf.LayersModel) => m.trainableWeights.map((w) => Buffer.from((w.read().dataSync() as Float32Array).buffer).toString('base64'));
  t.same(trainable(ft.model), trainable(first.model), 'trainable weights are the first run\'s');
  const fresh = await train({ ...base, loss: 'l2', epochs: 1, dropout: 0, lr: 1e-30, warmupEpochs: 0, seed: 9, out: path.join(tmp, 'fresh') }, { data: data(), deps });
  t.notSame(trainable(fresh.model), trainable(first.model), 'without initFrom the same seed starts elsewhere');
  t.equal(JSON.parse(fs.readFileSync(path.join(tmp, 'ft', 'config.json'), 'utf8')).initFrom, from, 'recorded in config.json');

  await t.rejects(train({ ...base, loss: 'l2', epochs: 1, width: 2, initFrom: from, out: path.join(tmp, 'wide') }, { data: data(), deps }),
    { code: 'ERR_SHAPE', message: /config\.initFrom .*layer '\w+' has weights of shapes/ });
  await t.rejects(train({ ...base, loss: 'l2', epochs: 1, initFrom: path.join(tmp, 'nowhere'), out: path.join(tmp, 'none') }, { data: data(), deps }),
    { code: 'ERR_IO', message: /config\.initFrom: .*nowhere holds no model\.json/ });
  // Resuming with another source would mix two starting points.
  await t.rejects(train({ ...base, loss: 'l2', epochs: 2, dropout: 0, lr: 1e-30, warmupEpochs: 0, seed: 9, initFrom: '', out: path.join(tmp, 'ft'), resume: true }, { data: data(), deps }),
    { code: 'ERR_ARG', message: /config\.initFrom: the checkpoint .* was trained with ".*latest", this run asks for ""/ });
  t.throws(() => resolveTrainConfig({ data: 'd', initFrom: 3 as never }), { code: 'ERR_ARG', message: /config\.initFrom: expected a model folder path or ''/ });
});
