/**
 * Native kernels for the TensorFlow.js `cpu` backend. `useNativeKernels(true)` replaces the
 * convolution and matmul kernels (and their gradients' kernels) with ones that run in the
 * addon on the backend's own Float32Arrays, and routes the BatchNormalization (training) and
 * capped ReLU layers through fused native kernels (native-layers.ts) and tf.train.adam's update
 * through one native kernel per variable (native-optimizer.ts), and runs the layers' fused
 * convolutions that fuse nothing as plain ones, whose gradients tfjs computes lazily
 * (native-ops.ts); `useNativeKernels(false)` puts the stock kernels, layer, optimizer and op
 * code back. Attribute combinations the native code does not cover (NCHW, prelu, non-float32,
 * odd bias broadcasts) go to the stock kernel and are counted in `nativeKernelStats()`.
 */
import * as tf from '@tensorflow/tfjs';
import { call } from '../binding';
import { bufferPoolStats, BufferPoolStats, inputValues, outputArray, setBufferRecycling } from './alloc';
import { ArgumentError } from '../errors';
import { ACTIVATION_CODES, GemmActivation } from '../kernels/nn';
import * as v from '../validate';
import { layerCalls, patchLayers, setBatchNormReluFusion } from './native-layers';
import { optimizerCalls, patchOptimizers } from './native-optimizer';
import { opCalls, patchOps } from './native-ops';

type KernelArgs = Parameters<tf.KernelFunc>[0];
type CpuBackend = tf.KernelBackend & {
  readSync(dataId: tf.DataId): unknown;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
};
type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

/** Calls per kernel since the last reset: run natively, or handed to the stock kernel. */
export interface NativeKernelStats {
  enabled: boolean;
  /** Whether malloc was told to keep freed memory (see NativeKernelOptions). */
  retainFreedMemory: boolean;
  /** The recycled output arrays (see NativeKernelOptions.recycleBuffers). */
  bufferPool: BufferPoolStats;
  native: Record<string, number>;
  fallback: Record<string, number>;
}

const BACKEND = 'cpu';
const stats = { enabled: false, native: {} as Record<string, number>, fallback: {} as Record<string, number> };
const stock = new Map<string, tf.KernelConfig>();

/** Thrown inside a native kernel to hand the call to the stock kernel. */
class Fallback extends Error {}

function bump(table: Record<string, number>, name: string): void {
  table[name] = (table[name] ?? 0) + 1;
}

function values(backend: CpuBackend, t: tf.TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Fallback();
  const vals = inputValues(backend, t.dataId);
  if (!(vals instanceof Float32Array)) throw new Fallback();
  return vals;
}

function activationCode(name: unknown): number {
  const a = (name ?? 'linear') as string;
  if (!(a in ACTIVATION_CODES)) throw new Fallback(); // prelu and anything new
  return ACTIVATION_CODES[a as GemmActivation];
}

/** A bias the native epilogue can add: one value per output channel (last axis). */
function biasValues(backend: CpuBackend, bias: tf.TensorInfo | undefined, channels: number): Float32Array | null {
  if (!bias) return null;
  const size = bias.shape.reduce((a, b) => a * b, 1);
  if (size !== channels || bias.shape[bias.shape.length - 1] !== channels) throw new Fallback();
  return values(backend, bias);
}

function nhwc(dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') throw new Fallback();
}

function geometry(c: Conv2DInfo): number[] {
  return [c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.outChannels,
    c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth,
    c.padInfo.top, c.padInfo.left];
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

type Attrs = Record<string, unknown>;
type Impl = (backend: CpuBackend, inputs: Record<string, tf.TensorInfo>, attrs: Attrs) => tf.TensorInfo;

function convInfo(xShape: number[], filterShape: number[], a: Attrs, depthwise: boolean, dilations?: unknown): Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    a.strides as [number, number], (dilations ?? a.dilations ?? 1) as [number, number],
    a.pad as 'same' | 'valid', a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined, depthwise);
}

