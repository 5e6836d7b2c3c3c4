"""Scores of class-conditional generation as pure float64 functions (no network: the caller passes logits and
features made by the independent scoring network).

- ``class_accuracy``: the share of samples the scoring classifier assigns the label they were generated for;
- ``intra_fid``: the mean over classes of the FID between the real and the generated samples of each class
  (Miyato & Koyama 2018 §5, pfnet-research/sngan_projection's intra-FID: per-class statistics, then the mean);
- ``accuracy``: the plain accuracy of logits against labels, which the Classification Accuracy Score (Ravuri &
  Vinyals 2019) takes of a classifier trained on generated samples and tested on the real held-out split.
"""

from __future__ import annotations

import torch

from trainables.metrics.fid import fid


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of rows whose arg-max class is the label."""
    if len(logits) != len(labels) or len(logits) == 0:
        raise ValueError(f"need one label per row of logits, at least one (got {len(logits)} and {len(labels)})")
    return float((logits.argmax(1).cpu() == labels.cpu().long()).double().mean())


def class_accuracy(logits: torch.Tensor, generated_labels: torch.Tensor) -> float:
    """Share of generated samples the scoring classifier reads as the label they were generated for."""
    return accuracy(logits, generated_labels)


def intra_fid(
    real: torch.Tensor, real_labels: torch.Tensor, generated: torch.Tensor, generated_labels: torch.Tensor
) -> float:
    """Mean over the classes of the generated samples of FID(real of class k, generated of class k), float64.

    Every class generated must have at least two samples on each side (a covariance needs two)."""
    real_labels, generated_labels = real_labels.cpu().long(), generated_labels.cpu().long()
    classes = torch.unique(generated_labels).tolist()
    if not classes:
        raise ValueError("intra-FID needs at least one generated sample")
    values = []
    for k in classes:
        r, g = real[real_labels == k], generated[generated_labels == k]
        if len(r) < 2 or len(g) < 2:
            raise ValueError(f"intra-FID needs ≥ 2 real and ≥ 2 generated samples of class {k} "
                             f"(got {len(r)} and {len(g)})")  # fmt: skip
        values.append(fid(r, g))
    return float(torch.tensor(values, dtype=torch.float64).mean())
