"""--final-seeds: the best configuration re-trained with fresh seeds and scored with the paper protocol."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient
from ray import tune

from tests._shared_search import EPOCHS, EXPERIMENT, FINAL_SAMPLES, FINAL_SEEDS, METHODS, METRIC, MODE, shared_store
from trainables.classifier import load_classifier
from trainables.data import load_dataset
from trainables.metrics import inception_score
from trainables.train import GANRun
from trainables.trainable import load_state, train_gan
from tuner.finals import FinalRun, final_seeds, summarise
from tuner.search import main

SEARCHED_OUT = {"seed"}  # the only config key a final changes


@pytest.fixture(scope="module")
def store(ray_session, tmp_path_factory):
    return shared_store(tmp_path_factory)


@pytest.fixture(scope="module")
def finals(store):
    client = MlflowClient(store.uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs([exp.experiment_id], "tags.role = 'final'", max_results=1000)
    return client, runs


def test_final_seeds_are_fresh_and_distinct():
    assert final_seeds(0, 3) == [1, 2, 3]
    assert final_seeds(7, 2) == [8, 9]
    assert 7 not in final_seeds(7, 5)


def test_summary_is_mean_and_sample_std_over_scored_seeds():
    runs = [
        FinalRun(1, "a", "completed", {"inception_score": 1.0}),
        FinalRun(2, "b", "completed", {"inception_score": 2.0}),
        FinalRun(3, "c", "diverged", {}),  # not scored: left out, not counted as a zero
        FinalRun(4, "d", "completed", {"inception_score": 4.0}),
    ]
    s = summarise(runs)["inception_score"]
    # mean 7/3; squared deviations 16/9 + 1/9 + 25/9 = 42/9, over n − 1 = 2 → 7/3
    assert s["mean"] == pytest.approx(7 / 3) and s["std"] == pytest.approx(math.sqrt(7 / 3))
    assert math.isnan(summarise(runs[:1])["inception_score"]["std"])


def test_finals_rerun_the_best_config_with_each_seed_as_tagged_children(store, finals):
    client, runs = finals
    for method in METHODS:
        parent = client.search_runs([runs[0].info.experiment_id], f"tags.role = 'search' and tags.method = '{method}'")[
            0
        ]
        mine = [r for r in runs if r.data.tags["mlflow.parentRunId"] == parent.info.run_id]
        assert sorted(int(r.data.tags["seed"]) for r in mine) == final_seeds(0, FINAL_SEEDS)
        best = store.results[method].get_best_result(METRIC, MODE, scope="all").config
        for r in mine:
            assert r.data.tags["final"] == "true" and r.data.tags["end_state"] == "completed"
            assert r.data.params["seed"] == r.data.tags["seed"] != str(best["seed"])
            same = {k: v for k, v in r.data.params.items() if k not in SEARCHED_OUT | {"final_samples"}}
            assert same == {k: str(v) for k, v in best.items() if k not in SEARCHED_OUT and not isinstance(v, dict)}
            steps = [m.step for m in client.get_metric_history(r.info.run_id, "time_total_s")]
            assert r.data.params["epochs"] == str(EPOCHS) and max(steps) == EPOCHS  # full budget
            assert r.data.params["final_samples"] == str(FINAL_SAMPLES)
            for m in ("inception_score", "inception_score_std", "ddm"):
                assert math.isfinite(r.data.metrics[f"final_{m}"])
        # the parent carries the mean and std over seeds, for the MLflow UI's comparison views
        values = [r.data.metrics["final_ddm"] for r in mine]
        assert parent.data.metrics["finals.mean.ddm"] == pytest.approx(np.mean(values))
        assert parent.data.metrics["finals.std.ddm"] == pytest.approx(np.std(values, ddof=1))


def test_final_scores_are_the_paper_protocol_on_the_final_checkpoint(store, finals):
    """Recompute one method's final Inception Score independently: regenerate FINAL_SAMPLES samples from the
    last checkpoint (its RNG state makes them identical), classify them, IS over 10 splits."""
    client, runs = finals
    method = "deli_fisher"
    grid = tune.Tuner.restore(str(store.storage / f"{store.names[method]}-finals"), train_gan).get_results()
    by_trial = {r.data.tags["ray_trial_id"]: r for r in runs}
    classifier, _ = load_classifier("mnist5k")
    for result in grid:
        run = by_trial[result.metrics["trial_id"]]
        with result.checkpoint.as_directory() as d:
            state = load_state(d)
        assert state["epoch"] == EPOCHS
        gan = GANRun(result.config, load_dataset("mnist5k"), "cpu")
        gan.load_state_dict(state)
        samples = gan.sample(FINAL_SAMPLES)
        assert samples.shape[0] == FINAL_SAMPLES
        mean, std = inception_score(classifier.logits(samples).to(torch.float64), splits=10)
        assert run.data.metrics["final_inception_score"] == pytest.approx(mean, rel=1e-6)
        assert run.data.metrics["final_inception_score_std"] == pytest.approx(std, rel=1e-6, abs=1e-8)


def test_each_final_logs_its_nearest_neighbour_gallery(finals, tmp_path):
    """generated | its 3 nearest training images, 8 rows, 28 px tiles with 2 px padding."""
    from PIL import Image

    from tuner.finals import GALLERY_FILE

    client, runs = finals
    for run in runs:
        assert GALLERY_FILE in {a.path for a in client.list_artifacts(run.info.run_id)}
    img = Image.open(client.download_artifacts(runs[0].info.run_id, GALLERY_FILE, str(tmp_path)))
    assert img.size == (4 * 30 + 2, 8 * 30 + 2)


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--final-seeds", "-1"], "--final-seeds"),
        (["--final-samples", "5"], "--final-samples"),
        (["--sample-every", "0"], "--sample-every"),
        (["--optuna-storage", "sqlite:////no/such/folder/optuna.db"], "--optuna-storage"),
        (["--optuna-storage", "optuna.db"], "--optuna-storage"),
    ],
)
def test_bad_finals_and_storage_flags_are_one_line_exit_2(tmp_path, monkeypatch, capsys, argv, needle):
    monkeypatch.chdir(tmp_path)
    assert main(["fisher", *argv]) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], lines
    assert list(tmp_path.iterdir()) == []


def test_resume_of_a_finished_search_reruns_and_relogs_nothing(store, finals):
    """``--resume`` after the search and its finals finished (or died after the last final was scored): no
    trial or final re-run, no new MLflow run, no second copy of any final score. Runs last in this module:
    the shared store must come out unchanged for the modules after it."""
    client, runs = finals
    exp_id = runs[0].info.experiment_id
    before = {r.info.run_id for r in client.search_runs([exp_id], "", max_results=1000)}
    method = "deli_fisher"
    argv = [method, "--name", store.names[method], "--resume", "--storage", str(store.storage)]
    assert main(argv + ["--mlflow-uri", store.uri]) == 0
    after = client.search_runs([exp_id], "", max_results=1000)
    assert {r.info.run_id for r in after} == before
    parent = client.search_runs([exp_id], f"tags.role = 'search' and tags.method = '{method}'")[0]
    assert parent.info.status == "FINISHED"
    assert len(client.get_metric_history(parent.info.run_id, "finals.mean.ddm")) == 1
    for r in after:
        if r.data.tags.get("role") == "final" and r.data.tags["mlflow.parentRunId"] == parent.info.run_id:
            assert len(client.get_metric_history(r.info.run_id, "final_ddm")) == 1
            assert len(client.get_metric_history(r.info.run_id, "time_total_s")) == EPOCHS
