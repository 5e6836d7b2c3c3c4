"""CycleGAN (Zhu et al. 2017; paper 001 §6): Adam's lr and β₁, the cycle and identity weights, the generator's
residual blocks and the history pool. Defaults: junyanz/pytorch-CycleGAN-and-pix2pix's train options."""

from ray import tune

from search_spaces.common import adam_beta1, learning_rate


def translate_space() -> dict:
    """The knobs both CycleGAN variants share."""
    return {
        "lr": learning_rate(1e-5, 1e-3),
        "beta1": adam_beta1(),
        "lambda_cyc": tune.loguniform(1.0, 100.0),  # λ_A = λ_B
        "lambda_id": tune.uniform(0.0, 1.0),  # identity weight, relative to λ_cyc
        "pool_size": tune.randint(0, 101),  # 0: the critics see only the current batch
    }


TRANSLATE_DEFAULTS = {
    "lr": 2e-4,  # --lr 0.0002
    "beta1": 0.5,  # --beta1 0.5
    "lambda_cyc": 10.0,  # --lambda_A 10, --lambda_B 10
    "lambda_id": 0.5,  # --lambda_identity 0.5
    "pool_size": 50,  # --pool_size 50
}


def space() -> dict:
    return {**translate_space(), "n_blocks": tune.randint(1, 10)}


def defaults() -> dict:
    return {**TRANSLATE_DEFAULTS, "n_blocks": 6}  # resnet_6blocks, the generator paper 001 §6.1 describes
