/**
 * A tiny CNN landmark regressor for tests and smoke runs: three conv + BN + ReLU6 stages (the
 * last depthwise-separable), global average pooling, dropout and a linear head. Same layer
 * vocabulary as MobileNetV2, so the trainer, IO handler and exporter see the same layer types.
 */
import * as tf from '@tensorflow/tfjs';
import * as v from '../validate';
import { dropoutRate } from './mobilenetv2';

export interface TinyCnnOptions {
  /** Square input side in pixels (default 32; >= 8). */
  inputSize?: number;
  /** Channels of the first stage; later stages double it (default 8). */
  channels?: number;
  numLandmarks?: number;
  /** Dropout before the head (default 0). */
  dropout?: number;
  seed?: number;
}

export function tinyCnn(options?: TinyCnnOptions): tf.LayersModel {
  const o = v.options<TinyCnnOptions>('options', options);
  const size = v.integer('inputSize', o.inputSize ?? 32, 8, 4096);
  const c = v.integer('channels', o.channels ?? 8, 1, 4096);
  const numLandmarks = v.integer('numLandmarks', o.numLandmarks ?? 68, 1, 100000);
  const rate = dropoutRate(o.dropout ?? 0);
  const seed = v.integer('seed', o.seed ?? 0, 0, 2 ** 31 - 1);
  let n = 0;
  const init = () => tf.initializers.glorotUniform({ seed: seed * 1009 + n++ });
  const bnRelu = (x: tf.SymbolicTensor, name: string) =>
    tf.layers.reLU({ maxValue: 6, name: `${name}_relu` }).apply(
      tf.layers.batchNormalization({ momentum: 0.99, epsilon: 1e-3, name: `${name}_BN` }).apply(x),
    ) as tf.SymbolicTensor;

  const input = tf.input({ shape: [size, size, 3], name: 'image' });
  let x = tf.layers.conv2d({ filters: c, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: init(), name: 'conv1' }).apply(input) as tf.SymbolicTensor;
  x = bnRelu(x, 'conv1');
  x = tf.layers.conv2d({ filters: 2 * c, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: init(), name: 'conv2' }).apply(x) as tf.SymbolicTensor;
  x = bnRelu(x, 'conv2');
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 1, padding: 'same', useBias: false, depthwiseInitializer: init(), name: 'conv3_depthwise' }).apply(x) as tf.SymbolicTensor;
  x = bnRelu(x, 'conv3_depthwise');
  x = tf.layers.conv2d({ filters: 4 * c, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: init(), name: 'conv3_project' }).apply(x) as tf.SymbolicTensor;
  x = bnRelu(x, 'conv3_project');
  x = tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate, name: 'dropout' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2 * numLandmarks, kernelInitializer: tf.initializers.varianceScaling({ scale: 1e-4, mode: 'fanAvg', distribution: 'uniform', seed: seed * 1009 + n++ }), name: 'landmarks' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'tiny_cnn' });
}
