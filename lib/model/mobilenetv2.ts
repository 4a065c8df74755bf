/**
 * MobileNetV2 (Sandler et al. 2018) as a landmark regressor: the Keras reference backbone
 * (same block table, channel rounding, layer names, BatchNorm epsilon) followed by one of three
 * heads and a linear dense layer with 2L outputs (normalised crop coordinates):
 * - 'gap': global average pooling of the last feature map (the Keras classifier's head);
 * - 'gdconv': a global depthwise convolution (MobileFaceNet's GDConv, Chen et al. 2018): a
 *   depthwise kernel as large as the last map, so each channel weighs each position instead of
 *   averaging them away. It starts as the average (every tap 1 / (h w)), so training starts
 *   where 'gap' does and the layout is learned only where it pays;
 * - 'multiscale': PFLD's idea (Guo et al. 2019): pooled features of the stride-8, stride-16 and
 *   stride-32 stages, plus a branch that keeps the layout of the last map (1x1 reduction, then a
 *   convolution whose kernel covers the whole map: a learned flatten + dense, with BN so its
 *   large fan-in trains at the backbone's learning rate). Measured at x0.5/96 px, 40 epochs: NME
 *   6.87 % against 6.50 % for 'gap' on the held-out 300-W faces (docs/results.md), so 'gap'
 *   stays the default; the option is there to try at other sizes and budgets.
 * Only layer types the ONNX exporter walks are used: Conv2D, DepthwiseConv2D, BatchNormalization,
 * ReLU(maxValue 6), Add, Concatenate, GlobalAveragePooling2D, Flatten, Dropout, Dense.
 */
import * as tf from '@tensorflow/tfjs';
import { ValueRangeError } from '../errors';
import * as v from '../validate';

export interface MobileNetV2Options {
  /** Square input side in pixels (default 224, as the paper; >= 32). */
  inputSize?: number;
  /** Width multiplier alpha (default 1.0): scales every layer's channel count. */
  width?: number;
  /** Landmarks per face; the head has 2 x numLandmarks outputs (default 68). */
  numLandmarks?: number;
  /** Dropout rate before the head (default 0.2). */
  dropout?: number;
  /** Seed for the weight initialisers, so a model is reproducible (default 0). */
  seed?: number;
  /**
   * BatchNorm moving-average momentum (default 0.99). Keras uses 0.999, which needs tens of
   * thousands of steps before the inference statistics forget their initial values; CPU runs
   * here are a few thousand steps (0.999^2000 = 0.14 of the initial value left, 0.99^2000 ~ 0).
   */
  bnMomentum?: number;
  /** Regression head: 'gap' (global average pooling), 'gdconv' or 'multiscale' (default 'gap'; see above). */
  head?: HeadName;
}

export const HEADS = ['gap', 'multiscale', 'gdconv'] as const;
export type HeadName = (typeof HEADS)[number];

/** Expansion t, output channels c, repeats n, first stride s (the paper's Table 2). */
const BLOCKS: ReadonlyArray<readonly [t: number, c: number, n: number, s: number]> = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/** Keras' _make_divisible: round to a multiple of 8, never more than 10% below the request. */
export function makeDivisible(value: number, divisor = 8): number {
  let out = Math.max(divisor, Math.floor(value + divisor / 2) - (Math.floor(value + divisor / 2) % divisor));
  if (out < 0.9 * value) out += divisor;
  return out;
}

/** Per-model build settings: a deterministic initialiser per layer (seed + running index), BN momentum. */
class Seeds {
  private n = 0;
  constructor(
    private readonly base: number,
    readonly bnMomentum: number,
  ) {}
  glorot(): ReturnType<typeof tf.initializers.glorotUniform> {
    return tf.initializers.glorotUniform({ seed: this.base * 1009 + this.n++ });
  }
  /**
   * The regression head starts small (glorot variance x 1e-4): 1280 pooled ReLU6 features times a
   * glorot kernel give outputs of ~0.8 where the targets are ~0.2, and the first epochs would
   * be spent shrinking them. Near-zero outputs start at the mean-centred crop's centre instead.
   */
  head(): ReturnType<typeof tf.initializers.varianceScaling> {
    return tf.initializers.varianceScaling({ scale: 1e-4, mode: 'fanAvg', distribution: 'uniform', seed: this.base * 1009 + this.n++ });
  }
}

