"""MLflow search filter strings built from values, never pasted into them.

MLflow's filter grammar has no escape character: a string value is quoted with ``'`` or ``"`` and may not
contain the quote that encloses it. ``quoted`` picks the quote the value does not contain and refuses a value
holding both, so no value (a search name, a tag) can end its string early and add a clause of its own.
"""

from __future__ import annotations

import re

_KEY = re.compile(r"[A-Za-z0-9_.\-]+")


class FilterValueError(ValueError):
    """A value that no MLflow filter string can hold as a literal."""


def quoted(value: object) -> str:
    text = str(value)
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    raise FilterValueError(f"{text!r} holds both quote characters; MLflow filters cannot match it")


def tag_equals(key: str, value: object) -> str:
    """``tags.`key` = 'value'``; keys are the product's own constants, checked to stay identifiers."""
    if not _KEY.fullmatch(key):
        raise FilterValueError(f"tag key {key!r} is not a plain identifier")
    return f"tags.`{key}` = {quoted(value)}"


def all_of(*clauses: str) -> str:
    return " and ".join(clauses)
