/**
 * Argument checks shared by every exported function. Each check throws an AcrError whose
 * message starts with the argument's name, says what was expected and what came.
 */
import { ArgumentError, DTypeError, ShapeError, ValueRangeError } from './errors';

/** Short description of a value for error messages ("Float32Array(12)", "string", ...). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length: number }).length ?? v.byteLength})`;
  if (Array.isArray(v)) return `Array(${v.length})`;
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

export function finiteNumber(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ValueRangeError(`${name}: expected a finite number, got ${describe(v)}`);
  }
  return v;
}

export function positiveNumber(name: string, v: unknown): number {
  const x = finiteNumber(name, v);
  if (!(x > 0)) throw new ValueRangeError(`${name}: expected a number > 0, got ${x}`);
  return x;
}

export function nonNegativeNumber(name: string, v: unknown): number {
  const x = finiteNumber(name, v);
  if (!(x >= 0)) throw new ValueRangeError(`${name}: expected a number >= 0, got ${x}`);
  return x;
}

export function integer(name: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ValueRangeError(`${name}: expected an integer, got ${describe(v)}`);
  }
  if (v < min || v > max) {
    throw new ValueRangeError(`${name}: expected an integer in [${min}, ${max}], got ${v}`);
  }
  return v;
}

export function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ArgumentError(`${name}: expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

/** A variance level: a fraction of explained variance in (0, 1]. */
export function varianceLevel(name: string, v: unknown): number {
  const x = finiteNumber(name, v);
  if (!(x > 0 && x <= 1)) throw new ValueRangeError(`${name}: expected a variance level in (0, 1], got ${x}`);
  return x;
}

export function options<T extends object>(name: string, v: unknown): Partial<T> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new ArgumentError(`${name}: expected an options object, got ${describe(v)}`);
  }
  return v as Partial<T>;
}

/**
 * The native layer reads typed arrays in place: their buffer must be a live, unshared
 * ArrayBuffer. Node 20 has no ArrayBuffer.prototype.detached, and a detached array just looks
 * empty, so an empty buffer is probed (slice throws on a detached one).
 */
function checkBuffer(name: string, v: Float32Array | Float64Array): void {
  const kind = v.constructor.name;
  if (typeof SharedArrayBuffer !== 'undefined' && v.buffer instanceof SharedArrayBuffer) {
    throw new ArgumentError(`${name}: a ${kind} over a SharedArrayBuffer is not supported; copy it first (${kind}.from(x))`);
  }
  const buf = v.buffer as ArrayBuffer & { detached?: boolean };
  let detached = buf.detached === true;
  if (buf.detached === undefined && buf.byteLength === 0) {
    try {
      buf.slice(0);
    } catch {
      detached = true;
    }
  }
  if (detached) throw new ArgumentError(`${name}: the ${kind}'s buffer is detached (transferred to a worker or structuredClone'd with transfer?)`);
}

export function float32Array(name: string, v: unknown, length?: number): Float32Array {
  if (!(v instanceof Float32Array)) throw new DTypeError(`${name}: expected a Float32Array, got ${describe(v)}`);
  checkBuffer(name, v);
  if (length !== undefined && v.length !== length) {
    throw new ShapeError(`${name}: expected ${length} elements, got ${v.length}`);
  }
  return v;
}

export function float64Array(name: string, v: unknown, length?: number): Float64Array {
  if (!(v instanceof Float64Array)) throw new DTypeError(`${name}: expected a Float64Array, got ${describe(v)}`);
  checkBuffer(name, v);
  if (length !== undefined && v.length !== length) {
    throw new ShapeError(`${name}: expected ${length} elements, got ${v.length}`);
  }
  return v;
}

/** A Float32Array or a Float64Array (float data of either precision), not detached. */
export function floatArray(name: string, v: unknown, length?: number): Float32Array | Float64Array {
  if (!(v instanceof Float32Array || v instanceof Float64Array)) {
    throw new DTypeError(`${name}: expected a Float32Array or a Float64Array, got ${describe(v)}`);
  }
  checkBuffer(name, v);
  if (length !== undefined && v.length !== length) {
    throw new ShapeError(`${name}: expected ${length} elements, got ${v.length}`);
  }
  return v;
}

/** Throws unless every element is finite; names the first bad index. */
export function allFinite(name: string, v: ArrayLike<number>, width?: number): void {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) {
      const where = width ? `row ${Math.floor(i / width)}, column ${i % width}` : `index ${i}`;
      throw new ValueRangeError(`${name}: expected finite values, got ${describe(v[i])} at ${where}`);
    }
  }
}

/** Throws unless every element lies in [lo, hi] (NaN fails). */
export function allInRange(name: string, v: ArrayLike<number>, lo: number, hi: number): void {
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!(x >= lo && x <= hi)) {
      throw new ValueRangeError(`${name}: expected values in [${lo}, ${hi}], got ${describe(x)} at index ${i}`);
    }
  }
}
