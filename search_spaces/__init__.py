"""One search space per method: ``space()`` gives Ray Tune domains, ``defaults()`` the author
defaults that are evaluated as the first point of every search."""

from __future__ import annotations

import importlib
from types import ModuleType


def _module(method: str) -> ModuleType:
    return importlib.import_module(f"search_spaces.{method}")


def space(method: str) -> dict:
    return _module(method).space()


def defaults(method: str) -> dict:
    """The first point evaluated: the method's published defaults, restricted to the searched keys."""
    return _module(method).defaults()
