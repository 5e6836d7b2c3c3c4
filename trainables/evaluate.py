"""Per-epoch evaluation: generate samples once, embed them once, compute the selected metrics.

Each selectable metric is registered with the function that computes it from an ``EvalContext`` (the
generated samples and lazily computed embeddings of generated / test / train data), the result keys
it emits (with which way is better and the value a diverged trial gets), and what it needs (an
embedding network, images, or a Gaussian ring). Adding a metric is one function here plus its pure
maths in ``trainables.metrics``.

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
from trainables.metrics.fd_inf import fd_inf
from trainables.metrics.fid import frechet_distance, gaussian_stats, psd_sqrt
from trainables.metrics.modify import delta_l1, nearest_is_input, target_accuracy
from trainables.metrics.nearest import nearest_other
from trainables.metrics.nn_share import nn_share
from trainables.references import Reference, load_reference
from trainables.tasks import TaskEvaluator, get_task

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

    def generated(self, n: int) -> torch.Tensor:
        return self.samples[:n]

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
    needs: str  # "embeddings" | "images" | "ring" | "samples"
    labels: dict[str, str]  # result key → the short name tables and figures print (default: the key)
    tasks: tuple[str, ...] = ("generate",)  # the tasks (trainables.tasks) whose evaluators compute it


METRICS: dict[str, MetricSpec] = {}


def metric(
    name: str,
    keys: dict[str, tuple[str | None, float | None]],
    needs: str,
    labels: dict[str, str] | None = None,
    tasks: tuple[str, ...] = ("generate",),
) -> Callable[[MetricFn], MetricFn]:
    def deco(fn: MetricFn) -> MetricFn:
        METRICS[name] = MetricSpec(name, fn, keys, needs, labels or {}, tasks)
        return fn

    return deco


# The translate task scores both directions: a key is the A→B direction's (translations of domain A, or for
# cycle_l1 round trips starting in A), KEY_ba the same metric of the B→A direction. Keys ending in _mean
# combine both directions and have no twin.
BA = "_ba"


def ba_key(key: str) -> str:
    return f"{key}{BA}"


def task_keys(spec: MetricSpec, task: str) -> dict[str, tuple[str | None, float | None]]:
    """The result keys a metric emits in ``task``: with the B→A twins in the translate task."""
    if task != "translate":
        return spec.keys
    twins = {ba_key(k): v for k, v in spec.keys.items() if not k.endswith("_mean")}
    return {**spec.keys, **twins}


def all_keys(spec: MetricSpec) -> dict[str, tuple[str | None, float | None]]:
    return task_keys(spec, "translate") if "translate" in spec.tasks else spec.keys


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
BOTH = ("generate", "translate")  # image metrics that also score translations, per direction (translate.py)


@metric(
    "inception_score",
    {"inception_score": ("max", 1.0), "inception_score_std": (None, 0.0)},
    "embeddings",
    labels={"inception_score": "IS", "inception_score_std": "IS s.d."},
    tasks=(*BOTH, "modify"),
)
def _inception_score(ctx: EvalContext, n: int) -> dict[str, float]:
    mean, std = inception_score(ctx.embedded(n).logits, splits=10)
    return {"inception_score": mean, "inception_score_std": std}


@metric("ddm", {"ddm": ("min", INF)}, "embeddings", labels={"ddm": "DDM"}, tasks=(*BOTH, "modify"))
def _ddm(ctx: EvalContext, n: int) -> dict[str, float]:
    return {"ddm": ddm(ctx.reference("test").logits, ctx.embedded(n).logits)}


@metric(
    "ddm_relative", {"ddm_relative": ("min", INF)}, "embeddings", labels={"ddm_relative": "DDM (relative)"}, tasks=BOTH
)
def _ddm_relative(ctx: EvalContext, n: int) -> dict[str, float]:
    ref = ctx.reference
    return {"ddm_relative": ddm_relative(ref("train").logits, ref("test").logits, ctx.embedded(n).logits)}


@metric(
    "ddm_goldberger",
    {"ddm_goldberger": ("min", INF)},
    "embeddings",
    labels={"ddm_goldberger": "DDM (Goldberger)"},
    tasks=BOTH,
)
def _ddm_goldberger(ctx: EvalContext, n: int) -> dict[str, float]:
    return {"ddm_goldberger": ddm_goldberger(ctx.reference("test").logits, ctx.embedded(n).logits)}


@metric(
    "ddm_sq",
    {"ddm_sq": ("min", INF), "ddm_sq_sigma": (None, None)},
    "embeddings",
    labels={"ddm_sq": "DDM (squared)", "ddm_sq_sigma": "DDM σ"},
    tasks=BOTH,
)
def _ddm_sq(ctx: EvalContext, n: int) -> dict[str, float]:
    validation = ctx.reference("train").logits[:PARZEN_VALIDATION]  # held-out from T: chooses σ, as Parzen does
    value, sigma = ddm_squared(ctx.reference("test").logits, ctx.embedded(n).logits, validation)
    return {"ddm_sq": value, "ddm_sq_sigma": sigma}


@metric("fid", {"fid": ("min", INF)}, "embeddings", labels={"fid": "FID"}, tasks=BOTH)
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
    "embeddings",
    labels={"kid": "KID", "kid_std": "KID s.d."},
    tasks=BOTH,
)
def _kid(ctx: EvalContext, n: int) -> dict[str, float]:
    mean, std = kid(ctx.reference("test").features, ctx.embedded(n).features)
    return {"kid": mean, "kid_std": std}


@metric(
    "precision_recall",
    {"precision": ("max", 0.0), "recall": ("max", 0.0), "density": ("max", 0.0), "coverage": ("max", 0.0)},
    "embeddings",
    tasks=BOTH,
)
def _precision_recall(ctx: EvalContext, n: int) -> dict[str, float]:
    # k = 3 for precision/recall (Kynkäänniemi et al.), k = 5 for density/coverage (Naeem et al.)
    return precision_recall(ctx.reference("test").features, ctx.embedded(n).features, k=3, k_density=5)


@metric(
    "ms_ssim", {"ms_ssim": ("min", 1.0)}, "images", labels={"ms_ssim": "MS-SSIM"}, tasks=BOTH
)  # lower = more diverse
def _ms_ssim(ctx: EvalContext, n: int) -> dict[str, float]:
    return {"ms_ssim": ms_ssim_diversity(ctx.generated(n))}


@metric(
    "ring",
    {"modes_covered": ("max", 0.0), "high_quality_fraction": ("max", 0.0)},
    "ring",
    labels={"modes_covered": "modes", "high_quality_fraction": "HQ fraction"},
)
def _ring(ctx: EvalContext, n: int) -> dict[str, float]:
    centers, std = ring_modes(ctx.data.info.name)
    return ring_coverage(ctx.generated(n), centers, std)


@metric(
    "parzen_ll",
    {"parzen_ll": ("max", -INF), "parzen_sigma": (None, None)},
    "samples",
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
    "samples",
    labels={"cycle_l1": "cycle L1"},
    tasks=("translate",),
)
def _cycle_l1(ctx: EvalContext, n: int) -> dict[str, float]:
    return {"cycle_l1": cycle_l1(ctx.source[:n], ctx.reconstructed[:n])}


@metric(
    "translation_accuracy",
    {"translation_accuracy": ("max", 0.0), "translation_accuracy_mean": ("max", 0.0)},
    "labels",
    labels={"translation_accuracy": "transl. acc.", "translation_accuracy_mean": "transl. acc. (mean)"},
    tasks=("translate",),
)
def _translation_accuracy(ctx: EvalContext, n: int) -> dict[str, float]:
    # The mean over both directions is added by the translate evaluator, which sees both.
    return {"translation_accuracy": translation_accuracy(ctx.target_logits(n), ctx.labels[:n])}


@dataclass
class ModifyContext(EvalContext):
    """The ``modify`` task's context: ``samples`` are the modified images; these are what they were made from."""

    inputs: torch.Tensor | None = None  # the images each output was conditioned on
    targets: torch.Tensor | None = None  # the target label y_t of each output
    input_index: torch.Tensor | None = None  # each input's row in train_reference()
    train_reference: Callable[[], torch.Tensor] | None = None  # training images the nearest neighbours come from


