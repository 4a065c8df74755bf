/**
 * Op-level routes that spare tfjs work the native kernels cannot: tfjs-layers and tfjs' own
 * gradients call ops whose stock implementation does more than the result needs.
 *
 * Plain convolutions where tfjs-layers asks for fused ones. Every Conv2D layer calls
 * tf.fused.conv2d, whose gradient (a customGrad) computes the input gradient and the filter
 * gradient together, eagerly, and keeps the output alive until the backward pass. With no bias
 * and no activation to fuse (MobileNetV2's convolutions: BatchNormalization follows) that is
 * the plain Conv2D kernel, whose registered gradient is lazy: the tape then skips the input
 * gradient where no variable needs it (the first layer's, a full-resolution backprop-input per
 * step) and saves only x and the filter. Same kernels, so the results are bit-identical.
 *
 * Mean's gradient (global average pooling) in one native pass: tfjs fills ones(x.shape) element
 * by element in JS and multiplies; dy broadcast to x's shape and divided by the reduced size is
 * the same value (dy - 0 = dy * 1 = dy, -0 included) written straight into a recycled output
 * array, with no x-sized temporary (a fresh zero-filled tensor costs its page faults every step:
 * ~3.6 ms of the MobileNetV2 x0.5/112 step at batch 32). Bit-identical too
 * (test/nn-native-ops.test.ts). Other backends keep the tensor-op form.
 *
 * Tensors saved for the backward pass without a kernel. tfjs keeps each tensor a gradient needs
 * by cloning it (Engine.saveTensorsForBackwardMode): an Identity kernel call and a tape node per
 * tensor, ~375 per MobileNetV2 step, about 5 % of its CPU time at one thread. On the cpu backend
 * that clone is a new Tensor on the same data with the data's reference count raised, which is
 * done here directly. The tape node it skips is never on a gradient path (no op consumes a saved
 * copy), so gradients keep their bits. Tensors of other backends are cloned as before, and so is
 * everything when the engine lacks the internals this relies on (checked, not assumed).
 *
 * The gradient of a clone (Identity) without a kernel either. tfjs-layers clones a layer's output
 * when it is one of its inputs (the ReLU6 after a fused batch norm, 36 per MobileNetV2 x0.5
 * step) and its Add layer clones its first input; tfjs' Identity gradient passes dy on through a
 * float32 Cast, which on the cpu backend is again a new Tensor on the same data: made here the
 * same way. The Add layer's clone itself is skipped (native-layers.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { call } from '../binding';
import { inputValues, outputArray } from './alloc';

type FusedConv2dArgs = Parameters<typeof tf.fused.conv2d>[0];
type FusedConv2d = typeof tf.fused.conv2d;

/** Fused convolutions run as plain ones (count), for nativeKernelStats. */
export const opCalls = { plainConv2d: 0, savedWithoutKernel: 0, identityGradWithoutKernel: 0 };

let original: FusedConv2d | null = null;

function plainConv2d(fused: FusedConv2d): FusedConv2d {
  return ((args: FusedConv2dArgs) => {
    const linear = args.activation == null || args.activation === 'linear';
    if (args.bias != null || !linear || args.preluActivationWeights != null || tf.getBackend() !== 'cpu') return fused(args);
    opCalls.plainConv2d++;
    return tf.conv2d(args.x as tf.Tensor4D, args.filter, args.strides, args.pad, args.dataFormat ?? 'NHWC',
      args.dilations ?? [1, 1], args.dimRoundingMode);
  }) as FusedConv2d;
}

/** out (attrs.shape) = dy (same rank, 1 on the reduced axes) broadcast, divided by attrs.size; cpu backend. */
export const MEAN_GRAD = 'AcrMeanGrad';
let kernelRegistered = false;
function registerMeanGradKernel(): void {
  if (kernelRegistered) return;
  kernelRegistered = true;
  tf.registerKernel({
    kernelName: MEAN_GRAD, backendName: 'cpu', kernelFunc: (args) => {
      const { inputs: { dy }, backend, attrs } = args as unknown as {
        inputs: { dy: tf.TensorInfo };
        backend: { makeTensorInfo(s: number[], d: tf.DataType, v: Float32Array): tf.TensorInfo };
        attrs: { shape: number[]; size: number };
      };
      const shape = attrs.shape;
      const out = outputArray(backend, shape.reduce((p, q) => p * q, 1));
      const dyv = inputValues(backend, dy.dataId) as Float32Array;
      const ones = shape.map(() => 1);
      call((n) => n.nnBinary(3, dyv, dy.shape, Float32Array.of(attrs.size), ones, out, shape));
      return backend.makeTensorInfo(shape, 'float32', out);
    },
  });
}

