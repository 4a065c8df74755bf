// Each native tfjs kernel against the stock cpu kernel on random shapes (every stride, padding
// kind, dilation, odd and unit channel counts, batch 1 and larger). Where the stock kernel is
// not a valid reference (dilated depthwise gradients: it ignores the dilation), the gradients
// are checked by the adjoint identity <dy, conv(x, f)> = <x, dX(dy)> = <f, dF(x, dy)>.
import t, { Test } from 'tap';
import * as tf from '@tensorflow/tfjs';
import { native } from '../lib/binding';
import { setIsa, setNumThreads, info } from '../lib/info';
import {
  useNativeKernels, nativeKernelStats, resetNativeKernelStats, nativeKernelsEnabled, NATIVE_KERNEL_NAMES,
} from '../lib/tfjs/native-kernels';

tf.enableProdMode();
tf.setBackend('cpu');

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const randn = (shape: number[], r: () => number): tf.Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = r() * 2 - 1;
  return tf.tensor(v, shape);
};

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const ACTS = ['linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'sigmoid'] as const;

function randomPad(r: () => number): Pad {
  const kind = r();
  if (kind < 0.4) return 'same';
  if (kind < 0.75) return 'valid';
  const p = () => Math.floor(r() * 3);
  return [[0, 0], [p(), p()], [p(), p()], [0, 0]];
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * Runs fn with the stock and with the native kernels; the outputs must agree to 1e-4 relative
 * to the largest reference value, and `kernel` must have run natively. Returns false when
 * tfjs itself rejects the arguments (then both must reject).
 */
function compare(t: Test, label: string, kernel: string, fn: () => tf.Tensor): boolean {
  useNativeKernels(false);
  let want: Float32Array;
  try {
    want = tf.tidy(fn).dataSync() as Float32Array;
  } catch {
    useNativeKernels(true);
    t.throws(() => tf.tidy(fn), `${label}: rejected by stock and native alike`);
    return false;
  }
  useNativeKernels(true);
  const before = nativeKernelStats().native[kernel] ?? 0;
  const got = tf.tidy(fn).dataSync();
  const ran = (nativeKernelStats().native[kernel] ?? 0) - before;
  t.equal(got.length, want.length, `${label}: size`);
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  const tol = 1e-4 * Math.max(1, maxAbs(want));
  t.ok(ran >= 1 && err <= tol, `${label}: native ran ${ran}x, max error ${err.toExponential(2)} <= ${tol.toExponential(2)}`);
  return true;
}

interface ConvCase { n: number; h: number; w: number; c: number; oc: number; kh: number; kw: number;
  sh: number; sw: number; dh: number; dw: number; pad: Pad; }

function randomConv(r: () => number, depthwise: boolean): ConvCase {
  const sh = pick(r, [1, 1, 2, 3]), sw = pick(r, [1, 2, 3]);
  const dilate = sh === 1 && sw === 1 && r() < 0.4;
  return {
    n: pick(r, [1, 1, 2, 5]), h: 1 + Math.floor(r() * 10), w: 1 + Math.floor(r() * 10),
    c: pick(r, [1, 2, 3, 8, 17]), oc: depthwise ? pick(r, [1, 1, 2, 3]) : pick(r, [1, 4, 16, 33]),
    kh: pick(r, [1, 2, 3, 5]), kw: pick(r, [1, 2, 3, 5]), sh, sw,
    dh: dilate ? pick(r, [1, 2, 3]) : 1, dw: dilate ? pick(r, [2, 3]) : 1, pad: randomPad(r),
  };
}

const str = (c: ConvCase) =>
  `x[${c.n},${c.h},${c.w},${c.c}] f[${c.kh},${c.kw},${c.oc}] s${c.sh}x${c.sw} d${c.dh}x${c.dw} ${JSON.stringify(c.pad)}`;

function outShape(c: ConvCase, depthwise: boolean): number[] | null {
  try {
    const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.c], [c.kh, c.kw, c.c, c.oc], [c.sh, c.sw],
      [c.dh, c.dw], c.pad as 'same', undefined, depthwise);
    return info.outShape.every((d) => d > 0) || c.n === 0 ? info.outShape : null;
  } catch {
    return null;
  }
}

t.before(() => { useNativeKernels(true); });
t.teardown(() => { useNativeKernels(false); setIsa('avx512'); });

