"""The command line of ``python -m tuner.search``: the parser, and every check of the arguments that runs
before anything is started or written (a bad value prints one line and exits with status 2), and the
fixed per-trial config the arguments give."""

from __future__ import annotations

import argparse
from pathlib import Path

from trainables.augmentation import AUGMENTS
from trainables.data import check_data_root, dataset_info, dataset_names, load_dataset
from trainables.evaluate import (
    check_feature_metrics,
    check_metrics,
    default_metrics,
    metric_modes,
    metric_names,
    needs_extractor,
)
from trainables.features import (
    FEATURE_CHOICES,
    NO_LOGITS,
    VIT_KINDS,
    canonical_kind,
    check_feature_kind,
    check_resizer,
    default_feature_kind,
    feature_path,
)
from trainables.nets import NetOptions, NetworkError, network_family
from trainables.nets.conditional import CONDITIONS
from trainables.pair_data import PAIR_IMAGE_SIZE, load_real_pair
from trainables.protocols import PROTOCOLS, protocol_g_steps
from trainables.registry import MethodError, get_method, method_names, method_search_path
from trainables.tasks import TASKS, Task
from trainables.trial_config import SHARED_DEFAULTS
from tuner import optuna_storage

# Metrics a search can optimise, and which way is better, from the metric registry: fid, kid, ddm,
# ddm_relative, ddm_goldberger min; inception_score, precision, recall, density, coverage, modes_covered,
# high_quality_fraction, parzen_ll max; ms_ssim min (a diversity score: lower = more diverse samples).
MODES = metric_modes()
DEFAULT_METRIC = {"image": "inception_score", "points": "modes_covered"}


