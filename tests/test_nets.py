"""Networks: the DCGAN resolution ladder at 28/32/64 px, the MLPs for points and paper 002's MLP GAN,
the small/weak variants, spectral norm, and the up-front error for an unsupported size."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from trainables.data import DatasetInfo
from trainables.nets import NetOptions, NetworkError, build_networks, network_family


def image_info(size: int, channels: int = 3) -> DatasetInfo:
    return DatasetInfo(f"img{size}", "", "image", (channels, size, size), 0, True)


POINTS = DatasetInfo("pts", "", "points", (2,), 0, True)


def activations(net: nn.Module, x: torch.Tensor, kinds=(nn.Conv2d, nn.ConvTranspose2d)) -> list[tuple[int, ...]]:
    """Output shapes (without the batch) of every layer of the given kinds, in forward order."""
    shapes: list[tuple[int, ...]] = []
    layers = [m for m in net.modules() if isinstance(m, kinds)]
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:]))) for m in layers]
    net(x)  # hooks fire in execution order
    for h in hooks:
        h.remove()
    return shapes


@pytest.mark.parametrize(
    ("size", "g_ladder", "d_ladder"),
    [
        # Radford et al.: G projects z to 4×4 and doubles per layer while halving channels; D mirrors it.
        (32, [(16, 4, 4), (8, 8, 8), (4, 16, 16), (3, 32, 32)], [(4, 16, 16), (8, 8, 8), (16, 4, 4)]),
        (64, [(32, 4, 4), (16, 8, 8), (8, 16, 16), (4, 32, 32), (3, 64, 64)],
         [(4, 32, 32), (8, 16, 16), (16, 8, 8), (32, 4, 4)]),
    ],
)  # fmt: skip
def test_dcgan_32_and_64_follow_the_radford_ladder(size, g_ladder, d_ladder):
    g, d = build_networks(image_info(size), NetOptions(z_dim=10, width=4))
    assert network_family(image_info(size)) == f"dcgan{size}"
    z = torch.randn(5, 10)
    assert activations(g, z) == g_ladder
    x = g(z)
    assert x.shape == (5, 3, size, size) and x.abs().max() <= 1  # tanh output
    assert activations(d, x) == d_ladder
    assert d(x).shape == (5,) and d.head.in_features == 16 * 4 * 4 * (2 if size == 64 else 1)
    # No batch norm on D's input layer (Radford et al.); LeakyReLU 0.2 throughout D.
    assert isinstance(d.body[1], nn.LeakyReLU) and all(
        m.negative_slope == 0.2 for m in d.modules() if isinstance(m, nn.LeakyReLU)
    )
    convs = [m for m in list(g.modules()) + list(d.modules()) if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    # DCGAN initialisation N(0, 0.02)
    assert all(abs(float(m.weight.detach().std()) - 0.02) < 0.004 for m in convs if m.weight.numel() > 500)


@pytest.mark.parametrize("size", [28, 32, 64])
def test_small_has_one_conv_layer_fewer_in_each_net_and_weak_has_no_batch_norm(size):
    info = image_info(size, channels=1)

    def count(net: nn.Module, kind) -> int:
        return sum(isinstance(m, kind) for m in net.modules())

    g, d = build_networks(info, NetOptions(z_dim=8, width=4))
    gs, ds = build_networks(info, NetOptions(z_dim=8, width=4, small=True))
    conv = (nn.Conv2d, nn.ConvTranspose2d)
    assert count(gs, conv) == count(g, conv) - 1 and count(ds, conv) == count(d, conv) - 1
    assert gs(torch.randn(3, 8)).shape == g(torch.randn(3, 8)).shape == (3, 1, size, size)
    assert ds(torch.randn(3, 1, size, size)).shape == (3,)

    gw, dw = build_networks(info, NetOptions(z_dim=8, width=4, g_batchnorm=False, d_batchnorm=False))
    bn = (nn.BatchNorm1d, nn.BatchNorm2d)
    assert count(g, bn) > 0 and count(d, bn) > 0 and count(gw, bn) == 0 and count(dw, bn) == 0
    assert count(gw, conv) == count(g, conv)  # weak = same layers, no batch norm


@pytest.mark.parametrize("info", [image_info(28, 1), image_info(32), image_info(64), POINTS])
def test_spectral_norm_bounds_every_critic_layer_to_unit_spectral_norm(info):
    torch.manual_seed(0)
    _, d = build_networks(info, NetOptions(z_dim=8, width=4, spectral_norm=True))
    x = torch.randn(8, *info.shape)
    for _ in range(30):  # power iterations run in training-mode forwards
        d(x)
    layers = [m for m in d.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
    for m in layers:
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2)
        assert abs(float(sigma) - 1) < 0.05, (m, float(sigma))
    _, plain = build_networks(info, NetOptions(z_dim=8, width=4))
    assert not any(parametrize.is_parametrized(m) for m in plain.modules())


def test_point_mlps_are_metz_toy_nets_scaled_by_width():
    g, d = build_networks(POINTS, NetOptions(z_dim=16, width=32))
    assert network_family(POINTS) == "mlp_points"
    linears = [m for m in g.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(16, 128), (128, 128), (128, 2)]
    assert [(m.in_features, m.out_features) for m in d.modules() if isinstance(m, nn.Linear)] == [
        (2, 128),
        (128, 128),
        (128, 1),
    ]
    z = torch.randn(4, 16) * 50
    assert g(z).abs().max() > 1  # linear output: points are not squashed into [-1, 1]
    assert d(g(z)).shape == (4,) and d.features(g(z)).shape == (4, 128)
    gs, ds = build_networks(POINTS, NetOptions(z_dim=16, width=32, small=True))
    assert sum(isinstance(m, nn.Linear) for m in gs.modules()) == 2
    assert sum(isinstance(m, nn.Linear) for m in ds.modules()) == 2


def test_mlp_option_gives_paper_002_fully_connected_gan_on_images():
    info = image_info(28, 1)
    opts = NetOptions(z_dim=100, width=32, mlp=True)
    assert network_family(info, opts) == "mlp_images"
    g, d = build_networks(info, opts)
    assert not any(isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.BatchNorm1d) for m in [*g.modules(), *d.modules()])
    assert [m.out_features for m in g.modules() if isinstance(m, nn.Linear)] == [256, 512, 1024, 784]
    # "Three-layer structure, all linear": 784 → 512 → 256 → 1.
    assert [(m.in_features, m.out_features) for m in d.modules() if isinstance(m, nn.Linear)] == [
        (784, 512),
        (512, 256),
        (256, 1),
    ]
    x = g(torch.randn(3, 100))
    assert x.shape == (3, 1, 28, 28) and x.abs().max() <= 1 and d(x).shape == (3,)


def test_unsupported_image_size_is_a_clear_error_and_refused_by_the_search_cli(monkeypatch, capsys):
    from trainables import data
    from tuner.search import main

    with pytest.raises(NetworkError, match=r"no network supports image samples of shape \(3, 48, 48\)"):
        build_networks(image_info(48), NetOptions())
    assert network_family(image_info(48), NetOptions(mlp=True)) == "mlp_images"  # any size through the MLP

    # A registered 48 px dataset: the CLI refuses it before anything starts.
    info = DatasetInfo("odd48", "48 px test set", "image", (3, 48, 48), 10, True)
    monkeypatch.setitem(data._REGISTRY, "odd48", (info, lambda root: None))
    assert main(["fisher", "--dataset", "odd48"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: method fisher on odd48: no network supports") and "\n" not in err