t.test('useNativeKernels swaps the registered kernels and restores the stock ones', async (t) => {
  useNativeKernels(false);
  const stockFns = NATIVE_KERNEL_NAMES.map((k) => tf.getKernel(k, 'cpu')!.kernelFunc);
  t.equal(useNativeKernels(true), true);
  t.ok(nativeKernelsEnabled());
  NATIVE_KERNEL_NAMES.forEach((k, i) => t.not(tf.getKernel(k, 'cpu')!.kernelFunc, stockFns[i], `${k} replaced`));
  t.equal(useNativeKernels(true), true, 'idempotent');
  useNativeKernels(false);
  NATIVE_KERNEL_NAMES.forEach((k, i) => t.equal(tf.getKernel(k, 'cpu')!.kernelFunc, stockFns[i], `${k} restored`));
  t.throws(() => useNativeKernels('yes' as never), { code: 'ERR_ARG' });
  useNativeKernels(true);
});

function convCases(t: Test, seed: number, count: number): void {
  const r = rng(seed);
  for (let i = 0; i < count; i++) {
    const c = randomConv(r, false);
    if (!outShape(c, false)) continue;
    const x = randn([c.n, c.h, c.w, c.c], r), f = randn([c.kh, c.kw, c.c, c.oc], r);
    const strides: [number, number] = [c.sh, c.sw], dil: [number, number] = [c.dh, c.dw];
    compare(t, `Conv2D ${str(c)}`, 'Conv2D',
      () => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, c.pad, 'NHWC', dil));
    const act = pick(r, ACTS), bias = r() < 0.7 ? randn([c.oc], r) : undefined;
    // with nothing to fuse, tf.fused.conv2d runs the plain Conv2D kernel (native-ops.ts)
    compare(t, `FusedConv2D ${act}${bias ? '+bias' : ''} ${str(c)}`, act === 'linear' && !bias ? 'Conv2D' : 'FusedConv2D',
      () => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides, pad: c.pad as 'same', dilations: dil,
        bias, activation: act, leakyreluAlpha: 0.15 }));
    if (c.dh === 1 && c.dw === 1) {
      const y = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, c.pad);
      const dy = randn(y.shape, r);
      compare(t, `Conv2DBackpropInput ${str(c)}`, 'Conv2DBackpropInput', () => tf.engine().runKernel(
        'Conv2DBackpropInput', { dy, filter: f }, { inputShape: x.shape, strides, pad: c.pad, dataFormat: 'NHWC' }) as tf.Tensor);
      compare(t, `Conv2DBackpropFilter ${str(c)}`, 'Conv2DBackpropFilter', () => tf.engine().runKernel(
        'Conv2DBackpropFilter', { x, dy }, { filterShape: f.shape, strides, pad: c.pad, dataFormat: 'NHWC' }) as tf.Tensor);
      tf.dispose([y, dy]);
    }
    tf.dispose([x, f, bias]);
  }
}

function dot(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.sum(tf.mul(a, b)).dataSync()[0]);
}

function depthwiseCases(t: Test, seed: number, count: number): void {
  const r = rng(seed);
  for (let i = 0; i < count; i++) depthwiseCase(t, randomConv(r, true), r);
}

/** A depthwise case (c.oc: the channel multiplier) against the stock kernels, forward and gradients. */
function depthwiseCase(t: Test, c: ConvCase, r: () => number): void {
  const mult = c.oc;
  c.oc = c.c * mult;
  if (!outShape(c, true)) return;
  const x = randn([c.n, c.h, c.w, c.c], r), f = randn([c.kh, c.kw, c.c, mult], r);
  const strides: [number, number] = [c.sh, c.sw], dil: [number, number] = [c.dh, c.dw];
  compare(t, `DepthwiseConv2dNative ${str(c)}`, 'DepthwiseConv2dNative',
    () => tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, c.pad, 'NHWC', dil));
  const act = pick(r, ACTS), bias = r() < 0.7 ? randn([c.oc], r) : undefined;
  compare(t, `FusedDepthwiseConv2D ${act}${bias ? '+bias' : ''} ${str(c)}`, 'FusedDepthwiseConv2D',
    () => tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides, pad: c.pad as 'same',
      dilations: dil, bias, activation: act, leakyreluAlpha: 0.15 }));
  const y = tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, c.pad, 'NHWC', dil);
  const dy = randn(y.shape, r);
  const attrs = { strides, dilations: dil, pad: c.pad };
  const bpi = () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: f },
    { ...attrs, inputShape: x.shape }) as tf.Tensor;
  const bpf = () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy },
    { ...attrs, filterShape: f.shape }) as tf.Tensor;
  if (c.dh === 1 && c.dw === 1) {
    compare(t, `DepthwiseConv2dNativeBackpropInput ${str(c)}`, 'DepthwiseConv2dNativeBackpropInput', bpi);
    compare(t, `DepthwiseConv2dNativeBackpropFilter ${str(c)}`, 'DepthwiseConv2dNativeBackpropFilter', bpf);
  } else {
    // The stock kernels ignore dilation here: check the adjoint identities instead.
    const ref = dot(dy, y);
    const dx = bpi(), df = bpf();
    const tol = 1e-4 * Math.max(1, Math.abs(ref)) * 10;
    t.ok(Math.abs(dot(x, dx) - ref) <= tol && Math.abs(dot(f, df) - ref) <= tol,
      `dilated depthwise gradients ${str(c)}: adjoint ${ref.toFixed(4)} = ${dot(x, dx).toFixed(4)} = ${dot(f, df).toFixed(4)}`);
    tf.dispose([dx, df]);
  }
  tf.dispose([x, f, bias, y, dy]);
}

