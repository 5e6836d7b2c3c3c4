"""CycleGAN vs. its shared-encoder variant (paper 001 §6.1), side by side in one run: parameter counts of the
generators and critics, and the time of one training step (both generators' step and both critics' step, as
the trainable runs it), measured alternately so both see the same machine load.

    python benchmarks/cyclegan_shared.py [--size 64] [--width 64] [--batch-size 1] [--steps 10] [--threads 2]

Paper 001 §6.1 reports "a much smaller size of the overall network and the training speed increased by more
than a factor of 2". Both arms use 6 residual blocks in all (CycleGAN: 6 per generator; shared: 3 in the shared
encoder + 3 per decoder), the reference's widths (ngf = ndf = 64) and batch size 1 by default, on random
images of the given size: the step time does not depend on what the pixels show.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from trainables.nets.cyclegan import build_translators, parameter_count
from trainables.objectives.base import Batch
from trainables.objectives.cyclegan import CycleGANObjective, ImagePool
from trainables.run_base import make_optimizer as _optimizer


class Arm:
    def __init__(self, shared: bool, size: int, width: int, channels: int):
        torch.manual_seed(0)
        shape = (channels, size, size)
        self.g, self.d = build_translators(shape, shape, width, shared=shared, n_blocks=6, encoder_blocks=3,
                                           decoder_blocks=3)  # fmt: skip
        self.obj = CycleGANObjective(lambda_cyc=10.0, lambda_id=0.5)
        self.opt_g = _optimizer("adam", self.g.parameters(), 2e-4, (0.5, 0.999))
        self.opt_d = _optimizer("adam", self.d.parameters(), 2e-4, (0.5, 0.999))
        self.pools = (ImagePool(50, 0), ImagePool(50, 1))

    def step(self, a: torch.Tensor, b: torch.Tensor) -> None:
        """The trainable's step (trainables.translate.CycleGANRun._step) without its bookkeeping."""
        g, d, obj = self.g, self.d, self.obj
        (fake_b, f_a), (g_b, fake_a) = g.both(a), g.both(b)
        d.requires_grad_(False)
        loss = (obj.generator_loss(d.d_b, Batch(b, fake_b))[0] + obj.generator_loss(d.d_a, Batch(a, fake_a))[0]
                + obj.cycle_loss(a, g.ba(fake_b), b, g.ab(fake_a)) + obj.identity_loss(a, f_a, b, g_b))  # fmt: skip
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        d.requires_grad_(True)
        loss_d = (obj.critic_loss(d.d_b, Batch(b, self.pools[1].query(fake_b.detach())))[0]
                  + obj.critic_loss(d.d_a, Batch(a, self.pools[0].query(fake_a.detach())))[0])  # fmt: skip
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=64, help="image side in px (default 64)")
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--width", type=int, default=64, help="ngf = ndf (the reference's 64)")
    p.add_argument("--batch-size", type=int, default=1, help="the reference's 1")
    p.add_argument("--steps", type=int, default=10, help="timed steps per arm, alternating (after 2 warm-up steps)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    arms = {"cyclegan": Arm(False, a.size, a.width, a.channels), "cyclegan_shared": Arm(True, a.size, a.width,
                                                                                        a.channels)}  # fmt: skip
    x = torch.rand(2, a.batch_size, a.channels, a.size, a.size) * 2 - 1
    times: dict[str, list[float]] = {name: [] for name in arms}
    for i in range(a.steps + 2):
        for name, arm in arms.items():
            start = time.perf_counter()
            arm.step(x[0], x[1])
            if i >= 2:
                times[name].append(time.perf_counter() - start)
    print(f"{a.size} px, {a.channels} channels, width {a.width}, batch {a.batch_size}, {a.threads} threads, "
          f"median of {a.steps} alternating steps")  # fmt: skip
    print(f"{'method':16s} {'G params':>10s} {'D params':>10s} {'step (ms)':>10s}")
    for name, arm in arms.items():
        ms = 1000 * statistics.median(times[name])
        print(f"{name:16s} {parameter_count(arm.g):10,d} {parameter_count(arm.d):10,d} {ms:10.1f}")
    full, shared = (statistics.median(times[n]) for n in arms)
    g_full, g_shared = (parameter_count(arms[n].g) for n in arms)
    print(f"shared / separate: generator parameters {g_shared / g_full:.2f}, step time {shared / full:.2f} "
          f"(speed-up {full / shared:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
