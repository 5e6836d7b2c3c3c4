"""What a reproduction report holds: the paper's claims with their verdicts, tables and figures, as Markdown.

A verdict rests on trained models only. Each experiment states, per arm, when that arm counts as trained
(``Trained``: a measured value against a stated threshold); a claim whose arms do not all meet their criterion
is *undecided (undertrained: …)*, whatever its numbers say, so a short run never "refutes" a paper. At
``smoke`` scale every claim is undecided: that scale only exercises the pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

SCALES = ("smoke", "cpu", "paper")
TRAINED_IS_SHARE = 0.5  # an image arm counts as trained at ≥ half the real held-out data's IS under the same scorer


@dataclass(frozen=True)
class Trained:
    """One arm's training criterion: ``value`` (what it reached) against ``threshold`` (≥ counts as trained)."""

    arm: str
    measure: str  # what ``value`` is, e.g. "final IS"
    value: float
    threshold: float
    basis: str = ""  # where the threshold comes from, e.g. "½ of real 8.70"

    @property
    def met(self) -> bool:
        return self.value >= self.threshold

    def describe(self) -> str:
        basis = f" ({self.basis})" if self.basis else ""
        return f"{self.arm} {self.measure} {self.value:.3f} {'≥' if self.met else '<'} {self.threshold:.3f}{basis}"


def trained_by_is(arm: str, final_is: float, real_is: float) -> Trained:
    """The image arms' criterion: final IS ≥ half of the real held-out data's IS under the same scorer."""
    return Trained(arm, "final IS", final_is, TRAINED_IS_SHARE * real_is, f"½ of real {real_is:.2f}")


@dataclass
class Claim:
    text: str  # the claim in short, as the verdict line prints it
    quote: str  # the paper's words, quoted, with where they are made
    run: str  # what was run to test it
    held: bool | None  # None: undecided
    evidence: str  # the numbers behind the verdict
    why_undecided: str = ""  # set when held is None: what kept it from being decided

    def verdict(self) -> str:
        if self.held is None:
            return f"undecided ({self.why_undecided})" if self.why_undecided else "undecided"
        return "held" if self.held else "not held"


def judge(
    text: str,
    quote: str,
    run: str,
    condition: bool | None,
    evidence: str,
    *,
    scale: str,
    arms: Sequence[Trained] = (),
    undecidable: str = "",
) -> Claim:
    """The claim's verdict: ``condition`` when every arm trained and the scale can show it, else undecided.

    ``undecidable`` names why this run cannot show the claim at all (e.g. no n past 1,000 was scored);
    ``condition`` None means the test itself could not be computed (e.g. one seed: no p-value)."""
    under = [a for a in arms if not a.met]
    if scale == "smoke":
        why = "smoke scale: a pipeline check"
    elif undecidable:
        why = undecidable
    elif under:
        why = "undertrained: " + "; ".join(a.describe() for a in under)
    elif condition is None:
        why = "the test could not be computed"
    else:
        return Claim(text, quote, run, bool(condition), evidence)
    return Claim(text, quote, run, None, evidence, why)


@dataclass
class Report:
    name: str
    title: str
    paper: str
    scale: str
    settings: dict
    sections: list[str] = field(default_factory=list)  # Markdown blocks (tables), in order
    figures: list[tuple[str, str]] = field(default_factory=list)  # (caption, file name next to report.md)
    claims: list[Claim] = field(default_factory=list)
    arms: list[Trained] = field(default_factory=list)  # each trained arm's criterion, for the training table
    seconds: float = 0.0

    def convergence_note(self) -> str:
        """One line saying whether the models trained far enough for the verdicts to mean anything."""
        if not self.arms:
            return ""
        under = [a for a in self.arms if not a.met]
        if not under:
            return f"All {len(self.arms)} trained arms meet their training criterion (table below)."
        return (
            f"**Models far from converged: {len(under)} of {len(self.arms)} arms are below their training "
            "criterion**, so every claim resting on them is undecided; a larger `--scale` trains longer."
        )

    def markdown(self) -> str:
        lines = [f"# {self.title}", "", f"Reproduces {self.paper}. Scale `{self.scale}`; "
                 f"run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC in {self.seconds:.0f} s.", ""]  # fmt: skip
        if self.scale == "smoke":
            lines += ["*Smoke scale: checks that the experiment runs end to end; every claim is undecided.*", ""]
        if note := self.convergence_note():
            lines += [note, ""]
        lines += ["## Settings", "", "| setting | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in self.settings.items()]
        lines += ["", "## Claims", "", "| claim | the paper's words | what was run | verdict | evidence |",
                  "|---|---|---|---|---|"]  # fmt: skip
        lines += [f"| {c.text} | {c.quote} | {c.run} | **{c.verdict()}** | {c.evidence} |" for c in self.claims]
        if self.arms:
            lines += ["", "## Did each arm train?", "", "| arm | measure | value | criterion | trained |",
                      "|---|---|---|---|---|"]  # fmt: skip
            lines += [f"| {a.arm} | {a.measure} | {a.value:.3f} | ≥ {a.threshold:.3f}"
                      f"{f' ({a.basis})' if a.basis else ''} | {'yes' if a.met else '**no**'} |"
                      for a in self.arms]  # fmt: skip
        for block in self.sections:
            lines += ["", block]
        for caption, path in self.figures:
            lines += ["", f"![{caption}]({path})", "", f"*{caption}*"]
        return "\n".join(lines) + "\n"

    def write(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "report.md"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.markdown())
        tmp.replace(path)  # a crash never leaves a half-written report
        return path