t.test('Conv2D, FusedConv2D and both backprops match the stock kernels', async (t) => {
  convCases(t, 11, 36);
});

t.test('depthwise forward, fused and both backprops match the stock kernels', async (t) => {
  depthwiseCases(t, 21, 40);
});

// 3x3 with one filter per channel takes the register-blocked loops (depthwise_impl.h: forward,
// fused epilogue, input and filter gradients):
// channel counts below, between and past the vector widths (4, 8, 16), rows past its 16-pixel
// chunk, strides, padding and dilation; on every ISA.
t.test('3x3 depthwise, multiplier 1: edges of the channel blocks and pixel chunks, every ISA', async (t) => {
  const r = rng(77);
  const base = { n: 2, kh: 3, kw: 3, oc: 1, sh: 1, sw: 1, dh: 1, dw: 1 };
  const cases: ConvCase[] = [
    { ...base, h: 5, w: 37, c: 1, pad: 'same' }, { ...base, h: 6, w: 17, c: 5, pad: 'valid' },
    { ...base, h: 7, w: 33, c: 17, pad: 'same', sh: 2, sw: 2 }, { ...base, h: 4, w: 20, c: 33, pad: [[0, 0], [2, 0], [1, 2], [0, 0]] },
    { ...base, h: 9, w: 19, c: 100, pad: 'same', dh: 2, dw: 2 }, { ...base, n: 3, h: 3, w: 16, c: 8, pad: 'valid', sw: 3 },
    // Stride 1 and 2 rows across several 16-pixel chunks, with the channel tail beside full blocks.
    { ...base, h: 4, w: 64, c: 48, pad: 'same' }, { ...base, h: 3, w: 41, c: 24, pad: 'valid' },
    { ...base, h: 5, w: 70, c: 40, pad: 'same', sh: 2, sw: 2 }, { ...base, h: 4, w: 45, c: 16, pad: 'valid', sw: 2 },
    { ...base, h: 3, w: 38, c: 19, pad: [[0, 0], [0, 1], [0, 2], [0, 0]], sh: 2, sw: 2 },
  ];
  for (const isa of ['scalar', 'avx2', 'avx512'] as const) {
    if (setIsa(isa) !== isa) continue;
    for (const c of cases) depthwiseCase(t, { ...c }, r);
  }
  setIsa('avx512');
});

// The 1x1 filter gradient's outer-product path (native/nn/outer.cc: outputs of <= 8192 values,
// depth >= 8x the wider side): vector tails (1, 3, 5, 17, 33 channels), row tiles of 6 (8, 17,
// 24), both vectorised sides, a shape left to the GEMM (96 -> 16), depth split across 1 and 3
// threads (4,920 pixels), on every ISA.
t.test('1x1 filter gradient on the outer-product path: lane and row tails, both sides, thread split, every ISA', async (t) => {
  const r = rng(91);
  const channels: Array<[number, number]> = [[1, 1], [5, 3], [16, 8], [17, 33], [8, 48], [33, 17], [96, 24], [64, 100], [96, 16]];
  for (const isa of ['scalar', 'avx2', 'avx512'] as const) {
    if (setIsa(isa) !== isa) continue;
    for (const [c, oc] of channels) {
      for (const [n, h, w, threads] of [[2, 20, 21, 0], [3, 40, 41, 1], [3, 40, 41, 3]]) {
        if (threads) setNumThreads(threads);
        const x = randn([n, h, w, c], r), dy = randn([n, h, w, oc], r);
        compare(t, `Conv2DBackpropFilter 1x1 ${c}->${oc}, ${n}x${h}x${w}, ${isa}${threads ? `, ${threads} threads` : ''}`, 'Conv2DBackpropFilter',
          () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { filterShape: [1, 1, c, oc], strides: [1, 1], pad: 'valid', dataFormat: 'NHWC' }) as tf.Tensor);
        tf.dispose([x, dy]);
        setNumThreads(0);
      }
    }
  }
  setIsa('avx512');
});

