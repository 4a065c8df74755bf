/**
 * Batches for training and evaluation. Images are decoded once into an in-memory cache, then
 * every epoch each sample is augmented from its source image. Batches are produced ahead of the
 * consumer (a bounded queue of `prefetch` batches), in worker threads when `workers` > 0.
 * Epoch order and augmentation depend only on (seed, epoch, record index), so a run resumed at
 * (epoch, batch) sees exactly the batches the uninterrupted run saw.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import { AcrError, ArgumentError, IoError } from '../errors';
import { describe, integer, nonNegativeNumber, oneOf, options as opts } from '../validate';
import { type AugmentOptions, type ResolvedAugment, resolveAugment } from './augment';
import { flipPermutation } from './flip';
import { DEFAULT_MARGIN, type RawImage, cropRegion, cropTransform, decodeImage, landmarksToCrop } from './image';
import type { WorkerInit, WorkerJob } from './loader-worker';
import { Rng, mixSeed } from './rng';
import { type BatchResult, type SampleConfig, produceBatch } from './sample';
import type { Batch, FaceRecord } from './types';

export interface LoaderOptions {
  /** Crop side in pixels (network input size). */
  size: number;
  batchSize: number;
  /** Seeds epoch order and augmentation. Default 0. */
  seed?: number;
  /** Crop margin (see preprocessFace). Default 0.15. */
  margin?: number;
  /** Augmentation options, or false for plain preprocessing (evaluation). Default false. */
  augment?: AugmentOptions | false;
  /** Shuffle each epoch. Default true when augmenting, else false. */
  shuffle?: boolean;
  /** Drop the last incomplete batch. Default false. */
  dropLast?: boolean;
  /** Batches produced ahead of the consumer. Default 2. */
  prefetch?: number;
  /** Worker threads producing batches (0: on the main thread). Default 0. */
  workers?: number;
  /** Keep decoded source images in memory. Default true. */
  cache?: boolean;
  /** A bad image: 'throw' (default) or 'skip' (warn, drop, count). */
  onError?: 'throw' | 'skip';
  onWarning?: (message: string) => void;
  /**
   * Per-record sampling weights in (0, 1], one per record (default: all 1): the share of epochs a
   * face takes part in, e.g. 0.5 for a noisier extra source. Each epoch takes floor(sum of the
   * usable faces' weights) faces by systematic sampling over that epoch's shuffled order, so
   * every face appears in a share w of the epochs and the epoch length never changes.
   */
  weights?: ArrayLike<number>;
}

export interface LoaderStats {
  batches: number;
  samples: number;
  /** Time the consumer waited for a batch that was not ready yet. */
  waitMs: number;
  /** Time spent producing batches (summed over threads). */
  produceMs: number;
  /** Samples dropped for bad data so far (cache build included). */
  skipped: number;
}

interface Pending {
  promise: Promise<BatchResult>;
}

export class DataLoader {
  readonly size: number;
  readonly batchSize: number;
  readonly numLandmarks: number;
  readonly seed: number;
  /** Indices (into the records given to create) of the faces the loader uses. */
  readonly usable: number[];
  readonly stats: LoaderStats = { batches: 0, samples: 0, waitMs: 0, produceMs: 0, skipped: 0 };
  private readonly cfg: SampleConfig;
  private readonly shuffle: boolean;
  private readonly dropLast: boolean;
  private readonly prefetch: number;
  private readonly onError: 'throw' | 'skip';
  private readonly warn: (m: string) => void;
  private workers: Worker[] = [];
  private nextJob = 0;
  private readonly waiting = new Map<number, { resolve: (r: BatchResult) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly records: FaceRecord[],
    private readonly images: Array<RawImage | null>,
    o: Required<Omit<LoaderOptions, 'augment' | 'onWarning' | 'weights'>>,
    private readonly weights: Float64Array | null,
    augment: ResolvedAugment | null,
    usable: number[],
    numLandmarks: number,
    warn: (m: string) => void,
  ) {
    this.size = o.size;
    this.batchSize = o.batchSize;
    this.seed = o.seed;
    this.numLandmarks = numLandmarks;
    this.usable = usable;
    this.shuffle = o.shuffle;
    this.dropLast = o.dropLast;
    this.prefetch = o.prefetch;
    this.onError = o.onError;
    this.warn = warn;
    this.cfg = { size: o.size, margin: o.margin, seed: o.seed, augment };
  }

