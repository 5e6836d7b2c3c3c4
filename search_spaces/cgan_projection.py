"""cGAN with a projection discriminator (Miyato & Koyama 2018): Adam(lr, β₁, β₂) and the critic steps.

Defaults of pfnet-research/sngan_projection's configs/sn_cifar10.yml (conditional CIFAR-10, hinge loss, spectral
norm): Adam α 2e-4, β₁ 0.0, β₂ 0.9, n_dis 5 critic steps per generator step."""

from search_spaces.common import adam_defaults, adam_space


def space() -> dict:
    return adam_space(beta2=True)


def defaults() -> dict:
    return adam_defaults(lr=2e-4, beta1=0.0, beta2=0.9, n_critic=5)  # sngan_projection sn_cifar10.yml