// An RGB stem (C < 8: each image zero-padded once and read in place by the outer-product kernel
// through offset tables; the filter gradient accumulates image after image into each thread's
// part): 3x3 stride 2 over 3 and 5 channels, output channels that fill, overfill and underfill a
// vector, with and without a fused bias + ReLU6.
t.test('stem convolution and filter gradient (3 and 5 input channels, 3x3 stride 2): every ISA', async (t) => {
  const r = rng(93);
  for (const isa of ['scalar', 'avx2', 'avx512'] as const) {
    if (setIsa(isa) !== isa) continue;
    for (const [c, oc, pad] of [[3, 16, 'same'], [3, 33, 'valid'], [5, 8, 'same']] as Array<[number, number, 'same' | 'valid']>) {
      for (const threads of [1, 3]) {
        setNumThreads(threads);
        const x = randn([3, 40, 41, c], r);
        const y = tf.conv2d(x as tf.Tensor4D, randn([3, 3, c, oc], r) as tf.Tensor4D, 2, pad);
        const dy = randn(y.shape, r);
        const f = randn([3, 3, c, oc], r), bias = randn([oc], r);
        compare(t, `Conv2D 3x3/2 ${c}->${oc} ${pad}, ${isa}, ${threads} threads`, 'Conv2D',
          () => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, pad));
        compare(t, `FusedConv2D bias+relu6 3x3/2 ${c}->${oc} ${pad}, ${isa}, ${threads} threads`, 'FusedConv2D',
          () => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 2, pad, bias, activation: 'relu6' }));
        tf.dispose([f, bias]);
        compare(t, `Conv2DBackpropFilter 3x3/2 ${c}->${oc} ${pad}, ${isa}, ${threads} threads`, 'Conv2DBackpropFilter',
          () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { filterShape: [3, 3, c, oc], strides: [2, 2], pad, dataFormat: 'NHWC' }) as tf.Tensor);
        tf.dispose([x, y, dy]);
      }
      setNumThreads(0);
    }
  }
  setIsa('avx512');
});

