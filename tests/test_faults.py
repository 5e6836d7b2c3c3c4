"""Each fault injected for real: the search goes on, and nothing is lost or counted twice.

Faults come from ``--inject-fault KIND:EPOCH:MARKER`` (see ``trainables.trainable.inject_faults``): a NaN
put into a generator weight, a SIGKILL of the trial's worker mid-epoch, a checkpoint cut in half on
storage. The driver is killed with SIGKILL on its whole process group; the MLflow server is cut off by
a TCP proxy in front of a real ``mlflow server``.
"""

from __future__ import annotations

import json
import math
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import torch
from mlflow.tracking import MlflowClient
from ray.tune import ExperimentAnalysis

from tests.services import (
    FlakyProxy,
    descendants,
    free_port,
    mlflow_server,
    reopen_when_spooled,
    run_cli,
    stop_group,
)
from trainables.trainable import STATE_FILE, CheckpointError, load_state
from tuner.cli import build_parser, validate
from tuner.resume import LOST_STATE
from tuner.search import run_search

TINY = ("--width", "4", "--eval-samples", "100", "--train-limit", "256", "--batch-size", "32")


def trial_runs(client: MlflowClient, experiment: str) -> dict[str, object]:
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], "tags.role = 'trial'")
    ids = [r.data.tags["ray_trial_id"] for r in runs]
    assert len(ids) == len(set(ids)), f"duplicate MLflow runs for one trial: {ids}"
    return dict(zip(ids, runs, strict=True))


def epochs_logged(client: MlflowClient, run_id: str) -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run_id, "time_total_s"))


def parse(tmp_path: Path, *argv: str, mlflow_uri: str | None = None):
    args = build_parser().parse_args(
        [*argv, "--storage", str(tmp_path / "ray_results"), "--mlflow-uri", mlflow_uri or f"sqlite:///{tmp_path}/m.db"]
    )
    validate(args)
    return args


def test_load_state_names_a_corrupt_checkpoint(tmp_path):
    torch.save({"epoch": 3, "w": torch.ones(1000)}, tmp_path / STATE_FILE)
    assert load_state(tmp_path)["epoch"] == 3
    data = (tmp_path / STATE_FILE).read_bytes()
    (tmp_path / STATE_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=re.escape(str(tmp_path / STATE_FILE)) + " cannot be read"):
        load_state(tmp_path)


def test_diverged_killed_and_corrupt_trials_in_one_search(tmp_path, ray_session):
    """4 trials: one diverges (NaN at epoch 1), one's worker is SIGKILLed after training epoch 2, one's checkpoint
    is cut in half before its worker is killed, one is left alone. The search finishes all four."""
    markers = {kind: tmp_path / f"{kind}.marker" for kind in ("nan", "kill", "corrupt")}
    args = parse(
        tmp_path, "fisher", "--trials", "4", "--epochs", "2", "--grace-period", "2", "--concurrency", "2",
        *TINY, "--name", "faults", "--inject-fault", f"nan:1:{markers['nan']}",
        "--inject-fault", f"kill:2:{markers['kill']}", "--inject-fault", f"corrupt:2:{markers['corrupt']}",
    )  # fmt: skip
    results = run_search(args)
    assert len(results) == 4, "the search went on after every fault"
    victim = {kind: path.read_text() for kind, path in markers.items()}  # trial id that claimed each fault
    assert len(set(victim.values())) == 3
    by_id = {r.metrics["trial_id"]: r for r in results}
    (clean,) = set(by_id) - set(victim.values())

    # Ray: the diverged trial ended (not errored) after epoch 1 with NaN losses, flagged diverged.
    nan = by_id[victim["nan"]]
    assert nan.error is None and nan.metrics["diverged"] == 1.0 and nan.metrics["epoch"] == 1
    assert not math.isfinite(nan.metrics["loss_d"])
    # The killed trial's worker really died, and the trial resumed from its epoch-1 checkpoint to finish.
    killed = by_id[victim["kill"]]
    assert killed.error is None and list(killed.metrics_dataframe["epoch"]) == [1, 2]
    assert "worker process has died" in (Path(killed.path) / "error.txt").read_text()
    # The corrupt checkpoint: a clear error naming the file, which is the one the fault truncated.
    corrupt = by_id[victim["corrupt"]]
    named = re.search(r"checkpoint (\S+) cannot be read", str(corrupt.error))
    assert named, str(corrupt.error)[-500:]
    assert named.group(1).endswith(f"checkpoint_000000/{STATE_FILE}") and Path(named.group(1)).is_file()
    assert by_id[clean].error is None and list(by_id[clean].metrics_dataframe["epoch"]) == [1, 2]

    # MLflow: one run per trial; epochs of the restarted trial logged once each; end states recorded.
    client = MlflowClient(args.mlflow_uri)
    runs = trial_runs(client, "faults")
    assert set(runs) == set(by_id)
    assert runs[victim["nan"]].data.tags["end_state"] == "diverged at epoch 1"
    assert "diverged" not in runs[victim["nan"]].data.metrics  # the end_state says it; no chart of it
    assert epochs_logged(client, runs[victim["kill"]].info.run_id) == [1, 2]
    assert runs[victim["kill"]].data.tags["end_state"] == "completed"
    assert (
        runs[victim["corrupt"]].info.status == "FAILED" and runs[victim["corrupt"]].data.tags["end_state"] == "errored"
    )
    assert epochs_logged(client, runs[victim["corrupt"]].info.run_id) == [1]
    assert epochs_logged(client, runs[clean].info.run_id) == [1, 2]


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text()[-chars:] if path.exists() else ""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _checkpoints(experiment_dir: Path) -> dict[str, dict[str, int]]:
    """trial id → {checkpoint folder: mtime of its state file}: every trained epoch writes one."""
    return {
        d.name.split("_")[2]: {c.name: (c / STATE_FILE).stat().st_mtime_ns for c in d.glob("checkpoint_*")}
        for d in experiment_dir.glob("train_gan_*")
    }