NEAREST_MAX = 500  # outputs the memorisation test checks: each is compared with every reference training image


@metric("target_accuracy", {"target_accuracy": ("max", 0.0)}, "embeddings", labels={"target_accuracy": "target acc."},
        tasks=("modify",))  # fmt: skip
def _target_accuracy(ctx: ModifyContext, n: int) -> dict[str, float]:
    # The scoring classifier (the extractor), never the network the generator trained against.
    return {"target_accuracy": target_accuracy(ctx.embedded(n).logits, ctx.targets[:n])}


# No direction: a smaller change is not better in itself (no change at all fails every target label).
@metric("delta_l1", {"delta_l1": (None, None)}, "images", labels={"delta_l1": "|Δ|"}, tasks=("modify",))
def _delta_l1(ctx: ModifyContext, n: int) -> dict[str, float]:
    return {"delta_l1": delta_l1(ctx.generated(n), ctx.inputs[:n])}


@metric("nearest_is_input", {"nearest_is_input": ("max", 0.0)}, "images", labels={"nearest_is_input": "NN = input"},
        tasks=("modify",))  # fmt: skip
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


def default_metrics(dataset: str, task: str = "generate") -> tuple[str, ...]:
    if task == "translate" and not dataset_info(dataset).num_classes:
        return ("cycle_l1",)  # unlabelled real pairs: no classifier, and Inception metrics need its weights
    if task != "generate":
        return get_task(task).default_metrics
    if dataset_info(dataset).kind != "points":
        return DEFAULT_METRICS
    try:
        ring_modes(dataset)
    except ValueError:
        return tuple(m for m in DEFAULT_POINT_METRICS if m != "ring")
    return DEFAULT_POINT_METRICS


