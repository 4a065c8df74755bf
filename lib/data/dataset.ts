/**
 * One entry point for every annotation format: a folder of image + `.pts` pairs (searched
 * recursively), a WFLW list, or a .jsonl file. Bad entries either stop the load with an error
 * that names the file and line, or (onError: 'skip') are dropped with a warning and counted.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { AcrError, ArgumentError, IoError, ParseError } from '../errors';
import { describe, oneOf, options as opts, integer, nonNegativeNumber } from '../validate';
import { decodeImage } from './image';
import { parseJsonl } from './jsonl';
import { readPts } from './pts';
import { Rng } from './rng';
import type { FaceRecord } from './types';
import { parseWflwList } from './wflw';

export type DatasetFormat = 'pts' | 'wflw' | 'jsonl';
export const DATASET_FORMATS: readonly DatasetFormat[] = ['pts', 'wflw', 'jsonl'];
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff'];

export interface DatasetSpec {
  /** A folder (pts), a WFLW list (.txt) or a .jsonl file. */
  path: string;
  /** Detected from the path when absent. */
  format?: DatasetFormat;
  /** WFLW: the folder the list's image paths are relative to (default: a WFLW_images folder next to or above the list). */
  imageRoot?: string;
}

export interface LoadOptions {
  /** 'throw' (default): the first bad entry stops the load. 'skip': warn, drop and count it. */
  onError?: 'throw' | 'skip';
  /** Expected landmarks per face; by default the first good face sets it. */
  numLandmarks?: number;
  /** 'exists' (default) checks each image file is there; 'decode' also decodes it (slower). */
  verifyImages?: 'exists' | 'decode';
  /** Receives each warning in skip mode (default: console.warn). */
  onWarning?: (message: string) => void;
}

export interface SkippedEntry {
  file: string;
  line?: number;
  code: string;
  reason: string;
}

export interface Dataset {
  records: FaceRecord[];
  numLandmarks: number;
  format: DatasetFormat;
  /** The resolved path that was loaded. */
  path: string;
  skipped: SkippedEntry[];
  /** One line for logs: "2012 faces x 68 landmarks from ... (pts), 0 skipped". */
  summary: string;
}

/** Detects the format of a path: folder -> pts, .jsonl -> jsonl, .txt -> wflw. */
export async function detectFormat(p: string): Promise<DatasetFormat> {
  let st;
  try {
    st = await fs.stat(p);
  } catch (e) {
    throw new IoError(`${p}: no such file or folder`, e);
  }
  if (st.isDirectory()) return 'pts';
  const ext = path.extname(p).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.txt') return 'wflw';
  if (ext === '.pts') throw new ArgumentError(`${p}: a single .pts file is not a dataset; pass its folder`);
  throw new ArgumentError(`${p}: cannot tell the format (expected a folder, a WFLW .txt list or a .jsonl file); pass { path, format }`);
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = path.join(dir, e.name);
    // Follow symbolic links (datasets are often linked in); broken links are ignored.
    const st = e.isSymbolicLink() ? await fs.stat(full).catch(() => undefined) : e;
    if (st?.isDirectory()) await walk(full, out);
    else if (st?.isFile()) out.push(full);
  }
}

/** Runs fn over items with at most `limit` in flight, keeping order of results. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

interface Entry {
  file: string;
  line?: number;
  record?: FaceRecord;
  error?: AcrError;
}

async function readPtsFolder(root: string, numLandmarks: number | undefined): Promise<Entry[]> {
  const files: string[] = [];
  await walk(root, files);
  const byDirStem = new Map<string, string>();
  for (const f of files) {
    const ext = path.extname(f).toLowerCase();
    if (IMAGE_EXTENSIONS.includes(ext)) {
      const key = f.slice(0, f.length - ext.length);
      // Prefer the first extension in IMAGE_EXTENSIONS order when several exist.
      const prev = byDirStem.get(key);
      if (!prev || IMAGE_EXTENSIONS.indexOf(ext) < IMAGE_EXTENSIONS.indexOf(path.extname(prev).toLowerCase())) byDirStem.set(key, f);
    }
  }
  const ptsFiles = files.filter((f) => path.extname(f).toLowerCase() === '.pts');
  return mapLimit(ptsFiles, 32, async (f): Promise<Entry> => {
    try {
      const landmarks = await readPts(f, { numLandmarks });
      const stemPath = f.slice(0, f.length - 4);
      const image = byDirStem.get(stemPath);
      if (!image) throw new IoError(`${f}: no image next to it (looked for ${path.basename(stemPath)}{${IMAGE_EXTENSIONS.join(',')}})`);
      const rel = path.relative(root, stemPath).split(path.sep).join('/');
      const parts = rel.split('/');
      // Source: the first sub-folder (lfpw/trainset/...), else the name prefix (lfpw_0001).
      const stem = parts[parts.length - 1];
      const source = parts.length > 1 ? parts[0] : stem.includes('_') ? stem.slice(0, stem.indexOf('_')) : undefined;
      return { file: f, record: { id: rel, imagePath: path.resolve(image), landmarks, ...(source ? { source } : {}) } };
    } catch (e) {
      if (e instanceof AcrError) return { file: f, error: e };
      throw e;
    }
  });
}

async function findWflwImageRoot(listFile: string): Promise<string> {
  const dir = path.dirname(path.resolve(listFile));
  for (const cand of [path.join(dir, 'WFLW_images'), path.join(dir, '..', 'WFLW_images'), path.join(dir, '..', '..', 'WFLW_images')]) {
    try {
      if ((await fs.stat(cand)).isDirectory()) return cand;
    } catch {
      /* try the next candidate */
    }
  }
  return dir;
}

