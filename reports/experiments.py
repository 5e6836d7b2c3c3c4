"""The experiments behind ``python -m reports.reproduce``: each trains with ``GANRun`` (or searches with
``tuner.search``), scores with the Evaluator, and returns a ``Report`` with claim-by-claim verdicts.

Budgets per scale are in each experiment's ``SCALE`` table; ``smoke`` only exercises the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from reports.claims import Claim, Report
from trainables.data import Dataset, load_dataset, ring_modes
from trainables.evaluate import Evaluator
from trainables.metrics import ring_coverage
from trainables.train import GANRun


@dataclass(frozen=True)
class Experiment:
    paper: str
    summary: str
    run: Callable[[str, Path, int], Report]


# -- shared pieces --------------------------------------------------------------------------------------


def subset(data: Dataset, n: int | None) -> Dataset:
    """The first n training samples (evenly spaced: stored sets may be sorted by class); test split kept."""
    if not n or n >= len(data.train_x):
        return data
    idx = torch.linspace(0, len(data.train_x) - 1, n).long()
    labels = None if data.train_y is None else data.train_y[idx]
    return Dataset(data.info, data.train_x[idx], labels, data.test_x, data.test_y)


def method_config(method: str, dataset: str, seed: int, **fixed) -> dict:
    """A trial's config at the method's published defaults (its search space's first point)."""
    import search_spaces

    return {"method": method, "dataset": dataset, "seed": seed, **search_spaces.defaults(method), **fixed}


def train_curve(config: dict, data: Dataset, epochs: int, on_epoch: Callable[[GANRun, int], dict]) -> list[dict]:
    """Train ``epochs`` epochs; ``on_epoch(run, epoch)`` scores each one."""
    run = GANRun(config, data)
    out = []
    for epoch in range(1, epochs + 1):
        run.train_epoch()
        out.append(on_epoch(run, epoch))
    return out


def classifier_evaluator(data: Dataset, metrics: tuple[str, ...]) -> Evaluator:
    from trainables.classifier import load_classifier

    classifier, _ = load_classifier(data.info.name)
    return Evaluator(data, classifier, metrics)


def welch_p(a: list[float], b: list[float]) -> float | None:
    from reports.table import welch_p as welch

    return welch(a, b)


def mean_sd(values: list[float]) -> str:
    v = np.asarray(values, dtype=np.float64)
    return f"{v.mean():.3f} ± {v.std(ddof=1):.3f}" if len(v) > 1 else f"{v.mean():.3f}"


def save_figure(fig, out_dir: Path, stem: str) -> str:
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_dir / f"{stem}.png", dpi=120, bbox_inches="tight")
    return f"{stem}.png"


def new_figure(rows: int = 1, cols: int = 1, size: tuple[float, float] = (6.4, 4.0)):
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    return fig, fig.subplots(rows, cols, squeeze=False)


# -- paper 003 Fig. 3: modes on the ring ----------------------------------------------------------------

RING_ARMS = {"GAN": "vanilla", "unrolled GAN": "unrolled", "WGAN-GP": "wgan_gp", "RFGAN (DCGAN-RF)": "dcgan_rf"}
RING_SCALE = {
    "smoke": {"epochs": 1, "train_limit": 512, "width": 8, "samples": 500},
    "cpu": {"epochs": 12, "train_limit": None, "width": 32, "samples": 2000},
    "paper": {"epochs": 50, "train_limit": None, "width": 32, "samples": 2500},
}


def rfgan_ring(scale: str, out_dir: Path, seed: int) -> Report:
    with rf_pretraining_steps(20 if scale == "smoke" else None):
        return _rfgan_ring(scale, out_dir, seed)


