"""An MLflow client that survives a tracking server going away mid-search, losing nothing.

``ResilientMlflowClient`` takes the ``MlflowClient`` calls the search logger makes. A call that fails
with a transient error (connection refused, timeout, 5xx, a locked sqlite file) is retried a few
times; if the store is still down, *writes* (metrics, params, tags, run status, artifacts, new runs)
are appended to a durable spool on local disk and replayed, in order, once the store answers again
(it is probed at most every ``probe_every`` seconds, default ``$GAN_TUNER_MLFLOW_PROBE_S`` or 10, never
on every call). The spool outlives the driver: the next client on the same tracking URI (a ``--resume``,
the next search, or ``python -m tuner.mlflow_resilient URI``) replays what a killed driver left behind.
It lives in ``$GAN_TUNER_MLFLOW_SPOOL`` or ``$GAN_TUNER_CACHE/mlflow-spool``, one folder per URI.

No duplicates on replay: metrics keep their original timestamps (MLflow ignores an exact
(key, value, timestamp, step) repeat), params and tags are idempotent, and a run created while
offline gets a placeholder id plus a ``gan_tuner.spool_id`` tag, so replaying its creation twice, or
after the run was already made by a resumed search (matched by its ``ray_trial_id`` tag), reuses it.

Reads cannot wait: while offline ``search_runs`` and ``get_metric_history`` answer empty (the logger
then creates a run whose creation is reconciled by tag on replay); other reads raise
``MlflowUnavailable``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock
from mlflow.entities import Metric, Param, Run, RunData, RunInfo, RunTag
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST
from mlflow.tracking import MlflowClient

from trainables.cache import cache_dir
from tuner.mlflow_filters import all_of, tag_equals
from tuner.mlflow_tags import ROLE_TAG, SEARCH_TAG, TRIAL_TAG
from tuner.store_lock import creating_store

SPOOL_TAG = "gan_tuner.spool_id"
PLACEHOLDER_PREFIX = "spooled-"
TRANSIENT_CODES = {"INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "DEADLINE_EXCEEDED"}
# MLflow's own HTTP retries default to 7 with exponential backoff (minutes per call while a server is
# down); this client retries and spools itself, so it asks for short ones unless the user chose.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}
MAX_REPLAYS_WHILE_HEALTHY = 5  # an entry that keeps failing while the store is up is rejected, not retried forever


class MlflowUnavailable(RuntimeError):
    """A read the caller cannot do without failed: the tracking store is unreachable."""


def is_transient(e: BaseException) -> bool:
    if isinstance(e, MlflowException):
        return e.error_code in TRANSIENT_CODES
    try:
        import sqlalchemy.exc

        if isinstance(e, sqlalchemy.exc.OperationalError):  # e.g. "database is locked"
            return True
    except ImportError:
        pass
    import requests

    return isinstance(e, OSError | requests.exceptions.RequestException)


def check_tracking_uri(uri: str, timeout: float = 5.0) -> str | None:
    """None if an http(s) tracking server answers its health check, else one line saying what is wrong.
    Other URIs (sqlite, SQLAlchemy databases) are not probed here."""
    if not uri.startswith(("http://", "https://")):
        return None
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            if r.status == 200:
                return None
            reason = f"HTTP {r.status}"
    except urllib.error.HTTPError as e:
        reason = f"HTTP {e.code} {e.reason}"
    except (OSError, ValueError) as e:
        reason = str(getattr(e, "reason", None) or e) or type(e).__name__
    return (
        f"--mlflow-uri {uri}: no MLflow tracking server answers ({reason}); start one with "
        "`mlflow server --host 127.0.0.1 --port PORT --backend-store-uri sqlite:///mlflow.db` or fix the URI"
    )


def default_spool_dir(tracking_uri: str) -> Path:
    root = os.environ.get("GAN_TUNER_MLFLOW_SPOOL") or cache_dir() / "mlflow-spool"
    return Path(root) / hashlib.sha256(tracking_uri.encode()).hexdigest()[:16]


class Spool:
    """Append-only JSON-lines file of pending writes plus the placeholder → run id map, under a file lock
    (two drivers on one tracking URI share a spool)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.file = self.folder / "pending.jsonl"
        self.aliases_file = self.folder / "aliases.json"
        self.rejected_file = self.folder / "rejected.jsonl"

    def lock(self) -> FileLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.folder / "lock"))

    def append(self, entry: dict) -> None:
        with self.lock(), open(self.file, "a") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())  # a killed driver must not lose what it was told was kept

    def pending(self) -> list[dict]:
        if not self.file.exists():
            return []
        return [json.loads(line) for line in self.file.read_text().splitlines() if line.strip()]

    def rewrite(self, entries: list[dict]) -> None:
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(e) + "\n" for e in entries))
        os.replace(tmp, self.file)  # atomic: a crash leaves either the old or the new list

    def aliases(self) -> dict[str, str]:
        return json.loads(self.aliases_file.read_text()) if self.aliases_file.exists() else {}

    def save_aliases(self, aliases: dict[str, str]) -> None:
        tmp = self.aliases_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(aliases))
        os.replace(tmp, self.aliases_file)

    def reject(self, entry: dict, error: str) -> None:
        with open(self.rejected_file, "a") as f:
            f.write(json.dumps({**entry, "error": error}) + "\n")

    def __len__(self) -> int:
        return len(self.pending())


