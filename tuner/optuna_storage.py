"""Where a search's Optuna study is persisted, so optuna-dashboard and ``optuna.importance`` can open it later.

Default: an sqlite file ``optuna.db`` beside the MLflow sqlite database (in the Ray storage folder when MLflow
is a server); ``--optuna-storage URL`` takes any SQLAlchemy URL Optuna's ``RDBStorage`` accepts. The study is
named after the search, and both are recorded on the search's parent MLflow run.
"""

from __future__ import annotations

from pathlib import Path

import optuna

from tuner.store_lock import creating_store

OPTUNA_FILE = "optuna.db"


def default_storage_url(mlflow_uri: str, ray_storage: str | None = None) -> str:
    """Beside the MLflow sqlite database; with a tracking server, in the local Ray storage folder (where the
    search's checkpoints are); with cloud Ray storage too, in the working folder."""
    if mlflow_uri.startswith("sqlite:///"):
        folder = Path(mlflow_uri.removeprefix("sqlite:///")).expanduser().resolve().parent
    elif ray_storage and "://" not in ray_storage:
        folder = Path(ray_storage).expanduser().resolve()
    else:
        folder = Path.cwd()
    return f"sqlite:///{folder / OPTUNA_FILE}"


def check_storage_url(url: str) -> str | None:
    """None when ``url`` looks usable, else one line saying what is wrong (checked before a search starts)."""
    if "://" not in url:
        return f"--optuna-storage {url!r} is not a database URL; use e.g. sqlite:////abs/path/optuna.db"
    if url.startswith("sqlite:///"):
        folder = Path(url.removeprefix("sqlite:///")).expanduser().resolve().parent
        if not folder.is_dir():
            return f"--optuna-storage: folder {folder} does not exist; create it or pick another path"
    return None


def open_storage(url: str) -> optuna.storages.RDBStorage:
    if url.startswith("sqlite:///"):  # the default folder may not exist yet (a given one was checked to)
        Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
    with creating_store(url):  # two searches starting at once on one new file must not both create its tables
        return optuna.storages.RDBStorage(url)


def load_study(url: str, study_name: str) -> optuna.Study:
    return optuna.load_study(study_name=study_name, storage=url)
