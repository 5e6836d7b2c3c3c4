"""The critic's input augmentation (``augment``: DiffAugment, ADA): the ops by hand, G's gradient through them,
ADA's controller, exact resume, where it plugs in (training only), the CLI's refusal and the report's."""

from __future__ import annotations

import argparse
import copy
import dataclasses

import pytest
import torch
from torch import nn

from tests.conftest import assert_refused_in_one_line
from tests.test_training import config, small_mnist
from trainables.augmentation import (
    Augmentation,
    RealScores,
    brightness,
    contrast,
    cutout,
    saturation,
    translate,
)
from trainables.data import as_float
from trainables.objectives.base import Batch
from trainables.train import GANRun


def images(n: int = 8, c: int = 1, side: int = 28, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, side, side, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# -- the ops, by hand ------------------------------------------------------------------------------------------


def test_translation_moves_a_known_image_by_a_known_shift_with_zero_padding():
    x = torch.arange(1.0, 17.0).view(1, 1, 4, 4)
    out = translate(x, torch.tensor([1]), torch.tensor([-2]))  # one row down, two columns left
    expected = torch.zeros(1, 1, 4, 4)
    expected[0, 0, 1:, :2] = x[0, 0, :3, 2:]
    assert torch.equal(out, expected)
    assert torch.equal(translate(x, torch.tensor([0]), torch.tensor([0])), x)


def test_brightness_contrast_and_saturation_do_what_was_drawn():
    x = images(4, c=3)
    shift = torch.tensor([-0.5, -0.1, 0.2, 0.49])
    assert torch.allclose(brightness(x, shift).mean((1, 2, 3)) - x.mean((1, 2, 3)), shift, atol=1e-6)
    factor = torch.tensor([0.5, 1.0, 1.2, 1.5])
    y = contrast(x, factor)
    assert torch.allclose(y.mean((1, 2, 3)), x.mean((1, 2, 3)), atol=1e-6)  # about the image mean
    assert torch.allclose(y.std((1, 2, 3)), x.std((1, 2, 3)) * factor, rtol=1e-5)
    y = saturation(x, torch.tensor([0.0, 1.0, 2.0, 0.3]))
    assert torch.allclose(y.mean(1), x.mean(1), atol=1e-6) and torch.allclose(y[0], x.mean(1)[0].expand(3, -1, -1))
    grey = images(4, c=1)
    assert torch.equal(saturation(grey, torch.tensor([0.0, 0.5, 1.5, 2.0])), grey)  # one channel: the identity


def test_cutout_zeroes_a_quarter_inside_the_image_and_the_clipped_square_at_its_border():
    x = torch.ones(3, 1, 28, 28)
    out = cutout(x, torch.tensor([14, 0, 27]), torch.tensor([10, 14, 28]), (14, 14))
    holes = (out == 0).flatten(1).sum(1).tolist()
    assert holes == [28 * 28 // 4, 7 * 14, 8 * 7]  # inside; half outside the top; the bottom-right corner
    assert bool((out[0, 0, 7:21, 3:17] == 0).all())  # the square's top-left is centre − size // 2


def test_drawn_parameters_stay_in_the_reference_ranges_and_real_and_fake_get_the_same_ops():
    torch.manual_seed(0)
    aug = Augmentation("diffaug")
    x = images(4000)
    params = aug.draw_params(x)
    assert list(params) == ["brightness", "contrast", "translate", "cutout"]  # one channel: no saturation
    assert list(aug.draw_params(images(4, c=3))) == ["brightness", "saturation", "contrast", "translate", "cutout"]
    (b, _), (k, _) = params["brightness"], params["contrast"]
    assert -0.5 <= b.min() and b.max() < 0.5 and 0.5 <= k.min() and k.max() < 1.5
    dy, dx, _ = params["translate"]
    shift = round(28 / 8)  # 1/8 of the side: 3.5 → 4 pixels, as int(28 · 0.125 + 0.5)
    for d in (dy, dx):
        assert d.abs().max() == shift and set(d.tolist()) == set(range(-shift, shift + 1))
    out = aug.apply(torch.ones_like(x), {"cutout": params["cutout"]})
    fraction = (out == 0).flatten(1).double().mean(1)
    assert fraction.max() == 0.25 and fraction.min() >= 0.25 / 4  # a quarter, less only where clipped at the border
    # Centres uniform in [0, 28]; the square lies inside for centres in [7, 21] on both axes: (15/29)² ≈ 0.268.
    assert abs((fraction == 0.25).double().mean() - (15 / 29) ** 2) < 0.03
    # Real and generated halves: the same ops, each with its own per-sample draws.
    seen = []
    aug.apply = lambda x, p: seen.append(p) or x  # type: ignore[method-assign]
    aug.batch(Batch(images(8), images(8, seed=1)))
    assert [list(p) for p in seen] == [list(params)] * 2
    assert not torch.equal(seen[0]["brightness"][0], seen[1]["brightness"][0])


def test_ada_applies_each_op_with_probability_p_and_is_the_identity_at_p_0():
    x = images(64)
    aug = Augmentation("ada")
    assert aug.p == 0.0 and aug(x) is x  # starts unaugmented: no op, no draw
    aug.p = 1.0
    assert all(p[-1].all() for p in aug.draw_params(x).values()) and not torch.equal(aug(x), x)
    aug.p = 0.3
    torch.manual_seed(1)
    masks = [p[-1] for p in aug.draw_params(images(4000)).values()]
    assert all(abs(m.double().mean().item() - 0.3) < 0.03 for m in masks)
    assert not torch.equal(masks[0], masks[1])  # independent per op
    off = aug.draw_params(x)
    for p in off.values():
        p[-1].zero_()  # no sample drawn for any op: exactly the input
    assert torch.equal(aug.apply(x, off), x)


@pytest.mark.parametrize("kind", ["diffaug", "ada"])
def test_the_generator_gets_gradients_through_the_augmentation(kind):
    torch.manual_seed(0)
    generator = nn.Sequential(nn.Linear(4, 3 * 16 * 16), nn.Tanh(), nn.Unflatten(1, (3, 16, 16)))
    critic = nn.Sequential(nn.Conv2d(3, 4, 3), nn.LeakyReLU(0.2), nn.Flatten(), nn.LazyLinear(1))
    aug = Augmentation(kind)
    aug.p = 1.0
    fake = generator(torch.randn(16, 4))
    augmented = aug(fake)
    assert not torch.equal(augmented, fake)
    (-critic(augmented).mean()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in generator.parameters())


# -- ADA's controller ------------------------------------------------------------------------------------------


def test_p_rises_on_a_critic_that_separates_and_falls_on_one_that_cannot_within_0_1():
    aug = Augmentation("ada", kimg=1.0)  # p moves by 1 per 1,000 images
    for step in range(1, 4):
        aug.observe(torch.ones(64))  # sign D(real) = +1: r_t = 1 > 0.6
        assert aug.p == 0.0, step  # p moves every 4 critic steps only
    aug.observe(torch.ones(64))
    assert aug.p == pytest.approx(4 * 64 / 1000) and aug.r_t == 1.0
    for _ in range(40):
        aug.observe(torch.ones(64))
    assert aug.p == 1.0  # clipped at 1
    for _ in range(4):
        aug.observe(torch.cat([torch.ones(32), -torch.ones(32)]))  # r_t = 0 ≤ 0.6
    assert aug.p == pytest.approx(1 - 4 * 64 / 1000) and aug.r_t == 0.0
    for _ in range(40):
        aug.observe(-torch.ones(64))
    assert aug.p == 0.0 and aug.stats() == {"ada_p": 0.0, "ada_rt": -1.0}  # clipped at 0


def test_real_scores_come_from_the_objectives_own_call_or_one_pass_that_leaves_the_statistics():
    torch.manual_seed(0)
    conv = nn.utils.parametrizations.spectral_norm(nn.Conv2d(1, 2, 3))
    critic = nn.Sequential(conv, nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2 * 26 * 26, 1), nn.Flatten(0))
    real = images(4)
    calls = []
    critic.register_forward_pre_hook(lambda m, a: calls.append(1))
    with RealScores(critic, real, None) as seen:
        out = critic(real)  # what an objective's score_real does
        critic(real + 1)  # e.g. a gradient penalty's points: not the real batch
    assert torch.equal(seen.result(), out.detach()) and len(calls) == 2
    # An objective that never calls forward on the real batch (SAN): one extra pass, on copies of the buffers.
    twin = copy.deepcopy(critic)
    before = {k: v.clone() for k, v in critic.state_dict().items()}
    with RealScores(critic, real, None) as seen:
        pass
    assert torch.equal(seen.result(), twin(real).detach())
    assert all(torch.equal(before[k], v) for k, v in critic.state_dict().items())


# -- in the training run ---------------------------------------------------------------------------------------


def test_resume_with_ada_is_exact(tmp_path):
    data = small_mnist()
    cfg = config(augment="ada", ada_kimg=0.5)  # p moves by 0.256 per adjustment: the gated ops run
    straight = GANRun(cfg, data)
    for _ in range(2):
        stats = straight.train_epoch()

    first = GANRun(cfg, data)
    first.train_epoch()
    torch.save(first.state_dict(), tmp_path / "state.pt")
    torch.manual_seed(777)
    resumed = GANRun(cfg, data)
    resumed.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    resumed.train_epoch()

    assert 0 < straight.augmentation.p == resumed.augmentation.p and stats.extra["ada_p"] == straight.augmentation.p
    assert straight.augmentation.state_dict() == resumed.augmentation.state_dict()
    for name in ("generator", "critic"):
        a, b = getattr(straight, name).state_dict(), getattr(resumed, name).state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    # The critic's own weights keep their names: checkpoints of runs without augmentation still load.
    assert straight.state_dict()["critic"].keys() == GANRun(config(), data).state_dict()["critic"].keys()


def test_training_augments_every_critic_input_and_sampling_none():
    run = GANRun(config(augment="diffaug", method="wgan_gp", batch_size=32), small_mnist(64))
    seen, critic_loss, generator_loss = [], run.objective.critic_loss, run.objective.generator_loss
    run.objective.critic_loss = lambda critic, batch: seen.append(batch) or critic_loss(critic, batch)
    run.objective.generator_loss = lambda critic, batch: seen.append(batch) or generator_loss(critic, batch)
    run.train_epoch()
    stored = {tuple(x.flatten().tolist()) for x in as_float(run.train_x)}
    assert len(seen) == 3  # two critic steps (n_critic 2), one generator step
    assert all(tuple(x.flatten().tolist()) not in stored for b in seen for x in b.real)
    assert seen[-1].fake.requires_grad  # the generator step's augmented fakes keep G's graph

    class Refuse:
        def __getattr__(self, name):
            raise AssertionError(f"sampling read the augmentation ({name})")

    run.augmentation = Refuse()
    assert run.sample(8).shape == (8, 1, 28, 28)


def test_data_parallel_ranks_draw_their_slice_of_the_global_batch():
    from trainables.distributed import GlobalUniformSlice

    torch.manual_seed(5)
    whole = torch.rand(6)
    slices = []
    for rank in range(2):
        torch.manual_seed(5)
        slices.append(GlobalUniformSlice(6, rank, 2)(3, torch.device("cpu")))
    assert torch.equal(torch.cat(slices), whole)
    with pytest.raises(ValueError, match="slice"):
        GlobalUniformSlice(6, 0, 2)(4, torch.device("cpu"))


def test_a_data_parallel_run_augments_and_moves_p_as_one_worker(tmp_path):
    """One gloo rank: the data-parallel hooks (global draws, summed sign statistics) run and change nothing."""
    import torch.distributed as dist

    from trainables.distributed import _train_epoch, make_data_parallel

    data, cfg = small_mnist(128), config(augment="ada", ada_kimg=0.5)
    plain = GANRun(cfg, data)
    for _ in range(2):
        plain.train_epoch()
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'group'}", rank=0, world_size=1)
    try:
        parallel = GANRun(cfg, data)
        make_data_parallel(parallel, 0, 1)
        for _ in range(2):
            _train_epoch(parallel, 0, 1)
    finally:
        dist.destroy_process_group()
    assert 0 < parallel.augmentation.p == plain.augmentation.p
    a, b = plain.generator.state_dict(), parallel.generator.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


