"""GPU throughput: one trial alone vs four trials sharing one GPU (``--gpus-per-trial 0.25``), and the
epoch time of a CIFAR-sized (3×32×32, 50,000 images) Deli-Fisher GAN.

    python benchmarks/gpu.py [--width 64] [--batch-size 64] [--images 10240] [--epochs 3] [--amp]

Every measurement is a Ray Tune trial running the real ``GANRun`` on CUDA, on synthetic uint8 images of
CIFAR's shape (throughput does not depend on pixel values; no dataset needs to be on the machine).
images/s counts the real images the critic consumes per second over the timed epochs (the first, warm-up
epoch left out). Goal: 4 trials sharing a GPU reach ≥ 2.5× the images/s of one trial. Without a CUDA
device it prints that nothing was measured and exits.
"""

from __future__ import annotations

import argparse
import time

import torch
from ray import tune

from trainables.data import Dataset, DatasetInfo
from tuner.ray_setup import init_ray

CIFAR_LIKE = DatasetInfo("cifar-like", "synthetic images of CIFAR-10's shape", "image", (3, 32, 32), 10, True)


def synthetic(n: int, seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, *CIFAR_LIKE.shape), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    return Dataset(CIFAR_LIKE, x, y, x[:1000], y[:1000])


def gpu_trial(config: dict) -> None:
    from trainables.train import GANRun

    torch.backends.cudnn.benchmark = True
    run = GANRun(config, synthetic(int(config["images"]), int(config["seed"])), "cuda")
    run.train_epoch()  # warm-up: cuDNN autotuning, allocator
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(int(config["timed_epochs"])):
        run.train_epoch()
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    n = (int(config["images"]) // int(config["batch_size"])) * int(config["batch_size"])
    tune.report(
        {"images_per_s": n * int(config["timed_epochs"]) / seconds, "epoch_s": seconds / config["timed_epochs"]}
    )


def measure(config: dict, trials: int, gpu_share: float) -> list[dict]:
    tuner = tune.Tuner(
        tune.with_resources(gpu_trial, {"cpu": 1, "gpu": gpu_share}),
        param_space={**config, "seed": tune.grid_search(list(range(trials)))},
        tune_config=tune.TuneConfig(max_concurrent_trials=trials),
        run_config=tune.RunConfig(verbose=0),
    )
    results = tuner.fit()
    assert not results.errors, results.errors
    return [r.metrics for r in results]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", default="deli_fisher")
    p.add_argument("--width", type=int, default=64, help="DCGAN width (64: the DCGAN/Fisher GAN CIFAR setting)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--images", type=int, default=10240, help="images per throughput epoch")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs per trial")
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast, as --amp in a search")
    a = p.parse_args()
    if not torch.cuda.is_available():
        print("not measured: no CUDA GPU on this machine (run it on a GPU node)")
        return 0
    import search_spaces

    config = {
        **search_spaces.defaults(a.method), "method": a.method, "width": a.width, "batch_size": a.batch_size,
        "images": a.images, "timed_epochs": a.epochs, "amp": a.amp, "epochs": a.epochs + 1,
    }  # fmt: skip
    init_ray(num_gpus=1)
    (one,) = measure(config, 1, 1.0)
    four = measure(config, 4, 0.25)
    total = sum(m["images_per_s"] for m in four)
    (cifar,) = measure({**config, "images": 50000, "timed_epochs": 1}, 1, 1.0)
    print(f"\n{a.method}, width {a.width}, batch {a.batch_size}, amp={a.amp}, {torch.cuda.get_device_name()}")
    print(f"1 trial alone            : {one['images_per_s']:9.0f} images/s")
    each = ", ".join(f"{m['images_per_s']:.0f}" for m in four)
    print(f"4 trials sharing the GPU : {total:9.0f} images/s in all ({each})")
    print(f"ratio 4 sharing / 1      : {total / one['images_per_s']:.2f}x   (goal >= 2.5x)")
    print(f"CIFAR-sized epoch (50,000 images of 3x32x32, training only): {cifar['epoch_s']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