export function resolveMobileNetV2Options(options?: MobileNetV2Options): Required<MobileNetV2Options> {
  const o = v.options<MobileNetV2Options>('options', options);
  return {
    inputSize: v.integer('inputSize', o.inputSize ?? 224, 32, 4096),
    width: widthMultiplier(o.width ?? 1.0),
    numLandmarks: v.integer('numLandmarks', o.numLandmarks ?? 68, 1, 100000),
    dropout: dropoutRate(o.dropout ?? 0.2),
    seed: v.integer('seed', o.seed ?? 0, 0, 2 ** 31 - 1),
    bnMomentum: momentum(o.bnMomentum ?? 0.99),
    head: v.oneOf('head', o.head ?? 'gap', HEADS),
  };
}

export function widthMultiplier(x: unknown): number {
  const w = v.positiveNumber('width', x);
  // Channel counts scale with it: 1e9 would ask for arrays no engine can allocate.
  if (w > 16) throw new ValueRangeError(`width: expected a width multiplier in (0, 16], got ${w}`);
  return w;
}

export function momentum(x: unknown): number {
  const m = v.finiteNumber('bnMomentum', x);
  if (!(m >= 0 && m < 1)) throw new ValueRangeError(`bnMomentum: expected a value in [0, 1), got ${m}`);
  return m;
}

export function dropoutRate(x: unknown): number {
  const r = v.finiteNumber('dropout', x);
  if (!(r >= 0 && r < 1)) throw new ValueRangeError(`dropout: expected a rate in [0, 1), got ${r}`);
  return r;
}

function convBn(x: tf.SymbolicTensor, filters: number, kernel: number, stride: number, name: string, bnName: string, seeds: Seeds): tf.SymbolicTensor {
  const conv = tf.layers.conv2d({ filters, kernelSize: kernel, strides: stride, padding: 'same', useBias: false, kernelInitializer: seeds.glorot(), name });
  const bn = tf.layers.batchNormalization({ momentum: seeds.bnMomentum, epsilon: 1e-3, name: bnName });
  return bn.apply(conv.apply(x)) as tf.SymbolicTensor;
}

function relu6(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return tf.layers.reLU({ maxValue: 6, name }).apply(x) as tf.SymbolicTensor;
}

function invertedResidual(x: tf.SymbolicTensor, t: number, filters: number, stride: number, block: number, seeds: Seeds): tf.SymbolicTensor {
  const inChannels = x.shape[3] as number;
  const prefix = block === 0 ? 'expanded_conv_' : `block_${block}_`;
  let h = x;
  if (t !== 1) {
    h = relu6(convBn(h, inChannels * t, 1, 1, `${prefix}expand`, `${prefix}expand_BN`, seeds), `${prefix}expand_relu`);
  }
  const dw = tf.layers.depthwiseConv2d({
    kernelSize: 3,
    strides: stride,
    padding: 'same',
    useBias: false,
    depthwiseInitializer: seeds.glorot(),
    name: `${prefix}depthwise`,
  });
  h = tf.layers.batchNormalization({ momentum: seeds.bnMomentum, epsilon: 1e-3, name: `${prefix}depthwise_BN` }).apply(dw.apply(h)) as tf.SymbolicTensor;
  h = relu6(h, `${prefix}depthwise_relu`);
  h = convBn(h, filters, 1, 1, `${prefix}project`, `${prefix}project_BN`, seeds);
  if (stride === 1 && inChannels === filters) {
    h = tf.layers.add({ name: `${prefix}add` }).apply([x, h]) as tf.SymbolicTensor;
  }
  return h;
}

interface Features {
  /** Last 1x1 conv + ReLU6 (stride 32): what Keras' include_top=False returns. */
  out: tf.SymbolicTensor;
  /** Outputs of the last block of the stride-8 and stride-16 stages (the multiscale head's taps). */
  stride8: tf.SymbolicTensor;
  stride16: tf.SymbolicTensor;
}