function forwardConv(depthwise: boolean, fused: boolean): Impl {
  return (backend, { x, filter, bias, preluActivationWeights }, a) => {
    nhwc(a.dataFormat);
    if (x.shape.length !== 4 || filter.shape.length !== 4 || preluActivationWeights) throw new Fallback();
    const act = fused ? activationCode(a.activation) : 0;
    const info = convInfo(x.shape, filter.shape, a, depthwise);
    const xv = values(backend, x), fv = values(backend, filter);
    const b = fused ? biasValues(backend, bias, info.outChannels) : null;
    const out = outputArray(backend, size(info.outShape));
    const alpha = fused ? ((a.leakyreluAlpha as number | undefined) ?? 0.2) : 0;
    call((n) => (depthwise ? n.nnDepthwise : n.nnConv2d)(xv, fv, b, out, geometry(info), act, alpha));
    return backend.makeTensorInfo(info.outShape, 'float32', out);
  };
}

function backpropInput(depthwise: boolean): Impl {
  return (backend, { dy, filter }, a) => {
    nhwc(a.dataFormat);
    const inputShape = a.inputShape as number[];
    if (dy.shape.length !== 4 || filter.shape.length !== 4 || inputShape.length !== 4) throw new Fallback();
    // Conv2DBackpropInput carries no dilations in tfjs (its gradient asserts they are 1).
    const info = convInfo(inputShape, filter.shape, a, depthwise, depthwise ? a.dilations : 1);
    if (size(info.outShape) !== size(dy.shape)) throw new Fallback();
    const out = outputArray(backend, size(inputShape));
    const dyv = values(backend, dy), fv = values(backend, filter);
    call((n) => (depthwise ? n.nnDepthwiseBackpropInput : n.nnConv2dBackpropInput)(dyv, fv, out, geometry(info)));
    return backend.makeTensorInfo(inputShape, 'float32', out);
  };
}

function backpropFilter(depthwise: boolean): Impl {
  return (backend, { x, dy }, a) => {
    nhwc(a.dataFormat);
    const filterShape = a.filterShape as number[];
    if (x.shape.length !== 4 || dy.shape.length !== 4 || filterShape.length !== 4) throw new Fallback();
    const info = convInfo(x.shape, filterShape, a, depthwise, depthwise ? a.dilations : 1);
    if (size(info.outShape) !== size(dy.shape)) throw new Fallback();
    const out = outputArray(backend, size(filterShape));
    const xv = values(backend, x), dyv = values(backend, dy);
    call((n) => (depthwise ? n.nnDepthwiseBackpropFilter : n.nnConv2dBackpropFilter)(xv, dyv, out, geometry(info)));
    return backend.makeTensorInfo(filterShape, 'float32', out);
  };
}

function matMul(fused: boolean): Impl {
  return (backend, { a, b, bias, preluActivationWeights }, attrs) => {
    if (a.shape.length < 2 || b.shape.length < 2 || preluActivationWeights) throw new Fallback();
    const ta = !!attrs.transposeA, tb = !!attrs.transposeB;
    const ra = a.shape.length, rb = b.shape.length;
    const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
    const k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
    const kb = tb ? b.shape[rb - 1] : b.shape[rb - 2];
    const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
    if (k !== kb) throw new Fallback(); // let the stock kernel raise its own error
    const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
    const batchA = size(outerA), batchB = size(outerB);
    const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
    const batch = size(outer);
    // Native batching: equal batches, or one side a single matrix.
    if (!(batchA === batchB || batchA === 1 || batchB === 1) || (batchA !== batch && batchA !== 1) ||
        (batchB !== batch && batchB !== 1)) throw new Fallback();
    if (batchA === batchB && batchA > 1 && outerA.join() !== outerB.join()) throw new Fallback();
    const act = fused ? activationCode(attrs.activation) : 0;
    const bv = fused ? biasValues(backend, bias, n) : null;
    const outShape = [...outer, m, n];
    const out = outputArray(backend, batch * m * n);
    const av = values(backend, a), bvals = values(backend, b);
    const alpha = fused ? ((attrs.leakyreluAlpha as number | undefined) ?? 0.2) : 0;
    call((x) => x.nnMatMul(av, bvals, bv, out, [batchA, batchB, m, n, k], ta, tb, act, alpha));
    return backend.makeTensorInfo(outShape, 'float32', out);
  };
}

