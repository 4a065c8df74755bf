"""ACR loss + gradient in vectorised numpy (float32), the numpy peer of bench/loss.ts.
Usage: python3 loss_numpy.py B1,B2,... D  -> prints one JSON object {B: median seconds}."""
import json
import sys
import time

import numpy as np


def acr_loss_and_grad(pred, gt, phi, lam=np.float32(1.0), t=np.float32(1.0)):
    d = pred - gt
    a = np.abs(d)
    p = np.float32(2.0) - phi
    ap = a ** p
    small = a <= t
    c = lam * np.log1p(t ** p) - t * t
    loss = np.where(small, lam * np.log1p(ap), d * d + c).mean(dtype=np.float64)
    g_small = lam * p * a ** (p - np.float32(1.0)) / (np.float32(1.0) + ap) * np.sign(d)
    grad = np.where(small, g_small, d + d) * np.float32(1.0 / d.size)
    return loss, grad


def main():
    sizes = [int(b) for b in sys.argv[1].split(",")]
    dim = int(sys.argv[2])
    rng = np.random.default_rng(1)
    out = {}
    for b in sizes:
        gt = (rng.random((b, dim), dtype=np.float32) - np.float32(0.5))
        pred = gt + (rng.random((b, dim), dtype=np.float32) - np.float32(0.5)) * np.float32(0.4)
        phi = rng.random((b, dim), dtype=np.float32)
        acr_loss_and_grad(pred, gt, phi)
        reps = max(1, int(2e6 // (b * dim)))
        runs = []
        for _ in range(7 if b * dim < 5e6 else 3):
            t0 = time.perf_counter()
            for _ in range(reps):
                acr_loss_and_grad(pred, gt, phi)
            runs.append((time.perf_counter() - t0) / reps)
        out[str(b)] = float(np.median(runs))
    out["numpy"] = np.__version__
    print(json.dumps(out))


if __name__ == "__main__":
    main()