# -- the command line and the report ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["vanilla", "--dataset", "ring8", "--augment", "ada"], "--augment ada augments images; dataset ring8"),
        (["cyclegan", "--augment", "diffaug"], "cyclegan is a translate method"),
    ],
)
def test_cli_refuses_augment_where_there_are_no_generated_images(argv, needle, tmp_path, capsys, monkeypatch):
    assert_refused_in_one_line(argv, needle, tmp_path, capsys, monkeypatch)


def test_augment_is_part_of_every_trial_config_and_a_space_may_search_it(monkeypatch):
    from ray import tune

    from tuner import cli

    args = cli.build_parser().parse_args(["dcgan", "--augment", "diffaug"])
    cli.apply_metric_defaults(args)
    assert cli.trial_config(args)["augment"] == "diffaug"
    assert cli.build_parser().parse_args(["dcgan"]).augment == "none"

    method = cli.get_method("vanilla")
    searched = dataclasses.replace(method, space=lambda: {**method.space(), "augment": tune.choice(["none", "ada"])})
    monkeypatch.setattr(cli, "get_method", lambda name, *a: searched)
    args = argparse.Namespace(method="vanilla", dataset="mnist5k", augment="none")
    cli.validate_augment(args)  # an image set: fine
    with pytest.raises(cli.UsageError, match="augment ada augments images; dataset ring8"):
        cli.validate_augment(argparse.Namespace(method="vanilla", dataset="ring8", augment="none"))
    with pytest.raises(cli.UsageError, match="searches augment; drop --augment diffaug"):
        cli.validate_augment(argparse.Namespace(method="vanilla", dataset="mnist5k", augment="diffaug"))


def test_report_refuses_to_mix_augmented_and_plain_runs_unless_asked(tmp_path):
    from reports import table
    from reports.store import ReportError
    from tests.test_reports import make_hand_store
    from tests.test_scoring_setting import _set_param_on_method

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    make_hand_store(uri)
    _set_param_on_method(uri, "deli_fisher", "augment", "ada")
    mixed = r"different generator settings \(no EMA, fp32 \| no EMA, fp32, augment ada\)"
    with pytest.raises(ReportError, match=mixed):
        table.build_table(uri, experiments=["hand"])
    assert len(table.build_table(uri, experiments=["hand"], allow_mixed_scoring=True).frame()) == 2
