/** Fixtures the data/eval tests generate on the fly (never real data). */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import sharpDefault from 'sharp';
import type { RawImage } from '../../lib/data/image';

// sharp's CommonJS export is the function itself.
export const sharp = ((sharpDefault as unknown as { default?: typeof sharpDefault }).default ?? sharpDefault) as typeof sharpDefault;

export function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'acr-data-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A w x h RGB image filled by fn(x, y) -> [r, g, b]. */
export function makeImage(w: number, h: number, fn: (x: number, y: number) => [number, number, number]): RawImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = fn(x, y);
      const p = 3 * (y * w + x);
      data[p] = r;
      data[p + 1] = g;
      data[p + 2] = b;
    }
  }
  return { data, width: w, height: h, channels: 3 };
}

export async function writeImage(file: string, img: RawImage): Promise<void> {
  await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } }).toFile(file);
}

/** A smooth textured image, so crops and augmentation have something to move. */
export function texture(w: number, h: number, seed = 1): RawImage {
  return makeImage(w, h, (x, y) => [
    (128 + 100 * Math.sin((x + seed) / 7)) | 0,
    (128 + 100 * Math.cos((y + 2 * seed) / 9)) | 0,
    ((x * 3 + y * 5 + seed * 11) % 256) | 0,
  ]);
}

/** L points on an ellipse around (cx, cy), 0-based pixels. */
export function ringLandmarks(L: number, cx: number, cy: number, rx: number, ry: number): Float32Array {
  const out = new Float32Array(2 * L);
  for (let k = 0; k < L; k++) {
    out[2 * k] = cx + rx * Math.cos((2 * Math.PI * k) / L);
    out[2 * k + 1] = cy + ry * Math.sin((2 * Math.PI * k) / L);
  }
  return out;
}
