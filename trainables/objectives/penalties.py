"""Gradient penalties on the critic's input gradient, shared by WGAN-GP and DRAGAN."""

from __future__ import annotations

from collections.abc import Callable

import torch


def per_sample_shape(x: torch.Tensor) -> tuple[int, ...]:
    """(n, 1, 1, …): one scalar per sample, broadcastable over images and point sets alike."""
    return (x.shape[0],) + (1,) * (x.ndim - 1)


def input_gradient_norms(critic: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """‖∇ₓ D(x)‖₂ per sample, kept in the graph so the penalty trains the critic (double backward)."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return grad.flatten(1).norm(2, dim=1)


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, target: float = 1.0):
    """E[(‖∇ₓ D(x̂)‖₂ − target)²] at the given points x̂ (Gulrajani et al. 2017 eq. 3; Kodali et al. 2017)."""
    return ((input_gradient_norms(critic, x) - target) ** 2).mean()


def interpolates(real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP's x̂ = α x + (1 − α) x̃ with α ~ U[0, 1] per sample (Gulrajani et al. Algorithm 1)."""
    if alpha is None:
        alpha = torch.rand(per_sample_shape(real), device=real.device, dtype=real.dtype)
    return alpha * real + (1 - alpha) * fake


def dragan_perturbed(
    real: torch.Tensor, noise: torch.Tensor | None = None, alpha: torch.Tensor | None = None
) -> torch.Tensor:
    """DRAGAN's points near the data: x̂ = x + α·δ with δ = 0.5·std(x)·u, u ~ U[0, 1) per element and
    α ~ U[0, 1] per sample — the perturbation of the reference code (kodalinaveen3/DRAGAN), which the
    paper writes as x + δ, δ ~ N(0, cI). std is the population std of the whole batch, as np.std there."""
    if noise is None:
        noise = torch.rand_like(real)
    if alpha is None:
        alpha = torch.rand(per_sample_shape(real), device=real.device, dtype=real.dtype)
    delta = 0.5 * real.std(correction=0) * noise
    return real + alpha * delta
