import t, { Test } from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-node';
import { exportOnnx, toOnnx } from '../lib/onnx/export';
import { samePadding } from '../lib/onnx/layers';
import { parseMetadata } from '../lib/onnx/metadata';
import { decodeModel, modelProto } from '../lib/onnx/proto';
import { buildModel, mobileNetV1, mobileNetV2, tinyCnn } from '../lib/model';
import { mobileNetV2ZeroPad, poolingCnn, randomImages, randomizeWeights } from './helpers/onnx-nets';

type ST = tf.SymbolicTensor;

/** Max abs difference between tfjs and onnxruntime outputs for a random batch. */
async function parity(t: Test, model: tf.LayersModel, batch: number, seed: number): Promise<{ diff: number; scale: number }> {
  const [, h, w, c] = model.inputs[0].shape as number[];
  const session = await ort.InferenceSession.create(toOnnx(model));
  const x = randomImages(batch, h, seed).subarray(0, batch * h * w * c);
  const ref = tf.tidy(() => (model.predict(tf.tensor4d(x, [batch, h, w, c])) as tf.Tensor).dataSync());
  const res = await session.run({ image: new ort.Tensor('float32', x, [batch, h, w, c]) });
  const out = res.landmarks;
  t.same(out.dims, [batch, ref.length / batch], 'output shape [N, 2L]');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ref[i] - (out.data as Float32Array)[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  await session.release();
  return { diff, scale };
}

function nodesOf(bytes: Uint8Array): string[] {
  const m = modelProto().decode(bytes) as unknown as { graph: { node: Array<{ opType: string }> } };
  return m.graph.node.map((n) => n.opType);
}

t.before(async () => {
  await tf.setBackend('cpu');
});

t.test('samePadding follows TensorFlow (extra pixel at the end)', async (t) => {
  t.same(samePadding(5, 3, 2, 1), [1, 1]);
  t.same(samePadding(6, 3, 2, 1), [0, 1]);
  t.same(samePadding(7, 1, 2, 1), [0, 0]);
  t.same(samePadding(8, 3, 1, 2), [2, 2]);
  t.same(samePadding(33, 4, 3, 1), [0, 1]);
  t.same(samePadding(32, 4, 3, 1), [1, 1]);
});

t.test('the test CNNs: tfjs and onnxruntime agree for batch 1 and 3', async (t) => {
  for (const m of [tinyCnn({ inputSize: 32, numLandmarks: 5, seed: 1 }), poolingCnn(32, 5)]) {
    randomizeWeights(m, 7);
    for (const batch of [1, 3]) {
      const { diff, scale } = await parity(t, m, batch, batch);
      t.ok(scale > 0.05, `outputs are not trivially small (${scale})`);
      t.ok(diff < 1e-4, `${m.name}, batch ${batch}: max abs diff ${diff}`);
    }
    m.dispose();
  }
});

t.test('MobileNetV2 (lib/model) at every width and input size', async (t) => {
  // The reference runs on stock tfjs wasm here (5x faster than cpu for these nets).
  await tf.setBackend('wasm');
  t.teardown(() => tf.setBackend('cpu'));
  for (const width of [0.35, 0.5, 1.0]) {
    for (const inputSize of [64, 96, 112]) {
      const m = mobileNetV2({ inputSize, width, numLandmarks: 68, seed: 3 });
      randomizeWeights(m, Math.round(width * 100) + inputSize);
      for (const batch of [1, 3]) {
        const { diff, scale } = await parity(t, m, batch, inputSize + batch);
        t.ok(scale > 0.05, `outputs are not trivially small (${scale})`);
        t.ok(diff < 1e-4, `width ${width}, size ${inputSize}, batch ${batch}: max abs diff ${diff}`);
      }
      if (width === 0.35 && inputSize === 64) {
        const ops = nodesOf(toOnnx(m));
        t.equal(ops.filter((o) => o === 'Transpose').length, 1, 'one Transpose, at the input');
        t.equal(ops.filter((o) => o === 'Mul').length, 0, 'every BatchNorm folded into its conv');
        t.equal(ops.filter((o) => o === 'Conv').length, 52, 'one Conv per conv layer');
      }
      m.dispose();
    }
  }
});

t.test("MobileNetV2 with the 'multiscale' head (concatenated taps, whole-map 'valid' kernel)", async (t) => {
  await tf.setBackend('wasm');
  t.teardown(() => tf.setBackend('cpu'));
  for (const inputSize of [64, 100]) {
    const m = mobileNetV2({ inputSize, width: 0.35, numLandmarks: 68, seed: 5, head: 'multiscale' });
    randomizeWeights(m, inputSize);
    for (const batch of [1, 3]) {
      const { diff, scale } = await parity(t, m, batch, inputSize + 7 * batch);
      t.ok(scale > 0.05, `outputs are not trivially small (${scale})`);
      t.ok(diff < 1e-4, `size ${inputSize}, batch ${batch}: max abs diff ${diff}`);
    }
    m.dispose();
  }
});

t.test("the 'gdconv' head (whole-map depthwise kernel, 'valid', then Flatten) on MobileNetV2 and V1", async (t) => {
  await tf.setBackend('wasm');
  t.teardown(() => tf.setBackend('cpu'));
  for (const [arch, inputSize] of [['mobilenetv2', 100], ['mobilenetv1', 72]] as const) {
    const m = buildModel({ arch, inputSize, width: 0.35, numLandmarks: 68, dropout: 0.2, seed: 6, head: 'gdconv' });
    randomizeWeights(m, inputSize);
    for (const batch of [1, 3]) {
      const { diff, scale } = await parity(t, m, batch, inputSize + 3 * batch);
      t.ok(scale > 0.05, `outputs are not trivially small (${scale})`);
      t.ok(diff < 1e-4, `${arch} ${inputSize} px, batch ${batch}: max abs diff ${diff}`);
    }
    m.dispose();
  }
});

t.test('MobileNetV1 (lib/model): biased pointwise convs, BN after the depthwise ones', async (t) => {
  await tf.setBackend('wasm');
  t.teardown(() => tf.setBackend('cpu'));
  for (const [inputSize, width] of [[64, 0.5], [72, 0.25]] as const) {
    const m = mobileNetV1({ inputSize, width, numLandmarks: 68, seed: 4 });
    randomizeWeights(m, inputSize);
    for (const batch of [1, 3]) {
      const { diff, scale } = await parity(t, m, batch, inputSize + batch);
      t.ok(scale > 0.05, `outputs are not trivially small (${scale})`);
      t.ok(diff < 1e-4, `width ${width}, size ${inputSize}, batch ${batch}: max abs diff ${diff}`);
    }
    const ops = nodesOf(toOnnx(m));
    t.equal(ops.filter((o) => o === 'Conv').length, 27, 'one Conv per conv layer, every BN folded');
    m.dispose();
  }
});

t.test('float16Weights: half the file, one Cast per weight, outputs within float16 rounding of float32', async (t) => {
  await tf.setBackend('wasm');
  t.teardown(() => tf.setBackend('cpu'));
  const m = mobileNetV1({ inputSize: 64, width: 0.5, numLandmarks: 68, seed: 6 });
  randomizeWeights(m, 9);
  const full = toOnnx(m);
  const half = toOnnx(m, { float16Weights: true });
  t.ok(half.length < 0.52 * full.length, `${half.length} bytes against ${full.length}`);
  const ops = nodesOf(half);
  t.equal(ops.filter((o) => o === 'Cast').length, 2 * 27 + 2, 'a Cast for each conv / dense weight and bias');
  const x = randomImages(3, 64, 2);
  const run = async (bytes: Uint8Array) => {
    const s = await ort.InferenceSession.create(bytes);
    const r = (await s.run({ image: new ort.Tensor('float32', x.subarray(0, 3 * 64 * 64 * 3), [3, 64, 64, 3]) })).landmarks.data as Float32Array;
    await s.release();
    return r;
  };
  const [a, b] = [await run(full), await run(half)];
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  // float16 keeps 11 significant bits (relative rounding <= 2^-11 = 4.9e-4 per weight); errors
  // of 27 layers partly cancel. Bound: 5e-3 of the output scale; a wrong Cast or byte order is O(1).
  t.ok(scale > 0.05, `outputs are not trivially small (${scale})`);
  t.ok(diff > 0 && diff < 5e-3 * scale, `max abs diff ${diff} against output scale ${scale}`);
  t.throws(() => toOnnx(m, { float16Weights: 'yes' as never }), { code: 'ERR_ARG', message: /float16Weights: expected a boolean/ });
  m.dispose();
});

t.test('Keras-application MobileNetV2 with ZeroPadding2D before the stride-2 depthwise convs', async (t) => {
  const m = mobileNetV2ZeroPad(96, 0.5, 68);
  randomizeWeights(m, 21);
  for (const batch of [1, 3]) {
    const { diff } = await parity(t, m, batch, batch);
    t.ok(diff < 1e-4, `batch ${batch}: max abs diff ${diff}`);
  }
  const ops = nodesOf(toOnnx(m));
  t.equal(ops.filter((o) => o === 'Pad').length, 0, 'ZeroPadding2D folded into the valid depthwise conv');
  t.equal(ops.filter((o) => o === 'Mul').length, 0, 'every BatchNorm folded');
  m.dispose();
});

t.test('other layers, activations, standalone BN, asymmetric same padding', async (t) => {
  const input = tf.input({ shape: [33, 31, 3] });
  const a = tf.layers.conv2d({ filters: 6, kernelSize: 4, strides: 3, padding: 'same', activation: 'relu6' }).apply(input) as ST;
  const bnA = tf.layers.batchNormalization().apply(a) as ST; // conv has an activation: not foldable
  const b = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'elu' }).apply(input) as ST;
  const bPool = tf.layers.maxPooling2d({ poolSize: 3, strides: 3, padding: 'same' }).apply(b) as ST;
  const dil = tf.layers.conv2d({ filters: 6, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'selu' }).apply(bPool) as ST;
  const sum = tf.layers.add().apply([bnA, dil]) as ST;
  const mul = tf.layers.multiply().apply([sum, tf.layers.activation({ activation: 'sigmoid' }).apply(bnA) as ST]) as ST;
  const sub = tf.layers.add().apply([mul, dil, bnA]) as ST;
  const avg = tf.layers.average().apply([sub, bnA, dil]) as ST;
  const mx = tf.layers.maximum().apply([avg, sub]) as ST;
  const mn = tf.layers.minimum().apply([mx, bnA]) as ST;
  const cat = tf.layers.concatenate().apply([mn, tf.layers.leakyReLU({ alpha: 0.1 }).apply(sub) as ST]) as ST;
  const padded = tf.layers.zeroPadding2d({ padding: [[1, 1], [0, 1]] }).apply(cat) as ST;
  const pooled = tf.layers.averagePooling2d({ poolSize: 2, padding: 'valid' }).apply(padded) as ST;
  const soft = tf.layers.activation({ activation: 'softplus' }).apply(pooled) as ST;
  const perPixel = tf.layers.dense({ units: 5, activation: 'hardSigmoid' }).apply(soft) as ST; // Dense on rank 4
  const g1 = tf.layers.globalMaxPooling2d({}).apply(perPixel) as ST;
  const g2 = tf.layers.globalAveragePooling2d({}).apply(tf.layers.activation({ activation: 'softsign' }).apply(cat) as ST) as ST;
  const flat = tf.layers.flatten().apply(tf.layers.reLU().apply(perPixel) as ST) as ST;
  const head = tf.layers.concatenate().apply([g1, g2, flat]) as ST;
  const bnHead = tf.layers.batchNormalization().apply(head) as ST;
  const sm = tf.layers.dense({ units: 8, activation: 'softmax' }).apply(bnHead) as ST;
  const out = tf.layers.dense({ units: 6, activation: 'swish' }).apply(tf.layers.concatenate().apply([sm, bnHead]) as ST) as ST;
  const m = tf.model({ inputs: input, outputs: out });
  randomizeWeights(m, 3);
  for (const batch of [1, 3]) {
    const { diff, scale } = await parity(t, m, batch, 10 + batch);
    t.ok(scale > 0.05, `outputs are not trivially small (${scale})`);
    t.ok(diff < 1e-4, `batch ${batch}: max abs diff ${diff}`);
  }
  t.ok(nodesOf(toOnnx(m)).includes('Pad'), 'a ZeroPadding2D that feeds a pool stays a Pad');
  m.dispose();
});

