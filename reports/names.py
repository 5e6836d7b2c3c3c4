"""How methods are named in tables and figures: ``deli_fisher`` is a command-line key, "Deli-Fisher GAN" a name a
reader knows. Each method carries its display name in the registry; one that has none (or that cannot be loaded
here, e.g. a researcher's own method whose module is not importable) keeps its key."""

from __future__ import annotations

from functools import cache


@cache
def display_name(method: str) -> str:
    from trainables.registry import MethodError, get_method

    try:
        return get_method(method).display_name or method
    except MethodError:
        return method


DATASET_NAMES = {"mnist5k": "MNIST", "mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}


def feature_label(feature_path: str) -> str:
    """Which network the scores come from, as a reader says it: ``classifier:mnist5k`` → "MNIST classifier"."""
    if feature_path.startswith("classifier:"):
        dataset = feature_path.removeprefix("classifier:")
        return f"{DATASET_NAMES.get(dataset, dataset)} classifier"
    return {"inception-v3": "Inception-v3", "raw": "", "n/a": ""}.get(feature_path, feature_path)
