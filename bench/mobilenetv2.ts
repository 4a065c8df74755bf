/**
 * MobileNetV2 (Keras reference layout: 3x3/2 stem, 17 inverted-residual blocks, 1x1 to 1280,
 * global average pooling, dense head) for the training benchmark and its profile, plus one
 * training step (forward, MSE loss, backward, Adam) as the benchmark times it.
 * Bench-only twin of lib/model/mobilenetv2.ts on the `train` branch, so the benchmark runs
 * before that lands; the layer sequence is the same.
 */
import * as tf from '@tensorflow/tfjs';

const BLOCKS: ReadonlyArray<readonly [number, number, number, number]> = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

export function makeDivisible(value: number, divisor = 8): number {
  let out = Math.max(divisor, Math.floor(value + divisor / 2) - (Math.floor(value + divisor / 2) % divisor));
  if (out < 0.9 * value) out += divisor;
  return out;
}

export interface ModelSpec {
  inputSize: number;
  width: number;
  outputs: number;
  /** Keep only the first n inverted-residual blocks (tests use a small net); default all 17. */
  blocks?: number;
  seed?: number;
}

export function mobileNetV2(spec: ModelSpec): tf.LayersModel {
  let seed = (spec.seed ?? 0) * 1009;
  const init = () => tf.initializers.glorotUniform({ seed: seed++ });
  const convBn = (x: tf.SymbolicTensor, filters: number, kernel: number, stride: number) => {
    const c = tf.layers.conv2d({ filters, kernelSize: kernel, strides: stride, padding: 'same', useBias: false, kernelInitializer: init() });
    return tf.layers.batchNormalization({ momentum: 0.999, epsilon: 1e-3 }).apply(c.apply(x)) as tf.SymbolicTensor;
  };
  const relu6 = (x: tf.SymbolicTensor) => tf.layers.reLU({ maxValue: 6 }).apply(x) as tf.SymbolicTensor;
  const input = tf.input({ shape: [spec.inputSize, spec.inputSize, 3] });
  let x = relu6(convBn(input, makeDivisible(32 * spec.width), 3, 2));
  let remaining = spec.blocks ?? 17;
  for (const [t, c, n, s] of BLOCKS) {
    const filters = makeDivisible(c * spec.width);
    for (let i = 0; i < n && remaining > 0; i++, remaining--) {
      const inC = x.shape[3] as number, stride = i === 0 ? s : 1;
      let h = x;
      if (t !== 1) h = relu6(convBn(h, inC * t, 1, 1));
      const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: 'same', useBias: false, depthwiseInitializer: init() });
      h = relu6(tf.layers.batchNormalization({ momentum: 0.999, epsilon: 1e-3 }).apply(dw.apply(h)) as tf.SymbolicTensor);
      h = convBn(h, filters, 1, 1);
      x = stride === 1 && inC === filters ? (tf.layers.add().apply([x, h]) as tf.SymbolicTensor) : h;
    }
  }
  x = relu6(convBn(x, spec.width > 1 ? makeDivisible(1280 * spec.width) : 1280, 1, 1));
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: spec.outputs, kernelInitializer: init() }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** One training step: forward in training mode, MSE, gradients, Adam update. Returns the loss. */
export function trainStep(model: tf.LayersModel, opt: tf.Optimizer, x: tf.Tensor, y: tf.Tensor): number {
  const loss = opt.minimize(() => tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true);
  const v = loss!.dataSync()[0];
  loss!.dispose();
  return v;
}

/** Multiply-accumulates of one forward pass (convolutions and dense), for GFLOP/s. */
export function forwardMacs(model: tf.LayersModel): number {
  let macs = 0;
  for (const layer of model.layers) {
    const out = layer.outputShape as number[];
    const cfg = layer.getConfig();
    if (layer.getClassName() === 'Conv2D') {
      const w = layer.getWeights()[0].shape as number[];
      macs += out[1] * out[2] * out[3] * w[0] * w[1] * w[2];
    } else if (layer.getClassName() === 'DepthwiseConv2D') {
      const w = layer.getWeights()[0].shape as number[];
      macs += out[1] * out[2] * out[3] * w[0] * w[1];
    } else if (layer.getClassName() === 'Dense') {
      macs += (cfg.units as number) * (layer.getWeights()[0].shape[0] as number);
    }
  }
  return macs;
}
