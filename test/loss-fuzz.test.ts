import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { AcrError } from '../lib/errors';
import { call } from '../lib/binding';
import { acrLoss, acrLossComposite } from '../lib/loss';
import { adaptiveWingLoss, l1Loss, l2Loss, smoothL1Loss, softWingLoss, wingLoss } from '../lib/losses';
import { acrLossAndGrad, bandwidthCopy, bandwidthRead, l1LossAndGrad, l2LossAndGrad } from '../lib/kernels/loss';
import { rng } from './helpers/loss-reference';

tf.enableProdMode();
const r = rng(2024);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (n: number) => Math.floor(r() * n);

function detached(n: number): Float32Array {
  const a = new Float32Array(n);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}

/** A Float32Array that is right (length n, values in [0, 1]) most of the time, wrong otherwise. */
function arrayArg(n: number): unknown {
  switch (int(14)) {
    case 0: return new Float32Array(n + 1 + int(3));
    case 1: return new Float32Array(Math.max(0, n - 1 - int(3)));
    case 2: return new Float64Array(n);
    case 3: return new Int32Array(n);
    case 4: return Array.from({ length: n }, () => r());
    case 5: return pick([null, undefined, 0, NaN, 'x', {}, true, Symbol('s')]);
    case 6: return detached(n);
    case 7: return Float32Array.from({ length: n }, () => pick([NaN, Infinity, -Infinity, 3e38, -3e38, 1.5, -0.5]));
    case 8: return new Float32Array(new ArrayBuffer(4 * n + 8), 8, n); // offset view
    default: return Float32Array.from({ length: n }, () => r());
  }
}

function numberArg(): unknown {
  return pick([1, 0.5, 2, 0, -1, NaN, Infinity, -Infinity, 1e-30, 1e30, 1e19, 1e40, '1', null, undefined, 7.5, 2 ** 53]);
}

function optionsArg(n: number): unknown {
  if (r() < 0.1) return pick([null, 3, 'mean', [], () => 1]);
  const o: Record<string, unknown> = {};
  if (r() < 0.4) o.lambda = numberArg();
  if (r() < 0.4) o.threshold = numberArg();
  if (r() < 0.4) o.reduction = pick(['mean', 'sum', 'none', 'max', '', 1, null]);
  if (r() < 0.3) o.constant = pick(['continuous', 'reference', 'other', 0]);
  if (r() < 0.3) o.weight = arrayArg(n);
  if (r() < 0.2) o.dim = pick([1, 2, 3, 136, 0, -1, 1.5, NaN, n, n + 1]);
  if (r() < 0.2) o.gradient = pick([true, false, 'yes', 0]);
  if (r() < 0.2) o.device = pick(['auto', 'cpu', 'cuda', 'tpu', 3]);
  if (r() < 0.2) o.out = pick([{ grad: arrayArg(n) }, { perElement: arrayArg(n) }, null, 5, {}]);
  return o;
}

let returned = 0; // calls that returned normally (the fuzz must reach the kernels too)

