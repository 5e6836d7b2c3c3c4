"""Each objective's losses and gradients against hand-computed values on tiny fixed batches.

Critics are linear (or quadratic) with set weights so every term has a closed form. The Fisher
objective is covered in tests/test_fisher.py.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from trainables.nets import Critic
from trainables.objectives.base import Batch
from trainables.objectives.dragan import DRAGANObjective
from trainables.objectives.feature_matching import FeatureMatchingObjective
from trainables.objectives.hinge import HingeObjective
from trainables.objectives.lsgan import LSGANObjective
from trainables.objectives.penalties import dragan_perturbed, interpolates
from trainables.objectives.san import SANObjective, san_outputs
from trainables.objectives.unrolled import UnrolledObjective
from trainables.objectives.vanilla import VanillaObjective
from trainables.objectives.wgan import WGANObjective
from trainables.objectives.wgan_gp import WGANGPObjective

REAL = torch.tensor([[1.0], [2.0]])
FAKE = torch.tensor([[0.0], [-1.0]])


def sp(x: float) -> float:
    return math.log1p(math.exp(x))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


class LinearCritic(Critic):
    """f(x) = ⟨w, body(x)⟩ + b with an identity-initialised linear body, all weights set by hand."""

    def __init__(self, w: list[float], b: float = 0.0):
        super().__init__()
        d = len(w)
        self.body = nn.Linear(d, d, bias=False)
        self.head = nn.Linear(d, 1)
        with torch.no_grad():
            self.body.weight.copy_(torch.eye(d))
            self.head.weight.copy_(torch.tensor([w]))
            self.head.bias.fill_(b)


class Quadratic(nn.Module):
    """f(x) = a/2 ‖x‖²: ∇ₓf = a·x, so gradient penalties depend on where they are taken."""

    def __init__(self, a: float):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a))

    def forward(self, x):
        return 0.5 * self.a * x.flatten(1).pow(2).sum(1)


# -- original GAN ---------------------------------------------------------------------------------


def test_vanilla_critic_loss_is_cross_entropy_of_logits():
    # f_real = (1, 2), f_fake = (0, −1): −log σ(f_r) = softplus(−f_r), −log(1 − σ(f_f)) = softplus(f_f)
    loss, info = VanillaObjective(non_saturating=True, n_critic=1).critic_loss(LinearCritic([1.0]), Batch(REAL, FAKE))
    expected = (sp(-1) + sp(-2)) / 2 + (sp(0) + sp(-1)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert info["d_real"] == pytest.approx((sigmoid(1) + sigmoid(2)) / 2, rel=1e-6)


def test_minimax_saturates_where_non_saturating_does_not():
    """A critic confident that x̃ is fake (f = −6): log(1 − D) gives G almost no gradient, −log D does."""
    critic = LinearCritic([1.0])
    fake = torch.tensor([[-6.0]], requires_grad=True)
    ns, _ = VanillaObjective(non_saturating=True, n_critic=1).generator_loss(critic, Batch(REAL, fake))
    (g_ns,) = torch.autograd.grad(ns, fake)
    mm, _ = VanillaObjective(non_saturating=False, n_critic=1).generator_loss(critic, Batch(REAL, fake))
    (g_mm,) = torch.autograd.grad(mm, fake)
    assert ns.item() == pytest.approx(sp(6), rel=1e-6)  # −log σ(−6)
    assert mm.item() == pytest.approx(-sp(-6), rel=1e-6)  # log(1 − σ(−6))
    assert g_ns.item() == pytest.approx(-sigmoid(6), rel=1e-6)  # d/dx softplus(−x) = −σ(−x)
    assert g_mm.item() == pytest.approx(-sigmoid(-6), rel=1e-6)  # ≈ −0.0025: saturated


# -- Wasserstein family ---------------------------------------------------------------------------


def test_wgan_critic_loss_and_weight_clipping():
    critic = LinearCritic([0.5])
    obj = WGANObjective(clip=0.01, n_critic=5)
    loss, info = obj.critic_loss(critic, Batch(REAL, FAKE))
    # f_r = (0.5, 1), f_f = (0, −0.5): E_Q f − E_P f = −0.25 − 0.75
    assert loss.item() == pytest.approx(-1.0)
    assert info["wasserstein"] == pytest.approx(1.0)
    critic.body.weight.requires_grad_(False)  # a frozen part (e.g. a pre-trained encoder) is left alone
    with torch.no_grad():
        critic.head.bias.fill_(-0.3)
    obj.after_critic_step(critic)
    assert critic.head.weight.item() == pytest.approx(0.01)
    assert critic.head.bias.item() == pytest.approx(-0.01)
    assert critic.body.weight.item() == 1.0
    g_loss, _ = obj.generator_loss(critic, Batch(REAL, FAKE))
    assert g_loss.item() == pytest.approx(-(0.01 * -0.5 - 0.01))


def test_wgan_gp_penalty_of_a_linear_critic_is_closed_form():
    # f(x) = ⟨(3, 4), x⟩: ‖∇f‖ = 5 at every interpolate → penalty (5 − 1)² = 16, whatever α is.
    critic = LinearCritic([3.0, 4.0])
    real, fake = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    loss, info = WGANGPObjective(gp_weight=10.0, n_critic=5).critic_loss(critic, Batch(real, fake))
    w_loss = (0 + 7) / 2 - (3 + 4) / 2
    assert info["gp"] == pytest.approx(16.0, rel=1e-6)
    assert loss.item() == pytest.approx(w_loss + 10 * 16.0, rel=1e-6)


def test_wgan_gp_penalty_at_random_interpolates_and_its_critic_gradient():
    real, fake = torch.tensor([[1.0, 2.0], [0.0, 3.0]]), torch.tensor([[-1.0, 0.0], [2.0, 2.0]])
    torch.manual_seed(7)
    alpha = torch.rand(2, 1)  # the draw the objective makes
    x_hat = alpha * real + (1 - alpha) * fake
    a = 0.8
    norms = a * x_hat.norm(dim=1)  # ∇ₓ (a/2 ‖x‖²) = a x
    critic = Quadratic(a)
    torch.manual_seed(7)
    loss, info = WGANGPObjective(gp_weight=2.0, n_critic=5).critic_loss(critic, Batch(real, fake))
    expected_gp = ((norms - 1) ** 2).mean().item()
    w_loss = 0.5 * a * (fake.pow(2).sum(1).mean() - real.pow(2).sum(1).mean()).item()
    assert info["gp"] == pytest.approx(expected_gp, rel=1e-5)
    assert loss.item() == pytest.approx(w_loss + 2 * expected_gp, rel=1e-5)
    # The penalty trains the critic (double backward): d/da mean((a‖x̂‖ − 1)²) = mean(2(a‖x̂‖ − 1)‖x̂‖)
    loss.backward()
    r = x_hat.norm(dim=1)
    d_w = 0.5 * (fake.pow(2).sum(1).mean() - real.pow(2).sum(1).mean()).item()
    assert critic.a.grad.item() == pytest.approx(d_w + 2 * (2 * (a * r - 1) * r).mean().item(), rel=1e-5)


def test_interpolates_lie_on_the_segment_per_sample():
    real, fake = torch.zeros(3, 1, 2, 2), torch.ones(3, 1, 2, 2)
    x = interpolates(real, fake, alpha=torch.tensor([0.0, 0.25, 1.0]).view(3, 1, 1, 1))
    assert torch.equal(x[:, 0, 0, 0], torch.tensor([1.0, 0.75, 0.0]))
    assert (x.flatten(1) == x.flatten(1)[:, :1]).all()  # one α per sample, shared by its pixels


def test_hinge_losses():
    critic = LinearCritic([0.5])  # f_r = (0.5, 1), f_f = (0, −0.5)
    loss, _ = HingeObjective(n_critic=1).critic_loss(critic, Batch(REAL, FAKE))
    assert loss.item() == pytest.approx((0.5 + 0) / 2 + (1 + 0.5) / 2)
    g_loss, _ = HingeObjective(n_critic=1).generator_loss(critic, Batch(REAL, FAKE))
    assert g_loss.item() == pytest.approx(0.25)


def test_lsgan_losses_with_0_1_coding():
    critic = LinearCritic([1.0])  # f_r = (1, 2), f_f = (0, −1)
    loss, _ = LSGANObjective(n_critic=1).critic_loss(critic, Batch(REAL, FAKE))
    assert loss.item() == pytest.approx(0.5 * (0 + 1) / 2 + 0.5 * (0 + 1) / 2)
    g_loss, _ = LSGANObjective(n_critic=1).generator_loss(critic, Batch(REAL, FAKE))
    assert g_loss.item() == pytest.approx(0.5 * (1 + 4) / 2)


# -- DRAGAN ----------------------------------------------------------------------------------------


def test_dragan_perturbation_is_half_the_batch_std_times_uniform_noise():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # population std of 1..4 = √1.25
    noise = torch.tensor([[1.0, 0.0], [0.5, 1.0]])
    x = dragan_perturbed(real, noise=noise, alpha=torch.tensor([[1.0], [0.5]]))
    half_std = 0.5 * math.sqrt(1.25)
    expected = real + torch.tensor([[1.0], [0.5]]) * half_std * noise
    assert torch.allclose(x, expected)
    torch.manual_seed(0)
    x = dragan_perturbed(real)
    assert (x >= real).all() and (x - real <= half_std).all()  # δ ∈ [0, 0.5·std) elementwise


def test_dragan_loss_is_logistic_loss_plus_penalty_near_real_data():
    real, fake = torch.tensor([[1.0, 2.0], [0.0, 3.0]]), torch.tensor([[-1.0, 0.0], [2.0, 2.0]])
    a = 0.3
    torch.manual_seed(3)
    noise, alpha = torch.rand_like(real), torch.rand(2, 1)  # the objective's draws, in its order
    x_hat = real + alpha * 0.5 * real.std(correction=0) * noise
    f_r, f_f = 0.5 * a * real.pow(2).sum(1), 0.5 * a * fake.pow(2).sum(1)
    logistic = sum(sp(-v) for v in f_r.tolist()) / 2 + sum(sp(v) for v in f_f.tolist()) / 2
    gp = ((a * x_hat.norm(dim=1) - 1) ** 2).mean().item()
    torch.manual_seed(3)
    loss, info = DRAGANObjective(gp_weight=10.0, n_critic=1).critic_loss(Quadratic(a), Batch(real, fake))
    assert info["gp"] == pytest.approx(gp, rel=1e-5)
    assert loss.item() == pytest.approx(logistic + 10 * gp, rel=1e-5)


# -- SAN -------------------------------------------------------------------------------------------

SAN_REAL = torch.tensor([[0.1, 0.0], [0.0, 1.0]])
SAN_FAKE = torch.tensor([[0.5, 0.0], [-1.0, 0.0]])


def test_san_loss_value():
    # w = (3, 4) = 5·(0.6, 0.8), b = 0.5: f_r = (0.8, 4.5), f_f = (2.0, −2.5)
    # hinge: mean(0.2, 0) + mean(3, 0) = 1.6; direction: 5·ω·(E_Q h − E_P h) = 5·ω·(−0.3, −0.5) = −2.9
    loss, info = SANObjective(n_critic=1).critic_loss(LinearCritic([3.0, 4.0], b=0.5), Batch(SAN_REAL, SAN_FAKE))
    assert info["hinge"] == pytest.approx(1.6, rel=1e-6)
    assert info["sliced_w"] == pytest.approx(2.9, rel=1e-6)
    assert loss.item() == pytest.approx(1.6 - 2.9, rel=1e-6)


def test_san_detaches_route_each_term_to_its_own_parameters():
    critic = LinearCritic([3.0, 4.0], b=0.5)
    omega = torch.tensor([0.6, 0.8])
    fun_r, dir_r = san_outputs(critic, SAN_REAL)
    fun_f, dir_f = san_outputs(critic, SAN_FAKE)
    # Direction term: no gradient reaches the features (body, bias); on w only the tangential part,
    # ∇_w ω·u = (I − ωωᵀ)u/‖w‖ with u = E_Q h − E_P h = (−0.3, −0.5) → 5·that = (0.048, −0.036).
    loss_dir = dir_f.mean() - dir_r.mean()
    loss_dir.backward(retain_graph=True)  # the two paths share h and ‖w‖
    assert critic.body.weight.grad is None and critic.head.bias.grad is None
    assert torch.allclose(critic.head.weight.grad, torch.tensor([[0.048, -0.036]]), atol=1e-6)
    assert float(critic.head.weight.grad @ omega) == pytest.approx(0.0, abs=1e-6)
    # Hinge term: ω detached, so w only moves along itself, through the scale s = ‖w‖:
    # d/ds = −½ h_r1·ω + ½ h_f1·ω = −0.03 + 0.15 = 0.12 (the two active hinges) → 0.12·ω.
    critic.zero_grad(set_to_none=True)
    loss_fun = torch.relu(1 - fun_r).mean() + torch.relu(1 + fun_f).mean()
    loss_fun.backward()
    assert torch.allclose(critic.head.weight.grad, 0.12 * omega.view(1, 2), atol=1e-6)
    # … and the features get exactly the hinge gradient of the plain critic with w frozen.
    body_grad = critic.body.weight.grad.clone()
    ref = copy.deepcopy(critic)
    ref.zero_grad(set_to_none=True)
    ref.head.weight.requires_grad_(False)
    f_r, f_f = ref(SAN_REAL), ref(SAN_FAKE)
    (torch.relu(1 - f_r).mean() + torch.relu(1 + f_f).mean()).backward()
    assert torch.allclose(body_grad, ref.body.weight.grad, atol=1e-6)


def test_san_full_loss_gradient_is_the_sum_of_both_paths():
    critic = LinearCritic([3.0, 4.0], b=0.5)
    loss, _ = SANObjective(n_critic=1).critic_loss(critic, Batch(SAN_REAL, SAN_FAKE))
    loss.backward()
    assert torch.allclose(critic.head.weight.grad, torch.tensor([[0.072 + 0.048, 0.096 - 0.036]]), atol=1e-6)
    g_loss, _ = SANObjective(n_critic=1).generator_loss(critic, Batch(SAN_REAL, SAN_FAKE))
    assert g_loss.item() == pytest.approx(-(2.0 - 2.5) / 2)  # G maximises the plain score ⟨w, h⟩ + b


# -- feature matching ------------------------------------------------------------------------------


def test_feature_matching_loss_and_its_gradients():
    critic = LinearCritic([1.0, 1.0])  # identity features
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)  # mean (2, 3)
    fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]], requires_grad=True)  # mean (1, 1)
    loss, _ = FeatureMatchingObjective(n_critic=1).generator_loss(critic, Batch(real, fake))
    assert loss.item() == pytest.approx(1.0 + 4.0)
    loss.backward()
    # d/dx̃_i ‖m_r − m_f‖² = −(2/n)(m_r − m_f) = −(1, 2); the real statistics are a fixed target.
    assert torch.allclose(fake.grad, torch.tensor([[-1.0, -2.0], [-1.0, -2.0]]))
    assert real.grad is None


# -- unrolled GAN ----------------------------------------------------------------------------------


def test_one_unrolled_sgd_step_matches_the_hand_derivation():
    """1-D critic f = w x + b, one real r and one fake x, K = 1 SGD step of size η, non-saturating G."""
    w, b, r, x, eta = 0.7, -0.2, 1.5, 0.4, 0.3
    critic = LinearCritic([w], b)
    obj = UnrolledObjective(unroll_steps=1, non_saturating=True)
    obj.bind(critic, torch.optim.SGD(critic.parameters(), lr=eta))
    fake = torch.tensor([[x]], requires_grad=True)
    loss, _ = obj.generator_loss(critic, Batch(torch.tensor([[r]]), fake))
    loss.backward()

    # L_D = softplus(−(w r + b)) + softplus(w x + b); the body weight (identity, v = 1) also steps.
    s_r, s_f = sigmoid(-(w * r + b)), sigmoid(w * x + b)
    ds_f = s_f * (1 - s_f)
    v1 = 1 - eta * (-s_r * w * r + s_f * w * x)  # body weight v: f = w·v·x + b
    w1 = w - eta * (-s_r * r + s_f * x)
    b1 = b - eta * (-s_r + s_f)
    f1 = w1 * v1 * x + b1
    assert loss.item() == pytest.approx(sp(-f1), rel=1e-6)
    # dG/dx = −σ(−f1)·d f1/dx, with every updated parameter a function of x:
    dw1 = -eta * (ds_f * w * x + s_f)
    dv1 = -eta * (ds_f * w * w * x + s_f * w)
    db1 = -eta * ds_f * w
    df1 = w1 * v1 + dw1 * v1 * x + w1 * dv1 * x + db1
    assert fake.grad.item() == pytest.approx(-sigmoid(-f1) * df1, rel=1e-5)
    assert torch.equal(critic.head.weight, torch.tensor([[w]])) and critic.head.weight.grad is None  # untouched


def test_unrolled_adam_replays_the_critics_optimiser_without_changing_it():
    torch.manual_seed(0)
    # no bias before batch norm: its gradient is ~0 and Adam would amplify float noise in it
    critic = nn.Sequential(nn.Linear(2, 8, bias=False), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0))
    opt = torch.optim.Adam(critic.parameters(), lr=1e-2, betas=(0.5, 0.9))
    obj = UnrolledObjective(unroll_steps=3, non_saturating=False)
    obj.bind(critic, opt)
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    for _ in range(2):  # give Adam some moment estimates to continue from
        opt.zero_grad()
        obj.critic_loss(critic, Batch(real, fake))[0].backward()
        opt.step()
    opt.zero_grad(set_to_none=True)
    before = copy.deepcopy(critic.state_dict())
    opt_before = copy.deepcopy(opt.state_dict())

    # Reference: three real Adam steps of a copy on the same batch.
    twin = copy.deepcopy(critic)
    twin_opt = torch.optim.Adam(twin.parameters(), lr=1e-2, betas=(0.5, 0.9))
    twin_opt.load_state_dict(copy.deepcopy(opt.state_dict()))  # load_state_dict shares the tensors
    for _ in range(3):
        twin_opt.zero_grad()
        obj.critic_loss(twin, Batch(real, fake))[0].backward()
        twin_opt.step()

    fake_g = fake.clone().requires_grad_(True)
    params, _ = obj.unrolled_parameters(critic, Batch(real, fake_g))
    for name, p in twin.named_parameters():
        assert torch.allclose(params[name], p, atol=1e-6), name
    loss, _ = obj.generator_loss(critic, Batch(real, fake_g))
    loss.backward()
    assert fake_g.grad is not None and torch.isfinite(fake_g.grad).all() and fake_g.grad.abs().sum() > 0
    # The real critic, its batch-norm statistics, its .grad and its optimiser state are untouched.
    for k, v in critic.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(p.grad is None for p in critic.parameters())
    after = opt.state_dict()["state"]
    for k, st in opt_before["state"].items():
        assert torch.equal(st["exp_avg"], after[k]["exp_avg"]) and float(st["step"]) == float(after[k]["step"])


def test_unrolling_changes_the_generator_gradient():
    """K = 0 is the plain GAN; with K > 0, G's gradient accounts for the critic's reaction."""
    critic = LinearCritic([0.7], -0.2)
    fake, real = torch.tensor([[0.4]]), torch.tensor([[1.5]])
    grads = []
    for k in (0, 3):
        obj = UnrolledObjective(unroll_steps=k, non_saturating=True)
        obj.bind(critic, torch.optim.SGD(critic.parameters(), lr=0.5))
        x = fake.clone().requires_grad_(True)
        obj.generator_loss(critic, Batch(real, x))[0].backward()
        grads.append(x.grad.item())
    assert grads[0] == pytest.approx(-sigmoid(-(0.7 * 0.4 - 0.2)) * 0.7, rel=1e-6)
    assert abs(grads[1] - grads[0]) > 1e-3
