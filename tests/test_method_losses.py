"""Every registered method, found in the registry: its objective built from the author defaults trains one tiny
epoch with finite losses, moves both networks, and repeats bit for bit from the same seed."""

from __future__ import annotations

import math

import pytest
import torch

from trainables.data import load_dataset
from trainables.registry import METHODS, get_method
from trainables.train import GANRun


def _run(method: str) -> GANRun:
    spec = get_method(method)
    dataset = "ring8" if "points" in spec.kinds else "mnist5k"
    config = {"method": method, "dataset": dataset, "width": 4, "batch_size": 16, "train_limit": 64, "seed": 3}
    return GANRun({**config, **spec.defaults()}, load_dataset(dataset))


def _flat(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in module.parameters() if p.requires_grad])


@pytest.mark.parametrize("method", sorted(m for m in METHODS if METHODS[m].task == "generate"))
def test_one_epoch_trains_both_networks_reproducibly(method):
    run = _run(method)
    critic, generator = _flat(run.critic), _flat(run.generator)
    stats = run.train_epoch()
    assert math.isfinite(stats.loss_d) and math.isfinite(stats.loss_g)
    assert not torch.equal(_flat(run.critic), critic) and not torch.equal(_flat(run.generator), generator)
    again = _run(method).train_epoch()
    assert (again.loss_d, again.loss_g, again.extra) == (stats.loss_d, stats.loss_g, stats.extra)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_the_objective_takes_the_searched_values_and_the_defaults_for_the_rest(method):
    spec = get_method(method)
    defaults = spec.defaults()
    objective = spec.make_objective({})
    assert objective.n_critic == defaults.get("n_critic", objective.n_critic)
    if "n_critic" in defaults:
        assert spec.make_objective({"n_critic": defaults["n_critic"] + 1}).n_critic == defaults["n_critic"] + 1
    for key, value in spec.objective_options.items():  # fixed by the method, whatever the config says
        assert getattr(spec.make_objective({key: not value}), key) == value