const meanGrad: tf.GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
    const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const reduceSize = axes.reduce((p, a) => p * x.shape[a], 1);
    const grad = (dy as tf.Tensor).reshape(expanded);
    if (tf.getBackend() === 'cpu' && grad.dtype === 'float32') {
      return { x: () => tf.engine().runKernel(MEAN_GRAD, { dy: grad }, { shape: x.shape, size: reduceSize }) as tf.Tensor };
    }
    return { x: () => tf.div(tf.sub(grad, tf.zeros(x.shape)), reduceSize) };
  },
};
let originalMeanGrad: tf.GradConfig | undefined;

/** The tfjs engine internals the kernel-free save uses (tfjs-core 4.x: engine.ts). */
interface EngineInternals {
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend: tf.KernelBackend): tf.Tensor;
  keep<T extends tf.Tensor>(t: T): T;
  state: { tensorInfo: { get(dataId: tf.DataId): { backend: tf.KernelBackend } | undefined } };
}

function engineInternals(): EngineInternals | null {
  const e = tf.engine() as unknown as Partial<EngineInternals>;
  const ok = typeof e.saveTensorsForBackwardMode === 'function' && typeof e.makeTensorFromTensorInfo === 'function' &&
    typeof e.keep === 'function' && typeof e.state?.tensorInfo?.get === 'function';
  return ok ? e as EngineInternals : null;
}

/** What the cpu backend's Identity kernel does, without the kernel call and its tape node; null off the cpu backend. */
function cloneOnCpu(engine: EngineInternals, t: tf.Tensor): tf.Tensor | null {
  const backend = engine.state.tensorInfo.get(t.dataId)?.backend;
  if (!backend || backend !== tf.findBackend('cpu')) return null;
  backend.incRef(t.dataId);
  return engine.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }, backend);
}

function saveWithoutKernels(this: EngineInternals, tensors: tf.Tensor[]): tf.Tensor[] {
  const stock = Object.getPrototypeOf(this) as EngineInternals;
  return tensors.map((t) => {
    const copy = cloneOnCpu(this, t);
    if (!copy) return stock.saveTensorsForBackwardMode.call(this, [t])[0];
    opCalls.savedWithoutKernel++;
    return this.keep(copy);
  });
}

const identityGrad: tf.GradConfig = {
  kernelName: 'Identity',
  gradFunc: (dy) => {
    const g = dy as tf.Tensor;
    const engine = engineInternals();
    return {
      x: () => {
        const copy = g.dtype === 'float32' && engine ? cloneOnCpu(engine, g) : null;
        if (!copy) return tf.cast(g, 'float32');
        opCalls.identityGradWithoutKernel++;
        return copy;
      },
    };
  },
};
let originalIdentityGrad: tf.GradConfig | undefined;

/** Installs (true) or removes (false) the kernel-free save; part of patchOps. */
export function patchSaveForBackward(on: boolean): void {
  const engine = engineInternals();
  if (!engine) return;
  // An own property over the prototype's method; deleting it restores the stock one.
  if (on) engine.saveTensorsForBackwardMode = saveWithoutKernels;
  else delete (engine as Partial<EngineInternals>).saveTensorsForBackwardMode;
}

/** Installs (true) or removes (false) the plain-convolution routing, the Mean and Identity gradients and the kernel-free save. */
export function patchOps(on: boolean): void {
  const ops = tf.fused as { conv2d: FusedConv2d };
  patchSaveForBackward(on);
  if (on && !original) {
    registerMeanGradKernel();
    original = ops.conv2d;
    ops.conv2d = plainConv2d(original);
    originalMeanGrad = tf.getGradient('Mean');
    tf.registerGradient(meanGrad);
    originalIdentityGrad = tf.getGradient('Identity');
    tf.registerGradient(identityGrad);
  } else if (!on && original) {
    ops.conv2d = original;
    original = null;
    if (originalMeanGrad) tf.registerGradient(originalMeanGrad);
    else tf.unregisterGradient('Mean');
    originalMeanGrad = undefined;
    if (originalIdentityGrad) tf.registerGradient(originalIdentityGrad);
    else tf.unregisterGradient('Identity');
    originalIdentityGrad = undefined;
  }
}
