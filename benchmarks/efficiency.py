"""How much of the machine a trial uses, and how much of an epoch the metrics take.

    python benchmarks/efficiency.py [--width 32] [--widths 32,64,128] [--threads 2] [--epochs 3]

1. Achieved FLOP/s of the training phase (``GANRun.train_epoch``: every critic and generator step,
   forward and backward) against the machine's fp32 matmul peak, measured in the same run: the FLOPs of
   one epoch are counted with ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matmuls,
   forward and backward), the epoch is then timed without the counter. Goal: ≥ 85 % of peak.
   Side by side, per width: a bare DCGAN step (the same 28 px nets, one critic and one generator step
   of the plain GAN loss with Adam, no framework around it) — the ceiling the trainable's loop can reach
   with these convolution sizes — and the trainable's training epoch as a share of it.
2. The metric phase's share of an epoch (sampling + scoring vs training + checkpoint) at the CLI's
   default settings (width 32, 1,000 scored samples, the full training set). Goal: ≤ 20 %.
3. ``--references``: the metric phase's share of a trial's first epoch (what every trial pays, and all a trial
   stopped at ASHA's first rung runs) with the real references embedded per trial (``--no-reference-cache``, the
   former behaviour) and read from the reference cache: a fresh evaluator each time (as each trial builds one),
   both kinds alternating in one run on the same samples, against one timed training epoch and checkpoint; for
   the default metrics and for the feature and memorisation metrics (``--reference-metrics``).

    python benchmarks/efficiency.py --references [--trials 3] [--reference-metrics fid,kid,fd_inf,nn_share,authpct]
"""

from __future__ import annotations

import argparse
import os
import time

import torch
import torch.nn.functional as F
from common import add_scale_args, bare_epochs, config_from, median_after_first
from torch.utils.flop_counter import FlopCounterMode

from trainables.data import load_dataset
from trainables.nets import NetOptions
from trainables.nets.dcgan import Critic28, Generator28
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


def flops_and_seconds(step, repeats: int) -> tuple[float, float]:
    """(FLOPs of one call of ``step``, median seconds per call after a warm-up call)."""
    step()
    with FlopCounterMode(display=False) as counter:
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return float(counter.get_total_flops()), median_after_first(times)


def training_epoch(config: dict, threads: int, epochs: int) -> tuple[float, float]:
    """The trainable's training phase: (FLOPs, median seconds) of one ``GANRun.train_epoch``."""
    torch.set_num_threads(threads)
    run = GANRun(config, load_dataset(config["dataset"], config.get("data_root")), "cpu")
    return flops_and_seconds(run.train_epoch, epochs)


