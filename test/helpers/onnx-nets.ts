/**
 * Test networks for the ONNX exporter besides the package's own (lib/model), built with tf.layers
 * directly: a small CNN with pooling, flatten and a BatchNorm after a dense layer, and the Keras
 * application's MobileNetV2 variant (ZeroPadding2D + 'valid' depthwise for stride 2), plus a helper
 * that gives every BatchNorm non-trivial moving statistics so that folding is really exercised.
 */
import * as tf from '@tensorflow/tfjs';

/** Deterministic uniform numbers in [lo, hi). */
export function rng(seed: number): (lo?: number, hi?: number) => number {
  let s = seed >>> 0 || 1;
  return (lo = 0, hi = 1) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return lo + ((s >>> 0) / 4294967296) * (hi - lo);
  };
}

export function poolingCnn(size: number, numLandmarks: number): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3] });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 12, kernelSize: 3, padding: 'valid', useBias: false }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'tanh' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 16, activation: 'sigmoid' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2 * numLandmarks }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function makeDivisible(v: number, divisor = 8): number {
  const n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return n < 0.9 * v ? n + divisor : n;
}

/** Keras-application MobileNetV2 (alpha = width, explicit ZeroPadding2D) with a landmark head. */
export function mobileNetV2ZeroPad(size: number, alpha: number, numLandmarks: number): tf.LayersModel {
  const settings: Array<[number, number, number, number]> = [
    [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
  ];
  const bnRelu6 = (x: tf.SymbolicTensor): tf.SymbolicTensor => {
    const y = tf.layers.batchNormalization({ epsilon: 1e-3 }).apply(x) as tf.SymbolicTensor;
    return tf.layers.reLU({ maxValue: 6 }).apply(y) as tf.SymbolicTensor;
  };
  const input = tf.input({ shape: [size, size, 3] });
  let c = makeDivisible(32 * alpha);
  let x = tf.layers.conv2d({ filters: c, kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(input) as tf.SymbolicTensor;
  x = bnRelu6(x);
  for (const [t, ch, n, s] of settings) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const out = makeDivisible(ch * alpha);
      let y = x;
      if (t !== 1) y = bnRelu6(tf.layers.conv2d({ filters: c * t, kernelSize: 1, useBias: false }).apply(y) as tf.SymbolicTensor);
      if (stride === 2) {
        y = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]] }).apply(y) as tf.SymbolicTensor;
        y = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'valid', useBias: false }).apply(y) as tf.SymbolicTensor;
      } else {
        y = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }).apply(y) as tf.SymbolicTensor;
      }
      y = bnRelu6(y);
      y = tf.layers.conv2d({ filters: out, kernelSize: 1, useBias: false }).apply(y) as tf.SymbolicTensor;
      y = tf.layers.batchNormalization({ epsilon: 1e-3 }).apply(y) as tf.SymbolicTensor;
      x = stride === 1 && c === out ? (tf.layers.add().apply([x, y]) as tf.SymbolicTensor) : y;
      c = out;
    }
  }
  const last = alpha > 1 ? makeDivisible(1280 * alpha) : 1280;
  x = bnRelu6(tf.layers.conv2d({ filters: last, kernelSize: 1, useBias: false }).apply(x) as tf.SymbolicTensor);
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.2 }).apply(x) as tf.SymbolicTensor;
  const head = tf.layers.dense({ units: 2 * numLandmarks });
  return tf.model({ inputs: input, outputs: head.apply(x) as tf.SymbolicTensor });
}

/**
 * Random weights where the package's initialisers would make the test weak: every
 * BatchNormalization gets random gamma, beta, moving mean and variance (so folding is exercised)
 * and every Dense layer a glorot-uniform kernel and a random bias (the package's heads start near
 * zero, which would make any output difference look small).
 */
export function randomizeWeights(model: tf.LayersModel, seed: number): void {
  const r = rng(seed);
  const fill = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => r(lo, hi));
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    // getWeights() returns the variables themselves: read their shapes, never dispose them.
    const shapes = layer.getWeights().map((w) => w.shape);
    if (cls === 'BatchNormalization') {
      const c = shapes[0][0];
      // order: gamma (when scale), beta (when center), moving mean, moving variance
      const cfg = layer.getConfig();
      const ws = [tf.tensor1d(fill(c, -0.3, 0.3)), tf.tensor1d(fill(c, 0.5, 2))];
      if (cfg.center !== false) ws.unshift(tf.tensor1d(fill(c, -0.2, 0.2)));
      if (cfg.scale !== false) ws.unshift(tf.tensor1d(fill(c, 0.5, 1.5)));
      layer.setWeights(ws);
    } else if (cls === 'Dense') {
      const [inDim, units] = shapes[0];
      const a = Math.sqrt(6 / (inDim + units));
      layer.setWeights(shapes.map((s, i) => tf.tensor(i === 0 ? fill(inDim * units, -a, a) : fill(units, -0.1, 0.1), s)));
    }
  }
}

/** A random NHWC batch with values in the network's input range [-1, 1]. */
export function randomImages(n: number, size: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * size * size * 3 }, () => r(-1, 1));
}
