"""Does ModNet augment a small labelled set? Paper 004 §2.5.4's semi-supervised experiment (Fig. 2.7).

``python -m reports.augment --out DIR`` trains a ModNet on the embedded ``mnist5k`` (or loads one: ``--generator
FILE`` / ``--run RUN_ID`` for a search's ``model/generator.pt``), then for n = 1, 10, 100 real training images per
class trains two classifiers with the same architecture and budget: one on the n·K real images alone, one on those
plus ModNet's modification of each of them to every other label ((K − 1)·n·K generated images, labelled with their
target labels, as the thesis does). Both are scored on the held-out split (float64 accuracy), over ``--seeds``
draws of the real subset. Writes ``augment.md`` (a Markdown table), ``augment.png`` (accuracy against n) and
``augment.json`` into ``--out``; nothing is written unless everything was computed.

``--scale smoke`` shrinks everything (a tiny ModNet, n = 1 and 2, a few classifier steps) to seconds, for CI.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from trainables.classifier import SmallCNN
from trainables.data import DataError, Dataset, as_float, dataset_info, load_dataset
from trainables.modnet import ModNetRun, apply_delta
from trainables.nets.unet import UNetModifier
from trainables.sample import WEIGHTS_ARTIFACT


@dataclass(frozen=True)
class Scale:
    modnet: dict  # the ModNet trained when none is given
    modnet_epochs: int
    per_class: tuple[int, ...]  # n real images per class
    steps: int  # classifier optimiser steps (the same for both arms)
    batch: int


SCALES = {
    # lr 1e-3: target accuracy rose within 4 such epochs on mnist5k (README, ModNet); 2e-4 barely moved in 3.
    "default": Scale({"width": 16, "train_limit": 1024, "lr": 1e-3, "l1_weight": 0.1}, 4, (1, 10, 100), 300, 64),
    "smoke": Scale({"width": 4, "train_limit": 128, "batch_size": 32}, 1, (1, 2), 20, 32),
}  # fmt: skip


class Modifier:
    """A trained ModNet generator: ``(x, targets) → outputs`` in eval mode."""

    def __init__(self, generator: UNetModifier, output_mode: str):
        self.generator, self.output_mode = generator.eval(), output_mode

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, targets: torch.Tensor, batch: int = 500) -> torch.Tensor:
        return torch.cat([apply_delta(x[i : i + batch], self.generator(x[i : i + batch], targets[i : i + batch]),
                                      self.output_mode) for i in range(0, len(x), batch)])  # fmt: skip


def train_modnet(data: Dataset, scale: Scale, seed: int, progress) -> Modifier:
    run = ModNetRun({"method": "modnet", "dataset": data.info.name, **scale.modnet, "seed": seed}, data)
    for epoch in range(scale.modnet_epochs):
        start = time.time()
        run.train_epoch()
        progress(f"ModNet epoch {epoch + 1}/{scale.modnet_epochs} ({time.time() - start:.0f} s)")
    return Modifier(run.generator, run.mode)


def load_modifier(path: str | Path, data: Dataset) -> Modifier:
    """A ModNet from a search's ``generator.pt`` (its weights and trial config); refuses other methods' files."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    config = saved.get("config") or {}
    if config.get("method") != "modnet":
        raise ValueError(f"{path} is not a ModNet generator (method {config.get('method')!r})")
    if config.get("dataset") != data.info.name:
        raise ValueError(f"{path} was trained on {config.get('dataset')}, not {data.info.name}; pass --dataset")
    generator = UNetModifier(data.info.shape[0], data.info.num_classes, int(config.get("width", 32)))
    generator.load_state_dict(saved["generator"])
    return Modifier(generator, str(config.get("output_mode", "clip")))