class UsageError(ValueError):
    """Bad user input: reported as one line on stderr, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints a usage block first; bad input is one line here
        self.exit(2, f"error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="python -m tuner.search",
        description="Hyperparameter search for a GAN method with Optuna (TPE) + ASHA on Ray Tune, logged to MLflow.",
    )
    p.add_argument("method", nargs="?", help=f"GAN method: {', '.join(method_names())}, or PKG.MODULE:NAME "
                   "for a method defined in your own module")  # fmt: skip
    p.add_argument("--list", nargs="?", const=True, default=False, metavar="PKG.MODULE",
                   help="list the methods (or those a module of yours defines) and exit")  # fmt: skip
    p.add_argument("--dataset", default=None, help=f"dataset: {', '.join(dataset_names())} (default: the "
                   "method's, mnist5k for most; mnist5k-digits for the translate methods)")  # fmt: skip
    p.add_argument("--data-root", default=None, help="folder holding real datasets (never downloaded)")
    p.add_argument("--image-size", type=int, default=None, help="side in px real two-domain sets (translate "
                   f"methods) are resized to (default {PAIR_IMAGE_SIZE})")  # fmt: skip
    p.add_argument("--trials", type=int, default=64, help="number of trials (default 64)")
    p.add_argument("--epochs", type=int, default=4, help="max epochs per trial, ASHA's budget (default 4)")
    p.add_argument("--grace-period", type=int, default=1, help="ASHA: epochs before a trial can be stopped")
    p.add_argument("--reduction-factor", type=float, default=3, help="ASHA reduction factor (default 3)")
    p.add_argument("--concurrency", type=int, default=2, help="trials running at once (default 2)")
    p.add_argument("--cpus-per-trial", type=float, default=1, help="CPUs per trial (default 1)")
    p.add_argument("--gpus-per-trial", type=float, default=0, help="GPUs per trial, fractions allowed (default 0)")
    p.add_argument("--workers-per-trial", type=int, default=1, help="train each trial data-parallel on N Ray Train "
                   "workers (DDP-style gradient averaging; NCCL on GPUs, gloo on CPUs), each with --cpus-per-trial "
                   "and --gpus-per-trial; --batch-size is the global batch (default 1)")  # fmt: skip
    p.add_argument("--metric", default=None, help=f"metric to optimise: {', '.join(MODES)} "
                   "(default: inception_score for images, modes_covered for points, ddm otherwise); 2-3 of them, "
                   "e.g. inception_score,ddm, run a multi-objective search with a Pareto front (ASHA then stops "
                   "trials on the first metric; --scheduler fifo trains all to the end)")  # fmt: skip
    add_strategy_arguments(p)
    p.add_argument("--metrics", default=None, help=f"metrics reported per epoch: {', '.join(metric_names())} "
                   "(default: inception_score,ddm for images; ring,ddm for point sets)")  # fmt: skip
    p.add_argument("--metric-samples", default="", help="per-metric generated-sample counts, e.g. fid=5000,kid=2000 "
                   "(default: --eval-samples for each)")  # fmt: skip
    p.add_argument("--metric-every", default="", help="compute expensive metrics every k epochs (and at the last), "
                   "e.g. fid=5,precision_recall=5 (default 1; the optimised metric must stay at 1)")  # fmt: skip
    p.add_argument("--features", default=None, choices=list(FEATURE_CHOICES), metavar="PATH",
                   help="feature path for the metrics: classifier (the dataset's classifier; default for images), "
                   "inception (= inception-v3; default when --inception-weights is given), dinov2-vitb14, "
                   "dinov2-vitl14, clip-vitl14 (no class logits: FID/KID/FD∞/PR/memorisation metrics only) or raw "
                   "(point sets)")  # fmt: skip
    p.add_argument("--feature-weights", default=None, metavar="FILE", help="weights file of the --features network "
                   "(else its published file name in the torch hub cache; never downloaded)")  # fmt: skip
    p.add_argument("--resizer", default=None, choices=["clean", "legacy"], help="how images reach a network's input "
                   "size: clean (clean-fid's PIL bicubic; default for DINOv2/CLIP) or legacy (torch-fidelity's "
                   "TF-compatible bilinear; default for Inception-v3)")  # fmt: skip
    p.add_argument("--final-features", default=None, choices=list(FEATURE_CHOICES), metavar="PATH",
                   help="feature path the finals are scored on (default: --features), e.g. dinov2-vitl14 after a "
                   "search on dinov2-vitb14")  # fmt: skip
    p.add_argument("--final-feature-weights", default=None, metavar="FILE", help="weights file of --final-features")
    p.add_argument("--no-reference-cache", dest="reference_cache", action="store_false", help="embed the real "
                   "references in every trial instead of once per cache ($GAN_TUNER_CACHE/references)")  # fmt: skip
    p.add_argument("--inception-weights", default=None, help="torch-fidelity Inception-v3 weights file (else "
                   "$GAN_TUNER_INCEPTION_WEIGHTS, else the torch hub cache; never downloaded)")  # fmt: skip
    p.add_argument("--eval-samples", type=int, default=1000, help="generated samples scored per epoch")
    p.add_argument("--width", type=int, default=SHARED_DEFAULTS["width"], help="network width (DCGAN ngf/ndf; "
                   f"default {SHARED_DEFAULTS['width']} for CPU)")  # fmt: skip
    p.add_argument("--batch-size", type=int, default=SHARED_DEFAULTS["batch_size"])
    p.add_argument("--g-steps", type=int, default=None, help="generator steps per critic round (default: the "
                   "method's; 2 for the RFGAN methods, as paper 003 trains them)")  # fmt: skip
    p.add_argument("--condition", default=None, metavar="KIND", help="train class-conditionally on a labelled "
                   f"dataset: {', '.join(CONDITIONS)} (default: the method's; cgan, acgan and cgan_projection are "
                   "conditional, every other generate method with an image critic can be made so)")  # fmt: skip
    p.add_argument("--protocol", default="method", choices=list(PROTOCOLS), help="training protocol of a "
                   "comparison; rfgan: paper 003's for all arms (2 G steps per D step; WGAN-GP 1 per 5)")  # fmt: skip
    p.add_argument(
        "--train-limit",
        type=int,
        default=None,
        help="train on at most N evenly spaced training samples (quick smoke searches; default: all)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler and of every trial")
    p.add_argument("--mlflow-uri", default=None, help="MLflow tracking URI (default: sqlite:///./mlflow.db)")
    p.add_argument("--storage", default="ray_results", help="Ray results folder or URI (default ./ray_results)")
    p.add_argument("--name", default=None, help="search name: Ray folder and MLflow experiment")
    p.add_argument("--address", default=None, help="join an existing Ray cluster (e.g. 10.0.0.1:6379 or 'auto')")
    p.add_argument("--resume", action="store_true", help="continue the search --name NAME after its driver died: "
                   "finished trials are kept, the others continue from their last checkpoint")  # fmt: skip
    p.add_argument("--trust-storage", action="store_true", help="--resume from a storage folder others can write "
                   "(resuming unpickles state from it: only if you trust everyone who can write there)")  # fmt: skip
    p.add_argument("--amp", action="store_true", help="mixed precision: bfloat16 autocast of the networks (for "
                   "GPUs; on a CPU without AMX it is slower: 1.5x per epoch measured here)")  # fmt: skip
    p.add_argument("--ema", type=float, default=0.0, metavar="DECAY", help="score, sample and save an exponential "
                   "moving average of the generator weights with this decay, e.g. 0.999 (default 0: off)")  # fmt: skip
    p.add_argument("--augment", default="none", choices=list(AUGMENTS), help="augment what the critic sees in "
                   "training, real and generated alike (image generate methods): diffaug (DiffAugment: color, "
                   "translation, cutout), ada (the same ops, each with an adaptive probability p) or none (default); "
                   "sampling and scoring never see it")  # fmt: skip
    # Test-only fault injection (tests/test_faults.py), KIND:EPOCH:MARKER; see trainables/trainable.py.
    p.add_argument("--inject-fault", action="append", default=None, help=argparse.SUPPRESS)
    p.add_argument(
        "--experiment",
        default=None,
        help="MLflow experiment (default: the search name); share one "
        "between searches to compare methods side by side in the UI and in reports.table",
    )
    p.add_argument(
        "--final-seeds",
        type=int,
        default=0,
        help="after the search, re-train the best configuration "
        "with K fresh seeds for the full budget and score it with the paper protocol (default 0: none)",
    )
    p.add_argument(
        "--final-samples",
        type=int,
        default=10000,
        help="samples scored per final run (Inception Score over 10 splits; the papers use 50000)",
    )
    p.add_argument(
        "--optuna-storage",
        default=None,
        help="Optuna study storage URL (default: sqlite optuna.db "
        "beside the MLflow database); the study is named after the search",
    )
    p.add_argument(
        "--sample-every",
        type=int,
        default=1,
        help="log a sample grid to MLflow every k epochs (and at each trial's last epoch; default 1)",
    )
    return p


def add_strategy_arguments(p: argparse.ArgumentParser) -> None:
    """--scheduler, --sampler, --perturbation-interval, --final-front (tuner.schedulers, tuner.samplers)."""
    from tuner.samplers import SAMPLERS
    from tuner.schedulers import SCHEDULERS

    p.add_argument("--scheduler", default="asha", choices=SCHEDULERS, help="asha (default): stop poor trials "
                   "early, on the first --metric; fifo: every trial to --epochs; pbt: population-based training "
                   "(one metric, random initial population)")  # fmt: skip
    p.add_argument("--sampler", default=None, choices=SAMPLERS, help="Optuna sampler: tpe (default; multi-objective "
                   "TPE for several metrics; constant liar when --concurrency > 1), random (compare_gan's design), "
                   "nsga2, cmaes (one metric), gp; seeded with --seed")  # fmt: skip
    p.add_argument("--perturbation-interval", type=int, default=2, help="pbt: epochs between exploit/explore "
                   "steps (default 2)")  # fmt: skip
    p.add_argument("--final-front", type=int, default=3, help="multi-objective --final-seeds: re-train at most "
                   "N configurations of the Pareto front (default 3)")  # fmt: skip


def validate_strategy(args: argparse.Namespace) -> None:
    """Objectives × scheduler × sampler: one line for a combination that cannot work."""
    from tuner.pareto import parse_objectives
    from tuner.samplers import check_sampler
    from tuner.schedulers import check_scheduler

    n = len(parse_objectives(args.metric))
    sampler = getattr(args, "sampler", None)
    scheduler = getattr(args, "scheduler", "asha")
    problem = check_scheduler(scheduler, n, sampler) or check_sampler(sampler or "tpe", n)
    _check(problem is None, problem or "")
    interval = getattr(args, "perturbation_interval", 2)
    _check(interval >= 1, f"--perturbation-interval must be an integer ≥ 1 (got {interval})")
    _check(scheduler != "pbt" or interval < args.epochs, f"--perturbation-interval ({interval}) must be < --epochs "
           f"({args.epochs}), or PBT never exploits")  # fmt: skip
    _check(scheduler != "pbt" or not args.final_seeds, "--final-seeds re-trains fixed configurations, and a PBT "
           "result is a schedule; drop --final-seeds with --scheduler pbt")  # fmt: skip
    _check(getattr(args, "final_front", 3) >= 1, f"--final-front must be an integer ≥ 1 (got {args.final_front})")


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise UsageError(message)


def validate(args: argparse.Namespace) -> None:
    """Every check that can fail before a search starts; raises UsageError with one clear line."""
    _check(args.method is not None, f"missing METHOD; valid: {', '.join(method_names())}")
    try:
        get_method(args.method)
    except MethodError as e:
        raise UsageError(str(e)) from e
    validate_names(args)
    apply_dataset_default(args)
    if getattr(args, "resume", False):  # the stored search's arguments replace the command line's
        from tuner.resume import ResumeError, apply_stored_args

        defaults = build_parser().parse_args([args.method])
        apply_dataset_default(defaults)  # the method's default dataset was not given, so it is no conflict
        try:
            apply_stored_args(args, defaults, storage_path(args.storage))
        except ResumeError as e:
            raise UsageError(str(e)) from e
        apply_dataset_default(args)  # a stored search that left the dataset to its default
    _check(args.dataset in dataset_names(), f"unknown dataset {args.dataset!r}; valid: {', '.join(dataset_names())}")
    for flag, value, low in [
        ("--trials", args.trials, 1), ("--epochs", args.epochs, 1), ("--concurrency", args.concurrency, 1),
        ("--grace-period", args.grace_period, 1), ("--eval-samples", args.eval_samples, 10),
        ("--width", args.width, 1), ("--batch-size", args.batch_size, 2),
        ("--final-seeds", args.final_seeds, 0), ("--final-samples", args.final_samples, 10),
        ("--sample-every", args.sample_every, 1), ("--g-steps", 1 if args.g_steps is None else args.g_steps, 1),
    ]:  # fmt: skip
        _check(value >= low, f"{flag} must be an integer ≥ {low} (got {value})")
    _check(args.grace_period <= args.epochs, f"--grace-period ({args.grace_period}) must be ≤ --epochs ({args.epochs})")
    if args.train_limit is not None:
        _check(
            args.train_limit >= args.batch_size,
            f"--train-limit must be ≥ --batch-size ({args.batch_size}) to fill one batch (got {args.train_limit})",
        )
    _check(0 <= args.ema < 1, f"--ema must be a decay in [0, 1), e.g. 0.999; 0 turns it off (got {args.ema})")
    _check(args.reduction_factor > 1, f"--reduction-factor must be > 1 (got {args.reduction_factor})")
    _check(args.cpus_per_trial > 0, f"--cpus-per-trial must be > 0 (got {args.cpus_per_trial})")
    _check(args.gpus_per_trial >= 0, f"--gpus-per-trial must be ≥ 0 (got {args.gpus_per_trial})")
    validate_workers(args)
    method, info = get_method(args.method), dataset_info(args.dataset)  # what the method can train on comes first
    _check(info.kind in method.kinds, f"method {args.method} cannot train on {info.kind} data ({args.dataset})")
    _check(
        not TASKS[method.task].needs_labels or info.num_classes > 0,
        f"method {args.method} conditions on class labels; dataset {args.dataset} has no labels (pick a labelled set)",
    )
    validate_metrics(args)
    try:  # e.g. an image size no network supports
        if method.task == "generate":  # the translate networks are built for any image size
            network_family(info, NetOptions(**method.net_options))
    except NetworkError as e:
        raise UsageError(f"method {args.method} on {args.dataset}: {e}") from e
    validate_condition(args)
    validate_augment(args)
    size = getattr(args, "image_size", None)
    _check(size is None or (info.kind == "pair" and not info.embedded), "--image-size applies to real two-domain "
           f"datasets (translate methods); {args.dataset} has a fixed size: drop --image-size")  # fmt: skip
    _check(size is None or 16 <= size <= 512, f"--image-size must be in [16, 512] (got {size})")
    if not info.embedded:  # real data: the layout first (one line naming it), then parse it before anything starts
        check_data_root(args.dataset, args.data_root)
        if info.kind == "pair":
            load_real_pair(args.dataset, args.data_root, size or PAIR_IMAGE_SIZE)
        else:
            load_dataset(args.dataset, args.data_root)
    if args.mlflow_uri and args.mlflow_uri.startswith("sqlite:///"):
        parent = Path(args.mlflow_uri.removeprefix("sqlite:///")).expanduser().resolve().parent
        _check(parent.is_dir(), f"--mlflow-uri: folder {parent} does not exist; create it or pick another path")
    if args.optuna_storage:
        problem = optuna_storage.check_storage_url(args.optuna_storage)
        _check(problem is None, problem or "")
    validate_limits(args)
    validate_runtime(args)


def trial_condition_of(args: argparse.Namespace) -> str:
    """--condition, else the method's own conditioning ("" for an unconditional method or an unknown name)."""
    if getattr(args, "condition", None):
        return args.condition
    try:
        return get_method(args.method).condition
    except MethodError:
        return ""