async function readText(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new IoError(`${file}: cannot read (${(e as Error).message})`, e);
  }
}

async function checkImage(entry: Entry, mode: 'exists' | 'decode'): Promise<void> {
  const rec = entry.record!;
  try {
    if (mode === 'decode') await decodeImage(rec.imagePath);
    else if (!(await fs.stat(rec.imagePath)).isFile()) throw new Error('not a file');
  } catch (e) {
    const where = entry.line !== undefined ? `${entry.file}:${entry.line}: ` : `${entry.file}: `;
    entry.error =
      e instanceof AcrError ? new IoError(`${where}${e.message}`, e) : new IoError(`${where}image ${rec.imagePath} is missing or unreadable (${(e as Error).message})`, e);
    entry.record = undefined;
  }
}

/** Why these landmarks cannot be a face (non-finite values, no width or height), or null. */
function degenerate(lm: ArrayLike<number>): string | null {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < lm.length; i += 2) {
    if (!Number.isFinite(lm[i]) || !Number.isFinite(lm[i + 1])) return `point ${i / 2 + 1} is not finite (${lm[i]}, ${lm[i + 1]})`;
    x0 = Math.min(x0, lm[i]);
    x1 = Math.max(x1, lm[i]);
    y0 = Math.min(y0, lm[i + 1]);
    y1 = Math.max(y1, lm[i + 1]);
  }
  if (x1 - x0 <= 0 && y1 - y0 <= 0) return `all ${lm.length / 2} points are the same point (${x0}, ${y0}): not a face`;
  if (x1 - x0 <= 0 || y1 - y0 <= 0) return `all ${lm.length / 2} points lie on one ${x1 - x0 <= 0 ? 'vertical' : 'horizontal'} line: not a face`;
  return null;
}

/**
 * Loads a dataset. `pathOrSpec` is a path (format detected) or a DatasetSpec.
 * Records come in a deterministic order (sorted paths, list order), each with a unique id.
 */
