"""WGAN with weight clipping (Arjovsky et al. 2017): RMSprop lr, clip value, critic steps."""

from ray import tune

from search_spaces.common import critic_steps, learning_rate


def space() -> dict:
    return {
        "lr": learning_rate(1e-5, 1e-3),  # RMSprop; momentum-free by the paper's advice
        "clip": tune.loguniform(1e-3, 1e-1),  # c: weights clipped to [−c, c]
        "n_critic": critic_steps(1, 10),
    }


def defaults() -> dict:
    return {"lr": 5e-5, "clip": 0.01, "n_critic": 5}  # the paper's Algorithm 1
