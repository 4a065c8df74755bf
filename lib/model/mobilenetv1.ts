/**
 * MobileNetV1 (Howard et al. 2017) as a landmark regressor, laid out exactly as the backbone of
 * face-api's face detector (an SSD trained on WIDER FACE, shipped inside the @vladmandic/face-api
 * npm package, MIT): a 3x3 stride-2 convolution, then 13 depthwise-separable blocks; each
 * depthwise convolution is followed by BatchNormalization and ReLU6, each pointwise convolution
 * carries the bias its BatchNorm was folded into, then ReLU6. Global average pooling (or
 * MobileNetV2's 'gdconv' head), dropout and a linear dense layer with 2L outputs make the head.
 *
 * `init: 'face-detector'` starts the backbone from the detector's weights: the only pretrained
 * network this package can reach without a download outside the npm registry, and one that has
 * already learned faces. Its input convention (pixel / 127.5 - 1) is the package's own.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, CorruptFileError, UnsupportedError } from '../errors';
import * as v from '../validate';
import { dropoutRate, globalDepthwise, momentum as bnMomentum, widthMultiplier, type MobileNetV2Options } from './mobilenetv2';

export const INITS = ['random', 'face-detector'] as const;
export type InitName = (typeof INITS)[number];

/** MobileNetV2's options and defaults; 'face-detector' weights exist for width 1 only. */
export interface MobileNetV1Options extends Omit<MobileNetV2Options, 'head'> {
  /** Backbone weights: glorot-random, or face-api's SSD face-detector backbone (default 'random'). */
  init?: InitName;
  /** 'gap' or 'gdconv' (MobileNetV2's heads less 'multiscale'; default 'gap'). */
  head?: V1HeadName;
}

export const V1_HEADS = ['gap', 'gdconv'] as const;
export type V1HeadName = (typeof V1_HEADS)[number];

/** Output channels and stride of the 13 depthwise-separable blocks (the paper's Table 1). */
const BLOCKS: ReadonlyArray<readonly [channels: number, stride: number]> = [
  [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
  [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
];

/** face-api's BatchNorm epsilon (float32 of 1e-3), so the pretrained backbone computes what the detector does. */
const BN_EPSILON = 0.0010000000474974513;

const FACE_API = '@vladmandic/face-api';

export function mobileNetV1(options?: MobileNetV1Options): tf.LayersModel {
  const o = v.options<MobileNetV1Options>('options', options);
  const inputSize = v.integer('inputSize', o.inputSize ?? 224, 32, 4096);
  const width = widthMultiplier(o.width ?? 1.0);
  const numLandmarks = v.integer('numLandmarks', o.numLandmarks ?? 68, 1, 100000);
  const dropout = dropoutRate(o.dropout ?? 0.2);
  const seed = v.integer('seed', o.seed ?? 0, 0, 2 ** 31 - 1);
  const momentum = bnMomentum(o.bnMomentum ?? 0.99);
  const init = v.oneOf('init', o.init ?? 'random', INITS);
  const head = v.oneOf('head', o.head ?? 'gap', V1_HEADS);
  if (init === 'face-detector' && width !== 1) {
    throw new ArgumentError(`width: the face-detector weights are MobileNetV1 x1.0; got width ${width} (use width 1 or init 'random')`);
  }
  let n = 0;
  const glorot = () => tf.initializers.glorotUniform({ seed: seed * 1009 + n++ });
  const ch = (c: number) => Math.max(8, Math.round(c * width));
  const relu6 = (x: tf.SymbolicTensor, name: string) => tf.layers.reLU({ maxValue: 6, name }).apply(x) as tf.SymbolicTensor;
  const pointwise = (x: tf.SymbolicTensor, filters: number, kernel: number, stride: number, name: string) =>
    relu6(tf.layers.conv2d({ filters, kernelSize: kernel, strides: stride, padding: 'same', useBias: true, kernelInitializer: glorot(), name }).apply(x) as tf.SymbolicTensor, `${name}_relu`);

  const input = tf.input({ shape: [inputSize, inputSize, 3], name: 'image' });
  let x = pointwise(input, ch(32), 3, 2, 'Conv2d_0');
  BLOCKS.forEach(([c, s], i) => {
    const name = `Conv2d_${i + 1}`;
    const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: s, padding: 'same', useBias: false, depthwiseInitializer: glorot(), name: `${name}_depthwise` });
    const bn = tf.layers.batchNormalization({ momentum, epsilon: BN_EPSILON, name: `${name}_depthwise_BN` });
    x = relu6(bn.apply(dw.apply(x)) as tf.SymbolicTensor, `${name}_depthwise_relu`);
    x = pointwise(x, ch(c), 1, 1, `${name}_pointwise`);
  });
  let h = head === 'gdconv' ? globalDepthwise(x) : tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as tf.SymbolicTensor;
  h = tf.layers.dropout({ rate: dropout, name: 'dropout' }).apply(h) as tf.SymbolicTensor;
  // Small head init, as MobileNetV2's: outputs start near the crop centre instead of ~4x the targets.
  const headInit = tf.initializers.varianceScaling({ scale: 1e-4, mode: 'fanAvg', distribution: 'uniform', seed: seed * 1009 + n++ });
  const out = tf.layers.dense({ units: 2 * numLandmarks, activation: 'linear', kernelInitializer: headInit, name: 'landmarks' }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: `mobilenetv1_${width}_${inputSize}${init === 'face-detector' ? '_face' : ''}${head === 'gap' ? '' : `_${head}`}` });
  if (init === 'face-detector') loadFaceDetectorBackbone(model);
  return model;
}

