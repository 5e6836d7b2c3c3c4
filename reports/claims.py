"""What a reproduction report holds: the paper's claims with their verdicts, tables and figures, as Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

SCALES = ("smoke", "cpu", "paper")


@dataclass
class Claim:
    text: str  # the paper's claim, with where it is made
    held: bool | None  # None: could not be decided at this scale
    evidence: str  # the numbers behind the verdict

    def verdict(self) -> str:
        return {True: "held", False: "not held", None: "undecided"}[self.held]


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
    seconds: float = 0.0

    def markdown(self) -> str:
        lines = [f"# {self.title}", "", f"Reproduces {self.paper}. Scale `{self.scale}`; "
                 f"run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC in {self.seconds:.0f} s.", ""]  # fmt: skip
        if self.scale == "smoke":
            lines += ["*Smoke scale: checks that the experiment runs end to end; the verdicts below mean nothing.*", ""]
        lines += ["## Settings", "", "| setting | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in self.settings.items()]
        lines += ["", "## Claims", "", "| claim | verdict | evidence |", "|---|---|---|"]
        lines += [f"| {c.text} | **{c.verdict()}** | {c.evidence} |" for c in self.claims]
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
