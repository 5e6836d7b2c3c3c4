"""CycleGAN and its shared-encoder variant (the translate task): losses against hand-computed values, the history
pool, parameter sharing, a short training that must translate, exact resume, two-domain data and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import search_args
from trainables.data import DataError, as_float, load_dataset
from trainables.evaluate import metric_direction, metric_label
from trainables.nets.cyclegan import SharedTranslators, build_translators, parameter_count
from trainables.objectives.base import Batch
from trainables.objectives.cyclegan import CycleGANObjective, ImagePool
from trainables.pair_data import pair_at
from trainables.tasks import get_task
from tuner.cli import UsageError, trial_config, validate
from tuner.search import main

TINY = {"width": 8, "batch_size": 16, "train_limit": 256, "seed": 0, "lambda_id": 0.0, "n_blocks": 0, "lr": 2e-3}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as a Ray trial with one CPU: no oversubscription on a shared machine
    yield
    torch.set_num_threads(threads)


def test_cycle_and_identity_losses_match_hand_computed_values():
    obj = CycleGANObjective(lambda_cyc=10.0, lambda_id=0.5)
    a, a_rec = torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.0]])  # L1 = (0.5 + 1) / 2 = 0.75
    b, b_rec = torch.tensor([[1.0, -1.0]]), torch.tensor([[1.0, 1.0]])  # L1 = (0 + 2) / 2 = 1
    assert obj.cycle_loss(a, a_rec, b, b_rec).item() == pytest.approx(10 * (0.75 + 1.0))
    # 0.5 · 10 · (‖G(b) − b‖₁ + ‖F(a) − a‖₁), with F(a) = a_rec, G(b) = b_rec
    assert obj.identity_loss(a, a_rec, b, b_rec).item() == pytest.approx(0.5 * 10 * (1.0 + 0.75))


def test_adversarial_losses_are_the_references_lsgan():
    obj = CycleGANObjective(lambda_cyc=10.0, lambda_id=0.5)
    critic = torch.nn.Identity()  # D(x) = x: the losses are plain functions of the scores
    real, fake = torch.tensor([0.5, 1.0]), torch.tensor([0.0, 2.0])
    # critic: ½·mean((D(real) − 1)²) + ½·mean(D(fake)²) = ½·(0.25 + 0)/2 + ½·(0 + 4)/2
    assert obj.critic_loss(critic, Batch(real, fake))[0].item() == pytest.approx(0.0625 + 1.0)
    # generator: mean((D(fake) − 1)²), not halved = (1 + 1)/2
    assert obj.generator_loss(critic, Batch(real, fake))[0].item() == pytest.approx(1.0)
    assert obj.n_critic == 1


def test_history_pool_fills_then_swaps_half_the_time():
    pool = ImagePool(4, seed=0)
    first = torch.arange(4.0).view(4, 1)
    assert torch.equal(pool.query(first), first)  # filling: everything is stored and returned as it is
    assert [float(x) for x in pool.images] == [0.0, 1.0, 2.0, 3.0]
    returned_stored, n = 0, 2000
    for i in range(n):
        new = torch.tensor([[100.0 + i]])
        out = float(pool.query(new))
        returned_stored += out != 100.0 + i
        assert len(pool.images) == 4
    assert abs(returned_stored / n - 0.5) < 0.05  # p = ½: a stored image comes back and the new one replaces it
    again = ImagePool(4, seed=0)  # seeded: the same choices
    again.query(first)
    assert [float(again.query(torch.tensor([[100.0 + i]]))) for i in range(20)] == [
        float(x) for x in ImagePool_replay(first, 20)
    ]
    assert torch.equal(ImagePool(0).query(first), first)  # size 0: no history


def ImagePool_replay(first: torch.Tensor, k: int) -> list[float]:  # noqa: N802
    pool = ImagePool(4, seed=0)
    pool.query(first)
    return [float(pool.query(torch.tensor([[100.0 + i]]))) for i in range(k)]


def test_pool_state_round_trips():
    pool = ImagePool(3, seed=1)
    pool.query(torch.randn(5, 1, 2, 2))
    copy = ImagePool(3, seed=99)
    copy.load_state_dict(pool.state_dict())
    x = torch.randn(6, 1, 2, 2)
    assert torch.equal(pool.query(x), copy.query(x))


def test_shared_encoder_is_one_module_trained_by_both_directions():
    shared, _ = build_translators((1, 28, 28), (1, 28, 28), 4, shared=True, encoder_blocks=1, decoder_blocks=1)
    assert isinstance(shared, SharedTranslators)
    separate, _ = build_translators((1, 28, 28), (1, 28, 28), 4, shared=False, n_blocks=2)
    assert parameter_count(shared) < parameter_count(separate)  # one encoder instead of two
    x = torch.randn(2, 1, 28, 28)
    alone = {}
    for direction, unused in (("ab", shared.decoder_a), ("ba", shared.decoder_b)):
        shared.zero_grad(set_to_none=True)
        getattr(shared, direction)(x).square().mean().backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in shared.encoder.parameters())
        assert all(p.grad is None for p in unused.parameters())  # the other direction's decoder is untouched
        alone[direction] = [p.grad.clone() for p in shared.encoder.parameters()]
    shared.zero_grad(set_to_none=True)
    (shared.ab(x).square().mean() + shared.ba(x).square().mean()).backward()
    for both, ab, ba in zip(shared.encoder.parameters(), alone["ab"], alone["ba"], strict=True):
        assert torch.allclose(both.grad, ab + ba, atol=1e-6)  # both directions add into the one encoder


def test_grey_and_rgb_domains_translate():
    translators, critics = build_translators((1, 32, 32), (3, 32, 32), 4, shared=True)
    assert translators.ab(torch.randn(2, 1, 32, 32)).shape == (2, 3, 32, 32)
    assert translators.ba(torch.randn(2, 3, 32, 32)).shape == (2, 1, 32, 32)
    assert critics.d_a(torch.randn(2, 1, 32, 32)).shape[-1] >= 3  # PatchGAN grid ≥ 3×3 at small sizes


def _run(method: str, dataset: str = "mnist5k-inverted", **over):
    cfg = {"method": method, "dataset": dataset, "metrics": ["translation_accuracy", "cycle_l1"], **TINY, **over}
    data = load_dataset(dataset)
    task = get_task("translate")
    return task.make_run(cfg, data), task.make_evaluator(cfg, data), cfg


@pytest.mark.parametrize("method", ["cyclegan", "cyclegan_shared"])
def test_inverted_mnist_is_translated_keeping_the_label(method):
    run, evaluator, _ = _run(method, encoder_blocks=0, decoder_blocks=0)
    before = evaluator(run.sample(200), 0)
    for _ in range(3):
        run.train_epoch()
    after = evaluator(run.sample(200), run.epoch)
    assert after["translation_accuracy_mean"] >= 0.8, after
    assert after["translation_accuracy_mean"] > before["translation_accuracy_mean"] + 0.3
    assert after["cycle_l1"] < before["cycle_l1"] and after["cycle_l1_ba"] < before["cycle_l1_ba"]
    grid = run.grid(run.sample(64))
    assert grid.shape == (48, 1, 28, 28)  # rows of 8: A | G(A) | F(G(A)), B | F(B) | G(F(B))


def test_resume_from_a_checkpoint_is_exact(tmp_path):
    run, _, cfg = _run("cyclegan", train_limit=64, lambda_id=0.5, pool_size=8, n_blocks=1)
    run.train_epoch()
    torch.save(run.state_dict(), tmp_path / "state.pt")
    expected = run.train_epoch().as_dict()
    resumed, _, _ = _run("cyclegan", train_limit=64, lambda_id=0.5, pool_size=8, n_blocks=1, seed=7)
    resumed.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    got = resumed.train_epoch().as_dict()
    assert got == expected
    for p, q in zip(run.generator.parameters(), resumed.generator.parameters(), strict=True):
        assert torch.equal(p, q)


def test_metric_registry_names_both_directions():
    assert metric_direction("cycle_l1_ba") == "min" and metric_direction("translation_accuracy_mean") == "max"
    assert metric_direction("inception_score_ba") == "max" and metric_direction("ddm_ba") == "min"
    assert metric_label("ddm_ba") == "DDM B→A"


# -- data -------------------------------------------------------------------------------------------


def test_embedded_pairs_hold_two_labelled_domains():
    pair = load_dataset("mnist5k-digits")
    assert pair.info.kind == "pair" and pair.a.train_x.shape[1:] == pair.b.train_x.shape[1:] == (1, 28, 28)
    assert len(pair.a.train_x) == 4000 and len(pair.b.train_x) + len(pair.b.test_x) == 1797
    assert set(pair.b.test_y.tolist()) == set(range(10))
    inverted = load_dataset("mnist5k-inverted")
    assert torch.equal(inverted.b.train_x, -inverted.a.train_x)


def _write_pair(root, name: str = "horse2zebra") -> None:
    rng = np.random.default_rng(0)
    for split, count, mode in (("trainA", 3, "RGB"), ("trainB", 2, "L"), ("testA", 1, "RGB"), ("testB", 2, "RGB")):
        folder = root / name / split
        folder.mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (30, 40, 3) if mode == "RGB" else (30, 40), dtype=np.uint8)
            Image.fromarray(pixels, mode).save(folder / f"{i}.{'jpg' if i % 2 else 'png'}")


def test_real_pair_is_read_from_the_cyclegan_layout_at_the_image_size(tmp_path):
    _write_pair(tmp_path)
    pair = load_dataset("horse2zebra", str(tmp_path))
    assert pair.a.train_x.shape == (3, 3, 64, 64) and pair.a.train_x.dtype == torch.uint8
    assert pair.b.train_x.shape == (2, 3, 64, 64) and pair.b.test_x.shape == (2, 3, 64, 64)  # grey files → RGB
    assert pair.a.test_x.dtype == torch.float32 and pair.a.test_x.abs().max() <= 1.0
    small = pair_at(pair, 32, str(tmp_path))
    assert small.a.train_x.shape == (3, 3, 32, 32) and small.info.shape == (3, 32, 32)
    args = search_args(tmp_path, "cyclegan", "--dataset", "horse2zebra", "--data-root", str(tmp_path),
                       "--image-size", "32", "--batch-size", "2")  # fmt: skip
    validate(args)
    assert args.metrics == "cycle_l1" and args.metric == "cycle_l1"  # no labels: no classifier metrics
    assert trial_config(args)["image_size"] == 32
    run = get_task("translate").make_run({**trial_config(args), "lr": 2e-4, "beta1": 0.5}, pair)
    stats = run.train_epoch()
    assert math.isfinite(stats.loss_g) and run.sample(4).ab.translated.shape == (1, 3, 32, 32)
    with pytest.raises(UsageError, match="translation_accuracy needs labelled domains"):
        validate(search_args(tmp_path, "cyclegan", "--dataset", "horse2zebra", "--data-root", str(tmp_path),
                             "--metrics", "cycle_l1,translation_accuracy"))  # fmt: skip


def test_a_broken_real_pair_is_one_line(tmp_path):
    _write_pair(tmp_path, "monet2photo")
    (tmp_path / "monet2photo" / "testB" / "0.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="cannot read monet2photo"):
        load_dataset("monet2photo", str(tmp_path))


def test_a_translate_method_defaults_to_a_two_domain_dataset(tmp_path):
    args = search_args(tmp_path, "cyclegan_shared")
    validate(args)
    assert args.dataset == "mnist5k-digits" and args.metric == "translation_accuracy_mean"
    assert args.metrics == "cycle_l1,translation_accuracy,inception_score,ddm"
    generate = search_args(tmp_path, "dcgan")
    validate(generate)
    assert generate.dataset == "mnist5k"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["cyclegan", "--dataset", "ring8"], "method cyclegan cannot train on points data (ring8)"),
        (["dcgan", "--dataset", "mnist5k-digits"], "method dcgan cannot train on pair data"),
        (["dcgan", "--metrics", "cycle_l1"], "metric cycle_l1 does not apply to the generate task"),
        (["cyclegan", "--metrics", "ring"], "metric ring does not apply to the translate task"),
        (
            ["cyclegan", "--dataset", "horse2zebra", "--data-root", "."],
            "horse2zebra/trainA (and 3 more) not found; horse2zebra expects <root>/horse2zebra/{trainA,trainB,",
        ),
        (["cyclegan", "--dataset", "summer2winter_yosemite"], "needs --data-root"),
        (["cyclegan", "--image-size", "32"], "--image-size applies to real two-domain datasets"),
    ],
)
def test_bad_pairs_are_refused_with_one_line(argv, says, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--storage", str(tmp_path / "rr"), "--mlflow-uri", f"sqlite:///{tmp_path / 'm.db'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "rr").exists()


def test_sampling_a_translate_model_is_refused_clearly(tmp_path, capsys):
    from trainables.sample import generator_file_contents
    from trainables.sample import main as sample_main

    cfg = {"method": "cyclegan", "dataset": "mnist5k-inverted", **TINY, "train_limit": 32}
    run = get_task("translate").make_run(cfg, load_dataset("mnist5k-inverted"))
    torch.save(generator_file_contents(run.state_dict(), cfg), tmp_path / "generator.pt")
    assert sample_main([str(tmp_path / "generator.pt"), "--out", str(tmp_path / "x.png")]) == 2
    assert "is a translate model" in capsys.readouterr().err


def test_pool_at_a_batch_larger_than_the_pool_keeps_every_image_once():
    """A batch of 5 into a pool of 3: the first 3 are stored and returned, the other 2 each return themselves or
    a stored image they replace, so the pool stays at 3 and pool ∪ returned holds the inputs exactly as many times
    as the reference's rule says (the first 3 twice, the rest once), whatever the coin flips."""
    images = torch.arange(5.0).view(5, 1, 1, 1).expand(5, 1, 2, 2).contiguous()
    for seed in range(8):
        pool = ImagePool(3, seed)
        out = pool.query(images)
        assert out.shape == images.shape and len(pool.images) == 3
        assert torch.equal(out[:3], images[:3])
        seen = sorted([float(i[0, 0, 0]) for i in out] + [float(i[0, 0, 0]) for i in pool.images])
        assert seen == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 4.0]


