"""Shared fixtures: one Ray instance and one classifier cache per test session (ray.init costs ~4 s,
training the scoring classifier ~35 s)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")


@pytest.fixture(scope="session", autouse=True)
def classifier_cache(tmp_path_factory):
    """Point the classifier cache at a session folder unless the caller chose one (CI keeps a warm one)."""
    if "GAN_TUNER_CACHE" not in os.environ:
        os.environ["GAN_TUNER_CACHE"] = str(tmp_path_factory.mktemp("gan-tuner-cache"))
    yield os.environ["GAN_TUNER_CACHE"]


@pytest.fixture(scope="session")
def ray_session():
    import ray

    from tuner.ray_setup import init_ray, shutdown_ray

    init_ray(num_cpus=2)
    yield ray
    shutdown_ray()  # also removes the instance's private temp folder


def search_args(tmp_path, *argv: str):
    """Parsed CLI arguments for a tiny search writing only under ``tmp_path``."""
    from tuner.cli import build_parser

    return build_parser().parse_args(
        [
            *argv,
            "--storage", str(tmp_path / "ray_results"),
            "--mlflow-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
        ]
    )  # fmt: skip