def _rfgan_ring(scale: str, out_dir: Path, seed: int) -> Report:
    s = RING_SCALE[scale]
    data = subset(load_dataset("ring8"), s["train_limit"])
    centers, std = ring_modes("ring8")
    epochs = s["epochs"]
    shown = sorted({1, max(1, epochs // 2), epochs})
    modes: dict[str, list[int]] = {}
    scatter: dict[tuple[str, int], np.ndarray] = {}
    for label, method in RING_ARMS.items():
        config = method_config(method, "ring8", seed, width=s["width"], batch_size=64, protocol="rfgan")

        def score(run: GANRun, epoch: int, label=label) -> dict:
            x = run.sample(s["samples"])
            if epoch in shown:
                scatter[(label, epoch)] = x[:1000].numpy()
            return ring_coverage(x, centers, std)

        modes[label] = [int(r["modes_covered"]) for r in train_curve(config, data, epochs, score)]
    fig, ax = new_figure()
    for label, m in modes.items():
        ax[0][0].plot(range(1, epochs + 1), m, marker="o", label=label)
    ax[0][0].set(xlabel="epoch", ylabel="modes covered (of 8)", ylim=(-0.2, 8.2))
    ax[0][0].legend()
    curve = save_figure(fig, out_dir, "modes_per_epoch")
    fig, axes = new_figure(len(RING_ARMS), len(shown), size=(2.2 * len(shown), 2.2 * len(RING_ARMS)))
    real = data.test_x[:1000].numpy()
    for i, label in enumerate(RING_ARMS):
        for j, epoch in enumerate(shown):
            a = axes[i][j]
            a.scatter(real[:, 0], real[:, 1], s=1, c="#bbbbbb")
            a.scatter(scatter[(label, epoch)][:, 0], scatter[(label, epoch)][:, 1], s=1, c="#0072B2")
            a.set(xlim=(-3, 3), ylim=(-3, 3), xticks=[], yticks=[], title=f"{label}, epoch {epoch}")
            a.title.set_fontsize(7)
    grid = save_figure(fig, out_dir, "samples")
    rf, gan = modes["RFGAN (DCGAN-RF)"], modes["GAN"]
    table = ["| arm | " + " | ".join(f"epoch {e}" for e in range(1, epochs + 1)) + " |", "|---|" + "---|" * epochs] + [
        f"| {k} | " + " | ".join(map(str, v)) + " |" for k, v in modes.items()
    ]
    return Report(
        "rfgan-ring",
        "RFGAN on the 8-Gaussian ring: modes covered per epoch",
        "paper 003 §4.1, Fig. 3",
        scale,
        {
            **s,
            "seed": seed,
            "protocol": "rfgan (2 G steps per D step; WGAN-GP 1 per 5)",
            "methods": ", ".join(f"{k} = `{v}`" for k, v in RING_ARMS.items()),
            "network": "ReLU MLPs (paper 003 §4.1)",
        },
        sections=["## Modes covered (≥ 20 % of a mode's even share within 3σ)", "\n".join(table)],
        figures=[("Modes covered per epoch", curve), (f"Samples (blue) over the ring (grey) at epochs {shown}", grid)],
        claims=[
            Claim("The original GAN misses modes (Fig. 3, top row)", gan[-1] < 8, f"GAN covers {gan[-1]} of 8"),
            Claim("RFGAN covers all 8 modes by the end (Fig. 3)", rf[-1] == 8, f"RFGAN covers {rf[-1]} of 8"),
            Claim("RFGAN covers more modes than the GAN (Fig. 3)", rf[-1] > gan[-1], f"{rf[-1]} vs {gan[-1]}"),
        ],
    )


# -- paper 003 §4.2: Inception Score of the RF variants, both arms under the same protocol --------------

IMAGE_SCALE = {
    "smoke": {"pairs": ("dcgan",), "epochs": 1, "seeds": 2, "train_limit": 256, "width": 4, "samples": 200},
    "cpu": {"pairs": ("dcgan", "lsgan"), "epochs": 6, "seeds": 3, "train_limit": None, "width": 16, "samples": 1000},
    "paper": {
        "pairs": ("dcgan", "lsgan", "dragan"),
        "epochs": 25,
        "seeds": 5,
        "train_limit": None,
        "width": 64,
        "samples": 10000,
    },
}


@contextmanager
def rf_pretraining_steps(steps: int | None):
    """Cap the RF autoencoder's pre-training (smoke scale: it exercises the wiring, not the encoder's quality).
    Its cache key holds the training data's fingerprint, so the smoke subset's encoder is never reused by
    a larger run."""
    from trainables.nets import rf

    if steps is None:
        yield
        return
    saved = rf.RF_MIN_STEPS, rf.RF_MAX_STEPS
    rf.RF_MIN_STEPS = rf.RF_MAX_STEPS = steps
    try:
        yield
    finally:
        rf.RF_MIN_STEPS, rf.RF_MAX_STEPS = saved


def rfgan_images(scale: str, out_dir: Path, seed: int) -> Report:
    with rf_pretraining_steps(20 if scale == "smoke" else None):
        return _rfgan_images(scale, out_dir, seed)


def _rfgan_images(scale: str, out_dir: Path, seed: int) -> Report:
    s = IMAGE_SCALE[scale]
    data = subset(load_dataset("mnist5k"), s["train_limit"])
    evaluator = classifier_evaluator(data, ("inception_score",))
    curves: dict[str, list[list[float]]] = {}
    for base in s["pairs"]:
        for method in (base, f"{base}_rf"):
            curves[method] = []
            for k in range(s["seeds"]):
                config = method_config(method, "mnist5k", seed + k, width=s["width"], batch_size=64, protocol="rfgan")
                scored = train_curve(
                    config, data, s["epochs"], lambda run, e: evaluator(run.sample(s["samples"]))["inception_score"]
                )
                curves[method].append(scored)
    fig, ax = new_figure()
    for method, per_seed in curves.items():
        v = np.asarray(per_seed)
        x = np.arange(1, v.shape[1] + 1)
        ax[0][0].plot(x, v.mean(0), marker="o", label=method)
        if len(v) > 1:
            ax[0][0].fill_between(x, v.mean(0) - v.std(0, ddof=1), v.mean(0) + v.std(0, ddof=1), alpha=0.2)
    ax[0][0].set(xlabel="epoch", ylabel="Inception Score (MNIST classifier)")
    ax[0][0].legend()
    figure = save_figure(fig, out_dir, "inception_score")
    rows, claims = ["| method | final IS (mean ± s.d. over seeds) | Welch p vs its base |", "|---|---|---|"], []
    for base in s["pairs"]:
        a, b = [c[-1] for c in curves[f"{base}_rf"]], [c[-1] for c in curves[base]]
        p = welch_p(a, b)
        rows += [f"| {base} | {mean_sd(b)} | |", f"| {base}_rf | {mean_sd(a)} | {'n/a' if p is None else f'{p:.3g}'} |"]
        held = None if p is None else bool(np.mean(a) > np.mean(b) and p < 0.05)
        claims.append(
            Claim(
                f"{base.upper()}-RF reaches a higher Inception Score than {base.upper()} (§4.2, Figs. 4–5)",
                held,
                f"{np.mean(a):.3f} vs {np.mean(b):.3f}, Welch p = {'n/a' if p is None else f'{p:.3g}'}",
            )
        )
    return Report(
        "rfgan-images",
        "RFGAN vs its base GANs on images, both arms under paper 003's protocol",
        "paper 003 §4.2, Figs. 4–5",
        scale,
        {
            **{k: v for k, v in s.items() if k != "pairs"},
            "pairs": ", ".join(s["pairs"]),
            "seed": seed,
            "dataset": "mnist5k (IS on the MNIST classifier's softmax, not Inception-v3 on CIFAR-10)",
            "protocol": "rfgan: both arms 2 G steps per D step",
        },
        sections=["## Final Inception Score", "\n".join(rows)],
        figures=[("Inception Score per epoch, mean ± 1 s.d. over seeds", figure)],
        claims=claims,
    )


# -- paper 004 Fig. 3.7: n distinct training images, replicated ----------------------------------------

MISSING_SCALE = {
    "smoke": {"ns": (10, 100), "generated": 200},
    "cpu": {"ns": (10, 20, 50, 100, 200, 500, 1000), "generated": 2000},
    "paper": {"ns": (10, 20, 50, 100, 200, 500, 1000, 2000, 4000), "generated": 4000},
}


def ddm_missing_modes(scale: str, out_dir: Path, seed: int) -> Report:
    s = MISSING_SCALE[scale]
    data = load_dataset("mnist5k")
    evaluator = classifier_evaluator(data, ("inception_score", "ddm"))
    order = torch.randperm(len(data.train_x), generator=torch.Generator().manual_seed(seed))
    from trainables.data import as_float

    scores = {}
    for n in s["ns"]:
        distinct = as_float(data.train_x[order[:n]])
        fake = distinct[torch.arange(s["generated"]) % n]  # every image repeated equally often
        scores[n] = evaluator(fake)
    ns = list(s["ns"])
    ddm = [scores[n]["ddm"] for n in ns]
    inception = [scores[n]["inception_score"] for n in ns]
    fig, ax = new_figure(1, 2, size=(9.0, 3.6))
    ax[0][0].plot(ns, ddm, marker="o")
    ax[0][0].set(xscale="log", xlabel="distinct training images n", ylabel="DDM (eq. 3.4, lower is better)")
    ax[0][1].plot(ns, inception, marker="o", color="#D55E00")
    ax[0][1].set(xscale="log", xlabel="distinct training images n", ylabel="Inception Score")
    figure = save_figure(fig, out_dir, "ddm_vs_n")
    mid = ns.index(100) if 100 in ns else 0
    falls = all(b < a for a, b in zip(ddm[mid:], ddm[mid + 1 :], strict=False)) and ddm[-1] < ddm[mid]
    is_change = inception[-1] / inception[mid] - 1
    ddm_change = 1 - ddm[-1] / ddm[mid]
    table = ["| n | DDM | IS |", "|---|---|---|"] + [
        f"| {n} | {d:.4f} | {i:.3f} |" for n, d, i in zip(ns, ddm, inception, strict=True)
    ]
    return Report(
        "ddm-missing-modes",
        "DDM keeps falling where the Inception Score saturates",
        "paper 004 §3.3.1, Fig. 3.7",
        scale,
        {
            "n": ", ".join(map(str, ns)),
            "generated set size": s["generated"],
            "seed": seed,
            "dataset": "mnist5k (T = its 1,000 held-out images)",
        },
        sections=["## Scores of n distinct training images, each repeated", "\n".join(table)],
        figures=[("DDM and IS against the number of distinct images", figure)],
        claims=[
            Claim(
                f"DDM keeps decreasing as n grows past {ns[mid]}",
                falls,
                f"DDM {ddm[mid]:.4f} at n = {ns[mid]} → {ddm[-1]:.4f} at n = {ns[-1]}",
            ),
            Claim(
                f"IS saturates: changes by < 5 % from n = {ns[mid]} to {ns[-1]}",
                abs(is_change) < 0.05,
                f"IS {inception[mid]:.3f} → {inception[-1]:.3f} ({100 * is_change:+.1f} %; "
                f"DDM {-100 * ddm_change:+.1f} %)",
            ),
        ],
    )


# -- paper 004 §3.3.2: ranking held-out data and three DCGANs -----------------------------------------

RANK_SCALE = {
    "smoke": {"epochs": 1, "train_limit": 256, "width": 4, "samples": 200, "seeds": 1},
    "cpu": {"epochs": 5, "train_limit": None, "width": 16, "samples": 1000, "seeds": 2},
    "paper": {"epochs": 25, "train_limit": None, "width": 64, "samples": 10000, "seeds": 3},
}
RANKED = {"DCGAN": "dcgan", "small DCGAN": "dcgan_small", "weakened DCGAN": "dcgan_weak"}


def ddm_ranking(scale: str, out_dir: Path, seed: int) -> Report:
    s = RANK_SCALE[scale]
    full = load_dataset("mnist5k")
    data = subset(full, s["train_limit"])
    evaluator = classifier_evaluator(full, ("ddm", "inception_score", "parzen_ll"))
    from trainables.data import as_float

    held_out = as_float(full.train_x[torch.randperm(len(full.train_x), generator=torch.Generator().manual_seed(seed))])
    scores: dict[str, list[dict]] = {"held-out data": [evaluator(held_out[: s["samples"]])]}
    for label, method in RANKED.items():
        scores[label] = []
        for k in range(s["seeds"]):
            config = method_config(method, "mnist5k", seed + k, width=s["width"], batch_size=64)
            run = GANRun(config, data)
            for _ in range(s["epochs"]):
                run.train_epoch()
            scores[label].append(evaluator(run.sample(s["samples"])))
    mean = {
        k: {m: float(np.mean([r[m] for r in v])) for m in ("ddm", "inception_score", "parzen_ll")}
        for k, v in scores.items()
    }

    def rank(metric: str, lower_better: bool) -> list[str]:
        return sorted(mean, key=lambda k: mean[k][metric] * (1 if lower_better else -1))

    by_ddm, by_is, by_parzen = rank("ddm", True), rank("inception_score", False), rank("parzen_ll", False)
    table = ["| model | DDM (↓) | rank | IS (↑) | rank | Parzen LL (↑, nats) | rank |", "|---|---|---|---|---|---|---|"]
    table += [
        f"| {k} | {mean[k]['ddm']:.4f} | {by_ddm.index(k) + 1} | {mean[k]['inception_score']:.3f} | "
        f"{by_is.index(k) + 1} | {mean[k]['parzen_ll']:.1f} | {by_parzen.index(k) + 1} |"
        for k in mean
    ]
    weak_over = mean["weakened DCGAN"]["parzen_ll"] > mean["DCGAN"]["parzen_ll"]
    return Report(
        "ddm-ranking",
        "Ranking held-out data and three DCGANs by DDM, IS and Parzen",
        "paper 004 §3.3.2",
        scale,
        {**s, "seed": seed, "dataset": "mnist5k", "held-out data": "real training images (T is the test split)"},
        sections=["## Scores (mean over seeds)", "\n".join(table)],
        claims=[
            Claim(
                "DDM ranks held-out real data first", by_ddm[0] == "held-out data", f"DDM order: {', '.join(by_ddm)}"
            ),
            Claim(
                "DDM ranks DCGAN above the weakened DCGAN",
                by_ddm.index("DCGAN") < by_ddm.index("weakened DCGAN"),
                f"{mean['DCGAN']['ddm']:.4f} vs {mean['weakened DCGAN']['ddm']:.4f}",
            ),
            Claim(
                "Parzen prefers the weakened DCGAN to DCGAN (the thesis' point against Parzen)",
                weak_over,
                f"{mean['weakened DCGAN']['parzen_ll']:.1f} vs {mean['DCGAN']['parzen_ll']:.1f} nats",
            ),
        ],
    )


# -- paper 000 Table 1: searched, then re-trained with final seeds -------------------------------------

TABLE_METHODS = ("dcgan", "wgan", "fisher", "deli_fisher")
TABLE_SCALE = {
    # smoke: the two arms of the tested claim only (each search starts Ray Tune twice: search and finals)
    "smoke": {"methods": ("fisher", "deli_fisher"), "trials": 1, "epochs": 1, "final_seeds": 2,
              "final_samples": 100, "train_limit": 128, "width": 4, "eval_samples": 100},
    "cpu": {"methods": TABLE_METHODS, "trials": 4, "epochs": 4, "final_seeds": 3, "final_samples": 1000,
            "train_limit": None, "width": 32, "eval_samples": 500},
    "paper": {"methods": TABLE_METHODS, "trials": 64, "epochs": 25, "final_seeds": 5, "final_samples": 50000,
              "train_limit": None, "width": 64, "eval_samples": 5000},
}  # fmt: skip


def search_argv(method: str, s: dict, out_dir: Path, experiment: str, seed: int) -> list[str]:
    uri = f"sqlite:///{(out_dir / 'mlflow.db').resolve()}"
    argv = [method, "--experiment", experiment, "--name", f"{method}-{experiment}", "--seed", str(seed),
            "--storage", str((out_dir / "ray_results").resolve()), "--mlflow-uri", uri,
            "--trials", str(s["trials"]), "--epochs", str(s["epochs"]), "--grace-period", "1",
            "--final-seeds", str(s["final_seeds"]), "--final-samples", str(s["final_samples"]),
            "--width", str(s["width"]), "--eval-samples", str(s["eval_samples"])]  # fmt: skip
    return argv + (["--train-limit", str(s["train_limit"])] if s["train_limit"] else [])


def fisher_table(scale: str, out_dir: Path, seed: int) -> Report:
    from datetime import datetime

    from reports.table import build_table
    from tuner.search import main as search

    s = TABLE_SCALE[scale]
    methods = list(s["methods"])
    out_dir.mkdir(parents=True, exist_ok=True)
    experiment = f"table1-{datetime.now():%Y%m%d-%H%M%S}"  # a rerun into the same folder never mixes runs
    for method in methods:
        if search(search_argv(method, s, out_dir, experiment, seed)) != 0:
            raise RuntimeError(f"the {method} search failed; see its output above")
    uri = f"sqlite:///{(out_dir / 'mlflow.db').resolve()}"
    table = build_table(uri, experiments=[experiment], methods=methods, baseline="fisher", metrics=["inception_score"])
    finals = {srch.method: srch.final_values("inception_score") for srch in table.searches}
    deli, fisher = finals["deli_fisher"], finals["fisher"]
    p = welch_p(deli, fisher)
    best = max(finals, key=lambda k: np.mean(finals[k]))
    settings = {**{k: v for k, v in s.items() if k != "methods"}, "methods": ", ".join(methods), "seed": seed,
                "dataset": "mnist5k", "MLflow": f"mlflow.db beside this report, experiment {experiment}"}  # fmt: skip
    return Report(
        "fisher-table", "Deli-Fisher GAN against DCGAN, WGAN and Fisher GAN", "paper 000 Table 1", scale, settings,
        sections=["## Final seeds' scores (mean ± s.d.; Welch p against Fisher GAN)", table.markdown()],
        claims=[
            Claim(f"Deli-Fisher GAN has the highest Inception Score of {', '.join(methods)} (Table 1)",
                  best == "deli_fisher", f"best: {best} ({np.mean(finals[best]):.3f})"),
            Claim("Deli-Fisher GAN beats Fisher GAN (Welch p < 0.05)",
                  None if p is None else bool(np.mean(deli) > np.mean(fisher) and p < 0.05),
                  f"{np.mean(deli):.3f} vs {np.mean(fisher):.3f}, p = {'n/a' if p is None else f'{p:.3g}'}"),
        ],
    )  # fmt: skip


EXPERIMENTS: dict[str, Experiment] = {
    "rfgan-ring": Experiment(
        "paper 003 Fig. 3", "modes covered per epoch on the ring: GAN, unrolled, WGAN-GP, RF", rfgan_ring
    ),
    "rfgan-images": Experiment(
        "paper 003 §4.2",
        "DCGAN vs DCGAN-RF (LSGAN, DRAGAN pairs) under the 2-G-step protocol: IS vs epoch over seeds, Welch test",
        rfgan_images,
    ),
    "ddm-missing-modes": Experiment(
        "paper 004 Fig. 3.7",
        "n distinct training images replicated: DDM keeps falling while IS saturates",
        ddm_missing_modes,
    ),
    "ddm-ranking": Experiment(
        "paper 004 §3.3.2", "held-out data, DCGAN, small and weakened DCGAN ranked by DDM, IS and Parzen", ddm_ranking
    ),
    "fisher-table": Experiment(
        "paper 000 Table 1",
        "DCGAN, WGAN, Fisher, Deli-Fisher searched with final seeds: mean ± s.d. and Welch tests",
        fisher_table,
    ),
}