// Pointwise layers that widen few channels over many pixels (conv2d.cc expand_fits: <= 16 in,
// >= 3x as many out, a whole number of vectors, >= 2^21 outputs) take the outer-product path, as
// do the input gradients of the layers that narrow many channels into few.
t.test('pointwise expansions and narrowing input gradients (outer-product path): every ISA', async (t) => {
  const r = rng(95);
  for (const isa of ['scalar', 'avx2', 'avx512'] as const) {
    if (setIsa(isa) !== isa) continue;
    for (const [c, oc] of [[8, 48], [16, 96], [5, 64]] as Array<[number, number]>) {
      setNumThreads(isa === 'avx512' ? 3 : 0);
      const x = randn([3, 128, 136, c], r), f = randn([1, 1, c, oc], r), bias = randn([oc], r);
      compare(t, `Conv2D 1x1 ${c}->${oc}, ${isa}`, 'Conv2D', () => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'));
      compare(t, `FusedConv2D 1x1 bias+relu6 ${c}->${oc}, ${isa}`, 'FusedConv2D',
        () => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same', bias, activation: 'relu6' }));
      // The narrowing layer oc -> c: its input gradient widens c into oc.
      const fn = randn([1, 1, oc, c], r), dy = randn([3, 128, 136, c], r);
      compare(t, `Conv2DBackpropInput 1x1 ${oc}->${c}, ${isa}`, 'Conv2DBackpropInput', () => tf.engine().runKernel(
        'Conv2DBackpropInput', { dy, filter: fn }, { inputShape: [3, 128, 136, oc], strides: 1, pad: 'same', dataFormat: 'NHWC' }) as tf.Tensor);
      tf.dispose([x, f, bias, fn, dy]);
    }
  }
  setNumThreads(0);
  setIsa('avx512');
});

t.test('every ISA variant (scalar, avx2) on a subset', async (t) => {
  for (const isa of ['scalar', 'avx2'] as const) {
    if (setIsa(isa) !== isa) continue;
    convCases(t, 31 + isa.length, 6);
    depthwiseCases(t, 41 + isa.length, 6);
  }
  setIsa('avx512');
});

t.test('BatchMatMul and _FusedMatMul: transposes, batches, broadcast, epilogue', async (t) => {
  const r = rng(5);
  const cases: Array<[number[], number[], boolean, boolean]> = [
    [[3, 4], [4, 5], false, false], [[1, 1], [1, 1], false, false], [[4, 3], [5, 4], true, true],
    [[2, 7, 9], [2, 9, 13], false, false], [[2, 9, 7], [2, 13, 9], true, true], [[1, 6, 5], [3, 5, 4], false, false],
    [[3, 6, 5], [5, 4], false, false], [[2, 3, 17, 33], [2, 3, 33, 15], false, false], [[5, 40, 70], [70, 31], false, false],
    [[3, 30, 20], [1, 30, 8], true, false],
  ];
  for (const [sa, sb, ta, tb] of cases) {
    const a = randn(sa, r), b = randn(sb, r);
    compare(t, `BatchMatMul ${sa} x ${sb} ta=${ta} tb=${tb}`, 'BatchMatMul', () => tf.matMul(a, b, ta, tb));
    if (sa.length === 2 && sb.length === 2) {
      const n = tb ? sb[0] : sb[1];
      for (const act of ACTS) {
        const bias = randn([n], r);
        compare(t, `_FusedMatMul ${sa} x ${sb} ${act}`, '_FusedMatMul',
          () => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeA: ta, transposeB: tb, bias, activation: act }));
        bias.dispose();
      }
    }
    tf.dispose([a, b]);
  }
});

/** Like compare, but the call must be handed to the stock kernel (and counted as such). */
function compareFallback(t: Test, label: string, kernel: string, fn: () => tf.Tensor): void {
  useNativeKernels(false);
  const want = tf.tidy(fn).dataSync();
  useNativeKernels(true);
  const before = nativeKernelStats().fallback[kernel] ?? 0;
  const got = tf.tidy(fn).dataSync();
  t.equal((nativeKernelStats().fallback[kernel] ?? 0) - before, 1, `${label}: counted as a fallback`);
  t.same(Array.from(got), Array.from(want), `${label}: the stock result`);
}

t.test('broadcasting Add, Sub, Multiply, RealDiv match the stock kernels', async (t) => {
  const r = rng(77);
  const pairs: Array<[number[], number[]]> = [
    [[5], [5]], [[], [7]], [[3, 4], []], [[2, 3, 4, 5], [5]], [[2, 3, 4, 5], [1, 1, 1, 5]], [[2, 1, 1, 6], [2, 3, 4, 6]],
    [[4, 1], [1, 3]], [[2, 3, 1, 5], [3, 4, 1]], [[1], [1]], [[300, 70], [70]], [[70000], []], [[2, 70000], [2, 1]],
    [[0, 3], [3]],
  ];
  const ops: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor]> = [
    ['Add', tf.add], ['Sub', tf.sub], ['Multiply', tf.mul], ['RealDiv', tf.div],
  ];
  for (const [sa, sb] of pairs) {
    const a = randn(sa, r), b = randn(sb, r);
    for (const [name, op] of ops) {
      if (sa.includes(0)) {
        t.same(op(a, b).shape, [0, 3], `${name} empty`);
        continue;
      }
      compare(t, `${name} [${sa}] x [${sb}]`, name, () => op(a, b));
      compare(t, `${name} [${sb}] x [${sa}]`, name, () => op(b, a));
    }
    tf.dispose([a, b]);
  }
  const z = tf.tensor([1, -1, 0]), zero = tf.zeros([3]);
  compare(t, 'RealDiv by zero gives inf/nan like stock', 'RealDiv', () => tf.div(z, zero).isNaN().cast('float32'));
  tf.dispose([z, zero]);
});

