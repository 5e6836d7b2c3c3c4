"""Hinge-loss GAN (paper 002 §2.2): Adam(lr, β₁, β₂) and the critic steps."""

from search_spaces.common import adam_defaults, adam_space


def space() -> dict:
    return adam_space(beta2=True)


def defaults() -> dict:
    # sony/san simple-san hparams, whose hinge "gan" baseline paper 002 compares SAN against.
    return adam_defaults(lr=1e-3, beta1=0.0, beta2=0.99, n_critic=1)