const BINARY_OPS: Record<string, number> = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3 };

function binary(op: number): Impl {
  return (backend, { a, b }) => {
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    if (outShape.length > 8) throw new Fallback();
    const pad = (s: number[]) => [...new Array(outShape.length - s.length).fill(1), ...s];
    const out = outputArray(backend, size(outShape));
    const av = values(backend, a), bv = values(backend, b);
    call((n) => n.nnBinary(op, av, pad(a.shape), bv, pad(b.shape), out, outShape));
    return backend.makeTensorInfo(outShape, 'float32', out);
  };
}

/** Sum / Mean over a contiguous run of axes, as [outer, mid, inner]. */
function reduce(mean: boolean): Impl {
  return (backend, { x }, attrs) => {
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((p, q) => p - q);
    if (axes.length === 0 || axes.some((ax, i) => i > 0 && ax !== axes[i - 1] + 1)) throw new Fallback();
    const first = axes[0], last = axes[axes.length - 1];
    const outer = size(x.shape.slice(0, first)), mid = size(x.shape.slice(first, last + 1));
    const inner = size(x.shape.slice(last + 1));
    const outShape = attrs.keepDims ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d))
      : x.shape.filter((_, i) => i < first || i > last);
    const out = outputArray(backend, outer * inner);
    const xv = values(backend, x);
    call((n) => n.nnReduceSum(xv, out, outer, mid, inner, mean ? 1 / mid : 1));
    return backend.makeTensorInfo(outShape, 'float32', out);
  };
}

const IMPLS: Record<string, Impl> = {
  Conv2D: forwardConv(false, false),
  FusedConv2D: forwardConv(false, true),
  DepthwiseConv2dNative: forwardConv(true, false),
  FusedDepthwiseConv2D: forwardConv(true, true),
  Conv2DBackpropInput: backpropInput(false),
  Conv2DBackpropFilter: backpropFilter(false),
  DepthwiseConv2dNativeBackpropInput: backpropInput(true),
  DepthwiseConv2dNativeBackpropFilter: backpropFilter(true),
  BatchMatMul: matMul(false),
  _FusedMatMul: matMul(true),
  ...Object.fromEntries(Object.entries(BINARY_OPS).map(([name, op]) => [name, binary(op)])),
  Sum: reduce(false),
  Mean: reduce(true),
};

/** The kernels `useNativeKernels` replaces on the cpu backend. */
export const NATIVE_KERNEL_NAMES: readonly string[] = Object.keys(IMPLS);

function wrap(name: string, impl: Impl, original: tf.KernelConfig): tf.KernelFunc {
  return (args: KernelArgs) => {
    try {
      const out = impl(args.backend as CpuBackend, args.inputs as Record<string, tf.TensorInfo>, args.attrs as Attrs);
      bump(stats.native, name);
      return out;
    } catch (err) {
      if (!(err instanceof Fallback)) throw err;
      bump(stats.fallback, name);
      return original.kernelFunc(args);
    }
  };
}

