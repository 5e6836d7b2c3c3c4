"""One search space per built-in method: ``space()`` gives Ray Tune domains, ``defaults()`` the author
defaults that are evaluated as the first point of every search. The registry (``trainables.registry``) ties
each method to its space; these two functions read it from there, so they work for any method name."""

from __future__ import annotations


def space(method: str) -> dict:
    from trainables.registry import get_method  # at call time: the registry imports the space modules

    return get_method(method).space()


def defaults(method: str) -> dict:
    """The first point evaluated: the method's published defaults, restricted to the searched keys."""
    from trainables.registry import get_method

    return get_method(method).defaults()
