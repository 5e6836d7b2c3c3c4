"""Streaming vs dense DDM: wall time and peak memory side by side.

    python benchmarks/ddm.py [--test 10000] [--generated 50000] [--dim 10] [--dense-budget-gb 2] [--threads 1]

DDM (paper 004 eq. 3.4) needs, for every test embedding, a log-mean-exp over all generated ones.
The dense form materialises the |T|×|G| distance matrix (float64: 4 GB at 10,000 × 50,000); the
streaming form in ``trainables.metrics.ddm`` walks it in tiles with a running log-sum-exp.

Each measurement runs in a fresh subprocess; peak memory is the growth of the process's maximum
resident set (ru_maxrss) over what it held once the inputs existed, so only the computation counts.
Dense is run at |G| doubling up to the largest size whose matrix fits the budget; its growth per
|G| is fitted and extrapolated to the full size, while streaming is measured at every size and at
the full one. Inputs are 10-d Gaussian "logits" (the thesis' classifier embeds MNIST into 10 logits).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time

import torch


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def dense_ddm(test: torch.Tensor, generated: torch.Tensor) -> float:
    """The naive form: the whole distance matrix, then one log-sum-exp per row."""
    d = torch.cdist(test, generated)
    return float((math.log(len(generated)) - torch.logsumexp(-d, dim=1)).mean())


def child(kind: str, n_test: int, n_gen: int, dim: int, threads: int) -> None:
    from trainables.metrics.ddm import ddm

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    test = torch.randn(n_test, dim, generator=g, dtype=torch.float64)
    gen = torch.randn(n_gen, dim, generator=g, dtype=torch.float64) + 0.5
    ddm(test[:64], gen[:64])  # warm up kernels and allocator outside the measurement
    dense_ddm(test[:64], gen[:64])
    base = _maxrss_mb()
    t0 = time.perf_counter()
    value = dense_ddm(test, gen) if kind == "dense" else ddm(test, gen)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "peak_mb": _maxrss_mb() - base, "value": value}))


def measure(kind: str, n_test: int, n_gen: int, dim: int, threads: int) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--test", str(n_test), "--generated", str(n_gen),
           "--dim", str(dim), "--threads", str(threads)]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--test", type=int, default=10_000)
    p.add_argument("--generated", type=int, default=50_000)
    p.add_argument("--dim", type=int, default=10)
    p.add_argument("--dense-budget-gb", type=float, default=2.0, help="largest dense distance matrix to build")
    p.add_argument("--threads", type=int, default=1, help="torch threads for both forms")
    p.add_argument("--child", choices=["dense", "streaming"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.test, args.generated, args.dim, args.threads)
        return

    sizes, n = [], args.generated
    while n >= 1000:
        sizes.append(n)
        n //= 2
    dense_sizes = [s for s in sizes if args.test * s * 8 <= args.dense_budget_gb * 1e9][:3][::-1]
    print(f"DDM |T| = {args.test:,}, d = {args.dim}, float64, {args.threads} thread(s); "
          f"dense matrix budget {args.dense_budget_gb} GB")  # fmt: skip
    print(f"{'|G|':>8} {'dense s':>9} {'dense MB':>9} {'stream s':>9} {'stream MB':>9} {'time ratio':>10} "
          f"{'mem ratio':>9} {'|Δ value|':>10}")  # fmt: skip
    rows = []
    for s in dense_sizes:
        d, st = measure("dense", args.test, s, args.dim, args.threads), measure("streaming", args.test, s, args.dim,
                                                                                args.threads)  # fmt: skip
        rows.append((s, d, st))
        print(f"{s:>8,} {d['seconds']:>9.2f} {d['peak_mb']:>9.0f} {st['seconds']:>9.2f} {st['peak_mb']:>9.1f} "
              f"{st['seconds'] / d['seconds']:>10.2f} {st['peak_mb'] / d['peak_mb']:>9.3f} "
              f"{abs(d['value'] - st['value']):>10.1e}")  # fmt: skip
    # Dense memory and time grow linearly in |G| at fixed |T|: fit through the measured points.
    (s0, d0, _), (s1, d1, _) = rows[0], rows[-1]
    mb_per_g = (d1["peak_mb"] - d0["peak_mb"]) / (s1 - s0)
    sec_per_g = d1["seconds"] / s1
    dense_mb = d1["peak_mb"] + mb_per_g * (args.generated - s1)
    dense_s = sec_per_g * args.generated
    full = measure("streaming", args.test, args.generated, args.dim, args.threads)
    print(f"dense growth: {mb_per_g * 1000:.0f} MB per 1,000 generated samples "
          f"({mb_per_g * 1e6 / args.test / 8:.2f} × one float64 |T|×|G| matrix)")  # fmt: skip
    print(
        f"{args.generated:>8,} {dense_s:>9.2f}* {dense_mb:>8.0f}* {full['seconds']:>9.2f} {full['peak_mb']:>9.1f} "
        f"{full['seconds'] / dense_s:>10.2f} {full['peak_mb'] / dense_mb:>9.4f}   (* extrapolated, not run)"
    )
    ok_mem = all(st["peak_mb"] <= d["peak_mb"] / 10 for _, d, st in rows)
    ok_time = all(st["seconds"] <= d["seconds"] * 1.05 for _, d, st in rows)  # 5 %: timer noise on shared CPUs
    print(f"streaming ≤ 1/10 of dense memory at every measured size: {ok_mem}; no slower (within 5 %): {ok_time}")


if __name__ == "__main__":
    main()
