/** Independent references for the ASM tests: plain TypeScript, float64, no native code. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Deterministic PRNG (mulberry32) so that failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** A random orthogonal n x n matrix (columns = Gram-Schmidt of Gaussian vectors, twice). */
export function randomOrthogonal(n: number, r: () => number): Float64Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) q[i] = gaussian(r);
  for (let c = 0; c < n; c++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < c; p++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += q[i * n + c] * q[i * n + p];
        for (let i = 0; i < n; i++) q[i * n + c] -= s * q[i * n + p];
      }
      let nrm = 0;
      for (let i = 0; i < n; i++) nrm += q[i * n + c] ** 2;
      nrm = Math.sqrt(nrm);
      for (let i = 0; i < n; i++) q[i * n + c] /= nrm;
    }
  }
  return q;
}

/** C = Q diag(lambda) Q^T (columns of Q are the eigenvectors). */
export function withSpectrum(q: Float64Array, lambda: number[]): Float64Array {
  const n = lambda.length;
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[i * n + k] * lambda[k] * q[j * n + k];
      c[i * n + j] = s;
    }
  return c;
}

/** Two-pass mean and covariance (divided by n - 1). */
export function meanCov(x: ArrayLike<number>, n: number, d: number): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j] += x[r * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  for (let r = 0; r < n; r++)
    for (let i = 0; i < d; i++) {
      const ci = x[r * d + i] - mean[i];
      for (let j = 0; j < d; j++) cov[i * d + j] += ci * (x[r * d + j] - mean[j]);
    }
  for (let i = 0; i < d * d; i++) cov[i] /= n - 1;
  return { mean, cov };
}

export interface RefBasis {
  mean: ArrayLike<number>;
  components: ArrayLike<number>;
  eigenvalues: ArrayLike<number>;
  k: number;
}

/** Smooth-Face of one shape, straight from the definition. */
export function smoothRef(s: ArrayLike<number>, m: RefBasis): Float64Array {
  const d = m.mean.length;
  const out = Float64Array.from(m.mean);
  for (let i = 0; i < m.k; i++) {
    let b = 0;
    for (let j = 0; j < d; j++) b += m.components[i * d + j] * (s[j] - m.mean[j]);
    const lim = 3 * Math.sqrt(Math.max(0, m.eigenvalues[i]));
    b = Math.min(lim, Math.max(-lim, b));
    for (let j = 0; j < d; j++) out[j] += b * m.components[i * d + j];
  }
  return out;
}

/** Phi of one shape (same epsilon rule as the kernels). */
export function phiRef(s: ArrayLike<number>, m: RefBasis, mode: 'coordinate' | 'landmark', epsilon = 1e-7): Float64Array {
  const d = m.mean.length;
  const sm = smoothRef(s, m);
  const dev = new Float64Array(d);
  let scale = 0;
  for (let j = 0; j < d; j++) scale = Math.max(scale, Math.abs(s[j]), Math.abs(m.mean[j]));
  if (mode === 'coordinate') {
    for (let j = 0; j < d; j++) dev[j] = Math.abs(s[j] - sm[j]);
  } else {
    for (let j = 0; j < d; j += 2) dev[j] = dev[j + 1] = Math.hypot(s[j] - sm[j], s[j + 1] - sm[j + 1]);
  }
  const top = Math.max(...dev);
  return top <= epsilon * scale ? new Float64Array(d) : dev.map((x) => x / top);
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The 300-W training folder, when this machine has it. */
export const W300_TRAIN = path.resolve(__dirname, '..', '..', '..', 'shared', 'data', '300w', 'train');

/**
 * Minimal .pts reader for the tests (the real loader lives in lib/data): `version`, `n_points`,
 * `{`, one "x y" per line, `}`. Returns [x0, y0, x1, y1, ...].
 */
export function readPts(file: string): number[] {
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.trim());
  const open = lines.indexOf('{');
  const close = lines.indexOf('}', open + 1);
  const np = Number(/n_points:\s*(\d+)/.exec(lines.join('\n'))?.[1]);
  if (open < 0 || close < 0 || !(np > 0)) throw new Error(`${file}: not a .pts file`);
  const out: number[] = [];
  for (const l of lines.slice(open + 1, close)) {
    const [x, y] = l.split(/\s+/).map(Number);
    out.push(x, y);
  }
  if (out.length !== 2 * np || out.some((v) => !Number.isFinite(v))) throw new Error(`${file}: bad points`);
  return out;
}

/**
 * All 68-point shapes of a folder, each normalised to its landmarks' bounding box as the training
 * crop would (u = (x - centre) / size): coordinates in about [-0.5, 0.5].
 */
export function readShapes(dir: string): number[][] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.pts'))
    .sort()
    .map((f) => readPts(path.join(dir, f)))
    .filter((s) => s.length === 136)
    .map((s) => {
      const xs = s.filter((_, i) => i % 2 === 0), ys = s.filter((_, i) => i % 2 === 1);
      const cx = (Math.min(...xs) + Math.max(...xs)) / 2, cy = (Math.min(...ys) + Math.max(...ys)) / 2;
      const size = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
      return s.map((v, i) => (v - (i % 2 === 0 ? cx : cy)) / size);
    });
}
