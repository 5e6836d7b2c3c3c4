"""Latent priors p(z): fixed Gaussian / uniform, and the learnable mixture of Gaussians of DeLiGAN
(Gurumurthy et al. 2017) that Deli-Fisher GAN (paper 000 §4) puts in front of the generator."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn


class LatentPrior(nn.Module, ABC):
    """Samples z for the generator. Subclasses with parameters are trained with G at their own rate; a subclass
    without ``sample`` cannot be instantiated (Python's error names the class and the method)."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    @abstractmethod
    def sample(self, n: int) -> torch.Tensor:
        """``n`` latent vectors on the prior's device."""

    def regulariser(self) -> torch.Tensor:
        """Extra term added to the generator loss (zero for fixed priors)."""
        return torch.zeros(())

    def stats(self) -> dict[str, float]:
        return {}


class GaussianPrior(LatentPrior):
    def __init__(self, dim: int):
        super().__init__(dim)
        # A zero-size buffer tracks the module's device without adding parameters.
        self.register_buffer("_dev", torch.zeros(0), persistent=False)

    def _device(self) -> torch.device:
        return self._dev.device

    def sample(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.dim, device=self._device())


class UniformPrior(GaussianPrior):
    def sample(self, n: int) -> torch.Tensor:
        return torch.rand(n, self.dim, device=self._device()) * 2 - 1


def equal_assignment(n: int, n_components: int, device: torch.device | None = None) -> torch.Tensor:
    """Component of each of n samples: every component equally often (n // N or n // N + 1 times).

    val-iisc/deligan builds each batch from batch/N samples of every component rather than drawing k
    per sample; the count per component is then fixed, and only the order of samples is random.
    """
    k = torch.arange(n, device=device) % n_components
    return k[torch.randperm(n, device=device)]


class MixtureOfGaussiansPrior(LatentPrior):
    """z = μ_k + σ_k ⊙ ε, ε ~ N(0, I), k uniform over the N components (paper 000 eq. 2).

    k is assigned as DeLiGAN's reference does, each component equally often in every batch
    (``assignment="equal"``, the default); ``"random"`` draws k per sample, independently.

    μ and σ are trained through the generator loss (reparameterisation); σ is a free parameter as in
    DeLiGAN, kept near C by the penalty β·mean((C − σ)²) so the components do not collapse to points.
    """

    def __init__(
        self,
        dim: int,
        n_components: int,
        beta: float,
        c: float,
        mu_init: float = 1.0,
        sigma_init: float = 0.2,
        assignment: str = "equal",
    ):
        super().__init__(dim)
        if assignment not in ("equal", "random"):
            raise ValueError(f"unknown mixture assignment {assignment!r}; valid: equal, random")
        self.assignment = assignment
        # DeLiGAN initialises μ ~ U(−1, 1) and σ = 0.2 so components start spread out and narrow.
        self.mu = nn.Parameter(torch.empty(n_components, dim).uniform_(-mu_init, mu_init))
        self.sigma = nn.Parameter(torch.full((n_components, dim), float(sigma_init)))
        self.beta = float(beta)
        self.c = float(c)

    @property
    def n_components(self) -> int:
        return self.mu.shape[0]

    def sample(self, n: int) -> torch.Tensor:
        if self.assignment == "equal":
            k = equal_assignment(n, self.n_components, self.mu.device)
        else:
            k = torch.randint(self.n_components, (n,), device=self.mu.device)
        eps = torch.randn(n, self.dim, device=self.mu.device)
        return self.mu[k] + self.sigma[k] * eps

    def regulariser(self) -> torch.Tensor:
        return self.beta * ((self.c - self.sigma) ** 2).mean()

    def stats(self) -> dict[str, float]:
        return {"sigma_mean": float(self.sigma.detach().abs().mean())}


def build_prior(kind: str, dim: int, config: dict) -> LatentPrior:
    if kind == "gaussian":
        return GaussianPrior(dim)
    if kind == "uniform":
        return UniformPrior(dim)
    if kind == "mixture":
        return MixtureOfGaussiansPrior(
            dim,
            n_components=int(config["n_components"]),
            beta=float(config["beta"]),
            c=float(config["C"]),
            sigma_init=float(config.get("sigma_init", 0.2)),
            assignment=str(config.get("mixture_assignment", "equal")),
        )
    raise ValueError(f"unknown latent prior {kind!r}; valid: gaussian, uniform, mixture")
