"""One tiny real search per method (fisher, deli_fisher) with 2 final seeds, logged to one MLflow experiment.

test_mlflow_structure, test_finals and test_reports all read it; it runs once per test session (the
first module that asks), since each module-scoped fixture calls ``shared_store``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ray import tune

from tests.conftest import search_args

EXPERIMENT = "paper-table"
METHODS = ("fisher", "deli_fisher")
EPOCHS = 2
TRIALS = 2
FINAL_SEEDS = 2
FINAL_SAMPLES = 200
EVAL_SAMPLES = 100
SAMPLE_EVERY = 2
# DDM, not IS: a width-4 generator after 2 epochs has IS 1.0 in every trial, and Optuna's importances need
# the objective to vary between trials.
METRIC, MODE = "ddm", "min"
_CACHE: dict[str, SharedStore] = {}


@dataclass
class SharedStore:
    root: Path
    uri: str
    experiment: str
    results: dict[str, tune.ResultGrid]  # method → the search's ResultGrid
    names: dict[str, str]  # method → search name

    @property
    def storage(self) -> Path:
        return self.root / "ray_results"


def shared_store(tmp_path_factory) -> SharedStore:
    if "store" not in _CACHE:
        from tuner.cli import validate
        from tuner.search import run_search

        root = tmp_path_factory.mktemp("shared-search")
        results, names = {}, {}
        for method in METHODS:
            names[method] = f"{method}-s"
            args = search_args(
                root, method, "--name", names[method], "--experiment", EXPERIMENT,
                "--metric", METRIC, "--trials", str(TRIALS), "--epochs", str(EPOCHS),
                "--width", "4", "--batch-size", "250",
                "--train-limit", "1000", "--eval-samples", str(EVAL_SAMPLES), "--sample-every", str(SAMPLE_EVERY),
                "--final-seeds", str(FINAL_SEEDS), "--final-samples", str(FINAL_SAMPLES),
            )  # fmt: skip
            validate(args)
            results[method] = run_search(args)
        _CACHE["store"] = SharedStore(root, f"sqlite:///{root / 'mlflow.db'}", EXPERIMENT, results, names)
    return _CACHE["store"]
