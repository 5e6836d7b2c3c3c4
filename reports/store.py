"""Reading searches back from an MLflow store: each search's parent run, its trials and its final runs.

The layout read here is the one ``tuner.search`` writes: a parent run tagged ``role=search`` (and
``search_name``, ``method``), its children tagged ``role=trial`` or ``role=final`` (with ``seed``), per-epoch
metrics at step = epoch, and paper-protocol scores ``final_<metric>`` on each final run.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from mlflow.tracking import MlflowClient

from reports.names import display_name

PAGE = 1000


class ReportError(ValueError):
    """Bad selection or an unusable store: reported as one line, exit status 2."""


@dataclass
class RunRecord:
    run_id: str
    experiment_id: str
    status: str
    start_time: int | None  # ms since the epoch
    end_time: int | None
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, float]  # latest value of each metric

    @property
    def hours(self) -> float:
        """Training time: Ray's cumulative ``time_total_s`` (counts restarts once), else the run's wall time."""
        if "time_total_s" in self.metrics:
            return self.metrics["time_total_s"] / 3600
        if self.start_time and self.end_time:
            return (self.end_time - self.start_time) / 3.6e6
        return 0.0


@dataclass
class Search:
    parent: RunRecord
    trials: list[RunRecord] = field(default_factory=list)
    finals: list[RunRecord] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.parent.tags.get("search_name", self.parent.run_id)

    @property
    def method(self) -> str:
        return self.parent.tags.get("method", "?")

    def final_values(self, metric: str) -> list[float]:
        """``final_<metric>`` of every final run that has a finite one, in seed order."""
        values = [f.metrics.get(f"final_{metric}") for f in self.finals]
        return [v for v in values if v is not None and math.isfinite(v)]

    @property
    def optimised(self) -> tuple[str, str]:
        """(metric, mode) the search optimised, as its parent run recorded them."""
        metric = self.parent.params.get("metric", "inception_score")
        return metric, self.parent.params.get("mode", "min" if metric in ("ddm", "fid", "kid") else "max")

    def best_trial(self) -> RunRecord | None:
        """The trial whose last logged value of the optimised metric is best (None when no trial logged it)."""
        metric, mode = self.optimised
        scored = [t for t in self.trials if math.isfinite(t.metrics.get(metric, math.nan))]
        if not scored:
            return None
        pick = max if mode == "max" else min
        return pick(scored, key=lambda t: t.metrics[metric])

    @property
    def trial_hours(self) -> float:
        return sum(r.hours for r in self.trials + self.finals)

    @property
    def scoring(self) -> str:
        """How the scored samples were made: EMA or live generator weights, bf16 autocast or fp32, and the critic's
        input augmentation in training (named only when on: runs from before ``augment`` existed had none). Each
        changes scores, so a table compares runs of one setting only."""
        settings = set()
        for r in self.finals or self.trials:
            ema = float(r.params.get("ema", 0) or 0)
            amp = r.params.get("amp", "False") == "True"
            augment = r.params.get("augment", "none") or "none"
            setting = f"{f'EMA {ema:g}' if ema else 'no EMA'}, {'bf16' if amp else 'fp32'}"
            settings.add(setting if augment == "none" else f"{setting}, augment {augment}")
        return "; ".join(sorted(settings)) if settings else "n/a"

    def _feature_params(self, key: str) -> set[str]:
        """``key`` of the feature identity the scores were made with: finals scored on ``final_features`` where the
        search chose them (e.g. ViT-L/14 after a ViT-B/14 search), else the runs' own features."""
        out = set()
        for r in self.finals or self.trials:
            prefix = "final_features." if self.finals and "final_features.feature_path" in r.params else ""
            value = r.params.get(prefix + key)
            if value not in (None, "None", "none"):
                out.add(value)
        return out

    @property
    def feature_path(self) -> str:
        paths = self._feature_params("feature_path")
        return ", ".join(sorted(paths)) if paths else "n/a"

    @property
    def feature_setting(self) -> str:
        """Weights file (its SHA-256, shortened) and resizer behind the features: scores compare within one."""
        weights = {f"weights {w[:12]}" for w in self._feature_params("feature_weights_sha256")}
        resizers = {f"{r} resize" for r in self._feature_params("resizer")}
        return ", ".join(sorted(weights) + sorted(resizers)) if weights or resizers else "n/a"


# Tables every MLflow sqlite store has: without them MLflow would create (or migrate) the schema on open,
# which a read-only report must never do to a file it was pointed at (an Optuna database, an empty file).
MLFLOW_TABLES = {"alembic_version", "experiments", "runs", "metrics", "params", "tags"}
SQLITE_HEADER = b"SQLite format 3\x00"
SERVER_TIMEOUT_S = 5.0
# MLflow's client retries a dead server for minutes by default; a report answers in seconds.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


def _check_mlflow_sqlite(path: Path) -> None:
    """Read-only look at the file (sqlite ``mode=ro``): an MLflow database, or a ReportError naming it."""
    import sqlite3

    if not path.is_file():
        raise ReportError(f"no MLflow database at {path}; pass the --mlflow-uri the search used")
    with open(path, "rb") as f:
        if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise ReportError(f"{path} is not an SQLite database; pass the --mlflow-uri the search used")
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
    except sqlite3.Error as e:
        raise ReportError(f"{path} cannot be read as an MLflow database ({e})") from None
    if missing := MLFLOW_TABLES - tables:
        raise ReportError(
            f"{path} is not an MLflow database (no {', '.join(sorted(missing))} table); "
            "pass the --mlflow-uri the search used"
        )


