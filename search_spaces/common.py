"""Pieces shared by several search spaces.

Ranges follow compare_gan's "wide" ranges (Lucic et al. 2018, Table 5): learning rate log-uniform
in [1e-5, 1e-2], Adam β₁ uniform in [0, 1), critic steps 1–5.
"""

from __future__ import annotations

from ray import tune


def learning_rate(low: float = 1e-5, high: float = 1e-2):
    return tune.loguniform(low, high)


def adam_beta1():
    return tune.uniform(0.0, 0.9)


def critic_steps(low: int = 1, high: int = 5):
    return tune.randint(low, high + 1)  # tune.randint's upper bound is exclusive


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
