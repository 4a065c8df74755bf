/**
 * Baseline landmark losses as differentiable TensorFlow.js functions (tfjs ops on any
 * backend), with the defaults of the papers that introduced them.
 *
 * Units. The loss functions are unit-agnostic, but their parameters are not: each default
 * below comes from a paper that measured errors in pixels (or, for Adaptive Wing, in heatmap
 * intensity). This package's training data uses normalised crop coordinates u = x / size - 0.5,
 * where one pixel of a crop of `size` pixels is 1 / size. To keep a pixel-based loss's shape,
 * divide its length parameters by the crop size:
 *   smoothL1Loss:  beta (px)              -> beta / size
 *   wingLoss:      w, epsilon (px)        -> w / size, epsilon / size
 *   softWingLoss:  w1, w2, epsilon (px)   -> w1 / size, w2 / size, epsilon / size
 * (Wing-family losses are scale-covariant in (w, epsilon) up to a constant factor: the log
 * branch w ln(1 + |x|/epsilon) keeps its form when x, w and epsilon scale together.)
 * Adaptive Wing was designed for heatmap regression: yTrue enters its exponent (alpha - y) and
 * is meant to be a heatmap value in [0, 1]; omega, epsilon and theta are in heatmap-intensity
 * units. L1 and L2 have no parameters.
 *
 * Every function takes (yTrue, yPred, options) with float32 tensors of the same shape and
 * options.reduction ('mean' default, 'sum', 'none') and options.weight (per-element, >= 0;
 * 'mean' then divides by the sum of the weights). At zero error every loss and its gradient
 * are 0.
 */
import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueRangeError } from './errors';
import { asFloatTensor, asTargets, reduceLoss } from './loss';
import { REDUCTIONS, Reduction } from './kernels/loss';
import * as v from './validate';

export interface BaselineOptions {
  reduction?: Reduction;
  weight?: tf.Tensor | Float32Array | null;
}
/** Smooth L1 (Girshick 2015, PyTorch's convention): 0.5 x^2 / beta below beta, |x| - beta / 2 above. */
export interface SmoothL1Options extends BaselineOptions {
  /** Default 1 (pixels). */
  beta?: number;
}
/** Wing (Feng et al., CVPR 2018): w ln(1 + |x| / epsilon) below w, |x| - C above. */
export interface WingOptions extends BaselineOptions {
  /** Default 10 (pixels). */
  w?: number;
  /** Default 2 (pixels). */
  epsilon?: number;
}
/** Soft Wing (Lin et al., IEEE TIP 2021): |x| below w1, w2 ln(1 + |x| / epsilon) + B above. */
export interface SoftWingOptions extends BaselineOptions {
  /** Default 2 (pixels). */
  w1?: number;
  /** Default 20 (pixels). */
  w2?: number;
  /** Default 0.5 (pixels). */
  epsilon?: number;
}
/** Adaptive Wing (Wang et al., ICCV 2019), for heatmaps with yTrue in [0, 1]. */
export interface AdaptiveWingOptions extends BaselineOptions {
  /** Default 2.1. */
  alpha?: number;
  /** Default 14. */
  omega?: number;
  /** Default 1. */
  epsilon?: number;
  /** Default 0.5. */
  theta?: number;
}

interface Prepared {
  gt: tf.Tensor;
  pred: tf.Tensor;
  d: tf.Tensor;
  a: tf.Tensor;
  weight: tf.Tensor | null;
  reduction: Reduction;
}

function prepare(yTrue: unknown, yPred: unknown, opts: BaselineOptions): Prepared {
  const pred = asFloatTensor('yPred', yPred);
  if (pred.rank < 1) throw new ShapeError('yPred: expected a tensor of rank >= 1, got a scalar');
  const gt = asTargets(yTrue, pred);
  const reduction = opts.reduction === undefined ? 'mean' : v.oneOf('options.reduction', opts.reduction, REDUCTIONS);
  const weight = opts.weight === undefined || opts.weight === null ? null : asFloatTensor('options.weight', opts.weight, pred.shape);
  if (weight && tf.any(tf.logicalNot(tf.logicalAnd(tf.greaterEqual(weight, 0), tf.isFinite(weight)))).dataSync()[0]) {
    throw new ValueRangeError('options.weight: expected finite values >= 0, got a negative, NaN or infinite value');
  }
  const d = tf.sub(pred, gt);
  return { gt, pred, d, a: tf.abs(d), weight, reduction };
}

