#!/usr/bin/env python3
"""numpy (OpenBLAS) sgemm GFLOP/s for the sizes of `mod bench gemm`, as JSON: a dev tool for side-by-side
comparison with the native addon (the product never depends on python).

  python3 scripts/bench-numpy-gemm.py [--threads 2] [--repeats 9]

OpenBLAS reads OPENBLAS_NUM_THREADS / OPENBLAS_CORETYPE at load time, so the thread count is set before numpy is
imported. Each size: one warm-up call, then the median of the repeats of C = A·B (float32, row-major, no transposes).
"""
import argparse
import json
import os
import statistics
import sys
import time

SIZES = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 256, 1024)]  # (M, K, N)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--repeats', type=int, default=9)
    args = p.parse_args()
    os.environ['OPENBLAS_NUM_THREADS'] = str(args.threads)
    import numpy as np

    rng = np.random.default_rng(0)
    rows = []
    for m, k, n in SIZES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        c = np.empty((m, n), dtype=np.float32)
        np.matmul(a, b, out=c)
        flop = 2.0 * m * n * k
        inner = max(1, int(2e9 / flop / 20))  # enough calls per sample that each sample takes ~0.1 s or more
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for _ in range(inner):
                np.matmul(a, b, out=c)
            times.append((time.perf_counter() - t0) / inner)
        rows.append({'m': m, 'k': k, 'n': n, 'gflops': flop / statistics.median(times) / 1e9, 'threads': args.threads})
    coretype = os.environ.get('OPENBLAS_CORETYPE', '')
    json.dump({'numpy': np.__version__, 'openblasCoretype': coretype, 'rows': rows}, sys.stdout, indent=2)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
