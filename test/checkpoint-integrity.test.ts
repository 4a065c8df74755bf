/** Damaged checkpoints: every reader (resume, eval, export, loadModel) names the damaged file. */
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { train } from '../lib/train';
import { loadModel } from '../lib/tfjs/io';
import { acr } from './helpers/cli';
import { base, data, deps } from './helpers/synthetic-train';

tf.enableProdMode();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'acr-integrity-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const config = { ...base, loss: 'l2' as const, epochs: 1 };

/** A run folder with one finished epoch; returns the latest checkpoint's folder. */
async function run(name: string): Promise<{ out: string; latest: string }> {
  const out = path.join(tmp, name);
  const r = await train({ ...config, out }, { data: data(), deps });
  r.model.dispose();
  return { out, latest: path.join(out, 'checkpoints', 'latest') };
}

/** Turns a checkpoint into what the code before manifests wrote: no manifest, no `checksummed`. */
function makeLegacy(dir: string): void {
  fs.rmSync(path.join(dir, 'manifest.json'));
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
  delete state.checksummed;
  delete state.lastLog;
  fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify(state));
}

function flipWord(file: string, at: number): void {
  const b = fs.readFileSync(file);
  b.writeUInt32LE(b.readUInt32LE(at) ^ 0x7f800000, at);
  fs.writeFileSync(file, b);
}

const resume = (out: string, epochs = 2) => train({ ...config, epochs, out, resume: true }, { data: data(), deps });

t.test('one flipped word in weights.bin: resume, eval, export and loadModel refuse it, naming the file', async (t) => {
  const { out, latest } = await run('flipped');
  const weights = path.join(latest, 'weights.bin');
  flipWord(weights, 64);
  await t.rejects(resume(out), { code: 'ERR_CORRUPT', message: new RegExp(`${weights.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: SHA-256 .* does not match manifest\\.json`) });
  await t.rejects(loadModel(latest), { code: 'ERR_CORRUPT', message: /weights\.bin: SHA-256/ });
  const ex = await acr('export', latest, path.join(tmp, 'flipped.onnx'));
  t.equal(ex.code, 1);
  t.match(ex.err, /weights\.bin: SHA-256 .*\[ERR_CORRUPT\]/);
  t.notOk(fs.existsSync(path.join(tmp, 'flipped.onnx')), 'no ONNX model written');
  const ev = await acr('eval', '--model', latest, '--data', path.join(tmp, 'nowhere'));
  t.equal(ev.code, 1);
  t.match(ev.err, /weights\.bin: SHA-256 .*\[ERR_CORRUPT\]/);
});

t.test('an edited state.json (epoch 999) and a truncated optimizer.bin are named', async (t) => {
  const { out, latest } = await run('edited');
  const stateFile = path.join(latest, 'state.json');
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  fs.writeFileSync(stateFile, JSON.stringify({ ...state, epoch: 999 }));
  await t.rejects(resume(out), { code: 'ERR_CORRUPT', message: /state\.json: (has \d+ bytes|SHA-256)/ });

  const b = await run('truncated-opt');
  const opt = path.join(b.latest, 'optimizer.bin');
  fs.truncateSync(opt, 100);
  await t.rejects(resume(b.out), { code: 'ERR_CORRUPT', message: /optimizer\.bin: has 100 bytes, manifest\.json recorded/ });
});

t.test('legacy checkpoints (no manifest) still resume; damage the manifest cannot see is still named', async (t) => {
  const ref = await train({ ...config, epochs: 2, out: path.join(tmp, 'ref') }, { data: data(), deps });
  const refW = Buffer.concat(ref.model.getWeights().map((w) => Buffer.from((w.dataSync() as Float32Array).buffer)));
  ref.model.dispose();
  const { out, latest } = await run('legacy');
  makeLegacy(latest);
  const r = await resume(out);
  t.equal(r.status, 'completed');
  t.ok(Buffer.concat(r.model.getWeights().map((w) => Buffer.from((w.dataSync() as Float32Array).buffer))).equals(refW), 'bit-identical to an uninterrupted run');
  r.model.dispose();
  t.equal(fs.readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n').length, 2);

  const bad = await run('legacy-bad');
  makeLegacy(bad.latest);
  const stateFile = path.join(bad.latest, 'state.json');
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  fs.writeFileSync(stateFile, JSON.stringify({ ...state, epoch: 999 }));
  await t.rejects(resume(bad.out, 4), { code: 'ERR_CORRUPT', message: /state\.json: epoch 999 is past the run's 1 epochs/ });
  fs.writeFileSync(stateFile, 'null');
  await t.rejects(resume(bad.out, 4), { code: 'ERR_CORRUPT', message: /state\.json: expected a JSON object, got null/ });
  fs.writeFileSync(stateFile, JSON.stringify({ ...state, globalStep: 7 }));
  await t.rejects(resume(bad.out, 4), { code: 'ERR_CORRUPT', message: /state\.json: globalStep 7 does not match epoch 1 x 2 steps \+ 0/ });
  fs.writeFileSync(stateFile, JSON.stringify(state));

  const weights = path.join(bad.latest, 'weights.bin');
  const whole = fs.readFileSync(weights);
  fs.writeFileSync(weights, whole.subarray(0, whole.length - 40));
  await t.rejects(loadModel(bad.latest), { code: 'ERR_CORRUPT', message: new RegExp(`weights\\.bin: has ${whole.length - 40} bytes, model\\.json needs ${whole.length}`) });
  const nan = Buffer.from(whole);
  nan.writeFloatLE(NaN, 8);
  fs.writeFileSync(weights, nan);
  await t.rejects(loadModel(bad.latest), { code: 'ERR_CORRUPT', message: /weights\.bin: weight '.*' holds 1 NaN or infinite values/ });
  await t.rejects(resume(bad.out, 4), { code: 'ERR_CORRUPT', message: /weights\.bin/ });
});

t.test('a log line lost between the checkpoint and the append comes back on resume; a run folder without a checkpoint but with a log is not wiped', async (t) => {
  const { out } = await run('lost-line');
  const log = path.join(out, 'log.jsonl');
  const line = fs.readFileSync(log, 'utf8');
  fs.writeFileSync(log, '');
  const r = await resume(out);
  r.model.dispose();
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.same(lines.map((l) => l.epoch), [1, 2]);
  t.same(lines[0], JSON.parse(line), 'the very line the first run lost');

  fs.rmSync(path.join(out, 'checkpoints'), { recursive: true });
  await t.rejects(resume(out, 3), { code: 'ERR_IO', message: /no complete checkpoint to resume from, but .*log\.jsonl records 2 epochs; .*--force/ });
  t.equal(fs.readFileSync(log, 'utf8').trim().split('\n').length, 2, 'the log is kept');
});
