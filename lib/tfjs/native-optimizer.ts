/**
 * Native Adam update for the cpu backend. tfjs' AdamOptimizer runs ~15 element-wise ops per
 * variable per step (a few thousand kernel calls for MobileNetV2, each with its own output
 * array and engine bookkeeping); this runs one native kernel per variable with the same
 * float32 operation order, so results are bit-identical. The optimizer keeps its state
 * (the `/m` and `/v` variables, accBeta1/2, iterations) exactly as the stock code does, so
 * getWeights/setWeights and switching back and forth keep working.
 */
import * as tf from '@tensorflow/tfjs';
import { call } from '../binding';
import { inputValues, outputArray, privateValues } from './alloc';

export const ADAM = 'AcrAdam';

interface Slot { originalName: string; variable: tf.Variable }
interface AdamInternals {
  learningRate: number; beta1: number; beta2: number; epsilon: number;
  accBeta1: tf.Variable; accBeta2: tf.Variable;
  accumulatedFirstMoment: Slot[]; accumulatedSecondMoment: Slot[];
  incrementIterations(): void;
}
type Grads = tf.NamedTensorMap | Array<{ name: string; tensor: tf.Tensor }>;
type Apply = (this: unknown, grads: Grads) => void;

let registered = false;
function registerKernel(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: ADAM, backendName: 'cpu', kernelFunc: (args) => {
      const { inputs, backend, attrs } = args as unknown as {
        inputs: Record<'value' | 'gradient' | 'm' | 'v', tf.TensorInfo>;
        backend: { readSync(id: tf.DataId): Float32Array; makeTensorInfo(s: number[], d: tf.DataType, v: Float32Array): tf.TensorInfo };
        attrs: { coefficients: number[] };
      };
      const n = inputs.value.shape.reduce((a, b) => a * b, 1);
      const p = outputArray(backend, n), m = outputArray(backend, n), v = outputArray(backend, n);
      const [pv, gv, mv, vv] = (['value', 'gradient', 'm', 'v'] as const).map((k) => inputValues(backend, inputs[k].dataId) as Float32Array);
      call((x) => x.nnAdamUpdate(pv, gv, mv, vv, p, m, v, attrs.coefficients));
      const shape = inputs.value.shape;
      return [backend.makeTensorInfo(shape, 'float32', p), backend.makeTensorInfo(shape, 'float32', m),
        backend.makeTensorInfo(shape, 'float32', v)];
    },
  });
}

/** Adam updates run natively (count), for nativeKernelStats. */
export const optimizerCalls = { Adam: 0, AdamInPlace: 0 };

/**
 * Updates the variable and its two moments in place when no other tensor data, read-out array
 * or variable can see any of them (privateValues): one native call instead of a kernel with
 * three new tensors and three assigns, ~65 us of engine work per variable (150 small variables:
 * 9.8 ms per step). Same arithmetic, so the same bits. False where it does not apply.
 */
function updateInPlace(value: tf.Tensor, gradient: tf.Tensor, m: tf.Tensor, v: tf.Tensor, coefficients: number[]): boolean {
  const backend = tf.backend();
  const p = privateValues(backend, value.dataId), mv = privateValues(backend, m.dataId), vv = privateValues(backend, v.dataId);
  const g = inputValues(backend, gradient.dataId);
  if (!p || !mv || !vv || !(g instanceof Float32Array) || g.length !== p.length) return false;
  const buffers = new Set([p.buffer, mv.buffer, vv.buffer, g.buffer]);
  if (buffers.size !== 4) return false;
  call((x) => x.nnAdamUpdateInPlace(p, g, mv, vv, coefficients));
  optimizerCalls.AdamInPlace++;
  return true;
}

function nativeApply(original: Apply): Apply {
  return function (this: unknown, variableGradients: Grads) {
    const opt = this as AdamInternals;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const grad = (name: string, i: number) =>
      Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
    const vars = tf.engine().registeredVariables;
    const eligible = tf.getBackend() === 'cpu' && names.every((name, i) =>
      vars[name]?.dtype === 'float32' && (grad(name, i) == null || grad(name, i).dtype === 'float32'));
    if (!eligible) return original.call(this, variableGradients);
    optimizerCalls.Adam++;
    tf.tidy(() => {
      // The same float32 scalars tfjs computes: 1 - accBeta (float32 subtraction), 1 - beta, -lr.
      const d1 = Math.fround(1 - opt.accBeta1.dataSync()[0]), d2 = Math.fround(1 - opt.accBeta2.dataSync()[0]);
      const coefficients = [opt.beta1, 1 - opt.beta1, opt.beta2, 1 - opt.beta2, d1, d2, opt.epsilon, -opt.learningRate];
      names.forEach((name, i) => {
        const value = vars[name];
        for (const [slots, suffix] of [[opt.accumulatedFirstMoment, 'm'], [opt.accumulatedSecondMoment, 'v']] as const) {
          if (slots[i] == null) {
            slots[i] = { originalName: `${name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
          }
        }
        const gradient = grad(name, i);
        if (gradient == null) return;
        const m = opt.accumulatedFirstMoment[i].variable, v = opt.accumulatedSecondMoment[i].variable;
        if (updateInPlace(value, gradient, m, v, coefficients)) return;
        const [p2, m2, v2] = tf.engine().runKernel(ADAM, { value, gradient, m, v },
          { coefficients } as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(m2);
        v.assign(v2);
        value.assign(p2);
      });
      opt.accBeta1.assign(tf.mul(opt.accBeta1, opt.beta1));
      opt.accBeta2.assign(tf.mul(opt.accBeta2, opt.beta2));
    });
    opt.incrementIterations();
  };
}

let original: Apply | null = null;

/** Installs (true) or removes (false) the native Adam update. */
export function patchOptimizers(on: boolean): void {
  const proto = tf.AdamOptimizer.prototype as unknown as { applyGradients: Apply };
  if (on && !original) {
    registerKernel();
    original = proto.applyGradients;
    proto.applyGradients = nativeApply(original);
  } else if (!on && original) {
    proto.applyGradients = original;
    original = null;
  }
}