def test_training_step_freezes_critics_for_the_generators_and_feeds_them_detached_fakes():
    run, _, _ = _run("cyclegan", train_limit=32, batch_size=4, n_blocks=1, lambda_id=0.5)
    calls: list[tuple[str, bool, bool]] = []  # (critic, its weights trainable, its input carries G's graph)
    for name in ("d_a", "d_b"):
        critic = getattr(run.critics, name)
        critic.register_forward_pre_hook(lambda m, args, name=name: calls.append(
            (name, any(p.requires_grad for p in m.parameters()), args[0].requires_grad)))  # fmt: skip
    a, b = as_float(run.train_a[:4]), as_float(run.train_b[:4])
    run._step(a, b)
    g_step = [c for c in calls if c[2]]
    d_step = [c for c in calls if not c[2]]
    # The generators' step: each critic scores a translation once, with its weights frozen.
    assert sorted(c[0] for c in g_step) == ["d_a", "d_b"] and not any(c[1] for c in g_step)
    # The critics' step: real images and pool fakes, neither carrying the generators' graph, weights trainable.
    assert len(d_step) >= 2 and all(c[1] for c in d_step) and {c[0] for c in d_step} == {"d_a", "d_b"}
    assert all(p.requires_grad for p in run.critics.parameters())  # unfrozen again for the next step


def test_networks_start_from_the_references_normal_init():
    translators, critics = build_translators((1, 28, 28), (1, 28, 28), 16, shared=False, n_blocks=2)
    for net in (translators, critics):
        convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)]
        weights = torch.cat([m.weight.detach().flatten() for m in convs])
        assert abs(float(weights.mean())) < 2e-3 and abs(float(weights.std()) - 0.02) < 1e-3
        assert all(m.bias is None or not m.bias.detach().any() for m in convs)
