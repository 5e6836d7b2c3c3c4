"""CycleGAN with one encoder shared by both directions (paper 001 §6.1): CycleGAN's knobs, with the generator's
residual blocks split into the shared encoder's and each decoder's (the split point)."""

from ray import tune

from search_spaces.cyclegan import TRANSLATE_DEFAULTS, translate_space


def space() -> dict:
    return {**translate_space(), "encoder_blocks": tune.randint(0, 7), "decoder_blocks": tune.randint(0, 7)}


def defaults() -> dict:
    # Paper 001 §6.1: "a common encoder ... the first two convolution networks followed by 3 residual blocks,
    # and two decoders ... consisting of 3 residual blocks followed by 2 transposed convolution layers".
    return {**TRANSLATE_DEFAULTS, "encoder_blocks": 3, "decoder_blocks": 3}