def check_metrics(names, dataset: str, task: str = "generate") -> list[str]:
    """Resolve ``names`` and check each applies to ``dataset`` and ``task``; raises ValueError with one line."""
    entries, info = resolve_metrics(names), dataset_info(dataset)
    for e in entries:
        if task not in METRICS[e].tasks:
            fits = [m for m in metric_names() if task in METRICS[m].tasks]
            raise ValueError(f"metric {e} does not apply to the {task} task; its metrics: {', '.join(fits)}")
        needs = METRICS[e].needs
        if needs == "labels" and not info.num_classes:
            raise ValueError(f"metric {e} needs labelled domains (a classifier per domain); dataset {dataset} has "
                             "no labels: drop it from --metrics")  # fmt: skip
        if needs == "images" and info.kind not in ("image", "pair"):
            raise ValueError(f"metric {e} needs images; dataset {dataset} holds {info.kind}")
        if needs == "ring":
            try:
                ring_modes(dataset)
            except ValueError as err:
                raise ValueError(f"metric {e} needs a Gaussian-ring dataset: {err}") from err
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
    return any(METRICS[e].needs == "embeddings" for e in resolve_metrics(names))


def _as_extractor(embedder, data: Dataset) -> FeatureExtractor | None:
    """A FeatureExtractor as is; a bare classifier module wrapped as the classifier path."""
    if embedder is None or isinstance(embedder, FeatureExtractor):
        return embedder
    from trainables.features.classifier import ClassifierFeatures

    return ClassifierFeatures(embedder, data.info.name)


