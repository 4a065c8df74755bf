import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { buildModel, makeDivisible, mobileNetV1, mobileNetV2, readFaceDetectorWeights, mobileNetV2Backbone, tinyCnn } from '../lib/model';
import { installed } from './helpers/optional';

tf.enableProdMode();

t.test('makeDivisible matches Keras rounding', async (t) => {
  t.equal(makeDivisible(32 * 1.0), 32);
  t.equal(makeDivisible(16 * 0.35), 8);
  t.equal(makeDivisible(24 * 0.5), 16); // 12 -> 16 (Keras: int(12 + 4) // 8 * 8 = 16)
  t.equal(makeDivisible(96 * 0.75), 72);
  t.equal(makeDivisible(160 * 0.35), 56);
});

t.test('MobileNetV2 1.0/224 backbone has the Keras parameter count', async (t) => {
  // Keras MobileNetV2(alpha=1.0, include_top=False): 2,257,984 parameters (34,112 non-trainable BN stats).
  const b = mobileNetV2Backbone({});
  t.equal(b.countParams(), 2257984);
  t.same(b.outputs[0].shape, [null, 7, 7, 1280]);
  const nonTrainable = b.nonTrainableWeights.reduce((n, w) => n + w.shape.reduce((a, c) => a! * c!, 1)!, 0);
  t.equal(nonTrainable, 34112);
  // Head: dense 1280 -> 136.
  const m = mobileNetV2({});
  t.equal(m.countParams(), 2257984 + 1280 * 136 + 136);
  t.same(m.outputs[0].shape, [null, 136]);
  const types = new Set(m.layers.map((l) => l.getClassName()));
  t.same([...types].sort(), ['Add', 'BatchNormalization', 'Conv2D', 'DepthwiseConv2D', 'Dense', 'Dropout', 'GlobalAveragePooling2D', 'InputLayer', 'ReLU'].sort());
  t.equal(m.layers.filter((l) => l.getClassName() === 'Add').length, 10, 'residual adds where stride 1 and channels match');
  t.ok(m.getLayer('block_16_project_BN'));
  b.dispose();
  m.dispose();
});

t.test('MobileNetV2 small: output shape, width multiplier, landmark count, determinism', async (t) => {
  const a = mobileNetV2({ inputSize: 64, width: 0.35, numLandmarks: 29, seed: 7 });
  const b = mobileNetV2({ inputSize: 64, width: 0.35, numLandmarks: 29, seed: 7 });
  const c = mobileNetV2({ inputSize: 64, width: 0.35, numLandmarks: 29, seed: 8 });
  const x = tf.randomUniform([2, 64, 64, 3], -1, 1, 'float32', 1);
  const ya = a.predict(x) as tf.Tensor;
  t.same(ya.shape, [2, 58]);
  t.same(ya.dataSync(), (b.predict(x) as tf.Tensor).dataSync(), 'same seed, same weights');
  t.notSame(ya.dataSync(), (c.predict(x) as tf.Tensor).dataSync(), 'other seed, other weights');
  const maxAbs = Math.max(...Array.from(ya.dataSync(), Math.abs));
  t.ok(maxAbs > 0 && maxAbs < 0.05, `the head starts near 0 (max |y| = ${maxAbs}), the centre of the crop`);
  t.ok(a.countParams() < mobileNetV2({ inputSize: 64, width: 1.0, numLandmarks: 29 }).countParams() / 3);
  t.equal(a.getLayer('Conv1').getWeights()[0].shape[3], 16, 'first conv 32 x 0.35 rounded to 16');
  t.throws(() => mobileNetV2({ width: 0 }), { code: 'ERR_RANGE' });
  t.throws(() => mobileNetV2({ width: 1e9 }), { code: 'ERR_RANGE', message: /width: expected a width multiplier in \(0, 16\]/ });
  t.throws(() => mobileNetV2({ inputSize: 16 }), { code: 'ERR_RANGE' });
  t.throws(() => mobileNetV2({ dropout: 1 }), { code: 'ERR_RANGE' });
});

