/**
 * Raw native loss kernels on Float32Arrays, for users outside TensorFlow.js and for the
 * benchmarks. Each call validates its arguments, then runs the fused forward + gradient pass
 * in the addon (AVX-512 / AVX2 / scalar chosen at run time, threaded for large inputs).
 *
 * The ACR loss per element, with d = pred - gt, a = |d|, p = 2 - phi:
 *   a <= t: lambda ln(1 + a^p);   a > t: a^2 + C,
 * C = lambda ln(1 + t^p) - t^2 ('continuous', default) or phi ln 2 - 1 ('reference', the authors' code).
 * Weights: each element counts w times; 'mean' divides by the sum of the weights (by n without
 * weights; 0 when every weight is 0), 'sum' does not divide, 'none' returns w l per element.
 * An empty input gives loss 0.
 *
 * Numerics: d = pred - gt is taken in float32 (so every kernel picks the same branch at a = t),
 * lambda and the threshold are used as float32, the per-element math runs in float32 with
 * vectorised log/exp accurate to ~1e-7 relative (float64 in the scalar kernel), and the sum
 * is accumulated in float64 in fixed blocks (identical for any thread count). At a = 0 the
 * loss and gradient are exactly 0 for every phi. Finite inputs never give NaN: differences
 * beyond 1e18 are handled in float64, and float32 outputs that would overflow saturate at
 * +-3.4e38. NaN inputs propagate. phi outside [0, 1] (or NaN) and negative/non-finite weights
 * throw ERR_RANGE naming the first bad index (checked inside the same pass).
 */
import { call } from '../binding';
import { ArgumentError, ShapeError, ValueRangeError } from '../errors';
import * as v from '../validate';

export type Reduction = 'mean' | 'sum' | 'none';
export type AcrConstant = 'continuous' | 'reference';
/** Where the ACR kernel runs: 'auto' uses a CUDA device only for large inputs. */
export type LossDevice = 'auto' | 'cpu' | 'cuda';

export const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];
export const CONSTANTS: readonly AcrConstant[] = ['continuous', 'reference'];

/** Largest threshold: keeps a^p <= t^2 far inside float32 range. */
export const MAX_THRESHOLD = 1e18;
/** Largest lambda: keeps lambda ln(1 + a^p) finite in float32. */
export const MAX_LAMBDA = 1e30;

export interface AcrParams {
  /** Weight of the log branch, > 0 (default 1). */
  lambda: number;
  /** Threshold t between the log and the quadratic branch, in (0, 1e18] (default 1). */
  threshold: number;
  /** Default 'mean'. */
  reduction: Reduction;
  /** Default 'continuous'. */
  constant: AcrConstant;
}

export interface BaseLossOptions {
  /** Default 'mean'. */
  reduction?: Reduction;
  /** Per-element weight or visibility mask (>= 0, finite), same length as pred. */
  weight?: Float32Array | null;
  /** Row length D; the arrays hold B x D values (default: one row of all of them). */
  dim?: number;
  /** Compute the gradient (default true). */
  gradient?: boolean;
  /** Caller-provided outputs, reused instead of allocating: grad (n), perElement (n, reduction 'none'). */
  out?: { grad?: Float32Array; perElement?: Float32Array };
}

export interface AcrLossOptions extends BaseLossOptions, Partial<AcrParams> {
  device?: LossDevice;
}

export interface LossResult {
  /** The reduced loss; for reduction 'none' the sum of the per-element losses. */
  loss: number;
  /** d(loss)/d(pred), n values; null when options.gradient is false. */
  grad: Float32Array | null;
  /** Per-element losses (w l) for reduction 'none', else null. */
  perElement: Float32Array | null;
}

/** Validates and fills in the ACR options shared by the raw kernel and the tfjs op. */
export function resolveAcrParams(opts: Partial<AcrParams>): AcrParams {
  const lambda = opts.lambda === undefined ? 1 : v.positiveNumber('options.lambda', opts.lambda);
  if (lambda > MAX_LAMBDA) throw new ValueRangeError(`options.lambda: expected a number in (0, ${MAX_LAMBDA}], got ${lambda}`);
  const threshold = opts.threshold === undefined ? 1 : v.positiveNumber('options.threshold', opts.threshold);
  if (threshold > MAX_THRESHOLD) {
    throw new ValueRangeError(`options.threshold: expected a number in (0, ${MAX_THRESHOLD}], got ${threshold}`);
  }
  const reduction = opts.reduction === undefined ? 'mean' : v.oneOf('options.reduction', opts.reduction, REDUCTIONS);
  const constant = opts.constant === undefined ? 'continuous' : v.oneOf('options.constant', opts.constant, CONSTANTS);
  return { lambda, threshold, reduction, constant };
}

