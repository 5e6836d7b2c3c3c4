"""The Ray Tune function trainable shared by every method.

Every epoch: train, evaluate the selected metrics on freshly generated samples, write a checkpoint
(networks, prior, optimisers, objective state such as λ, epoch, RNG states, a sample grid) and
``tune.report`` the metrics with it. Given a checkpoint it resumes exactly where it stopped.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import torch
from ray import tune
from torchvision.utils import save_image

from trainables.classifier import load_classifier
from trainables.data import load_dataset
from trainables.evaluate import DEFAULT_METRICS, Evaluator
from trainables.train import GANRun, is_finite

STATE_FILE = "state.pt"
SAMPLES_FILE = "samples.png"


class CheckpointError(RuntimeError):
    pass


def load_state(checkpoint_dir: str | os.PathLike) -> dict:
    path = Path(checkpoint_dir) / STATE_FILE
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, corrupt, or not a checkpoint at all
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(e).__name__}: {e}); delete it or resume from an earlier one"
        ) from e


def _trial_threads() -> int:
    """Match torch's intra-op threads to the CPUs Ray gave this trial (Ray sets no torch threads)."""
    try:
        import ray

        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    except Exception:
        cpus = 1
    return max(1, int(math.ceil(cpus)))


def save_sample_grid(samples: torch.Tensor, path: Path, nrow: int = 8) -> None:
    if samples.ndim == 4:
        save_image(samples[: nrow * nrow], path, nrow=nrow, normalize=True, value_range=(-1, 1))


def train_gan(config: dict) -> None:
    torch.set_num_threads(_trial_threads())
    device = "cuda" if torch.cuda.is_available() and config.get("use_cuda", True) else "cpu"
    data = load_dataset(config["dataset"], config.get("data_root"))
    run = GANRun(config, data, device)
    classifier, _ = load_classifier(config["dataset"], config.get("data_root"))
    evaluator = Evaluator(data, classifier, config.get("metrics", DEFAULT_METRICS))
    n_eval = int(config.get("eval_samples", 1000))

    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            run.load_state_dict(load_state(d))

    while run.epoch < int(config["epochs"]):
        stats = run.train_epoch()
        result = {"epoch": run.epoch, **stats.as_dict(), "diverged": 0.0}
        samples = run.sample(n_eval)
        if is_finite(stats) and bool(torch.isfinite(samples).all()):
            result.update(evaluator(samples))
        else:
            # A diverged trial gets each metric's worst value so ASHA and TPE rank it last, and ends.
            result.update({"diverged": 1.0, "inception_score": 1.0, "inception_score_std": 0.0, "ddm": math.inf})
        with tempfile.TemporaryDirectory() as d:
            torch.save(run.state_dict(), Path(d) / STATE_FILE)
            save_sample_grid(samples, Path(d) / SAMPLES_FILE)
            tune.report(result, checkpoint=tune.Checkpoint.from_directory(d))
        if result["diverged"]:
            return
