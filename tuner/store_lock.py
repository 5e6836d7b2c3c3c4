"""One process at a time creates a database schema: MLflow and Optuna both create their tables on first use,
and two searches started at once on one new sqlite file race (``duplicate column name``, ``table already
exists``). A file lock beside the database serialises that first use; servers and other databases need none.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

SQLITE_PREFIX = "sqlite:///"
LOCK_TIMEOUT_S = 300  # schema creation takes seconds; a lock held this long belongs to a stuck process


@contextlib.contextmanager
def creating_store(url: str) -> Iterator[None]:
    """Hold ``.<db file>.lock`` beside an sqlite database while it is opened (and its schema made)."""
    if not url.startswith(SQLITE_PREFIX):
        yield
        return
    db = Path(url.removeprefix(SQLITE_PREFIX)).expanduser()
    db.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(db.with_name(f".{db.name}.lock")), timeout=LOCK_TIMEOUT_S):
        yield
