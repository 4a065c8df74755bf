/**
 * `acrLoss` as a TensorFlow.js op. On the cpu, wasm and tensorflow backends the forward pass
 * and the gradient run in the native addon straight on the backend's buffers (kernels
 * 'AcrLoss' and 'AcrLossGrad', see lib/tfjs/acr-kernels.ts); on any other backend the same
 * loss is built from tfjs ops (`acrLossComposite`), which is also the independent reference
 * of the tests. Phi and the weight are constants: no gradient flows into them (the method
 * precomputes Phi from the ground truth), so their gradients are zeros.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, DTypeError, ShapeError, ValueRangeError } from './errors';
import { resolveAcrParams, AcrParams, Reduction } from './kernels/loss';
import { ACR_LOSS, ACR_LOSS_GRAD, AcrAttrs, nativeKernelActive, registerAcrKernels } from './tfjs/acr-kernels';
import * as v from './validate';

export type { AcrConstant, Reduction } from './kernels/loss';

export interface AcrLossOpOptions extends Partial<AcrParams> {
  /** Per-element weight or visibility mask (>= 0), same shape as yPred. 'mean' divides by its sum. */
  weight?: tf.Tensor | Float32Array | null;
  /**
   * Raise Phi to at least this value in [0, 1] (default 0: the paper's loss): every point is then
   * at least a^(2 - phiFloor)-like below the threshold, never purely L2-like. Not the paper's form;
   * measured in docs/results.md (issue 11's comparison, row acr-floor with 0.5).
   */
  phiFloor?: number;
}

type TensorIn = tf.Tensor | Float32Array;

/** A float32 tensor of the given shape (a Float32Array is wrapped; the caller tidies). */
export function asFloatTensor(name: string, x: unknown, shape?: number[]): tf.Tensor {
  let t: tf.Tensor;
  if (x instanceof tf.Tensor) {
    if (x.isDisposed) throw new ArgumentError(`${name}: the tensor is disposed`);
    if (x.dtype !== 'float32') throw new DTypeError(`${name}: expected a float32 tensor, got ${x.dtype}`);
    t = x;
  } else if (x instanceof Float32Array) {
    if (!shape) throw new ArgumentError(`${name}: expected a tf.Tensor, got ${v.describe(x)}`);
    v.float32Array(name, x, tf.util.sizeFromShape(shape));
    t = tf.tensor(x, shape, 'float32');
  } else {
    throw new DTypeError(`${name}: expected a float32 tf.Tensor${shape ? ' or a Float32Array' : ''}, got ${v.describe(x)}`);
  }
  if (shape && !tf.util.arraysEqual(t.shape, shape)) {
    throw new ShapeError(`${name}: expected shape [${shape}], got [${t.shape}]`);
  }
  return t;
}

/** yTrue against an already checked yPred: of two tensors of different shapes, either may be the wrong one, so both are named. */
export function asTargets(yTrue: unknown, pred: tf.Tensor): tf.Tensor {
  if (yTrue instanceof tf.Tensor && !tf.util.arraysEqual(yTrue.shape, pred.shape)) {
    throw new ShapeError(`yTrue [${yTrue.shape}] and yPred [${pred.shape}]: expected the same shape (B x D)`);
  }
  return asFloatTensor('yTrue', yTrue, pred.shape);
}

interface Checked {
  gt: tf.Tensor;
  pred: tf.Tensor;
  phi: tf.Tensor;
  weight: tf.Tensor | null;
  attrs: AcrAttrs;
}

function check(yTrue: unknown, yPred: unknown, phi: unknown, options: unknown): Checked {
  const pred = asFloatTensor('yPred', yPred);
  if (pred.rank < 1) throw new ShapeError(`yPred: expected a tensor of rank >= 1 (B x D), got a scalar`);
  const gt = asTargets(yTrue, pred);
  let ph = asFloatTensor('phi', phi, pred.shape);
  const opts = v.options<AcrLossOpOptions>('options', options);
  const params = resolveAcrParams(opts);
  const floor = opts.phiFloor === undefined ? 0 : v.finiteNumber('options.phiFloor', opts.phiFloor);
  if (!(floor >= 0 && floor <= 1)) throw new ValueRangeError(`options.phiFloor: expected a value in [0, 1], got ${floor}`);
  // Values below 0 stay for the range checks to report; NaN propagates through maximum.
  if (floor > 0) ph = tf.where(tf.greaterEqual(ph, 0), tf.maximum(ph, floor), ph);
  const weight = opts.weight === undefined || opts.weight === null ? null : asFloatTensor('options.weight', opts.weight, pred.shape);
  return { gt, pred, phi: ph, weight, attrs: { ...params } };
}

/** Composite-path range checks (the native kernels check phi and weight themselves). */
function checkRanges(phi: tf.Tensor, weight: tf.Tensor | null): void {
  tf.tidy(() => {
    if (tf.any(tf.logicalNot(tf.logicalAnd(tf.greaterEqual(phi, 0), tf.lessEqual(phi, 1)))).dataSync()[0]) {
      throw new ValueRangeError('phi: expected values in [0, 1], got values outside it (or NaN)');
    }
    if (weight && tf.any(tf.logicalNot(tf.logicalAnd(tf.greaterEqual(weight, 0), tf.isFinite(weight)))).dataSync()[0]) {
      throw new ValueRangeError('options.weight: expected finite values >= 0, got a negative, NaN or infinite value');
    }
  });
}

