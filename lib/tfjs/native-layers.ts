/**
 * Fused native paths for the two layers that dominate a MobileNetV2 training step once the
 * convolutions are native: BatchNormalization in training mode (tfjs builds it from ~30
 * broadcasting element-wise ops and transposing reductions, forward and backward) and
 * ReLU with a maxValue (relu + clipByValue, and four mask ops in the gradient). Each becomes
 * one custom cpu kernel with its own gradient kernel; the layers' `call` is patched to use
 * them on the cpu backend and restored by `patchLayers(false)`.
 */
import * as tf from '@tensorflow/tfjs';
import { call } from '../binding';
import { inputValues, outputArray } from './alloc';

type CpuBackend = tf.KernelBackend & {
  readSync(dataId: tf.DataId): unknown;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
};
type Kwargs = Record<string, unknown>;
type LayerCall = (this: unknown, inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs) => tf.Tensor | tf.Tensor[];

export const BN_TRAIN = 'AcrBatchNormTrain';
export const BN_TRAIN_GRAD = 'AcrBatchNormTrainGrad';
export const RELU_CAP = 'AcrReluCap';
export const RELU_CAP_GRAD = 'AcrReluCapGrad';

function f32(backend: CpuBackend, t: tf.TensorInfo): Float32Array {
  const v = inputValues(backend, t.dataId);
  if (!(v instanceof Float32Array)) throw new TypeError(`${t.dtype} tensor where float32 was expected`);
  return v;
}

function args(a: unknown): { inputs: Record<string, tf.TensorInfo>; backend: CpuBackend; attrs: Record<string, unknown> } {
  return a as never;
}

let registered = false;

function registerKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: BN_TRAIN, backendName: 'cpu', kernelFunc: (a) => {
      const { inputs: { x, gamma, beta, movingMean, movingVariance }, backend, attrs } = args(a);
      const C = x.shape[x.shape.length - 1];
      const y = outputArray(backend, x.shape.reduce((p, q) => p * q, 1));
      const mean = new Float32Array(C), variance = new Float32Array(C);
      const xv = f32(backend, x), g = f32(backend, gamma), b = f32(backend, beta);
      call((n) => n.nnBatchNormTrain(xv, g, b, y, mean, variance, C, attrs.epsilon as number));
      // The moving statistics' update, as the stock layer computes it in float32 tensor ops
      // (old - (old - value) * (1 - momentum)): here, instead of six engine ops per layer.
      const keep = Math.fround(1 - (attrs.momentum as number));
      const moved = (old: Float32Array, value: Float32Array) =>
        old.map((o, c) => Math.fround(o - Math.fround(Math.fround(o - value[c]) * keep)));
      const info = (v: Float32Array) => backend.makeTensorInfo([C], 'float32', v);
      return [backend.makeTensorInfo(x.shape, 'float32', y), info(mean), info(variance),
        info(moved(f32(backend, movingMean), mean)), info(moved(f32(backend, movingVariance), variance))];
    },
  });
  tf.registerKernel({
    kernelName: BN_TRAIN_GRAD, backendName: 'cpu', kernelFunc: (a) => {
      const { inputs: { dy, x, gamma, mean, variance }, backend, attrs } = args(a);
      const C = x.shape[x.shape.length - 1];
      const dx = outputArray(backend, x.shape.reduce((p, q) => p * q, 1));
      const dgamma = new Float32Array(C), dbeta = new Float32Array(C);
      const dyv = f32(backend, dy), xv = f32(backend, x), g = f32(backend, gamma);
      const m = f32(backend, mean), v = f32(backend, variance);
      call((n) => n.nnBatchNormTrainGrad(dyv, xv, g, m, v, dx, dgamma, dbeta, C, attrs.epsilon as number));
      return [backend.makeTensorInfo(x.shape, 'float32', dx), backend.makeTensorInfo([C], 'float32', dgamma),
        backend.makeTensorInfo([C], 'float32', dbeta)];
    },
  });
  tf.registerGradient({
    kernelName: BN_TRAIN,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true, false, false],
    gradFunc: (dys, saved, attrs) => {
      const [x, gamma, mean, variance] = saved;
      const dy = Array.isArray(dys) ? dys[0] : dys;
      const [dx, dgamma, dbeta] = tf.engine().runKernel(BN_TRAIN_GRAD, { dy, x, gamma, mean, variance },
        attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      // The moving statistics are not trained (and are pruned from the tape); zeros if asked.
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta,
        movingMean: () => tf.zerosLike(mean), movingVariance: () => tf.zerosLike(variance) };
    },
  });
  tf.registerKernel({
    kernelName: RELU_CAP, backendName: 'cpu', kernelFunc: (a) => {
      const { inputs: { x }, backend, attrs } = args(a);
      const y = outputArray(backend, x.shape.reduce((p, q) => p * q, 1));
      const xv = f32(backend, x);
      call((n) => n.nnReluCap(xv, y, attrs.cap as number));
      return backend.makeTensorInfo(x.shape, 'float32', y);
    },
  });
  tf.registerKernel({
    kernelName: RELU_CAP_GRAD, backendName: 'cpu', kernelFunc: (a) => {
      const { inputs: { dy, x }, backend, attrs } = args(a);
      const dx = outputArray(backend, x.shape.reduce((p, q) => p * q, 1));
      const dyv = f32(backend, dy), xv = f32(backend, x);
      call((n) => n.nnReluCapGrad(dyv, xv, dx, attrs.cap as number));
      return backend.makeTensorInfo(x.shape, 'float32', dx);
    },
  });
  tf.registerGradient({
    kernelName: RELU_CAP,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      return { x: () => tf.engine().runKernel(RELU_CAP_GRAD, { dy: dy as tf.Tensor, x }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor };
    },
  });
}

