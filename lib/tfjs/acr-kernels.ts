/**
 * The native TensorFlow.js kernels of the ACR loss: 'AcrLoss' (forward; inputs [pred, gt,
 * phi, weight?]) and 'AcrLossGrad' (d loss / d pred times dy; inputs [dy, pred, gt, phi,
 * weight?]). Inputs are arrays, as for AddN, so the optional weight can be saved for the
 * gradient with saveAllInputs. Registered for the backends whose buffers the addon can read:
 *   cpu         backend.readSync(dataId) is the backend's own Float32Array (no copy);
 *               results handed over with backend.write (the KernelBackend API, no copy).
 *   wasm        backend.typedArrayFromHeap(t) is a view of the wasm heap (no copy); results
 *               are allocated with backend.makeOutput and written in place.
 *   tensorflow  (tfjs-node) readSync copies out of libtensorflow, write hands the result
 *               back. tfjs-node does not install on the machines this was built on: untested.
 */
import * as tf from '@tensorflow/tfjs';
import { call } from '../binding';
import type { AcrConstant, Reduction } from '../kernels/loss';

export const ACR_LOSS = 'AcrLoss';
export const ACR_LOSS_GRAD = 'AcrLossGrad';
const BACKENDS = ['cpu', 'wasm', 'tensorflow'] as const;

export interface AcrAttrs {
  lambda: number;
  threshold: number;
  reduction: Reduction;
  constant: AcrConstant;
  [key: string]: number | string;
}

type Info = tf.TensorInfo;
type KernelParams = Parameters<tf.KernelFunc>[0];
interface ReadBackend {
  readSync(dataId: unknown): unknown;
  write(values: Float32Array, shape: number[], dtype: tf.DataType): object;
}
interface WasmBackend {
  typedArrayFromHeap(t: Info): unknown;
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  disposeData(dataId: unknown): unknown;
}

/** One native call: forward (lossOut) or gradient (gradOut with dy). */
interface Job {
  pred: Float32Array;
  gt: Float32Array;
  phi: Float32Array;
  weight: Float32Array | null;
  dyScalar: number;
  dy: Float32Array | null;
  lossOut: Float32Array | null;
  gradOut: Float32Array | null;
}

function runNative(job: Job, attrs: AcrAttrs): void {
  call((b) =>
    b.acrLossAndGrad(job.pred, job.gt, job.phi, job.weight, 1, job.pred.length, attrs.lambda, attrs.threshold,
      attrs.constant, 'auto', attrs.reduction, job.dyScalar, job.dy, job.lossOut, job.gradOut),
  );
}

function asF32(x: unknown, name: string): Float32Array {
  if (x instanceof Float32Array) return x;
  if (ArrayBuffer.isView(x)) return Float32Array.from(x as unknown as ArrayLike<number>);
  throw new TypeError(`${name}: the backend returned no numeric data`);
}

const lossShape = (pred: Info, attrs: AcrAttrs): number[] => (attrs.reduction === 'none' ? pred.shape.slice() : []);
const size = (t: Info): number => tf.util.sizeFromShape(t.shape);

function output(b: ReadBackend, shape: number[], values: Float32Array): Info {
  return { dataId: b.write(values, shape, 'float32'), shape, dtype: 'float32' };
}

function readBackendForward({ inputs, backend, attrs }: KernelParams): Info {
  const b = backend as unknown as ReadBackend;
  const a = attrs as unknown as AcrAttrs;
  const [pred, gt, phi, weight] = inputs as unknown as Info[];
  const read = (t: Info, name: string) => asF32(b.readSync(t.dataId), name);
  const lossOut = new Float32Array(a.reduction === 'none' ? size(pred) : 1);
  runNative({ pred: read(pred, 'pred'), gt: read(gt, 'gt'), phi: read(phi, 'phi'), weight: weight ? read(weight, 'weight') : null,
    dyScalar: 1, dy: null, lossOut, gradOut: null }, a);
  return output(b, lossShape(pred, a), lossOut);
}

function readBackendGrad({ inputs, backend, attrs }: KernelParams): Info {
  const b = backend as unknown as ReadBackend;
  const a = attrs as unknown as AcrAttrs;
  const [dy, pred, gt, phi, weight] = inputs as unknown as Info[];
  const read = (t: Info, name: string) => asF32(b.readSync(t.dataId), name);
  const dyv = read(dy, 'dy');
  const gradOut = new Float32Array(size(pred));
  const perElement = a.reduction === 'none';
  runNative({ pred: read(pred, 'pred'), gt: read(gt, 'gt'), phi: read(phi, 'phi'), weight: weight ? read(weight, 'weight') : null,
    dyScalar: perElement ? 1 : dyv[0], dy: perElement ? dyv : null, lossOut: null, gradOut }, a);
  return output(b, pred.shape.slice(), gradOut);
}

/** Runs fn on views of the wasm heap; the output is made first (allocation may move the heap). */
function wasmRun(b: WasmBackend, outShape: number[], fn: (out: Float32Array, view: (t: Info) => Float32Array) => void): Info {
  const out = b.makeOutput(outShape, 'float32');
  try {
    const view = (t: Info) => asF32(b.typedArrayFromHeap(t), 'input');
    fn(view(out), view);
  } catch (err) {
    b.disposeData(out.dataId);
    throw err;
  }
  return out;
}

function wasmForward({ inputs, backend, attrs }: KernelParams): Info {
  const b = backend as unknown as WasmBackend;
  const a = attrs as unknown as AcrAttrs;
  const [pred, gt, phi, weight] = inputs as unknown as Info[];
  return wasmRun(b, lossShape(pred, a), (lossOut, view) =>
    runNative({ pred: view(pred), gt: view(gt), phi: view(phi), weight: weight ? view(weight) : null, dyScalar: 1, dy: null,
      lossOut, gradOut: null }, a),
  );
}

function wasmGrad({ inputs, backend, attrs }: KernelParams): Info {
  const b = backend as unknown as WasmBackend;
  const a = attrs as unknown as AcrAttrs;
  const [dy, pred, gt, phi, weight] = inputs as unknown as Info[];
  return wasmRun(b, pred.shape.slice(), (gradOut, view) => {
    const dyv = view(dy);
    const perElement = a.reduction === 'none';
    runNative({ pred: view(pred), gt: view(gt), phi: view(phi), weight: weight ? view(weight) : null,
      dyScalar: perElement ? 1 : dyv[0], dy: perElement ? dyv : null, lossOut: null, gradOut }, a);
  });
}

let registered = false;

/** Registers the native kernels once (idempotent; leaves kernels someone else registered alone). */
export function registerAcrKernels(): void {
  if (registered) return;
  registered = true;
  for (const backendName of BACKENDS) {
    const wasm = backendName === 'wasm';
    const kernels: [string, tf.KernelFunc][] = [
      [ACR_LOSS, (wasm ? wasmForward : readBackendForward) as unknown as tf.KernelFunc],
      [ACR_LOSS_GRAD, (wasm ? wasmGrad : readBackendGrad) as unknown as tf.KernelFunc],
    ];
    for (const [kernelName, kernelFunc] of kernels) {
      if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
}

/** Whether the native kernel serves the active backend (otherwise the composite runs). */
export function nativeKernelActive(): boolean {
  return tf.getKernel(ACR_LOSS, tf.getBackend()) !== undefined;
}
