/**
 * Thousands of malformed calls at fitAsm, the AsmModel methods, the raw kernels and the native
 * functions themselves: each must return or throw an AcrError, never crash or throw anything else.
 * Then 100,000 well-formed calls must leave RSS flat.
 */
import t from 'tap';
import { AcrError, AsmModel, fitAsm } from '../lib/index';
import { call } from '../lib/binding';
import { asmEigh, asmMeanCov, asmPhi, asmSmooth } from '../lib/kernels/asm';
import { rng } from './helpers/asm-ref';

const r = rng(20240601);
const int = (n: number) => Math.floor(r() * n);
const pick = <T>(a: readonly T[]): T => a[int(a.length)];

function detached(kind: 'f32' | 'f64'): Float32Array | Float64Array {
  const a = kind === 'f32' ? new Float32Array(8) : new Float64Array(8);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}

function floats(len: number, kind = pick(['f32', 'f64'] as const)): Float32Array | Float64Array {
  const a = kind === 'f32' ? new Float32Array(len) : new Float64Array(len);
  for (let i = 0; i < len; i++) a[i] = pick([r() - 0.5, r() * 1e3, 0, -r(), r() < 0.05 ? NaN : r(), r() < 0.03 ? Infinity : r(), 1e308, 1e-310]);
  return a;
}

function junk(): unknown {
  switch (int(22)) {
    case 0: return undefined;
    case 1: return null;
    case 2: return NaN;
    case 3: return pick([Infinity, -Infinity, -1, 0, 1, 1.5, 2 ** 31, 2 ** 53, -0]);
    case 4: return pick(['', 'x', 'coordinate', 'landmark', 'cuda', 'cpu', 'auto']);
    case 5: return {};
    case 6: return [];
    case 7: return [[]];
    case 8: return floats(int(40));
    case 9: return new Int32Array(int(20));
    case 10: return new Uint8Array(int(20));
    case 11: return detached(pick(['f32', 'f64'] as const));
    case 12: return Array.from({ length: int(6) }, () => Array.from({ length: int(6) }, () => pick([r(), NaN, 'a', null, [1, 2], undefined])));
    case 13: return Array.from({ length: int(6) }, () => Array.from({ length: int(4) }, () => [r(), r()]));
    case 14: return Array.from({ length: 2 + int(5) }, () => Array.from({ length: 2 * (1 + int(3)) }, () => r()));
    case 15: return { shape: [int(4), int(6)], dtype: pick(['float32', 'int32', 'bool']), dataSync: () => floats(int(24), 'f32') };
    case 16: return { shape: 'x', dtype: 3, dataSync: 5 };
    case 17: return Symbol('s');
    case 18: return 10n;
    case 19: return () => 1;
    case 20: return new Float64Array(new ArrayBuffer(64), 8, 3);
    default: return floats(int(12), 'f64');
  }
}

function junkOptions(): unknown {
  if (r() < 0.3) return junk();
  const o: Record<string, unknown> = {};
  for (const key of ['numLandmarks', 'varianceLevels', 'device', 'mode', 'epsilon', 'out']) if (r() < 0.4) o[key] = pick([junk(), 1 + int(4), [0.5, 0.9], [r()], 'cpu', 'landmark']);
  return o;
}

/** JSON text of a junk value (BigInt and symbols have none: then some broken text). */
function jsonText(): string {
  try {
    return JSON.stringify(junk()) ?? '{';
  } catch {
    return '{"format":';
  }
}

/** Runs fn; passes if it returns or throws an AcrError. */
function survives(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (err instanceof AcrError) return true;
    t.fail(`not an AcrError: ${(err as Error)?.stack ?? String(err)}`);
    return false;
  }
}

const good = Array.from({ length: 12 }, () => Array.from({ length: 6 }, () => r()));
const model = fitAsm(good);
const basis = { mean: model.mean, components: model.components, eigenvalues: model.eigenvalues, k: 2 };

t.test('public API: malformed calls throw AcrErrors', async (t) => {
  let n = 0;
  for (let i = 0; i < 1500; i++) {
    const calls: Array<() => unknown> = [
      () => fitAsm(junk() as never, junkOptions() as never),
      () => model.smooth(junk() as never, pick([junk(), 0.9, 1, r()]) as never, junkOptions() as never),
      () => model.phi(junk() as never, pick([junk(), 0.9, r()]) as never, junkOptions() as never),
      () => model.numComponents(junk() as never),
      () => AsmModel.fromJSON(pick([junk(), jsonText(), { ...model.toJSON(), [pick(['mean', 'components', 'eigenvalues', 'numLandmarks', 'numSamples', 'varianceLevels', 'format'])]: junk() }]) as never),
    ];
    for (const c of calls) if (survives(c)) n++;
  }
  t.equal(n, 7500, 'every call returned or threw an AcrError');
});