interface BatchNormLayer {
  axis: number; momentum: number; epsilon: number;
  gamma: tf.LayerVariable | null; beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable; movingVariance: tf.LayerVariable;
}
interface ReluLayer { maxValue: number | null | undefined }

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor | null {
  const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : null) : inputs;
  return x && x.dtype === 'float32' && tf.getBackend() === 'cpu' ? x : null;
}

/** Calls made through the fused native layer paths, per layer class (for nativeKernelStats). */
export const layerCalls: Record<string, number> = {};

function batchNormCall(original: LayerCall): LayerCall {
  return function (this: unknown, inputs, kwargs) {
    const layer = this as BatchNormLayer;
    const x = single(inputs);
    const axis = x ? (layer.axis < 0 ? layer.axis + x.rank : layer.axis) : -1;
    if (!x || !kwargs?.training || axis !== x.rank - 1 || x.rank < 2 || !layer.gamma || !layer.beta) {
      return original.call(this, inputs, kwargs);
    }
    layerCalls.BatchNormalization = (layerCalls.BatchNormalization ?? 0) + 1;
    return tf.tidy(() => {
      const [y, , , newMean, newVariance] = tf.engine().runKernel(BN_TRAIN, {
        x, gamma: layer.gamma!.read(), beta: layer.beta!.read(),
        movingMean: layer.movingMean.read(), movingVariance: layer.movingVariance.read(),
      }, { epsilon: layer.epsilon, momentum: layer.momentum }) as tf.Tensor[];
      layer.movingMean.write(newMean);
      layer.movingVariance.write(newVariance);
      return y;
    });
  };
}

function reluCall(original: LayerCall): LayerCall {
  return function (this: unknown, inputs, kwargs) {
    const cap = (this as ReluLayer).maxValue;
    const x = single(inputs);
    if (!x || cap == null || !(cap >= 0)) return original.call(this, inputs, kwargs);
    layerCalls.ReLU = (layerCalls.ReLU ?? 0) + 1;
    return tf.engine().runKernel(RELU_CAP, { x }, { cap }) as tf.Tensor;
  };
}

const PATCHES: Array<[string, (original: LayerCall) => LayerCall]> = [
  ['BatchNormalization', batchNormCall],
  ['ReLU', reluCall],
];
const originals = new Map<string, LayerCall>();

function layerClass(name: string): { prototype: { call: LayerCall } } | undefined {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[name];
  return entry?.[0] as unknown as { prototype: { call: LayerCall } } | undefined;
}

/** Installs (true) or removes (false) the fused layer paths. */
export function patchLayers(on: boolean): void {
  if (on) {
    registerKernels();
    for (const [name, make] of PATCHES) {
      const cls = layerClass(name);
      if (!cls || originals.has(name)) continue;
      originals.set(name, cls.prototype.call);
      cls.prototype.call = make(cls.prototype.call);
    }
  } else {
    for (const [name, original] of originals) {
      const cls = layerClass(name);
      if (cls) cls.prototype.call = original;
    }
    originals.clear();
  }
}
