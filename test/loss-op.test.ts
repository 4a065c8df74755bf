import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { acrLoss, acrLossComposite } from '../lib/loss';
import { nativeKernelActive } from '../lib/tfjs/acr-kernels';
import { lossFixture, rng } from './helpers/loss-reference';

tf.enableProdMode();

// The op runs native code; the composite is plain tfjs ops with tfjs's own autodiff. Both work
// in float32, so they agree to a few ulp per element: relative 1e-5 (+1e-6 absolute for
// gradients near 0, where the composite's chain of float32 ops loses relative precision).
function close(t: Tap.Test, got: Float32Array | Int32Array | Uint8Array, want: Float32Array | Int32Array | Uint8Array, what: string, abs = 1e-6) {
  t.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= 1e-5 * Math.abs(want[i]) + abs)) {
      t.fail(`${what}: index ${i}: ${got[i]} vs composite ${want[i]}`);
      return;
    }
  }
  t.pass(what);
}

type Tap = typeof t;
declare namespace Tap {
  type Test = typeof t;
}

for (const backend of ['cpu', 'wasm']) {
  t.test(`${backend}: the native op equals the composite in value and gradient`, async (t) => {
    await tf.setBackend(backend);
    await tf.ready();
    t.ok(nativeKernelActive(), `the native kernel serves ${backend}`);
    const B = 13, D = 10;
    const { pred, gt, phi } = lossFixture(B * D, 21);
    const r = rng(3);
    const w = Float32Array.from({ length: B * D }, () => (r() < 0.25 ? 0 : r()));
    const yp = tf.tensor2d(pred, [B, D]);
    const yt = tf.tensor2d(gt, [B, D]);
    const ph = tf.tensor2d(phi, [B, D]);
    const wt = tf.tensor2d(w, [B, D]);
    const dyw = tf.tensor2d(Float32Array.from({ length: B * D }, () => r() * 2 - 1), [B, D]);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      for (const constant of ['continuous', 'reference'] as const) {
        for (const weight of [null, wt]) {
          const o = { reduction, constant, weight, lambda: 1.7 };
          const tag = `${backend} ${reduction} ${constant}${weight ? ' weighted' : ''}`;
          const nat = acrLoss(yt, yp, ph, o);
          const com = acrLossComposite(yt, yp, ph, o);
          t.same(nat.shape, com.shape, `${tag}: shape`);
          close(t, nat.dataSync() as Float32Array, com.dataSync() as Float32Array, `${tag}: value`);
          // Scalar losses get dy = 3; per-element losses a random dy per element.
          const head = (l: tf.Tensor) => (reduction === 'none' ? tf.sum(tf.mul(l, dyw)) : tf.mul(l, 3));
          const [gp, gg] = tf.grads((a: tf.Tensor, b: tf.Tensor) => head(acrLoss(b, a, ph, o)))([yp, yt]);
          const [cp, cg] = tf.grads((a: tf.Tensor, b: tf.Tensor) => head(acrLossComposite(b, a, ph, o)))([yp, yt]);
          close(t, gp.dataSync() as Float32Array, cp.dataSync() as Float32Array, `${tag}: d/d yPred`);
          close(t, gg.dataSync() as Float32Array, cg.dataSync() as Float32Array, `${tag}: d/d yTrue`);
          tf.dispose([nat, com, gp, gg, cp, cg]);
        }
      }
    }
    // phi out of range: the native kernel reports the index, the composite checks with ops.
    const bad = tf.tensor2d(phi.map((x, i) => (i === 17 ? 1.25 : x)), [B, D]);
    t.throws(() => acrLoss(yt, yp, bad), { code: 'ERR_RANGE', message: /phi.*index 17/ });
    t.throws(() => acrLossComposite(yt, yp, bad), { code: 'ERR_RANGE', message: /phi/ });
    tf.dispose([yp, yt, ph, wt, dyw, bad]);
  });

  t.test(`${backend}: trains a tiny model with optimizer.minimize, without leaking tensors`, async (t) => {
    await tf.setBackend(backend);
    const r = rng(9);
    const B = 64, F = 6, D = 8;
    const x = tf.tensor2d(Float32Array.from({ length: B * F }, () => r() - 0.5), [B, F]);
    const trueW = tf.tensor2d(Float32Array.from({ length: F * D }, () => r() - 0.5), [F, D]);
    const y = tf.tidy(() => tf.matMul(x, trueW));
    const phi = tf.tensor2d(Float32Array.from({ length: B * D }, () => r()), [B, D]);
    const W = tf.variable(tf.zeros([F, D]));
    const opt = tf.train.adam(0.05);
    const before = tf.memory().numTensors;
    const lossAt = () => tf.tidy(() => acrLoss(y, tf.matMul(x, W), phi).dataSync()[0]);
    const first = lossAt();
    for (let i = 0; i < 60; i++) {
      const l = opt.minimize(() => acrLoss(y, tf.matMul(x, W), phi) as tf.Scalar, true, [W]);
      l?.dispose();
    }
    const last = lossAt();
    t.ok(last < first * 0.1, `loss fell from ${first.toExponential(3)} to ${last.toExponential(3)}`);
    // Adam creates its two slot variables per weight on the first step; nothing after that.
    const afterTraining = tf.memory().numTensors;
    t.ok(afterTraining - before <= 2 + 2, `tensors after training: ${afterTraining - before} more (Adam slots)`);
    for (let i = 0; i < 20; i++) {
      const { value, grads } = tf.variableGrads(() => acrLoss(y, tf.matMul(x, W), phi, { reduction: 'sum' }) as tf.Scalar, [W]);
      t.equal(grads[W.name].shape.join(), `${F},${D}`);
      value.dispose();
      tf.dispose(grads);
      tf.tidy(() => {
        acrLoss(y, tf.matMul(x, W), phi, { reduction: 'none' });
        tf.grad((p: tf.Tensor) => acrLoss(y, p, phi, { reduction: 'none' }))(y);
      });
    }
    t.equal(tf.memory().numTensors, afterTraining, 'no tensors leaked by forward, grad, variableGrads');
    tf.dispose([x, trueW, y, phi, W]);
    opt.dispose();
  });

  t.test(`${backend}: arguments are validated with typed errors`, async (t) => {
    await tf.setBackend(backend);
    const a = tf.zeros([2, 4]);
    const int32 = tf.zeros([2, 4], 'int32');
    const other = tf.zeros([2, 3]);
    const flipped = tf.zeros([4, 2]);
    const negative = tf.fill([2, 4], -1);
    const scalar = tf.scalar(1);
    const before = tf.memory().numTensors;
    t.throws(() => acrLoss(a, int32, a), { code: 'ERR_DTYPE', message: /yPred/ });
    t.throws(() => acrLoss(other, a, a), { code: 'ERR_SHAPE', message: /^yTrue \[2,3\] and yPred \[2,4\]: expected the same shape/ });
    t.throws(() => acrLoss(a, other, a), { code: 'ERR_SHAPE', message: /^yTrue \[2,4\] and yPred \[2,3\]/ }, 'a wrong yPred is named too, not only yTrue');
    t.throws(() => acrLoss(a, a, flipped), { code: 'ERR_SHAPE', message: /phi/ });
    t.throws(() => acrLoss(a, a, a, { lambda: -1 }), { code: 'ERR_RANGE', message: /lambda/ });
    t.throws(() => acrLoss(a, a, a, { threshold: 0 }), { code: 'ERR_RANGE', message: /threshold/ });
    t.throws(() => acrLoss(a, a, a, { reduction: 'avg' as never }), { code: 'ERR_ARG', message: /reduction/ });
    t.throws(() => acrLoss(a, a, a, { weight: negative }), { code: 'ERR_RANGE', message: /weight/ });
    t.throws(() => acrLoss(a, a, [1, 2] as never), { code: 'ERR_DTYPE', message: /phi/ });
    t.throws(() => acrLoss(a, scalar, a), { code: 'ERR_SHAPE' });
    t.throws(() => acrLoss(a, a, new Float32Array(3)), { code: 'ERR_SHAPE', message: /phi/ });
    const ok = acrLoss(a, a, new Float32Array(8).fill(0.5));
    t.equal(ok.dataSync()[0], 0, 'a Float32Array phi is accepted');
    ok.dispose();
    t.equal(tf.memory().numTensors, before, 'failed calls leak nothing');
    tf.dispose([a, int32, other, flipped, negative, scalar]);
  });
}

