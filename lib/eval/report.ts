/**
 * Evaluation outputs: per-image CSV, JSON summary, CED plots and an overlay image of the worst
 * faces (ground truth green, prediction red, a yellow line joining each pair).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { ArgumentError, IoError, ShapeError } from '../errors';
import { type ImageInput, cropTransform, decodeImage, loadSharp, transformPoints, warpAffine } from '../data/image';
import type { FaceRecord } from '../data/types';
import { describe, integer, options as opts } from '../validate';
import { type Evaluation, type EvaluationSummary, type Normaliser, evaluate, subsetSummaries } from './metrics';
import { cedPng, cedSvg } from './plot';

function csvField(v: string | number): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export interface PerImageRow {
  id: string;
  /** NME as a fraction. */
  nme: number;
  imagePath?: string;
  attributes?: Record<string, number>;
}

/** One row per face: id, nme_percent, failed (0/1), image, then attribute columns if any. */
export function perImageCsv(rows: PerImageRow[], threshold = 0.1): string {
  const attrs = [...new Set(rows.flatMap((r) => Object.keys(r.attributes ?? {})))];
  const out = [['id', 'nme_percent', 'failed', 'image', ...attrs].join(',')];
  for (const r of rows) {
    out.push(
      [r.id, (r.nme * 100).toFixed(4), r.nme > threshold ? 1 : 0, r.imagePath ?? '', ...attrs.map((a) => r.attributes?.[a] ?? '')]
        .map(csvField)
        .join(','),
    );
  }
  return out.join('\n') + '\n';
}

export interface OverlayFace {
  image: ImageInput;
  /** Ground-truth and predicted landmarks in source pixels. */
  gt: ArrayLike<number>;
  pred: ArrayLike<number>;
  label?: string;
}

export interface OverlayOptions {
  /** Tile side in pixels. Default 256. */
  tile?: number;
  /** Tiles per row. Default 4. */
  columns?: number;
  /** Crop margin around the ground-truth landmarks. Default 0.25. */
  margin?: number;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A grid of face crops with ground truth and predictions drawn on them, as PNG bytes. */
export async function overlayPng(faces: OverlayFace[], options?: OverlayOptions): Promise<Buffer> {
  if (!Array.isArray(faces) || faces.length === 0) throw new ArgumentError(`faces: expected a non-empty array, got ${describe(faces)}`);
  const o = opts<OverlayOptions>('options', options);
  const tile = integer('options.tile', o.tile ?? 256, 32, 2048);
  const cols = Math.min(faces.length, integer('options.columns', o.columns ?? 4, 1, 64));
  const rows = Math.ceil(faces.length / cols);
  const sharp = loadSharp();
  const tiles = await Promise.all(
    faces.map(async (f, i) => {
      if (f.gt.length !== f.pred.length || f.gt.length % 2) throw new ShapeError(`faces[${i}]: gt and pred must both hold 2L values, got ${f.gt.length} and ${f.pred.length}`);
      const src = await decodeImage(f.image);
      const T = cropTransform({ landmarks: f.gt, size: tile, margin: o.margin ?? 0.25 });
      const px = warpAffine(src, T, tile);
      const raw = new Uint8Array(px.length);
      for (let k = 0; k < px.length; k++) raw[k] = Math.max(0, Math.min(255, Math.round(px[k])));
      const g = transformPoints(T, f.gt);
      const p = transformPoints(T, f.pred);
      const r = Math.max(1.5, tile / 160);
      const svg: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${tile}" height="${tile}">`];
      for (let k = 0; k < g.length; k += 2) {
        svg.push(`<line x1="${g[k].toFixed(1)}" y1="${g[k + 1].toFixed(1)}" x2="${p[k].toFixed(1)}" y2="${p[k + 1].toFixed(1)}" stroke="yellow" stroke-width="1"/>`);
      }
      for (let k = 0; k < g.length; k += 2) svg.push(`<circle cx="${g[k].toFixed(1)}" cy="${g[k + 1].toFixed(1)}" r="${r}" fill="#00e000"/>`);
      for (let k = 0; k < p.length; k += 2) svg.push(`<circle cx="${p[k].toFixed(1)}" cy="${p[k + 1].toFixed(1)}" r="${r}" fill="red"/>`);
      if (f.label) {
        svg.push(`<rect x="0" y="0" width="${tile}" height="18" fill="black" fill-opacity="0.6"/>`);
        svg.push(`<text x="4" y="13" font-family="DejaVu Sans, Arial, sans-serif" font-size="11" fill="white">${esc(f.label)}</text>`);
      }
      svg.push('</svg>');
      const buf = await sharp(Buffer.from(raw.buffer), { raw: { width: tile, height: tile, channels: 3 } })
        .composite([{ input: Buffer.from(svg.join('')), top: 0, left: 0 }])
        .png()
        .toBuffer();
      return { input: buf, left: (i % cols) * tile, top: Math.floor(i / cols) * tile };
    }),
  );
  return sharp({ create: { width: cols * tile, height: rows * tile, channels: 3, background: { r: 32, g: 32, b: 32 } } })
    .composite(tiles)
    .png()
    .toBuffer();
}

export interface ReportOptions {
  normaliser: Normaliser;
  /** Default 0.1. */
  threshold?: number;
  /** How many of the worst faces go into worst.png (0: none). Default 12. */
  worst?: number;
  /** Label of this run in the CED legend. Default 'model'. */
  name?: string;
  /** Extra fields written into summary.json (model, loss, epochs, ...). */
  meta?: Record<string, unknown>;
}

export interface ReportResult {
  evaluation: Evaluation;
  summary: EvaluationSummary & { name: string };
  files: string[];
}

async function write(file: string, data: string | Buffer): Promise<void> {
  // Temp + rename: a killed run never leaves a half-written report.
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    throw new IoError(`${file}: cannot write (${(e as Error).message})`, e);
  }
}

