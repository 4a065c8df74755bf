/**
 * 300-W / iBUG `.pts` files. Two layouts exist in the wild:
 *
 *     version: 1            x y
 *     n_points: 68          x y
 *     {                     ...      (header-less: one point per line)
 *     x y
 *     ...
 *     }
 *
 * Coordinates in the files are 1-based pixels (Matlab convention); records use 0-based
 * pixels, so reading subtracts 1 and writing adds it back.
 */
import { promises as fs } from 'fs';
import { IoError, ParseError } from '../errors';

export interface PtsOptions {
  /** When set, a file with another point count is an error. */
  numLandmarks?: number;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseCoordinate(tok: string, file: string, line: number): number {
  if (!NUMBER.test(tok)) throw new ParseError(file, line, `non-numeric coordinate ${JSON.stringify(tok)}`);
  const v = Number(tok);
  // '1e999' matches the pattern but overflows to Infinity, which would poison the loss.
  if (!Number.isFinite(v)) throw new ParseError(file, line, `coordinate ${tok} is not a finite number`);
  return v;
}

/** Parses the text of a `.pts` file into 0-based [x0, y0, x1, y1, ...]. */
export function parsePts(text: string, file = '<pts>', opts: PtsOptions = {}): Float32Array {
  // A UTF-8 byte-order mark would hide the header from the parser.
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let i = 0;
  const skipBlank = () => {
    while (i < lines.length && lines[i].trim() === '') i++;
  };
  let declared: number | undefined;
  let braced = false;
  skipBlank();
  // Header: "key: value" lines until "{".
  while (i < lines.length) {
    const t = lines[i].trim();
    const m = /^([A-Za-z_]+)\s*:\s*(.*)$/.exec(t);
    if (!m) break;
    const key = m[1].toLowerCase();
    if (key === 'n_points') {
      if (!/^\d+$/.test(m[2].trim())) throw new ParseError(file, i + 1, `n_points: expected a non-negative integer, got ${JSON.stringify(m[2])}`);
      declared = Number(m[2]);
    } else if (key !== 'version') {
      throw new ParseError(file, i + 1, `unknown header field ${JSON.stringify(m[1])}`);
    }
    i++;
    skipBlank();
  }
  const hadHeader = i > 0 && declared !== undefined;
  if (i < lines.length && lines[i].trim() === '{') {
    braced = true;
    i++;
  } else if (hadHeader) {
    throw new ParseError(file, i + 1, `missing '{' after the header, got ${JSON.stringify(lines[i]?.trim() ?? '<end of file>')}`);
  }
  const coords: number[] = [];
  let closed = false;
  for (; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t === '') continue;
    if (t === '}') {
      if (!braced) throw new ParseError(file, i + 1, `'}' without a matching '{'`);
      closed = true;
      i++;
      break;
    }
    if (t === '{') throw new ParseError(file, i + 1, `unexpected '{'`);
    const toks = t.split(/\s+/);
    if (toks.length !== 2) throw new ParseError(file, i + 1, `expected "x y", got ${toks.length} values in ${JSON.stringify(t)}`);
    const x = parseCoordinate(toks[0], file, i + 1);
    const y = parseCoordinate(toks[1], file, i + 1);
    coords.push(x - 1, y - 1);
  }
  if (braced && !closed) {
    let last = lines.length;
    while (last > 1 && lines[last - 1].trim() === '') last--;
    throw new ParseError(file, last, `missing '}' after the last point`);
  }
  for (; i < lines.length; i++) {
    if (lines[i].trim() !== '') throw new ParseError(file, i + 1, `unexpected text after '}': ${JSON.stringify(lines[i].trim())}`);
  }
  const n = coords.length / 2;
  if (n === 0) throw new ParseError(file, undefined, 'no points');
  if (declared !== undefined && n !== declared) {
    throw new ParseError(file, undefined, `n_points says ${declared} but the file has ${n} points`);
  }
  if (opts.numLandmarks !== undefined && n !== opts.numLandmarks) {
    throw new ParseError(file, undefined, `expected ${opts.numLandmarks} points, got ${n}`);
  }
  return Float32Array.from(coords);
}

/** Reads and parses a `.pts` file. */
export async function readPts(file: string, opts: PtsOptions = {}): Promise<Float32Array> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new IoError(`${file}: cannot read (${(e as Error).message})`, e);
  }
  return parsePts(text, file, opts);
}

/** Formats 0-based landmarks as a standard `.pts` file (1-based, with header). */
export function formatPts(landmarks: ArrayLike<number>): string {
  const n = landmarks.length / 2;
  const rows: string[] = ['version: 1', `n_points: ${n}`, '{'];
  for (let k = 0; k < n; k++) rows.push(`${fmt(landmarks[2 * k] + 1)} ${fmt(landmarks[2 * k + 1] + 1)}`);
  rows.push('}', '');
  return rows.join('\n');
}

function fmt(v: number): string {
  return String(Math.round(v * 1000) / 1000);
}
