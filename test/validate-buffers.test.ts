import t from 'tap';
import { kernels } from '../lib/index';

function detached(n: number): Float32Array {
  const a = new Float32Array(n);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}

t.test('typed arguments: detached and shared buffers are named, null options are fine', async (t) => {
  const n = 6;
  const ok = new Float32Array(n).fill(0.1);
  const phi = new Float32Array(n).fill(0.5);
  // A detached pred looks empty; it must be reported as pred, not as a gt of the wrong length.
  t.throws(() => kernels.acrLossAndGrad(detached(n), ok, phi), { code: 'ERR_ARG', message: /^pred: the Float32Array's buffer is detached/ });
  t.throws(() => kernels.acrLossAndGrad(ok, detached(n), phi), { code: 'ERR_ARG', message: /^gt: the Float32Array's buffer is detached/ });
  t.throws(() => kernels.l2LossAndGrad(detached(0), new Float32Array(0)), { code: 'ERR_ARG', message: /^pred: .*detached/ }, 'also when it was empty');
  t.same(kernels.l2LossAndGrad(new Float32Array(0), new Float32Array(0)).loss, 0, 'a live empty array is fine');
  const shared = new Float32Array(new SharedArrayBuffer(4 * n)).fill(0.2);
  t.throws(() => kernels.acrLossAndGrad(shared, ok, phi), { code: 'ERR_ARG', message: /^pred: a Float32Array over a SharedArrayBuffer is not supported; copy it first/ });
  t.throws(() => kernels.sgemm(new Float32Array(4), shared.subarray(0, 4), 2, 2, 2), { code: 'ERR_ARG', message: /^b: .*SharedArrayBuffer/ });
  // Options may be null (as undefined), like every other options argument.
  const c = kernels.sgemm(Float32Array.of(1, 2, 3, 4), Float32Array.of(1, 0, 0, 1), 2, 2, 2, null as never);
  t.same(Array.from(c), [1, 2, 3, 4]);
  t.throws(() => kernels.sgemm(Float32Array.of(1), Float32Array.of(1), 1, 1, 1, 3 as never), { code: 'ERR_ARG', message: /options: expected an options object/ });
});