t.test('Sum and Mean over contiguous axes match the stock kernels; others fall back', async (t) => {
  const r = rng(88);
  const cases: Array<[number[], number | number[] | undefined, boolean]> = [
    [[7], undefined, false], [[3, 4], 0, false], [[3, 4], 1, true], [[3, 4], -1, false], [[2, 3, 4, 5], [1, 2], false],
    [[2, 3, 4, 5], [0, 1, 2], true], [[2, 3, 4, 5], [2, 3], false], [[4, 5000, 3], 1, false], [[200000, 3], 0, false],
    [[3, 200000], 1, false], [[2, 3, 4, 5], [3, 1, 2], false],
  ];
  for (const [shape, axis, keepDims] of cases) {
    const x = randn(shape, r);
    compare(t, `Sum [${shape}] axis ${axis} keepDims ${keepDims}`, 'Sum', () => tf.sum(x, axis, keepDims));
    compare(t, `Mean [${shape}] axis ${axis} keepDims ${keepDims}`, 'Mean', () => tf.mean(x, axis, keepDims));
    tf.dispose(x);
  }
  const x = randn([2, 3, 4], r);
  compareFallback(t, 'Sum over non-adjacent axes', 'Sum', () => tf.sum(x, [0, 2]));
  x.dispose();
});

t.test('rare combinations fall back to the stock kernel and are counted', async (t) => {
  const r = rng(9);
  const x = randn([1, 5, 5, 3], r), f = randn([3, 3, 3, 4], r), alpha = randn([4], r);
  compareFallback(t, 'FusedConv2D prelu', 'FusedConv2D',
    () => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same',
      activation: 'prelu', preluActivationWeights: alpha }) as tf.Tensor);
  compareFallback(t, 'FusedConv2D scalar bias', 'FusedConv2D',
    () => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same',
      bias: tf.scalar(0.5) }) as tf.Tensor);
  const xc = randn([1, 3, 5, 5], r);
  compareFallback(t, 'Conv2D NCHW', 'Conv2D',
    () => tf.engine().runKernel('Conv2D', { x: xc, filter: f }, { strides: [1, 1], pad: 'same', dataFormat: 'NCHW',
      dilations: [1, 1] }) as tf.Tensor);
  const a = randn([2, 1, 4, 3], r), b = randn([1, 3, 3, 5], r);
  compareFallback(t, 'BatchMatMul two-sided broadcast', 'BatchMatMul', () => tf.matMul(a, b));
  tf.dispose([x, f, alpha, xc, a, b]);
});

t.test('edge geometries: filters larger than the input, strides past the filter, big dilations', async (t) => {
  const r = rng(99);
  const cases: ConvCase[] = [
    { n: 1, h: 1, w: 1, c: 1, oc: 1, kh: 5, kw: 5, sh: 3, sw: 3, dh: 1, dw: 1, pad: 'same' },
    { n: 2, h: 3, w: 3, c: 2, oc: 3, kh: 1, kw: 1, sh: 4, sw: 4, dh: 1, dw: 1, pad: 'valid' },
    { n: 1, h: 7, w: 1, c: 5, oc: 2, kh: 7, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, pad: 'valid' },
    { n: 1, h: 5, w: 5, c: 3, oc: 2, kh: 3, kw: 3, sh: 1, sw: 1, dh: 4, dw: 4, pad: 'same' },
    { n: 3, h: 6, w: 9, c: 4, oc: 5, kh: 2, kw: 4, sh: 5, sw: 2, dh: 1, dw: 1, pad: [[0, 0], [2, 0], [0, 3], [0, 0]] },
    { n: 1, h: 2, w: 2, c: 1, oc: 1, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pad: 'same' },
  ];
  for (const c of cases) {
    const x = randn([c.n, c.h, c.w, c.c], r), f = randn([c.kh, c.kw, c.c, c.oc], r), fd = randn([c.kh, c.kw, c.c, 1], r);
    const strides: [number, number] = [c.sh, c.sw], dil: [number, number] = [c.dh, c.dw];
    compare(t, `Conv2D ${str(c)}`, 'Conv2D', () => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, c.pad, 'NHWC', dil));
    compare(t, `DepthwiseConv2dNative ${str(c)}`, 'DepthwiseConv2dNative',
      () => tf.depthwiseConv2d(x as tf.Tensor4D, fd as tf.Tensor4D, strides, c.pad, 'NHWC', dil));
    if (c.dh === 1) {
      const y = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, c.pad), dy = randn(y.shape, r);
      const attrs = { strides, pad: c.pad, dataFormat: 'NHWC' };
      compare(t, `Conv2DBackpropInput ${str(c)}`, 'Conv2DBackpropInput', () => tf.engine().runKernel(
        'Conv2DBackpropInput', { dy, filter: f }, { ...attrs, inputShape: x.shape }) as tf.Tensor);
      compare(t, `Conv2DBackpropFilter ${str(c)}`, 'Conv2DBackpropFilter', () => tf.engine().runKernel(
        'Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: f.shape }) as tf.Tensor);
      const z = tf.depthwiseConv2d(x as tf.Tensor4D, fd as tf.Tensor4D, strides, c.pad), dz = randn(z.shape, r);
      compare(t, `DepthwiseConv2dNativeBackpropInput ${str(c)}`, 'DepthwiseConv2dNativeBackpropInput', () => tf.engine()
        .runKernel('DepthwiseConv2dNativeBackpropInput', { dy: dz, filter: fd }, { strides, pad: c.pad, dilations: 1, inputShape: x.shape }) as tf.Tensor);
      compare(t, `DepthwiseConv2dNativeBackpropFilter ${str(c)}`, 'DepthwiseConv2dNativeBackpropFilter', () => tf.engine()
        .runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy: dz }, { strides, pad: c.pad, dilations: 1, filterShape: fd.shape }) as tf.Tensor);
      tf.dispose([y, dy, z, dz]);
    }
    tf.dispose([x, f, fd]);
  }
});