function reregister(config: tf.KernelConfig): void {
  tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

export interface NativeKernelOptions {
  /**
   * Tell glibc malloc to keep freed memory in the process (default true). tfjs allocates a
   * new output array per op, and with malloc's defaults every large one is mapped fresh and
   * page-faulted in again; with this the memory is reused, at the price of the process
   * keeping its peak heap. Applies to the whole process and is not undone by turning the
   * kernels off. No effect outside glibc.
   */
  retainFreedMemory?: boolean;
  /**
   * Recycle the native kernels' output arrays once tfjs has disposed of every tensor that
   * holds them (default true): a training step then reuses the previous step's memory instead
   * of allocating ~1 GB anew, which spares V8 a garbage collection every few milliseconds.
   * Arrays a program reads out (dataSync, data, arraySync) are never recycled. Turning the
   * kernels off drops the pool.
   */
  recycleBuffers?: boolean;
  /**
   * Run a BatchNormalization and the capped ReLU that alone consumes it (MobileNetV2's BN +
   * ReLU6) as one native kernel inside model calls (default true): same layers, weights and
   * results bit for bit, two fewer passes over the tensor forward and three fewer backward.
   */
  fuseBatchNormRelu?: boolean;
}

let retained = false;

/**
 * Turns the native cpu kernels on or off. The stock kernels are kept and restored exactly;
 * calling it twice with the same value does nothing. Returns whether they are now on.
 */
export function useNativeKernels(on: boolean, options: NativeKernelOptions = {}): boolean {
  if (typeof on !== 'boolean') throw new ArgumentError(`on: expected a boolean, got ${v.describe(on)}`);
  const o = v.options<NativeKernelOptions>('options', options);
  if (on && (o.retainFreedMemory ?? true) && !retained) retained = call((n) => n.nnRetainFreedMemory());
  setBufferRecycling(on && (o.recycleBuffers ?? true));
  setBatchNormReluFusion(o.fuseBatchNormRelu ?? true);
  if (on === stats.enabled) return on;
  if (on) {
    call(() => undefined); // fail here, with the build hint, if the addon is missing
    for (const name of NATIVE_KERNEL_NAMES) {
      const original = tf.getKernel(name, BACKEND);
      if (!original) continue; // an older tfjs without this kernel: nothing to replace
      stock.set(name, original);
      reregister({ ...original, kernelFunc: wrap(name, IMPLS[name], original) });
    }
    patchLayers(true);
    patchOptimizers(true);
    patchOps(true);
  } else {
    patchLayers(false);
    patchOptimizers(false);
    patchOps(false);
    for (const [, original] of stock) reregister(original);
    stock.clear();
  }
  stats.enabled = on;
  return on;
}

/** Whether the native kernels are registered now. */
export function nativeKernelsEnabled(): boolean {
  return stats.enabled;
}

/** Native and fallback call counts per kernel (a copy). */
export function nativeKernelStats(): NativeKernelStats {
  const layers = Object.fromEntries(Object.entries(layerCalls).map(([k, n]) => [`layer:${k}`, n]));
  if (optimizerCalls.Adam) layers['optimizer:Adam'] = optimizerCalls.Adam;
  if (optimizerCalls.AdamInPlace) layers['optimizer:AdamInPlace'] = optimizerCalls.AdamInPlace;
  if (opCalls.plainConv2d) layers['op:plainConv2d'] = opCalls.plainConv2d;
  if (opCalls.savedWithoutKernel) layers['op:savedWithoutKernel'] = opCalls.savedWithoutKernel;
  if (opCalls.identityGradWithoutKernel) layers['op:identityGradWithoutKernel'] = opCalls.identityGradWithoutKernel;
  return { enabled: stats.enabled, retainFreedMemory: retained, bufferPool: bufferPoolStats(), native: { ...stats.native, ...layers }, fallback: { ...stats.fallback } };
}

/** Zeroes the call counts. */
export function resetNativeKernelStats(): void {
  stats.native = {};
  stats.fallback = {};
  for (const k of Object.keys(layerCalls)) delete layerCalls[k];
  optimizerCalls.Adam = 0;
  optimizerCalls.AdamInPlace = 0;
  opCalls.plainConv2d = 0;
  opCalls.savedWithoutKernel = 0;
  opCalls.identityGradWithoutKernel = 0;
}
