import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { train, type TrainHooks } from '../lib/train';
import { base, data, deps } from './helpers/synthetic-train';
import { installed } from './helpers/optional';

tf.enableProdMode();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'acr-resume-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function weightsOf(m: tf.LayersModel): Promise<Float32Array[]> {
  return Promise.all(m.getWeights().map(async (w) => (await w.data()) as Float32Array));
}

function readLog(dir: string): Array<Record<string, unknown>> {
  return fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

for (const loss of ['l2', 'acr'] as const) {
  t.test(`${loss}: stop mid-epoch, resume -> same weights and losses as an uninterrupted run`, async (t) => {
    const hooks: TrainHooks = { data: data(), deps };
    const full = await train({ ...base, loss, out: path.join(tmp, `${loss}-full`) }, hooks);
    t.equal(full.status, 'completed');
    t.equal(full.epochsDone, 3);
    t.equal(full.globalStep, 6, '20 faces / batch 8 = 2 steps per epoch (last partial batch dropped)');

    const out = path.join(tmp, `${loss}-split`);
    const first = await train({ ...base, loss, out, stopAfterSteps: 3 }, { data: data(), deps });
    t.equal(first.status, 'stopped');
    t.equal(first.globalStep, 3);
    const state = JSON.parse(fs.readFileSync(path.join(out, 'checkpoints', 'latest', 'state.json'), 'utf8'));
    t.equal(state.epoch, 1, 'stopped inside epoch 2');
    t.equal(state.stepInEpoch, 1);
    const second = await train({ ...base, loss, out, resume: true }, { data: data(), deps });
    t.equal(second.status, 'completed');
    t.equal(second.globalStep, 6);

    const a = await weightsOf(full.model);
    const b = await weightsOf(second.model);
    t.equal(a.length, b.length);
    let same = true;
    for (let i = 0; i < a.length; i++) if (Buffer.compare(Buffer.from(a[i].buffer), Buffer.from(b[i].buffer)) !== 0) same = false;
    t.ok(same, 'bit-identical weights (incl. BN moving statistics)');
    t.same(readLog(out).map((l) => l.loss), readLog(path.join(tmp, `${loss}-full`)).map((l) => l.loss), 'same epoch losses');
    t.same(readLog(out).map((l) => l.valNme), readLog(path.join(tmp, `${loss}-full`)).map((l) => l.valNme), 'same validation NME');
    if (loss === 'acr') {
      t.ok(fs.existsSync(path.join(out, 'asm.json')));
      t.same(readLog(out).map((l) => l.level), [0.8, 0.8, 0.95]);
    }
  });
}

t.test('a different seed trains differently; weights move; log and checkpoints are complete', async (t) => {
  const out = path.join(tmp, 'seed');
  const a = await train({ ...base, loss: 'l2', epochs: 2, out, seed: 5 }, { data: data(), deps });
  const b = await train({ ...base, loss: 'l2', epochs: 2, out: path.join(tmp, 'seed2'), seed: 6 }, { data: data(), deps });
  t.notSame(await weightsOf(a.model), await weightsOf(b.model));
  const log = readLog(out);
  t.equal(log.length, 2);
  for (const l of log) {
    t.ok(Number.isFinite(l.loss as number) && (l.valNme as number) > 0);
    t.ok((l.imagesPerSec as number) > 0);
    const s = l.share as { data: number; compute: number; loss: number };
    t.ok(Math.abs(s.data + s.compute - 1) < 1e-9 && s.loss >= 0 && s.loss <= s.compute);
  }
  t.ok(log[1].lr < log[0].lr, 'cosine schedule decays');
  for (const d of ['latest', 'best']) {
    t.same(fs.readdirSync(path.join(out, 'checkpoints', d)).sort(), ['manifest.json', 'model.json', 'optimizer.bin', 'state.json', 'weights.bin']);
  }
  t.notOk(fs.existsSync(path.join(out, 'checkpoints', 'latest.tmp')));
  t.ok(fs.existsSync(path.join(out, 'config.json')) && fs.existsSync(path.join(out, 'split.json')));
});

t.test('no tensors leak: after a run only the returned model holds memory', async (t) => {
  const before = tf.memory().numTensors;
  const r = await train({ ...base, loss: 'acr', epochs: 2, out: path.join(tmp, 'leak') }, { data: data(), deps });
  const held = r.model.weights.length;
  t.equal(tf.memory().numTensors - before, held, `${tf.memory().numTensors - before} tensors left, the model has ${held} weights`);
  r.model.dispose();
  t.equal(tf.memory().numTensors, before);
  const resumed = await train({ ...base, loss: 'acr', epochs: 3, out: path.join(tmp, 'leak'), resume: true }, { data: data(), deps });
  t.equal(resumed.globalStep, 6);
  resumed.model.dispose();
  t.equal(tf.memory().numTensors, before, 'resuming leaks nothing either');
});

t.test('resume refuses a checkpoint trained with other settings; abort signal interrupts', async (t) => {
  const out = path.join(tmp, 'guard');
  await train({ ...base, loss: 'l2', epochs: 1, out }, { data: data(), deps });
  await t.rejects(train({ ...base, loss: 'l2', epochs: 2, out, resume: true, batchSize: 4 }, { data: data(), deps }), { code: 'ERR_ARG', message: /batchSize/ });
  const ac = new AbortController();
  ac.abort();
  const r = await train({ ...base, loss: 'l2', out: path.join(tmp, 'abort') }, { data: data(), deps, signal: ac.signal });
  t.equal(r.status, 'interrupted');
  t.equal(r.globalStep, 1, 'the step in flight finishes, then it stops');
  await t.rejects(train({ ...base, loss: 'l2', out, bogus: 1 } as never, { data: data(), deps }), { code: 'ERR_ARG', message: /bogus/ });
});

t.test("init 'face-detector': a run starts from the detector's backbone, and resume keeps what it was started with", async (t) => {
  if (!installed('@vladmandic/face-api')) {
    t.skip('the optional package @vladmandic/face-api is not installed');
    return;
  }
  const out = path.join(tmp, 'face-init');
  const cfg = { ...base, arch: 'mobilenetv1' as const, init: 'face-detector' as const, inputSize: 32, epochs: 1, out };
  const r = await train(cfg, { data: data(32), deps });
  t.equal(r.status, 'completed');
  // Adam moves each weight by about lr per step at most: the stem is still the detector's, not a random init (O(0.1) away).
  const { readFaceDetectorWeights } = await import('../lib/model');
  const w = readFaceDetectorWeights();
  const det = (await w['MobilenetV1/Conv2d_0_pointwise/weights'].data()) as Float32Array;
  const got = (await r.model.getLayer('Conv2d_0').getWeights()[0].data()) as Float32Array;
  let far = 0;
  for (let i = 0; i < det.length; i++) far = Math.max(far, Math.abs(det[i] - got[i]));
  t.ok(far < 2 * cfg.lr * r.globalStep, `stem weights within ${far} of the detector's after ${r.globalStep} steps`);
  tf.dispose(Object.values(w));
  r.model.dispose();
  await t.rejects(train({ ...cfg, init: 'random', resume: true, epochs: 2 }, { data: data(32), deps }), { code: 'ERR_ARG', message: /config\.init: the checkpoint .* was trained with "face-detector"/ });
});
