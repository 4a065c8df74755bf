/**
 * A small deterministic PRNG (sfc32, 128-bit state) whose state can be saved in a checkpoint
 * and restored, so a resumed run draws exactly the numbers the uninterrupted run would have.
 * Math.random cannot be seeded or saved; that is why this exists.
 */
import { ArgumentError } from '../errors';
import { describe } from '../validate';

/** The whole generator state: four unsigned 32-bit words (JSON-safe). */
export type RngState = [number, number, number, number];

/** splitmix32 step: spreads a 32-bit seed over well-mixed words. */
function splitmix32(x: number): [number, number] {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [x, (z ^ (z >>> 16)) >>> 0];
}

/**
 * Hashes several integers (or a string) into one 32-bit seed. Used to derive independent
 * streams, e.g. mixSeed(seed, epoch, sampleIndex), so results do not depend on the order in
 * which samples are produced (prefetch, workers).
 */
export function mixSeed(...parts: Array<number | string>): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    if (typeof p === 'string') {
      for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p.charCodeAt(i), 0x01000193);
      h = splitmix32(h)[1];
    } else {
      if (!Number.isFinite(p)) throw new ArgumentError(`mixSeed: expected finite numbers or strings, got ${describe(p)}`);
      // Fold both 32-bit halves so large integers (up to 2^53) still mix fully.
      const lo = p >>> 0;
      const hi = Math.floor(p / 4294967296) >>> 0;
      h = splitmix32(h ^ lo)[1];
      h = splitmix32(h ^ hi)[1];
    }
  }
  return h >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seeds from a number or a string; equal seeds give equal streams. */
  constructor(seed: number | string = 0) {
    let s = mixSeed(seed);
    const w: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitmix32(s);
      s = next;
      w.push(out);
    }
    [this.a, this.b, this.c, this.d] = w;
    // Warm up: sfc32's first outputs are correlated with the seed words.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Restores a generator from getState(). */
  static fromState(state: RngState): Rng {
    if (!Array.isArray(state) || state.length !== 4 || !state.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) {
      throw new ArgumentError(`state: expected 4 unsigned 32-bit integers, got ${describe(state)}`);
    }
    const r = Object.create(Rng.prototype) as Rng;
    [r.a, r.b, r.c, r.d] = state;
    return r;
  }

  getState(): RngState {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  normal(): number {
    let u = this.next();
    while (u <= 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }
}