def validate_condition(args: argparse.Namespace) -> None:
    """Class conditioning needs a generate method with a DCGAN image critic and a labelled dataset."""
    condition = trial_condition_of(args)
    if not condition:
        return
    _check(condition in CONDITIONS, f"--condition must be one of {', '.join(CONDITIONS)} (got {condition!r})")
    method, info = get_method(args.method), dataset_info(args.dataset)
    _check(method.task == "generate", f"--condition applies to generate methods; {args.method} is a {method.task} "
           "method")  # fmt: skip
    _check(info.num_classes > 1, f"{'--condition ' + condition if args.condition else args.method} trains on class "
           f"labels; dataset {args.dataset} has none: pick a labelled set (mnist5k, digits, or mnist, svhn, cifar10 "
           "under --data-root)")  # fmt: skip
    try:
        network_family(info, NetOptions(**{**method.net_options, "condition": condition, "num_classes": 10}))
        if method.net_options.get("mlp") or method.net_options.get("representative_features"):
            raise NetworkError("class conditioning is built for the DCGAN image networks, not this method's")
    except NetworkError as e:
        raise UsageError(f"--condition {condition} with {args.method}: {e}") from e


def augment_choices(args: argparse.Namespace) -> list[str]:
    """Every ``augment`` a trial of this search can get: --augment's, or the categories the method's space searches."""
    domain = get_method(args.method).space().get("augment")
    if domain is None:
        return [getattr(args, "augment", "none") or "none"]
    given = getattr(args, "augment", "none") or "none"
    _check(given == "none", f"method {args.method}'s search space searches augment; drop --augment {given}")
    categories = getattr(domain, "categories", None)
    _check(categories is not None, f"method {args.method}'s search space gives augment a {type(domain).__name__}; "
           f"search it as a categorical, e.g. tune.choice({list(AUGMENTS)})")  # fmt: skip
    for kind in categories:
        _check(kind in AUGMENTS, f"method {args.method}'s search space offers augment {kind!r}; valid: "
               f"{', '.join(AUGMENTS)}")  # fmt: skip
    return [str(kind) for kind in categories]