/** The detector's weights by their TensorFlow names (dequantised by tfjs' own weight decoder). */
export function readFaceDetectorWeights(): tf.NamedTensorMap {
  let dir: string;
  try {
    dir = path.join(path.dirname(require.resolve(`${FACE_API}/package.json`)), 'model');
  } catch {
    throw new UnsupportedError(`init 'face-detector' reads its weights from the optional package ${FACE_API}: npm install ${FACE_API}; or use init 'random'`);
  }
  const manifestFile = path.join(dir, 'ssd_mobilenetv1_model-weights_manifest.json');
  let manifest: tf.io.WeightsManifestConfig;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as tf.io.WeightsManifestConfig;
  } catch (err) {
    throw new CorruptFileError(manifestFile, `cannot read the weights manifest: ${(err as Error).message}`);
  }
  const specs = manifest.flatMap((g) => g.weights);
  const buffers = manifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  const data = Buffer.concat(buffers);
  return tf.io.decodeWeights(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), specs);
}

/** Sets every backbone layer of a mobileNetV1 x1.0 model from the detector's weights. */
function loadFaceDetectorBackbone(model: tf.LayersModel): void {
  const w = readFaceDetectorWeights();
  try {
    const get = (name: string, shape: number[]): tf.Tensor => {
      const t = w[`MobilenetV1/${name}`];
      if (!t || t.shape.join() !== shape.join()) {
        throw new CorruptFileError(`${FACE_API}/model`, `weight MobilenetV1/${name}: expected shape [${shape}], got ${t ? `[${t.shape}]` : 'none'}`);
      }
      return t;
    };
    const setConv = (layer: string, tfName: string) => {
      const l = model.getLayer(layer);
      const [k] = l.getWeights();
      l.setWeights([get(`${tfName}/weights`, k.shape), get(`${tfName}/convolution_bn_offset`, [k.shape[3] as number])]);
    };
    setConv('Conv2d_0', 'Conv2d_0_pointwise');
    BLOCKS.forEach((_, i) => {
      const name = `Conv2d_${i + 1}`;
      const dw = model.getLayer(`${name}_depthwise`);
      const shape = dw.getWeights()[0].shape; // [3, 3, C_in, 1]
      const cin = shape[2] as number;
      dw.setWeights([get(`${name}_depthwise/depthwise_weights`, shape)]);
      const bn = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((p) => get(`${name}_depthwise/BatchNorm/${p}`, [cin]));
      model.getLayer(`${name}_depthwise_BN`).setWeights(bn);
      setConv(`${name}_pointwise`, `${name}_pointwise`);
    });
  } finally {
    tf.dispose(Object.values(w));
  }
}