/**
 * Evaluates predictions (N x 2L, source pixels, in the order of `records`) and writes
 * per_image.csv, summary.json, ced.svg, ced.png and worst.png into `dir`.
 */
export async function writeEvaluationReport(dir: string, records: FaceRecord[], pred: ArrayLike<number>, options: ReportOptions): Promise<ReportResult> {
  if (!Array.isArray(records) || records.length === 0) throw new ArgumentError(`records: expected a non-empty array of FaceRecord, got ${describe(records)}`);
  const o = opts<ReportOptions>('options', options);
  const L = records[0].landmarks.length / 2;
  const gt = new Float32Array(records.length * 2 * L);
  records.forEach((r, i) => {
    if (r.landmarks.length !== 2 * L) throw new ShapeError(`records[${i}].landmarks: expected ${2 * L} values, got ${r.landmarks.length}`);
    gt.set(r.landmarks, i * 2 * L);
  });
  const threshold = o.threshold ?? 0.1;
  const evaluation = evaluate(pred, gt, L, { normaliser: o.normaliser!, threshold });
  const name = o.name ?? 'model';
  await fs.mkdir(dir, { recursive: true });
  const files: string[] = [];
  const put = async (f: string, data: string | Buffer) => {
    const p = path.join(dir, f);
    await write(p, data);
    files.push(p);
  };
  const rows = records.map((r, i) => ({ id: r.id, nme: evaluation.perImage[i], imagePath: r.imagePath, attributes: r.attributes }));
  await put('per_image.csv', perImageCsv(rows, threshold));
  const summary = { name, ...evaluation.summary };
  // Subsets: each attribute flag set to 1 (WFLW: pose, occlusion, ...) and each source when several.
  const groups: Record<string, number[]> = {};
  records.forEach((r, i) => {
    for (const [a, v] of Object.entries(r.attributes ?? {})) if (v === 1) (groups[a] ??= []).push(i);
  });
  const sources = new Set(records.map((r) => r.source));
  if (sources.size > 1) records.forEach((r, i) => (groups[`source:${r.source ?? '?'}`] ??= []).push(i));
  const subsets = subsetSummaries(evaluation.perImage, groups, threshold);
  await put('summary.json', JSON.stringify({ ...summary, ...(Object.keys(subsets).length ? { subsets } : {}), ...(o.meta ?? {}) }, null, 2) + '\n');
  const runs = [{ name, errors: evaluation.perImage }];
  await put('ced.svg', cedSvg(runs, { threshold, title: `CED (${summary.normaliser})` }));
  await put('ced.png', await cedPng(runs, { threshold, title: `CED (${summary.normaliser})` }));
  const k = Math.min(records.length, integer('options.worst', o.worst ?? 12, 0));
  if (k > 0) {
    const order = [...evaluation.perImage.keys()].sort((a, b) => evaluation.perImage[b] - evaluation.perImage[a]).slice(0, k);
    const faces = order.map((i) => ({
      image: records[i].imagePath,
      gt: records[i].landmarks,
      pred: Array.prototype.slice.call(pred, i * 2 * L, (i + 1) * 2 * L) as number[],
      label: `${records[i].id}  NME ${(evaluation.perImage[i] * 100).toFixed(2)}%`,
    }));
    await put('worst.png', await overlayPng(faces));
  }
  return { evaluation, summary, files };
}