def validate_augment(args: argparse.Namespace) -> None:
    """--augment (or a searched ``augment``) augments the critic's images: image datasets of generate methods only."""
    augmented = [kind for kind in augment_choices(args) if kind != "none"]
    if not augmented:
        return
    info, task = dataset_info(args.dataset), method_task(args).name
    flag = f"--augment {augmented[0]}" if getattr(args, "augment", "none") != "none" else f"augment {augmented[0]}"
    _check(task == "generate", f"{flag} augments a generator's critic; {args.method} is a {task} method: "
           "drop --augment")  # fmt: skip
    _check(info.kind == "image", f"{flag} augments images; dataset {args.dataset} holds {info.kind} data: drop "
           "--augment or pick an image dataset")  # fmt: skip


def validate_workers(args: argparse.Namespace) -> None:
    """--workers-per-trial: the generate task only, and a global batch that splits evenly over the workers."""
    n = getattr(args, "workers_per_trial", 1)
    _check(1 <= n <= 1024, f"--workers-per-trial must be an integer in [1, 1024] (got {n})")
    if n == 1:
        return
    _check(method_task(args).name == "generate", f"--workers-per-trial {n}: only the generate task trains "
           f"data-parallel; {args.method} is a {method_task(args).name} method, drop --workers-per-trial")  # fmt: skip
    _check(not args.final_seeds, f"--final-seeds re-trains on one worker; drop --final-seeds with --workers-per-trial "
           f"{n}, or re-train the best configuration in a search of its own")  # fmt: skip
    _check(args.batch_size % n == 0, f"--batch-size {args.batch_size} must split evenly over --workers-per-trial "
           f"{n} (it is the global batch); use a multiple of {n}")  # fmt: skip


