import t from 'tap';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { acr } from './helpers/cli';
import { exportOnnx } from '../lib/onnx/export';
import { Predictor } from '../lib/onnx/predictor';
import { pretrainedModelPath } from '../lib/onnx/pretrained';
import { saveModel } from '../lib/tfjs/io';
import { tinyCnn } from '../lib/model';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acr-cli-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const image = path.join(dir, 'photo.png');
const modelFile = path.join(dir, 'm.onnx');
const tfjsDir = path.join(dir, 'tfjs-model');


t.before(async () => {
  await tf.setBackend('cpu');
  const model = tinyCnn({ inputSize: 32, numLandmarks: 4, seed: 1 });
  await exportOnnx(model, modelFile, { flipPermutation: [1, 0, 3, 2], cropMargin: 0.1 });
  await saveModel(model, tfjsDir);
  const w = 120;
  const h = 90;
  const data = Buffer.alloc(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 7)) % 256;
  await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toFile(image);
});

t.test('help and usage errors', async (t) => {
  for (const cmd of ['predict', 'export']) {
    const r = await acr(cmd, '--help');
    t.equal(r.code, 0);
    t.match(r.out, new RegExp(`^Usage: acr ${cmd}`));
  }
  t.match((await acr('--help')).out, /predict .*landmarks/);
  t.equal((await acr('predict')).code, 2, 'no image');
  t.equal((await acr('predict', image, image, '--model', modelFile)).code, 2, 'two images');
  const bad = await acr('predict', image, '--model', modelFile, '--box', '1,2,3');
  t.equal(bad.code, 2);
  t.match(bad.err, /--box: expected x,y,w,h/);
  t.equal((await acr('predict', image, '--model', modelFile, '--frobnicate')).code, 2, 'unknown option');
  t.equal((await acr('export', tfjsDir)).code, 2, 'export needs two arguments');
  t.equal((await acr('export', tfjsDir, path.join(dir, 'x.onnx'), '--margin', '-1')).code, 2);
  t.equal((await acr('export', tfjsDir, path.join(dir, 'x.onnx'), '--flip', 'ibug68')).code, 2, 'ibug68 flip on a 4-point model');
});

t.test('predict: JSON and overlay, same numbers as the library', async (t) => {
  const overlay = path.join(dir, 'overlay.png');
  const r = await acr('predict', image, '--model', modelFile, '--box', '20,10,60,50', '--json', '--out', overlay);
  t.equal(r.code, 0, r.err);
  const json = JSON.parse(r.out);
  t.equal(json.faces.length, 1);
  const face = json.faces[0];
  t.same(face.box, [20, 10, 60, 50]);
  t.equal(face.landmarks.length, 4);
  const p = await Predictor.load(modelFile);
  const ref = await p.predict(image, { box: [20, 10, 60, 50] });
  await p.dispose();
  face.landmarks.forEach(([x, y]: [number, number], i: number) => {
    t.ok(Math.abs(x - ref.landmarks[2 * i]) < 0.01 && Math.abs(y - ref.landmarks[2 * i + 1]) < 0.01, `point ${i}`);
  });
  const meta = await sharp(overlay).metadata();
  t.same([meta.format, meta.width, meta.height], ['png', 120, 90], 'overlay has the photo size');
  const text = await acr('predict', image, '--model', modelFile, '--box', '20,10,60,50', '--flip');
  t.equal(text.code, 0);
  t.equal(text.out.split('\n').length, 5, 'a header and one line per landmark');
});

t.test('predict: EXIF orientation is applied, points refer to the upright photo', async (t) => {
  // The same picture stored sideways with orientation 6 (rotate 90 degrees clockwise to view).
  const sideways = path.join(dir, 'sideways.jpg');
  await sharp(image).rotate(-90).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toFile(sideways);
  const meta = await sharp(sideways).metadata();
  t.same([meta.width, meta.height, meta.orientation], [90, 120, 6], 'stored 90 x 120, shown 120 x 90');
  const overlay = path.join(dir, 'sideways-overlay.png');
  const r = await acr('predict', sideways, '--model', modelFile, '--box', '20,10,60,50', '--json', '--out', overlay);
  t.equal(r.code, 0, r.err);
  const ov = await sharp(overlay).metadata();
  t.same([ov.width, ov.height], [120, 90], 'the overlay is upright');
  const upright = JSON.parse(r.out).faces[0].landmarks as number[][];
  const plain = JSON.parse((await acr('predict', image, '--model', modelFile, '--box', '20,10,60,50', '--json')).out).faces[0].landmarks as number[][];
  // JPEG loses a little: the points agree closely, not exactly.
  const d = Math.max(...upright.map(([x, y], i) => Math.hypot(x - plain[i][0], y - plain[i][1])));
  t.ok(d < 1.5, `same points as on the upright PNG within ${d.toFixed(3)} px`);
});