t.test('a sequential model exports too', async (t) => {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 4, kernelSize: 3, padding: 'same' }),
      tf.layers.batchNormalization({ center: false }),
      tf.layers.reLU({ maxValue: 6 }),
      tf.layers.flatten(),
      tf.layers.batchNormalization({ scale: false }),
      tf.layers.dense({ units: 4 }),
    ],
  });
  randomizeWeights(m, 5);
  const { diff } = await parity(t, m, 2, 4);
  t.ok(diff < 1e-4, `max abs diff ${diff}`);
  m.dispose();
});

t.test('metadata: names, dynamic batch, landmark count, normalisation, flip', async (t) => {
  const m = poolingCnn(32, 3);
  const bytes = toOnnx(m, { flipPermutation: [2, 1, 0], cropMargin: 0.25, loss: 'acr', data: 'synthetic' });
  const d = decodeModel(bytes);
  t.same(d.inputs, [{ name: 'image', shape: ['batch', 32, 32, 3] }]);
  t.same(d.outputs, [{ name: 'landmarks', shape: ['batch', 6] }]);
  t.same(d.opsets, [{ domain: '', version: 13 }]);
  t.equal(d.producerName, 'acr-loss');
  const meta = parseMetadata('x.onnx', d.metadata);
  t.match(meta, {
    numLandmarks: 3,
    inputHeight: 32,
    inputWidth: 32,
    pixelScale: 1 / 127.5,
    pixelOffset: -1,
    cropMargin: 0.25,
    flipPermutation: [2, 1, 0],
    loss: 'acr',
    data: 'synthetic',
    packageVersion: require('../package.json').version,
  });
  m.dispose();
});

