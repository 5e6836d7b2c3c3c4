"""Fisher objective (paper 000 eq. 2, Algorithm 1) against hand-computed values, and the mixture prior."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainables.latents import MixtureOfGaussiansPrior
from trainables.objectives.base import Batch
from trainables.objectives.fisher import FisherObjective


def identity_critic(w: float = 1.0) -> nn.Module:
    """f(x) = w·x on 1-D inputs: every Fisher term has a closed form."""
    lin = nn.Linear(1, 1)
    with torch.no_grad():
        lin.weight.fill_(w)
        lin.bias.zero_()
    return nn.Sequential(lin, nn.Flatten(0))


REAL = torch.tensor([[1.0], [2.0]])
FAKE = torch.tensor([[0.0], [-1.0]])


def test_critic_loss_matches_hand_computation():
    # E_P f = 1.5, E_Q f = −0.5 → IPM 2; Ω = ½·2.5 + ½·0.5 = 1.5 → 1 − Ω = −0.5
    # objective = 2 + 0.3·(−0.5) − (0.1/2)·0.25 = 1.8375; the critic minimises its negative.
    obj = FisherObjective(rho=0.1, lambda_init=0.3, n_critic=2)
    critic = identity_critic()
    loss, info = obj.critic_loss(critic, Batch(REAL, FAKE))
    assert loss.item() == pytest.approx(-1.8375)
    assert info["ipm"] == pytest.approx(2.0)
    assert info["constraint"] == pytest.approx(-0.5)
    # d objective / dw = 2 + λ·(−3) − ρ·(1 − Ω)·(−3) = 2 − 0.9 − 0.15 = 0.95
    loss.backward()
    assert critic[0].weight.grad.item() == pytest.approx(-0.95)


def test_lambda_update_is_gradient_descent_with_step_rho():
    # Algorithm 1: λ ← λ − ρ ∂V/∂λ = λ − ρ(1 − Ω) = 0.3 − 0.1·(−0.5) = 0.35
    obj = FisherObjective(rho=0.1, lambda_init=0.3, n_critic=2)
    obj.critic_loss(identity_critic(), Batch(REAL, FAKE))
    obj.after_critic_step(None)
    assert obj.lam == pytest.approx(0.35)
    assert obj.state_dict() == {"lambda": pytest.approx(0.35)}


def test_lambda_update_matches_reference_autograd_form():
    """tomsercu/FisherGAN keeps λ as a tensor and does λ += ρ·λ.grad after loss_D.backward()."""
    rho, lam0 = 1e-2, 0.7
    critic = identity_critic(0.8)
    f_r, f_f = critic(REAL), critic(FAKE)
    lam = torch.tensor(lam0, requires_grad=True)
    constraint = 1 - (0.5 * (f_r**2).mean() + 0.5 * (f_f**2).mean())
    loss_ref = -(f_r.mean() - f_f.mean() + lam * constraint - rho / 2 * constraint**2)
    loss_ref.backward()
    expected = lam0 + rho * lam.grad.item()

    obj = FisherObjective(rho=rho, lambda_init=lam0, n_critic=2)
    loss, _ = obj.critic_loss(identity_critic(0.8), Batch(REAL, FAKE))
    obj.after_critic_step(None)
    assert loss.item() == pytest.approx(loss_ref.item())
    assert obj.lam == pytest.approx(expected)


def test_generator_loss_is_negative_critic_mean():
    obj = FisherObjective(rho=1e-6, lambda_init=0.0, n_critic=2)
    loss, _ = obj.generator_loss(identity_critic(), Batch(REAL, FAKE))
    assert loss.item() == pytest.approx(0.5)


def test_gradients_reach_mixture_means_and_scales():
    torch.manual_seed(0)
    prior = MixtureOfGaussiansPrior(dim=3, n_components=4, beta=0.0, c=1.0)
    g = nn.Linear(3, 1)
    g(prior.sample(64)).pow(2).mean().backward()
    assert prior.mu.grad is not None and prior.mu.grad.abs().sum() > 0
    assert prior.sigma.grad is not None and prior.sigma.grad.abs().sum() > 0


def test_sigma_penalty_value_and_direction():
    prior = MixtureOfGaussiansPrior(dim=2, n_components=3, beta=0.5, c=1.0, sigma_init=0.2)
    # β·mean((C − σ)²) = 0.5 · 0.8² = 0.32
    assert prior.regulariser().item() == pytest.approx(0.32)
    opt = torch.optim.SGD(prior.parameters(), lr=1.0)
    prior.regulariser().backward()
    opt.step()
    # ∂/∂σ = β·2(σ − C)/6 per entry: σ moves towards C and the penalty shrinks.
    assert torch.allclose(prior.sigma, torch.full_like(prior.sigma, 0.2 + 0.5 * 2 * 0.8 / 6))
    assert prior.regulariser().item() < 0.32
    # with β = 0 the term vanishes and gives no gradient
    assert MixtureOfGaussiansPrior(2, 3, beta=0.0, c=1.0).regulariser().item() == 0.0


def test_samples_come_from_the_components():
    torch.manual_seed(1)
    prior = MixtureOfGaussiansPrior(dim=2, n_components=2, beta=0.0, c=1.0, sigma_init=1e-4)
    with torch.no_grad():
        prior.mu.copy_(torch.tensor([[5.0, 5.0], [-5.0, -5.0]]))
    z = prior.sample(1000)
    near = torch.cdist(z, prior.mu).min(dim=1).values
    assert near.max() < 1e-2
    frac = (z[:, 0] > 0).double().mean().item()
    assert frac == 0.5  # each component equally often per batch, as val-iisc/deligan