def client_for(tracking_uri: str) -> MlflowClient:
    """A client for an existing store, opened without writing to it: a missing, empty or foreign sqlite file
    is an error (never a new or migrated database), an unreachable server one line after a few seconds."""
    if tracking_uri.startswith("sqlite:///"):
        _check_mlflow_sqlite(Path(tracking_uri.removeprefix("sqlite:///")).expanduser())
    elif tracking_uri.startswith(("http://", "https://")):
        from tuner.mlflow_resilient import check_tracking_uri

        for key, value in HTTP_DEFAULTS.items():
            os.environ.setdefault(key, value)
        if problem := check_tracking_uri(tracking_uri, timeout=SERVER_TIMEOUT_S):
            raise ReportError(problem)
    elif "://" not in tracking_uri:
        raise ReportError(
            f"--mlflow-uri {tracking_uri!r} is not a URI; use sqlite:///path/mlflow.db or http://host:port"
        )
    return MlflowClient(tracking_uri)


def check_out_dir(out: str | Path, flag: str = "--out") -> None:
    """The output folder can be made and written (checked before anything is read or drawn)."""
    path = Path(out).expanduser().resolve()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ReportError(f"{flag} {out}: {existing} is a file, not a folder; pick another path")
    if not os.access(existing, os.W_OK):
        raise ReportError(f"{flag} {out}: {existing} is not writable; pick a folder you can write")


def check_one_feature_path(selected: list[Search]) -> None:
    """Scores from different feature paths, weights files or resizers are never compared, in a table or a figure."""
    paths = {s.feature_path for s in selected} - {"n/a"}
    if len(paths) > 1:
        raise ReportError(f"scores come from different feature paths ({', '.join(sorted(paths))}); select one")
    settings = {s.feature_setting for s in selected} - {"n/a"}
    if len(settings) > 1:
        raise ReportError(f"scores come from different feature weights or resizers ({' | '.join(sorted(settings))}); "
                          "select searches scored with one")  # fmt: skip


def _record(run) -> RunRecord:
    return RunRecord(
        run.info.run_id,
        run.info.experiment_id,
        run.info.status,
        run.info.start_time,
        run.info.end_time,
        dict(run.data.params),
        dict(run.data.tags),
        dict(run.data.metrics),
    )


def all_runs(client: MlflowClient, experiment_ids: list[str]) -> list[RunRecord]:
    out, token = [], None
    while True:
        page = client.search_runs(experiment_ids, max_results=PAGE, page_token=token)
        out.extend(_record(r) for r in page)
        token = page.token
        if not token:
            return out


def _experiment_ids(client: MlflowClient, names: list[str] | None) -> list[str]:
    if not names:
        return [e.experiment_id for e in client.search_experiments()]
    ids = []
    known = sorted(e.name for e in client.search_experiments())
    for name in names:
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise ReportError(f"unknown MLflow experiment {name!r}; known: {', '.join(known) or 'none'}")
        ids.append(exp.experiment_id)
    return ids


def _check_known(kind: str, wanted: list[str] | None, known: set[str]) -> None:
    missing = [w for w in wanted or [] if w not in known]
    if missing:
        raise ReportError(f"unknown {kind} {', '.join(missing)}; found: {', '.join(sorted(known)) or 'none'}")


def load_searches(
    tracking_uri: str,
    experiments: list[str] | None = None,
    searches: list[str] | None = None,
    methods: list[str] | None = None,
    tags: dict[str, str] | None = None,
) -> list[Search]:
    """Searches selected by experiment, search name, method and parent-run tags (all optional, ANDed),
    ordered by ``methods`` when given, else by method and search name."""
    client = client_for(tracking_uri)
    runs = all_runs(client, _experiment_ids(client, experiments))
    parents = {r.run_id: Search(r) for r in runs if r.tags.get("role") == "search"}
    for r in runs:
        parent = parents.get(r.tags.get("mlflow.parentRunId", ""))
        if parent is not None and r.tags.get("role") in ("trial", "final"):
            (parent.finals if r.tags["role"] == "final" else parent.trials).append(r)
    found = list(parents.values())
    if not found:
        raise ReportError("no searches in the selected experiment(s); run python -m tuner.search first")
    _check_known("search(es)", searches, {s.name for s in found})
    _check_known("method(s)", methods, {s.method for s in found})
    selected = [
        s
        for s in found
        if (not searches or s.name in searches)
        and (not methods or s.method in methods)
        and all(s.parent.tags.get(k) == v for k, v in (tags or {}).items())
    ]
    if not selected:
        raise ReportError(f"no search has all the tags {tags}")
    for s in selected:
        s.finals.sort(key=lambda r: int(r.tags.get("seed", 0)))
    order = {m: i for i, m in enumerate(methods or [])}
    return sorted(selected, key=lambda s: (order.get(s.method, len(order)), s.method, s.name))


def row_labels(selected: list[Search]) -> list[str]:
    """The method's display name ("Deli-Fisher GAN"), or "name (search)" where one method has several searches."""
    counts: dict[str, int] = {}
    for s in selected:
        counts[s.method] = counts.get(s.method, 0) + 1
    return [display_name(s.method) + ("" if counts[s.method] == 1 else f" ({s.name})") for s in selected]