t.test('raw kernels: wrong sizes, types, detached buffers', async (t) => {
  let n = 0;
  const size = () => pick([junk(), int(8), 1 + int(6), 2 ** 31, -1]);
  for (let i = 0; i < 1500; i++) {
    const calls: Array<() => unknown> = [
      () => asmMeanCov(junk() as never, size() as never, size() as never, junkOptions() as never),
      () => asmEigh(pick([junk(), floats(int(5) ** 2, 'f64')]) as never, size() as never),
      () => asmSmooth(junk() as never, size() as never, size() as never, pick([junk(), basis, { ...basis, k: junk() }, { ...basis, mean: junk() }]) as never, junkOptions() as never),
      () => asmPhi(junk() as never, size() as never, 6, pick([junk(), basis, { ...basis, components: junk() }]) as never, junkOptions() as never),
    ];
    for (const c of calls) if (survives(c)) n++;
  }
  t.equal(n, 6000, 'every call returned or threw an AcrError');
});

t.test('native functions called directly (no TypeScript checks)', async (t) => {
  let n = 0;
  const arg = () => pick([junk(), floats(int(40)), floats(36, 'f64'), floats(6, 'f64'), int(7), 6, 2, 'coordinate', 'landmark', 'cpu', 1e-7]);
  for (let i = 0; i < 1500; i++) {
    const args = Array.from({ length: int(12) }, arg);
    const calls: Array<() => unknown> = [
      () => call((b) => (b.asmMeanCov as (...a: unknown[]) => unknown)(...args)),
      () => call((b) => (b.asmEigh as (...a: unknown[]) => unknown)(...args)),
      () => call((b) => (b.asmSmooth as (...a: unknown[]) => unknown)(...args)),
      () => call((b) => (b.asmPhi as (...a: unknown[]) => unknown)(...args)),
      // Right types, one size off.
      () => call((b) => b.asmSmooth(floats(12, 'f64'), 2, 6, model.mean, model.components, model.eigenvalues, pick([2, 7, -1, 6]), new Float64Array(pick([12, 11, 13])))),
      () => call((b) => b.asmPhi(floats(12, 'f32'), pick([2, 3]), 6, model.mean, model.components.subarray(0, pick([6, 12, 36])), model.eigenvalues, 2, 'landmark', 0, new Float32Array(12))),
      () => call((b) => b.asmMeanCov(floats(12, 'f64'), pick([2, 3, 1]), 6, new Float64Array(pick([6, 5])), new Float64Array(pick([36, 35])))),
      () => call((b) => b.asmEigh(floats(9, 'f64'), pick([3, 2, 4]), new Float64Array(pick([3, 2])), new Float64Array(9))),
    ];
    for (const c of calls) if (survives(c)) n++;
  }
  t.equal(n, 12000, 'every call returned or threw an AcrError');
  // Partly overlapping output is refused; the same array (in place) is fine.
  const x = new Float64Array(24);
  t.throws(() => call((b) => b.asmSmooth(x.subarray(0, 12), 2, 6, model.mean, model.components, model.eigenvalues, 2, x.subarray(6, 18))), { code: 'ERR_ARG' });
  t.doesNotThrow(() => call((b) => b.asmSmooth(x.subarray(0, 12), 2, 6, model.mean, model.components, model.eigenvalues, 2, x.subarray(0, 12))));
});

t.test('100,000 calls leave RSS flat', async (t) => {
  const shapes = new Float32Array(good.flat());
  const out = new Float32Array(shapes.length);
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      switch (i % 4) {
        case 0: asmPhi(shapes, 12, 6, basis, { out }); break;
        case 1: asmSmooth(shapes, 12, 6, basis, { out }); break;
        case 2: asmMeanCov(shapes, 12, 6); break;
        default:
          try {
            asmPhi(shapes, 12, 6, basis, { mode: 'radial' as never });
          } catch {
            /* the error path must not leak either */
          }
      }
    }
  };
  run(20000); // warm up: JIT, pools, thread-local scratch
  const before = process.memoryUsage().rss;
  run(100000);
  const grown = (process.memoryUsage().rss - before) / 2 ** 20;
  t.ok(grown < 32, `RSS grew by ${grown.toFixed(1)} MiB over 100,000 calls`);
});