t.test('empty batches and 1x1 images do not crash', async (t) => {
  const r = rng(3);
  const x0 = tf.zeros([0, 4, 4, 3]), f = randn([3, 3, 3, 2], r), fd = randn([3, 3, 3, 1], r);
  t.same(tf.conv2d(x0 as tf.Tensor4D, f as tf.Tensor4D, 1, 'same').shape, [0, 4, 4, 2]);
  t.same(tf.depthwiseConv2d(x0 as tf.Tensor4D, fd as tf.Tensor4D, 1, 'same').shape, [0, 4, 4, 3]);
  const df = tf.engine().runKernel('Conv2DBackpropFilter', { x: x0, dy: tf.zeros([0, 4, 4, 2]) },
    { filterShape: [3, 3, 3, 2], strides: 1, pad: 'same', dataFormat: 'NHWC' }) as tf.Tensor;
  t.equal(maxAbs(df.dataSync()), 0, 'empty batch gives a zero filter gradient');
  const x1 = randn([2, 1, 1, 3], r);
  compare(t, '1x1 image, 3x3 filter, same', 'Conv2D', () => tf.conv2d(x1 as tf.Tensor4D, f as tf.Tensor4D, 2, 'same'));
  tf.dispose([x0, f, fd, df, x1]);
});

t.test('the raw bindings check every size and never write out of bounds', async (t) => {
  const b = native();
  const g = [1, 4, 4, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1];
  const x = new Float32Array(32), f = new Float32Array(54), y = new Float32Array(48);
  t.doesNotThrow(() => b.nnConv2d(x, f, null, y, g, 0, 0));
  t.throws(() => b.nnConv2d(x, f, null, new Float32Array(47), g, 0, 0), { code: 'ERR_SHAPE' });
  t.throws(() => b.nnConv2d(new Float32Array(31), f, null, y, g, 0, 0), { code: 'ERR_SHAPE' });
  t.throws(() => b.nnConv2d(x, f, new Float32Array(2), y, g, 0, 0), { code: 'ERR_SHAPE' });
  t.throws(() => b.nnConv2d(x, f, null, y, g, 9, 0), { code: 'ERR_RANGE' });
  t.throws(() => b.nnConv2d(x, f, null, y, g.slice(1), 0, 0), { code: 'ERR_ARG' });
  t.throws(() => b.nnConv2d(x, f, null, y, g.map((v, i) => (i === 9 ? 0 : v)), 0, 0), { code: 'ERR_RANGE' });
  t.throws(() => b.nnConv2d(x, f, null, y, g.map((v, i) => (i === 0 ? -1 : v)), 0, 0), { code: 'ERR_RANGE' });
  t.throws(() => b.nnConv2d(x, f, null, y, [2 ** 31, 2 ** 31, 2 ** 31, 2 ** 31, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1], 0, 0),
    { code: 'ERR_RANGE' });
  t.throws(() => b.nnDepthwise(x, f, null, y, g, 0, 0), { code: 'ERR_SHAPE' }, 'OC not a multiple of C');
  t.throws(() => b.nnConv2dBackpropFilter(x, y, new Float32Array(53), g), { code: 'ERR_SHAPE' });
  t.throws(() => b.nnMatMul(x, f, null, y, [2, 3, 4, 4, 2], false, false, 0, 0), { code: 'ERR_SHAPE' });
  t.throws(() => b.nnMatMul(new Float64Array(8) as never, f, null, y, [1, 1, 4, 4, 2], false, false, 0, 0), { code: 'ERR_DTYPE' });
  // Huge pads and strides are legal geometry: every tap falls outside and reads zero.
  const far = [1, 4, 4, 2, 4, 4, 3, 3, 3, 1000, 1000, 1, 1, 2 ** 30, -(2 ** 30)];
  t.doesNotThrow(() => b.nnConv2d(x, f, null, y, far, 0, 0));
  t.equal(maxAbs(y), 0);
});

