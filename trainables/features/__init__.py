"""Feature extractors: the networks that turn samples into the vectors the metrics compare.

Three paths, each named in every result so numbers from different paths are never mixed:

- ``classifier:<dataset>`` — the domain classifier trained on the dataset (``trainables.classifier``,
  paper 004's embedder). ``logits`` are its logits (DDM, the Inception Score via softmax);
  ``features`` its 1,024-d penultimate activations (FID, KID, precision/recall), playing the role
  Inception's 2,048-d pool plays in the published protocol. The default for labelled image sets.
- ``inception-v3`` — torch-fidelity's TF-ported Inception-v3, the network of the published IS/FID
  numbers: ``logits`` = ``logits_unbiased`` (IS), ``features`` = the 2,048-d pool (FID/KID/PR).
  Weights are never downloaded; see ``trainables.features.inception``.
- ``dinov2-vitb14``, ``dinov2-vitl14``, ``clip-vitl14`` — DINOv2 ViT-B/14 and ViT-L/14, CLIP ViT-L/14
  (``trainables.features.vit``): ``features`` only (no class logits, so no IS or DDM on these paths).
- ``raw`` — the samples themselves, flattened (point datasets such as ``ring8``).

A network path is identified by three things, all recorded with every result: the path, the SHA-256 of its weights
file and the resizer (``trainables.features.resize``; ``none`` where images enter at their own size).
"""

from __future__ import annotations

import torch

from trainables.data import dataset_info

# Part of this package's interface; defined in base so the extractor modules need not import this package.
from trainables.features.base import Embeddings, FeatureExtractor, feature_path

FEATURE_KINDS = ("classifier", "inception-v3", "dinov2-vitb14", "dinov2-vitl14", "clip-vitl14", "raw")
ALIASES = {"inception": "inception-v3"}  # --features inception names the Inception-v3 path
VIT_KINDS = ("dinov2-vitb14", "dinov2-vitl14", "clip-vitl14")
NO_LOGITS = VIT_KINDS  # paths whose Embeddings.logits are empty: no IS, DDM, accuracy metrics
FEATURE_CHOICES = (*FEATURE_KINDS, *ALIASES)


def canonical_kind(kind: str | None) -> str | None:
    """The recorded name of a feature path (``inception`` → ``inception-v3``)."""
    return ALIASES.get(kind, kind) if kind else kind


def default_resizer(kind: str) -> str:
    """clean-fid's resize for the ViT paths; torch-fidelity's TF-compatible one for Inception-v3 (published FIDs);
    none where images enter at their own size."""
    kind = canonical_kind(kind)
    return "clean" if kind in VIT_KINDS else "legacy" if kind == "inception-v3" else "none"


def check_resizer(kind: str, resizer: str | None) -> str:
    """The resizer ``kind`` uses (``resizer`` or its default); ValueError (one line) when it does not apply."""
    from trainables.features.resize import RESIZERS

    default = default_resizer(kind)
    if resizer in (None, "", default):
        return default
    if default == "none":
        raise ValueError(f"--resizer applies to the network feature paths only; {kind} takes images at their size")
    if resizer not in RESIZERS:
        raise ValueError(f"unknown resizer {resizer!r}; valid: {', '.join(RESIZERS)}")
    return resizer


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
    info, kind = dataset_info(dataset), canonical_kind(kind)
    if kind not in FEATURE_KINDS:
        raise ValueError(f"unknown feature path {kind!r}; valid: {', '.join(FEATURE_KINDS)}")
    if info.kind == "points" and kind != "raw":
        raise ValueError(f"dataset {dataset} holds points, not images: only the 'raw' feature path applies")
    if info.kind == "image" and kind == "raw":
        raise ValueError(
            f"the 'raw' feature path is for point datasets; use classifier, inception-v3 or a DINOv2/CLIP "
            f"path for {dataset}"
        )
    if kind == "classifier" and not info.num_classes:
        raise ValueError(f"dataset {dataset} has no labels, so no domain classifier; use --features inception-v3")


def build_extractor(
    kind: str,
    dataset: str,
    *,
    inception_weights: str | None = None,
    data_root: str | None = None,
    device: str | torch.device = "cpu",
    feature_weights: str | None = None,
    resizer: str | None = None,
) -> FeatureExtractor:
    """The extractor of ``kind`` for ``dataset``. ``feature_weights``: the network's weights file (for Inception-v3
    ``inception_weights`` is the same); ``resizer``: ``clean`` / ``legacy`` (default: the path's)."""
    kind = canonical_kind(kind)
    check_feature_kind(kind, dataset)
    resizer = check_resizer(kind, resizer)
    if kind == "raw":
        return RawFeatures()
    if kind == "classifier":
        from trainables.classifier import load_classifier
        from trainables.features.classifier import ClassifierFeatures

        model, _ = load_classifier(dataset, data_root)
        return ClassifierFeatures(model, dataset, device=device)
    if kind in VIT_KINDS:
        from trainables.features.vit import VitFeatures

        return VitFeatures(kind, feature_weights, resizer=resizer, device=device)
    from trainables.features.inception import InceptionFeatures

    return InceptionFeatures(feature_weights or inception_weights, device=device, resizer=resizer)


__all__ = [
    "ALIASES",
    "FEATURE_CHOICES",
    "FEATURE_KINDS",
    "NO_LOGITS",
    "VIT_KINDS",
    "canonical_kind",
    "check_resizer",
    "default_resizer",
    "Embeddings",
    "FeatureExtractor",
    "RawFeatures",
    "build_extractor",
    "check_feature_kind",
    "default_feature_kind",
    "feature_path",
]
