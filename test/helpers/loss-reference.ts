/**
 * Independent plain-TypeScript (float64) definitions of the losses, written from the formulas
 * in docs (acr-method.md section 4), not from the native code. The one float32 step kept is
 * the difference d = fround(pred - gt): the kernels take d in float32, and at a = t the
 * branch chosen depends on that rounding.
 */
export interface RefOptions {
  lambda?: number;
  threshold?: number;
  reduction?: 'mean' | 'sum' | 'none';
  constant?: 'continuous' | 'reference';
  weight?: ArrayLike<number> | null;
}

export interface RefResult {
  loss: number;
  grad: Float64Array;
  perElement: Float64Array;
}

function diff(p: number, g: number): number {
  const d = Math.fround(p - g);
  return Number.isFinite(d) || !Number.isFinite(p) || !Number.isFinite(g) ? d : p - g;
}

function reduce(l: Float64Array, g: Float64Array, o: RefOptions): RefResult {
  const n = l.length;
  let sum = 0;
  let sw = 0;
  for (let i = 0; i < n; i++) {
    const w = o.weight ? o.weight[i] : 1;
    l[i] *= w;
    g[i] *= w;
    sum += l[i];
    sw += w;
  }
  const reduction = o.reduction ?? 'mean';
  let scale = 1;
  if (reduction === 'mean' && n > 0) scale = sw > 0 ? 1 / sw : 0;
  const grad = g.map((x) => x * scale);
  return { loss: reduction === 'none' ? sum : sum * scale, grad, perElement: l };
}

export function acrReference(pred: ArrayLike<number>, gt: ArrayLike<number>, phi: ArrayLike<number>, o: RefOptions = {}): RefResult {
  // The kernels take lambda and the threshold as float32.
  const lambda = Math.fround(o.lambda ?? 1);
  const t = Math.fround(o.threshold ?? 1);
  const n = pred.length;
  const l = new Float64Array(n);
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = diff(pred[i], gt[i]);
    const a = Math.abs(d);
    const p = 2 - phi[i];
    if (a <= t) {
      const ap = Math.pow(a, p);
      l[i] = lambda * Math.log1p(ap);
      g[i] = a === 0 ? 0 : ((lambda * p * Math.pow(a, p - 1)) / (1 + ap)) * Math.sign(d);
    } else {
      const c = (o.constant ?? 'continuous') === 'continuous' ? lambda * Math.log1p(Math.pow(t, p)) - t * t : phi[i] * Math.LN2 - 1;
      l[i] = a * a + c;
      g[i] = 2 * d;
    }
  }
  return reduce(l, g, o);
}

export function l2Reference(pred: ArrayLike<number>, gt: ArrayLike<number>, o: RefOptions = {}): RefResult {
  const n = pred.length;
  const l = new Float64Array(n);
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = diff(pred[i], gt[i]);
    l[i] = d * d;
    g[i] = 2 * d;
  }
  return reduce(l, g, o);
}

export function l1Reference(pred: ArrayLike<number>, gt: ArrayLike<number>, o: RefOptions = {}): RefResult {
  const n = pred.length;
  const l = new Float64Array(n);
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = diff(pred[i], gt[i]);
    l[i] = Math.abs(d);
    g[i] = Math.sign(d);
  }
  return reduce(l, g, o);
}

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * pred/gt/phi that cover the interesting cases: differences at every scale from 0 and the
 * denormals to well past the threshold, exactly 0, exactly at the threshold, phi 0 and 1.
 */
export function lossFixture(n: number, seed: number, threshold = 1) {
  const r = rng(seed);
  const pred = new Float32Array(n);
  const gt = new Float32Array(n);
  const phi = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    gt[i] = r() - 0.5;
    const kind = i % 9;
    let d: number;
    if (kind === 0) d = 0;
    else if (kind === 1) d = (r() - 0.5) * 1e-30;
    else if (kind === 2) d = (r() - 0.5) * 1e-3;
    else if (kind === 3) d = (r() - 0.5) * 3 * threshold;
    else d = (r() - 0.5) * 0.4;
    pred[i] = gt[i] + d;
    if (kind === 4) {
      // a exactly at the threshold
      pred[i] = 0;
      gt[i] = threshold;
    }
    const pk = i % 7;
    phi[i] = pk === 0 ? 0 : pk === 1 ? 1 : r();
  }
  return { pred, gt, phi };
}

/** |x - ref| <= rel |ref| + abs, element by element; returns the first failure or null. */
export function firstMismatch(x: ArrayLike<number>, ref: ArrayLike<number>, rel: number, abs = 1e-30): string | null {
  if (x.length !== ref.length) return `length ${x.length} vs ${ref.length}`;
  for (let i = 0; i < x.length; i++) {
    const ok = Math.abs(x[i] - ref[i]) <= rel * Math.abs(ref[i]) + abs || (Number.isNaN(x[i]) && Number.isNaN(ref[i]));
    if (!ok) return `index ${i}: ${x[i]} vs reference ${ref[i]}`;
  }
  return null;
}