// The few-channel path pads each image into a buffer sized from the geometry; the raw binding
// takes any geometry, negative pads included (a crop), so check it against a plain loop there.
t.test('few-channel convolution and filter gradient match a plain loop for any geometry (negative pads too)', async (t) => {
  const b = native();
  const r = rng(17);
  let padded = 0;  // cases the padded path takes (conv2d.cc, PaddedTaps::fits); the rest fall back to im2col
  for (let i = 0; i < 40; i++) {
    const [N, H, W, C, OC] = [1 + Math.floor(r() * 3), 1 + Math.floor(r() * 9), 1 + Math.floor(r() * 9), pick(r, [1, 2, 3, 7]), pick(r, [1, 5, 16, 17])];
    const [KH, KW, sh, sw, dh, dw] = [pick(r, [1, 2, 3]), pick(r, [1, 3]), pick(r, [1, 2, 3]), pick(r, [1, 2]), pick(r, [1, 2]), pick(r, [1, 2])];
    const [pt, pl] = [pick(r, [-2, -1, 0, 1, 2]), pick(r, [-2, -1, 0, 1, 3])];
    const [OH, OW] = [1 + Math.floor(r() * 5), 1 + Math.floor(r() * 5)];
    const g = [N, H, W, C, OH, OW, OC, KH, KW, sh, sw, dh, dw, pt, pl];
    if ((OH - 1) * sh + (KH - 1) * dh + 1 <= 2 * (H + KH * dh) + 2 && (OW - 1) * sw + (KW - 1) * dw + 1 <= 2 * (W + KW * dw) + 2) padded++;
    const x = Float32Array.from({ length: N * H * W * C }, () => r() - 0.5);
    const f = Float32Array.from({ length: KH * KW * C * OC }, () => r() - 0.5);
    const dy = Float32Array.from({ length: N * OH * OW * OC }, () => r() - 0.5);
    const y = new Float32Array(N * OH * OW * OC), df = new Float32Array(f.length);
    const wantY = new Float64Array(y.length), wantF = new Float64Array(f.length);
    for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
        const ih = oh * sh - pt + kh * dh, iw = ow * sw - pl + kw * dw;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
        for (let ci = 0; ci < C; ci++) {
          const xv = x[((n * H + ih) * W + iw) * C + ci];
          for (let oc = 0; oc < OC; oc++) {
            const fi = ((kh * KW + kw) * C + ci) * OC + oc, yi = ((n * OH + oh) * OW + ow) * OC + oc;
            wantY[yi] += xv * f[fi];
            wantF[fi] += xv * dy[yi];
          }
        }
      }
    }
    b.nnConv2d(x, f, null, y, g, 0, 0);
    b.nnConv2dBackpropFilter(x, dy, df, g);
    let ey = 0, ef = 0;
    y.forEach((v, j) => { ey = Math.max(ey, Math.abs(v - wantY[j])); });
    df.forEach((v, j) => { ef = Math.max(ef, Math.abs(v - wantF[j])); });
    t.ok(ey <= 1e-5 && ef <= 1e-4, `${JSON.stringify(g)}: forward error ${ey.toExponential(1)} <= 1e-5, filter gradient ${ef.toExponential(1)} <= 1e-4`);
  }
  t.ok(padded >= 20, `${padded} of 40 cases on the padded path`);
});

t.test('info reports the ISA the kernels use', async (t) => {
  t.match(info().isa, /^(scalar|avx2|avx512)$/);
});
