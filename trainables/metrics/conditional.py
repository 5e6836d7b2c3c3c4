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


def frechet_distance_of_samples(real: torch.Tensor, generated: torch.Tensor) -> float:
    """FID of two feature matrices, exact, through the samples instead of d × d covariances.

    With centred, scaled samples A (d × n₁) and B (d × n₂), Σ₁ = AAᵀ and Σ₂ = BBᵀ (unbiased), and
    Tr √(Σ₁^½ Σ₂ Σ₁^½) is the sum of the singular values of AᵀB (its square's eigenvalues are those of
    Σ₁^½ Σ₂ Σ₁^½), so FID = ‖μ₁ − μ₂‖² + ‖A‖²_F + ‖B‖²_F − 2‖AᵀB‖_*: an n₁ × n₂ SVD in place of two d × d
    eigendecompositions. Intra-FID has ~100 samples of 1,024–2,048-d features per class, where this is ~100× cheaper.
    """
    r, g = real.detach().to("cpu", torch.float64), generated.detach().to("cpu", torch.float64)
    if r.shape[1] != g.shape[1] or len(r) < 2 or len(g) < 2:
        raise ValueError(f"need ≥ 2 samples of equal dimension on each side (got {tuple(r.shape)}, {tuple(g.shape)})")
    a = (r - r.mean(0)) / (len(r) - 1) ** 0.5
    b = (g - g.mean(0)) / (len(g) - 1) ** 0.5
    mean_term = float(((r.mean(0) - g.mean(0)) ** 2).sum())
    cross = float(torch.linalg.svdvals(a @ b.T).sum())
    return max(mean_term + float((a * a).sum()) + float((b * b).sum()) - 2.0 * cross, 0.0)


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
    """Mean over the classes of the generated samples of FID(real of class k, generated of class k), float64
    (each the exact FID, computed through the samples: ``frechet_distance_of_samples``).

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
        values.append(frechet_distance_of_samples(r, g))
    return float(torch.tensor(values, dtype=torch.float64).mean())