/** The backbone: input -> feature maps. */
function backbone(input: tf.SymbolicTensor, width: number, seeds: Seeds): Features {
  let x = relu6(convBn(input, makeDivisible(32 * width), 3, 2, 'Conv1', 'bn_Conv1', seeds), 'Conv1_relu');
  let block = 0;
  let stride = 2;
  const taps: Partial<Record<8 | 16, tf.SymbolicTensor>> = {};
  for (const [t, c, n, s] of BLOCKS) {
    const filters = makeDivisible(c * width);
    for (let i = 0; i < n; i++) x = invertedResidual(x, t, filters, i === 0 ? s : 1, block++, seeds);
    stride *= s;
    if (stride === 8 || stride === 16) taps[stride] = x; // the stage's last block wins
  }
  const last = width > 1.0 ? makeDivisible(1280 * width) : 1280;
  return { out: relu6(convBn(x, last, 1, 1, 'Conv_1', 'Conv_1_bn', seeds), 'out_relu'), stride8: taps[8]!, stride16: taps[16]! };
}

const gap = (x: tf.SymbolicTensor, name: string) => tf.layers.globalAveragePooling2d({ name }).apply(x) as tf.SymbolicTensor;

/** The 'gdconv' head (see the file comment): [B, h, w, C] -> [B, C], equal to global average pooling at initialisation. */
export function globalDepthwise(x: tf.SymbolicTensor, name = 'head_gdconv'): tf.SymbolicTensor {
  const [h, w] = [x.shape[1] as number, x.shape[2] as number];
  const dw = tf.layers.depthwiseConv2d({
    kernelSize: [h, w], padding: 'valid', useBias: false, depthwiseInitializer: tf.initializers.constant({ value: 1 / (h * w) }), name,
  });
  return tf.layers.flatten({ name: `${name}_flatten` }).apply(dw.apply(x)) as tf.SymbolicTensor;
}

/** Features for the dense layer (see the file comment). */
function head(f: Features, kind: HeadName, seeds: Seeds): tf.SymbolicTensor {
  if (kind === 'gap') return gap(f.out, 'global_average_pooling2d');
  if (kind === 'gdconv') return globalDepthwise(f.out);
  // The whole-map kernel: the last map's side (ceil of input / 32 under 'same' padding).
  const side = f.out.shape[1] as number;
  let s = relu6(convBn(f.out, 64, 1, 1, 'head_reduce', 'head_reduce_BN', seeds), 'head_reduce_relu');
  const full = tf.layers.conv2d({ filters: 128, kernelSize: side, padding: 'valid', useBias: false, kernelInitializer: seeds.glorot(), name: 'head_spatial' });
  s = relu6(tf.layers.batchNormalization({ momentum: seeds.bnMomentum, epsilon: 1e-3, name: 'head_spatial_BN' }).apply(full.apply(s)) as tf.SymbolicTensor, 'head_spatial_relu');
  const parts = [gap(f.stride8, 'head_pool_s8'), gap(f.stride16, 'head_pool_s16'), gap(f.out, 'global_average_pooling2d'), gap(s, 'head_pool_spatial')];
  return tf.layers.concatenate({ axis: -1, name: 'head_concat' }).apply(parts) as tf.SymbolicTensor;
}

/** MobileNetV2 landmark regressor: [B, S, S, 3] images -> [B, 2L] coordinates. */
export function mobileNetV2(options?: MobileNetV2Options): tf.LayersModel {
  const o = resolveMobileNetV2Options(options);
  const seeds = new Seeds(o.seed, o.bnMomentum);
  const input = tf.input({ shape: [o.inputSize, o.inputSize, 3], name: 'image' });
  let x = head(backbone(input, o.width, seeds), o.head, seeds);
  x = tf.layers.dropout({ rate: o.dropout, name: 'dropout' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: 2 * o.numLandmarks, activation: 'linear', kernelInitializer: seeds.head(), name: 'landmarks' })
    .apply(x) as tf.SymbolicTensor;
  const suffix = o.head === 'gap' ? '' : `_${o.head}`;
  return tf.model({ inputs: input, outputs: out, name: `mobilenetv2_${o.width}_${o.inputSize}${suffix}` });
}

/** The backbone as its own model (no pooling/head), e.g. to compare with Keras' include_top=False. */
export function mobileNetV2Backbone(options?: MobileNetV2Options): tf.LayersModel {
  const o = resolveMobileNetV2Options(options);
  const input = tf.input({ shape: [o.inputSize, o.inputSize, 3], name: 'image' });
  return tf.model({ inputs: input, outputs: backbone(input, o.width, new Seeds(o.seed, o.bnMomentum)).out, name: 'mobilenetv2_backbone' });
}
