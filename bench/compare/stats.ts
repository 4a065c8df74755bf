/** Statistics over seeds for the loss comparison: seeds are the independent samples, faces are not. */

export function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1)) : NaN;
  return { mean, sd };
}

/** |mean(a) - mean(b)| < 2 standard errors of that difference (Welch). */
export function withinTwoSe(a: readonly number[], b: readonly number[]): boolean {
  const ma = meanSd(a), mb = meanSd(b);
  const se = Math.sqrt(ma.sd ** 2 / a.length + mb.sd ** 2 / b.length);
  return Math.abs(ma.mean - mb.mean) < 2 * se;
}

/** Two-sided 97.5 % quantile of Student's t (df rounded down, the conservative side). */
export function t975(df: number): number {
  const table = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
    2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
  ];
  const k = Math.max(1, Math.floor(df));
  // Past the table: the quantile of the table's last df at or below k (larger, so conservative).
  return k <= table.length ? table[k - 1] : k < 40 ? 2.042 : k < 60 ? 2.021 : k < 120 ? 2.0 : 1.98;
}

/**
 * Ratio of means a / b with a 95 % interval: delta method on log(mean), Welch-Satterthwaite degrees
 * of freedom (seeds are the independent samples; faces within a run are not).
 */
export function ratioCi(a: readonly number[], b: readonly number[]): { r: number; lo: number; hi: number } | null {
  if (a.length < 2 || b.length < 2) return null;
  const A = meanSd(a), B = meanSd(b);
  const va = A.sd ** 2 / (a.length * A.mean ** 2), vb = B.sd ** 2 / (b.length * B.mean ** 2);
  const se = Math.sqrt(va + vb);
  const df = (va + vb) ** 2 / ((va * va) / (a.length - 1) + (vb * vb) / (b.length - 1) || 1e-300);
  const r = A.mean / B.mean;
  const h = t975(Number.isFinite(df) ? df : a.length + b.length - 2) * se;
  return { r, lo: r * Math.exp(-h), hi: r * Math.exp(h) };
}