def test_killed_driver_resumes_without_rerunning_or_duplicating(tmp_path):
    """SIGKILL the whole driver process group (as a pre-empted node would) once a trial has finished and another
    is part-way, then ``--resume``: finished trials are not re-run, every trial keeps one MLflow run with each
    epoch logged once, and the Optuna study ends with every trial."""
    db = tmp_path / "mlflow.db"
    argv = ["fisher", "--trials", "3", "--epochs", "3", "--grace-period", "3", "--concurrency", "2", *TINY]
    argv += ["--name", "k1", "--storage", "rr", "--mlflow-uri", f"sqlite:///{db}"]
    log = open(tmp_path / "driver.log", "w")  # a file, not a pipe: a full pipe would stall the driver
    driver = subprocess.Popen(
        [sys.executable, "-m", "tuner.search", *argv],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    client = MlflowClient(f"sqlite:///{db}")
    deadline = time.monotonic() + 420
    try:
        while True:
            assert driver.poll() is None, f"search ended before it could be killed:\n{_tail(tmp_path / 'driver.log')}"
            assert time.monotonic() < deadline, f"no trial finished in time:\n{_tail(tmp_path / 'driver.log')}"
            runs = trial_runs(client, "k1") if db.exists() and client.get_experiment_by_name("k1") else {}
            done = {t for t, r in runs.items() if r.data.tags.get("end_state") == "completed"}
            part_way = {t for t, r in runs.items() if t not in done and "time_total_s" in r.data.metrics}
            if done and part_way:
                break
            time.sleep(0.2)
        tree = descendants(driver.pid)
    finally:
        stop_group(driver, signal.SIGKILL)
        log.close()
    killed_at = time.time() * 1000
    for pid in tree:  # Ray's processes share the driver's fate; wait until none outlives it
        while _alive(pid):
            time.sleep(0.1)
    before = _checkpoints(tmp_path / "rr" / "k1")

    proc = run_cli("fisher", "--name", "k1", "--storage", "rr", "--resume", cwd=tmp_path, timeout=420)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"^3 trials: .* 0 errored; ", proc.stdout, re.M), proc.stdout[-2000:]

    after = _checkpoints(tmp_path / "rr" / "k1")
    for tid in done:  # 0 completed trials re-run: not one epoch trained again (no checkpoint written)...
        assert before[tid] and after[tid] == before[tid], (tid, before, after)
    trials = {t.trial_id: t.status for t in ExperimentAnalysis(str(tmp_path / "rr" / "k1")).trials}
    assert len(trials) == 3 and set(trials.values()) == {"TERMINATED"} and done <= set(trials), trials
    runs = trial_runs(client, "k1")  # ...and no duplicate MLflow runs or epochs
    for tid in trials:
        run = runs[tid]
        assert run.info.status == "FINISHED" and run.data.tags["end_state"] == "completed", tid
        assert epochs_logged(client, run.info.run_id) == [1, 2, 3], tid
        if tid in done:
            history = client.get_metric_history(run.info.run_id, "loss_d")
            assert all(m.timestamp < killed_at for m in history), "a finished trial logged again after resume"
    # A trial started in the last seconds before the kill, after Tune's last snapshot, is unknown to the
    # resumed search (a new one replaced it): its run is closed as lost, not left RUNNING.
    for tid in set(runs) - set(trials):
        assert runs[tid].info.status == "KILLED" and runs[tid].data.tags["end_state"] == LOST_STATE, tid
    exp = client.get_experiment_by_name("k1")
    assert len(client.search_runs([exp.experiment_id], "tags.role = 'search'")) == 1
    # The Optuna study continued in its database: the same study holds all three finished trials.
    study = optuna.load_study(study_name="k1", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) == 3


