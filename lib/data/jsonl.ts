/**
 * Generic JSON-lines annotations, one face per line:
 *   {"image": "rel/or/abs.jpg", "landmarks": [[x, y], ...] or [x0, y0, x1, y1, ...],
 *    "box": [x, y, width, height]?, "id": "..."?, "source": "..."?}
 * Coordinates are 0-based pixels; relative image paths are relative to the .jsonl file.
 */
import * as path from 'path';
import { ParseError } from '../errors';
import type { Box, FaceRecord } from './types';

export interface JsonlLine {
  line: number;
  record?: FaceRecord;
  error?: ParseError;
}

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function readLandmarks(v: unknown, file: string, line: number): Float32Array {
  if (!Array.isArray(v) || v.length === 0) throw new ParseError(file, line, `"landmarks": expected a non-empty array`);
  if (Array.isArray(v[0])) {
    const out = new Float32Array(v.length * 2);
    v.forEach((p: unknown, k) => {
      if (!Array.isArray(p) || p.length !== 2 || !finite(p[0]) || !finite(p[1])) {
        throw new ParseError(file, line, `"landmarks"[${k}]: expected [x, y] with finite numbers, got ${JSON.stringify(p)}`);
      }
      out[2 * k] = p[0];
      out[2 * k + 1] = p[1];
    });
    return out;
  }
  if (v.length % 2 !== 0) throw new ParseError(file, line, `"landmarks": a flat list needs an even length, got ${v.length}`);
  v.forEach((x: unknown, k) => {
    if (!finite(x)) throw new ParseError(file, line, `"landmarks"[${k}]: non-numeric coordinate ${JSON.stringify(x)}`);
  });
  return Float32Array.from(v as number[]);
}

function readBox(v: unknown, file: string, line: number): Box {
  if (!Array.isArray(v) || v.length !== 4 || !v.every(finite) || !(v[2] > 0 && v[3] > 0)) {
    throw new ParseError(file, line, `"box": expected [x, y, width, height] with width, height > 0, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1], v[2], v[3]];
}

export function parseJsonl(text: string, file: string, numLandmarks?: number): JsonlLine[] {
  const out: JsonlLine[] = [];
  const base = path.dirname(path.resolve(file));
  const lines = text.split(/\r?\n/);
  let expected = numLandmarks;
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t === '') continue;
    const lineNo = i + 1;
    try {
      let obj: unknown;
      try {
        obj = JSON.parse(t);
      } catch (e) {
        throw new ParseError(file, lineNo, `invalid JSON (${(e as Error).message})`);
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new ParseError(file, lineNo, 'expected a JSON object');
      const o = obj as Record<string, unknown>;
      if (typeof o.image !== 'string' || o.image === '') throw new ParseError(file, lineNo, `"image": expected a path string`);
      const landmarks = readLandmarks(o.landmarks, file, lineNo);
      const L = landmarks.length / 2;
      if (expected !== undefined && L !== expected) throw new ParseError(file, lineNo, `expected ${expected} points, got ${L}`);
      const record: FaceRecord = {
        id: typeof o.id === 'string' ? o.id : `${o.image.replace(/\.[^./\\]+$/, '')}#${lineNo}`,
        imagePath: path.resolve(base, o.image),
        landmarks,
      };
      if (o.box !== undefined) record.box = readBox(o.box, file, lineNo);
      if (typeof o.source === 'string') record.source = o.source;
      out.push({ line: lineNo, record });
      expected = L;
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      out.push({ line: lineNo, error: e });
    }
  }
  return out;
}
