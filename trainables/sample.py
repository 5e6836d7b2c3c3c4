"""Sample from a trained generator: ``python -m trainables.sample generator.pt --n 64 --out grid.png``.

A trial's ``model/generator.pt`` (in its MLflow run) holds the generator and latent prior weights that made its
scored samples (the EMA copies when the run averaged them) and the trial's config, so nothing else is needed to
rebuild the networks. ``--run RUN_ID --mlflow-uri URI`` fetches the file from MLflow first.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn

WEIGHTS_ARTIFACT = "model/generator.pt"


def generator_file_contents(state: dict, config: dict | None) -> dict:
    """What ``generator.pt`` holds, from a full training checkpoint and the trial config."""
    weights = state.get("ema") or state  # an EMA run's samples (and scores) come from the averaged weights
    plain = {k: v for k, v in (config or {}).items() if isinstance(v, str | int | float | bool) or v is None}
    # A modify/translate run has no latent prior: its generator maps images, and the file keeps its weights alone.
    prior = weights.get("prior", {})
    return {"epoch": state["epoch"], "generator": weights["generator"], "prior": prior, "config": plain}


class TrainedGenerator(nn.Module):
    """A trained generator with its latent prior: ``sample(n)`` gives n samples in [-1, 1] (eval mode). A
    class-conditional one (``num_classes`` > 0) makes sample i of label i mod K, or of ``label`` when given."""

    def __init__(self, generator: nn.Module, prior: nn.Module, config: dict, epoch: int, num_classes: int = 0):
        super().__init__()
        self.generator, self.prior, self.config, self.epoch = generator, prior, config, epoch
        self.num_classes = num_classes

    @torch.no_grad()
    def sample(self, n: int, batch: int = 500, label: int | None = None) -> torch.Tensor:
        from trainables.conditioning import balanced_labels

        if label is not None and not 0 <= label < self.num_classes:
            what = f"has labels 0..{self.num_classes - 1}" if self.num_classes else "is unconditional"
            raise ValueError(f"--label {label}: this generator {what}")
        self.generator.eval()
        labels = balanced_labels(n, self.num_classes) if self.num_classes else None
        if labels is not None and label is not None:
            labels = torch.full((n,), int(label))
        out = []
        for i in range(0, n, batch):
            z = self.prior.sample(min(batch, n - i))
            out.append(self.generator(z) if labels is None else self.generator(z, labels[i : i + len(z)].to(z.device)))
        return torch.cat(out)


def load_generator(path: str | Path, device: str = "cpu") -> TrainedGenerator:
    """Rebuild the generator and prior of a ``generator.pt`` written by a search (weights_only: no code runs)."""
    from trainables.conditioning import trial_condition
    from trainables.data import dataset_info
    from trainables.latents import build_prior
    from trainables.nets import base_builder
    from trainables.registry import get_method
    from trainables.train import net_options
    from trainables.trial_config import resolve

    saved = torch.load(path, map_location=device, weights_only=True)
    if "config" not in saved or "method" not in saved["config"]:
        raise ValueError(f"{path} has no trial config: it was written before generators were saved with it")
    cfg = resolve(saved["config"]).values
    method = get_method(cfg["method"])
    if method.task != "generate":
        raise ValueError(f"{cfg['method']} is a {method.task} model: it changes given images, it does not sample "
                         "from noise")  # fmt: skip
    num_classes = dataset_info(cfg["dataset"]).num_classes if trial_condition(cfg) else 0
    opts = net_options(cfg, num_classes)
    _, builder = base_builder(dataset_info(cfg["dataset"]), opts)
    generator = builder(dataset_info(cfg["dataset"]), opts)[0]  # the generator needs no data, only its shape
    prior = build_prior(method.latent, opts.z_dim, cfg)
    generator.load_state_dict(saved["generator"])
    prior.load_state_dict(saved["prior"])
    return TrainedGenerator(generator.to(device), prior.to(device), cfg, int(saved["epoch"]), num_classes)


def download_generator(run_id: str, mlflow_uri: str, folder: str) -> Path:
    import os

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one file: no tqdm bars on stderr
    from mlflow.tracking import MlflowClient

    return Path(MlflowClient(mlflow_uri).download_artifacts(run_id, WEIGHTS_ARTIFACT, folder))


MAX_UPSCALE = 16


def upscaled(images: torch.Tensor, factor: int) -> torch.Tensor:
    """Each pixel as a factor × factor block (nearest neighbour: no smoothing invents detail the model lacks)."""
    return images if factor == 1 else images.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainables.sample", description=__doc__.split("\n")[0])
    p.add_argument("weights", nargs="?", help="a generator.pt file (or give --run)")
    p.add_argument("--run", help="MLflow run id of a trial or final run whose model/generator.pt to use")
    p.add_argument("--mlflow-uri", default="sqlite:///mlflow.db", help="MLflow tracking URI (with --run)")
    p.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", type=int, default=None, help="class-conditional generators: every sample of this "
                   "label (default: one row of 8 per label on a .png grid, labels i mod K in a .npz)")  # fmt: skip
    p.add_argument("--out", default="samples.png", help="a .png grid (images) or a .npz array (any data)")
    p.add_argument("--upscale", type=int, default=1, help=f"enlarge each image k× in the PNG (1–{MAX_UPSCALE})")
    args = p.parse_args(argv)
    if bool(args.weights) == bool(args.run) or args.n < 1 or not args.out.endswith((".png", ".npz")):
        print("error: give a generator.pt file or --run RUN_ID (not both), --n ≥ 1 and --out *.png or *.npz",
              file=sys.stderr)  # fmt: skip
        return 2
    if not 1 <= args.upscale <= MAX_UPSCALE:
        print(f"error: --upscale must be 1 … {MAX_UPSCALE} (pixels per image pixel), got {args.upscale}",
              file=sys.stderr)  # fmt: skip
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = download_generator(args.run, args.mlflow_uri, tmp) if args.run else Path(args.weights)
            model = load_generator(path)
        except Exception as e:  # a missing file or run, a foreign file: one line
            print(f"error: cannot load a generator from {args.run or args.weights}: {e}", file=sys.stderr)
            return 2
    torch.manual_seed(args.seed)
    try:
        samples = model.sample(args.n, label=args.label)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    labels = None
    if model.num_classes:
        from trainables.conditioning import balanced_labels

        labels = (
            torch.full((args.n,), args.label) if args.label is not None else balanced_labels(args.n, model.num_classes)
        )
    if args.out.endswith(".npz"):
        import numpy as np

        extra = {"labels": labels.numpy()} if labels is not None else {}
        np.savez_compressed(args.out, samples=samples.numpy(), **extra)
    elif samples.ndim == 4:
        from torchvision.utils import save_image

        from trainables.conditioning import grid_by_class

        by_class = model.num_classes and args.label is None
        grid = grid_by_class(samples, model.num_classes) if by_class else samples
        save_image(upscaled(grid, args.upscale), args.out, nrow=8, normalize=True, value_range=(-1, 1))
    else:
        print("error: these samples are not images; use --out FILE.npz", file=sys.stderr)
        return 2
    print(f"{args.n} samples of {model.config['method']} (epoch {model.epoch}) → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
