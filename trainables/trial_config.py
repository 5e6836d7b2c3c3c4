"""One trial's configuration, resolved once, with every default from one place.

Precedence, lowest first: ``SHARED_DEFAULTS`` (settings no method searches: sizes, Adam's β₂ where a method does
not search it, the latent prior's learning rate, the seed), then the method's author defaults (its search-space
module's ``defaults()``: the only place an author default lives), then the trial's own values (the driver's fixed
settings and the searched hyperparameters). A task run reads ``TrialConfig``'s typed fields, never a default of
its own; the command line takes its defaults from here too.
"""

from __future__ import annotations

from dataclasses import dataclass

SHARED_DEFAULTS: dict = {
    "batch_size": 64,  # Fisher GAN reference code and DCGAN paper
    "z_dim": 100,  # DCGAN / Fisher GAN reference
    "width": 32,  # DCGAN's ngf/ndf is 64; half of it keeps a CPU epoch short (--width 64 for the paper's nets)
    "lr": 2e-4,  # η for G and D: DCGAN and Fisher GAN reference (Adam)
    "beta1": 0.5,  # Adam β₁: DCGAN guidelines, Fisher GAN reference
    "beta2": 0.999,  # Adam's own default, which DCGAN and the Fisher GAN reference keep
    "lr_latent": 5e-5,  # η′: paper 000 Table 2 caption ("learning rate σ = 0.00005")
    "seed": 0,
    "eval_samples": 1000,
    "ema": 0.0,
    "augment": "none",  # the critic's input augmentation in training: none, diffaug or ada (trainables.augmentation)
    "amp": False,
    "train_limit": None,
    "condition": "",  # class conditioning: "" → the method's own (trainables.conditioning.trial_condition)
}


@dataclass(frozen=True)
class TrialConfig:
    """The resolved values (``values``: every key, for objectives and networks that read theirs by name) and the
    typed settings every task run shares."""

    values: dict
    method: str
    dataset: str
    seed: int
    batch_size: int
    z_dim: int
    width: int
    lr_g: float
    lr_d: float
    beta1: float
    beta2: float
    lr_latent: float
    train_limit: int | None
    ema: float
    amp: bool
    augment: str

    @property
    def betas(self) -> tuple[float, float]:
        return (self.beta1, self.beta2)


def resolve(config: dict) -> TrialConfig:
    """``config`` (a trial's, or a test's partial one naming at least its method) → every value resolved."""
    from trainables.registry import get_method

    method = get_method(config["method"], config.get("method_path"))
    values = {**SHARED_DEFAULTS, **method.defaults(), **config}
    lr = float(values["lr"])
    return TrialConfig(
        values=values,
        method=str(values["method"]),
        dataset=str(values.get("dataset", "")),
        seed=int(values["seed"]),
        batch_size=int(values["batch_size"]),
        z_dim=int(values["z_dim"]),
        width=int(values["width"]),
        lr_g=float(values.get("lr_g", lr)),  # two-time-scale methods search their own G and D rates
        lr_d=float(values.get("lr_d", lr)),
        beta1=float(values["beta1"]),
        beta2=float(values["beta2"]),
        lr_latent=float(values["lr_latent"]),
        train_limit=int(values["train_limit"]) if values.get("train_limit") else None,
        ema=float(values.get("ema") or 0.0),
        amp=bool(values.get("amp", False)),
        augment=str(values.get("augment") or "none"),
    )
