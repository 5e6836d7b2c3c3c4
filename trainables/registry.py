"""The GAN methods this platform searches over, each a composition:
objective × latent prior × networks (chosen by dataset) × options.

Adding a method: an objective in ``trainables/objectives/``, a space in ``search_spaces/``, and one
``MethodSpec`` line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from trainables.objectives import (
    DRAGANObjective,
    FeatureMatchingObjective,
    FisherObjective,
    HingeObjective,
    LSGANObjective,
    Objective,
    SANObjective,
    UnrolledObjective,
    VanillaObjective,
    WGANGPObjective,
    WGANObjective,
)


@dataclass(frozen=True)
class MethodSpec:
    name: str
    description: str
    paper: str  # where the method (and its defaults) come from
    make_objective: Callable[[dict], Objective]
    latent: str = "gaussian"  # gaussian | uniform | mixture
    optimizer: str = "adam"  # adam | rmsprop
    kinds: tuple[str, ...] = ("image", "points")  # dataset kinds the method can train on
    net_options: dict = field(default_factory=dict)  # fixed NetOptions overrides (e.g. no batch norm)
    g_steps: int = 1  # generator steps after each round of n_critic critic steps (config "g_steps" overrides)


# Objective factories: each reads its searched keys from the trial config (the space's defaults()
# always provide them in a search; the fallbacks are the same author defaults, for direct use).


def _n(config: dict, default: int = 1) -> int:
    return int(config.get("n_critic", default))


def _fisher(config: dict) -> Objective:
    return FisherObjective(
        rho=config["rho"], lambda_init=config.get("lambda_init", 0.0), n_critic=config.get("n_critic", 2)
    )


def _vanilla(config: dict) -> Objective:
    return VanillaObjective(non_saturating=bool(config.get("non_saturating", True)), n_critic=_n(config))


def _non_saturating(config: dict) -> Objective:
    return VanillaObjective(non_saturating=True, n_critic=_n(config))


def _wgan(config: dict) -> Objective:
    return WGANObjective(clip=float(config.get("clip", 0.01)), n_critic=_n(config, 5))


def _wgan_gp(config: dict) -> Objective:
    return WGANGPObjective(gp_weight=float(config.get("gp_weight", 10.0)), n_critic=_n(config, 5))


def _hinge(config: dict) -> Objective:
    return HingeObjective(n_critic=_n(config))


def _lsgan(config: dict) -> Objective:
    return LSGANObjective(n_critic=_n(config))


def _dragan(config: dict) -> Objective:
    return DRAGANObjective(gp_weight=float(config.get("gp_weight", 10.0)), n_critic=_n(config))


def _san(config: dict) -> Objective:
    return SANObjective(n_critic=_n(config))


def _unrolled(config: dict) -> Objective:
    return UnrolledObjective(
        unroll_steps=int(config.get("unroll_steps", 5)),
        non_saturating=bool(config.get("non_saturating", False)),
        n_critic=_n(config),
    )


def _feature_matching(config: dict) -> Objective:
    return FeatureMatchingObjective(n_critic=_n(config))


NO_D_BN = {"d_batchnorm": False}  # per-sample gradient penalties / the SAN slicing need batch-independent critics
RF = {"representative_features": True}
# Paper 002's hinge loss assumes a Lipschitz critic: spectral norm on every critic layer (Miyato et al.).
SN = {**NO_D_BN, "spectral_norm": True}
# sony/san normalises the critic's body; its last layer is the SAN direction ω = w/‖w‖ with scale ‖w‖ kept free.
SAN_SN = {**SN, "spectral_norm_head": False}
# openai/improved-gan's feature-matching critic: weight norm and dropout (0.2 on the input, 0.5 between
# blocks, as its CIFAR critic), no batch norm, so real and fake features share one set of statistics.
IMPROVED_GAN_NETS = {"d_batchnorm": False, "d_weightnorm": True, "d_input_dropout": 0.2, "d_dropout": 0.5}
NO_HEAD_BIAS = {"head_bias": False}  # tomsercu/FisherGAN's critic ends in a bias-free layer
# carpedm20/DCGAN-tensorflow (DCGAN's and RFGAN's reference) and tomsercu/FisherGAN draw z ~ U[-1, 1].
UNIFORM_Z = "uniform"
# Paper 003 §4: "the WGAN-GP generator is updated once after the discriminator is updated five times.
# Following the reference code, other networks are trained by updating the generator twice and the
# discriminator once" (so the discriminator's loss does not vanish).
RF_G_STEPS = 2

METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in [
        MethodSpec("vanilla", "original GAN with MLPs, logistic critic; minimax or non-saturating G loss (a flag)",
                   "Goodfellow et al. 2014 (paper 002 §1)", _vanilla, net_options={"mlp": True}),
        MethodSpec("dcgan", "DCGAN: all-conv nets with batch norm, non-saturating loss, Adam(2e-4, 0.5)",
                   "Radford et al. 2016 (paper 001 §3)", _non_saturating, latent=UNIFORM_Z),
        MethodSpec("dcgan_weak", "DCGAN whose generator has no batch norm (the weakened model of paper 004)",
                   "paper 004 §3.3.2", _non_saturating, latent=UNIFORM_Z, net_options={"g_batchnorm": False}),
        MethodSpec("dcgan_small", "DCGAN with one conv layer fewer in G and D (small DCGAN)",
                   "paper 004 §3.3.2", _non_saturating, latent=UNIFORM_Z,
                   net_options={"small": True}),
        MethodSpec("wgan", "Wasserstein GAN: weight clipping, RMSprop, 5 critic steps",
                   "Arjovsky et al. 2017 (paper 001 §4, paper 002 §2)", _wgan, optimizer="rmsprop"),
        MethodSpec("wgan_gp", "WGAN with gradient penalty at real/fake interpolates (λ 10, 5 critic steps)",
                   "Gulrajani et al. 2017 (papers 003, 004)", _wgan_gp, net_options=NO_D_BN),
        MethodSpec("wgan_hinge", "GAN with the hinge loss on an unbounded critic",
                   "Lim & Ye 2017 (paper 002 §2.2)", _hinge, net_options=SN),
        MethodSpec("lsgan", "least-squares GAN (0-1 coding)", "Mao et al. 2017 (paper 003)", _lsgan),
        MethodSpec("dragan", "non-saturating GAN + gradient penalty around perturbed real data (λ 10)",
                   "Kodali et al. 2017 (paper 003)", _dragan, net_options=NO_D_BN),
        MethodSpec("fisher", "Fisher GAN: IPM critic under a second-moment constraint, augmented Lagrangian",
                   "Mroueh & Sercu 2017 (paper 000 baseline, Table 1)", _fisher, latent=UNIFORM_Z,
                   net_options=NO_HEAD_BIAS),
        MethodSpec("deli_fisher", "Deli-Fisher GAN: Fisher objective + learnable mixture-of-Gaussians latent",
                   "paper 000 eq. 2, Algorithm 1", _fisher, latent="mixture", net_options=NO_HEAD_BIAS),
        MethodSpec("deligan", "DeLiGAN: learnable mixture-of-Gaussians latent + non-saturating loss + σ regulariser",
                   "Gurumurthy et al. 2017 (paper 000 §4)", _non_saturating, latent="mixture"),
        MethodSpec("dcgan_rf", "DCGAN with representative features of a frozen pre-trained autoencoder",
                   "Bang et al. 2018, RFGAN (paper 003)", _non_saturating, latent=UNIFORM_Z, net_options=RF,
                   g_steps=RF_G_STEPS),
        MethodSpec("lsgan_rf", "LSGAN with representative features (RFGAN)",
                   "paper 003", _lsgan, net_options=RF, g_steps=RF_G_STEPS),
        MethodSpec("dragan_rf", "DRAGAN with representative features (RFGAN)",
                   "paper 003", _dragan, net_options={**RF, **NO_D_BN}, g_steps=RF_G_STEPS),
        MethodSpec("wgan_gp_rf", "WGAN-GP with representative features (RFGAN)",
                   "paper 003", _wgan_gp, net_options={**RF, **NO_D_BN}),
        MethodSpec("san", "Slicing Adversarial Network: hinge loss for features, Wasserstein loss for the direction",
                   "Takida et al. 2024 (paper 002 §3)", _san, net_options=SAN_SN),
        MethodSpec("unrolled", "unrolled GAN: G's loss differentiated through k simulated critic updates",
                   "Metz et al. 2017 (paper 003 Fig. 3)", _unrolled),
        MethodSpec("improved_gan", "Improved GAN: feature-matching generator loss on the critic's features",
                   "Salimans et al. 2016 (paper 004 §3.3)", _feature_matching,
                   net_options=IMPROVED_GAN_NETS),
    ]
}  # fmt: skip


def method_names() -> list[str]:
    return sorted(METHODS)


def get_method(name: str) -> MethodSpec:
    if name not in METHODS:
        raise KeyError(f"unknown method {name!r}; valid: {', '.join(method_names())}")
    return METHODS[name]