t.test('phiFloor: the loss of max(phi, floor), native and composite, value and gradient; bad floors refused', async (t) => {
  await tf.setBackend('cpu');
  const B = 7, D = 12;
  const { pred, gt, phi } = lossFixture(B * D, 5);
  const [yp, yt, ph] = [pred, gt, phi].map((a) => tf.tensor2d(a, [B, D]));
  for (const floor of [0, 0.5, 1]) {
    // The reference raises phi by hand (plain JS), then calls the composite without the option.
    const raised = tf.tensor2d(phi.map((x) => Math.max(x, floor)), [B, D]);
    for (const fn of [acrLoss, acrLossComposite]) {
      const tag = `${fn === acrLoss ? 'native' : 'composite'}, floor ${floor}`;
      const got = fn(yt, yp, ph, { phiFloor: floor, lambda: 2 });
      const want = acrLossComposite(yt, yp, raised, { lambda: 2 });
      close(t, got.dataSync() as Float32Array, want.dataSync() as Float32Array, `${tag}: value`);
      const g = tf.grad((a: tf.Tensor) => fn(yt, a, ph, { phiFloor: floor, lambda: 2 }))(yp);
      const w = tf.grad((a: tf.Tensor) => acrLossComposite(yt, a, raised, { lambda: 2 }))(yp);
      close(t, g.dataSync() as Float32Array, w.dataSync() as Float32Array, `${tag}: d/d yPred`);
      tf.dispose([got, want, g, w]);
    }
    raised.dispose();
  }
  const l0 = acrLoss(yt, yp, ph).dataSync()[0];
  const l5 = acrLoss(yt, yp, ph, { phiFloor: 0.5 }).dataSync()[0];
  t.not(l0, l5, 'a floor above some phi changes the loss');
  for (const bad of [-0.1, 1.5, NaN]) t.throws(() => acrLoss(yt, yp, ph, { phiFloor: bad }), { code: /ERR_RANGE|ERR_ARG/, message: /options\.phiFloor/ });
  // phi out of range is still reported with a floor (it does not hide values below 0 or NaN).
  const neg = tf.tensor2d(phi.map((x, i) => (i === 3 ? -0.5 : x)), [B, D]);
  t.throws(() => acrLoss(yt, yp, neg, { phiFloor: 0.5 }), { code: 'ERR_RANGE', message: /phi/ });
  tf.dispose([yp, yt, ph, neg]);
});