t.test("MobileNetV2 'multiscale' head: stride-8/16/32 taps, a whole-map kernel, same backbone and init otherwise", async (t) => {
  for (const inputSize of [64, 96, 100]) {
    const gap = mobileNetV2({ inputSize, width: 0.35, seed: 2 });
    const ms = mobileNetV2({ inputSize, width: 0.35, seed: 2, head: 'multiscale' });
    const side = Math.ceil(inputSize / 32);
    const full = ms.getLayer('head_spatial').getWeights()[0];
    t.same(full.shape, [side, side, 64, 128], `${inputSize} px: the kernel covers the ${side}x${side} map`);
    t.same(ms.getLayer('head_spatial').output && (ms.getLayer('head_spatial').output as tf.SymbolicTensor).shape, [null, 1, 1, 128]);
    // Features: stride-8 (32 x 0.35 -> 16), stride-16 (96 x 0.35 -> 32), the last map (1280), the layout branch (128).
    t.same((ms.getLayer('head_concat').output as tf.SymbolicTensor).shape, [null, 16 + 32 + 1280 + 128]);
    t.equal(ms.getLayer('landmarks').getWeights()[0].shape[0], 16 + 32 + 1280 + 128);
    t.equal(ms.countParams() - gap.countParams(), 1280 * 64 + 4 * 64 + side * side * 64 * 128 + 4 * 128 + (16 + 32 + 128) * 136, 'only the head differs');
    t.same(ms.getLayer('Conv1').getWeights()[0].dataSync(), gap.getLayer('Conv1').getWeights()[0].dataSync(), 'same backbone initialisation');
    const y = ms.predict(tf.randomUniform([2, inputSize, inputSize, 3], -1, 1, 'float32', 4)) as tf.Tensor;
    t.same(y.shape, [2, 136]);
    const maxAbs = Math.max(...Array.from(y.dataSync(), Math.abs));
    t.ok(maxAbs > 0 && maxAbs < 0.05, `starts near the crop centre (max |y| = ${maxAbs})`);
    gap.dispose();
    ms.dispose();
  }
  t.throws(() => mobileNetV2({ head: 'fpn' as never }), { code: 'ERR_ARG', message: /head: expected one of 'gap', 'multiscale', 'gdconv'/ });
  const b = buildModel({ arch: 'mobilenetv2', inputSize: 32, width: 0.35, numLandmarks: 5, dropout: 0, seed: 0, head: 'multiscale' });
  t.ok(b.getLayer('head_concat'));
});

