"""A real search (Ray Tune + Optuna + ASHA + MLflow) reports every selected metric, on its schedule, with the
feature path next to every result."""

from __future__ import annotations

import math

from mlflow.tracking import MlflowClient

from tests.conftest import search_args
from tuner.search import run_search

IMAGE_KEYS = {"inception_score", "inception_score_std", "ddm", "ddm_relative", "ddm_goldberger", "fid", "precision",
              "recall", "density", "coverage", "ms_ssim", "parzen_ll"}  # fmt: skip


def test_image_search_reports_every_selected_metric(tmp_path, ray_session):
    args = search_args(
        tmp_path, "fisher", "--trials", "1", "--epochs", "2", "--grace-period", "2", "--width", "8",
        "--eval-samples", "120", "--train-limit", "256", "--concurrency", "1", "--name", "metrics-search",
        "--metrics", "inception_score,ddm,ddm_relative,ddm_goldberger,fid,kid,precision_recall,ms_ssim,parzen_ll",
        "--metric-every", "kid=2", "--metric-samples", "fid=60",
    )  # fmt: skip
    results = run_search(args)
    assert len(results) == 1 and not results.errors
    df = results[0].metrics_dataframe.set_index("epoch")
    assert set(df["feature_path"]) == {"classifier:mnist5k"}
    for key in IMAGE_KEYS:
        assert df[key].notna().all() and all(math.isfinite(v) for v in df[key]), key
    assert math.isnan(df.loc[1, "kid"]) and math.isfinite(df.loc[2, "kid"])  # every 2nd epoch (and the last)
    assert 0 <= df.loc[2, "precision"] <= 1 and 0 < df.loc[2, "ms_ssim"] <= 1 and df.loc[2, "inception_score"] >= 1

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.get_experiment_by_name("metrics-search")
    (run,) = [r for r in client.search_runs([exp.experiment_id]) if "ray_trial_id" in r.data.tags]
    assert run.data.params["feature_path"] == "classifier:mnist5k"
    for key in IMAGE_KEYS | {"kid"}:
        steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
        assert steps == ([2] if key == "kid" else [1, 2]), (key, steps)


def test_point_search_defaults_to_ring_metrics_without_a_classifier(tmp_path, ray_session):
    args = search_args(
        tmp_path, "fisher", "--dataset", "ring8", "--trials", "1", "--epochs", "1", "--width", "8",
        "--eval-samples", "200", "--train-limit", "512", "--concurrency", "1",
    )  # fmt: skip
    results = run_search(args)
    assert args.metric == "modes_covered" and args.features == "raw"
    assert len(results) == 1 and not results.errors
    last = results[0].metrics
    assert last["feature_path"] == "raw" and 0 <= last["modes_covered"] <= 8
    assert 0 <= last["high_quality_fraction"] <= 1 and math.isfinite(last["ddm"])
