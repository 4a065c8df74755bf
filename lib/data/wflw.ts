/**
 * WFLW annotation lists (`list_98pt_rect_attr_train.txt` / `..._test.txt`). One face per line:
 *   2L landmark coordinates (x y pairs, 0-based pixels), the face box x_min y_min x_max y_max,
 *   six attribute flags (pose, expression, illumination, make-up, occlusion, blur), the image path
 *   relative to the WFLW_images folder. L is 98 in WFLW but is inferred, not assumed.
 */
import * as path from 'path';
import { ParseError } from '../errors';
import type { FaceRecord } from './types';

export const WFLW_ATTRIBUTES = ['pose', 'expression', 'illumination', 'makeup', 'occlusion', 'blur'] as const;

export interface WflwLine {
  /** 1-based line number in the list. */
  line: number;
  record?: FaceRecord;
  error?: ParseError;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses a WFLW list. Each non-blank line yields a record or a ParseError (the caller decides
 * whether to throw or skip). `imageRoot` is the folder the image paths are relative to.
 */
export function parseWflwList(text: string, file: string, imageRoot: string, numLandmarks?: number): WflwLine[] {
  const out: WflwLine[] = [];
  const lines = text.split(/\r?\n/);
  let expected = numLandmarks;
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t === '') continue;
    const lineNo = i + 1;
    try {
      const toks = t.split(/\s+/);
      const nNum = toks.length - 1 - 4 - WFLW_ATTRIBUTES.length;
      if (toks.length < 1 + 4 + WFLW_ATTRIBUTES.length + 2 || nNum % 2 !== 0) {
        throw new ParseError(file, lineNo, `expected 2L coordinates, 4 box values, ${WFLW_ATTRIBUTES.length} attribute flags and an image path, got ${toks.length} fields`);
      }
      const L = nNum / 2;
      if (expected !== undefined && L !== expected) throw new ParseError(file, lineNo, `expected ${expected} points, got ${L}`);
      const vals: number[] = [];
      for (let k = 0; k < toks.length - 1; k++) {
        if (!NUMBER.test(toks[k])) throw new ParseError(file, lineNo, `field ${k + 1}: non-numeric value ${JSON.stringify(toks[k])}`);
        vals.push(Number(toks[k]));
      }
      const [x0, y0, x1, y1] = vals.slice(nNum, nNum + 4);
      if (!(x1 > x0 && y1 > y0)) throw new ParseError(file, lineNo, `box x_min y_min x_max y_max must have x_max > x_min and y_max > y_min, got ${x0} ${y0} ${x1} ${y1}`);
      const attributes: Record<string, number> = {};
      WFLW_ATTRIBUTES.forEach((name, k) => (attributes[name] = vals[nNum + 4 + k]));
      const rel = toks[toks.length - 1];
      const stem = rel.replace(/\.[^./\\]+$/, '');
      out.push({
        line: lineNo,
        record: {
          id: `${stem}#${lineNo}`,
          imagePath: path.resolve(imageRoot, rel),
          landmarks: Float32Array.from(vals.slice(0, nNum)),
          box: [x0, y0, x1 - x0, y1 - y0],
          source: rel.includes('/') ? rel.split('/')[0] : undefined,
          attributes,
        },
      });
      expected = L;
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      out.push({ line: lineNo, error: e });
    }
  }
  return out;
}