interface Prepared {
  n: number;
  batch: number;
  dim: number;
  reduction: Reduction;
  weight: Float32Array | null;
  grad: Float32Array | null;
  perElement: Float32Array | null;
}

function prepare(pred: unknown, gt: unknown, opts: BaseLossOptions, reduction: Reduction): Prepared {
  const p = v.float32Array('pred', pred);
  const n = p.length;
  v.float32Array('gt', gt, n);
  const weight = opts.weight === undefined || opts.weight === null ? null : v.float32Array('options.weight', opts.weight, n);
  let dim = n;
  if (opts.dim !== undefined) {
    dim = v.integer('options.dim', opts.dim, 1, 2 ** 40);
    if (n % dim !== 0) throw new ShapeError(`options.dim: ${n} elements do not split into rows of ${dim}`);
  }
  const batch = dim === 0 ? 0 : n / dim;
  const gradient = opts.gradient === undefined ? true : opts.gradient;
  if (typeof gradient !== 'boolean') throw new ArgumentError(`options.gradient: expected a boolean, got ${v.describe(gradient)}`);
  const out = v.options<{ grad?: Float32Array; perElement?: Float32Array }>('options.out', opts.out);
  let grad: Float32Array | null = null;
  if (gradient) grad = out.grad === undefined ? new Float32Array(n) : v.float32Array('options.out.grad', out.grad, n);
  let perElement: Float32Array | null = null;
  if (reduction === 'none') {
    perElement = out.perElement === undefined ? new Float32Array(n) : v.float32Array('options.out.perElement', out.perElement, n);
  }
  return { n, batch, dim, reduction, weight, grad, perElement };
}

/** ACR loss and its gradient with respect to pred, in one pass. phi in [0, 1] (checked natively). */
export function acrLossAndGrad(pred: Float32Array, gt: Float32Array, phi: Float32Array, options?: AcrLossOptions): LossResult {
  const opts = v.options<AcrLossOptions>('options', options);
  const params = resolveAcrParams(opts);
  const device = opts.device === undefined ? 'auto' : v.oneOf('options.device', opts.device, ['auto', 'cpu', 'cuda'] as const);
  const pr = prepare(pred, gt, opts, params.reduction);
  const ph = v.float32Array('phi', phi, pr.n);
  const loss = call((b) =>
    b.acrLossAndGrad(pred, gt, ph, pr.weight, pr.batch, pr.dim, params.lambda, params.threshold, params.constant, device,
      params.reduction, 1, null, pr.perElement, pr.grad),
  );
  return { loss, grad: pr.grad, perElement: pr.perElement };
}

/** L2 loss d^2 and its gradient 2d, same weights and reductions as the ACR kernel. */
export function l2LossAndGrad(pred: Float32Array, gt: Float32Array, options?: BaseLossOptions): LossResult {
  return baseLoss('l2', pred, gt, options);
}

/** L1 loss |d| and its gradient sign(d) (0 at d = 0). */
export function l1LossAndGrad(pred: Float32Array, gt: Float32Array, options?: BaseLossOptions): LossResult {
  return baseLoss('l1', pred, gt, options);
}

function baseLoss(kind: 'l1' | 'l2', pred: Float32Array, gt: Float32Array, options?: BaseLossOptions): LossResult {
  const opts = v.options<BaseLossOptions>('options', options);
  const reduction = opts.reduction === undefined ? 'mean' : v.oneOf('options.reduction', opts.reduction, REDUCTIONS);
  const pr = prepare(pred, gt, opts, reduction);
  const loss = call((b) =>
    (kind === 'l2' ? b.l2LossAndGrad : b.l1LossAndGrad)(pred, gt, pr.weight, pr.batch, pr.dim, reduction, 1, null,
      pr.perElement, pr.grad),
  );
  return { loss, grad: pr.grad, perElement: pr.perElement };
}

/** dst = src with the addon's threads: the memory-bandwidth probe of the benchmarks. */
export function bandwidthCopy(src: Float32Array, dst: Float32Array): void {
  v.float32Array('src', src);
  v.float32Array('dst', dst, src.length);
  call((b) => b.bandwidthCopy(src, dst));
}

/** Reads src with the addon's threads and returns its float64 sum (read-bandwidth probe). */
export function bandwidthRead(src: Float32Array): number {
  v.float32Array('src', src);
  return call((b) => b.bandwidthRead(src));
}
