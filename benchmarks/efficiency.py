"""How much of the machine a trial uses, and how much of an epoch the metrics take.

    python benchmarks/efficiency.py [--width 32] [--train-limit N] [--threads all] [--epochs 3]

1. Achieved FLOP/s of the training phase (``GANRun.train_epoch``: every critic and generator step,
   forward and backward) against the machine's fp32 matmul peak, measured in the same run: the FLOPs of
   one epoch are counted with ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matmuls,
   forward and backward), the epoch is then timed without the counter. Goal: ≥ 85 % of peak.
2. The metric phase's share of an epoch (sampling + scoring vs training + checkpoint) at the CLI's
   default settings (width 32, 1,000 scored samples, the full training set). Goal: ≤ 20 %.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from common import add_scale_args, bare_epochs, config_from, median_after_first
from torch.utils.flop_counter import FlopCounterMode

from trainables.data import load_dataset
from trainables.train import GANRun


def matmul_peak(threads: int, seconds: float = 2.0) -> tuple[float, int]:
    """Best fp32 FLOP/s of square matmuls over a few sizes (2n³ FLOPs each)."""
    torch.set_num_threads(threads)
    best = (0.0, 0)
    for n in (256, 512, 1024, 2048):
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b  # warm-up
        calls, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 4 or calls < 3:
            a @ b
            calls += 1
        best = max(best, (2 * n**3 * calls / elapsed, n))
    return best


def training_flops(config: dict, threads: int, epochs: int) -> tuple[float, float]:
    """(FLOPs of one training epoch, median seconds of a training epoch)."""
    torch.set_num_threads(threads)
    data = load_dataset(config["dataset"], config.get("data_root"))
    run = GANRun(config, data, "cpu")
    with FlopCounterMode(display=False) as counter:
        run.train_epoch()
    flops = counter.get_total_flops()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        run.train_epoch()
        times.append(time.perf_counter() - start)
    return float(flops), median_after_first(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scale_args(p)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--epochs", type=int, default=3, help="timed training epochs (first left out when > 1)")
    a = p.parse_args()
    config = config_from(a)

    peak, n = matmul_peak(a.threads)
    flops, seconds = training_flops(config, a.threads, a.epochs)
    peak_after, _ = matmul_peak(a.threads)  # again after training: load on the machine may have moved
    peak = max(peak, peak_after)
    achieved = flops / seconds
    print(f"{a.method} on {a.dataset}, width {a.width}, batch {a.batch_size}, {a.threads} threads")
    print(f"fp32 matmul peak        : {peak / 1e9:8.2f} GFLOP/s (n = {n}, best before/after training)")
    print(f"training epoch          : {flops / 1e9:8.2f} GFLOP in {seconds:.2f} s")
    print(f"training achieved       : {achieved / 1e9:8.2f} GFLOP/s = {achieved / peak:.1%} of peak (goal >= 85 %)")

    times = bare_epochs(config, max(2, a.epochs), a.threads)
    train, metrics, ckpt = (median_after_first(x) for x in (times.train, times.metrics, times.checkpoint))
    share = metrics / (train + metrics + ckpt)
    print(f"epoch phases            : train {train:.2f} s, metrics {metrics:.2f} s, checkpoint {ckpt:.2f} s")
    print(f"metric phase share      : {share:.1%} of an epoch (goal <= 20 %; {a.eval_samples} samples scored)")


if __name__ == "__main__":
    main()
