"""The GAN methods this platform searches over, each a composition:
objective × latent prior × networks (chosen by dataset) × options.

A method is one ``Method`` value: its objective class, its search space (``space()`` and the author
``defaults()``, each default with its source) and its description. Built-in methods are listed here, with
their spaces in ``search_spaces/<name>.py``; a method in any importable module is named ``PKG.MODULE:NAME``,
and an installed package can publish names under the ``gan_tuner.methods`` entry-point group.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType

from trainables.nets.conditional import CONDITIONS
from trainables.objectives.auxiliary import AuxiliaryClassifier
from trainables.objectives.base import Objective
from trainables.objectives.cyclegan import CycleGANObjective
from trainables.objectives.dragan import DRAGANObjective
from trainables.objectives.feature_matching import FeatureMatchingObjective
from trainables.objectives.fisher import FisherObjective
from trainables.objectives.hinge import HingeObjective
from trainables.objectives.lsgan import LSGANObjective
from trainables.objectives.san import SANObjective
from trainables.objectives.unrolled import UnrolledObjective
from trainables.objectives.vanilla import VanillaObjective
from trainables.objectives.wgan import WGANObjective
from trainables.objectives.wgan_gp import WGANGPObjective
from trainables.tasks import TASKS

ENTRY_POINT_GROUP = "gan_tuner.methods"
LATENTS = ("gaussian", "uniform", "mixture")
OPTIMIZERS = ("adam", "rmsprop")


class MethodError(ValueError):
    """A method that cannot be found or is not a ``Method``: reported as one line, exit status 2."""


@dataclass(frozen=True)
class Method:
    name: str
    description: str
    paper: str  # where the method (and its defaults) come from
    objective: type[Objective]  # built with the keyword arguments its __init__ names, read from the trial config
    space: Callable[[], dict]  # Ray Tune domains of the searched hyperparameters
    defaults: Callable[[], dict]  # the authors' values of exactly those keys: the first point of every search
    objective_options: dict = field(default_factory=dict)  # fixed objective arguments (e.g. non_saturating)
    latent: str = "gaussian"  # gaussian | uniform | mixture
    optimizer: str = "adam"  # adam | rmsprop
    task: str = "generate"  # generate | translate | modify (trainables.tasks): what the generator is asked to do
    kinds: tuple[str, ...] = ("image", "points")  # dataset kinds the method can train on (within its task's)
    net_options: dict = field(default_factory=dict)  # fixed NetOptions overrides (e.g. no batch norm)
    g_steps: int = 1  # generator steps after each round of n_critic critic steps (config "g_steps" overrides)
    display_name: str = ""  # how tables and figures name it ("Deli-Fisher GAN"); default: its name
    dataset: str = ""  # the dataset a search uses when --dataset is not given ("": mnist5k)
    # Class conditioning (trainables.nets.conditional): "" unconditional, else concat | ac | projection. A trial's
    # ``condition`` (--condition) overrides it, so any generate method with an image critic trains conditionally.
    condition: str = ""

    def __post_init__(self) -> None:  # a wrong field fails where the method is defined, naming it
        if problem := _definition_problem(self):
            raise MethodError(f"method {self.name!r}: {problem}")

    def make_objective(self, config: dict) -> Objective:
        """The objective with each argument of its ``__init__`` from the config, else the method's defaults;
        under AC conditioning, wrapped with AC-GAN's class terms (``class_weight``: the config's, else the
        method's default, else AC-GAN's own in ``search_spaces/acgan.py``)."""
        values = {**self.defaults(), **config, **self.objective_options}
        params = inspect.signature(self.objective).parameters
        objective = self.objective(**{k: values[k] for k in params if k in values})
        if (config.get("condition") or self.condition) == "ac" and not objective.uses_class_head:
            from search_spaces.acgan import defaults as acgan_defaults

            objective = AuxiliaryClassifier(objective, values.get("class_weight", acgan_defaults()["class_weight"]))
        return objective


def _definition_problem(method: Method) -> str | None:
    objective = method.objective
    if not (isinstance(objective, type) and issubclass(objective, Objective)):
        return f"objective must be a subclass of trainables.objectives.base.Objective (got {objective!r})"
    if inspect.isabstract(objective):
        return f"objective {objective.__name__} does not define {', '.join(sorted(objective.__abstractmethods__))}"
    if not (callable(method.space) and callable(method.defaults)):
        return "space and defaults must be functions returning dicts"
    if method.latent not in LATENTS:
        return f"latent must be one of {', '.join(LATENTS)} (got {method.latent!r})"
    if method.optimizer not in OPTIMIZERS:
        return f"optimizer must be one of {', '.join(OPTIMIZERS)} (got {method.optimizer!r})"
    if method.task not in TASKS:
        return f"task must be one of {', '.join(TASKS)} (got {method.task!r})"
    if method.condition and (method.condition not in CONDITIONS or method.task != "generate"):
        return f"condition must be one of {', '.join(CONDITIONS)} on a generate method (got {method.condition!r})"
    fitting = TASKS[method.task].kinds
    if not method.kinds or not set(method.kinds) <= set(fitting):
        return f"kinds must be among {', '.join(fitting)} for task {method.task} (got {method.kinds!r})"
    return None


def _builtin(name: str, description: str, paper: str, objective: type[Objective], space_of: str = "", **kw) -> Method:
    """A built-in method whose space and defaults are in ``search_spaces/<space_of or name>.py``."""
    module = importlib.import_module(f"search_spaces.{space_of or name}")
    return Method(name, description, paper, objective, module.space, module.defaults, **kw)


NON_SATURATING = {"non_saturating": True}
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

METHODS: dict[str, Method] = {
    spec.name: spec
    for spec in [
        _builtin("vanilla", "original GAN with MLPs, logistic critic; minimax or non-saturating G loss (a flag)",
                 "Goodfellow et al. 2014 (paper 002 §1)", VanillaObjective, net_options={"mlp": True},
                 display_name="GAN"),
        _builtin("dcgan", "DCGAN: all-conv nets with batch norm, non-saturating loss, Adam(2e-4, 0.5)",
                 "Radford et al. 2016 (paper 001 §3)", VanillaObjective, objective_options=NON_SATURATING,
                 latent=UNIFORM_Z, display_name="DCGAN"),
        _builtin("dcgan_weak", "DCGAN whose generator has no batch norm (the weakened model of paper 004)",
                 "paper 004 §3.3.2", VanillaObjective, objective_options=NON_SATURATING, latent=UNIFORM_Z,
                 net_options={"g_batchnorm": False}, display_name="DCGAN (no BN in G)"),
        _builtin("dcgan_small", "DCGAN with one conv layer fewer in G and D (small DCGAN)",
                 "paper 004 §3.3.2", VanillaObjective, objective_options=NON_SATURATING,
                 latent=UNIFORM_Z, net_options={"small": True}, display_name="DCGAN (small)"),
        _builtin("wgan", "Wasserstein GAN: weight clipping, RMSprop, 5 critic steps",
                 "Arjovsky et al. 2017 (paper 001 §4, paper 002 §2)", WGANObjective, optimizer="rmsprop",
                 display_name="WGAN"),
        _builtin("wgan_gp", "WGAN with gradient penalty at real/fake interpolates (λ 10, 5 critic steps)",
                 "Gulrajani et al. 2017 (papers 003, 004)", WGANGPObjective, net_options=NO_D_BN,
                 display_name="WGAN-GP"),
        _builtin("wgan_hinge", "GAN with the hinge loss on an unbounded critic",
                 "Lim & Ye 2017 (paper 002 §2.2)", HingeObjective, net_options=SN, display_name="Hinge GAN"),
        _builtin("lsgan", "least-squares GAN (0-1 coding)", "Mao et al. 2017 (paper 003)", LSGANObjective,
                 display_name="LSGAN"),
        _builtin("dragan", "non-saturating GAN + gradient penalty around perturbed real data (λ 10)",
                 "Kodali et al. 2017 (paper 003)", DRAGANObjective, net_options=NO_D_BN, display_name="DRAGAN"),
        _builtin("fisher", "Fisher GAN: IPM critic under a second-moment constraint, augmented Lagrangian",
                 "Mroueh & Sercu 2017 (paper 000 baseline, Table 1)", FisherObjective, latent=UNIFORM_Z,
                 net_options=NO_HEAD_BIAS, display_name="Fisher GAN"),
        _builtin("deli_fisher", "Deli-Fisher GAN: Fisher objective + learnable mixture-of-Gaussians latent",
                 "paper 000 eq. 2, Algorithm 1", FisherObjective, latent="mixture",
                 net_options=NO_HEAD_BIAS, display_name="Deli-Fisher GAN"),
        _builtin("deligan", "DeLiGAN: learnable mixture-of-Gaussians latent + non-saturating loss + σ regulariser",
                 "Gurumurthy et al. 2017 (paper 000 §4)", VanillaObjective, objective_options=NON_SATURATING,
                 latent="mixture", display_name="DeLiGAN"),
        _builtin("dcgan_rf", "DCGAN with representative features of a frozen pre-trained autoencoder",
                 "Bang et al. 2018, RFGAN (paper 003)", VanillaObjective, "dcgan", objective_options=NON_SATURATING,
                 latent=UNIFORM_Z, net_options=RF, g_steps=RF_G_STEPS, display_name="RFGAN (DCGAN)"),
        _builtin("lsgan_rf", "LSGAN with representative features (RFGAN)", "paper 003", LSGANObjective, "lsgan",
                 net_options=RF, g_steps=RF_G_STEPS, display_name="RFGAN (LSGAN)"),
        _builtin("dragan_rf", "DRAGAN with representative features (RFGAN)", "paper 003", DRAGANObjective, "dragan",
                 net_options={**RF, **NO_D_BN}, g_steps=RF_G_STEPS, display_name="RFGAN (DRAGAN)"),
        _builtin("wgan_gp_rf", "WGAN-GP with representative features (RFGAN)", "paper 003", WGANGPObjective,
                 "wgan_gp", net_options={**RF, **NO_D_BN}, display_name="RFGAN (WGAN-GP)"),
        _builtin("san", "Slicing Adversarial Network: hinge loss for features, Wasserstein loss for the direction",
                 "Takida et al. 2024 (paper 002 §3)", SANObjective, "wgan_hinge", net_options=SAN_SN,
                 display_name="SAN"),
        _builtin("unrolled", "unrolled GAN: G's loss differentiated through k simulated critic updates",
                 "Metz et al. 2017 (paper 003 Fig. 3)", UnrolledObjective, display_name="Unrolled GAN"),
        _builtin("improved_gan", "Improved GAN: feature-matching generator loss on the critic's features",
                 "Salimans et al. 2016 (paper 004 §3.3)", FeatureMatchingObjective,
                 net_options=IMPROVED_GAN_NETS, display_name="Improved GAN"),
        _builtin("improved_gan_weak", "Improved GAN whose generator has no batch norm (paper 004's weaker model)",
                 "paper 004 §3.3.2", FeatureMatchingObjective, "improved_gan",
                 net_options={**IMPROVED_GAN_NETS, "g_batchnorm": False}, display_name="Improved GAN (no BN in G)"),
        _builtin("cyclegan", "CycleGAN: two ResNet generators A→B, B→A, PatchGAN critics, LSGAN + cycle + identity "
                 "losses, history pool", "Zhu et al. 2017 (paper 001 §6)", CycleGANObjective, task="translate",
                 kinds=("pair",), dataset="mnist5k-digits", display_name="CycleGAN"),
        _builtin("cyclegan_shared", "CycleGAN whose two generators share one encoder (a decoder per domain)",
                 "paper 001 §6.1", CycleGANObjective, task="translate", kinds=("pair",), dataset="mnist5k-digits",
                 net_options={"shared_encoder": True}, display_name="CycleGAN (shared encoder)"),
        # Class-conditional generation (trainables.nets.conditional): labels enter G and D as each paper does.
        _builtin("cgan", "conditional GAN: one-hot y concatenated to z in G and as label planes to the image in D; "
                 "DCGAN nets and loss", "Mirza & Osindero 2014", VanillaObjective, objective_options=NON_SATURATING,
                 latent=UNIFORM_Z, kinds=("image",), condition="concat", display_name="cGAN"),
        _builtin("acgan", "AC-GAN: critic with an auxiliary class head; class terms on real and fake in D, on fake "
                 "in G", "Odena et al. 2017", VanillaObjective, objective_options=NON_SATURATING, latent=UNIFORM_Z,
                 kinds=("image",), condition="ac", display_name="AC-GAN"),
        _builtin("cgan_projection", "cGAN with a projection discriminator, conditional batch norm in G, hinge loss, "
                 "spectral norm in D", "Miyato & Koyama 2018 (pfnet-research/sngan_projection)", HingeObjective,
                 net_options=SN, kinds=("image",), condition="projection", display_name="cGAN (projection)"),
        # The adversarial term is eq. 2.3/2.4 of paper 004: the non-saturating logistic loss (vanilla's functions).
        _builtin("modnet", "ModNet: label-conditioned U-Net adds a delta image to x; GAN + class (eq. 2.5) + L1 loss",
                 "paper 004 §2.5", VanillaObjective, objective_options={**NON_SATURATING, "n_critic": 1}, task="modify",
                 kinds=("image",), display_name="ModNet"),
    ]
}  # fmt: skip


def method_names() -> list[str]:
    """The built-in methods and those installed packages publish as entry points."""
    return sorted({*METHODS, *(ep.name for ep in _entry_points())})


def _entry_points() -> list[metadata.EntryPoint]:
    return list(metadata.entry_points(group=ENTRY_POINT_GROUP))


def is_reference(name: str) -> bool:
    """``PKG.MODULE:NAME``: a method defined outside the built-in list."""
    return ":" in name


def get_method(name: str, search_path: str | None = None) -> Method:
    """A built-in name, an entry-point name, or ``PKG.MODULE:NAME``. ``search_path`` is the folder the driver
    imported the module from: a Ray worker adds it to ``sys.path`` so it imports the same module."""
    if name in METHODS:
        return METHODS[name]
    if not is_reference(name):
        entry = next((ep for ep in _entry_points() if ep.name == name), None)
        if entry is None:
            raise MethodError(
                f"unknown method {name!r}; valid: {', '.join(method_names())}, or PKG.MODULE:NAME for your own"
            )
        name = entry.value
    module_name, _, attr = name.partition(":")
    if not attr.isidentifier():
        raise MethodError(f"expected PKG.MODULE:NAME with NAME a Python identifier (got {name!r})")
    module = import_method_module(module_name, search_path)
    method = getattr(module, attr, None)
    if method is None:
        raise MethodError(f"module {module_name} has no {attr!r}; `--list {module_name}` shows the methods it has")
    if not isinstance(method, Method):
        kind = type(method).__name__
        raise MethodError(f"{name} is a {kind}, not a trainables.registry.Method; define it with Method(...)")
    return method


def import_method_module(module_name: str, search_path: str | None = None) -> ModuleType:
    if not module_name or module_name.startswith("."):
        raise MethodError(f"expected PKG.MODULE:NAME, an absolute module name (got module {module_name!r})")
    if search_path and search_path not in sys.path:
        sys.path.append(search_path)  # appended: a user's module never shadows an installed package
    try:
        return importlib.import_module(module_name)
    except MethodError:
        raise
    except ImportError as e:
        raise MethodError(
            f"cannot import module {module_name!r} ({e}); put its folder on PYTHONPATH or pip install its package"
        ) from e
    except Exception as e:  # the module itself is broken: name where, in one line
        first_line = next(iter(str(e).splitlines()), "")
        raise MethodError(f"importing module {module_name!r} failed: {type(e).__name__}: {first_line}") from e


def module_methods(module_name: str) -> dict[str, Method]:
    """The methods a module defines, by attribute name (``--list PKG.MODULE``)."""
    module = import_method_module(module_name)
    return {attr: value for attr, value in vars(module).items() if isinstance(value, Method)}


def method_search_path(name: str) -> str | None:
    """The ``sys.path`` entry the driver imported a method's top package from (None for built-in methods):
    trials on Ray workers of this machine, or of a cluster sharing that path, import it from there even when
    the worker's own ``sys.path`` lacks it."""
    if name in METHODS:
        return None
    get_method(name)
    reference = name if is_reference(name) else next(ep.value for ep in _entry_points() if ep.name == name)
    top = sys.modules[reference.partition(":")[0].partition(".")[0]]
    if getattr(top, "__path__", None):  # a package (regular or namespace): the folder above it
        return str(Path(next(iter(top.__path__))).resolve().parent)
    return str(Path(top.__file__).resolve().parent) if getattr(top, "__file__", None) else None