def validate_names(args: argparse.Namespace) -> None:
    """--name and --experiment become a folder, an experiment and filter values: a fixed set of characters."""
    from tuner.names import name_problem

    for flag, value in (("--name", args.name), ("--experiment", getattr(args, "experiment", None))):
        problem = name_problem(flag, value) if value is not None else None
        _check(problem is None, problem or "")


def validate_limits(args: argparse.Namespace) -> None:
    """Counts, seed, tracking URI scheme, writable folders, batch vs. training set (``tuner.limits``)."""
    from tuner import limits

    for problem in (
        limits.count_problem(args),
        limits.metric_samples_problem(parse_metric_map(args.metric_samples, "--metric-samples")),
        limits.tracking_uri_problem(args.mlflow_uri),
        limits.storage_problems(args),
        limits.batch_problem(args),
        limits.local_resources_problem(args),
    ):
        _check(problem is None, problem or "")


STORAGE_SCHEMES = ("s3", "gs", "gcs", "abfs", "abfss", "hdfs", "file", "memory", "mock")


def validate_runtime(args: argparse.Namespace) -> None:
    """Where the search runs, stores and logs. Unreachable services fail here, before anything is written."""
    from tuner.mlflow_resilient import check_tracking_uri
    from tuner.ray_setup import RayJoinError, check_address

    try:
        parse_faults(getattr(args, "inject_fault", None))
    except ValueError as e:
        raise UsageError(f"--inject-fault: {e}") from e
    scheme = args.storage.split("://", 1)[0] if "://" in args.storage else None
    _check(scheme is None or scheme in STORAGE_SCHEMES, f"--storage: unsupported URI scheme {scheme!r}; use a "
           f"shared filesystem path or one of {', '.join(s + '://' for s in STORAGE_SCHEMES)}")  # fmt: skip
    if scheme is None:
        folder = Path(args.storage).expanduser()
        _check(not folder.exists() or folder.is_dir(), f"--storage {args.storage} is a file; give a folder")
    if args.name and not getattr(args, "resume", False) and scheme is None:
        from tuner.resume import ARGS_FILE, experiment_path

        # A start that failed before Tune saved its experiment state holds no trials: its name may be used again.
        path = Path(experiment_path(storage_path(args.storage), args.name))
        started = (path / ARGS_FILE).exists() and any(path.glob("experiment_state-*.json"))
        _check(not started, f"--name {args.name}: a search of that name exists in {args.storage}; "
               "add --resume to continue it or pick another --name")  # fmt: skip
    if args.address:
        try:
            check_address(args.address)
        except RayJoinError as e:
            raise UsageError(str(e)) from e
    problem = check_tracking_uri(args.mlflow_uri) if args.mlflow_uri else None
    _check(problem is None, problem or "")