def bare_dcgan_step(width: int, batch: int, threads: int, repeats: int = 30) -> tuple[float, float]:
    """A plain PyTorch DCGAN step on 28 px images: (FLOPs, median seconds)."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    opt = NetOptions(z_dim=100, width=width)
    cl = torch.channels_last
    g, d = Generator28(1, opt).to(memory_format=cl), Critic28(1, opt).to(memory_format=cl)
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999), fused=True)
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999), fused=True)
    real = torch.rand(batch, 1, 28, 28).mul(2).sub(1).contiguous(memory_format=cl)

    def step() -> None:
        with torch.no_grad():
            fake = g(torch.randn(batch, 100))
        loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake)).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        F.softplus(-d(g(torch.randn(batch, 100)))).mean().backward()
        opt_g.step()

    return flops_and_seconds(step, repeats)


def first_epoch_phases(config: dict, threads: int, trials: int) -> tuple[float, float, dict[bool, list[float]]]:
    """One training epoch and its checkpoint write, timed once (they do not depend on the references); then the
    metric phase of a fresh trial's first epoch (a new evaluator: what each trial builds), ``trials`` times with
    per-trial references and with cached ones, alternating, on the same samples."""
    import tempfile
    from pathlib import Path

    from trainables.evaluate import evaluator_from_config
    from trainables.trainable import save_sample_grid

    torch.set_num_threads(threads)
    data = load_dataset(config["dataset"], config.get("data_root"))
    run = GANRun({**config, "epochs": 1}, data, "cpu")
    start = time.perf_counter()
    run.train_epoch()
    train = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        torch.save(run.state_dict(), Path(d) / "state.pt")
        save_sample_grid(run.sample(64), Path(d) / "samples.png")
        ckpt = time.perf_counter() - start
    evaluator_from_config({**config, "reference_cache": True}, data)(run.sample(config["eval_samples"]), 1, True)
    metrics: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(trials):
        for cached in (False, True):
            start = time.perf_counter()
            evaluator = evaluator_from_config({**config, "reference_cache": cached}, data)
            evaluator(run.sample(max(evaluator.samples_needed(1, True, config["eval_samples"]), 64)), 1, True)
            metrics[cached].append(time.perf_counter() - start)
    return train, ckpt, metrics


def reference_cache_shares(a: argparse.Namespace) -> None:
    import statistics

    for metrics in (None, a.reference_metrics):
        config = config_from(a, *(["--metrics", metrics] if metrics else []))
        train, ckpt, phases = first_epoch_phases(config, a.threads, a.trials)
        label = ",".join(config["metrics"])
        for cached, values in phases.items():
            seconds = statistics.median(values)
            how = "cached references" if cached else "per-trial references"
            print(f"| {label} | {how} | {train:.1f} s | {seconds:.2f} s | {seconds / (train + seconds + ckpt):.1%} |",
                  flush=True)  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scale_args(p)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--epochs", type=int, default=3, help="timed training epochs (first left out when > 1)")
    p.add_argument("--widths", default="32,64,128", help="widths of the FLOP/s comparison (first: CLI default)")
    p.add_argument("--references", action="store_true", help="only section 3: reference cache on and off")
    p.add_argument("--trials", type=int, default=3, help="section 3: trials of each kind (median reported)")
    p.add_argument("--reference-metrics", default="fid,kid,fd_inf,nn_share,authpct")
    a = p.parse_args()
    if a.references:
        print(f"{a.method} on {a.dataset}, width {a.width}, {a.eval_samples} samples scored, {a.threads} threads")
        print("| metrics | real side | training epoch | metric phase, 1st epoch | share of the 1st epoch |")
        print("|:---|:---|---:|---:|---:|")
        reference_cache_shares(a)
        return

    peak, n = matmul_peak(a.threads)
    rows = []
    for width in (int(w) for w in a.widths.split(",")):
        config = config_from(argparse.Namespace(**{**vars(a), "width": width}))
        bare_flops, bare_s = bare_dcgan_step(width, a.batch_size, a.threads)
        flops, seconds = training_epoch(config, a.threads, a.epochs)
        rows.append((width, bare_flops / bare_s, flops / seconds, flops / 1e9, seconds))
    peak_after, _ = matmul_peak(a.threads)  # again after training: load on the machine may have moved
    peak = max(peak, peak_after)

    print(f"{a.method} on {a.dataset}, batch {a.batch_size}, {a.threads} threads")
    print(f"fp32 matmul peak: {peak / 1e9:.1f} GFLOP/s (n = {n}, best before/after training)\n")
    print("| width | bare DCGAN step GFLOP/s | % of peak | trainable epoch | GFLOP/s | % of peak | trainable / bare |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for width, bare, achieved, gflop, seconds in rows:
        print(f"| {width} | {bare / 1e9:.1f} | {bare / peak:.1%} | {gflop:.0f} GFLOP in {seconds:.2f} s "
              f"| {achieved / 1e9:.1f} | {achieved / peak:.1%} | {achieved / bare:.2f} |")  # fmt: skip
    print("(goal: training >= 85 % of peak)\n")

    config = config_from(a)
    times = bare_epochs(config, max(2, a.epochs), a.threads)
    train, metrics, ckpt = (median_after_first(x) for x in (times.train, times.metrics, times.checkpoint))
    share = metrics / (train + metrics + ckpt)
    print(f"epoch phases at width {a.width}: train {train:.2f} s, metrics {metrics:.2f} s, checkpoint {ckpt:.2f} s")
    print(f"metric phase share: {share:.1%} of an epoch (goal <= 20 %; {a.eval_samples} samples scored)")


if __name__ == "__main__":
    main()
