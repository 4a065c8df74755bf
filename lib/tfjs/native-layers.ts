/**
 * Fused native paths for the two layers that dominate a MobileNetV2 training step once the
 * convolutions are native: BatchNormalization in training mode (tfjs builds it from ~30
 * broadcasting element-wise ops and transposing reductions, forward and backward) and
 * ReLU with a maxValue (relu + clipByValue, and four mask ops in the gradient). Each becomes
 * one custom cpu kernel with its own gradient kernel; the layers' `call` is patched to use
 * them on the cpu backend and restored by `patchLayers(false)`.
 *
 * Where a model runs a BatchNormalization whose only consumer is a capped ReLU (MobileNetV2's
 * BN + ReLU6 pairs), the two run as one kernel (BN_RELU_TRAIN): the BN writes the capped output
 * in its own pass, the ReLU layer passes it on, and the gradient is one pass pair instead of
 * the ReLU gradient's plus the BN gradient's; two of the five full-tensor passes forward and
 * three of the eight backward go, with a kernel call each way. The layers, their weights and
 * the model's graph stay as they are; only the execution fuses, and only inside a model call
 * (LayersModel.call, patched to record which model runs) where the graph shows the pair: the
 * BN layer used once, its output not a model output, the ReLU its only consumer and used once.
 * The result is bit-identical to the two kernels run apart (test/nn-fused-bn-relu.test.ts).
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
/** BN_TRAIN with a capped ReLU fused into its output (attrs: epsilon, momentum, cap). */
export const BN_RELU_TRAIN = 'AcrBatchNormReluCapTrain';
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
  const bnForward: tf.KernelFunc = (a) => {
    const { inputs: { x, gamma, beta, movingMean, movingVariance }, backend, attrs } = args(a);
    const C = x.shape[x.shape.length - 1];
    const y = outputArray(backend, x.shape.reduce((p, q) => p * q, 1));
    const mean = new Float32Array(C), variance = new Float32Array(C);
    const xv = f32(backend, x), g = f32(backend, gamma), b = f32(backend, beta);
    const cap = attrs.cap as number | undefined; // BN_RELU_TRAIN only
    call((n) => n.nnBatchNormTrain(xv, g, b, y, mean, variance, C, attrs.epsilon as number, cap ?? -1));
    // The moving statistics' update, as the stock layer computes it in float32 tensor ops
    // (old - (old - value) * (1 - momentum)): here, instead of six engine ops per layer.
    const keep = Math.fround(1 - (attrs.momentum as number));
    const moved = (old: Float32Array, value: Float32Array) =>
      old.map((o, c) => Math.fround(o - Math.fround(Math.fround(o - value[c]) * keep)));
    const info = (v: Float32Array) => backend.makeTensorInfo([C], 'float32', v);
    return [backend.makeTensorInfo(x.shape, 'float32', y), info(mean), info(variance),
      info(moved(f32(backend, movingMean), mean)), info(moved(f32(backend, movingVariance), variance))];
  };
  tf.registerKernel({ kernelName: BN_TRAIN, backendName: 'cpu', kernelFunc: bnForward });
  tf.registerKernel({ kernelName: BN_RELU_TRAIN, backendName: 'cpu', kernelFunc: bnForward });
  tf.registerKernel({
    kernelName: BN_TRAIN_GRAD, backendName: 'cpu', kernelFunc: (a) => {
      const { inputs: { dy, x, gamma, mean, variance, beta }, backend, attrs } = args(a);
      const C = x.shape[x.shape.length - 1];
      const dx = outputArray(backend, x.shape.reduce((p, q) => p * q, 1));
      const dgamma = new Float32Array(C), dbeta = new Float32Array(C);
      const dyv = f32(backend, dy), xv = f32(backend, x), g = f32(backend, gamma);
      const m = f32(backend, mean), v = f32(backend, variance);
      // With a cap (BN_RELU_TRAIN's gradient): beta recomputes the pre-activation for the gate.
      const cap = attrs.cap as number | undefined;
      const bv = cap != null && beta ? f32(backend, beta) : null;
      call((n) => n.nnBatchNormTrainGrad(dyv, xv, g, m, v, dx, dgamma, dbeta, C, attrs.epsilon as number, bv, cap ?? -1));
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
  tf.registerGradient({
    kernelName: BN_RELU_TRAIN,
    inputsToSave: ['x', 'gamma', 'beta'],
    outputsToSave: [false, true, true, false, false],
    gradFunc: (dys, saved, attrs) => {
      const [x, gamma, beta, mean, variance] = saved;
      const dy = Array.isArray(dys) ? dys[0] : dys;
      const [dx, dgamma, dbeta] = tf.engine().runKernel(BN_TRAIN_GRAD, { dy, x, gamma, mean, variance, beta },
        attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
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
interface GraphNode { outboundLayer?: unknown; inputTensors?: unknown[] }
interface GraphLayer { inboundNodes?: GraphNode[]; outboundNodes?: GraphNode[]; output?: unknown; getClassName(): string }
interface Model { layers?: unknown[]; outputs?: unknown[] }

let fusion = true;
/** Turns the BN + capped ReLU fusion on or off (on by default; off: the two kernels run apart). */
export function setBatchNormReluFusion(on: boolean): void {
  fusion = on;
}

/** The models whose call is running (innermost last): fusion looks at the innermost one's graph. */
const running: Model[] = [];
/** Fused BN outputs, each already capped for the one ReLU layer that will receive it. */
const fusedFor = new WeakMap<tf.Tensor, unknown>();

/**
 * The cap of the ReLU that can take this BN layer's output fused, or null: inside a model call,
 * the BN layer used once in the graph, its output not among the model's outputs, consumed by
 * exactly one node, whose layer is a capped ReLU of the same model used once.
 */
function fusableCap(bn: GraphLayer): { cap: number; relu: unknown } | null {
  const model = running[running.length - 1];
  if (!fusion || !model || !originals.has('ReLU')) return null;
  if (bn.inboundNodes?.length !== 1 || bn.outboundNodes?.length !== 1) return null;
  const node = bn.outboundNodes[0];
  const relu = node.outboundLayer as (GraphLayer & ReluLayer) | undefined;
  if (!relu || relu.getClassName() !== 'ReLU' || node.inputTensors?.length !== 1 || relu.inboundNodes?.length !== 1) return null;
  const cap = relu.maxValue;
  if (cap == null || !(cap >= 0)) return null;
  if (!model.layers?.includes(bn) || !model.layers.includes(relu) || model.outputs?.includes(bn.output)) return null;
  return { cap, relu };
}

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
    const fused = fusableCap(this as GraphLayer);
    const y = tf.tidy(() => {
      const [out, , , newMean, newVariance] = tf.engine().runKernel(fused ? BN_RELU_TRAIN : BN_TRAIN, {
        x, gamma: layer.gamma!.read(), beta: layer.beta!.read(),
        movingMean: layer.movingMean.read(), movingVariance: layer.movingVariance.read(),
      }, fused ? { epsilon: layer.epsilon, momentum: layer.momentum, cap: fused.cap }
        : { epsilon: layer.epsilon, momentum: layer.momentum }) as tf.Tensor[];
      layer.movingMean.write(newMean);
      layer.movingVariance.write(newVariance);
      return out;
    });
    if (fused) {
      layerCalls.BatchNormalizationReLUFused = (layerCalls.BatchNormalizationReLUFused ?? 0) + 1;
      fusedFor.set(y, fused.relu);
    }
    return y;
  };
}

function reluCall(original: LayerCall): LayerCall {
  return function (this: unknown, inputs, kwargs) {
    const cap = (this as ReluLayer).maxValue;
    const x = single(inputs);
    if (!x || cap == null || !(cap >= 0)) return original.call(this, inputs, kwargs);
    layerCalls.ReLU = (layerCalls.ReLU ?? 0) + 1;
    // Already capped by the fused BN kernel for this very layer: pass it on (a new tensor on
    // the same data, so nothing downstream can dispose the BN's output under the ReLU's name;
    // tfjs-layers would clone an unchanged input anyway).
    if (fusedFor.get(x) === this) return x.clone();
    return tf.engine().runKernel(RELU_CAP, { x }, { cap }) as tf.Tensor;
  };
}

function modelCall(original: LayerCall): LayerCall {
  return function (this: unknown, inputs, kwargs) {
    running.push(this as Model);
    try {
      return original.call(this, inputs, kwargs);
    } finally {
      running.pop();
    }
  };
}

/** The class whose prototype owns the functional models' call (Container, LayersModel's base). */
function containerPrototype(): { call: LayerCall } | null {
  for (let p = tf.LayersModel.prototype as object | null; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (Object.prototype.hasOwnProperty.call(p, 'call')) return p as { call: LayerCall };
  }
  return null;
}
let originalModelCall: LayerCall | null = null;

const PATCHES: Array<[string, (original: LayerCall) => LayerCall]> = [
  ['BatchNormalization', batchNormCall],
  ['ReLU', reluCall],
];
const originals = new Map<string, LayerCall>();

function layerClass(name: string): { prototype: { call: LayerCall } } | undefined {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[name];
  return entry?.[0] as unknown as { prototype: { call: LayerCall } } | undefined;
}

// tfjs' Add layer starts its sum from a clone of the first input: an Identity kernel forward and a
// Cast backward per residual connection for nothing (a + b has the same bits as clone(a) + b).
type MergeFunction = (this: unknown, inputs: tf.Tensor[]) => tf.Tensor;
let originalAddMerge: MergeFunction | null = null;
function addMerge(original: MergeFunction): MergeFunction {
  return function (this: unknown, inputs) {
    if (inputs.length < 2) return original.call(this, inputs);
    layerCalls.Add = (layerCalls.Add ?? 0) + 1;
    return tf.tidy(() => inputs.slice(1).reduce((sum, t) => tf.add(sum, t), inputs[0]));
  };
}

/** Installs (true) or removes (false) the fused layer paths. */
export function patchLayers(on: boolean): void {
  const add = layerClass('Add')?.prototype as unknown as { mergeFunction: MergeFunction } | undefined;
  if (on) {
    registerKernels();
    if (add && !originalAddMerge) {
      originalAddMerge = add.mergeFunction;
      add.mergeFunction = addMerge(originalAddMerge);
    }
    for (const [name, make] of PATCHES) {
      const cls = layerClass(name);
      if (!cls || originals.has(name)) continue;
      originals.set(name, cls.prototype.call);
      cls.prototype.call = make(cls.prototype.call);
    }
    const proto = containerPrototype();
    if (proto && !originalModelCall) {
      originalModelCall = proto.call;
      proto.call = modelCall(proto.call);
    }
  } else {
    if (add && originalAddMerge) add.mergeFunction = originalAddMerge;
    originalAddMerge = null;
    const proto = containerPrototype();
    if (proto && originalModelCall) proto.call = originalModelCall;
    originalModelCall = null;
    for (const [name, original] of originals) {
      const cls = layerClass(name);
      if (cls) cls.prototype.call = original;
    }
    originals.clear();
  }
}
