"""Unrolled GAN (Metz et al. 2017; the mode-collapse comparison of paper 003 Fig. 3).

The critic trains as in the original GAN. The generator minimises the surrogate f(θ_G, θ_D^K(θ_G)):
the GAN value function evaluated at critic parameters θ_D^K obtained by K simulated critic updates
from the current θ_D, each a function of G's samples, and it is differentiated *through* those
updates (second order, ``create_graph``), so G anticipates how the critic would react.

The simulated updates replay the critic's own optimiser, as the reference implementation
(poolio/unrolled_gan) replays Keras' Adam: Adam continues from the critic optimiser's moment
estimates; plain SGD steps are used when the critic optimiser is SGD. The real critic, its
optimiser state and batch-norm statistics are never changed by unrolling.
With ``non_saturating`` off (the reference's choice) G minimises the whole value function
E_P log D + E_Q log(1 − D) at θ_D^K — its real-data term depends on θ_G through θ_D^K.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from trainables.objectives.base import Batch
from trainables.objectives.vanilla import VanillaObjective, logistic_critic_loss, logistic_generator_loss

Params = dict[str, torch.Tensor]


def _inputs(x: torch.Tensor, y: torch.Tensor | None) -> tuple:
    """The critic's positional arguments: labels only for a labelled batch (as ``base.score``)."""
    return (x,) if y is None else (x, y)


class UnrolledObjective(VanillaObjective):
    def __init__(self, *, unroll_steps: int, non_saturating: bool, n_critic: int = 1):  # n_critic: not searched
        super().__init__(non_saturating=non_saturating, n_critic=n_critic)
        self.unroll_steps = int(unroll_steps)
        self.optimizer: torch.optim.Optimizer | None = None

    def bind(self, critic: nn.Module, critic_optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = critic_optimizer
        names = {id(p): n for n, p in critic.named_parameters()}
        self._names = [[names[id(p)] for p in g["params"]] for g in critic_optimizer.param_groups]

    # -- one simulated critic update, differentiable in the parameters and the gradients ------------

    def _step(self, params: Params, grads: Params, moments: dict, t: int) -> Params:
        new = dict(params)
        for group, names in zip(self.optimizer.param_groups, self._names, strict=True):
            lr = float(group["lr"])
            for n in names:
                if n not in grads:  # frozen parameters (no gradient) are not updated
                    continue
                g = grads[n]
                if isinstance(self.optimizer, torch.optim.Adam):
                    b1, b2 = group["betas"]
                    m, v, step = moments[n]
                    m = b1 * m + (1 - b1) * g
                    v = b2 * v + (1 - b2) * g * g
                    k = step + t + 1  # Adam's step count after this update, for the bias corrections
                    # clamp_min keeps d√v/dv finite where v = 0 (unused units), without changing v > 0
                    denom = (v / (1 - b2**k)).clamp_min(1e-30).sqrt() + group["eps"]
                    new[n] = params[n] - lr * (m / (1 - b1**k)) / denom
                    moments[n] = (m, v, step)
                elif type(self.optimizer) is torch.optim.SGD and not group["momentum"]:
                    new[n] = params[n] - lr * g
                else:
                    raise ValueError(f"unrolling supports Adam and plain SGD, not {type(self.optimizer).__name__}")
        return new

    def _initial_moments(self, live: dict[str, nn.Parameter]) -> dict:
        """Adam's (m, v, steps taken) per parameter, read from the critic optimiser without copying."""
        moments = {}
        for n, p in live.items():
            state = self.optimizer.state.get(p, {})
            if "exp_avg" in state:
                moments[n] = (state["exp_avg"].detach(), state["exp_avg_sq"].detach(), float(state["step"]))
            else:  # the critic has not stepped yet: Adam starts from zero moments
                moments[n] = (torch.zeros_like(p), torch.zeros_like(p), 0.0)
        return moments

    def unrolled_parameters(self, critic: nn.Module, batch: Batch) -> tuple[Params, dict[str, torch.Tensor]]:
        """θ_D^K as a differentiable function of ``batch.fake`` (and hence of G), plus the buffers used."""
        if self.optimizer is None:
            raise RuntimeError("UnrolledObjective.bind(critic, optimizer) must be called before training")
        trainable = {n: p for n, p in critic.named_parameters() if p.requires_grad}
        # Detached leaves: G's loss must not send gradients into the real critic's .grad.
        params = {n: p.detach().requires_grad_(True) for n, p in trainable.items()}
        frozen = {n: p for n, p in critic.named_parameters() if not p.requires_grad}
        # Copies, so batch-norm running statistics of the real critic are untouched.
        buffers = {n: b.clone() for n, b in critic.named_buffers()}
        moments = self._initial_moments(trainable)
        for t in range(self.unroll_steps):
            full = {**params, **frozen, **buffers}
            f_real = functional_call(critic, full, _inputs(batch.real, batch.labels))
            f_fake = functional_call(critic, full, _inputs(batch.fake, batch.fake_labels))
            loss = logistic_critic_loss(f_real, f_fake)
            names = list(params)
            grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph=True, allow_unused=True)
            grads = {n: torch.zeros_like(params[n]) if g is None else g for n, g in zip(names, grads, strict=True)}
            params = self._step(params, grads, moments, t)
        return {**params, **frozen}, buffers

    def generator_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        if self.unroll_steps == 0:
            return super().generator_loss(critic, batch)
        params, buffers = self.unrolled_parameters(critic, batch)
        full = {**params, **buffers}
        f_fake = functional_call(critic, full, _inputs(batch.fake, batch.fake_labels))
        if self.non_saturating:
            return logistic_generator_loss(f_fake, non_saturating=True), {}
        # −(critic's cross-entropy) = E_P log D + E_Q log(1 − D): the value function G minimises.
        return -logistic_critic_loss(functional_call(critic, full, _inputs(batch.real, batch.labels)), f_fake), {}