t.test('unsupported layers and bad arguments get typed errors', async (t) => {
  const input = tf.input({ shape: [8, 8, 3] });
  const up = tf.layers.upSampling2d({ size: [2, 2], name: 'my_upsampling' }).apply(input) as ST;
  const out = tf.layers.dense({ units: 4 }).apply(tf.layers.flatten().apply(up) as ST) as ST;
  const bad = tf.model({ inputs: input, outputs: out });
  t.throws(() => toOnnx(bad), { code: 'ERR_UNSUPPORTED', name: 'UnsupportedError', message: /layer 'my_upsampling' \(UpSampling2D\)/ });

  const act = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2, activation: 'mish', name: 'mishy' }).apply(tf.layers.flatten().apply(input) as ST) as ST });
  t.throws(() => toOnnx(act), { code: 'ERR_UNSUPPORTED', message: /'mishy' \(Dense\).*activation 'mish'/ });

  const bnAxis = tf.model({ inputs: input, outputs: tf.layers.flatten().apply(tf.layers.batchNormalization({ axis: 1 }).apply(input) as ST) as ST });
  t.throws(() => toOnnx(bnAxis), { code: 'ERR_UNSUPPORTED', message: /axis 1/ });

  const two = tf.model({ inputs: input, outputs: [tf.layers.flatten().apply(input) as ST, tf.layers.flatten().apply(input) as ST] });
  t.throws(() => toOnnx(two), { code: 'ERR_UNSUPPORTED', message: /one input and one output/ });

  const m = poolingCnn(16, 4);
  t.throws(() => toOnnx({} as tf.LayersModel), { code: 'ERR_ARG', message: /^model: expected a tfjs LayersModel/ });
  t.throws(() => toOnnx(m, { numLandmarks: 3 }), { code: 'ERR_SHAPE', message: /8 values/ });
  t.throws(() => toOnnx(m, { flipPermutation: [1, 0, 2] }), { code: 'ERR_SHAPE', message: /flipPermutation: expected 4/ });
  t.throws(() => toOnnx(m, { flipPermutation: [1, 2, 3, 0] }), { code: 'ERR_ARG', message: /own inverse/ });
  t.throws(() => toOnnx(m, { cropMargin: NaN }), { code: 'ERR_RANGE' });
  t.throws(() => toOnnx(m, { cropMargin: -0.1 }), { code: 'ERR_RANGE' });
  t.throws(() => toOnnx(m, 'x' as never), { code: 'ERR_ARG' });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acr-onnx-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'sub', 'm.onnx');
  const n = await exportOnnx(m, file);
  t.equal(fs.statSync(file).size, n, 'exportOnnx writes the file and creates its folder');
  await t.rejects(exportOnnx(m, path.join(file, 'inside-a-file.onnx')), { code: 'ERR_IO', message: /cannot write/ });
  await t.rejects(exportOnnx(m, '' as never), { code: 'ERR_ARG' });
  m.dispose();
});