def _identity_filter(tags: dict) -> str | None:
    """The tags that name a run uniquely, so a replayed creation finds a run a resumed search already made."""

    if TRIAL_TAG in tags:
        return tag_equals(TRIAL_TAG, tags[TRIAL_TAG])
    if tags.get(ROLE_TAG) == "search" and SEARCH_TAG in tags:
        return all_of(tag_equals(SEARCH_TAG, tags[SEARCH_TAG]), tag_equals(ROLE_TAG, "search"))
    return None


class ResilientMlflowClient:
    def __init__(
        self,
        tracking_uri: str,
        spool_dir: str | os.PathLike | None = None,
        attempts: int = 3,
        backoff_s: float = 0.5,
        probe_every: float | None = None,
        identity_filter: Callable[[dict], str | None] = _identity_filter,
        log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True),
    ):
        for k, v in HTTP_DEFAULTS.items():
            os.environ.setdefault(k, v)
        self.tracking_uri = tracking_uri
        with creating_store(tracking_uri):  # an sqlite store makes its schema when opened: one process at a time
            self.client = MlflowClient(tracking_uri)
            if tracking_uri.startswith("sqlite:///"):
                with contextlib.suppress(Exception):  # a failing store is handled on use
                    self.client.search_experiments(max_results=1)
        self.spool = Spool(Path(spool_dir) if spool_dir else default_spool_dir(tracking_uri))
        self.attempts, self.backoff_s = attempts, backoff_s
        self.probe_every = float(os.environ.get("GAN_TUNER_MLFLOW_PROBE_S", 10)) if probe_every is None else probe_every
        self.identity_filter, self.log = identity_filter, log
        self.offline = False
        self._last_probe = 0.0
        self._failures: dict[str, int] = {}
        if self.spool.file.exists():
            self.flush()  # what an earlier driver left behind

    # -- plumbing ---------------------------------------------------------------------------------

    def _retry(self, fn: Callable[[], Any]) -> Any:
        for i in range(self.attempts):
            try:
                return fn()
            except Exception as e:
                if not is_transient(e) or i == self.attempts - 1:
                    raise
                time.sleep(self.backoff_s * 2**i)

    def _go_offline(self, e: BaseException) -> None:
        if not self.offline:
            first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            where = self.spool.file
            self.log(f"warning: MLflow at {self.tracking_uri} unreachable ({first}); keeping results in {where}")
        self.offline = True
        self._last_probe = time.monotonic()

    def healthy(self) -> bool:
        if self.tracking_uri.startswith(("http://", "https://")):
            return check_tracking_uri(self.tracking_uri, timeout=2.0) is None
        try:
            self.client.search_experiments(max_results=1)
            return True
        except Exception:
            return False

    def _maybe_recover(self) -> None:
        if self.offline and time.monotonic() - self._last_probe >= self.probe_every:
            self._last_probe = time.monotonic()
            if self.healthy():
                self.flush()

    def _write(self, run_id: str, entry: Callable[[str], dict], live: Callable[[str], Any]) -> None:
        """Do a write now, or spool it when the store is down or earlier writes still wait (order is kept).
        ``run_id`` is resolved only after a recovery has replayed the spool: a run created while offline has
        a placeholder id until then, and the write must go to the run the replay created."""
        self._maybe_recover()
        run_id = self._run_id(run_id)
        if not self.offline and not self.spool.file.exists():
            try:
                self._retry(lambda: live(run_id))
                return
            except Exception as e:
                if not is_transient(e):
                    raise
                self._go_offline(e)
        self.spool.append(entry(run_id))
        if not self.offline:
            self.flush()

    def _run_id(self, run_id: str) -> str:
        return self.spool.aliases().get(run_id, run_id) if run_id.startswith(PLACEHOLDER_PREFIX) else run_id

    # -- writes -----------------------------------------------------------------------------------

    def log_batch(self, run_id: str, metrics=(), params=(), tags=(), synchronous: bool | None = None) -> None:
        self._write(
            run_id,
            lambda rid: {
                "op": "log_batch",
                "run_id": rid,
                "metrics": [[m.key, m.value, m.timestamp, m.step] for m in metrics],
                "params": [[p.key, p.value] for p in params],
                "tags": [[t.key, t.value] for t in tags],
            },
            lambda rid: self.client.log_batch(rid, metrics, params, tags),
        )

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int | None = None, step: int | None = None):
        ts = timestamp if timestamp is not None else int(time.time() * 1000)
        self.log_batch(run_id, metrics=[Metric(key, float(value), ts, step or 0)])

    def log_param(self, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, params=[Param(key, str(value))])

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, tags=[RunTag(key, str(value))])

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        self._write(
            run_id,
            lambda rid: {"op": "update_run", "run_id": rid, "status": status, "name": name},
            lambda rid: self.client.update_run(rid, status=status, name=name),
        )

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        end_time = end_time or int(time.time() * 1000)
        self._write(
            run_id,
            lambda rid: {"op": "set_terminated", "run_id": rid, "status": status, "end_time": end_time},
            lambda rid: self.client.set_terminated(rid, status=status, end_time=end_time),
        )

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        def entry(rid: str) -> dict:  # the caller's file may be a temporary one: keep a copy while spooled
            keep = self.spool.folder / "artifacts" / uuid.uuid4().hex
            keep.mkdir(parents=True)
            copy = shutil.copy2(local_path, keep / Path(local_path).name)
            return {"op": "log_artifact", "run_id": rid, "path": str(copy), "artifact_path": artifact_path}

        self._write(run_id, entry, lambda rid: self.client.log_artifact(rid, local_path, artifact_path))

    def create_run(self, experiment_id: str, start_time: int | None = None, tags: dict | None = None, run_name=None):
        self._maybe_recover()
        tags = {k: str(v) for k, v in (tags or {}).items()}
        start_time = start_time or int(time.time() * 1000)
        if not self.offline:
            try:
                return self._create_once(experiment_id, start_time, tags, run_name, spool_id=None)
            except Exception as e:
                if not is_transient(e):
                    raise
                self._go_offline(e)
        placeholder = PLACEHOLDER_PREFIX + uuid.uuid4().hex
        self.spool.append(
            {"op": "create_run", "placeholder": placeholder, "experiment_id": experiment_id,
             "start_time": start_time, "tags": tags, "run_name": run_name}
        )  # fmt: skip
        info = RunInfo(placeholder, experiment_id, "", "RUNNING", start_time, None, "active", None, run_name)
        return Run(info, RunData(tags=[RunTag(k, v) for k, v in tags.items()]))

    def _create_once(self, experiment_id: str, start_time: int, tags: dict, run_name, spool_id: str | None) -> Run:
        """Create a run unless one made by an earlier attempt (same spool id) or a resumed search (same identity
        tags) exists: a retry after a lost response must not leave a duplicate."""
        filters = [tag_equals(SPOOL_TAG, spool_id)] if spool_id else []
        if ident := self.identity_filter(tags):
            filters.append(ident)

        def attempt() -> Run:
            for f in filters:
                found = self.client.search_runs([experiment_id], f, max_results=1)
                if found:
                    return found[0]
            extra = {SPOOL_TAG: spool_id} if spool_id else {}
            return self.client.create_run(experiment_id, start_time, {**tags, **extra}, run_name)

        return self._retry(attempt)

    # -- reads ------------------------------------------------------------------------------------

    def _read(self, fn: Callable[[], Any], offline_answer: Any = MlflowUnavailable) -> Any:
        self._maybe_recover()
        if not self.offline:
            try:
                return self._retry(fn)
            except Exception as e:
                if not is_transient(e):
                    raise
                self._go_offline(e)
        if offline_answer is MlflowUnavailable:
            raise MlflowUnavailable(f"MLflow at {self.tracking_uri} is unreachable")
        return offline_answer

    def search_runs(self, experiment_ids, filter_string: str = "", *args, **kwargs):
        return self._read(lambda: self.client.search_runs(experiment_ids, filter_string, *args, **kwargs), [])

    def get_metric_history(self, run_id: str, key: str):
        self._maybe_recover()  # first: a recovery turns a placeholder into the run the replay created
        run_id = self._run_id(run_id)
        if run_id.startswith(PLACEHOLDER_PREFIX):
            return []
        return self._read(lambda: self.client.get_metric_history(run_id, key), [])

    def __getattr__(self, name: str) -> Any:
        """Any other MlflowClient method: retried, raising ``MlflowUnavailable`` while the store is down."""
        if name.startswith("__") or name == "client":  # not set yet (unpickling, copying): no recursion
            raise AttributeError(name)
        method = getattr(self.client, name)
        if not callable(method):
            return method
        return lambda *a, **kw: self._read(lambda: method(*a, **kw))

    # -- replay -----------------------------------------------------------------------------------

    def flush(self) -> int:
        """Replay the spool in order; returns how many entries still wait (0: everything is in MLflow)."""
        if not self.spool.file.exists():
            self.offline = False
            return 0
        with self.spool.lock():
            entries = self.spool.pending()
            aliases = self.spool.aliases()
            done = 0
            try:
                for entry in entries:
                    self._replay(entry, aliases)
                    done += 1
            except Exception as e:
                self._go_offline(e)
            finally:
                self.spool.save_aliases(aliases)
                rest = [self._resolve(e, aliases) for e in entries[done:]]
                if rest:
                    self.spool.rewrite(rest)
                else:
                    self.spool.file.unlink()
        if not rest:
            if self.offline and done:
                self.log(f"MLflow at {self.tracking_uri} is back: {done} kept record(s) sent")
            self.offline = False
        return len(rest)

    @staticmethod
    def _resolve(entry: dict, aliases: dict[str, str]) -> dict:
        run_id = entry.get("run_id")
        return {**entry, "run_id": aliases[run_id]} if run_id in aliases else entry

    def _replay(self, entry: dict, aliases: dict[str, str]) -> None:
        op = entry["op"]
        run_id = aliases.get(entry.get("run_id"), entry.get("run_id"))
        try:
            if op == "create_run":
                run = self._create_once(
                    entry["experiment_id"], entry["start_time"], entry["tags"], entry["run_name"], entry["placeholder"]
                )
                aliases[entry["placeholder"]] = run.info.run_id
            elif run_id.startswith(PLACEHOLDER_PREFIX):
                raise MlflowException(f"run {run_id} was never created", error_code=RESOURCE_DOES_NOT_EXIST)
            elif op == "log_batch":
                metrics = [Metric(k, v, ts, step) for k, v, ts, step in entry["metrics"]]
                params = [Param(k, v) for k, v in entry["params"]]
                tags = [RunTag(k, v) for k, v in entry["tags"]]
                self._retry(lambda: self.client.log_batch(run_id, metrics, params, tags))
            elif op == "update_run":
                self._retry(lambda: self.client.update_run(run_id, status=entry["status"], name=entry["name"]))
            elif op == "set_terminated":
                self._retry(lambda: self.client.set_terminated(run_id, entry["status"], entry["end_time"]))
            elif op == "log_artifact":
                path = Path(entry["path"])
                if path.exists():
                    self._retry(lambda: self.client.log_artifact(run_id, str(path), entry["artifact_path"]))
                    shutil.rmtree(path.parent, ignore_errors=True)
            else:
                raise MlflowException(f"unknown spooled operation {op!r}", error_code=INVALID_PARAMETER_VALUE)
        except Exception as e:
            key = json.dumps(entry, sort_keys=True)
            self._failures[key] = self._failures.get(key, 0) + 1
            # A permanent error (or one that repeats while the store is healthy) would block every later
            # record: set it aside in rejected.jsonl, say so, and go on.
            if not is_transient(e) or (self._failures[key] >= MAX_REPLAYS_WHILE_HEALTHY and self.healthy()):
                self.spool.reject(entry, f"{type(e).__name__}: {e}")
                self.log(f"warning: MLflow rejected a kept {op} ({e}); saved in {self.spool.rejected_file}")
                return
            raise


def report_kept(client: object) -> int:
    """At the end of a search: send what is still kept; if the store is still down, say where it waits."""
    if not isinstance(client, ResilientMlflowClient):
        return 0
    left = client.flush()
    if left:
        client.log(
            f"warning: MLflow at {client.tracking_uri} is unreachable: {left} record(s) kept in {client.spool.file}; "
            f"the next search on this URI sends them, or `python -m tuner.mlflow_resilient {client.tracking_uri}`"
        )
    return left


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m tuner.mlflow_resilient TRACKING_URI   (replays results kept while it was down)")
        return 2
    client = ResilientMlflowClient(argv[0])
    left = client.flush()
    print(f"{left} record(s) still kept in {client.spool.file}" if left else "nothing kept: MLflow is up to date")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
