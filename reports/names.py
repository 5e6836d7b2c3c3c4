"""How methods are named in tables and figures: ``deli_fisher`` is a command-line key, "Deli-Fisher GAN" a name a
reader knows. Each method carries its display name in the registry; one that has none (or that cannot be loaded
here, e.g. a researcher's own method whose module is not importable) keeps its key."""

from __future__ import annotations

from functools import cache


@cache
def display_name(method: str) -> str:
    from trainables.registry import MethodError, get_method

    try:
        return get_method(method).display_name or method
    except MethodError:
        return method
