#!/usr/bin/env python3
"""PyTorch side of `npm run bench:gemm` (bench/gemm.ts): times single matrix products.

Reads one JSON object on stdin: {"threads": n, "calls": n, "passes": n, "shapes": [[name, M, K, N,
transA, transB], ...]} and prints one JSON object: {"blas": ..., "rows": {name: [seconds per call
of each pass, ...]}}. C = op(A) @ op(B) with op(A) M x K and op(B) K x N, float32, inputs uniform
in [-0.5, 0.5); transposed operands are stored transposed and passed as .t() views, as autograd
does for a Linear layer's gradients. Run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset.
"""

import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import blas_summary  # noqa: E402  (same directory)


def main() -> None:
    req = json.load(sys.stdin)
    torch.set_num_threads(int(req["threads"]))
    calls, passes = int(req["calls"]), int(req["passes"])
    gen = torch.Generator().manual_seed(7)
    rows = {}
    for name, m, k, n, ta, tb in req["shapes"]:
        a = torch.rand((k, m) if ta else (m, k), generator=gen) - 0.5
        b = torch.rand((n, k) if tb else (k, n), generator=gen) - 0.5
        a = a.t() if ta else a
        b = b.t() if tb else b
        for _ in range(5):
            torch.mm(a, b)
        times = []
        for _ in range(passes):
            t0 = time.perf_counter()
            for _ in range(calls):
                torch.mm(a, b)
            times.append((time.perf_counter() - t0) / calls)
        rows[name] = times
    json.dump({"blas": blas_summary()["blas"], "torch": torch.__version__, "rows": rows}, sys.stdout)


if __name__ == "__main__":
    main()
