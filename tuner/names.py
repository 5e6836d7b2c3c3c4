"""Search and experiment names: one folder under ``--storage``, one MLflow experiment, one Optuna study.

A name is letters, digits, ``-``, ``_`` and ``.``, not starting with ``.``: it cannot leave ``--storage``
(no ``/``, never ``.`` or ``..``), and cannot be read as anything but a value in a filter string.
Default names carry the time to the microsecond and a random suffix, so two searches started in the same
second get different folders.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

MAX_NAME_CHARS = 128
_NAME = re.compile(rf"[A-Za-z0-9_-][A-Za-z0-9_.-]{{0,{MAX_NAME_CHARS - 1}}}")


def name_problem(flag: str, value: str) -> str | None:
    """None for an allowed name, else one line naming the problem and the fix."""
    if _NAME.fullmatch(value):
        return None
    return (
        f"{flag} {value!r} is not an allowed name: use letters, digits, '-', '_' and '.' "
        f"(not starting with '.', at most {MAX_NAME_CHARS} characters)"
    )


def default_name(method: str, dataset: str, now: datetime | None = None) -> str:
    now = now or datetime.now()
    return f"{method}-{dataset}-{now:%Y%m%d-%H%M%S-%f}-{secrets.token_hex(2)}"