t.test("'gdconv' head: a whole-map depthwise kernel that starts as global average pooling (MobileNetV2 and V1)", async (t) => {
  // Odd sides (100 px -> 4x4 map, 72 -> 3x3 after V1's 'same' strides) and a non-square-friendly width.
  for (const [arch, inputSize] of [['mobilenetv2', 100], ['mobilenetv1', 72], ['mobilenetv1', 64]] as const) {
    const spec = { arch, inputSize, width: 0.35, numLandmarks: 7, dropout: 0.2, seed: 3 };
    const gap = buildModel(spec), gd = buildModel({ ...spec, head: 'gdconv' });
    const last = gap.getLayer('landmarks').input as tf.SymbolicTensor; // [null, C] after pooling
    const side = Math.ceil(inputSize / 32), channels = last.shape[1] as number;
    const k = gd.getLayer('head_gdconv').getWeights()[0];
    t.same(k.shape, [side, side, channels, 1], `${arch} ${inputSize} px: the kernel covers the ${side}x${side} map`);
    t.ok(Array.from(k.dataSync()).every((w) => w === Math.fround(1 / (side * side))), 'every tap starts at 1 / (h w)');
    t.equal(gd.countParams() - gap.countParams(), side * side * channels, 'the kernel is the only difference');
    // Same seed, same initialisers in the same order: the two models compute the same function at the start.
    const x = tf.randomUniform([3, inputSize, inputSize, 3], -1, 1, 'float32', 9);
    const a = (gap.predict(x) as tf.Tensor).dataSync(), b = (gd.predict(x) as tf.Tensor).dataSync();
    const scale = Math.max(...Array.from(a, Math.abs));
    const diff = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
    t.ok(scale > 0 && diff <= 1e-5 * scale + 1e-9, `${arch}: outputs equal GAP's at init (max diff ${diff}, scale ${scale})`);
    // And the layout is trainable: the kernel receives a gradient that differs between positions.
    const { grads } = tf.variableGrads(() => tf.sum(gd.apply(x, { training: false }) as tf.Tensor));
    const kg = Array.from(grads[gd.getLayer('head_gdconv').trainableWeights[0].name].dataSync());
    tf.dispose(grads);
    t.ok(kg.length === side * side * channels && new Set(kg.map((v) => v.toFixed(6))).size > 1, 'the kernel gets a position-dependent gradient');
    x.dispose();
    gap.dispose();
    gd.dispose();
  }
  t.throws(() => mobileNetV1({ head: 'multiscale' as never }), { code: 'ERR_ARG', message: /head: expected one of 'gap', 'gdconv'/ });
  t.throws(() => buildModel({ arch: 'tiny', inputSize: 16, width: 1, numLandmarks: 5, dropout: 0, seed: 0, head: 'gdconv' }), { code: 'ERR_ARG', message: /head: 'gdconv' needs arch/ });
});

t.test('tiny CNN and buildModel', async (t) => {
  const m = tinyCnn({ inputSize: 16, numLandmarks: 5 });
  const y = m.predict(tf.zeros([3, 16, 16, 3])) as tf.Tensor;
  t.same(y.shape, [3, 10]);
  // conv1 3*3*3*8 + bn 4*8, conv2 3*3*8*16 + bn 4*16, dw 3*3*16 + bn 4*16, pw 16*32 + bn 4*32, dense 32*10+10
  t.equal(m.countParams(), 216 + 32 + 1152 + 64 + 144 + 64 + 512 + 128 + 330);
  const b = buildModel({ arch: 'tiny', inputSize: 16, width: 2, numLandmarks: 5, dropout: 0, seed: 0 });
  t.equal(b.getLayer('conv1').getWeights()[0].shape[3], 16);
  t.throws(() => buildModel({ arch: 'resnet' as never, inputSize: 16, width: 1, numLandmarks: 5, dropout: 0, seed: 0 }), { code: 'ERR_ARG' });
});

t.test('MobileNetV1: the paper\'s layer table, parameter count, width, determinism', async (t) => {
  const m = mobileNetV1({ inputSize: 64, numLandmarks: 5, seed: 2 });
  const y = m.predict(tf.zeros([2, 64, 64, 3])) as tf.Tensor;
  t.same(y.shape, [2, 10]);
  // Keras' MobileNet 1.0 without its top has 3,228,864 weights, with a BN (4 x C) after the stem
  // and after every pointwise conv; here those BNs are folded into biases (C each), as in the detector.
  const pw = [32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024];
  const backbone = 3228864 - 3 * pw.reduce((a, b) => a + b, 0);
  t.equal(m.countParams(), backbone + 1024 * 10 + 10, 'parameters: the Keras backbone with folded BNs + the dense head');
  t.same(m.getLayer('Conv2d_13_pointwise_relu').outputShape, [null, 2, 2, 1024], 'stride 32');
  const again = mobileNetV1({ inputSize: 64, numLandmarks: 5, seed: 2 });
  t.same(again.getLayer('Conv2d_5_pointwise').getWeights()[0].dataSync(), m.getLayer('Conv2d_5_pointwise').getWeights()[0].dataSync(), 'same seed, same weights');
  const half = mobileNetV1({ inputSize: 64, width: 0.5, numLandmarks: 5 });
  t.equal(half.getLayer('Conv2d_13_pointwise').getWeights()[0].shape[3], 512);
  t.throws(() => mobileNetV1({ width: 0.5, init: 'face-detector' }), { code: 'ERR_ARG', message: /x1\.0/ });
  t.throws(() => mobileNetV1({ init: 'imagenet' as never }), { code: 'ERR_ARG', message: /init: expected one of/ });
  t.throws(() => buildModel({ arch: 'mobilenetv2', inputSize: 32, width: 1, numLandmarks: 5, dropout: 0, seed: 0, init: 'face-detector' }), { code: 'ERR_ARG', message: /needs arch 'mobilenetv1'/ });
  for (const x of [m, again, half]) x.dispose();
});