  /** Validates options, builds the image cache (applying onError) and starts the workers. */
  static async create(records: FaceRecord[], options: LoaderOptions): Promise<DataLoader> {
    if (!Array.isArray(records) || records.length === 0) throw new ArgumentError(`records: expected a non-empty array of FaceRecord, got ${describe(records)}`);
    const o = opts<LoaderOptions>('options', options);
    const size = integer('options.size', o.size, 8, 4096);
    const batchSize = integer('options.batchSize', o.batchSize, 1);
    const augment = o.augment ?? false;
    if (augment !== false && (typeof augment !== 'object' || augment === null)) throw new ArgumentError(`options.augment: expected an options object or false, got ${describe(augment)}`);
    const full = {
      size,
      batchSize,
      seed: integer('options.seed', o.seed ?? 0, 0, 2 ** 53),
      margin: nonNegativeNumber('options.margin', o.margin ?? DEFAULT_MARGIN),
      augment,
      shuffle: o.shuffle ?? augment !== false,
      dropLast: o.dropLast ?? false,
      prefetch: integer('options.prefetch', o.prefetch ?? 2, 1, 64),
      workers: integer('options.workers', o.workers ?? 0, 0, 64),
      cache: o.cache ?? true,
      onError: oneOf('options.onError', o.onError ?? 'throw', ['throw', 'skip'] as const),
    };
    const warn = o.onWarning ?? ((m: string) => console.warn(`acr: ${m}`));
    const L = records[0].landmarks.length / 2;
    let weights: Float64Array | null = null;
    if (o.weights !== undefined) {
      const w = o.weights;
      if (w === null || typeof w !== 'object' || typeof w.length !== 'number' || w.length !== records.length) {
        throw new ArgumentError(`options.weights: expected ${records.length} numbers (one per record), got ${describe(w)}`);
      }
      weights = Float64Array.from(w, (x, i) => {
        if (!(typeof x === 'number' && x > 0 && x <= 1)) throw new ArgumentError(`options.weights[${i}]: expected a weight in (0, 1], got ${describe(x)}`);
        return x;
      });
    }
    records.forEach((r, i) => {
      if (!(r.landmarks instanceof Float32Array) || r.landmarks.length !== 2 * L) {
        throw new ArgumentError(`records[${i}].landmarks: expected a Float32Array of ${2 * L} values like records[0], got ${describe(r.landmarks)}`);
      }
    });
    let resolved: ResolvedAugment | null = null;
    if (augment !== false) {
      const perm = augment.flipPermutation ?? flipPermutation(L);
      const withPerm: AugmentOptions = { ...augment, flipPermutation: perm };
      if (!perm && augment.flipProb === undefined) {
        warn(`no built-in flip permutation for ${L} landmarks: flips are off (pass augment.flipPermutation to enable them)`);
        withPerm.flipProb = 0;
      }
      resolved = resolveAugment(withPerm, L);
    }
    const images: Array<RawImage | null> = new Array(records.length).fill(null);
    // Faces whose crop cannot be placed (non-finite or coincident points) fail now, not mid-epoch.
    const errors: Array<{ i: number; e: Error }> = [];
    const candidates: number[] = [];
    records.forEach((r, i) => {
      try {
        cropRegion({ box: r.box, landmarks: r.landmarks, size, margin: full.margin });
        candidates.push(i);
      } catch (e) {
        if (!(e instanceof AcrError)) throw e;
        errors.push({ i, e: new ArgumentError(`records[${i}] (${r.id}): ${e.message}`) });
      }
    });
    if (full.cache) {
      let next = 0;
      const decodeOne = async () => {
        while (next < candidates.length) {
          const i = candidates[next++];
          try {
            images[i] = shareImage(await decodeImage(records[i].imagePath));
          } catch (e) {
            errors.push({ i, e: e as Error });
          }
        }
      };
      await Promise.all(Array.from({ length: 4 }, decodeOne));
    }
    errors.sort((a, b) => a.i - b.i);
    if (errors.length && full.onError === 'throw') throw errors[0].e;
    for (const { e } of errors) warn(`skipped: ${e.message}`);
    const skipped = errors.length;
    const usable = full.cache ? candidates.filter((i) => images[i]) : candidates;
    if (usable.length === 0) throw new IoError('records: no usable face (every image failed to decode or every crop was degenerate)');
    const loader = new DataLoader(records, images, full, weights, resolved, usable, L, warn);
    loader.stats.skipped = skipped;
    if (full.workers > 0) loader.startWorkers(full.workers);
    return loader;
  }