FAULT_KINDS = ("nan", "kill", "corrupt")


def parse_faults(specs: list[str] | None) -> list[dict]:
    """``KIND:EPOCH:MARKER`` → [{"kind", "epoch", "marker"}]; plain parsing, nothing is evaluated."""
    faults = []
    for spec in specs or []:
        kind, _, rest = spec.partition(":")
        epoch, _, marker = rest.partition(":")
        if kind not in FAULT_KINDS or not epoch.isdigit() or int(epoch) < 1 or not marker:
            raise ValueError(f"expected KIND:EPOCH:MARKER with KIND in {', '.join(FAULT_KINDS)}, got {spec!r}")
        faults.append({"kind": kind, "epoch": int(epoch), "marker": str(Path(marker).resolve())})
    return faults


def apply_dataset_default(args: argparse.Namespace) -> None:
    """No --dataset: the method's own default (a translate method needs a two-domain set), else mnist5k."""
    if getattr(args, "dataset", None) is None:
        try:
            args.dataset = get_method(args.method).dataset or "mnist5k"
        except MethodError:
            args.dataset = "mnist5k"


def method_task(args: argparse.Namespace) -> Task:
    """The task of --method (``generate`` for a name that does not resolve: its own check reports it)."""
    try:
        return TASKS[get_method(args.method).task]
    except MethodError:
        return TASKS["generate"]


def apply_metric_defaults(args: argparse.Namespace) -> None:
    """Fill --metrics/--metric/--features from the dataset's kind when not given (idempotent)."""
    apply_dataset_default(args)
    info, task = dataset_info(args.dataset), method_task(args)
    conditional = bool(trial_condition_of(args)) and info.num_classes > 1
    if getattr(args, "metrics", None) is None:
        no_logits = canonical_kind(getattr(args, "features", None)) in NO_LOGITS
        chosen = default_metrics(args.dataset, task.name, conditional)
        args.metrics = "fid,fd_inf,kid" if no_logits else ",".join(chosen)
    if getattr(args, "metric", None) is None:
        args.metric = task.default_metric or DEFAULT_METRIC.get(info.kind, "ddm")  # when --metrics reports it
        try:
            reported = [k for k in _reported_keys(args.metrics) if k in MODES]
            if args.metric not in reported and reported:
                args.metric = reported[0]  # the first optimisable metric the user asked for
        except ValueError:
            pass  # an unknown --metrics name: validate_metrics reports it
    if getattr(args, "features", None) is None:
        args.features = default_feature_kind(args.dataset, getattr(args, "inception_weights", None))
    args.features = canonical_kind(args.features)
    if getattr(args, "final_features", None):
        args.final_features = canonical_kind(args.final_features)


