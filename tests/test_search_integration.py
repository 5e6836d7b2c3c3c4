"""A real search (Ray Tune + OptunaSearch/TPE + ASHA) logged to a real MLflow sqlite store."""

from __future__ import annotations

import subprocess
import sys

from mlflow.tracking import MlflowClient

from tests.conftest import search_args
from tuner.search import run_search


def test_search_logs_every_trial_and_epoch_to_mlflow(tmp_path, ray_session):
    args = search_args(
        tmp_path, "deli_fisher", "--trials", "3", "--epochs", "2", "--grace-period", "2",
        "--width", "4", "--eval-samples", "200", "--name", "it-search",
    )  # fmt: skip
    results = run_search(args)
    assert len(results) == 3 and not results.errors

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.get_experiment_by_name("it-search")
    runs = [r for r in client.search_runs([exp.experiment_id]) if "ray_trial_id" in r.data.tags]
    assert len(runs) == 3
    for run in runs:
        for metric in ("inception_score", "ddm", "loss_d", "loss_g", "lambda", "sigma_mean"):
            steps = sorted(m.step for m in client.get_metric_history(run.info.run_id, metric))
            assert steps == [1, 2], (metric, steps)
        assert run.data.params["method"] == "deli_fisher"
        assert {"rho", "beta", "C", "n_components", "lr", "lr_latent", "n_critic"} <= set(run.data.params)

    # The first point evaluated is the paper's default configuration.
    configs = [r.config for r in results]
    assert any(c["rho"] == 1e-6 and c["lr"] == 2e-4 and c["n_critic"] == 2 for c in configs)


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path):
    cases = [
        (["nonsense"], "unknown method"),
        (["deli_fisher", "--trials", "0"], "--trials"),
    ]
    for argv, needle in cases:
        proc = subprocess.run(
            [sys.executable, "-m", "tuner.search", *argv], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 2, (argv, proc.stderr)
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and needle in lines[0], lines
        assert list(tmp_path.iterdir()) == [], f"{argv} wrote {list(tmp_path.iterdir())}"
