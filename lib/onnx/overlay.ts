/**
 * Draws predicted landmarks and face boxes over an image (an SVG composited with sharp) and
 * writes it as PNG: a quick visual check of a prediction.
 */
import { decodeImage, type ImageInput, loadSharp } from '../data/image';
import type { Box } from '../data/types';
import { IoError } from '../errors';

export interface OverlayFace {
  landmarks: ArrayLike<number>;
  box?: Box;
}

function svg(width: number, height: number, faces: OverlayFace[]): string {
  const r = Math.max(1, Math.round(Math.min(width, height) / 250));
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">`];
  for (const f of faces) {
    if (f.box) {
      const [x, y, w, h] = f.box;
      parts.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#00ff66" stroke-width="${r}"/>`);
    }
    for (let k = 0; k + 1 < f.landmarks.length; k += 2) {
      // Pixel centres sit on integers; SVG coordinates put them at +0.5.
      const cx = (f.landmarks[k] + 0.5).toFixed(2);
      const cy = (f.landmarks[k + 1] + 0.5).toFixed(2);
      parts.push(`<circle cx="${cx}" cy="${cy}" r="${r * 1.5}" fill="#ff2050" stroke="#ffffff" stroke-width="${r / 2}"/>`);
    }
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Writes `image` with the faces drawn on it to `file` (PNG). */
export async function writeOverlay(image: ImageInput, faces: OverlayFace[], file: string): Promise<void> {
  const raw = await decodeImage(image);
  try {
    await loadSharp()(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } })
      .composite([{ input: Buffer.from(svg(raw.width, raw.height, faces)), top: 0, left: 0 }])
      .png()
      .toFile(file);
  } catch (err) {
    throw new IoError(`out: cannot write ${file}: ${(err as Error).message}`, err);
  }
}
