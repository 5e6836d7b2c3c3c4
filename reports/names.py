"""How methods are named in tables and figures: ``deli_fisher`` is a command-line key, "Deli-Fisher GAN" a name a
reader knows. A method without an entry (e.g. one added from outside the repository) keeps its key."""

from __future__ import annotations

DISPLAY_NAMES = {
    "vanilla": "GAN",
    "dcgan": "DCGAN",
    "dcgan_weak": "DCGAN (no BN)",
    "dcgan_small": "DCGAN (small)",
    "wgan": "WGAN",
    "wgan_gp": "WGAN-GP",
    "wgan_hinge": "Hinge GAN",
    "lsgan": "LSGAN",
    "dragan": "DRAGAN",
    "fisher": "Fisher GAN",
    "deli_fisher": "Deli-Fisher GAN",
    "deligan": "DeLiGAN",
    "dcgan_rf": "RFGAN (DCGAN)",
    "lsgan_rf": "RFGAN (LSGAN)",
    "dragan_rf": "RFGAN (DRAGAN)",
    "wgan_gp_rf": "RFGAN (WGAN-GP)",
    "san": "SAN",
    "unrolled": "Unrolled GAN",
    "improved_gan": "Improved GAN",
}


def display_name(method: str) -> str:
    return DISPLAY_NAMES.get(method, method)