def _reported_keys(metrics: str) -> list[str]:
    from trainables.evaluate import METRICS, resolve_metrics

    return [k for m in resolve_metrics(metrics) for k in METRICS[m].keys]


def parse_metric_map(text: str, flag: str) -> dict[str, int]:
    """``fid=5000,kid=2000`` → {"fid": 5000, "kid": 2000}, keyed by registry name; UsageError on bad input."""
    from trainables.evaluate import resolve_metrics

    out = {}
    for item in (t for t in (text or "").split(",") if t):
        name, sep, value = item.partition("=")
        _check(bool(sep) and value.strip().isdigit(), f"{flag}: expected NAME=INTEGER items, got {item!r}")
        try:
            out[resolve_metrics([name.strip()])[0]] = int(value)
        except ValueError as e:
            raise UsageError(f"{flag}: {e}") from e
    return out


def validate_metrics(args: argparse.Namespace) -> None:
    """--metrics, --metric, --features, --inception-weights, --metric-samples/--metric-every: one line each."""
    apply_metric_defaults(args)
    try:
        metrics = check_metrics(args.metrics, args.dataset, method_task(args).name, bool(trial_condition_of(args)))
        check_feature_kind(args.features, args.dataset)
        for kind in {args.features, getattr(args, "final_features", None) or args.features}:
            check_feature_kind(kind, args.dataset)
            check_feature_metrics(metrics, kind)
            check_resizer(kind, getattr(args, "resizer", None))
    except ValueError as e:
        raise UsageError(f"--metrics/--features: {e}") from e
    from tuner.pareto import parse_objectives

    objectives = parse_objectives(args.metric)
    _check(1 <= len(objectives) <= 3 and len(set(objectives)) == len(objectives),
           f"--metric {args.metric!r}: give one metric or 2-3 different ones separated by commas")  # fmt: skip
    reported = _reported_keys(args.metrics)
    for metric in objectives:
        _check(metric in MODES, f"--metric {metric!r} cannot be optimised; valid: {', '.join(MODES)}")
        _check(metric in reported, f"--metric {metric} must be reported by --metrics ({args.metrics})")
    samples = parse_metric_map(args.metric_samples, "--metric-samples")
    every = parse_metric_map(args.metric_every, "--metric-every")
    for flag, values, low in (("--metric-samples", samples, 10), ("--metric-every", every, 1)):
        for m, v in values.items():
            _check(m in metrics, f"{flag}: metric {m} is not among --metrics ({args.metrics})")
            _check(v >= low, f"{flag}: {m} must be ≥ {low} (got {v})")
    for objective in objectives:
        optimised = next(m for m in metrics if objective in _reported_keys(m))
        _check(every.get(optimised, 1) == 1, f"--metric-every: {optimised} is optimised (--metric {args.metric}), "
               "so ASHA and TPE need it every epoch; remove it from --metric-every")  # fmt: skip
    validate_strategy(args)
    if args.features == "inception-v3" and needs_extractor(metrics):
        from trainables.features.inception import resolve_weights
        from tuner.limits import inception_weights_problem

        try:
            weights = resolve_weights(getattr(args, "feature_weights", None) or args.inception_weights)
        except ValueError as e:
            raise UsageError(str(e)) from e
        problem = inception_weights_problem(weights)
        _check(problem is None, problem or "")
    for flag, kind, given in (("--feature-weights", args.features, getattr(args, "feature_weights", None)),
                              ("--final-feature-weights", getattr(args, "final_features", None) or args.features,
                               getattr(args, "final_feature_weights", None))):  # fmt: skip
        _check(not given or kind not in ("classifier", "raw"), f"{flag} is for a network feature path (inception, "
               f"dinov2-*, clip-vitl14); {kind} has no weights file: drop it or pick --features")  # fmt: skip
    if needs_extractor(metrics):
        _feature_weights_sha256(args.features, getattr(args, "feature_weights", None), "--feature-weights")
        if getattr(args, "final_features", None):
            _feature_weights_sha256(args.final_features, getattr(args, "final_feature_weights", None),
                                    "--final-feature-weights")  # fmt: skip


