"""Conditional GAN by concatenation (Mirza & Osindero 2014): Adam's lr, β₁ and the critic steps.

The paper trains MLPs with SGD + momentum (lr 0.1 decayed, momentum 0.5 → 0.7), settings for its maxout nets;
on the DCGAN image networks the conditional DCGAN setting is used instead (carpedm20/DCGAN-tensorflow's
conditional MNIST model: Adam 2e-4, β₁ 0.5, one critic step per generator step)."""

from search_spaces.common import adam_defaults, adam_space


def space() -> dict:
    return adam_space()


def defaults() -> dict:
    return adam_defaults(lr=2e-4, beta1=0.5, n_critic=1)  # carpedm20/DCGAN-tensorflow --learning_rate, --beta1