def test_mlflow_unreachable_at_start_fails_before_training(tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"
    proc = run_cli("fisher", "--trials", "1", "--mlflow-uri", uri, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and f"--mlflow-uri {uri}: no MLflow tracking server answers" in lines[0], lines
    assert list(tmp_path.iterdir()) == []


def test_mlflow_dropping_mid_search_loses_nothing(tmp_path, ray_session, monkeypatch, capsys):
    """The proxy in front of a real server cuts every connection from the first epoch's metrics until the
    client has kept several records on disk; they reach MLflow once it answers again, each exactly once."""
    from tuner.mlflow_resilient import ResilientMlflowClient

    spool = tmp_path / "spool"
    monkeypatch.setenv("GAN_TUNER_MLFLOW_SPOOL", str(spool))
    monkeypatch.setenv("GAN_TUNER_MLFLOW_PROBE_S", "0.5")
    (tmp_path / "server").mkdir()
    with mlflow_server(tmp_path / "server") as server_uri:
        proxy = FlakyProxy(int(server_uri.rsplit(":", 1)[1]))
        proxy.drop_on(b'"key": "time_total_s"', nth=1, seconds=600)
        watcher, kept = reopen_when_spooled(proxy, spool)  # back up once ≥ 3 records wait in the spool
        uri = f"http://127.0.0.1:{proxy.port}"
        args = parse(tmp_path, "fisher", "--trials", "2", "--epochs", "3", "--grace-period", "3", *TINY,
                     "--name", "drop", mlflow_uri=uri)  # fmt: skip
        results = run_search(args)
        watcher.join(timeout=60)
        assert len(results) == 2 and not results.errors
        assert proxy.cut > 0 and kept, "the server was never cut off while results were being logged"
        # The server is back. Usually the search itself sent what it kept (its next call after the outage);
        # if the outage outlasted the search, the next client on this URI sends it first thing, as the next
        # search (or a --resume) would. Either way nothing may be left, and nothing may arrive twice.
        ResilientMlflowClient(uri, log=print).flush()
        proxy.close()
        assert "unreachable" in capsys.readouterr().err
        assert not list(spool.glob("*/pending.jsonl")), "records still kept after the server came back"

        client = MlflowClient(server_uri)  # straight to the server, not through the proxy
        runs = trial_runs(client, "drop")
        assert set(runs) == {r.metrics["trial_id"] for r in results}
        for run in runs.values():
            assert epochs_logged(client, run.info.run_id) == [1, 2, 3]
            assert run.data.tags["end_state"] == "completed" and run.info.status == "FINISHED"
            for key in ("loss_d", "inception_score", "ddm"):
                assert len(client.get_metric_history(run.info.run_id, key)) == 3, key
        params = json.loads(json.dumps(runs[next(iter(runs))].data.params))
        assert params["method"] == "fisher" and "lr" in params


def test_kept_records_replay_in_a_later_client_exactly_once(tmp_path):
    """A driver that dies while MLflow is down leaves its records on disk; the next client on the store sends
    them, reusing a run a resumed search already made (same ``ray_trial_id``) instead of duplicating it, and a
    replay repeated after a crash mid-way (the spool not yet rewritten) adds nothing."""
    from mlflow.entities import Metric

    from tuner.mlflow_resilient import ResilientMlflowClient

    store = f"sqlite:///{tmp_path / 'store.db'}"
    experiment = MlflowClient(store).create_experiment("spool")
    existing = MlflowClient(store).create_run(experiment, tags={"ray_trial_id": "t1"}).info.run_id
    spool = tmp_path / "spool"

    down = ResilientMlflowClient(f"http://127.0.0.1:{free_port()}", spool_dir=spool, attempts=1, log=lambda m: None)
    for tid in ("t1", "t2"):  # t1 exists in the store already; t2 does not
        run = down.create_run(experiment, tags={"ray_trial_id": tid, "role": "trial"}, run_name=tid).info.run_id
        for epoch in (1, 2):
            metrics = [Metric("time_total_s", epoch, 1000 + epoch, epoch), Metric("ddm", 0.5, 1000, epoch)]
            down.log_batch(run, metrics=metrics)
        down.set_terminated(run, "FINISHED")
    assert down.offline and len(down.spool) == 8  # 2 runs: created, 2 epochs logged, ended
    kept = (spool / "pending.jsonl").read_text()

    later = ResilientMlflowClient(store, spool_dir=spool, log=lambda m: None)  # replays on creation
    assert not (spool / "pending.jsonl").exists()
    (spool / "pending.jsonl").write_text(kept)  # as if the first replay died before clearing the spool
    assert later.flush() == 0

    reader = MlflowClient(store)
    runs = reader.search_runs([experiment])
    assert sorted(r.data.tags["ray_trial_id"] for r in runs) == ["t1", "t2"]
    assert existing in {r.info.run_id for r in runs}
    for r in runs:
        assert epochs_logged(reader, r.info.run_id) == [1, 2] and r.info.status == "FINISHED"
        assert len(reader.get_metric_history(r.info.run_id, "ddm")) == 2