def _feature_weights_sha256(kind: str, weights: str | None, flag: str, inception: str | None = None) -> str | None:
    """SHA-256 of a network path's weights file (UsageError, one line, when it is missing); None for the classifier
    (its identity is its cache key: the training data's fingerprint and the recipe's version) and raw paths."""
    from trainables.features.weights import file_sha256, resolve_weights

    try:
        if kind == "inception-v3":
            from trainables.features.inception import resolve_weights as resolve_inception

            return file_sha256(resolve_inception(weights or inception))
        if kind not in VIT_KINDS:
            return None
        from trainables.features.vit import SPECS

        spec = SPECS[kind]
        return file_sha256(resolve_weights(kind, spec.files, weights, flag, spec.source))
    except ValueError as e:
        raise UsageError(str(e)) from e


def feature_config(args: argparse.Namespace, final: bool = False) -> dict:
    """The config keys that choose and identify the feature path (of the finals' scoring when ``final``)."""
    kind = (getattr(args, "final_features", None) if final else None) or args.features
    weights = getattr(args, "final_feature_weights" if final and args.final_features else "feature_weights", None)
    flag = "--final-feature-weights" if final and args.final_features else "--feature-weights"
    return {
        "features": kind,
        "feature_path": feature_path(kind, args.dataset),  # logged as a param next to every result
        "feature_weights": str(Path(weights).expanduser().resolve()) if weights else None,
        "feature_weights_sha256": _feature_weights_sha256(kind, weights, flag, getattr(args, "inception_weights", None))
        if needs_extractor(args.metrics)
        else None,
        "resizer": check_resizer(kind, getattr(args, "resizer", None)),
    }


def trial_config(args: argparse.Namespace) -> dict:
    """Fixed settings every trial gets, merged under the searched hyperparameters (of validated arguments)."""
    weights = getattr(args, "inception_weights", None)
    return {
        "method": args.method,
        # A method from the user's module: where the driver found it, so every Ray worker imports the same one.
        **({"method_path": path} if (path := method_search_path(args.method)) else {}),
        "dataset": args.dataset,
        "data_root": str(Path(args.data_root).resolve()) if args.data_root else None,
        **({"image_size": args.image_size} if getattr(args, "image_size", None) else {}),
        "epochs": args.epochs,
        "metrics": check_metrics(args.metrics, args.dataset, method_task(args).name, bool(trial_condition_of(args))),
        **({"condition": condition} if (condition := trial_condition_of(args)) else {}),
        "eval_samples": args.eval_samples,
        "metric_samples": parse_metric_map(getattr(args, "metric_samples", ""), "--metric-samples"),
        "metric_every": parse_metric_map(getattr(args, "metric_every", ""), "--metric-every"),
        **feature_config(args),
        # The finals' scoring features where they differ (e.g. DINOv2 ViT-L/14 after a search on ViT-B/14).
        **({"final_features": feature_config(args, final=True)} if getattr(args, "final_features", None) else {}),
        "reference_cache": bool(getattr(args, "reference_cache", True)),
        "inception_weights": str(Path(weights).expanduser().resolve()) if weights else None,
        "width": args.width,
        "batch_size": args.batch_size,
        "g_steps": getattr(args, "g_steps", None) or protocol_g_steps(args.method, getattr(args, "protocol", None)),
        "protocol": getattr(args, "protocol", None) or "method",
        "train_limit": args.train_limit,
        "seed": args.seed,
        "amp": bool(getattr(args, "amp", False)),
        "ema": float(getattr(args, "ema", 0.0) or 0.0),  # scores of an EMA generator differ: recorded with every run
        "augment": getattr(args, "augment", "none") or "none",  # so do an augmented critic's: recorded likewise
        **({"inject_fault": parse_faults(args.inject_fault)} if getattr(args, "inject_fault", None) else {}),
        **worker_config(args),
    }


def worker_config(args: argparse.Namespace) -> dict:
    """Trial-config keys of a multi-worker trial (none for one worker: its config is unchanged)."""
    n = getattr(args, "workers_per_trial", 1)
    if n <= 1:
        return {}
    return {"workers_per_trial": n, "worker_resources": {"CPU": args.cpus_per_trial, "GPU": args.gpus_per_trial}}


def storage_path(storage: str) -> str:
    return storage if "://" in storage else str(Path(storage).expanduser().resolve())
