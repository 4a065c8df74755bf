/**
 * Similarity (Procrustes) alignment of 2-D shapes, as a classical ASM does before its PCA: a
 * shape is moved, scaled and rotated (never mirrored) onto a reference, so the model describes
 * the face's form and not its pose in the crop. Shapes are flat [x0, y0, x1, y1, ...].
 */

/** x' = a x - b y + tx, y' = b x + a y + ty: scale sqrt(a^2 + b^2), rotation atan2(b, a). */
export type Similarity = [a: number, b: number, tx: number, ty: number];

/**
 * The similarity that maps shape p (L points at offset po) onto q (offset qo) with the least
 * squared error: with both centred, a + ib = sum(conj(p) q) / sum |p|^2 (complex least squares).
 * A shape whose points all coincide maps to q's centroid (a = b = 0).
 */
export function fitSimilarity(p: ArrayLike<number>, q: ArrayLike<number>, L: number, po = 0, qo = 0): Similarity {
  let pmx = 0, pmy = 0, qmx = 0, qmy = 0;
  for (let i = 0; i < L; i++) {
    pmx += p[po + 2 * i]; pmy += p[po + 2 * i + 1];
    qmx += q[qo + 2 * i]; qmy += q[qo + 2 * i + 1];
  }
  pmx /= L; pmy /= L; qmx /= L; qmy /= L;
  let pp = 0, re = 0, im = 0;
  for (let i = 0; i < L; i++) {
    const px = p[po + 2 * i] - pmx, py = p[po + 2 * i + 1] - pmy;
    const qx = q[qo + 2 * i] - qmx, qy = q[qo + 2 * i + 1] - qmy;
    pp += px * px + py * py;
    re += px * qx + py * qy;
    im += px * qy - py * qx;
  }
  const a = pp > 0 ? re / pp : 0;
  const b = pp > 0 ? im / pp : 0;
  return [a, b, qmx - (a * pmx - b * pmy), qmy - (b * pmx + a * pmy)];
}

/** T applied to the L points of `shape` (from offset `so`), written to `out` at offset `oo`. */
export function applySimilarity(T: Similarity, shape: ArrayLike<number>, L: number, out: { [i: number]: number }, so = 0, oo = 0): void {
  const [a, b, tx, ty] = T;
  for (let i = 0; i < L; i++) {
    const x = shape[so + 2 * i], y = shape[so + 2 * i + 1];
    out[oo + 2 * i] = a * x - b * y + tx;
    out[oo + 2 * i + 1] = b * x + a * y + ty;
  }
}

/** Centroid size: the root of the summed squared distances of the points to their centroid. */
function centroidSize(s: ArrayLike<number>, L: number, o: number): number {
  let mx = 0, my = 0;
  for (let i = 0; i < L; i++) {
    mx += s[o + 2 * i];
    my += s[o + 2 * i + 1];
  }
  mx /= L;
  my /= L;
  let ss = 0;
  for (let i = 0; i < L; i++) ss += (s[o + 2 * i] - mx) ** 2 + (s[o + 2 * i + 1] - my) ** 2;
  return Math.sqrt(ss);
}

/** The first L points of `shape` moved to centroid (cx, cy) and scaled to centroid size `size`, into `out` (may alias). */
function placeAt(shape: ArrayLike<number>, L: number, size: number, cx: number, cy: number, out: Float64Array): void {
  const s = centroidSize(shape, L, 0) || 1;
  let mx = 0, my = 0;
  for (let i = 0; i < L; i++) {
    mx += shape[2 * i] / L;
    my += shape[2 * i + 1] / L;
  }
  for (let i = 0; i < L; i++) {
    out[2 * i] = ((shape[2 * i] - mx) * size) / s + cx;
    out[2 * i + 1] = ((shape[2 * i + 1] - my) * size) / s + cy;
  }
}

/**
 * Generalised Procrustes analysis: every shape aligned to a common mean, which is re-estimated
 * until it stops moving. The mean keeps the first shape's orientation, the shapes' average
 * centroid size and their average centroid, so aligned shapes stay in the input's coordinates.
 */
export function alignShapes(shapes: ArrayLike<number>, L: number, iterations = 20): { aligned: Float64Array; mean: Float64Array } {
  const D = 2 * L;
  const n = shapes.length / D;
  const aligned = new Float64Array(shapes.length);
  if (n === 0) return { aligned, mean: new Float64Array(D) };
  let size = 0, cx = 0, cy = 0;
  for (let r = 0; r < n; r++) {
    size += centroidSize(shapes, L, r * D) / n;
    for (let i = 0; i < L; i++) {
      cx += shapes[r * D + 2 * i] / (n * L);
      cy += shapes[r * D + 2 * i + 1] / (n * L);
    }
  }
  // The reference frame: the first shape, centred on the average centroid, at the average size.
  const frame = new Float64Array(D);
  placeAt(shapes, L, size, cx, cy, frame);
  let mean = frame.slice();
  for (let it = 0; it < iterations; it++) {
    for (let r = 0; r < n; r++) applySimilarity(fitSimilarity(shapes, mean, L, r * D, 0), shapes, L, aligned, r * D, r * D);
    const next = new Float64Array(D);
    for (let r = 0; r < n; r++) for (let j = 0; j < D; j++) next[j] += aligned[r * D + j] / n;
    // Pin the new mean's pose and size to the frame, or GPA drifts (it only fixes shapes up to a similarity).
    applySimilarity(fitSimilarity(next, frame, L), next, L, next);
    placeAt(next, L, size, cx, cy, next);
    let moved = 0;
    for (let j = 0; j < D; j++) moved = Math.max(moved, Math.abs(next[j] - mean[j]));
    mean = next;
    if (moved <= 1e-12 * size) break;
  }
  for (let r = 0; r < n; r++) applySimilarity(fitSimilarity(shapes, mean, L, r * D, 0), shapes, L, aligned, r * D, r * D);
  return { aligned, mean };
}
