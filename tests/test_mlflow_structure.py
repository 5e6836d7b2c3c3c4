"""What a user browsing MLflow sees after a search: parent runs, child trials and finals, artifacts, the study."""

from __future__ import annotations

import re

import optuna
import pytest
import torch
from mlflow.tracking import MlflowClient

import search_spaces
from tests._shared_search import (
    EPOCHS,
    EXPERIMENT,
    FINAL_SEEDS,
    METHODS,
    METRIC,
    SAMPLE_EVERY,
    TRIALS,
    shared_store,
)
from tuner.finals import GALLERY_FILE
from tuner.mlflow_logging import describe_space, flatten
from tuner.optuna_storage import default_storage_url


@pytest.fixture(scope="module")
def store(ray_session, tmp_path_factory):
    return shared_store(tmp_path_factory)


@pytest.fixture(scope="module")
def runs(store):
    client = MlflowClient(store.uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    return client, client.search_runs([exp.experiment_id], max_results=1000)


def _children(runs, parent_id, role):
    return [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent_id and r.data.tags.get("role") == role]


def test_one_parent_run_per_search_with_its_settings(store, runs):
    _, all_runs = runs
    parents = [r for r in all_runs if r.data.tags.get("role") == "search"]
    assert sorted(r.data.tags["method"] for r in parents) == sorted(METHODS)
    for p in parents:
        params, method = p.data.params, p.data.tags["method"]
        assert p.info.status == "FINISHED" and p.info.run_name.startswith(f"{store.names[method]} · best {METRIC} ")
        assert params["method"] == method and params["dataset"] == "mnist5k" and params["seed"] == "0"
        assert params["scheduler"] == "ASHA" and params["scheduler.max_t"] == str(EPOCHS)
        assert params["grace_period"] == "1" and params["reduction_factor"] == "3"
        assert params["sampler"] == "TPE" and params["sampler.seed"] == "0"
        assert params["final_seeds"] == str(FINAL_SEEDS) and params["sample_every"] == str(SAMPLE_EVERY)
        space = {k.removeprefix("space."): v for k, v in params.items() if k.startswith("space.")}
        assert space == describe_space(search_spaces.space(method))
        assert params["code_version"].startswith(("git:", "gan-tuner "))
        assert params["optuna_study"] == store.names[method]
        assert params["optuna_storage"] == default_storage_url(store.uri)
        assert params["command_line"]  # the exact invocation (here pytest's)


def test_every_trial_is_a_child_with_config_metrics_and_end_state(store, runs):
    client, all_runs = runs
    for method in METHODS:
        parent = next(r for r in all_runs if r.data.tags.get("role") == "search" and r.data.tags["method"] == method)
        trials = _children(all_runs, parent.info.run_id, "trial")
        results = {r.metrics["trial_id"]: r for r in store.results[method]}
        assert len(trials) == TRIALS == len(results)
        for run in trials:
            result = results[run.data.tags["ray_trial_id"]]
            # params = the trial's config, flattened and stringified
            assert run.data.params == {k: str(v) for k, v in flatten(result.config).items()}
            assert run.data.params["feature_path"]  # the metric feature path, logged with every trial
            # every metric per epoch, step = epoch, equal to what Ray recorded
            df = result.metrics_dataframe
            for metric in ("inception_score", "ddm", "loss_d", "time_total_s"):
                history = {m.step: m.value for m in client.get_metric_history(run.info.run_id, metric)}
                assert history == pytest.approx(dict(zip(df["epoch"].astype(int), df[metric], strict=True)))
            last = int(df["epoch"].max())
            expected = "completed" if last == EPOCHS else f"stopped by ASHA at epoch {last}"
            assert run.data.tags["end_state"] == expected and run.info.status == "FINISHED"


def test_trial_artifacts_are_sample_grids_every_k_epochs_and_the_final_generator(store, runs):
    client, all_runs = runs
    for run in (r for r in all_runs if r.data.tags.get("role") in ("trial", "final")):
        last = max(int(m.step) for m in client.get_metric_history(run.info.run_id, "time_total_s"))
        images = [a.path for a in client.list_artifacts(run.info.run_id, "images")]
        steps = sorted({int(m.group(1)) for p in images if (m := re.search(r"samples\+step\+(\d+)\+.*\.png$", p))})
        # the untrained networks' grid at step 0, one at step = epoch every SAMPLE_EVERY-th epoch, and the last epoch
        assert steps == sorted({0, last} | {e for e in range(1, last + 1) if e % SAMPLE_EVERY == 0})
        top = sorted(a.path for a in client.list_artifacts(run.info.run_id))
        # the last grid at the root, not the trial folder; a final run adds its nearest-training-image gallery
        expected = ["final_samples.png", "images", "model"]
        if run.data.tags["role"] == "final":
            expected = sorted([*expected, GALLERY_FILE])
        assert top == expected


def test_generator_weights_equal_the_last_checkpoint(store, runs, tmp_path):
    from trainables.sample import main

    client, all_runs = runs
    by_trial = {r.data.tags["ray_trial_id"]: r for r in all_runs if "ray_trial_id" in r.data.tags}
    for result in (r for grid in store.results.values() for r in grid):
        run = by_trial[result.metrics["trial_id"]]
        path = client.download_artifacts(run.info.run_id, "model/generator.pt", str(tmp_path))
        weights = torch.load(path, map_location="cpu", weights_only=True)
        with result.checkpoint.as_directory() as d:
            state = torch.load(f"{d}/state.pt", map_location="cpu", weights_only=True)
        assert set(weights) == {"epoch", "generator", "prior", "config"} and weights["epoch"] == state["epoch"]
        for part in ("generator", "prior"):
            assert weights[part].keys() == state[part].keys()
            assert all(torch.equal(weights[part][k], state[part][k]) for k in state[part])
        # The documented one-liner samples from the run's file alone.
        assert main(["--run", run.info.run_id, "--mlflow-uri", store.uri, "--out", str(tmp_path / "s.png")]) == 0


def test_optuna_study_is_persisted_under_the_search_name(store):
    for method in METHODS:
        study = optuna.load_study(study_name=store.names[method], storage=default_storage_url(store.uri))
        assert len(study.trials) == TRIALS
        assert study.direction == optuna.study.StudyDirection.MINIMIZE  # ddm
        # the enqueued first point is the method's published default
        assert study.trials[0].params == pytest.approx(search_spaces.defaults(method))
        # Ray tells Optuna each trial's last result
        last = sorted(r.metrics_dataframe[METRIC].iloc[-1] for r in store.results[method])
        assert sorted(t.value for t in study.trials) == pytest.approx(last)


def test_default_optuna_storage_and_space_descriptions(tmp_path, monkeypatch):
    assert default_storage_url(f"sqlite:///{tmp_path}/db/mlflow.db") == f"sqlite:///{tmp_path}/db/optuna.db"
    # with a tracking server: beside the search's checkpoints, never in the working folder
    assert default_storage_url("http://127.0.0.1:5000", str(tmp_path / "rr")) == f"sqlite:///{tmp_path}/rr/optuna.db"
    monkeypatch.chdir(tmp_path)
    assert default_storage_url("http://127.0.0.1:5000", "s3://bucket/rr") == f"sqlite:///{tmp_path}/optuna.db"
    from ray import tune

    space = {"lr": tune.loguniform(1e-5, 1e-2), "n": tune.randint(1, 6), "act": tune.choice(["relu", "elu"])}
    described = {"lr": "loguniform[1e-05, 0.01]", "n": "randint[1, 6)", "act": "choice['relu', 'elu']"}
    assert describe_space(space) == described  # randint's upper bound is exclusive
