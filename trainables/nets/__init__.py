"""Generator/discriminator pairs, chosen by dataset shape (28/32/64 px images, 2-D points) and options.

The shared pieces live in ``trainables.nets.base``; the families below register their builders there when this
package is imported (registration order is precedence: the MLP option overrides DCGAN on images)."""

from __future__ import annotations

from torch import nn

from trainables.data import Dataset, DatasetInfo
from trainables.nets.base import (  # noqa: F401  (the package's public names)
    Accepts,
    Builder,
    Critic,
    NetOptions,
    NetworkError,
    apply_critic_norm,
    base_builder,
    critic_block_end,
    critic_input,
    init_dcgan_weights,
    maybe_spectral_norm,
    network_family,
    register,
)


def build_networks(info: DatasetInfo, options: NetOptions, data: Dataset | None = None) -> tuple[nn.Module, Critic]:
    """(generator, critic) for the dataset. ``data`` is needed only for representative features (their
    autoencoder is pre-trained on ``data.train_x``, once per dataset and architecture, then cached)."""
    family, builder = base_builder(info, options)
    if options.condition and not family.startswith("dcgan"):
        raise NetworkError(f"class conditioning ({options.condition}) is built for the DCGAN image networks; "
                           f"{info.name} uses {family}")  # fmt: skip
    if options.condition and options.representative_features:
        raise NetworkError("class conditioning does not combine with representative features (RFGAN)")
    generator, critic = builder(info, options)
    if options.representative_features:
        if data is None:
            raise NetworkError("representative features need the dataset: call build_networks(info, options, data)")
        from trainables.nets.rf import with_representative_features

        critic = with_representative_features(critic, info, options, data)
    return generator, critic


# Registration order is precedence: the MLP option overrides DCGAN on images.
from trainables.nets import mlp  # noqa: E402,F401,I001  (registers builders)
from trainables.nets import dcgan  # noqa: E402,F401
