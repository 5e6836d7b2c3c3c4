"""Numbers as a person reads them: as many significant figures as it takes to tell different values apart.

A fixed 4 figures print 1.00028 and 1.00003 both as ``1``, so a terminal line saying "best 1 (trial #2)" can
change to "best 1 (trial #1)" with no visible reason. ``distinct`` widens the precision of a set of values until
values that differ print differently (4 figures at least, 12 at most: beyond that they are float noise)."""

from __future__ import annotations

import math

MIN_DIGITS, MAX_DIGITS = 4, 12


def digits_needed(values: list[float], min_digits: int = MIN_DIGITS, max_digits: int = MAX_DIGITS) -> int:
    """The fewest significant figures (≥ min_digits) at which every pair of different finite values differs."""
    finite = sorted({float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)})
    for d in range(min_digits, max_digits + 1):
        if len({f"{v:.{d}g}" for v in finite}) == len(finite):
            return d
    return max_digits


def distinct(values: list[float], min_digits: int = MIN_DIGITS) -> list[str]:
    """``values`` formatted at one shared precision that keeps different values apart."""
    d = digits_needed(values, min_digits)
    return [f"{float(v):.{d}g}" if isinstance(v, int | float) else str(v) for v in values]
