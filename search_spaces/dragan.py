"""DRAGAN (Kodali et al. 2017): Adam(lr, β₁, β₂), penalty weight λ, critic steps."""

from search_spaces.common import adam_defaults, adam_space, penalty_weight


def space() -> dict:
    return {**adam_space(beta2=True), "gp_weight": penalty_weight()}


def defaults() -> dict:
    return {**adam_defaults(lr=1e-4, beta1=0.5, beta2=0.9, n_critic=1), "gp_weight": 10.0}  # reference code
