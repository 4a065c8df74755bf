/**
 * CED curves as SVG (several runs on one chart: axes, grid, legend) and PNG (the same SVG
 * rendered by sharp/librsvg), for comparing losses or models.
 */
import { ArgumentError } from '../errors';
import { loadSharp } from '../data/image';
import { describe, options as opts } from '../validate';
import { type CedCurve, aucAt, cedCurve } from './metrics';

export interface CedRun {
  /** Legend label (e.g. 'acr', 'l2'). */
  name: string;
  /** Per-image NME (fractions); the curve and AUC are computed from them. */
  errors: ArrayLike<number>;
}

export interface CedPlotOptions {
  /** Right end of the x axis (NME as a fraction). Default 0.1. */
  threshold?: number;
  width?: number;
  height?: number;
  title?: string;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** "Nice" tick step for a range: 1, 2 or 5 times a power of ten. */
function tickStep(range: number, target: number): number {
  const raw = range / target;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** Fixed-point label without float noise (0.30000000000000004 -> 0.3). */
function label(v: number, step: number): string {
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(digits);
}

/** The CED chart as an SVG document. */
export function cedSvg(runs: CedRun[], options?: CedPlotOptions): string {
  if (!Array.isArray(runs) || runs.length === 0) throw new ArgumentError(`runs: expected a non-empty array of { name, errors }, got ${describe(runs)}`);
  const o = opts<CedPlotOptions>('options', options);
  const t = o.threshold ?? 0.1;
  if (!(t > 0)) throw new ArgumentError(`options.threshold: expected a number > 0, got ${describe(t)}`);
  const W = o.width ?? 640;
  const H = o.height ?? 480;
  const m = { l: 64, r: 20, t: o.title ? 40 : 20, b: 52 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const X = (e: number) => m.l + (Math.min(e, t) / t) * pw;
  const Y = (f: number) => m.t + (1 - f) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  if (o.title) parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15">${esc(o.title)}</text>`);
  // Grid and ticks: x in % NME, y as a fraction of faces.
  const xs = tickStep(t * 100, 5) / 100;
  for (let k = 0; k * xs <= t + 1e-12; k++) {
    const v = k * xs;
    parts.push(`<line x1="${X(v).toFixed(1)}" y1="${m.t}" x2="${X(v).toFixed(1)}" y2="${m.t + ph}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${X(v).toFixed(1)}" y="${m.t + ph + 18}" text-anchor="middle">${label(v * 100, xs * 100)}</text>`);
  }
  for (let k = 0; k <= 10; k++) {
    const f = k / 10;
    parts.push(`<line x1="${m.l}" y1="${Y(f).toFixed(1)}" x2="${m.l + pw}" y2="${Y(f).toFixed(1)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${m.l - 8}" y="${(Y(f) + 4).toFixed(1)}" text-anchor="end">${f.toFixed(1)}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle">NME (%)</text>`);
  parts.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">Fraction of faces</text>`);
  // Curves as exact steps: flat until the next error, then a jump.
  runs.forEach((run, r) => {
    if (!run || typeof run.name !== 'string') throw new ArgumentError(`runs[${r}]: expected { name, errors }, got ${describe(run)}`);
    const c: CedCurve = cedCurve(run.errors, t);
    let d = `M${X(c.x[0]).toFixed(2)},${Y(c.y[0]).toFixed(2)}`;
    for (let i = 1; i < c.x.length; i++) d += ` H${X(c.x[i]).toFixed(2)} V${Y(c.y[i]).toFixed(2)}`;
    parts.push(`<path d="${d}" fill="none" stroke="${COLOURS[r % COLOURS.length]}" stroke-width="2"/>`);
  });
  // Legend with AUC, top left inside the plot (curves rise from the bottom left).
  const lh = 18;
  const lw = Math.min(pw - 20, 60 + 7.5 * Math.max(...runs.map((r) => r.name.length + 14)));
  parts.push(`<rect x="${m.l + 10}" y="${m.t + 10}" width="${lw.toFixed(0)}" height="${runs.length * lh + 8}" fill="white" fill-opacity="0.9" stroke="#999"/>`);
  runs.forEach((run, r) => {
    const y = m.t + 10 + 4 + r * lh + lh / 2;
    const col = COLOURS[r % COLOURS.length];
    parts.push(`<line x1="${m.l + 18}" y1="${y}" x2="${m.l + 42}" y2="${y}" stroke="${col}" stroke-width="2"/>`);
    parts.push(`<text x="${m.l + 48}" y="${y + 4}">${esc(run.name)} (AUC ${aucAt(run.errors, t).toFixed(4)})</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** The same chart as PNG bytes. */
export async function cedPng(runs: CedRun[], options?: CedPlotOptions): Promise<Buffer> {
  return loadSharp()(Buffer.from(cedSvg(runs, options))).png().toBuffer();
}
