"""AC-GAN (Odena et al. 2017): Adam's lr, β₁, the critic steps and the weight of the class terms.

Odena et al. Appendix B (their MNIST/CIFAR-10 settings): Adam with lr 2e-4, β₁ 0.5, one critic step per
generator step; D maximises L_S + L_C and G maximises L_C − L_S, i.e. the class terms are weighted 1.
``class_weight`` is also what ``--condition ac`` uses for any other method (its one source)."""

from ray import tune

from search_spaces.common import adam_defaults, adam_space


def space() -> dict:
    return {**adam_space(), "class_weight": tune.loguniform(0.1, 10.0)}


def defaults() -> dict:
    return {
        **adam_defaults(lr=2e-4, beta1=0.5, n_critic=1),  # Odena et al. Appendix B
        "class_weight": 1.0,  # L_S + L_C: the two log-likelihoods summed unweighted (Odena et al. §3)
    }