t.test("MobileNetV1 init 'face-detector' computes the detector's backbone (face-api's SSD, from its raw weights)", async (t) => {
  if (!installed('@vladmandic/face-api')) {
    t.skip('the optional package @vladmandic/face-api is not installed');
    return;
  }
  const m = buildModel({ arch: 'mobilenetv1', init: 'face-detector', inputSize: 48, width: 1, numLandmarks: 68, dropout: 0, seed: 0 });
  // Reference: face-api's mobileNetV1() written with tfjs ops on the dequantised weights:
  // conv + bias + relu6, then 13 x (depthwise, batchNorm with moving stats, relu6, pointwise + bias, relu6).
  const w = readFaceDetectorWeights();
  const g = (n: string) => w[`MobilenetV1/${n}`];
  const x = tf.randomUniform([2, 48, 48, 3], -1, 1, 'float32', 11) as tf.Tensor4D;
  const pw = (h: tf.Tensor4D, n: string, s: 1 | 2) => tf.clipByValue(tf.add(tf.conv2d(h, g(`${n}/weights`) as tf.Tensor4D, s, 'same'), g(`${n}/convolution_bn_offset`)), 0, 6) as tf.Tensor4D;
  let ref = pw(x, 'Conv2d_0_pointwise', 2);
  for (let i = 1; i <= 13; i++) {
    const b = `Conv2d_${i}_depthwise`;
    const d = tf.depthwiseConv2d(ref, g(`${b}/depthwise_weights`) as tf.Tensor4D, [2, 4, 6, 12].includes(i) ? 2 : 1, 'same');
    const bn = tf.batchNorm(d, g(`${b}/BatchNorm/moving_mean`) as tf.Tensor1D, g(`${b}/BatchNorm/moving_variance`) as tf.Tensor1D,
      g(`${b}/BatchNorm/beta`) as tf.Tensor1D, g(`${b}/BatchNorm/gamma`) as tf.Tensor1D, 0.0010000000474974513);
    ref = pw(tf.clipByValue(bn, 0, 6) as tf.Tensor4D, `Conv2d_${i}_pointwise`, 1);
  }
  const features = tf.model({ inputs: m.inputs, outputs: m.getLayer('Conv2d_13_pointwise_relu').output as tf.SymbolicTensor });
  const got = features.predict(x) as tf.Tensor;
  t.same(got.shape, [2, 2, 2, 1024]);
  const diff = tf.max(tf.abs(tf.sub(got, ref))).dataSync()[0];
  const scale = tf.max(tf.abs(ref)).dataSync()[0];
  t.ok(scale > 0.1, `features are not trivially small (${scale})`);
  t.ok(diff <= 1e-5 * Math.max(1, scale), `max abs diff ${diff} (tolerance 1e-5 x max |feature|)`);
  // Dequantised, not raw bytes: the weights spread over a real range.
  const k = g('Conv2d_1_pointwise/weights').dataSync();
  t.ok(Math.min(...k) < -0.05 && Math.max(...k) > 0.05, 'weights span a signed range');
  tf.dispose([x, ref, got, ...Object.values(w)]);
  m.dispose();
});