export async function loadDataset(pathOrSpec: string | DatasetSpec, options?: LoadOptions): Promise<Dataset> {
  const spec: DatasetSpec = typeof pathOrSpec === 'string' ? { path: pathOrSpec } : pathOrSpec;
  if (!spec || typeof spec.path !== 'string' || spec.path === '') throw new ArgumentError(`pathOrSpec: expected a path or { path }, got ${describe(pathOrSpec)}`);
  const o = opts<LoadOptions>('options', options);
  const onError = oneOf('options.onError', o.onError ?? 'throw', ['throw', 'skip'] as const);
  const verify = oneOf('options.verifyImages', o.verifyImages ?? 'exists', ['exists', 'decode'] as const);
  const numLandmarks = o.numLandmarks === undefined ? undefined : integer('options.numLandmarks', o.numLandmarks, 1);
  const warn = o.onWarning ?? ((m: string) => console.warn(`acr: ${m}`));
  const root = path.resolve(spec.path);
  const format = spec.format !== undefined ? oneOf('format', spec.format, DATASET_FORMATS) : await detectFormat(root);

  let entries: Entry[];
  if (format === 'pts') {
    entries = await readPtsFolder(root, numLandmarks);
    if (entries.length === 0) throw new IoError(`${root}: no .pts files found (searched recursively)`);
  } else if (format === 'wflw') {
    const imageRoot = spec.imageRoot ? path.resolve(spec.imageRoot) : await findWflwImageRoot(root);
    entries = parseWflwList(await readText(root), root, imageRoot, numLandmarks).map((l) => ({ file: root, ...l }));
  } else {
    entries = parseJsonl(await readText(root), root, numLandmarks).map((l) => ({ file: root, ...l }));
  }
  if (entries.length === 0) throw new IoError(`${root}: no faces in it`);

  await mapLimit(
    entries.filter((e) => e.record),
    verify === 'decode' ? 4 : 32,
    (e) => checkImage(e, verify),
  );

  // One landmark count for the whole set (folder files are parsed independently).
  let L = numLandmarks;
  const seen = new Set<string>();
  for (const e of entries) {
    if (!e.record) continue;
    const n = e.record.landmarks.length / 2;
    if (L === undefined) L = n;
    // A face whose points span no area has no crop: caught here so --skip-bad can drop it.
    const notAFace = n === L ? degenerate(e.record.landmarks) : null;
    if (n !== L) {
      e.error = new ParseError(e.file, e.line, `expected ${L} points (as the first face), got ${n}`);
      e.record = undefined;
    } else if (notAFace) {
      e.error = new ParseError(e.file, e.line, notAFace);
      e.record = undefined;
    } else if (seen.has(e.record.id)) {
      e.error = new ParseError(e.file, e.line, `duplicate id ${JSON.stringify(e.record.id)}`);
      e.record = undefined;
    } else seen.add(e.record.id);
  }

  const skipped: SkippedEntry[] = [];
  for (const e of entries) {
    if (!e.error) continue;
    if (onError === 'throw') throw e.error;
    skipped.push({ file: e.file, line: e.line, code: e.error.code, reason: e.error.message });
    warn(`skipped: ${e.error.message}`);
  }
  const records = entries.filter((e) => e.record).map((e) => e.record!);
  if (records.length === 0) throw new IoError(`${root}: no usable faces (${skipped.length} skipped)`);
  return {
    records,
    numLandmarks: L!,
    format,
    path: root,
    skipped,
    summary: `${records.length} faces x ${L} landmarks from ${root} (${format}), ${skipped.length} skipped`,
  };
}

export interface SplitOptions {
  /** Share of each source that goes to validation, in [0, 1). */
  valFraction: number;
  seed: number;
}

export interface Split {
  train: FaceRecord[];
  val: FaceRecord[];
  trainIds: string[];
  valIds: string[];
}

/** Stratum of a record: its source, else its id prefix before the first '_' or '/'. */
function stratum(r: FaceRecord): string {
  if (r.source) return r.source;
  const m = /^[^_/]+(?=[_/])/.exec(r.id);
  return m ? m[0] : '';
}

/**
 * Reproducible train/validation split: records are grouped by source, each group is sorted by
 * id (so input order does not matter) and shuffled with a seeded RNG, and round(n * valFraction)
 * of each group go to validation. Same records + same seed = same split.
 */
export function splitDataset(records: FaceRecord[], options: SplitOptions): Split {
  if (!Array.isArray(records)) throw new ArgumentError(`records: expected an array of FaceRecord, got ${describe(records)}`);
  const o = opts<SplitOptions>('options', options);
  const frac = nonNegativeNumber('options.valFraction', o.valFraction);
  if (!(frac < 1)) throw new ArgumentError(`options.valFraction: expected a number in [0, 1), got ${frac}`);
  const seed = integer('options.seed', o.seed ?? 0, 0, 2 ** 53);
  const groups = new Map<string, FaceRecord[]>();
  for (const r of records) {
    const k = stratum(r);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  const valSet = new Set<FaceRecord>();
  for (const k of [...groups.keys()].sort()) {
    const g = groups.get(k)!.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    new Rng(`split:${seed}:${k}`).shuffle(g);
    const nVal = Math.round(g.length * frac);
    for (let i = 0; i < nVal; i++) valSet.add(g[i]);
  }
  const train = records.filter((r) => !valSet.has(r));
  const val = records.filter((r) => valSet.has(r));
  return { train, val, trainIds: train.map((r) => r.id), valIds: val.map((r) => r.id) };
}

/** Re-creates a saved split from its validation ids (unknown ids are an error). */
export function splitByIds(records: FaceRecord[], valIds: string[]): Split {
  const want = new Set(valIds);
  const have = new Set(records.map((r) => r.id));
  const missing = valIds.filter((id) => !have.has(id));
  if (missing.length) throw new ArgumentError(`valIds: ${missing.length} ids are not in the dataset (first: ${JSON.stringify(missing[0])})`);
  const train = records.filter((r) => !want.has(r.id));
  const val = records.filter((r) => want.has(r.id));
  return { train, val, trainIds: train.map((r) => r.id), valIds: val.map((r) => r.id) };
}
