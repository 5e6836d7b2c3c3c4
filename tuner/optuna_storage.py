"""Where a search's Optuna study is persisted, so optuna-dashboard and ``optuna.importance`` can open it later.

Default: an sqlite file ``optuna.db`` beside the MLflow sqlite database (in the Ray storage folder when MLflow
is a server). ``--optuna-storage URL`` takes any SQLAlchemy URL Optuna's ``RDBStorage`` accepts (a cluster:
``postgresql://USER@HOST/DB``, the password in ``$PGPASSWORD`` or ``~/.pgpass``), or ``journal:///PATH``:
Optuna's journal file, an append-only log for a shared filesystem (NFS) where no database server runs; its
lock is an ``open(O_EXCL)`` file, which NFS honours, rather than a symlink. The study is named after the
search, and both are recorded on the search's parent MLflow run (a password in the URL never is).
"""

from __future__ import annotations

import re
from pathlib import Path

import optuna

from tuner.store_lock import creating_store

OPTUNA_FILE = "optuna.db"
JOURNAL_PREFIX = "journal:///"


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


def _file_path(url: str) -> Path | None:
    """The file of an sqlite or journal URL (a journal's is always absolute), else None (a database server)."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).expanduser()
    if url.startswith(JOURNAL_PREFIX):
        return Path("/" + url.removeprefix(JOURNAL_PREFIX).lstrip("/"))
    return None


def check_storage_url(url: str) -> str | None:
    """None when ``url`` looks usable, else one line saying what is wrong (checked before a search starts)."""
    if "://" not in url:
        return (
            f"--optuna-storage {url!r} is not a storage URL; use e.g. sqlite:////abs/path/optuna.db, "
            "postgresql://USER@HOST/DB or journal:////shared/optuna.log"
        )
    path = _file_path(url)
    if path is not None:
        folder = path.resolve().parent
        if not folder.is_dir():
            return f"--optuna-storage: folder {folder} does not exist; create it or pick another path"
        if path.is_dir():
            return f"--optuna-storage: {path} is a folder; name a file in it"
    return None


# The password of a URL's user: ``scheme://user:PASSWORD@host``.
_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*):[^@\s]*@", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with the password of every URL in it removed (what is printed and logged to MLflow)."""
    return _PASSWORD.sub(r"\1@", text)


def redact_params(params: dict) -> dict:
    return {k: redact(v) if isinstance(v, str) else v for k, v in params.items()}


def open_storage(url: str) -> optuna.storages.BaseStorage:
    path = _file_path(url)
    if path is not None:  # the default folder may not exist yet (a given one was checked to)
        path.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith(JOURNAL_PREFIX):
        from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

        return optuna.storages.JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))
    with creating_store(url):  # two searches starting at once on one new file must not both create its tables
        return optuna.storages.RDBStorage(url)


def load_study(url: str, study_name: str) -> optuna.Study:
    storage = open_storage(url) if url.startswith(JOURNAL_PREFIX) else url
    return optuna.load_study(study_name=study_name, storage=storage)
