"""What each feature metric and feature network costs at the default sample counts, on this machine's CPU.

    python benchmarks/metric_costs.py [--generated 1000] [--reference 1000,10000] [--dim 768] [--images 8]

Metric maths: seconds per call on random float64 features (the cost depends on the counts and the dimension, not on
the values), with ``--generated`` samples against reference sets of each size in ``--reference`` (the per-epoch
default is 1,000 generated; references are capped at 10,000). The real side's one-off work is timed apart: what the
reference cache (``trainables.references``) computes once and every later trial reads. Networks: seconds per image of
a forward pass at 224 px (random weights: the same arithmetic as the published ones), batch ``--images``.
"""

from __future__ import annotations

import argparse
import time

import torch

from trainables.metrics import authpct, c_t, fd_inf, fid, kid, nn_share, precision_recall
from trainables.metrics.fid import frechet_distance, gaussian_stats, psd_sqrt
from trainables.metrics.nearest import nearest_other


def seconds(fn, repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def metric_rows(n_gen: int, n_ref: int, dim: int) -> list[tuple[str, float]]:
    g = torch.Generator().manual_seed(0)
    real, train = (torch.randn(n_ref, dim, generator=g, dtype=torch.float64) for _ in range(2))
    gen = torch.randn(n_gen, dim, generator=g, dtype=torch.float64) + 0.1
    mu, sigma = gaussian_stats(real)
    root = psd_sqrt(sigma)
    near = nearest_other(train)
    return [
        ("real side, once: μ, Σ, Σ^½", seconds(lambda: psd_sqrt(gaussian_stats(real)[1]))),
        ("real side, once: train nearest-other distances", seconds(lambda: nearest_other(train))),
        ("fid (cached real μ, Σ^½)",
         seconds(lambda: frechet_distance(mu, sigma, *gaussian_stats(gen), sigma1_sqrt=root))),
        ("fid (uncached)", seconds(lambda: fid(real, gen))),
        ("fd_inf (cached real μ, Σ)", seconds(lambda: fd_inf((mu, sigma), gen))),
        ("kid", seconds(lambda: kid(real, gen))),
        ("precision_recall", seconds(lambda: precision_recall(real, gen))),
        ("nn_share (cached train distances)", seconds(lambda: nn_share(train, gen, near))),
        ("authpct (cached train distances)", seconds(lambda: authpct(train, gen, near))),
        ("c_t", seconds(lambda: c_t(train, real, gen))),
    ]  # fmt: skip


def network_rows(images: int) -> list[tuple[str, float]]:
    from trainables.features.vit import SPECS, build_network

    rows = []
    for kind, spec in SPECS.items():
        net = build_network(spec).to_empty(device="cpu")
        for p in net.parameters():
            torch.nn.init.normal_(p, std=0.02)
        net.eval()
        x = torch.randn(images, 3, spec.size, spec.size)
        fwd = net if spec.family == "dinov2" else net.visual
        with torch.no_grad():
            fwd(x[:1])  # warm-up
            rows.append((f"{kind} forward, per image", seconds(lambda fwd=fwd, x=x: fwd(x)) / images))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--generated", type=int, default=1000)
    p.add_argument("--reference", default="1000,10000")
    p.add_argument("--dim", type=int, default=768, help="feature dimension (DINOv2-B 768, ViT-L 1024, classifier 1024)")
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(f"{a.threads} threads; {a.generated} generated samples, {a.dim}-d features\n")
    print("| what | " + " | ".join(f"{n} real" for n in a.reference.split(",")) + " |")
    print("|:---|" + "---:|" * len(a.reference.split(",")))
    table = [metric_rows(a.generated, int(n), a.dim) for n in a.reference.split(",")]
    for i, (name, _) in enumerate(table[0]):
        print(f"| {name} | " + " | ".join(f"{t[i][1]:.2f} s" for t in table) + " |")
    print("\n| network | seconds per image |\n|:---|---:|")
    for name, s in network_rows(a.images):
        print(f"| {name} | {s:.3f} |")


if __name__ == "__main__":
    main()
