"""Score samples from any generator against a dataset: ``python -m trainables.metrics score``.

    python -m trainables.metrics score --samples FILE.npz --dataset mnist5k [--metrics fid,kid,...]
        [--features classifier|inception-v3|raw] [--inception-weights FILE] [--data-root DIR]

FILE.npz holds one array (or one named ``samples``/``x``/``images``): images as uint8 in [0, 255] or
floats in [-1, 1], N×C×H×W or N×H×W×C (grey may be N×H×W), or points N×D. They are scored with the
same metric code, feature path and real reference sets as the searches, and printed as a table.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from trainables.data import DataError, dataset_info, dataset_names, load_dataset
from trainables.metrics.sample_file import SampleFileError, check_count, read_samples


class ScoreError(ValueError):
    """Bad input: one line on stderr, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    from trainables.evaluate import metric_names

    p = argparse.ArgumentParser(prog="python -m trainables.metrics", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score", help="score an .npz of samples against a dataset and print a table")
    s.add_argument("--samples", required=True, help="an .npz file holding the samples")
    s.add_argument("--dataset", required=True, help=f"reference dataset: {', '.join(dataset_names())}")
    metrics_help = f"comma-separated: {', '.join(metric_names())} (default: IS, DDM, FID, KID, precision/recall)"
    s.add_argument("--metrics", default=None, help=metrics_help)
    features_help = "feature path (default: classifier, or inception-v3 when --inception-weights is given)"
    from trainables.features import FEATURE_CHOICES

    s.add_argument("--features", default=None, choices=list(FEATURE_CHOICES), help=features_help)
    s.add_argument("--inception-weights", default=None, help="torch-fidelity Inception-v3 weights file")
    s.add_argument("--feature-weights", default=None, help="weights file of a DINOv2/CLIP --features network")
    s.add_argument("--resizer", default=None, choices=["clean", "legacy"], help="resize of the network paths")
    s.add_argument("--data-root", default=None, help="folder holding real datasets (never downloaded)")
    return p


def default_score_metrics(dataset: str) -> list[str]:
    from trainables.evaluate import default_metrics

    if dataset_info(dataset).kind == "points":
        return [*default_metrics(dataset), "ddm_goldberger", "precision_recall", "parzen_ll"]
    return ["inception_score", "ddm", "ddm_goldberger", "fid", "kid", "precision_recall"]


def load_samples(path: str, shape: tuple[int, ...]) -> torch.Tensor:
    """The samples in ``path`` as float32 in [-1, 1] (images) or as they are (points), shaped N×``shape``."""
    try:  # header first: sizes are checked before anything is allocated
        x = read_samples(path)
    except SampleFileError as e:
        raise ScoreError(str(e)) from None
    if len(shape) == 3 and x.ndim == 3 and shape[0] == 1:
        x = x[:, None]  # N×H×W grey
    if len(shape) == 3 and x.ndim == 4 and x.shape[1:] != shape and x.shape[1:] == (*shape[1:], shape[0]):
        x = x.transpose(0, 3, 1, 2)  # N×H×W×C
    if x.shape[1:] != shape:
        raise ScoreError(f"--samples: arrays of shape N×{'×'.join(map(str, shape))} expected for this dataset, "
                         f"got {'×'.join(map(str, x.shape))}")  # fmt: skip
    try:
        check_count(x, path)
    except SampleFileError as e:
        raise ScoreError(str(e)) from None
    if x.dtype == np.uint8:
        return torch.from_numpy(x.astype(np.float32) / 127.5 - 1.0)
    if not np.issubdtype(x.dtype, np.floating) or not np.isfinite(x).all():
        raise ScoreError(f"--samples: expected uint8 or finite float values, got {x.dtype}")
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if len(shape) == 3 and (t.min() < -1.0001 or t.max() > 1.0001):
        raise ScoreError(f"--samples: float images must lie in [-1, 1] (got [{t.min():.3g}, {t.max():.3g}])")
    return t


def score(args: argparse.Namespace) -> tuple[dict[str, float], str, int]:
    from trainables.evaluate import LOGIT_METRICS, check_feature_metrics, check_metrics, evaluator_from_config
    from trainables.features import NO_LOGITS, canonical_kind, check_feature_kind, check_resizer, default_feature_kind

    info = dataset_info(args.dataset)
    features = canonical_kind(args.features or default_feature_kind(args.dataset, args.inception_weights))
    default = [m for m in default_score_metrics(args.dataset) if features not in NO_LOGITS or m not in LOGIT_METRICS]
    metrics = check_metrics(args.metrics or default, args.dataset)
    check_feature_kind(features, args.dataset)
    check_feature_metrics(metrics, features)
    check_resizer(features, args.resizer)
    samples = load_samples(args.samples, tuple(info.shape))
    data = load_dataset(args.dataset, args.data_root)
    config = {"metrics": metrics, "features": features, "inception_weights": args.inception_weights,
              "feature_weights": args.feature_weights, "resizer": args.resizer, "data_root": args.data_root,
              "eval_samples": len(samples)}  # fmt: skip
    evaluator = evaluator_from_config(config, data)
    return evaluator(samples), evaluator.feature_path, len(samples)


def print_table(results: dict[str, float], path: str, n: int, args: argparse.Namespace) -> None:
    print(f"samples: {args.samples} (n = {n})  dataset: {args.dataset}  feature path: {path}")
    width = max(len(k) for k in results)
    print(f"{'metric':<{width}}  value")
    for k, v in results.items():
        print(f"{k:<{width}}  {v:.6g}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.manual_seed(0)
    try:
        results, path, n = score(args)
    except (ScoreError, DataError, ValueError) as e:  # ValueError: metric/feature checks, missing weights
        print(f"error: {e}", file=sys.stderr)
        return 2
    print_table(results, path, n, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
