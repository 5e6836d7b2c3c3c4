"""The GAN methods this platform searches over, each a composition:
objective × latent prior × networks (chosen by dataset) × options.

Adding a method: an objective in ``trainables/objectives/``, a space in ``search_spaces/``, and one
``MethodSpec`` line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from trainables.objectives import FisherObjective, Objective


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


def _fisher(config: dict) -> Objective:
    return FisherObjective(
        rho=config["rho"], lambda_init=config.get("lambda_init", 0.0), n_critic=config.get("n_critic", 2)
    )


METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in [
        MethodSpec(
            "fisher",
            "Fisher GAN: IPM critic under a second-moment constraint, augmented Lagrangian",
            "Mroueh & Sercu 2017 (paper 000 baseline, Table 1)",
            _fisher,
            latent="gaussian",
        ),
        MethodSpec(
            "deli_fisher",
            "Deli-Fisher GAN: Fisher objective + learnable mixture-of-Gaussians latent",
            "paper 000 eq. 2, Algorithm 1",
            _fisher,
            latent="mixture",
        ),
    ]
}


def method_names() -> list[str]:
    return sorted(METHODS)


def get_method(name: str) -> MethodSpec:
    if name not in METHODS:
        raise KeyError(f"unknown method {name!r}; valid: {', '.join(method_names())}")
    return METHODS[name]
