"""numpy peer for bench/asm.ts: np.cov + np.linalg.eigh (what sklearn's PCA amounts to), and
Smooth-Face and Phi (per coordinate) written with numpy's vectorised ops. Prints one JSON object."""
import ctypes
import json
import sys
import time

import numpy as np


def blas_info():
    info = {"numpy": np.__version__}
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]
        info["blas"] = f'{deps["blas"]["name"]} {deps["blas"].get("version", "")}'.strip()
    except Exception as err:  # older numpy: no dict mode
        info["blas"] = f"unknown ({err})"
    # Which OpenBLAS kernel runs (the core type), read from the loaded library itself.
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line}
    for lib in libs:
        for sym in ("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename"):
            try:
                fn = getattr(ctypes.CDLL(lib), sym)
                fn.restype = ctypes.c_char_p
                info["openblas_core"] = fn().decode()
                break
            except (OSError, AttributeError):
                continue
    return info


def median_ms(fn, reps, clock=time.perf_counter):
    fn()  # warm up
    ts = []
    for _ in range(reps):
        t0 = clock()
        fn()
        ts.append((clock() - t0) * 1e3)
    return float(np.median(ts))


def main():
    path, n, d, reps, level = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    x = np.fromfile(path, dtype=np.float32).reshape(n, d)
    out = {"info": blas_info()}
    out["cov_ms"] = median_ms(lambda: np.cov(x, rowvar=False), reps)
    c = np.cov(x, rowvar=False)
    out["eigh_ms"] = median_ms(lambda: np.linalg.eigh(c), reps)
    out["fit_ms"] = median_ms(lambda: np.linalg.eigh(np.cov(x, rowvar=False)), reps)
    # CPU time of the process (all its threads): steady on a loaded machine when single-threaded.
    out["fit_cpu_ms"] = median_ms(lambda: np.linalg.eigh(np.cov(x, rowvar=False)), reps, time.process_time)
    w, v = np.linalg.eigh(c)
    w, v = w[::-1], v[:, ::-1]
    mean = x.mean(axis=0, dtype=np.float64)
    k = int(np.argmax(np.cumsum(w) / w.sum() >= level - 1e-12)) + 1
    vk, lim = v[:, :k], 3 * np.sqrt(np.maximum(w[:k], 0))

    def smooth():
        return mean + np.clip((x - mean) @ vk, -lim, lim) @ vk.T

    def phi():  # per coordinate, from its own Smooth-Face: the same work as one native asmPhi call
        dev = np.abs(x - smooth())
        return dev / dev.max(axis=1, keepdims=True)

    out["smooth_ms"] = median_ms(smooth, reps)
    out["phi_ms"] = median_ms(phi, reps)
    out["k"] = k
    print(json.dumps(out))


if __name__ == "__main__":
    main()
