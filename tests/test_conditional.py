"""Class-conditional GANs: labels through the networks and the objectives' batch, the conditional losses against
hand-computed values, intra-FID and CAS against closed forms, and short trainings that must learn the classes."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trainables.data import dataset_info, load_dataset
from trainables.evaluate import check_metrics, evaluator_from_config
from trainables.metrics.conditional import accuracy, frechet_distance_of_samples, intra_fid
from trainables.metrics.fid import fid
from trainables.nets import Critic, NetOptions, build_networks
from trainables.nets.conditional import ConditionalBatchNorm, with_label_planes
from trainables.objectives.auxiliary import AuxiliaryClassifier
from trainables.objectives.base import Batch
from trainables.objectives.hinge import HingeObjective
from trainables.objectives.vanilla import VanillaObjective
from trainables.registry import get_method
from trainables.train import GANRun

MNIST = dataset_info("mnist5k")


def opts(condition: str, **kw) -> NetOptions:
    return NetOptions(z_dim=6, width=4, condition=condition, num_classes=10, **kw)


class ProjectionCritic(Critic):
    """f(x, y) = ⟨w, x⟩ + b + ⟨E_y, x⟩: identity features, every weight set by hand."""

    def __init__(self, w: list[float], b: float, embed: list[list[float]]):
        super().__init__()
        d = len(w)
        self.body = nn.Identity()
        self.head = nn.Linear(d, 1)
        self.projection = nn.Embedding(len(embed), d)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([w]))
            self.head.bias.fill_(b)
            self.projection.weight.copy_(torch.tensor(embed))


class ClassHeadCritic(Critic):
    """Score ⟨w, x⟩ and class logits ⟨V_k, x⟩ of 1-D inputs: identity features."""

    def __init__(self, w: float, v: list[float]):
        super().__init__()
        self.body = nn.Identity()
        self.head = nn.Linear(1, 1, bias=False)
        self.class_head = nn.Linear(1, len(v), bias=False)
        with torch.no_grad():
            self.head.weight.fill_(w)
            self.class_head.weight.copy_(torch.tensor(v)[:, None])


def test_the_projection_term_enters_the_hinge_loss():
    critic = ProjectionCritic([1.0, 0.0], 0.5, [[0.0, 0.0], [0.0, 2.0]])
    real, fake = torch.tensor([[1.0, 1.0], [0.0, -1.0]]), torch.tensor([[0.0, 0.5], [2.0, 0.0]])
    y_real, y_fake = torch.tensor([1, 0]), torch.tensor([1, 1])
    # f(real) = (1 + 0.5 + 2·1, 0 + 0.5 + 0) = (3.5, 0.5); f(fake) = (0.5 + 2·0.5, 2 + 0.5 + 0) = (1.5, 2.5)
    assert torch.allclose(critic(real, y_real), torch.tensor([3.5, 0.5]))
    assert torch.allclose(critic(real), torch.tensor([1.5, 0.5]))  # no labels: the unconditional score
    loss, _ = HingeObjective(n_critic=1).critic_loss(critic, Batch(real, fake, y_real, y_fake))
    # mean relu(1 − f_real) = (0 + 0.5)/2; mean relu(1 + f_fake) = (2.5 + 3.5)/2
    assert loss.item() == pytest.approx(0.25 + 3.0)
    g_loss, _ = HingeObjective(n_critic=1).generator_loss(critic, Batch(real, fake, y_real, y_fake))
    assert g_loss.item() == pytest.approx(-2.0)


def test_ac_gan_adds_both_class_terms_to_the_critic_and_the_fake_term_to_the_generator():
    critic = ClassHeadCritic(1.0, [1.0, -1.0, 0.0])
    real, fake = torch.tensor([[1.0], [2.0]]), torch.tensor([[0.0], [-1.0]])
    y_real, y_fake = torch.tensor([0, 2]), torch.tensor([1, 1])
    obj = AuxiliaryClassifier(VanillaObjective(non_saturating=True, n_critic=1), class_weight=0.5)

    def ce(x: float, k: int) -> float:  # −log softmax(x·(1, −1, 0))_k
        logits = [x, -x, 0.0]
        return -(logits[k] - math.log(sum(math.exp(v) for v in logits)))

    sp = lambda v: math.log1p(math.exp(v))  # noqa: E731
    adversarial = (sp(-1.0) + sp(-2.0)) / 2 + (sp(0.0) + sp(-1.0)) / 2
    real_terms, fake_terms = (ce(1.0, 0) + ce(2.0, 2)) / 2, (ce(0.0, 1) + ce(-1.0, 1)) / 2
    loss, info = obj.critic_loss(critic, Batch(real, fake, y_real, y_fake))
    assert loss.item() == pytest.approx(adversarial + 0.5 * (real_terms + fake_terms), rel=1e-6)
    assert info["d_class_real"] == pytest.approx(real_terms, rel=1e-6) and info["d_class_acc_real"] == 0.5
    g_loss, _ = obj.generator_loss(critic, Batch(real, fake, y_real, y_fake))
    assert g_loss.item() == pytest.approx((sp(0.0) + sp(1.0)) / 2 + 0.5 * fake_terms, rel=1e-6)
    assert obj.n_critic == 1 and obj.non_saturating  # the wrapped objective's settings show through


def test_concatenation_shapes_and_label_planes():
    g, d = build_networks(MNIST, opts("concat"))
    assert g.project.in_features == 6 + 10 and d.body[0].in_channels == 1 + 10
    x, y = torch.zeros(2, 1, 28, 28), torch.tensor([3, 7])
    planes = with_label_planes(x, y, 10)
    assert planes.shape == (2, 11, 28, 28)
    assert torch.equal(planes[:, 1:, 5, 9], F.one_hot(y, 10).float()) and torch.equal(planes[:, :1], x)
    assert g(torch.zeros(2, 6), y).shape == (2, 1, 28, 28) and d(x, y).shape == (2,)
    with pytest.raises(ValueError, match=r"call critic\(x, y\)"):
        d(x)
    for condition in ("concat", "ac", "projection"):  # 32 px nets too
        g32, d32 = build_networks(dataset_info("cifar10"), opts(condition))
        assert d32(g32(torch.randn(2, 6), y), y).shape == (2,)


@pytest.mark.parametrize("condition", ["concat", "ac", "projection"])
def test_labels_reach_the_generator_and_the_critic(condition):
    torch.manual_seed(0)
    g, d = build_networks(MNIST, opts(condition))
    g.train()  # conditional batch norm reads y in training and in eval mode alike
    if condition == "projection":  # conditional BN starts at γ_y = 1, β_y = 0 for every class: as if trained
        cbn = [m for m in g.modules() if isinstance(m, ConditionalBatchNorm)]
        assert len(cbn) == 3  # every batch norm of G (the projection's 1-D one and both conv ones)
        with torch.no_grad():
            for m in cbn:
                m.beta.weight.normal_()
    z = torch.randn(4, 6)
    a, b = g(z, torch.tensor([0, 0, 0, 0])), g(z, torch.tensor([1, 1, 1, 1]))
    assert not torch.allclose(a, b)
    x = torch.randn(4, 1, 28, 28)
    if condition == "ac":  # the AC critic's score ignores y; its class head reads the image
        assert d.class_logits(x).shape == (4, 10) and torch.equal(d(x, torch.zeros(4).long()), d(x))
    else:
        assert not torch.allclose(d(x, torch.zeros(4).long()), d(x, torch.ones(4).long()))


def test_unconditional_networks_are_unchanged_by_the_condition_machinery():
    torch.manual_seed(0)
    g0, d0 = build_networks(MNIST, NetOptions(z_dim=6, width=4))
    torch.manual_seed(0)
    g1, d1 = build_networks(MNIST, NetOptions(z_dim=6, width=4, num_classes=10))  # K alone conditions nothing
    for a, b in ((g0, g1), (d0, d1)):
        assert a.state_dict().keys() == b.state_dict().keys()
        assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())


def test_a_conditional_run_feeds_each_real_image_with_its_own_label():
    data = load_dataset("mnist5k")
    run = GANRun({"method": "fisher", "condition": "projection", "dataset": "mnist5k", "width": 4, "batch_size": 16,
                  "train_limit": 64, "seed": 0}, data)  # fmt: skip
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    run.critic.register_forward_pre_hook(lambda m, args: seen.append((args[0].detach(), args[1])) if len(args) == 2
                                         else None)  # fmt: skip
    g_seen: list[torch.Tensor] = []
    run.generator.register_forward_pre_hook(lambda m, args: g_seen.append(args[1]) if len(args) == 2 else None)
    run.train_epoch()
    flat = run.train_x.flatten(1)
    matched = 0
    for x, y in seen:
        for row, label in zip(x.flatten(1), y.tolist(), strict=True):
            hit = (flat == row.to(flat.dtype)).all(1).nonzero()
            if len(hit):  # a real image (fakes are not in the training set): its label is the dataset's
                assert run.train_y[hit[0, 0]].item() == label
                matched += 1
    assert matched >= 64 // 16 * 16 and len(g_seen) > 0 and all(len(y) == 16 for y in g_seen)
    samples = run.sample(25)
    assert torch.equal(run.sample_labels(25), torch.arange(25) % 10) and run.grid(samples).shape[0] == 20


def test_intra_fid_is_the_mean_of_per_class_frechet_distances():
    # 1-D features: FID = (μ₁ − μ₂)² + σ₁² + σ₂² − 2σ₁σ₂ with unbiased variances.
    real = torch.tensor([[0.0], [2.0], [10.0], [12.0]])  # class 0: μ 1, σ² 2; class 1: μ 11, σ² 2
    gen = torch.tensor([[1.0], [3.0], [5.0], [9.0], [13.0]])  # class 0: μ 2, σ² 2; class 1: μ 9, σ² 16
    real_y, gen_y = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 0, 1, 1, 1])
    per_class = [(1 - 2) ** 2 + 0.0, (11 - 9) ** 2 + 2 + 16 - 2 * math.sqrt(2 * 16)]
    assert intra_fid(real, real_y, gen, gen_y) == pytest.approx(sum(per_class) / 2, rel=1e-9)
    assert intra_fid(real, real_y, real, real_y) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="class 1"):
        intra_fid(real, real_y, gen[:3], torch.tensor([0, 0, 1]))
    assert accuracy(torch.tensor([[2.0, 1.0], [0.0, 1.0], [3.0, 0.0]]), torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)


def test_the_sample_form_of_fid_equals_the_covariance_form():
    """Fewer samples than dimensions (rank-deficient covariances, as intra-FID's ~100 per class) and more."""
    torch.manual_seed(0)
    for n1, n2, d in ((4, 6, 5), (30, 20, 50), (60, 40, 8)):
        x, y = torch.randn(n1, d, dtype=torch.float64), 1.5 * torch.randn(n2, d, dtype=torch.float64) + 0.3
        assert frechet_distance_of_samples(x, y) == pytest.approx(fid(x, y), rel=1e-6)


def test_cas_scores_real_labelled_images_high_and_shifted_labels_at_zero():
    """A classifier trained on correctly labelled real images classifies the held-out split; one trained on the
    same images with every label shifted by one learns the shift, so it is wrong on nearly every real image."""
    from trainables.classifier import fit_on_samples

    data = load_dataset("mnist5k")
    x, y = data.train_x[::4], data.train_y[::4]  # 1,000 images
    test_x, test_y = data.test_x[::2], data.test_y[::2]
    right = fit_on_samples(x, y, 10, steps=60)
    shifted = fit_on_samples(x, (y + 1) % 10, 10, steps=60)
    assert accuracy(right.logits(test_x), test_y) > 0.7
    assert accuracy(shifted.logits(test_x), test_y) < 0.05
    assert accuracy(shifted.logits(test_x), (test_y + 1) % 10) > 0.7


def test_label_metrics_apply_where_outputs_carry_labels():
    with pytest.raises(ValueError, match="does not apply to the generate task.*--condition"):
        check_metrics(["class_accuracy"], "mnist5k")
    assert check_metrics(["class_accuracy", "intra_fid", "cas"], "mnist5k", conditional=True)
    with pytest.raises(ValueError, match="needs a labelled dataset"):
        check_metrics(["intra_fid"], "celeba", conditional=True)
    assert check_metrics(["class_accuracy"], "mnist5k", "modify")  # a modification's target is its label


@pytest.mark.parametrize("method", ["cgan", "acgan", "cgan_projection"])
def test_a_short_training_learns_the_classes(method):
    """64 generator steps an epoch on 2,048 mnist5k images: the independent classifier must read the generated label far
    above chance (0.1)."""
    data = load_dataset("mnist5k")
    lr = {"cgan_projection": {"lr": 1e-3, "n_critic": 1}}.get(method, {"lr": 1e-3})
    config = {"method": method, "dataset": "mnist5k", "width": 16, "batch_size": 32, "train_limit": 2048, "seed": 0,
              **get_method(method).defaults(), **lr, "metrics": ["class_accuracy"], "eval_samples": 500}  # fmt: skip
    run, evaluator = GANRun(config, data), evaluator_from_config(config, data)
    before = evaluator(run.sample(500))["class_accuracy"]
    for _ in range(EPOCHS[method]):
        run.train_epoch()
    after = evaluator(run.sample(500))["class_accuracy"]
    assert after > 0.3 and after > before + 0.2, (before, after)


EPOCHS = {"cgan": 3, "acgan": 2, "cgan_projection": 4}  # measured: 0.49, 0.51, 0.43 (benchmarks/RESULTS.md)


def test_ac_conditioning_wraps_any_objective_once():
    fisher = get_method("fisher").make_objective({"condition": "ac"})
    assert isinstance(fisher, AuxiliaryClassifier) and fisher.class_weight == 1.0  # AC-GAN's default
    assert (fisher.n_critic, fisher.rho) == (2, 1e-6) and "lambda" in fisher.state_dict()
    assert get_method("acgan").make_objective({"class_weight": 3.0}).class_weight == 3.0
    assert not isinstance(get_method("fisher").make_objective({}), AuxiliaryClassifier)
