"""Faults around a search, injected for real: an MLflow server killed and restarted, Ctrl-C, two searches
started at once in one folder. Nothing crashes, nothing is lost, nothing is reported as what it is not."""

from __future__ import annotations

import os
import signal

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from tests.services import free_port, mlflow_server
from tuner.mlflow_resilient import PLACEHOLDER_PREFIX, ResilientMlflowClient


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