/** Zero loss (and so zero gradient) where the error is exactly 0: tfjs's abs has gradient -1 there. */
function finish(p: Prepared, l: tf.Tensor): tf.Tensor {
  let out = tf.where(tf.greaterEqual(tf.neg(p.a), 0), tf.zerosLike(l), l);
  if (p.weight) out = tf.mul(out, p.weight);
  return reduceLoss(out, p.weight, p.reduction);
}

const param = (name: string, x: unknown, dflt: number): number => (x === undefined ? dflt : v.positiveNumber(name, x));

/** Mean absolute error |yPred - yTrue|. */
export function l1Loss(yTrue: tf.Tensor, yPred: tf.Tensor, options?: BaselineOptions): tf.Tensor {
  return tf.tidy(() => {
    const p = prepare(yTrue, yPred, v.options<BaselineOptions>('options', options));
    return finish(p, p.a);
  });
}

/** Mean squared error (yPred - yTrue)^2. */
export function l2Loss(yTrue: tf.Tensor, yPred: tf.Tensor, options?: BaselineOptions): tf.Tensor {
  return tf.tidy(() => {
    const p = prepare(yTrue, yPred, v.options<BaselineOptions>('options', options));
    return finish(p, tf.square(p.d));
  });
}

export function smoothL1Loss(yTrue: tf.Tensor, yPred: tf.Tensor, options?: SmoothL1Options): tf.Tensor {
  const o = v.options<SmoothL1Options>('options', options);
  const beta = param('options.beta', o.beta, 1);
  return tf.tidy(() => {
    const p = prepare(yTrue, yPred, o);
    const l = tf.where(tf.greaterEqual(tf.scalar(beta), p.a), tf.div(tf.mul(0.5, tf.square(p.d)), beta), tf.sub(p.a, 0.5 * beta));
    return finish(p, l);
  });
}

export function wingLoss(yTrue: tf.Tensor, yPred: tf.Tensor, options?: WingOptions): tf.Tensor {
  const o = v.options<WingOptions>('options', options);
  const w = param('options.w', o.w, 10);
  const eps = param('options.epsilon', o.epsilon, 2);
  const C = w - w * Math.log1p(w / eps); // continuity at |x| = w
  return tf.tidy(() => {
    const p = prepare(yTrue, yPred, o);
    const l = tf.where(tf.greaterEqual(tf.scalar(w), p.a), tf.mul(w, tf.log1p(tf.div(p.a, eps))), tf.sub(p.a, C));
    return finish(p, l);
  });
}

export function softWingLoss(yTrue: tf.Tensor, yPred: tf.Tensor, options?: SoftWingOptions): tf.Tensor {
  const o = v.options<SoftWingOptions>('options', options);
  const w1 = param('options.w1', o.w1, 2);
  const w2 = param('options.w2', o.w2, 20);
  const eps = param('options.epsilon', o.epsilon, 0.5);
  const B = w1 - w2 * Math.log1p(w1 / eps); // continuity at |x| = w1
  return tf.tidy(() => {
    const p = prepare(yTrue, yPred, o);
    const l = tf.where(tf.greaterEqual(tf.scalar(w1), p.a), p.a, tf.add(tf.mul(w2, tf.log1p(tf.div(p.a, eps))), B));
    return finish(p, l);
  });
}

export function adaptiveWingLoss(yTrue: tf.Tensor, yPred: tf.Tensor, options?: AdaptiveWingOptions): tf.Tensor {
  const o = v.options<AdaptiveWingOptions>('options', options);
  const alpha = param('options.alpha', o.alpha, 2.1);
  const omega = param('options.omega', o.omega, 14);
  const eps = param('options.epsilon', o.epsilon, 1);
  const theta = param('options.theta', o.theta, 0.5);
  return tf.tidy(() => {
    const p = prepare(yTrue, yPred, o);
    const e = tf.sub(alpha, p.gt); // the exponent alpha - y, per element
    const r = theta / eps;
    const re = tf.pow(tf.scalar(r), e); // (theta/eps)^(alpha - y)
    // A and C make the two branches meet with equal value and slope at |x| = theta.
    const A = tf.mul(tf.div(omega, tf.add(1, re)), tf.mul(e, tf.div(tf.pow(tf.scalar(r), tf.sub(e, 1)), eps)));
    const C = tf.sub(tf.mul(theta, A), tf.mul(omega, tf.log1p(re)));
    const small = tf.mul(omega, tf.log1p(tf.pow(tf.div(p.a, eps), e)));
    const large = tf.sub(tf.mul(A, p.a), C);
    return finish(p, tf.where(tf.greaterEqual(tf.scalar(theta), p.a), small, large));
  });
}
