"""Shared fixtures: one Ray instance and one classifier cache per test session (ray.init costs ~4 s,
training the scoring classifier ~35 s)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
# No test may wait on the network (CI has none): MLflow's and Ray's usage reporting and the Hugging Face hub stay off,
# in this process and the CLI subprocesses that inherit its environment.
for _name, _value in (("MLFLOW_DISABLE_TELEMETRY", "true"), ("DO_NOT_TRACK", "1"), ("RAY_USAGE_STATS_ENABLED", "0"),
                      ("HF_HUB_OFFLINE", "1")):  # fmt: skip
    os.environ.setdefault(_name, _value)


@pytest.fixture(scope="session", autouse=True)
def classifier_cache(tmp_path_factory):
    """Point the classifier cache at a session folder unless the caller chose one (CI keeps a warm one)."""
    if "GAN_TUNER_CACHE" not in os.environ:
        os.environ["GAN_TUNER_CACHE"] = str(tmp_path_factory.mktemp("gan-tuner-cache"))
    yield os.environ["GAN_TUNER_CACHE"]


def _folder_state(folder: Path) -> set[str]:
    """Top-level entries of ``folder``, and everything under an ``mlruns`` there (MLflow's default artifact root)."""
    entries = {p.name for p in folder.iterdir()}
    if (folder / "mlruns").is_dir():
        entries |= {str(p.relative_to(folder)) for p in (folder / "mlruns").rglob("*")}
    return entries


@pytest.fixture(scope="session", autouse=True)
def working_folder_untouched():
    """Tests write only into temporary folders: a suite run from a user's project folder must leave it as it was
    (no ``mlruns``, ``mlflow.db`` or ``ray_results`` of its own, nothing added to the user's MLflow artifacts)."""
    folder = Path.cwd()
    before = _folder_state(folder)
    yield
    added = sorted(_folder_state(folder) - before)
    assert not added, f"the tests wrote into the working folder {folder}: {', '.join(added[:10])}"


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


def assert_refused_in_one_line(argv: list[str], needle: str, folder: Path, capsys, monkeypatch) -> None:
    """``python -m tuner.search ARGV`` run in ``folder`` exits 2 with one error line holding ``needle`` and writes
    nothing there."""
    from tuner.search import main

    monkeypatch.chdir(folder)
    assert main(argv) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], lines
    assert list(folder.iterdir()) == []