class Evaluator(TaskEvaluator):
    """The ``generate`` task's evaluator: the selected metrics on n generated samples."""

    def __init__(
        self,
        data: Dataset,
        embedder: FeatureExtractor | torch.nn.Module | None,
        metrics=None,
        *,
        samples: dict[str, int] | None = None,
        every: dict[str, int] | None = None,
        cache_references: bool = True,
    ):
        """``samples``/``every``: per-metric generated-sample count and epoch period, keyed by metric name
        (or one of its result keys); a metric not named uses every sample it is given, every epoch."""
        self.data = data
        self.metrics = tuple(check_metrics(metrics or default_metrics(data.info.name), data.info.name))
        self.extractor = _as_extractor(embedder, data)
        kind = default_feature_kind(data.info.name)
        self.feature_path = self.extractor.path if self.extractor else feature_path(kind, data.info.name)
        self.samples = {resolve_metrics([k])[0]: int(v) for k, v in (samples or {}).items()}
        self.every = {resolve_metrics([k])[0]: int(v) for k, v in (every or {}).items()}
        # Real references never change: subset them once per trial, embed them once per cache (trainables.references).
        self.cache_references = cache_references
        self._real: dict[str, torch.Tensor] = {}
        self._reference: dict[str, Reference] = {}

    @property
    def feature_identity(self) -> dict[str, str]:
        """Feature path, weights SHA-256 and resizer: recorded with every result."""
        if self.extractor is not None:
            return {**self.extractor.identity(), "feature_path": self.feature_path}
        return {"feature_path": self.feature_path, "feature_weights_sha256": "none", "resizer": "none"}

    def real_x(self, which: str) -> torch.Tensor:
        if which not in self._real:
            x = {"test": self.data.test_x, "train": self.data.train_x}[which]
            if len(x) > REFERENCE_MAX:  # fixed seeded subset: the same reference every epoch and every trial
                x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:REFERENCE_MAX]]
            self._real[which] = as_float(x)
        return self._real[which]

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
        """Metrics to compute at ``epoch`` (1-based): every k-th epoch and the last; all when epoch is None."""
        if epoch is None or final:
            return list(self.metrics)
        return [m for m in self.metrics if epoch % self.every.get(m, 1) == 0]

    def samples_needed(self, epoch: int | None = None, final: bool = False, available: int = 1000) -> int:
        """Generated samples to draw at ``epoch``: the most any due metric uses (``available`` for unset counts)."""
        return max((self.samples.get(m, available) for m in self.due(epoch, final)), default=0)

    def worst(self) -> dict[str, float]:
        """Each selected metric's worst value: what a diverged trial reports so ASHA and TPE rank it last."""
        return {k: w for m in self.metrics for k, (_, w) in METRICS[m].keys.items() if w is not None}

    def __call__(self, samples: torch.Tensor, epoch: int | None = None, final: bool = False) -> dict[str, float]:
        due = self.due(epoch, final)
        counts = {m: min(self.samples.get(m, len(samples)), len(samples)) for m in due}
        n_embed = max((counts[m] for m in due if METRICS[m].needs == "embeddings"), default=0)
        ctx = EvalContext(self.data, samples, self.extractor, self.reference, self.real_x, n_embed,
                          reference_entry=self.reference_entry)  # fmt: skip
        out: dict[str, float] = {}
        for name in due:
            out.update(METRICS[name].fn(ctx, counts[name]))
        return out


def evaluator_from_config(config: dict, data: Dataset, device: str | torch.device = "cpu") -> Evaluator:
    """The Evaluator a trial's config asks for; loads a feature network only when a selected metric needs one."""
    from trainables.features import build_extractor

    metrics = config.get("metrics") or default_metrics(data.info.name)
    weights = config.get("inception_weights")
    kind = canonical_kind(config.get("features") or default_feature_kind(data.info.name, weights))
    extractor = None
    if needs_extractor(metrics):
        check_feature_metrics(metrics, kind)
        extractor = build_extractor(kind, data.info.name, inception_weights=weights, data_root=config.get("data_root"),
                                    device=device, feature_weights=config.get("feature_weights"),
                                    resizer=config.get("resizer"))  # fmt: skip
    default_n = int(config.get("eval_samples", 1000))
    given = {resolve_metrics([k])[0]: int(v) for k, v in (config.get("metric_samples") or {}).items()}
    samples = {m: given.get(m, default_n) for m in resolve_metrics(metrics)}
    ev = Evaluator(data, extractor, metrics, samples=samples, every=config.get("metric_every") or {},
                   cache_references=config.get("reference_cache", True))  # fmt: skip
    ev.feature_path = feature_path(kind, data.info.name)
    return ev
