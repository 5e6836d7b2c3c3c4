"""Pieces shared by several search spaces.

Ranges follow compare_gan's "wide" ranges (Lucic et al. 2018, Table 5): learning rate log-uniform
in [1e-5, 1e-2], Adam β₁ uniform in [0, 1), critic steps 1–5; penalty weights are log-uniform
around the published λ = 10 wide enough to hold the 0.1 that paper 003 Fig. 5 also compares.
Every method's ``defaults()`` are its authors' settings and must lie inside its ``space()``.
"""

from __future__ import annotations

from ray import tune


def learning_rate(low: float = 1e-5, high: float = 1e-2):
    return tune.loguniform(low, high)


def adam_beta1():
    return tune.uniform(0.0, 0.9)


def adam_beta2():
    return tune.uniform(0.9, 0.999)


def critic_steps(low: int = 1, high: int = 5):
    return tune.randint(low, high + 1)  # tune.randint's upper bound is exclusive


def penalty_weight():
    return tune.loguniform(0.1, 100.0)


def adam_space(beta2: bool = False) -> dict:
    """lr, β₁ (and β₂) of the Adam optimiser shared by G and D, plus the critic steps."""
    space = {"lr": learning_rate(), "beta1": adam_beta1(), "n_critic": critic_steps()}
    if beta2:
        space["beta2"] = adam_beta2()
    return space


def adam_defaults(lr: float, beta1: float, n_critic: int = 1, beta2: float | None = None) -> dict:
    out = {"lr": lr, "beta1": beta1, "n_critic": n_critic}
    if beta2 is not None:
        out["beta2"] = beta2
    return out


def fisher_space() -> dict:
    """Fisher GAN's knobs (Mroueh & Sercu 2017)."""
    return {
        "rho": tune.loguniform(1e-7, 1e-1),  # penalty weight / multiplier step
        "lambda_init": tune.uniform(0.0, 1.0),  # λ₀
        "lr": learning_rate(1e-5, 1e-3),  # η for G and D
        "n_critic": critic_steps(1, 5),
    }


FISHER_DEFAULTS = {
    "rho": 1e-6,  # tomsercu/FisherGAN default (--rho 1e-6)
    "lambda_init": 0.0,  # paper 000 Algorithm 1 initialises λ; reference code starts at 0
    "lr": 2e-4,  # tomsercu/FisherGAN --lrD/--lrG 2e-4
    "n_critic": 2,  # tomsercu/FisherGAN --critic_iters 2
}


def mixture_space() -> dict:
    """The learnable mixture-of-Gaussians latent of DeLiGAN / Deli-Fisher GAN."""
    return {
        "beta": tune.loguniform(1e-4, 1.0),  # weight of β·mean((C − σ)²)
        "C": tune.uniform(0.1, 2.0),  # target scale of the component σ's
        "n_components": tune.randint(1, 51),  # N mixture components
        "lr_latent": tune.loguniform(1e-6, 1e-3),  # η′ for μ, σ
    }
