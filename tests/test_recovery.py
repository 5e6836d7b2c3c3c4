"""Faults around a search, injected for real: an MLflow server killed and restarted, Ctrl-C, two searches
started at once in one folder. Nothing crashes, nothing is lost, nothing is reported as what it is not."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from tests.services import free_port, mlflow_server, stop_group
from tuner.mlflow_resilient import PLACEHOLDER_PREFIX, ResilientMlflowClient
from tuner.outcome import INTERRUPTED_STATE


def test_writes_after_the_server_returns_reach_the_run_created_while_it_was_down(tmp_path):
    """Server SIGKILLed, a run created while it is down (a placeholder id), server restarted: the next write with
    the placeholder replays the creation first and lands on the real run; nothing stays kept."""
    folder, spool, port = tmp_path / "server", tmp_path / "spool", free_port()
    folder.mkdir()
    grid = tmp_path / "grid.png"
    grid.write_bytes(b"\x89PNG not really")
    with mlflow_server(folder, port) as uri:
        client = ResilientMlflowClient(uri, spool_dir=spool, attempts=1, probe_every=0, log=lambda m: None)
        experiment = client.create_experiment("back")
        os.killpg(uri.pid, signal.SIGKILL)
        run_id = client.create_run(experiment, tags={"ray_trial_id": "t1", "role": "trial"}, run_name="t1").info.run_id
        assert run_id.startswith(PLACEHOLDER_PREFIX) and client.offline
        client.log_batch(run_id, metrics=[Metric("epoch", 1, 1001, 1)])
    with mlflow_server(folder, port) as uri:  # the same store, back on the same port
        client.log_batch(run_id, metrics=[Metric("epoch", 2, 1002, 2)])  # crashed here: the stale placeholder
        client.log_artifact(run_id, str(grid), artifact_path="samples")
        client.set_terminated(run_id, "FINISHED")
        assert not client.offline and not (spool / "pending.jsonl").exists()

        direct = MlflowClient(uri)
        (run,) = direct.search_runs([experiment])
        assert run.data.tags["ray_trial_id"] == "t1" and run.info.status == "FINISHED"
        assert sorted(m.step for m in direct.get_metric_history(run.info.run_id, "epoch")) == [1, 2]
        assert [a.path for a in direct.list_artifacts(run.info.run_id, "samples")] == ["samples/grid.png"]
        assert client.get_metric_history(run_id, "epoch"), "the placeholder reads as the real run"


TINY = ("--width", "4", "--eval-samples", "100", "--train-limit", "256", "--batch-size", "32")


def _open_driver(tmp_path: Path, argv: list[str], log_name: str, env: dict) -> tuple[subprocess.Popen, object]:
    log = open(tmp_path / log_name, "w")  # a file, not a pipe: a full pipe would stall the driver
    proc = subprocess.Popen(
        [sys.executable, "-m", "tuner.search", *argv], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
        text=True, start_new_session=True, env={**os.environ, **env},
    )  # fmt: skip
    return proc, log


def test_ctrl_c_stops_the_search_as_interrupted_with_a_resume_command(tmp_path):
    """SIGINT to the driver's process group (what Ctrl-C in a terminal sends) once a trial has logged an epoch:
    exit status 130, no "best trial", the parent run KILLED, no trial run left RUNNING, the --resume command
    printed shell-quoted, and Ray's private temp folder removed."""
    db, ray_tmp = tmp_path / "mlflow.db", Path(tempfile.mkdtemp(prefix="gt", dir="/tmp"))
    argv = ["fisher", "--trials", "3", "--epochs", "3", "--grace-period", "3", "--concurrency", "1", *TINY,
            "--name", "ctl-c", "--storage", "ray results", "--mlflow-uri", f"sqlite:///{db}"]  # fmt: skip
    driver, log = _open_driver(tmp_path, argv, "driver.log", {"GAN_TUNER_RAY_TMP": str(ray_tmp)})
    client = MlflowClient(f"sqlite:///{db}")
    deadline = time.monotonic() + 300
    try:
        while True:
            output = (tmp_path / "driver.log").read_text()
            assert driver.poll() is None, f"search ended before it could be interrupted:\n{output[-3000:]}"
            assert time.monotonic() < deadline, f"no epoch logged in time:\n{output[-3000:]}"
            if " epoch 1/3 " in output:
                break
            time.sleep(0.2)
        os.killpg(driver.pid, signal.SIGINT)
        rc = driver.wait(timeout=120)
    finally:
        stop_group(driver, signal.SIGKILL)
        log.close()
    output = (tmp_path / "driver.log").read_text()
    assert rc == 130, output[-3000:]
    assert "best trial" not in output
    line = next(ln for ln in output.splitlines() if "interrupted" in ln and "continue it with: " in ln)
    command = shlex.split(line.split("continue it with: ", 1)[1])
    assert command == ["python", "-m", "tuner.search", "fisher", "--name", "ctl-c", "--storage", "ray results",
                       "--resume"]  # fmt: skip

    experiment = client.get_experiment_by_name("ctl-c").experiment_id
    (parent,) = client.search_runs([experiment], "tags.role = 'search'")
    assert parent.info.status == "KILLED"
    trials = client.search_runs([experiment], "tags.role = 'trial'")
    assert trials and all(r.info.status in ("FINISHED", "KILLED") for r in trials), [r.info.status for r in trials]
    assert any(r.data.tags.get("end_state") == INTERRUPTED_STATE for r in trials)
    leftovers = list(ray_tmp.iterdir())
    ray_tmp.rmdir() if not leftovers else None
    assert not leftovers, f"Ray temp folders left behind: {leftovers}"