t.test('any other backend falls back to the composite, forward and gradient', async (t) => {
  // A cpu backend under another name, with every kernel except the native ACR ones.
  const Cpu = tf.findBackend('cpu')!.constructor as new () => tf.KernelBackend;
  tf.registerBackend('cpu-plain', () => new Cpu());
  tf.copyRegisteredKernels('cpu', 'cpu-plain');
  tf.unregisterKernel('AcrLoss', 'cpu-plain');
  tf.unregisterKernel('AcrLossGrad', 'cpu-plain');
  await tf.setBackend('cpu-plain');
  t.notOk(nativeKernelActive(), 'no native kernel on cpu-plain');
  const { pred, gt, phi } = lossFixture(60, 77);
  const yp = tf.tensor2d(pred, [6, 10]);
  const yt = tf.tensor2d(gt, [6, 10]);
  const ph = tf.tensor2d(phi, [6, 10]);
  const [v, g] = tf.tidy(() => {
    const { value, grad } = tf.valueAndGrad((p: tf.Tensor) => acrLoss(yt, p, ph) as tf.Scalar)(yp);
    return [value.dataSync()[0], grad.dataSync() as Float32Array];
  });
  await tf.setBackend('cpu');
  const { value: v2, grad: g2 } = tf.valueAndGrad((p: tf.Tensor) => acrLoss(yt, p, ph) as tf.Scalar)(yp);
  t.ok(Math.abs(v - v2.dataSync()[0]) <= 1e-6 * Math.abs(v), `value ${v} (composite) vs ${v2.dataSync()[0]} (native)`);
  close(t, g, g2.dataSync() as Float32Array, 'gradient: composite on cpu-plain vs native on cpu');
  const bad = tf.tensor2d(phi.map((x) => x + 2), [6, 10]);
  await tf.setBackend('cpu-plain');
  t.throws(() => acrLoss(yt, yp, bad), { code: 'ERR_RANGE', message: /phi/ });
  await tf.setBackend('cpu');
  tf.dispose([yp, yt, ph, v2, g2, bad]);
  tf.removeBackend('cpu-plain');
});
