/**
 * Turns every accepted form of "a set of face shapes" into one row-major matrix (N x D, D = 2L,
 * rows [x0, y0, x1, y1, ...]) and validates it: element types, consistent sizes, finite values.
 */
import { ArgumentError, DTypeError, ShapeError, ValueRangeError } from '../errors';
import { describe, integer } from '../validate';

/** The minimal tf.Tensor surface read here, so that this module does not load TensorFlow.js. */
export interface TensorLike {
  readonly shape: number[];
  readonly dtype: string;
  readonly isDisposed?: boolean;
  dataSync(): ArrayLike<number>;
}

/**
 * Face shapes in any of the accepted forms: `number[][]` (N x 2L), `number[][][]` (N x L x 2),
 * a row-major `Float32Array` / `Float64Array` (N * 2L values; give `numLandmarks`), or a
 * float32 `tf.Tensor` of shape [N, 2L] or [N, L, 2].
 */
export type ShapesInput = number[][] | number[][][] | Float32Array | Float64Array | TensorLike;

export interface ShapeMatrix {
  /** N x D row-major. Number arrays become a Float64Array (exact); typed arrays are used as they are. */
  data: Float32Array | Float64Array;
  n: number;
  d: number;
}

function isTensorLike(v: unknown): v is TensorLike {
  const t = v as TensorLike;
  return typeof v === 'object' && v !== null && Array.isArray(t.shape) && typeof t.dtype === 'string' && typeof t.dataSync === 'function';
}

function badValue(name: string, x: unknown, row: number, col: number): never {
  if (typeof x !== 'number') throw new DTypeError(`${name}: expected numbers, got ${describe(x)} at row ${row}, column ${col}`);
  throw new ValueRangeError(`${name}: expected finite values, got ${describe(x)} at row ${row}, column ${col}`);
}

/** Throws unless every value is finite; names the first bad row and column. */
export function checkFinite(name: string, data: ArrayLike<number>, d: number): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) badValue(name, data[i], Math.floor(i / d), i % d);
  }
}

function fromNested(name: string, rows: unknown[]): ShapeMatrix {
  const n = rows.length;
  if (n === 0) return { data: new Float64Array(0), n: 0, d: 0 };
  const first = rows[0];
  if (!Array.isArray(first)) throw new ArgumentError(`${name}: expected each shape to be an array, got ${describe(first)} at row 0`);
  const points = first.length > 0 && Array.isArray(first[0]);
  const d = points ? 2 * first.length : first.length;
  const data = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    const row = rows[r];
    if (!Array.isArray(row)) throw new ArgumentError(`${name}: expected each shape to be an array, got ${describe(row)} at row ${r}`);
    if (points) {
      if (2 * row.length !== d) {
        throw new ShapeError(`${name}: expected ${d / 2} landmarks in every shape (like row 0), got ${row.length} at row ${r}`);
      }
      for (let l = 0; l < row.length; l++) {
        const p = row[l] as unknown;
        if (!Array.isArray(p) || p.length !== 2) {
          throw new ShapeError(`${name}: expected an [x, y] pair at row ${r}, landmark ${l}, got ${describe(p)}${Array.isArray(p) ? ` of length ${p.length}` : ''}`);
        }
        for (let c = 0; c < 2; c++) {
          const x = p[c] as unknown;
          if (typeof x !== 'number' || !Number.isFinite(x)) badValue(name, x, r, 2 * l + c);
          data[r * d + 2 * l + c] = x;
        }
      }
    } else {
      if (row.length !== d) throw new ShapeError(`${name}: expected ${d} coordinates in every shape (like row 0), got ${row.length} at row ${r}`);
      for (let c = 0; c < d; c++) {
        const x = row[c] as unknown;
        if (typeof x !== 'number' || !Number.isFinite(x)) {
          if (Array.isArray(x)) throw new ShapeError(`${name}: row ${r} mixes [x, y] pairs with plain numbers (row 0 is flat)`);
          badValue(name, x, r, c);
        }
        data[r * d + c] = x as number;
      }
    }
  }
  return { data, n, d };
}

function fromTensor(name: string, t: TensorLike): ShapeMatrix {
  if (t.isDisposed) throw new ArgumentError(`${name}: the tensor is disposed`);
  if (t.dtype !== 'float32') throw new DTypeError(`${name}: expected a float32 tensor, got dtype ${t.dtype}`);
  const s = t.shape;
  let n: number, d: number;
  if (s.length === 2) {
    [n, d] = s;
  } else if (s.length === 3 && s[2] === 2) {
    n = s[0];
    d = 2 * s[1];
  } else {
    throw new ShapeError(`${name}: expected a tensor of shape [N, 2L] or [N, L, 2], got [${s.join(', ')}]`);
  }
  const values = t.dataSync();
  const data = values instanceof Float32Array ? values : Float32Array.from(values);
  return { data, n, d };
}

/**
 * Reads shapes in any accepted form. `numLandmarks` is required for flat typed arrays and checked
 * against the other forms when given. `expectedLandmarks` (a fitted model's L) is checked last.
 * With `finite: false` the caller takes over the NaN/Infinity check of typed data (fitAsm reads
 * it off the native mean instead of a separate pass).
 */
export function toShapeMatrix(
  name: string,
  shapes: unknown,
  numLandmarks?: unknown,
  expectedLandmarks?: number,
  finite = true,
): ShapeMatrix {
  const wanted = numLandmarks === undefined ? undefined : integer('numLandmarks', numLandmarks, 1, 2 ** 30);
  let m: ShapeMatrix;
  if (shapes instanceof Float32Array || shapes instanceof Float64Array) {
    const l = wanted ?? expectedLandmarks;
    if (l === undefined) {
      throw new ArgumentError(`numLandmarks: required with a flat ${shapes.constructor.name} (N * 2L values), got undefined`);
    }
    if (shapes.length % (2 * l) !== 0) {
      throw new ShapeError(`${name}: expected a multiple of 2 * numLandmarks = ${2 * l} values, got ${shapes.length}`);
    }
    m = { data: shapes, n: shapes.length / (2 * l), d: 2 * l };
  } else if (Array.isArray(shapes)) {
    m = fromNested(name, shapes);
  } else if (isTensorLike(shapes)) {
    m = fromTensor(name, shapes);
  } else if (ArrayBuffer.isView(shapes)) {
    throw new DTypeError(`${name}: expected a Float32Array or a Float64Array, got ${describe(shapes)}`);
  } else {
    throw new ArgumentError(`${name}: expected number[][], number[][][], a Float32Array/Float64Array or a tf.Tensor, got ${describe(shapes)}`);
  }
  if (m.n > 0 && m.d % 2 !== 0) throw new ShapeError(`${name}: expected an even number of coordinates per shape (x, y pairs), got ${m.d}`);
  if (m.n > 0 && m.d === 0) throw new ShapeError(`${name}: expected at least one landmark per shape, got empty shapes`);
  if (wanted !== undefined && m.n > 0 && m.d !== 2 * wanted) {
    throw new ShapeError(`${name}: numLandmarks is ${wanted} but the shapes have ${m.d / 2} landmarks`);
  }
  if (expectedLandmarks !== undefined && m.n > 0 && m.d !== 2 * expectedLandmarks) {
    throw new ShapeError(`${name}: the model has ${expectedLandmarks} landmarks, the shapes have ${m.d / 2}`);
  }
  if (m.n === 0 && expectedLandmarks !== undefined) m.d = 2 * expectedLandmarks;
  if (finite && !Array.isArray(shapes)) checkFinite(name, m.data, m.d || 1);
  return m;
}
