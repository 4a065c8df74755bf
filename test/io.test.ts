import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { mobileNetV2, tinyCnn } from '../lib/model';
import { toFloat16 } from '../lib/float16';
import { loadModel, saveModel, writeFileAtomic } from '../lib/tfjs/io';

tf.enableProdMode();

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'acr-io-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

t.test('save -> load round trip is exact (weights, BN statistics, outputs)', async (t) => {
  const m = mobileNetV2({ inputSize: 32, width: 0.35, numLandmarks: 68, seed: 3 });
  // Give BN moving statistics non-default values so they must be saved, not re-initialised.
  for (const w of m.weights) {
    if (w.originalName.endsWith('moving_mean') || w.originalName.endsWith('moving_variance')) {
      w.write(tf.randomUniform(w.shape, 0.5, 1.5, 'float32', 11));
    }
  }
  const dir = path.join(tmp, 'mnv2');
  await saveModel(m, dir);
  t.same(fs.readdirSync(dir).sort(), ['model.json', 'weights.bin'], 'no temp files left');
  const back = await loadModel(dir);
  t.equal(back.weights.length, m.weights.length);
  for (let i = 0; i < m.weights.length; i++) {
    t.equal(back.weights[i].originalName, m.weights[i].originalName);
    t.same(back.weights[i].read().dataSync(), m.weights[i].read().dataSync(), m.weights[i].originalName);
  }
  const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 5);
  t.same((back.predict(x) as tf.Tensor).dataSync(), (m.predict(x) as tf.Tensor).dataSync(), 'same outputs');
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  t.equal(json.format, 'layers-model');
  t.same(json.weightsManifest[0].paths, ['weights.bin']);
  t.equal(fs.statSync(path.join(dir, 'weights.bin')).size, m.countParams() * 4);
});

t.test('float16 save: half the bytes, every weight loads as its float16 rounding', async (t) => {
  const m = mobileNetV2({ inputSize: 32, width: 0.35, numLandmarks: 68, seed: 4 });
  const dir = path.join(tmp, 'mnv2-f16');
  await saveModel(m, dir, { float16: true });
  t.equal(fs.statSync(path.join(dir, 'weights.bin')).size, m.countParams() * 2);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  t.ok(json.weightsManifest[0].weights.every((w: tf.io.WeightsManifestEntry) => w.quantization?.dtype === 'float16'), 'tfjs float16 quantization in the manifest');
  const back = await loadModel(dir);
  let changed = 0;
  for (let i = 0; i < m.weights.length; i++) {
    const orig = m.weights[i].read().dataSync() as Float32Array;
    const got = back.weights[i].read().dataSync() as Float32Array;
    // The reference rounding: our encoder's bits, decoded independently here (sign, exponent, mantissa).
    const want = Array.from(toFloat16(orig), (h) => {
      const e = (h >> 10) & 0x1f, f = h & 0x3ff, s = h & 0x8000 ? -1 : 1;
      return s * (e === 0 ? f * 2 ** -24 : (1 + f / 1024) * 2 ** (e - 15));
    });
    t.same(Array.from(got), want, m.weights[i].originalName);
    for (let j = 0; j < orig.length; j++) if (got[j] !== orig[j]) changed++;
  }
  t.ok(changed > 0, `${changed} weights rounded`);
  back.dispose();
  m.dispose();
});

t.test('saving over an existing model replaces it', async (t) => {
  const dir = path.join(tmp, 'tiny');
  await saveModel(tinyCnn({ inputSize: 16, numLandmarks: 3, seed: 1 }), dir);
  const second = tinyCnn({ inputSize: 16, numLandmarks: 3, seed: 2 });
  await saveModel(second, dir);
  const back = await loadModel(dir);
  t.same(back.getLayer('landmarks').getWeights()[0].dataSync(), second.getLayer('landmarks').getWeights()[0].dataSync());
});

t.test('bad folders give typed errors', async (t) => {
  await t.rejects(loadModel(path.join(tmp, 'missing')), { code: 'ERR_IO' });
  const bad = path.join(tmp, 'bad');
  fs.mkdirSync(bad);
  fs.writeFileSync(path.join(bad, 'model.json'), '{ not json');
  await t.rejects(loadModel(bad), { code: 'ERR_PARSE' });
  fs.writeFileSync(path.join(bad, 'model.json'), '{"a": 1}');
  await t.rejects(loadModel(bad), { code: 'ERR_PARSE', message: /modelTopology/ });
  const noWeights = path.join(tmp, 'noweights');
  await saveModel(tinyCnn({ inputSize: 16, numLandmarks: 3 }), noWeights);
  fs.rmSync(path.join(noWeights, 'weights.bin'));
  await t.rejects(loadModel(noWeights), { code: 'ERR_IO' });
  t.throws(() => writeFileAtomic(path.join(bad, 'model.json', 'x'), 'z'), { code: 'ERR_IO' });
});