function expectAcr(t: Tap.Test, fn: () => unknown, what: string): boolean {
  try {
    const out = fn();
    if (out instanceof tf.Tensor) out.dispose();
    returned++;
    return true;
  } catch (err) {
    if (!(err instanceof AcrError)) {
      t.fail(`${what}: threw a non-AcrError ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
      return false;
    }
    if (!/^ERR_[A-Z]+$/.test(err.code) || !err.message) t.fail(`${what}: bad error ${err.code} ${err.message}`);
    return true;
  }
}
type Tap = typeof t;
declare namespace Tap {
  type Test = typeof t;
}

t.test('raw kernels: thousands of malformed calls return or throw an AcrError', async (t) => {
  let ok = 0;
  returned = 0;
  for (let i = 0; i < 4000; i++) {
    const n = pick([0, 1, 3, 8, 17, 136, 300]);
    const args = [arrayArg(n), arrayArg(n), arrayArg(n)] as const;
    const opts = optionsArg(n);
    const which = int(5);
    const f =
      which === 0 ? () => acrLossAndGrad(...(args as unknown as [Float32Array, Float32Array, Float32Array]), opts as never)
      : which === 1 ? () => l2LossAndGrad(args[0] as never, args[1] as never, opts as never)
      : which === 2 ? () => l1LossAndGrad(args[0] as never, args[1] as never, opts as never)
      : which === 3 ? () => bandwidthCopy(args[0] as never, args[1] as never)
      : () => bandwidthRead(args[0] as never);
    if (expectAcr(t, f, `call ${i}`)) ok++;
  }
  t.equal(ok, 4000);
  t.ok(returned > 200, `${returned} calls returned normally, the rest threw AcrErrors`);
});

t.test('the native binding itself re-checks every size and type', async (t) => {
  // Straight to the addon (through call(), which maps its errors), skipping the TS checks.
  let ok = 0;
  returned = 0;
  for (let i = 0; i < 4000; i++) {
    const n = pick([0, 1, 5, 16, 33]);
    const valid = r() < 0.5; // half the calls get a right batch/dim and numbers
    const B = valid ? 1 : pick([0, 1, n, 2, -1, 1.5, NaN, 2 ** 41, '3']);
    const D = valid ? n : pick([n, 1, 0, 3, -2, 1e300, null]);
    const num = () => (valid ? pick([1, 0.5, 2]) : numberArg());
    const arr = () => arrayArg(n);
    const str = (xs: string[]) => pick([...xs, 'bogus', '', 5, null]);
    const acrArgs = [arr(), arr(), arr(), pick([null, arr()]), B, D, num(), num(),
      str(['continuous', 'reference']), str(['auto', 'cpu']), str(['mean', 'sum', 'none']), num(), pick([null, arr()]),
      pick([null, arr(), new Float32Array(1)]), pick([null, arr()])];
    const baseArgs = [arr(), arr(), pick([null, arr()]), B, D, str(['mean', 'sum', 'none']), num(), pick([null, arr()]),
      pick([null, arr(), new Float32Array(1)]), pick([null, arr()])];
    const cut = int(16);
    const f = int(3) === 0
      ? () => call((b) => (b.acrLossAndGrad as (...a: unknown[]) => number)(...acrArgs.slice(0, r() < 0.1 ? cut : 15)))
      : () => call((b) => ((r() < 0.5 ? b.l2LossAndGrad : b.l1LossAndGrad) as (...a: unknown[]) => number)(...baseArgs.slice(0, r() < 0.1 ? cut : 10)));
    if (expectAcr(t, f, `native call ${i}`)) ok++;
  }
  t.equal(ok, 4000);
  t.ok(returned > 20, `${returned} calls returned normally`);
});

t.test('tfjs op and baselines: malformed tensors and options', async (t) => {
  await tf.setBackend('cpu');
  const before = tf.memory().numTensors;
  const shapes = [[2, 4], [3], [1, 8], [0, 4], [2, 2, 2]];
  const tensorArg = (shape: number[]): unknown => {
    switch (int(10)) {
      case 0: return tf.zeros(pick(shapes));
      case 1: return tf.zeros(shape, 'int32');
      case 2: return tf.scalar(1);
      case 3: { const x = tf.zeros(shape); x.dispose(); return x; }
      case 4: return arrayArg(tf.util.sizeFromShape(shape));
      case 5: return pick([null, undefined, 3, 'a', [[1]]]);
      case 6: return tf.fill(shape, pick([NaN, Infinity, 2, -1]));
      default: return tf.randomUniform(shape);
    }
  };
  let ok = 0;
  returned = 0;
  const fns = [acrLoss, acrLossComposite, l1Loss, l2Loss, smoothL1Loss, wingLoss, softWingLoss, adaptiveWingLoss];
  for (let i = 0; i < 1500; i++) {
    const shape = pick(shapes);
    const made: unknown[] = [tensorArg(shape), tensorArg(shape), tensorArg(shape)];
    const n = tf.util.sizeFromShape(shape);
    const opts = optionsArg(n) as Record<string, unknown> | null;
    if (opts && typeof opts === 'object' && r() < 0.3) opts.weight = tensorArg(shape);
    const fn = pick(fns) as (...a: unknown[]) => tf.Tensor;
    const args = fn === acrLoss || fn === acrLossComposite ? [made[0], made[1], made[2], opts] : [made[0], made[1], opts];
    if (expectAcr(t, () => fn(...args), `${fn.name} call ${i}`)) ok++;
    for (const m of [...made, opts && (opts as { weight?: unknown }).weight]) if (m instanceof tf.Tensor) m.dispose();
  }
  t.equal(ok, 1500);
  t.ok(returned > 50, `${returned} calls returned normally`);
  t.equal(tf.memory().numTensors, before, 'no tensors leaked by failing or succeeding calls');
});

t.test('RSS stays flat over 100,000 calls', async (t) => {
  const n = 136;
  const pred = Float32Array.from({ length: n }, () => r() - 0.5);
  const gt = Float32Array.from({ length: n }, () => r() - 0.5);
  const phi = Float32Array.from({ length: n }, () => r());
  const bad = phi.map((x, i) => (i === 5 ? 2 : x));
  const grad = new Float32Array(n);
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      acrLossAndGrad(pred, gt, phi, { out: { grad } });
      if (i % 10 === 0) {
        try {
          acrLossAndGrad(pred, gt, bad, { out: { grad } });
        } catch {
          // expected: phi out of range
        }
      }
    }
  };
  run(20000); // warm up: JIT, allocator pools
  const start = process.memoryUsage().rss;
  run(100000);
  const grown = (process.memoryUsage().rss - start) / 2 ** 20;
  t.ok(grown < 16, `RSS grew ${grown.toFixed(1)} MiB over 100,000 calls`);
});
