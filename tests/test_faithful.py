"""The methods against their papers' reference code: the RFGAN protocol, RF on the ring, Improved GAN's
critic, spectral norm for hinge/SAN, the unrolled-GAN toy nets, DeLiGAN's component assignment, uniform
latents, Fisher's bias-free head, the weak DCGAN, and density/coverage's k."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from tests.conftest import search_args
from trainables.data import Dataset, dataset_info, load_dataset
from trainables.latents import MixtureOfGaussiansPrior, UniformPrior
from trainables.nets import NetOptions, build_networks
from trainables.nets.mlp import METZ_GAIN
from trainables.nets.rf import RFCritic
from trainables.protocols import protocol_g_steps
from trainables.registry import get_method
from trainables.train import GANRun

MNIST = dataset_info("mnist5k")


def small(name: str, n: int = 128) -> Dataset:
    d = load_dataset(name)
    return Dataset(d.info, d.train_x[:n], None if d.train_y is None else d.train_y[:n], d.test_x[:64],
                   None if d.test_y is None else d.test_y[:64])  # fmt: skip


def generator_updates(run: GANRun) -> int:
    return int(run.opt_g.state[next(iter(run.generator.parameters()))]["step"])


def has_batch_norm(net: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())


# -- 1. paper 003's protocol for both arms ------------------------------------------------------------


def test_rfgan_protocol_gives_baselines_and_rf_variants_the_same_generator_steps():
    # Paper 003 §4 (carpedm20/DCGAN-tensorflow): G twice per D step, WGAN-GP G once per 5 D steps.
    for base in ("dcgan", "lsgan", "dragan", "wgan_gp"):
        expected = 1 if base == "wgan_gp" else 2
        assert protocol_g_steps(base, "rfgan") == protocol_g_steps(f"{base}_rf", "rfgan") == expected
    # Without the protocol each method keeps its own default: the confound the protocol removes.
    assert (protocol_g_steps("dcgan", "method"), protocol_g_steps("dcgan_rf", None)) == (1, 2)
    data = small("mnist5k", 128)  # batch 32 → 4 critic steps per epoch
    base = {"method": "dcgan", "dataset": "mnist5k", "width": 4, "batch_size": 32, "seed": 0}
    plain, protocol = GANRun(base, data), GANRun({**base, "protocol": "rfgan"}, data)
    plain.train_epoch(), protocol.train_epoch()
    assert (generator_updates(plain), generator_updates(protocol)) == (4, 8)


def test_protocol_reaches_every_trial_from_the_command_line(tmp_path, capsys):
    from tuner.search import main
    from tuner.search_config import resolve

    config = resolve(search_args(tmp_path, "dcgan", "--protocol", "rfgan")).trial
    assert (config["protocol"], config["g_steps"]) == ("rfgan", 2)
    assert resolve(search_args(tmp_path, "wgan_gp", "--protocol", "rfgan")).trial["g_steps"] == 1
    assert resolve(search_args(tmp_path, "dcgan")).trial["g_steps"] == 1
    with pytest.raises(SystemExit) as bad:
        main(["dcgan", "--protocol", "paper", "--storage", str(tmp_path / "r")])
    assert bad.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "--protocol" in err and "rfgan" in err and "\n" not in err
    assert not (tmp_path / "r").exists()


# -- 2. representative features on the ring (paper 003 Fig. 3) --------------------------------------


def test_rf_variant_trains_on_the_ring_with_an_mlp_denoising_autoencoder(tmp_path, monkeypatch):
    from trainables.nets import rf
    from tuner.cli import validate

    monkeypatch.setenv("GAN_TUNER_CACHE", str(tmp_path))
    monkeypatch.setattr(rf, "RF_MIN_STEPS", 20)  # wiring, not quality: tests/test_rf.py checks the denoising
    validate(search_args(tmp_path, "dcgan_rf", "--dataset", "ring8"))  # accepted on points now
    run = GANRun({"method": "dcgan_rf", "dataset": "ring8", "width": 4, "z_dim": 8, "batch_size": 32, "seed": 0},
                 small("ring8", 256))  # fmt: skip
    assert isinstance(run.critic, RFCritic)
    leaves = {type(m) for m in run.critic.encoder.modules() if not list(m.children())}
    assert leaves == {nn.Flatten, nn.Linear, nn.ReLU}  # the MLP critic's hidden layers, pre-trained as an encoder
    before = [p.clone() for p in run.critic.encoder.parameters()]
    stats = run.train_epoch()
    assert torch.isfinite(torch.tensor([stats.loss_d, stats.loss_g])).all()
    assert all(torch.equal(a, b) for a, b in zip(before, run.critic.encoder.parameters(), strict=True))  # frozen


# -- 3. Improved GAN's critic ------------------------------------------------------------------------


@pytest.mark.parametrize("info", [MNIST, dataset_info("ring8")])
def test_improved_gan_critic_has_weight_norm_and_dropout_and_no_batch_norm(info):
    torch.manual_seed(0)
    _, critic = build_networks(info, NetOptions(width=4, **get_method("improved_gan").net_options))
    layers = [m for m in critic.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert not has_batch_norm(critic)
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)  # weight norm everywhere
    drops = sorted(m.p for m in critic.modules() if isinstance(m, nn.Dropout))
    assert drops[0] == 0.2 and drops[-1] == 0.5  # openai/improved-gan: 0.2 on the input, 0.5 between blocks
    # Weight norm: w = g·v/‖v‖ per output unit, the scale g a parameter of its own.
    conv = layers[0]
    v, g = conv.parametrizations.weight.original1, conv.parametrizations.weight.original0
    assert torch.allclose(conv.weight, g * v / v.flatten(1).norm(dim=1).view(-1, *[1] * (v.ndim - 1)))
    # Without batch norm a sample's features do not depend on the batch it came in with: real and fake
    # batches are embedded on the same footing, which feature matching needs.
    critic.eval()
    x = torch.randn(6, *info.shape)
    assert torch.allclose(critic.features(x)[:2], critic.features(x[:2]), atol=1e-6)


# -- 4. a Lipschitz critic for the hinge loss and SAN ------------------------------------------------


def test_hinge_and_san_critics_are_spectrally_normalised_san_head_left_free():
    torch.manual_seed(0)
    for method, head_normalised in (("wgan_hinge", True), ("san", False)):
        _, critic = build_networks(MNIST, NetOptions(width=4, **get_method(method).net_options))
        body = [m for m in critic.body.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
        assert body and all(parametrize.is_parametrized(m, "weight") for m in body), method
        assert parametrize.is_parametrized(critic.head, "weight") == head_normalised, method
        x = torch.randn(8, *MNIST.shape)
        for _ in range(30):  # power iterations advance in training-mode forwards
            critic(x)
        for m in body:
            assert abs(float(torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2)) - 1) < 0.05
    # SAN trains through the normalised body; its direction ω = w/‖w‖ comes from the free head.
    run = GANRun({"method": "san", "dataset": "mnist5k", "width": 4, "batch_size": 32, "seed": 0}, small("mnist5k"))
    head = run.critic.head.weight.detach().clone()
    stats = run.train_epoch()
    assert torch.isfinite(torch.tensor([stats.loss_d, stats.loss_g])).all()
    assert not torch.equal(head, run.critic.head.weight)


# -- 5. the unrolled-GAN reference's toy nets ---------------------------------------------------------


def test_metz_style_point_nets_match_poolio_unrolled_gan():
    torch.manual_seed(0)
    g, d = build_networks(dataset_info("ring8"), NetOptions(z_dim=256, width=32, mlp_style="metz"))
    for net, sizes in ((g, [(256, 128), (128, 128), (128, 2)]), (d, [(2, 128), (128, 128), (128, 1)])):
        linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
        assert [(m.in_features, m.out_features) for m in linears] == sizes
        assert [type(m) for m in net.modules() if isinstance(m, nn.Tanh | nn.ReLU)] == [nn.Tanh, nn.Tanh]
        for m in linears:  # orthogonal with gain 1.4: W Wᵀ = 1.4² I on the smaller side, zero biases
            w = m.weight.detach()
            gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            assert torch.allclose(gram, METZ_GAIN**2 * torch.eye(gram.shape[0]), atol=1e-4)
            assert not m.bias.any()
    # A trial selects it by config, next to the reference's z and batch (REFERENCE_TOY_CONFIG).
    run = GANRun({"method": "unrolled", "dataset": "ring8", "width": 32, "seed": 0, "mlp_style": "metz",
                  "z_dim": 256, "batch_size": 512}, small("ring8", 1024))  # fmt: skip
    assert any(isinstance(m, nn.Tanh) for m in run.generator.modules())


# -- 6. smaller points ----------------------------------------------------------------------------


def test_deligan_uses_every_component_equally_often_per_batch():
    torch.manual_seed(0)
    prior = MixtureOfGaussiansPrior(dim=2, n_components=4, beta=0.0, c=1.0, sigma_init=1e-4)
    with torch.no_grad():
        prior.mu.copy_(torch.tensor([[5.0, 5.0], [-5.0, 5.0], [-5.0, -5.0], [5.0, -5.0]]))
    z = prior.sample(64)
    counts = torch.bincount(torch.cdist(z, prior.mu).argmin(1), minlength=4)
    assert counts.tolist() == [16, 16, 16, 16]  # val-iisc/deligan: batch/N samples of each component
    random = MixtureOfGaussiansPrior(2, 4, beta=0.0, c=1.0, sigma_init=1e-4, assignment="random")
    with torch.no_grad():
        random.mu.copy_(prior.mu)
    counts = [torch.bincount(torch.cdist(random.sample(64), random.mu).argmin(1), minlength=4) for _ in range(20)]
    assert any(c.tolist() != [16, 16, 16, 16] for c in counts)  # a per-sample draw is not balanced


def test_reference_latents_head_bias_and_weak_dcgan():
    data = small("mnist5k", 64)
    base = {"dataset": "mnist5k", "width": 4, "batch_size": 32, "seed": 0, "rho": 1e-6}
    for method in ("dcgan", "dcgan_small", "dcgan_weak", "dcgan_rf", "fisher"):  # carpedm20, tomsercu: z ~ U[-1, 1]
        if method == "dcgan_rf":
            continue  # same prior as dcgan; building it pre-trains an autoencoder
        prior = GANRun({**base, "method": method}, data).prior
        assert isinstance(prior, UniformPrior), method
        z = prior.sample(4096)
        assert z.min() >= -1 and z.max() <= 1 and z.min() < -0.99 and z.max() > 0.99
    assert get_method("dcgan_rf").latent == "uniform"
    for method in ("fisher", "deli_fisher"):  # tomsercu/FisherGAN: the critic's last layer has no bias
        _, critic = build_networks(MNIST, NetOptions(width=4, **get_method(method).net_options))
        assert critic.head.bias is None
    g, d = build_networks(MNIST, NetOptions(width=4, **get_method("dcgan_weak").net_options))
    assert not has_batch_norm(g) and has_batch_norm(d)  # paper 004: a weaker generator, the same critic


def test_density_coverage_use_k5_while_precision_recall_keep_k3():
    prdc = pytest.importorskip("prdc")
    from torch_fidelity.metric_prc import calculate_precision_recall_full

    from trainables.metrics import precision_recall

    g = torch.Generator().manual_seed(3)
    real = torch.randn(240, 6, generator=g, dtype=torch.float64)
    gen = torch.randn(200, 6, generator=g, dtype=torch.float64) + 0.3
    ours = precision_recall(real, gen, tile=64)  # the defaults
    ref5 = prdc.compute_prdc(real.numpy(), gen.numpy(), nearest_k=5)  # clovaai/generative-evaluation-prdc
    assert ours["density"] == pytest.approx(float(ref5["density"]), abs=1e-12)
    assert ours["coverage"] == pytest.approx(float(ref5["coverage"]), abs=1e-12)
    precision, recall = calculate_precision_recall_full(gen.float(), real.float(), neighborhood=3)
    assert round(ours["precision"] * len(gen)) == round(precision * len(gen))
    assert round(ours["recall"] * len(real)) == round(recall * len(real))