def real_subset(data: Dataset, per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` training images of each class, drawn with ``seed``."""
    g = torch.Generator().manual_seed(seed)
    picks = []
    for c in range(data.info.num_classes):
        idx = torch.nonzero(data.train_y == c).squeeze(1)
        if len(idx) < per_class:
            raise ValueError(f"class {c} of {data.info.name} has {len(idx)} training images, fewer than {per_class}")
        picks.append(idx[torch.randperm(len(idx), generator=g)[:per_class]])
    rows = torch.cat(picks)
    return as_float(data.train_x[rows]), data.train_y[rows]


def modified_to_other_labels(modifier: Modifier, x: torch.Tensor, y: torch.Tensor, k: int):
    """Every image modified to each of the K − 1 labels it does not have, labelled with that target."""
    shifts = torch.arange(1, k).repeat_interleave(len(x))
    xs, ys = x.repeat(k - 1, 1, 1, 1), y.repeat(k - 1)
    targets = (ys + shifts) % k
    return modifier(xs, targets), targets


def classifier_accuracy(x: torch.Tensor, y: torch.Tensor, data: Dataset, scale: Scale, seed: int) -> float:
    """Held-out accuracy (float64) of paper 004's small CNN trained for ``scale.steps`` Adam steps on (x, y)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SmallCNN(data.info.shape[0], data.info.num_classes)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        g = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(scale.steps):  # minibatches drawn with replacement: the same budget for any set size
            idx = torch.randint(0, len(x), (min(scale.batch, len(x)),), generator=g)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        predictions = model.logits(data.test_x).argmax(1)
    return float((predictions == data.test_y).double().mean())


def run_experiment(data: Dataset, modifier: Modifier, scale: Scale, seeds: int, progress) -> list[dict]:
    rows = []
    for n in scale.per_class:
        real_acc, aug_acc = [], []
        for seed in range(seeds):
            x, y = real_subset(data, n, seed)
            gx, gy = modified_to_other_labels(modifier, x, y, data.info.num_classes)
            real_acc.append(classifier_accuracy(x, y, data, scale, seed))
            aug_acc.append(classifier_accuracy(torch.cat([x, gx]), torch.cat([y, gy]), data, scale, seed))
            progress(f"n = {n}, seed {seed}: real {real_acc[-1]:.4f}, real + ModNet {aug_acc[-1]:.4f}")
        rows.append({"per_class": n, "real": len(x), "generated": len(gx), "seeds": seeds,
                     "real_only": float(np.mean(real_acc)), "augmented": float(np.mean(aug_acc)),
                     "real_only_std": float(np.std(real_acc)), "augmented_std": float(np.std(aug_acc))})  # fmt: skip
    return rows


def markdown(rows: list[dict], source: str) -> str:
    lines = [
        f"Held-out accuracy of a small CNN on {source}: n real images per class alone vs with ModNet's modifications",
        "of them to every other label (paper 004 §2.5.4, Fig. 2.7). Mean ± s.d. over seeds of the real subset.",
        "",
        "| n per class | real images | generated | real only | real + ModNet | gain |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['per_class']} | {r['real']} | {r['generated']} | {r['real_only']:.4f} ± "
                     f"{r['real_only_std']:.4f} | {r['augmented']:.4f} ± {r['augmented_std']:.4f} | "
                     f"{r['augmented'] - r['real_only']:+.4f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["per_class"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.errorbar(n, [r["real_only"] for r in rows], [r["real_only_std"] for r in rows], marker="o", label="real only")
    ax.errorbar(n, [r["augmented"] for r in rows], [r["augmented_std"] for r in rows], marker="s",
                label="real + ModNet")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("real images per class")
    ax.set_ylabel("held-out accuracy")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports.augment", description=__doc__.split("\n")[0])
    p.add_argument("--out", default="augment", help="folder for augment.md, augment.png, augment.json")
    p.add_argument("--dataset", default="mnist5k", help="a labelled image dataset (default mnist5k)")
    p.add_argument("--data-root", help="folder of a real dataset")
    p.add_argument("--scale", default="default", help="default (a few CPU minutes) or smoke (seconds)")
    p.add_argument("--seeds", type=int, default=1, help="draws of the real subset per n (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the ModNet trained when none is given")
    p.add_argument("--generator", help="a ModNet generator.pt to use instead of training one")
    p.add_argument("--run", help="MLflow run id of a modnet trial whose model/generator.pt to use")
    p.add_argument("--mlflow-uri", default="sqlite:///mlflow.db", help="MLflow tracking URI (with --run)")
    args = p.parse_args(argv)
    out = Path(args.out)
    problem = (
        f"--scale must be one of {', '.join(SCALES)} (got {args.scale!r})" if args.scale not in SCALES
        else "--seeds must be ≥ 1" if args.seeds < 1
        else "give at most one of --generator and --run" if args.generator and args.run
        else f"--out {out} is a file; give a folder" if out.exists() and not out.is_dir()
        else None
    )  # fmt: skip
    try:
        info = dataset_info(args.dataset)
        if problem is None and (info.kind != "image" or info.num_classes < 2):
            problem = f"dataset {args.dataset} has no class labels; ModNet needs a labelled image set (e.g. mnist5k)"
    except DataError as e:
        problem = str(e)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    progress = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    scale = SCALES[args.scale]
    try:
        data = load_dataset(args.dataset, args.data_root)
        with tempfile.TemporaryDirectory() as tmp:
            if args.run:
                from mlflow.tracking import MlflowClient

                path = MlflowClient(args.mlflow_uri).download_artifacts(args.run, WEIGHTS_ARTIFACT, tmp)
                modifier, source = load_modifier(path, data), f"ModNet of run {args.run}"
            elif args.generator:
                modifier, source = load_modifier(args.generator, data), f"ModNet {args.generator}"
            else:
                modifier, source = train_modnet(data, scale, args.seed, progress), "a ModNet trained here"
    except Exception as e:  # a missing run or file, a foreign file, an unreadable dataset: one line
        print(f"error: cannot get a ModNet: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    rows = run_experiment(data, modifier, scale, args.seeds, progress)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(rows, f"{args.dataset} ({source})")
    plot(rows, out / "augment.png")
    (out / "augment.json").write_text(json.dumps({"dataset": args.dataset, "source": source, "rows": rows}, indent=1))
    (out / "augment.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
