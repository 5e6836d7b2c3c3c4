"""Every registered method: its search space, its registry entry, and a real 1-trial × 1-epoch search.

The searches run Ray Tune + OptunaSearch + ASHA + MLflow for real, on a 256-image subset of mnist5k
with width-4 networks so the whole parametrised test stays around a minute on two cores.
"""

from __future__ import annotations

import math

import pytest
from ray.tune.search.sample import Categorical, Float, Integer

import search_spaces
from tests.conftest import search_args
from trainables.data import dataset_info
from trainables.nets import NetOptions, build_networks
from trainables.registry import METHODS, get_method, method_names
from tuner.cli import UsageError, validate
from tuner.search import main, run_search

# The built-in methods, found in the registry: a new one is searched and checked here without editing this file.
BUILT_IN = sorted(METHODS)

# The methods of the papers, which must stay built in.
PAPER_METHODS = {
    "vanilla", "dcgan", "dcgan_weak", "dcgan_small", "wgan", "wgan_gp", "wgan_hinge", "lsgan", "dragan",
    "fisher", "deli_fisher", "deligan", "dcgan_rf", "lsgan_rf", "dragan_rf", "wgan_gp_rf", "san", "unrolled",
    "improved_gan",
}  # fmt: skip

# Scalars objectives log per epoch: proof that the trial really trained that method.
LOGGED = {
    "vanilla": {"d_real", "d_fake"}, "dcgan": {"d_real"}, "dcgan_weak": {"d_real"}, "dcgan_small": {"d_real"},
    "wgan": {"wasserstein"}, "wgan_gp": {"wasserstein", "gp"}, "wgan_hinge": {"margin"}, "lsgan": {"f_real"},
    "dragan": {"gp", "d_real"}, "fisher": {"lambda", "ipm"}, "deli_fisher": {"lambda", "sigma_mean"},
    "deligan": {"d_real", "sigma_mean"}, "dcgan_rf": {"d_real"}, "lsgan_rf": {"f_real"}, "dragan_rf": {"gp"},
    "wgan_gp_rf": {"gp"}, "san": {"hinge", "sliced_w"}, "unrolled": {"d_real"}, "improved_gan": {"d_real"},
    "cyclegan": {"loss_cycle", "loss_identity", "cycle_l1_ba", "translation_accuracy_mean"},
    "cyclegan_shared": {"loss_cycle", "loss_identity", "cycle_l1_ba", "translation_accuracy_mean"},
    "modnet": {"g_target_acc", "d_real", "target_accuracy", "nearest_is_input"},
    "cgan": {"d_real", "class_accuracy", "intra_fid"}, "acgan": {"d_class_real", "d_class_fake", "class_accuracy"},
    "cgan_projection": {"margin", "class_accuracy", "intra_fid"},
}  # fmt: skip


def test_every_method_of_the_papers_is_built_in():
    assert PAPER_METHODS <= set(METHODS) and set(METHODS) <= set(method_names())
    assert set(LOGGED) <= set(METHODS)


def _inside(domain, value) -> bool:
    if isinstance(domain, Categorical):
        return value in domain.categories
    if isinstance(domain, Integer):
        return isinstance(value, int) and domain.lower <= value < domain.upper  # upper is exclusive
    if isinstance(domain, Float):
        return domain.lower <= value <= domain.upper
    raise AssertionError(f"unexpected domain {domain!r}")


@pytest.mark.parametrize("method", BUILT_IN)
def test_defaults_are_a_point_of_the_space(method):
    space, defaults = search_spaces.space(method), search_spaces.defaults(method)
    assert set(defaults) == set(space), "defaults() is passed as points_to_evaluate: exactly the searched keys"
    for key, value in defaults.items():
        assert _inside(space[key], value), (key, value, space[key])


def test_list_names_every_method_with_its_paper(capsys):
    assert main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(METHODS)
    for line in lines:
        name = line.split()[0]
        assert METHODS[name].description in line and f"[{METHODS[name].paper}]" in line


@pytest.mark.parametrize("method", ["wgan_gp", "dragan", "san", "wgan_hinge"])
def test_per_sample_penalties_and_slicing_get_critics_without_batch_norm(method):
    from torch import nn

    options = NetOptions(width=4, **get_method(method).net_options)
    _, critic = build_networks(dataset_info("mnist5k"), options)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules())


def test_rf_variants_keep_the_base_objective_and_drop_critic_batch_norm_where_penalised():
    for base in ("dcgan", "lsgan", "dragan", "wgan_gp"):
        spec, rf = get_method(base), get_method(f"{base}_rf")
        assert rf.objective is spec.objective and rf.objective_options == spec.objective_options
        assert rf.optimizer == spec.optimizer
        assert rf.net_options == {**spec.net_options, "representative_features": True}
        assert rf.kinds == ("image", "points")  # paper 003 Fig. 3 runs RFGAN on the ring too
        assert search_spaces.defaults(f"{base}_rf") == search_spaces.defaults(base)


def test_train_limit_takes_an_evenly_spaced_subset_and_is_validated(tmp_path):
    from trainables.data import load_dataset
    from trainables.train import training_subset

    data = load_dataset("mnist5k")  # stored sorted by class: a leading slice would be all zeros
    subset = training_subset(data.train_y, 100)
    assert len(subset) == 100 and set(subset.tolist()) == set(range(10))
    assert training_subset(data.train_y, None) is data.train_y
    with pytest.raises(UsageError, match="--train-limit"):
        validate(search_args(tmp_path, "dcgan", "--train-limit", "10"))


@pytest.fixture(scope="module")
def shared_stores(tmp_path_factory):
    """One MLflow/Optuna database and Ray folder for all the searches: creating a fresh MLflow
    sqlite store (schema migrations) per search would cost more than the 1-epoch search itself."""
    return tmp_path_factory.mktemp("method-searches")


@pytest.mark.parametrize("method", BUILT_IN)
def test_one_epoch_search(method, shared_stores, ray_session):
    args = search_args(
        shared_stores, method, "--trials", "1", "--epochs", "1", "--width", "4", "--eval-samples", "100",
        "--train-limit", "256", "--name", f"smoke-{method}",
    )  # fmt: skip
    validate(args)
    results = run_search(args)
    assert len(results) == 1 and not results.errors
    result = results[0]
    # The single trial is the authors' default configuration (the first point Optuna evaluates).
    assert {k: result.config[k] for k in search_spaces.defaults(method)} == search_spaces.defaults(method)
    metrics = result.metrics
    assert metrics["epoch"] == 1 and metrics["diverged"] == 0.0
    assert math.isfinite(metrics["loss_d"]) and math.isfinite(metrics["loss_g"])
    assert 1.0 <= metrics["inception_score"] <= 10.0 and math.isfinite(metrics["ddm"])
    assert LOGGED.get(method, set()) <= set(metrics), set(metrics)
