"""Per-epoch evaluation: generate samples once, embed them once, compute the selected metrics.

Each selectable metric is registered with the function that computes it from an ``EvalContext`` (the
generated samples and lazily computed embeddings of generated / test / train data), the result keys
it emits (with which way is better and the value a diverged trial gets), and what it needs, in the
``NEEDS`` vocabulary. A metric applies wherever an evaluation provides all it needs (``provided``): it
names no task, so a new task only states what its outputs carry. Adding a metric is one function here plus
its pure maths in ``trainables.metrics``.

Real reference sets: the held-out test split (DDM's T, and FID/KID/precision-recall's real set), the
train split (DDM-relative's R, Parzen's validation split), each capped at ``REFERENCE_MAX`` samples by
a fixed seeded subset. Generated samples: each metric uses the first n of the epoch's samples, n its
own sample count (``metric_samples``), and runs every k epochs (``metric_every``) and at the last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from trainables.conditioning import balanced_labels, trial_condition
from trainables.data import Dataset, as_float, dataset_info, ring_modes
from trainables.features import Embeddings, FeatureExtractor, canonical_kind, default_feature_kind, feature_path
from trainables.metrics import (
    cycle_l1,
    ddm,
    ddm_goldberger,
    ddm_relative,
    ddm_squared,
    inception_score,
    kid,
    ms_ssim_diversity,
    parzen_log_likelihood,
    precision_recall,
    ring_coverage,
    translation_accuracy,
)
from trainables.metrics.authpct import authpct
from trainables.metrics.c_t import c_t
from trainables.metrics.conditional import class_accuracy, intra_fid
from trainables.metrics.fd_inf import fd_inf
from trainables.metrics.fid import frechet_distance, gaussian_stats, psd_sqrt
from trainables.metrics.modify import delta_l1, nearest_is_input, target_accuracy
from trainables.metrics.nearest import nearest_other
from trainables.metrics.nn_share import nn_share
from trainables.references import Reference, load_reference
from trainables.tasks import TASKS, TaskEvaluator, get_task

# What a metric can need. An evaluation provides "embeddings" and "samples"-level access always; the rest depend
# on the data and on what the task's outputs carry (``provided``).
NEEDS: dict[str, str] = {
    "embeddings": "a feature network that embeds outputs and the real references",
    "images": "outputs that are images",
    "ring": "a Gaussian-ring dataset (known mode centres)",
    "labels": "outputs that each carry the class they should show (conditional generation: the label generated "
    "for; modification: the target label; translation: the source image's label), on a labelled dataset",
    "pairs": "outputs that each have the image they were translated from and a round trip back (translation)",
    "inputs": "outputs that each have the image they modify (modification)",
}

DEFAULT_METRICS = ("inception_score", "ddm")  # image datasets
DEFAULT_POINT_METRICS = ("ring", "ddm")  # point datasets (ring coverage where the set is a Gaussian ring)
REFERENCE_MAX = 10_000  # real samples per reference set: bounds the cost on large real datasets
PARZEN_VALIDATION = 1_000  # train points that choose the Parzen bandwidth
POINT_SIGMAS = tuple(float(s) for s in np.logspace(-2, 0, 11))  # Parzen grid for point sets (ring σ = 0.1)


@dataclass
class EvalContext:
    data: Dataset
    samples: torch.Tensor  # generated, on CPU, in [-1, 1]
    extractor: FeatureExtractor | None
    reference: Callable[[str], Embeddings]  # embeddings of 'test' / 'train', cached per trial
    real_x: Callable[[str], torch.Tensor]  # the (capped) real samples of 'test' / 'train'
    n_embed: int = 0  # generated samples to embed: the most any due metric uses
    _generated: Embeddings | None = field(default=None, repr=False)
    # The cached reference entries behind ``reference`` (trainables.references), where the evaluator keeps them:
    # the real side's μ/Σ and nearest-neighbour distances are then computed once for every trial.
    reference_entry: Callable[[str], Reference] | None = None

    labels: torch.Tensor | None = None  # the class each output should show (NEEDS["labels"]), when it has one
    real_y: Callable[[str], torch.Tensor | None] | None = None  # labels of real_x('test') / real_x('train')
    scorer: FeatureExtractor | None = None  # the dataset's classifier (class_logits), when it differs from extractor

    def generated(self, n: int) -> torch.Tensor:
        return self.samples[:n]

    def class_logits(self, n: int) -> torch.Tensor:
        """The independent scoring classifier's logits of the first n outputs (never a network G trains with)."""
        if self.scorer is None or self.scorer is self.extractor:
            return self.embedded(n).logits
        return self.scorer.embed(self.samples[:n]).logits

    def embedded(self, n: int) -> Embeddings:
        """Embeddings of the first n generated samples; the network runs once per evaluation."""
        if self.extractor is None:
            raise ValueError(f"the selected metrics need a feature extractor; none given for {self.data.info.name}")
        if self._generated is None or len(self._generated) < n:
            self._generated = self.extractor.embed(self.samples[: max(n, self.n_embed)])
        return self._generated[:n]

    def real_stats(self, which: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """μ, Σ, Σ^{1/2} of the real split's features (cached where the evaluator caches references)."""
        if self.reference_entry is not None:
            return self.reference_entry(which).stats()
        mu, sigma = gaussian_stats(self.reference(which).features)
        return mu, sigma, psd_sqrt(sigma)

    def train_nearest(self) -> torch.Tensor:
        """Each (capped) training sample's distance to its nearest other training sample, in the features."""
        if self.reference_entry is not None:
            entry = self.reference_entry("train")
            return entry.derived("nearest_other", lambda: nearest_other(entry.embeddings.features))
        return nearest_other(self.reference("train").features)

    def logits(self, which: str) -> torch.Tensor:
        """Logits of 'generated' (all samples), 'test' or 'train' (for callers that want logits only)."""
        return self.embedded(len(self.samples)).logits if which == "generated" else self.reference(which).logits


MetricFn = Callable[[EvalContext, int], dict[str, float]]


@dataclass(frozen=True)
class MetricSpec:
    name: str
    fn: MetricFn
    keys: dict[str, tuple[str | None, float | None]]  # result key → (better: min/max/None, value if diverged)
    needs: frozenset[str]  # keys of NEEDS: what an evaluation must provide for the metric to apply
    labels: dict[str, str]  # result key → the short name tables and figures print (default: the key)


METRICS: dict[str, MetricSpec] = {}


def metric(
    name: str,
    keys: dict[str, tuple[str | None, float | None]],
    needs: tuple[str, ...] | str = (),
    labels: dict[str, str] | None = None,
) -> Callable[[MetricFn], MetricFn]:
    """Register a metric: ``needs`` are keys of ``NEEDS`` (none: it reads only the outputs and real samples). One
    word alone may be given as a string; "samples" (reads the outputs only) is the empty tuple."""
    if isinstance(needs, str):
        needs = () if needs == "samples" else (needs,)
    unknown = set(needs) - set(NEEDS)
    if unknown:
        raise ValueError(f"metric {name}: unknown needs {sorted(unknown)}; valid: {', '.join(NEEDS)}")

    def deco(fn: MetricFn) -> MetricFn:
        METRICS[name] = MetricSpec(name, fn, keys, frozenset(needs), labels or {})
        return fn

    return deco


def provided(dataset: str, task: str = "generate", conditional: bool = False) -> frozenset[str]:
    """What an evaluation of ``task`` on ``dataset`` provides to metrics: the task's own output structure
    (``Task.provides``) and what the data adds. Generation gives its outputs labels only when it is conditional."""
    info, out = dataset_info(dataset), {"embeddings", *get_task(task).provides}
    if info.kind in ("image", "pair"):
        out.add("images")
    if info.kind == "points" and _is_ring(dataset):
        out.add("ring")
    if not info.num_classes or (task == "generate" and not conditional):
        out.discard("labels")
    return frozenset(out)


def _is_ring(dataset: str) -> bool:
    try:
        ring_modes(dataset)
    except ValueError:
        return False
    return True


# The translate task scores both directions: a key is the A→B direction's (translations of domain A, or for
# cycle_l1 round trips starting in A), KEY_ba the same metric of the B→A direction. Keys ending in _mean
# combine both directions and have no twin.
BA = "_ba"


def ba_key(key: str) -> str:
    return f"{key}{BA}"


def task_keys(spec: MetricSpec, task: str) -> dict[str, tuple[str | None, float | None]]:
    """The result keys a metric emits in ``task``: with the B→A twins where the task scores two directions."""
    if not get_task(task).directions:
        return spec.keys
    twins = {ba_key(k): v for k, v in spec.keys.items() if not k.endswith("_mean")}
    return {**spec.keys, **twins}


def _directional(spec: MetricSpec) -> bool:
    """Can a two-direction task (translation) compute it, on some dataset? Then its keys have B→A twins."""
    return any(t.directions and spec.needs <= {"embeddings", "images", "labels", *t.provides} for t in TASKS.values())


def all_keys(spec: MetricSpec) -> dict[str, tuple[str | None, float | None]]:
    return task_keys(spec, "translate") if _directional(spec) else spec.keys


def metric_label(key: str) -> str:
    """The short display name of a result key ("IS" for inception_score); unknown keys print as they are."""
    for spec in METRICS.values():
        if key in spec.keys:
            return spec.labels.get(key, key)
        if key in all_keys(spec):
            base = key.removesuffix(BA)
            return f"{spec.labels.get(base, base)} B→A"
    return key


def metric_direction(key: str) -> str | None:
    """Which way a result key is better ("max"/"min"), None for bookkeeping values (a std, a bandwidth)."""
    return next((all_keys(spec)[key][0] for spec in METRICS.values() if key in all_keys(spec)), None)


INF = float("inf")


@metric(
    "inception_score",
    {"inception_score": ("max", 1.0), "inception_score_std": (None, 0.0)},
    ("embeddings",),
    labels={"inception_score": "IS", "inception_score_std": "IS s.d."},
)
def _inception_score(ctx: EvalContext, n: int) -> dict[str, float]:
    mean, std = inception_score(ctx.embedded(n).logits, splits=10)
    return {"inception_score": mean, "inception_score_std": std}


@metric("ddm", {"ddm": ("min", INF)}, ("embeddings",), labels={"ddm": "DDM"})
def _ddm(ctx: EvalContext, n: int) -> dict[str, float]:
    return {"ddm": ddm(ctx.reference("test").logits, ctx.embedded(n).logits)}


@metric("ddm_relative", {"ddm_relative": ("min", INF)}, ("embeddings",), labels={"ddm_relative": "DDM (relative)"})
def _ddm_relative(ctx: EvalContext, n: int) -> dict[str, float]:
    ref = ctx.reference
    return {"ddm_relative": ddm_relative(ref("train").logits, ref("test").logits, ctx.embedded(n).logits)}


@metric(
    "ddm_goldberger",
    {"ddm_goldberger": ("min", INF)},
    ("embeddings",),
    labels={"ddm_goldberger": "DDM (Goldberger)"},
)
def _ddm_goldberger(ctx: EvalContext, n: int) -> dict[str, float]:
    return {"ddm_goldberger": ddm_goldberger(ctx.reference("test").logits, ctx.embedded(n).logits)}


@metric(
    "ddm_sq",
    {"ddm_sq": ("min", INF), "ddm_sq_sigma": (None, None)},
    ("embeddings",),
    labels={"ddm_sq": "DDM (squared)", "ddm_sq_sigma": "DDM σ"},
)
def _ddm_sq(ctx: EvalContext, n: int) -> dict[str, float]:
    validation = ctx.reference("train").logits[:PARZEN_VALIDATION]  # held-out from T: chooses σ, as Parzen does
    value, sigma = ddm_squared(ctx.reference("test").logits, ctx.embedded(n).logits, validation)
    return {"ddm_sq": value, "ddm_sq_sigma": sigma}


@metric("fid", {"fid": ("min", INF)}, ("embeddings",), labels={"fid": "FID"})
def _fid(ctx: EvalContext, n: int) -> dict[str, float]:
    mu, sigma, root = ctx.real_stats("test")  # the same value as fid(real, generated), the real side cached
    return {"fid": frechet_distance(mu, sigma, *gaussian_stats(ctx.embedded(n).features), sigma1_sqrt=root)}


@metric("fd_inf", {"fd_inf": ("min", INF)}, "embeddings", labels={"fd_inf": "FD∞"})
def _fd_inf(ctx: EvalContext, n: int) -> dict[str, float]:
    mu, sigma, _ = ctx.real_stats("test")
    return {"fd_inf": fd_inf((mu, sigma), ctx.embedded(n).features)}


# Memorisation: generated samples against the (capped) training split, in the chosen features.
@metric("nn_share", {"nn_share": ("min", 1.0)}, "embeddings", labels={"nn_share": "NN copy share"})
def _nn_share(ctx: EvalContext, n: int) -> dict[str, float]:
    train = ctx.reference("train").features
    return {"nn_share": nn_share(train, ctx.embedded(n).features, ctx.train_nearest())}


@metric("authpct", {"authpct": ("max", 0.0)}, "embeddings", labels={"authpct": "AuthPct"})
def _authpct(ctx: EvalContext, n: int) -> dict[str, float]:
    return {"authpct": authpct(ctx.reference("train").features, ctx.embedded(n).features, ctx.train_nearest())}


# No direction: C_T ≈ 0 is ideal, ≪ 0 copying, ≫ 0 underfitting.
@metric("c_t", {"c_t": (None, None)}, "embeddings", labels={"c_t": "C_T"})
def _c_t(ctx: EvalContext, n: int) -> dict[str, float]:
    ref = ctx.reference
    return {"c_t": c_t(ref("train").features, ref("test").features, ctx.embedded(n).features)}


@metric(
    "kid",
    {"kid": ("min", INF), "kid_std": (None, 0.0)},
    ("embeddings",),
    labels={"kid": "KID", "kid_std": "KID s.d."},
)
def _kid(ctx: EvalContext, n: int) -> dict[str, float]:
    mean, std = kid(ctx.reference("test").features, ctx.embedded(n).features)
    return {"kid": mean, "kid_std": std}


@metric(
    "precision_recall",
    {"precision": ("max", 0.0), "recall": ("max", 0.0), "density": ("max", 0.0), "coverage": ("max", 0.0)},
    ("embeddings",),
)
def _precision_recall(ctx: EvalContext, n: int) -> dict[str, float]:
    # k = 3 for precision/recall (Kynkäänniemi et al.), k = 5 for density/coverage (Naeem et al.)
    return precision_recall(ctx.reference("test").features, ctx.embedded(n).features, k=3, k_density=5)


@metric("ms_ssim", {"ms_ssim": ("min", 1.0)}, ("images",), labels={"ms_ssim": "MS-SSIM"})  # lower = more diverse
def _ms_ssim(ctx: EvalContext, n: int) -> dict[str, float]:
    return {"ms_ssim": ms_ssim_diversity(ctx.generated(n))}


@metric(
    "ring",
    {"modes_covered": ("max", 0.0), "high_quality_fraction": ("max", 0.0)},
    ("ring",),
    labels={"modes_covered": "modes", "high_quality_fraction": "HQ fraction"},
)
def _ring(ctx: EvalContext, n: int) -> dict[str, float]:
    centers, std = ring_modes(ctx.data.info.name)
    return ring_coverage(ctx.generated(n), centers, std)


@metric(
    "parzen_ll",
    {"parzen_ll": ("max", -INF), "parzen_sigma": (None, None)},
    (),
    labels={"parzen_ll": "Parzen LL", "parzen_sigma": "Parzen σ"},
)
def _parzen(ctx: EvalContext, n: int) -> dict[str, float]:
    if ctx.data.info.kind == "image":  # goodfeli/adversarial's protocol: pixels in [0, 1]
        scale, sigmas = (lambda x: (x.flatten(1).double() + 1) / 2), None
    else:
        scale, sigmas = (lambda x: x.flatten(1).double()), POINT_SIGMAS
    validation = ctx.real_x("train")[:PARZEN_VALIDATION]
    kw = {} if sigmas is None else {"sigmas": sigmas}
    ll, sigma = parzen_log_likelihood(scale(ctx.generated(n)), scale(ctx.real_x("test")), scale(validation), **kw)
    return {"parzen_ll": ll, "parzen_sigma": sigma}


# Translation metrics: computed per direction from a ``trainables.translate.DirectionContext`` (an EvalContext of
# the target domain, with the source images, their labels and the round trips).
@metric(
    "cycle_l1",
    {"cycle_l1": ("min", INF)},
    ("pairs",),
    labels={"cycle_l1": "cycle L1"},
)
def _cycle_l1(ctx: EvalContext, n: int) -> dict[str, float]:
    return {"cycle_l1": cycle_l1(ctx.source[:n], ctx.reconstructed[:n])}


@metric(
    "translation_accuracy",
    {"translation_accuracy": ("max", 0.0), "translation_accuracy_mean": ("max", 0.0)},
    ("labels", "pairs"),
    labels={"translation_accuracy": "transl. acc.", "translation_accuracy_mean": "transl. acc. (mean)"},
)
def _translation_accuracy(ctx: EvalContext, n: int) -> dict[str, float]:
    # The mean over both directions is added by the translate evaluator, which sees both.
    return {"translation_accuracy": translation_accuracy(ctx.class_logits(n), ctx.labels[:n])}


# Class-conditional generation (and any task whose outputs carry labels): the independent scoring classifier,
# the per-class reference statistics of the held-out split, a classifier trained on the outputs.
@metric("class_accuracy", {"class_accuracy": ("max", 0.0)}, ("labels",), labels={"class_accuracy": "class acc."})
def _class_accuracy(ctx: EvalContext, n: int) -> dict[str, float]:
    return {"class_accuracy": class_accuracy(ctx.class_logits(n), ctx.labels[:n])}


@metric("intra_fid", {"intra_fid": ("min", INF)}, ("labels", "embeddings"), labels={"intra_fid": "intra-FID"})
def _intra_fid(ctx: EvalContext, n: int) -> dict[str, float]:
    real = ctx.reference("test").features
    return {"intra_fid": intra_fid(real, ctx.real_y("test"), ctx.embedded(n).features, ctx.labels[:n])}


@metric("cas", {"cas": ("max", 0.0)}, ("labels", "images"), labels={"cas": "CAS"})
def _cas(ctx: EvalContext, n: int) -> dict[str, float]:
    from trainables.classifier import fit_on_samples

    model = fit_on_samples(ctx.generated(n), ctx.labels[:n], ctx.data.info.num_classes)
    return {"cas": class_accuracy(model.logits(ctx.real_x("test")), ctx.real_y("test"))}


@dataclass
class ModifyContext(EvalContext):
    """The ``modify`` task's context: ``samples`` are the modified images; these are what they were made from."""

    inputs: torch.Tensor | None = None  # the images each output was conditioned on (``labels``: their targets y_t)
    input_index: torch.Tensor | None = None  # each input's row in train_reference()
    train_reference: Callable[[], torch.Tensor] | None = None  # training images the nearest neighbours come from


NEAREST_MAX = 500  # outputs the memorisation test checks: each is compared with every reference training image


@metric("target_accuracy", {"target_accuracy": ("max", 0.0)}, ("labels", "inputs"),
        labels={"target_accuracy": "target acc."})  # fmt: skip
def _target_accuracy(ctx: ModifyContext, n: int) -> dict[str, float]:
    # The scoring classifier, never the network the generator trained against.
    return {"target_accuracy": target_accuracy(ctx.class_logits(n), ctx.labels[:n])}


# No direction: a smaller change is not better in itself (no change at all fails every target label).
@metric("delta_l1", {"delta_l1": (None, None)}, ("images", "inputs"), labels={"delta_l1": "|Δ|"})
def _delta_l1(ctx: ModifyContext, n: int) -> dict[str, float]:
    return {"delta_l1": delta_l1(ctx.generated(n), ctx.inputs[:n])}


@metric("nearest_is_input", {"nearest_is_input": ("max", 0.0)}, ("images", "inputs"),
        labels={"nearest_is_input": "NN = input"})  # fmt: skip
def _nearest_is_input(ctx: ModifyContext, n: int) -> dict[str, float]:
    n = min(n, NEAREST_MAX)
    return {"nearest_is_input": nearest_is_input(ctx.generated(n), ctx.train_reference(), ctx.input_index[:n])}


# Every result key a metric emits → the selectable metric that emits it (so --metrics precision works).
def metric_of_key() -> dict[str, str]:
    return {key: spec.name for spec in METRICS.values() for key in all_keys(spec)}


def metric_names() -> list[str]:
    return sorted(METRICS)


def result_keys() -> list[str]:
    return sorted(metric_of_key())


def metric_modes() -> dict[str, str]:
    """Every result key a search can optimise, and which way is better."""
    return {k: mode for spec in METRICS.values() for k, (mode, _) in all_keys(spec).items() if mode}


def resolve_metrics(names) -> list[str]:
    """Selectable metric names (or result keys, e.g. ``precision``) → registry entries, in order, no repeats."""
    if isinstance(names, str):
        names = [n for n in names.split(",") if n]
    of_key, out = metric_of_key(), []
    for name in names:
        entry = name if name in METRICS else of_key.get(name)
        if entry is None:
            raise ValueError(f"unknown metric {name!r}; valid: {', '.join(metric_names())} (or a result key: "
                             f"{', '.join(k for k in result_keys() if k not in METRICS)})")  # fmt: skip
        if entry not in out:
            out.append(entry)
    return out


DEFAULT_CONDITIONAL_METRICS = ("inception_score", "ddm", "class_accuracy", "intra_fid")  # labelled generation


def default_metrics(dataset: str, task: str = "generate", conditional: bool = False) -> tuple[str, ...]:
    if task == "translate" and not dataset_info(dataset).num_classes:
        return ("cycle_l1",)  # unlabelled real pairs: no classifier, and Inception metrics need its weights
    if task != "generate":
        return get_task(task).default_metrics
    if dataset_info(dataset).kind != "points":
        return DEFAULT_CONDITIONAL_METRICS if conditional else DEFAULT_METRICS
    if not _is_ring(dataset):
        return tuple(m for m in DEFAULT_POINT_METRICS if m != "ring")
    return DEFAULT_POINT_METRICS


def _refusal(name: str, need: str, dataset: str, task: str) -> str:
    """Why ``name`` cannot be computed here, in one line naming the fix."""
    info, spec = dataset_info(dataset), get_task(task)
    possible = {"embeddings", *spec.provides}  # what the task provides on some dataset of its kinds
    possible |= {"images"} if {"image", "pair"} & set(spec.kinds) else set()
    possible |= {"ring"} if "points" in spec.kinds else set()
    if need not in possible or (need == "labels" and task == "generate" and info.num_classes):
        fits = [m for m in metric_names() if METRICS[m].needs <= provided(dataset, task, conditional=True)]
        hint = ("; class-conditional training (--condition) gives generated samples labels" if need == "labels"
                else "")  # fmt: skip
        return (f"metric {name} does not apply to the {task} task: it needs {NEEDS[need]}{hint}; "
                f"its metrics: {', '.join(fits)}")  # fmt: skip
    if need == "labels":
        what = "labelled domains (a classifier per domain)" if task == "translate" else "a labelled dataset"
        return f"metric {name} needs {what}; dataset {dataset} has no labels: drop it from --metrics"
    if need == "images":
        return f"metric {name} needs images; dataset {dataset} holds {info.kind}"
    if need == "ring":
        try:
            ring_modes(dataset)
        except ValueError as err:
            return f"metric {name} needs a Gaussian-ring dataset: {err}"
    return f"metric {name} needs {NEEDS[need]}, which {task} on {dataset} does not provide"


def check_metrics(names, dataset: str, task: str = "generate", conditional: bool = False) -> list[str]:
    """Resolve ``names`` and check each applies: everything it needs is ``provided``; ValueError with one line."""
    entries, info = resolve_metrics(names), dataset_info(dataset)
    have = provided(dataset, task, conditional)
    order = ("pairs", "inputs", "labels", "images", "ring", "embeddings")  # structural needs are named first
    for e in entries:
        missing = sorted(METRICS[e].needs - have, key=order.index)
        if missing:
            raise ValueError(_refusal(e, missing[0], dataset, task))
        if e == "inception_score" and info.kind == "points":
            raise ValueError(f"metric inception_score needs images (class probabilities); {dataset} holds points")
    return entries


# Metrics that read class logits (Embeddings.logits): the DINOv2/CLIP paths have none.
LOGIT_METRICS = ("inception_score", "ddm", "ddm_relative", "ddm_goldberger", "ddm_sq", "target_accuracy",
                 "translation_accuracy")  # fmt: skip


def check_feature_metrics(names, kind: str) -> None:
    """ValueError (one line) when a selected metric needs class logits the feature path ``kind`` lacks."""
    from trainables.features import NO_LOGITS, canonical_kind

    if canonical_kind(kind) in NO_LOGITS and (bad := [m for m in resolve_metrics(names) if m in LOGIT_METRICS]):
        raise ValueError(f"{', '.join(bad)} need(s) class logits, which the {kind} path has none of; select "
                         "feature metrics (fid, kid, fd_inf, precision_recall, nn_share, authpct, c_t) or "
                         "--features classifier / inception-v3")  # fmt: skip


def needs_extractor(names) -> bool:
    return any("embeddings" in METRICS[e].needs for e in resolve_metrics(names))


def needs_scorer(names) -> bool:
    """Does a selected metric read the dataset's scoring classifier (the class of each output)?"""
    return any("labels" in METRICS[e].needs for e in resolve_metrics(names))


class Schedule:
    """When each selected metric runs and on how many outputs: every k-th epoch (``every``) and at the last, on its
    own sample count (``samples``; unset: all outputs given). One schedule for every task's evaluator."""

    def __init__(self, metrics, samples: dict[str, int] | None = None, every: dict[str, int] | None = None):
        self.metrics = tuple(metrics)
        self.samples = {resolve_metrics([k])[0]: int(v) for k, v in (samples or {}).items()}
        self.every = {resolve_metrics([k])[0]: int(v) for k, v in (every or {}).items()}

    def due(self, epoch: int | None = None, final: bool = False) -> list[str]:
        """Metrics to compute at ``epoch`` (1-based): every k-th epoch and the last; all when epoch is None."""
        if epoch is None or final:
            return list(self.metrics)
        return [m for m in self.metrics if epoch % self.every.get(m, 1) == 0]

    def samples_needed(self, epoch: int | None = None, final: bool = False, available: int = 1000) -> int:
        """Outputs to make at ``epoch``: the most any due metric uses (``available`` for unset counts)."""
        return max((self.samples.get(m, available) for m in self.due(epoch, final)), default=0)

    def counts(self, due: list[str], n: int) -> dict[str, int]:
        return {m: min(self.samples.get(m, n), n) for m in due}

    @staticmethod
    def n_embed(counts: dict[str, int]) -> int:
        """Outputs the feature network embeds: the most any due metric on embeddings uses."""
        return max((c for m, c in counts.items() if "embeddings" in METRICS[m].needs), default=0)


def _as_extractor(embedder, data: Dataset) -> FeatureExtractor | None:
    """A FeatureExtractor as is; a bare classifier module wrapped as the classifier path."""
    if embedder is None or isinstance(embedder, FeatureExtractor):
        return embedder
    from trainables.features.classifier import ClassifierFeatures

    return ClassifierFeatures(embedder, data.info.name)


class Evaluator(TaskEvaluator):
    """The ``generate`` task's evaluator: the selected metrics on n generated samples; a conditional run's samples
    carry their labels (``labels``: sample i's class, as ``GANRun.sample_labels``)."""

    def __init__(
        self,
        data: Dataset,
        embedder: FeatureExtractor | torch.nn.Module | None,
        metrics=None,
        *,
        samples: dict[str, int] | None = None,
        every: dict[str, int] | None = None,
        num_classes: int = 0,
        scorer: FeatureExtractor | None = None,
        task: str = "generate",
        cache_references: bool = True,
    ):
        """``samples``/``every``: per-metric generated-sample count and epoch period, keyed by metric name
        (or one of its result keys); a metric not named uses every sample it is given, every epoch.
        ``num_classes``: K of a class-conditional run (0: unconditional); ``scorer``: the dataset's classifier
        where the features come from another network."""
        self.data = data
        name = data.info.name
        self.num_classes = int(num_classes)
        chosen = metrics or default_metrics(name, task, conditional=bool(self.num_classes))
        self.schedule = Schedule(check_metrics(chosen, name, task, conditional=bool(self.num_classes)), samples, every)
        self.extractor = _as_extractor(embedder, data)
        self.scorer = scorer
        kind = default_feature_kind(name)
        self.feature_path = self.extractor.path if self.extractor else feature_path(kind, name)
        # Real references never change: subset them once per trial, embed them once per cache (trainables.references).
        self.cache_references = cache_references
        self._real: dict[str, tuple[torch.Tensor, torch.Tensor | None]] = {}
        self._reference: dict[str, Reference] = {}

    @property
    def feature_identity(self) -> dict[str, str]:
        """Feature path, weights SHA-256 and resizer: recorded with every result."""
        if self.extractor is not None:
            return {**self.extractor.identity(), "feature_path": self.feature_path}
        return {"feature_path": self.feature_path, "feature_weights_sha256": "none", "resizer": "none"}

    @property
    def metrics(self) -> tuple[str, ...]:
        return self.schedule.metrics

    def _real_split(self, which: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        if which not in self._real:
            d = self.data
            x, y = {"test": (d.test_x, d.test_y), "train": (d.train_x, d.train_y)}[which]
            if len(x) > REFERENCE_MAX:  # fixed seeded subset: the same reference every epoch and every trial
                keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:REFERENCE_MAX]
                x, y = x[keep], (y[keep] if y is not None else None)
            self._real[which] = (as_float(x), y)
        return self._real[which]

    def real_x(self, which: str) -> torch.Tensor:
        return self._real_split(which)[0]

    def real_y(self, which: str) -> torch.Tensor | None:
        return self._real_split(which)[1]

    def reference_entry(self, which: str) -> Reference:
        if which not in self._reference:
            if self.extractor is None:
                raise ValueError(f"the selected metrics need a feature extractor; none given for {self.data.info.name}")
            self._reference[which] = load_reference(which, self.real_x(which), self.extractor, self.data.info.name,
                                                    self.cache_references)  # fmt: skip
        return self._reference[which]

    def reference(self, which: str) -> Embeddings:
        return self.reference_entry(which).embeddings

    def due(self, epoch: int | None = None, final: bool = False) -> list[str]:
        return self.schedule.due(epoch, final)

    def samples_needed(self, epoch: int | None = None, final: bool = False, available: int = 1000) -> int:
        return self.schedule.samples_needed(epoch, final, available)

    def worst(self) -> dict[str, float]:
        """Each selected metric's worst value: what a diverged trial reports so ASHA and TPE rank it last."""
        return {k: w for m in self.metrics for k, (_, w) in METRICS[m].keys.items() if w is not None}

    def __call__(self, samples: torch.Tensor, epoch: int | None = None, final: bool = False) -> dict[str, float]:
        due = self.due(epoch, final)
        counts = self.schedule.counts(due, len(samples))
        labels = balanced_labels(len(samples), self.num_classes) if self.num_classes else None
        ctx = EvalContext(self.data, samples, self.extractor, self.reference, self.real_x, Schedule.n_embed(counts),
                          reference_entry=self.reference_entry, labels=labels, real_y=self.real_y,
                          scorer=self.scorer)  # fmt: skip
        out: dict[str, float] = {}
        for name in due:
            out.update(METRICS[name].fn(ctx, counts[name]))
        return out


def scoring_classifier(dataset: str, data_root: str | None, device, extractor: FeatureExtractor | None):
    """The dataset's classifier as a FeatureExtractor: the extractor itself when it is that classifier."""
    if extractor is not None and extractor.path == feature_path("classifier", dataset):
        return extractor
    from trainables.features import build_extractor

    return build_extractor("classifier", dataset, data_root=data_root, device=device)


def evaluator_from_config(config: dict, data: Dataset, device: str | torch.device = "cpu") -> Evaluator:
    """The Evaluator a trial's config asks for; loads a feature network only when a selected metric needs one."""
    from trainables.features import build_extractor

    conditional = bool(trial_condition(config)) if "method" in config else False
    name = data.info.name
    metrics = config.get("metrics") or default_metrics(name, conditional=conditional)
    weights = config.get("inception_weights")
    kind = canonical_kind(config.get("features") or default_feature_kind(name, weights))
    extractor = scorer = None
    if needs_extractor(metrics):
        check_feature_metrics(metrics, kind)
        extractor = build_extractor(kind, name, inception_weights=weights, data_root=config.get("data_root"),
                                    device=device, feature_weights=config.get("feature_weights"),
                                    resizer=config.get("resizer"))  # fmt: skip
    if needs_scorer(metrics):
        scorer = scoring_classifier(name, config.get("data_root"), device, extractor)
    default_n = int(config.get("eval_samples", 1000))
    given = {resolve_metrics([k])[0]: int(v) for k, v in (config.get("metric_samples") or {}).items()}
    samples = {m: given.get(m, default_n) for m in resolve_metrics(metrics)}
    ev = Evaluator(data, extractor, metrics, samples=samples, every=config.get("metric_every") or {},
                   num_classes=data.info.num_classes if conditional else 0, scorer=scorer,
                   cache_references=config.get("reference_cache", True))  # fmt: skip
    ev.feature_path = feature_path(kind, name)
    return ev
