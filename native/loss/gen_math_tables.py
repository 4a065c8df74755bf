#!/usr/bin/env python3
"""Generates the tables and polynomial coefficients of native/loss/simd_kernels.h and prints
their approximation errors (numpy only; not run by the build).

  ln table    (log1p of u = 1 + a^p, relative accuracy): m in [1, 2) in 16 buckets by the top 4
              mantissa bits; bucket 0 uses c = 1 exactly, the others c ~ their centre, with invc
              chosen near 1/c so that -ln(invc) is a float32 to ~1e-11.
  log2 table  (a^q, absolute accuracy): every bucket centred, -log2(invc) likewise near a float.
  polynomials by Lawson's iteratively reweighted least squares (near minimax), then rounded to
              float32 and re-measured.
"""
import struct
import numpy as np

f32 = np.float32


def ulp_step(x, k):
    return struct.unpack('<f', struct.pack('<I', struct.unpack('<I', struct.pack('<f', x))[0] + k))[0]


def table(log, centred_first, zmax):
    invc, logc = [], []
    for i in range(16):
        if i == 0 and not centred_first:
            invc.append(1.0)
            logc.append(0.0)
            continue
        c = 1 + (i + 0.5) / 16
        base, best = float(f32(1 / c)), None
        for k in range(-4000, 4001):
            v = ulp_step(base, k)
            lc = -log(v)
            zlo, zhi = (1 + i / 16) * v - 1, (1 + (i + 1) / 16) * v - 1
            if zlo < -zmax or zhi > zmax:
                continue
            err = abs(float(f32(lc)) - lc)
            if best is None or err < best[0]:
                best = (err, v, lc)
        invc.append(best[1])
        logc.append(best[2])
    err = max(abs(float(f32(x)) - x) for x in logc)
    return invc, logc, err


def fit(f, fixed, powers, lo, hi, rel, iters=40):
    k = np.arange(20000)
    x = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / len(k))
    x = x[np.abs(x) > 1e-12]
    s = 1 / np.abs(f(x)) if rel else np.ones_like(x)
    B = np.stack([x ** p for p in powers], 1) * s[:, None]
    r = (f(x) - fixed(x)) * s
    w = np.ones_like(x) / len(x)
    for _ in range(iters):
        sw = np.sqrt(w)
        c = np.linalg.lstsq(B * sw[:, None], r * sw, rcond=None)[0]
        e = np.abs(B @ c - r)
        w = w * e
        w /= w.sum()
    c32 = f32(c)
    xx = np.linspace(lo, hi, 400001)
    xx = xx[np.abs(xx) > 1e-12]
    err = fixed(xx) + sum(float(ci) * xx ** p for ci, p in zip(c32, powers)) - f(xx)
    if rel:
        err /= np.abs(f(xx))
    return [float(v) for v in c32], float(np.abs(err).max())


def cpp(xs):
    return ', '.join(float(f32(x)).hex().replace('0000000p', 'p') + 'f' for x in xs)


invc, logc, e1 = table(np.log, False, 1 / 34 - 1e-4)
print(f'kLogInvc  {{{cpp(invc)}}}\nkLogLogc  {{{cpp(logc)}}}\n  (logc rounding <= {e1:.2g})')
pinvc, plog2c, e2 = table(np.log2, True, 0.0316)
print(f'kPowInvc  {{{cpp(pinvc)}}}\nkPowLog2c {{{cpp(plog2c)}}}\n  (log2c rounding <= {e2:.2g})')
print(f'kExp2     {{{cpp([2 ** (j / 16) for j in range(16)])}}}')
print('  (relative rounding <= %.2g)' % max(abs(float(f32(2 ** (j / 16))) / 2 ** (j / 16) - 1) for j in range(16)))
c, e = fit(np.log1p, lambda z: z, [2, 3, 4, 5], -1 / 34, 1 / 16, True)
print(f'ln(1+z)   = z + z^2 (c2 + c3 z + c4 z^2 + c5 z^3) on [-1/34, 1/16]: {c}, relative error {e:.2g}')
c, e = fit(lambda z: np.log2(1 + z), lambda z: 0 * z, [1, 2, 3], -0.0316, 0.0316, False)
print(f'log2(1+z) = z (b1 + b2 z + b3 z^2) on [-0.0316, 0.0316]: {c}, absolute error {e:.2g}')
c, e = fit(np.exp2, lambda z: 1 + 0 * z, [1, 2, 3], -0.0316, 0.0316, True)
print(f'2^f       = 1 + f (e1 + e2 f + e3 f^2) on [-0.0316, 0.0316]: {c}, relative error {e:.2g}')
