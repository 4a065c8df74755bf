/**
 * Output arrays for the native cpu kernels, recycled.
 *
 * tfjs allocates a fresh output array per op. A MobileNetV2 training step makes ~1 GB of them,
 * and V8 answers that much new external memory with a garbage collection every few
 * milliseconds (a third of the step's time in profiles), while every fresh array must be
 * paged in again. So the arrays the native kernels hand to the cpu backend are taken back
 * when the backend deletes the last tensor data that holds them, and the next op of the same
 * size gets one back: the same ~1 GB serves every step.
 *
 * An array is recycled only if nothing outside the backend can still see it. The backend's
 * data store is watched (`set`/`delete` count the tensor data holding each buffer, so views
 * made by stock kernels keep it alive too), and any array returned by `readSync` or `read`
 * (tensor.dataSync(), data(), moving to another backend) is never recycled. The kernels
 * themselves read their inputs through `inputValues`, which does not count as a read-out.
 *
 * Arrays below MIN_POOLED floats are plain zero-filled Float32Arrays, as tfjs makes them.
 * Large ones come uninitialised (Buffer.allocUnsafeSlow, or from the pool): every native
 * kernel writes its whole output, so no stale values can show through.
 */
import * as os from 'node:os';

const MIN_POOLED = 1 << 14; // floats

/** The parts of tfjs' cpu backend the pool watches. */
interface Store {
  has(dataId: object): boolean;
  get(dataId: object): { values?: unknown } | undefined;
  set(dataId: object, info: { values?: unknown }): void;
  delete(dataId: object): boolean;
}
interface Backend {
  data: Store;
  readSync(dataId: object): unknown;
}
interface CountedData { values?: unknown; refCount?: number }

interface Entry { array: Float32Array; refs: number }

/** Free arrays kept at most: a quarter of the machine's memory. */
const LIMIT_BYTES = Math.floor(os.totalmem() / 4);

let enabled = false;
let owned = new WeakMap<ArrayBuffer, Entry>();
const escaped = new WeakSet<ArrayBuffer>();
/** Arrays handed out while the pool was on: every read-out of them since went through the hook. */
let fresh = new WeakSet<Float32Array>();
const free = new Map<number, Float32Array[]>();
let freeBytes = 0;
const unhooks = new Map<Backend, () => void>();
const counts = { reused: 0, allocated: 0 };

export interface BufferPoolStats {
  enabled: boolean;
  /** Output arrays served from the pool / newly allocated since the pool was turned on. */
  reused: number;
  allocated: number;
  /** Bytes held in free arrays now, and the most it keeps. */
  freeBytes: number;
  limitBytes: number;
}

function bufferOf(values: unknown): ArrayBuffer | null {
  return ArrayBuffer.isView(values) ? (values.buffer as ArrayBuffer) : null;
}

function retain(values: unknown): void {
  const b = bufferOf(values);
  const e = b && owned.get(b);
  if (e) e.refs++;
}

function release(values: unknown): void {
  const b = bufferOf(values);
  const e = b && owned.get(b);
  if (!b || !e || --e.refs > 0) return;
  if (escaped.has(b) || freeBytes + b.byteLength > LIMIT_BYTES) {
    owned.delete(b); // left to the GC
    return;
  }
  const list = free.get(e.array.length);
  if (list) list.push(e.array);
  else free.set(e.array.length, [e.array]);
  freeBytes += b.byteLength;
}

/** Replaces obj[key] with a wrapper; returns what puts the original back. */
function patch<T extends object, K extends keyof T>(obj: T, key: K, wrap: (original: T[K]) => T[K]): () => void {
  const own = Object.prototype.hasOwnProperty.call(obj, key);
  const original = obj[key];
  obj[key] = wrap(original);
  return () => {
    if (own) obj[key] = original;
    else delete obj[key];
  };
}

function hook(backend: Backend): void {
  if (unhooks.has(backend) || !backend.data || typeof backend.data.set !== 'function') return;
  const store = backend.data;
  const undo = [
    patch(store, 'set', (set) => function (this: Store, dataId, info) {
      retain(info?.values);
      return set.call(this, dataId, info);
    }),
    patch(store, 'delete', (del) => function (this: Store, dataId) {
      const values = this.has(dataId) ? this.get(dataId)?.values : undefined;
      const out = del.call(this, dataId);
      if (values !== undefined) release(values);
      return out;
    }),
    // Every read-out (dataSync, data, moves to other backends) goes through readSync.
    patch(backend, 'readSync', (readSync) => function (this: Backend, dataId) {
      const values = readSync.call(this, dataId);
      const b = bufferOf(values);
      if (b) escaped.add(b);
      return values;
    }),
  ];
  unhooks.set(backend, () => undo.forEach((u) => u()));
}

/** A float32 output array of n elements for `backend` (recycled when the pool is on). */
export function outputArray(backend: object, n: number): Float32Array {
  if (enabled) hook(backend as Backend);
  if (n < MIN_POOLED) {
    const small = new Float32Array(n);
    if (enabled) fresh.add(small);
    return small;
  }
  if (enabled) {
    const a = free.get(n)?.pop();
    if (a) {
      freeBytes -= a.byteLength;
      counts.reused++;
      return a;
    }
  }
  const buf = Buffer.allocUnsafeSlow(n * 4);
  const a = new Float32Array(buf.buffer, buf.byteOffset, n);
  if (enabled) {
    owned.set(a.buffer as ArrayBuffer, { array: a, refs: 0 });
    fresh.add(a);
    counts.allocated++;
  }
  return a;
}

/**
 * A tensor's float32 values when nothing but that one tensor data can see them, so a kernel may
 * update them in place: the array was handed out by outputArray with the pool on (every read-out
 * since went through the hook), none was made (dataSync, data, ...), and the backend holds it
 * under a single reference (no clone or second variable shares it). Otherwise null.
 */
export function privateValues(backend: object, dataId: object): Float32Array | null {
  if (!enabled) return null;
  const data = (backend as Backend).data?.get(dataId) as CountedData | undefined;
  const v = data?.values;
  if (!(v instanceof Float32Array) || data!.refCount !== 1 || !fresh.has(v) || escaped.has(v.buffer as ArrayBuffer)) return null;
  return v;
}

/** A tensor's values on the cpu backend, read by a kernel (not a read-out: see above). */
export function inputValues(backend: object, dataId: object): unknown {
  const b = backend as Backend;
  return b.data && typeof b.data.get === 'function' ? b.data.get(dataId)?.values : b.readSync(dataId);
}

/**
 * Turns recycling on or off. Off puts the backends' methods back and drops the free arrays;
 * arrays handed out before are never recycled afterwards.
 */
export function setBufferRecycling(on: boolean): void {
  if (on === enabled) return;
  enabled = on;
  if (!on) {
    for (const undo of unhooks.values()) undo();
    unhooks.clear();
    free.clear();
    freeBytes = 0;
    owned = new WeakMap();
    fresh = new WeakSet();
  }
  counts.reused = 0;
  counts.allocated = 0;
}

export function bufferPoolStats(): BufferPoolStats {
  return { enabled, ...counts, freeBytes, limitBytes: LIMIT_BYTES };
}
