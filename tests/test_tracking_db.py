"""The cluster recipe's stores: MLflow on a PostgreSQL-backed ``mlflow server`` with served artifacts and the
Optuna study on the same PostgreSQL; and Optuna's journal file (a shared filesystem without a database).

PostgreSQL is Debian's ``postgresql`` (``.ci/run`` installs it), started per test on a free loopback port in a
throw-away folder (tests.services.postgres_server); without it these tests are skipped, saying why.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import search_args
from tests.services import mlflow_server, postgres_bin, postgres_server, run_cli, stop_group
from tuner.resume import LOST_STATE

TINY = ("--dataset", "ring8", "--width", "8", "--batch-size", "64", "--train-limit", "512", "--eval-samples", "100")
needs_postgres = pytest.mark.skipif(
    postgres_bin() is None, reason="PostgreSQL is not installed (apt-get install postgresql; .ci/run does)"
)


def _trial_runs(client: MlflowClient, experiment: str) -> list:
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], "tags.role = 'trial'") if exp else []


def _complete(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]


@needs_postgres
def test_killed_search_on_postgres_resumes_into_the_same_runs_and_study(tmp_path):
    """A real search logs through an ``mlflow server`` on PostgreSQL (artifacts uploaded through the server) with
    its Optuna study in PostgreSQL; the driver is SIGKILLed once a trial finished, and ``--resume`` completes the
    search: one MLflow run per trial, each epoch once, the study holding every trial with its run id, and no
    password in the parent run's params."""
    (tmp_path / "server").mkdir()
    with postgres_server() as db, mlflow_server(tmp_path / "server", backend_uri=db["mlflow"]) as uri:
        password = db["optuna"].split(":")[2].split("@")[0]
        argv = ["vanilla", "--trials", "3", "--epochs", "2", "--grace-period", "2", "--concurrency", "1", *TINY,
                "--name", "pg", "--storage", "rr", "--mlflow-uri", uri, "--optuna-storage", db["optuna"]]  # fmt: skip
        log = open(tmp_path / "driver.log", "w")
        env = {**os.environ, "GAN_TUNER_MLFLOW_SPOOL": str(tmp_path / "spool")}
        driver = subprocess.Popen([sys.executable, "-m", "tuner.search", *argv], cwd=tmp_path, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True, env=env)  # fmt: skip
        client = MlflowClient(uri)
        deadline = time.monotonic() + 300
        try:
            while not any(r.data.tags.get("end_state") == "completed" for r in _trial_runs(client, "pg")):
                assert driver.poll() is None, (tmp_path / "driver.log").read_text()[-3000:]
                assert time.monotonic() < deadline, (tmp_path / "driver.log").read_text()[-3000:]
                time.sleep(0.3)
        finally:
            stop_group(driver, signal.SIGKILL)
            log.close()
        assert len(_complete(optuna.load_study(study_name="pg", storage=db["optuna"]))) < 3  # killed part-way

        proc = run_cli("vanilla", "--name", "pg", "--storage", "rr", "--resume", cwd=tmp_path, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "3 trials: 3 completed" in proc.stdout and " 0 errored" in proc.stdout, proc.stdout[-2000:]
        assert password not in proc.stdout + proc.stderr

        runs = [r for r in _trial_runs(client, "pg") if r.data.tags.get("end_state") != LOST_STATE]
        by_trial = {r.data.tags["ray_trial_id"]: r for r in runs}
        assert len(by_trial) == len(runs) == 3, [r.data.tags for r in runs]
        for run in runs:
            assert run.info.status == "FINISHED" and run.data.tags["end_state"] == "completed"
            assert [m.step for m in client.get_metric_history(run.info.run_id, "loss_d")] == [1, 2]
            weights = client.list_artifacts(run.info.run_id, "model")
            assert [a.path for a in weights] == ["model/generator.pt"] and weights[0].file_size > 0
        assert list((tmp_path / "server" / "mlflow-artifacts").rglob("generator.pt"))  # served: on the server's disk
        study = optuna.load_study(study_name="pg", storage=db["optuna"])
        assert {t.user_attrs["mlflow_run_id"] for t in _complete(study)} == {r.info.run_id for r in runs}
        (parent,) = client.search_runs([runs[0].info.experiment_id], "tags.role = 'search'")
        assert parent.info.status == "FINISHED"
        assert not any(password in str(v) for v in parent.data.params.values())
        assert parent.data.params["optuna_storage"] == db["optuna"].replace(f":{password}@", "@")


def test_journal_file_study_survives_resume(tmp_path, ray_session):
    """``--optuna-storage journal:///PATH``: the study lives in Optuna's journal file; ``--resume`` of the search
    loads the same study again (no second study, no new trials), and the importances report can open it."""
    from tuner.cli import validate
    from tuner.optuna_storage import load_study
    from tuner.search import run_search

    journal = f"journal:///{tmp_path / 'shared' / 'optuna.log'}"
    (tmp_path / "shared").mkdir()
    common = ("--name", "jn", "--trials", "2", "--epochs", "1", "--concurrency", "1", "--optuna-storage", journal)
    args = search_args(tmp_path, "vanilla", *common, *TINY)
    validate(args)
    run_search(args)
    study = load_study(journal, "jn")
    first = [(t.number, t.params) for t in _complete(study)]
    assert len(first) == 2 and (tmp_path / "shared" / "optuna.log").stat().st_size > 0

    args = search_args(tmp_path, "vanilla", "--name", "jn", "--resume")
    validate(args)
    assert args.optuna_storage == journal  # stored with the search
    run_search(args)
    study = load_study(journal, "jn")
    assert [(t.number, t.params) for t in _complete(study)] == first and len(study.trials) == 2
    assert optuna.get_all_study_names(study._storage) == ["jn"]