t.test('predict: failures exit 1 with the reason', async (t) => {
  const missing = await acr('predict', image, '--model', path.join(dir, 'none.onnx'), '--box', '1,1,5,5');
  t.equal(missing.code, 1);
  t.match(missing.err, /cannot read .*none\.onnx.*\[ERR_IO\]/);
  const outside = await acr('predict', image, '--model', modelFile, '--box', '500,500,10,10');
  t.equal(outside.code, 1);
  t.match(outside.err, /outside the 120x90 image/);
  const notImage = await acr('predict', modelFile, '--model', modelFile, '--box', '1,1,5,5');
  t.equal(notImage.code, 1);
  t.match(notImage.err, /cannot decode/);
  const noFace = await acr('predict', image, '--model', modelFile);
  let detector = true;
  try {
    require.resolve('@vladmandic/face-api/package.json');
  } catch {
    detector = false;
  }
  // No face in a texture: exit 3 (documented), or 1 where the optional detector is not installed.
  t.equal(noFace.code, detector ? 3 : 1, noFace.err);
  t.match(noFace.err, /--box/);
  if (detector) {
    const json = await acr('predict', image, '--model', modelFile, '--json');
    t.equal(json.code, 3);
    t.same(JSON.parse(json.out).faces, [], '--json prints an empty face list');
  }
  const conf = await acr('predict', image, '--model', modelFile, '--min-confidence', '0');
  t.equal(conf.code, 2);
  t.match(conf.err, /--min-confidence: expected a score in \(0, 1\]/);
  let shipped = true;
  try {
    pretrainedModelPath();
  } catch {
    shipped = false;
  }
  if (!shipped) {
    const r = await acr('predict', image, '--box', '1,1,5,5');
    t.equal(r.code, 1);
    t.match(r.err, /no pretrained model .*--model/);
  }
});

t.test('export: a saved tfjs model folder to ONNX, usable by predict', async (t) => {
  const out = path.join(dir, 'exported.onnx');
  const r = await acr('export', tfjsDir, out, '--flip', '[1,0,3,2]', '--loss', 'acr', '--data', 'synthetic');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /4 landmarks, input 32x32x3/);
  const p = await Predictor.load(out);
  t.match(p.metadata, { flipPermutation: [1, 0, 3, 2], loss: 'acr', data: 'synthetic', numLandmarks: 4 });
  await p.dispose();
  // A training checkpoint's state.json supplies margin, loss and data when no flags are given.
  fs.writeFileSync(path.join(tfjsDir, 'state.json'), JSON.stringify({ epoch: 3, config: { margin: 0.1, loss: 'acr', lambda: 2, data: '/data/sets/300w/train/' } }));
  const fromRun = path.join(dir, 'from-run.onnx');
  t.equal((await acr('export', tfjsDir, fromRun)).code, 0);
  const q = await Predictor.load(fromRun);
  t.match(q.metadata, { cropMargin: 0.1, loss: 'acr lambda=2', data: '300w/train', flipPermutation: [] });
  await q.dispose();
  fs.rmSync(path.join(tfjsDir, 'state.json'));
  const none = await acr('export', path.join(dir, 'no-such-dir'), out);
  t.equal(none.code, 1);
});

t.test('the real command line exits with the codes', async (t) => {
  const cli = path.join(__dirname, '..', 'lib', 'cli', 'main.ts');
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8' });
  t.equal(run('predict', '--help').status, 0);
  t.equal(run('predict').status, 2);
  const r = run('predict', image, '--model', path.join(dir, 'none.onnx'), '--box', '1,1,5,5');
  t.equal(r.status, 1);
  t.match(r.stderr, /ERR_IO/);
});
