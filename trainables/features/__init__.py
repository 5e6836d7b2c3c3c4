"""Feature extractors: the networks that turn samples into the vectors the metrics compare.

Three paths, each named in every result so numbers from different paths are never mixed:

- ``classifier:<dataset>`` — the domain classifier trained on the dataset (``trainables.classifier``,
  paper 004's embedder). ``logits`` are its logits (DDM, the Inception Score via softmax);
  ``features`` its 1,024-d penultimate activations (FID, KID, precision/recall), playing the role
  Inception's 2,048-d pool plays in the published protocol. The default for labelled image sets.
- ``inception-v3`` — torch-fidelity's TF-ported Inception-v3, the network of the published IS/FID
  numbers: ``logits`` = ``logits_unbiased`` (IS), ``features`` = the 2,048-d pool (FID/KID/PR).
  Weights are never downloaded; see ``trainables.features.inception``.
- ``raw`` — the samples themselves, flattened (point datasets such as ``ring8``).
"""

from __future__ import annotations

import torch

from trainables.data import dataset_info

# Part of this package's interface; defined in base so the extractor modules need not import this package.
from trainables.features.base import Embeddings, FeatureExtractor, feature_path

__all__ = ["Embeddings", "FeatureExtractor", "feature_path"]

FEATURE_KINDS = ("classifier", "inception-v3", "raw")


class RawFeatures(FeatureExtractor):
    """The samples themselves: for 2-D point sets the coordinates are the natural embedding."""

    path = "raw"

    def embed(self, x: torch.Tensor) -> Embeddings:
        flat = x.detach().to("cpu", torch.float64).flatten(1)
        return Embeddings(flat, flat)


def default_feature_kind(dataset: str, inception_weights: str | None = None) -> str:
    """Inception when weights were given, else the domain classifier, and ``raw`` for point sets."""
    info = dataset_info(dataset)
    if info.kind == "points":
        return "raw"
    if info.kind == "pair" and not info.num_classes:  # unlabelled real pairs have no domain classifier
        return "inception-v3"
    return "inception-v3" if inception_weights else "classifier"


def check_feature_kind(kind: str, dataset: str) -> None:
    """Raise ValueError (one line) when ``kind`` cannot embed ``dataset``."""
    info = dataset_info(dataset)
    if kind not in FEATURE_KINDS:
        raise ValueError(f"unknown feature path {kind!r}; valid: {', '.join(FEATURE_KINDS)}")
    if info.kind == "points" and kind != "raw":
        raise ValueError(f"dataset {dataset} holds points, not images: only the 'raw' feature path applies")
    if info.kind == "image" and kind == "raw":
        raise ValueError(f"the 'raw' feature path is for point datasets; use classifier or inception-v3 for {dataset}")
    if kind == "classifier" and not info.num_classes:
        raise ValueError(f"dataset {dataset} has no labels, so no domain classifier; use --features inception-v3")


def build_extractor(
    kind: str,
    dataset: str,
    *,
    inception_weights: str | None = None,
    data_root: str | None = None,
    device: str | torch.device = "cpu",
) -> FeatureExtractor:
    check_feature_kind(kind, dataset)
    if kind == "raw":
        return RawFeatures()
    if kind == "classifier":
        from trainables.classifier import load_classifier
        from trainables.features.classifier import ClassifierFeatures

        model, _ = load_classifier(dataset, data_root)
        return ClassifierFeatures(model, dataset, device=device)
    from trainables.features.inception import InceptionFeatures

    return InceptionFeatures(inception_weights, device=device)


__all__ = [
    "FEATURE_KINDS",
    "Embeddings",
    "FeatureExtractor",
    "RawFeatures",
    "build_extractor",
    "check_feature_kind",
    "default_feature_kind",
    "feature_path",
]