def test_two_searches_started_at_once_in_a_fresh_folder_both_finish_apart(tmp_path):
    """Two real searches, default names, one new folder, started together: both finish, in two Ray folders
    and two MLflow experiments, sharing one MLflow and one Optuna database created once."""
    argv = ["fisher", "--trials", "1", "--epochs", "1", *TINY]
    drivers = [_open_driver(tmp_path, argv, f"driver{i}.log", {}) for i in (0, 1)]
    try:
        codes = [proc.wait(timeout=420) for proc, _ in drivers]
    finally:
        for proc, log in drivers:
            stop_group(proc, signal.SIGKILL)
            log.close()
    logs = [(tmp_path / f"driver{i}.log").read_text() for i in (0, 1)]
    assert codes == [0, 0], "\n".join(text[-2000:] for text in logs)
    folders = sorted(p.name for p in (tmp_path / "ray_results").iterdir() if p.is_dir())
    assert len(folders) == 2 and all(f.startswith("fisher-mnist5k-") for f in folders), folders
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    for name in folders:
        experiment = client.get_experiment_by_name(name).experiment_id
        (parent,) = client.search_runs([experiment], "tags.role = 'search'")
        (trial,) = client.search_runs([experiment], "tags.role = 'trial'")
        assert parent.info.status == "FINISHED" and trial.info.status == "FINISHED"
    studies = optuna.get_all_study_names(storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert sorted(studies) == folders


def _always_fails(config: dict) -> None:
    raise RuntimeError(f"trial {config['i']} cannot train")


def test_a_search_whose_every_trial_failed_says_so_and_names_the_first_error(tmp_path, ray_session):
    from ray import tune

    from tuner.outcome import SearchFailed
    from tuner.search import report_best

    results = tune.Tuner(
        _always_fails,
        param_space={"i": tune.grid_search([0, 1])},
        run_config=tune.RunConfig(name="doomed", storage_path=str(tmp_path), verbose=0),
    ).fit()
    with pytest.raises(SearchFailed, match=r"^all 2 trials failed; the first error is in (\S+error\.txt)$") as e:
        report_best(results, "inception_score", "max", "doomed", "sqlite:///unused.db", str(tmp_path))
    error_file = Path(str(e.value).rsplit(" ", 1)[1])
    assert error_file.is_file() and "cannot train" in error_file.read_text()


def test_a_search_whose_trial_runs_are_created_while_mlflow_is_down_finishes_with_every_result(
    tmp_path, ray_session, monkeypatch
):
    """The tracking server drops off just as the first trial's run is created (a proxy in front of a real server
    cuts every connection) and comes back once results are kept on disk: the trials' runs are made on replay,
    the writes that follow go to them, and the search finishes with every epoch of every trial, once each."""
    from tests.services import FlakyProxy, reopen_when_spooled
    from tuner.cli import build_parser, validate
    from tuner.search import run_search

    spool = tmp_path / "spool"
    monkeypatch.setenv("GAN_TUNER_MLFLOW_SPOOL", str(spool))
    monkeypatch.setenv("GAN_TUNER_MLFLOW_PROBE_S", "0.5")
    (tmp_path / "server").mkdir()
    with mlflow_server(tmp_path / "server") as server_uri:
        proxy = FlakyProxy(int(server_uri.rsplit(":", 1)[1]))
        proxy.drop_on(b"runs/create", nth=2, seconds=600)  # the 1st creates the parent, the 2nd the first trial's
        watcher, kept = reopen_when_spooled(proxy, spool)
        uri = f"http://127.0.0.1:{proxy.port}"
        args = build_parser().parse_args(
            ["fisher", "--trials", "2", "--epochs", "2", "--grace-period", "2", *TINY, "--name", "back",
             "--storage", str(tmp_path / "rr"), "--mlflow-uri", uri]
        )  # fmt: skip
        validate(args)
        results = run_search(args)
        watcher.join(timeout=60)
        proxy.close()
        assert kept and '"op": "create_run"' in kept[0], "no trial run was created while the server was down"
        assert len(results) == 2 and not results.errors
        assert not (spool.exists() and list(spool.glob("*/pending.jsonl"))), "records still kept at the end"

        client = MlflowClient(server_uri)
        experiment = client.get_experiment_by_name("back").experiment_id
        (parent,) = client.search_runs([experiment], "tags.role = 'search'")
        assert parent.info.status == "FINISHED"
        runs = {r.data.tags["ray_trial_id"]: r for r in client.search_runs([experiment], "tags.role = 'trial'")}
        assert set(runs) == {r.metrics["trial_id"] for r in results}
        for run in runs.values():
            assert run.info.status == "FINISHED" and run.data.tags["end_state"] == "completed"
            assert sorted(m.step for m in client.get_metric_history(run.info.run_id, "time_total_s")) == [1, 2]
            assert [a.path for a in client.list_artifacts(run.info.run_id, "model")] == ["model/generator.pt"]
