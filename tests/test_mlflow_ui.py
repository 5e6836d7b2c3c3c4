"""What a researcher meets after a search, read back as the MLflow UI and optuna-dashboard read it: artifacts beside
the database (nothing in the working folder), the answer on the parent run, readable trial names with their end
state, per-epoch sample images, the Optuna study's states and intermediate values, and the terminal output."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import search_args
from tuner.mlflow_logging import (
    BEST_RUN_TAG,
    DESCRIPTION_TAG,
    TRIALS_URL_TAG,
    end_state_suffix,
    short_number,
    trial_run_name,
)
from tuner.optuna_search import MLFLOW_RUN_ATTR
from tuner.progress import duration

EPOCHS, TRIALS, METRIC = 2, 4, "ddm"


@pytest.fixture(scope="module")
def search(ray_session, tmp_path_factory):
    """A tiny search started from an empty working folder, its database in another folder."""
    from tuner.cli import validate
    from tuner.search import run_search

    cwd, store = tmp_path_factory.mktemp("cwd"), tmp_path_factory.mktemp("store")
    args = search_args(
        store, "deli_fisher", "--name", "ui", "--metric", METRIC, "--trials", str(TRIALS), "--epochs", str(EPOCHS),
        "--concurrency", "1", "--reduction-factor", "2", "--width", "4", "--batch-size", "250",
        "--train-limit", "500", "--eval-samples", "100",
    )  # fmt: skip
    validate(args)
    before = os.getcwd()
    os.chdir(cwd)
    try:
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            results = run_search(args)
    finally:
        os.chdir(before)
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    exp = client.get_experiment_by_name("ui")
    runs = client.search_runs([exp.experiment_id], max_results=100)
    parent = next(r for r in runs if r.data.tags.get("role") == "search")
    trials = [r for r in runs if r.data.tags.get("role") == "trial"]
    return dict(
        cwd=cwd, store=store, client=client, exp=exp, parent=parent, trials=trials, results=results,
        out=out.getvalue(), args=args,
    )  # fmt: skip


def test_artifacts_beside_the_database_and_nothing_in_the_working_folder(search):
    assert list(search["cwd"].iterdir()) == []
    artifacts = search["store"] / "mlartifacts"
    assert search["exp"].artifact_location == artifacts.as_uri()
    for run in search["trials"]:
        assert run.info.artifact_uri.startswith(artifacts.as_uri())
        assert (Path(urllib.parse.urlparse(run.info.artifact_uri).path) / "samples" / "final.png").is_file()


def test_parent_run_carries_the_best_trial(search):
    client, parent, trials = search["client"], search["parent"], search["trials"]
    best_value = min(m.value for r in trials for m in client.get_metric_history(r.info.run_id, METRIC))
    assert parent.data.metrics[f"best_{METRIC}"] == pytest.approx(best_value, rel=1e-12)
    best_run = parent.data.tags[BEST_RUN_TAG]
    history = [m.value for m in client.get_metric_history(best_run, METRIC)]
    assert best_value in history
    assert best_run in parent.data.tags["best_trial_url"]
    sorted_url = parent.data.tags[TRIALS_URL_TAG]
    query = urllib.parse.parse_qs(sorted_url.split("?", 1)[1])
    assert query["orderByKey"] == [f"metrics.`{METRIC}`"] and query["orderByAsc"] == ["true"]  # ddm: min first
    description = parent.data.tags[DESCRIPTION_TAG]
    assert "deli_fisher" in description and "`n_components`" in description and best_run in description
    assert f"best trial's run {best_run}" in search["out"]


def test_trial_names_say_method_number_values_and_end_state(search):
    numbers = set()
    for run in search["trials"]:
        name, state, params = run.info.run_name, run.data.tags["end_state"], run.data.params
        m = re.fullmatch(r"deli_fisher #(\d+) lr=(\S+) N=(\d+) n_c=(\d+)( \[.*\])?", name)
        assert m, name
        numbers.add(int(m.group(1)))
        assert float(m.group(2)) == pytest.approx(float(params["lr"]), rel=0.05)
        assert m.group(3) == params["n_components"] and m.group(4) == params["n_critic"]
        assert (m.group(5) or "").strip() == end_state_suffix(state)
        assert not {"epoch", "diverged"} & set(run.data.metrics)  # the step is the epoch; end_state says diverged
    assert numbers == set(range(1, TRIALS + 1))
    states = [r.data.tags["end_state"] for r in search["trials"]]
    assert any(s.startswith("stopped by ASHA") for s in states), states  # this seeded search stops one
    assert any(r.info.run_name.endswith("]") for r in search["trials"])


def test_sample_grids_are_step_images_and_a_fixed_final_path(search):
    client = search["client"]
    for run in search["trials"]:
        last = max(int(m.step) for m in client.get_metric_history(run.info.run_id, METRIC))
        images = [a.path for a in client.list_artifacts(run.info.run_id, "images")]
        steps = sorted({int(m.group(1)) for p in images if (m := re.search(r"samples\+step\+(\d+)\+.*\.png$", p))})
        assert steps == list(range(1, last + 1)), images
        assert [a.path for a in client.list_artifacts(run.info.run_id, "samples")] == ["samples/final.png"]


def test_optuna_study_pruned_states_every_epoch_and_run_ids(search):
    params = search["parent"].data.params
    study = optuna.load_study(study_name=params["optuna_study"], storage=params["optuna_storage"])
    assert study.metric_names == [METRIC]
    by_run = {r.info.run_id: r for r in search["trials"]}
    client = search["client"]
    assert len(study.trials) == TRIALS
    for t in study.trials:
        run = by_run[t.user_attrs[MLFLOW_RUN_ATTR]]
        assert run.info.run_name.startswith(f"deli_fisher #{t.number + 1} ")  # one numbering in MLflow and Optuna
        history = {int(m.step): m.value for m in client.get_metric_history(run.info.run_id, METRIC)}
        assert t.intermediate_values == pytest.approx(history)  # every epoch, the last one included
        stopped = run.data.tags["end_state"].startswith("stopped by ASHA")
        assert t.state == (optuna.trial.TrialState.PRUNED if stopped else optuna.trial.TrialState.COMPLETE)
        assert t.value == pytest.approx(history[max(history)])


def test_terminal_shows_eta_best_so_far_and_asha_stops(search):
    out = search["out"]
    epoch_lines = [ln for ln in out.splitlines() if re.search(r"trial #\d+ epoch \d/", ln)]
    assert epoch_lines and all("best " in ln and ("ETA" in ln) for ln in epoch_lines)
    assert re.search(r"trial #\d+ stopped by ASHA after epoch 1/2", out)
    assert not re.search(r"\d\.\d{9,}", out)  # no 16-digit values
    assert "tensorboard" not in out.lower() and "A new study created" not in out


def test_name_and_duration_formatting():
    assert short_number(5.3e-4) == "5.3e-4" and short_number(46) == "46" and short_number(0.25) == "0.25"
    assert short_number(1e-6) == "1.0e-6" and short_number(3.0) == "3"
    config = {"lr": 5.3e-4, "n_components": 46, "rho": 1e-6, "beta": 0.1}
    name = trial_run_name("deli_fisher", 12, config, ("lr", "n_components", "beta"))
    assert name == "deli_fisher #12 lr=5.3e-4 N=46 beta=0.1"
    assert end_state_suffix("stopped by ASHA at epoch 1") == "[ASHA stop @1]" and end_state_suffix("completed") == ""
    assert duration(42) == "42s" and duration(425) == "7m05s" and duration(4320) == "1h12m"


def test_reports_of_a_search_without_finals_show_its_best_trial(search, tmp_path, capsys):
    from reports import plots, table

    uri = f"sqlite:///{search['store'] / 'mlflow.db'}"
    assert "--final-seeds 3" in search["out"]  # the hint after the search says how to get finals
    assert table.main(["--mlflow-uri", uri, "--experiment", "ui", "--out", str(tmp_path / "tables")]) == 0
    md = capsys.readouterr().out
    assert "search results, not finals" in md
    assert md.splitlines()[0] == "| method | IS ↑ | DDM ↓ | seeds | trials | epochs | trial-h | features |"  # no test
    best = search["client"].get_run(search["parent"].data.tags[BEST_RUN_TAG])  # best at its best epoch …
    t = table.build_table(uri, experiments=["ui"])
    assert t.source == "search" and t.metrics[:2] == ["inception_score", "ddm"]
    ranked = min(search["trials"], key=lambda r: r.data.metrics[METRIC])  # … the table: best at the last epoch
    assert t.cells[("Deli-Fisher GAN", METRIC)].mean == ranked.data.metrics[METRIC]
    assert best.data.metrics[METRIC] >= search["parent"].data.metrics[f"best_{METRIC}"]
    assert plots.main(["--mlflow-uri", uri, "--experiment", "ui", "--out", str(tmp_path / "figs")]) == 0
    assert {p.name for p in (tmp_path / "figs").iterdir()} >= {"curves_ddm.pdf", "samples.png"}


def test_classifier_training_reports_each_epoch():
    from trainables.classifier import train_classifier
    from trainables.data import load_dataset

    data = load_dataset("mnist5k")
    small = dataclasses.replace(data, train_x=data.train_x[:256], train_y=data.train_y[:256])  # seconds, not minutes
    lines: list[str] = []
    _, accuracy = train_classifier(small, epochs=2, progress=lines.append)
    assert [ln.split("(")[0].strip() for ln in lines] == [f"scoring classifier: epoch {e}/2" for e in (1, 2)]
    assert 0.0 <= accuracy <= 1.0


def test_database_setup_and_new_study_lines_are_silenced(tmp_path):
    code = (
        "from tuner.progress import quiet_library_noise; quiet_library_noise()\n"
        "from tuner.mlflow_logging import get_or_create_experiment, make_client\n"
        f"get_or_create_experiment(make_client('sqlite:///{tmp_path}/mlflow.db'), 'x')\n"
        f"import optuna; optuna.create_study(storage='sqlite:///{tmp_path}/optuna.db', study_name='s')\n"
        "import logging; logging.getLogger('alembic').warning('a real warning')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "INFO" not in proc.stderr and "A new study created" not in proc.stderr, proc.stderr
    assert "a real warning" in proc.stderr  # warnings still reach the user
