"""The papers' experiments, one command each: ``python -m reports.reproduce NAME [--scale smoke|cpu|paper]``.

Each experiment trains with the platform's own code (``GANRun``, the Evaluator, ``tuner.search`` for the
searched table), writes ``OUT/NAME/report.md`` with its table(s) and figures, and states claim by claim
whether the paper's claim held at the scale run. ``--scale cpu`` (default) fits a 2-core machine,
``paper`` uses the papers' budgets (GPUs), ``smoke`` is a minute-sized run that only exercises the pipeline:
its verdicts mean nothing. ``--list`` names the experiments.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from reports.claims import SCALES


def main(argv: list[str] | None = None) -> int:
    from reports.experiments import EXPERIMENTS

    p = argparse.ArgumentParser(prog="python -m reports.reproduce", description=__doc__.splitlines()[0])
    p.add_argument("name", nargs="?", help="experiment to run (see --list)")
    p.add_argument("--list", action="store_true", help="list the experiments and exit")
    p.add_argument("--scale", default="cpu", help="smoke | cpu (default) | paper")
    p.add_argument("--out", default="reproduce", help="folder for the reports (default ./reproduce)")
    p.add_argument("--seed", type=int, default=0, help="first seed of every run")
    args = p.parse_args(argv)
    if args.list:
        for name, exp in EXPERIMENTS.items():
            print(f"{name:18s} {exp.paper}: {exp.summary}")
        return 0
    if args.name not in EXPERIMENTS:
        print(f"error: unknown experiment {args.name!r}; valid: {', '.join(EXPERIMENTS)} (see --list)", file=sys.stderr)
        return 2
    if args.scale not in SCALES:
        print(f"error: unknown --scale {args.scale!r}; valid: {', '.join(SCALES)}", file=sys.stderr)
        return 2
    exp = EXPERIMENTS[args.name]
    out_dir = Path(args.out) / args.name
    start = time.time()
    report = exp.run(args.scale, out_dir, args.seed)
    report.seconds = time.time() - start
    path = report.write(out_dir)
    for c in report.claims:
        print(f"[{c.verdict()}] {c.text} — {c.evidence}")
    print(f"report: {path} ({report.seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