  /** The landmark permutation used for flips, or null when augmentation never flips. */
  get flipPermutation(): number[] | null {
    const a = this.cfg.augment;
    return a && a.flipProb > 0 && a.flipPermutation ? a.flipPermutation.slice() : null;
  }

  /**
   * records.length x 2L un-augmented network targets (u = x_crop / size - 0.5) of every record
   * given to create(), computed from the landmarks alone (no decoding): what fitAsm, Phi and
   * validation NME need.
   */
  targets(): Float32Array {
    const L2 = 2 * this.numLandmarks;
    const out = new Float32Array(this.records.length * L2);
    this.records.forEach((r, i) => {
      const T = cropTransform({ box: r.box, landmarks: r.landmarks, size: this.size, margin: this.cfg.margin });
      out.set(landmarksToCrop(r.landmarks, T, this.size), i * L2);
    });
    return out;
  }

  /** Number of batches in one epoch. */
  batchesPerEpoch(): number {
    const n = this.samplesPerEpoch();
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Faces per epoch: all usable ones, or floor(sum of their weights) with weights. */
  samplesPerEpoch(): number {
    if (!this.weights) return this.usable.length;
    let sum = 0;
    for (const i of this.usable) sum += this.weights[i];
    return Math.floor(sum + 1e-9);
  }

  /** The record indices of each batch of an epoch (deterministic in seed and epoch). */
  epochOrder(epoch: number): number[][] {
    integer('epoch', epoch, 0);
    let order = this.usable.slice();
    if (this.shuffle) new Rng(mixSeed(this.seed, 'order', epoch)).shuffle(order);
    if (this.weights) order = this.sample(order, epoch);
    const out: number[][] = [];
    const nb = this.batchesPerEpoch();
    for (let b = 0; b < nb; b++) out.push(order.slice(b * this.batchSize, (b + 1) * this.batchSize));
    return out;
  }

  /**
   * Systematic sampling along `order`: face i is taken when the running weight sum crosses an
   * integer (offset u drawn per epoch), so it is taken in a share w_i of the epochs.
   */
  private sample(order: number[], epoch: number): number[] {
    const w = this.weights!;
    const u = new Rng(mixSeed(this.seed, 'weights', epoch)).uniform(0, 1);
    const n = this.samplesPerEpoch();
    const out: number[] = [];
    let cum = u;
    for (const i of order) {
      const before = Math.floor(cum);
      cum += w[i];
      if (Math.floor(cum) > before && out.length < n) out.push(i);
    }
    return out;
  }

  /**
   * Batches of one epoch, starting at batch `startBatch` (for resuming). Breaking out of the
   * loop early is fine; in-flight batches are dropped.
   */
  async *epoch(epoch: number, options: { startBatch?: number } = {}): AsyncGenerator<Batch> {
    const order = this.epochOrder(epoch);
    const start = integer('options.startBatch', options.startBatch ?? 0, 0, order.length);
    const queue: Pending[] = [];
    let next = start;
    const fill = () => {
      while (queue.length < this.prefetch && next < order.length) {
        const promise = this.produce(epoch, order[next++]);
        // A batch still in flight when the consumer stops (break, an error in its training step,
        // close()) is never awaited: its rejection must not surface as an unhandled one. The
        // consumer that awaits a batch still gets that batch's error.
        promise.catch(() => undefined);
        queue.push({ promise });
      }
    };
    fill();
    yield* this.drain(queue, fill);
  }

  private async *drain(queue: Pending[], fill: () => void): AsyncGenerator<Batch> {
    while (queue.length > 0) {
      const head = queue.shift()!;
      const t0 = performance.now();
      const res = await head.promise;
      this.stats.waitMs += performance.now() - t0;
      fill();
      this.stats.produceMs += res.ms;
      if (res.failed.length) {
        if (this.onError === 'throw') {
          const f = res.failed[0];
          throw new IoError(`${this.records[f.index].imagePath} (record ${this.records[f.index].id}): ${f.message}`);
        }
        for (const f of res.failed) this.warn(`skipped: ${this.records[f.index].id}: ${f.message}`);
        this.stats.skipped += res.failed.length;
      }
      if (res.indices.length === 0) continue;
      this.stats.batches++;
      this.stats.samples += res.indices.length;
      yield { images: res.images, landmarks: res.landmarks, indices: res.indices, batchSize: res.indices.length, size: this.size, numLandmarks: this.numLandmarks };
    }
  }

  resetStats(): void {
    Object.assign(this.stats, { batches: 0, samples: 0, waitMs: 0, produceMs: 0 });
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    // Keep every worker referenced until it is gone: otherwise a late result (which unrefs an
    // idle worker) can let the process exit while terminate() is still pending.
    for (const w of ws) {
      w.removeAllListeners('message');
      w.ref();
    }
    await Promise.all(ws.map((w) => w.terminate()));
    for (const { reject } of this.waiting.values()) reject(new IoError('DataLoader closed'));
    this.waiting.clear();
  }

  private produce(epoch: number, indices: number[]): Promise<BatchResult> {
    if (this.workers.length > 0) {
      const id = this.nextJob++;
      const w = this.workers[id % this.workers.length];
      return new Promise((resolve, reject) => {
        this.waiting.set(id, { resolve, reject });
        this.busy(w, +1);
        w.postMessage({ id, epoch, indices } satisfies WorkerJob);
      });
    }
    // Yield to the event loop first so the consumer's pending work runs between batches.
    return new Promise((r) => setImmediate(r)).then(() =>
      produceBatch(this.cfg, this.numLandmarks, epoch, indices, (i) => this.records[i], (i) => this.images[i] ?? decodeImage(this.records[i].imagePath)),
    );
  }

  private failAll(err: Error): void {
    for (const { reject } of this.waiting.values()) reject(err);
    this.waiting.clear();
  }

  private readonly jobsInFlight = new Map<Worker, number>();

  /** Idle workers must not keep the process alive; busy ones must (a pending batch is awaited). */
  private busy(w: Worker, delta: number): void {
    const n = (this.jobsInFlight.get(w) ?? 0) + delta;
    this.jobsInFlight.set(w, n);
    if (n > 0) w.ref();
    else w.unref();
  }

  private startWorkers(n: number): void {
    const ext = path.extname(__filename);
    const file = path.join(__dirname, `loader-worker${ext}`);
    // From TypeScript sources (tests, tsx) the worker registers tsx's require hook first.
    const spawn = (data: WorkerInit) =>
      ext === '.ts'
        ? new Worker(`require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(file)});`, { eval: true, workerData: data })
        : new Worker(file, { workerData: data });
    const init: WorkerInit = {
      cfg: this.cfg,
      numLandmarks: this.numLandmarks,
      records: this.records.map((r) => ({ imagePath: r.imagePath, landmarks: r.landmarks, box: r.box })),
      images: this.images,
    };
    for (let k = 0; k < n; k++) {
      const w = spawn(init);
      w.on('message', (m: { id: number; res?: BatchResult; error?: string }) => {
        this.busy(w, -1);
        const p = this.waiting.get(m.id);
        if (!p) return;
        this.waiting.delete(m.id);
        if (m.res) p.resolve(m.res);
        else p.reject(new IoError(`data worker failed: ${m.error}`));
      });
      w.on('error', (e) => this.failAll(new IoError(`data worker crashed: ${e.message}`, e)));
      // An exit we did not ask for (close() empties this.workers first) fails the pending batches.
      w.on('exit', (code) => {
        if (this.workers.includes(w)) this.failAll(new IoError(`data worker exited unexpectedly (code ${code})`));
      });
      w.unref();
      this.workers.push(w);
    }
  }
}

/** Copies an image into a SharedArrayBuffer so worker threads read it without a copy. */
function shareImage(img: RawImage): RawImage {
  const data = new Uint8Array(new SharedArrayBuffer(img.data.length));
  data.set(img.data);
  return { ...img, data };
}