/** Applies a reduction to per-element losses l (already weighted): mean divides by sum(w) or n. */
export function reduceLoss(l: tf.Tensor, weight: tf.Tensor | null, reduction: Reduction): tf.Tensor {
  if (reduction === 'none') return l;
  const total = tf.sum(l);
  if (reduction === 'sum') return total;
  if (weight) {
    // 1 / sum(w), or 0 when every weight is 0; built from the weights alone so that autodiff
    // never meets a comparison of the loss (tfjs has no gradient for Equal, used by divNoNan).
    const sw = tf.sum(weight);
    return tf.mul(total, tf.where(tf.greater(sw, 0), tf.div(1, sw), tf.scalar(0)));
  }
  return l.size === 0 ? tf.scalar(0) : tf.div(total, l.size);
}

function compositeRaw(c: Checked): tf.Tensor {
  const { lambda, threshold: t, constant, reduction } = c.attrs;
  const d = tf.sub(c.pred, c.gt);
  const a = tf.abs(d);
  const p = tf.sub(2, c.phi);
  const logBranch = tf.mul(lambda, tf.log1p(tf.pow(a, p)));
  const C =
    constant === 'continuous'
      ? tf.sub(tf.mul(lambda, tf.log1p(tf.pow(tf.scalar(t), p))), t * t)
      : tf.sub(tf.mul(c.phi, Math.LN2), 1);
  // Conditions use GreaterEqual, the one comparison with a (zero) gradient in tfjs, so that
  // autodiff can pass through them.
  let l = tf.where(tf.greaterEqual(tf.scalar(t), a), logBranch, tf.add(tf.square(d), C));
  // At d = 0 the loss is 0 and so is its gradient (tfjs's abs has gradient -1 there).
  l = tf.where(tf.greaterEqual(tf.neg(a), 0), tf.zerosLike(l), l);
  if (c.weight) l = tf.mul(l, c.weight);
  return reduceLoss(l, c.weight, reduction);
}

/**
 * The ACR loss written with tfjs ops only: runs on any backend, differentiable by tfjs's own
 * autodiff. Same arguments, defaults and semantics as `acrLoss`.
 */
export function acrLossComposite(yTrue: TensorIn, yPred: tf.Tensor, phi: TensorIn, options?: AcrLossOpOptions): tf.Tensor {
  return tf.tidy(() => {
    const c = check(yTrue, yPred, phi, options);
    checkRanges(c.phi, c.weight);
    return compositeRaw(c);
  });
}

/**
 * The ACR loss (Fard & Mahoor, ICPR 2022) between landmarks yTrue and predictions yPred
 * (float32, same shape, B x D), weighted per element by phi in [0, 1] (from `AsmModel.phi`).
 * With d = yPred - yTrue, a = |d|, p = 2 - phi:
 *   a <= threshold:  lambda ln(1 + a^p)
 *   a >  threshold:  a^2 + C,  C = lambda ln(1 + t^p) - t^2 ('continuous', default) or
 *                    phi ln 2 - 1 ('reference', the authors' code).
 * Returns a scalar (reduction 'mean' (default) or 'sum') or the per-element losses ('none').
 * A registered op: works under tf.grad, tf.variableGrads and optimizer.minimize; the gradient
 * flows into yPred (and, negated, yTrue).
 */
export function acrLoss(yTrue: TensorIn, yPred: tf.Tensor, phi: TensorIn, options?: AcrLossOpOptions): tf.Tensor {
  registerAcrKernels();
  return tf.tidy(() => {
    const c = check(yTrue, yPred, phi, options);
    if (!nativeKernelActive()) {
      checkRanges(c.phi, c.weight);
      return compositeRaw(c);
    }
    const inputs = c.weight ? [c.pred, c.gt, c.phi, c.weight] : [c.pred, c.gt, c.phi];
    return tf.engine().runKernel(ACR_LOSS, inputs as unknown as tf.NamedTensorMap, c.attrs) as tf.Tensor;
  });
}

/** d loss / d pred for the saved inputs, times dy: native where a kernel exists, else tfjs autodiff. */
function gradPred(dy: tf.Tensor, saved: tf.Tensor[], attrs: AcrAttrs): tf.Tensor {
  const [pred, gt, phi, weight] = saved;
  if (tf.getKernel(ACR_LOSS_GRAD, tf.getBackend())) {
    const inputs = weight ? [dy, pred, gt, phi, weight] : [dy, pred, gt, phi];
    return tf.engine().runKernel(ACR_LOSS_GRAD, inputs as unknown as tf.NamedTensorMap, attrs) as tf.Tensor;
  }
  const c = (p: tf.Tensor): tf.Tensor => compositeRaw({ pred: p, gt, phi, weight: weight ?? null, attrs });
  return tf.grad(c)(pred, dy);
}

// The gradient is a second native pass (AcrLossGrad, dy folded in) rather than a gradient
// saved by the forward pass: saving would cost a B x D buffer on every forward call (also in
// evaluation), and tfjs would build a zero dy for the extra output on every backward pass.
tf.registerGradient({
  kernelName: ACR_LOSS,
  saveAllInputs: true, // pred, gt, phi[, weight] in that order
  gradFunc: (dy, saved, attrs) => {
    const a = attrs as unknown as AcrAttrs;
    const dyT = Array.isArray(dy) ? dy[0] : dy;
    // Keys are input positions: 0 pred, 1 gt, 2 phi, 3 weight.
    const grads: Record<string, () => tf.Tensor> = {
      0: () => gradPred(dyT, saved, a),
      1: () => tf.neg(gradPred(dyT, saved, a)),
      2: () => tf.zerosLike(saved[2]),
    };
    if (saved[3]) grads[3] = () => tf.zerosLike(saved[3]);
    return grads;
  },
});
registerAcrKernels();
