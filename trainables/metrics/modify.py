"""Scores of label-conditioned image modification (ModNet, paper 004 §2.5), as pure float64 functions.

- ``target_accuracy``: the share of modified images a classifier assigns to the label they were asked to become;
- ``delta_l1``: the mean absolute per-pixel change |G(y_t, x) − x| (pixels in [-1, 1], so in [0, 2]);
- ``nearest_is_input``: paper 004 §2.5.5's memorisation test: the share of outputs whose nearest training image
  in pixel L2 is the very image they were conditioned on (the thesis found all of them). A low share means the
  generator retrieves other training images (of the target label) instead of modifying its input.
"""

from __future__ import annotations

import torch


def target_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Share of rows whose arg-max class is the target label."""
    if len(logits) != len(targets) or len(logits) == 0:
        raise ValueError(f"need as many targets as logits, at least one (got {len(logits)} and {len(targets)})")
    return float((logits.argmax(1).cpu() == targets.cpu()).double().mean())


def delta_l1(outputs: torch.Tensor, inputs: torch.Tensor) -> float:
    """Mean |output − input| over every pixel of every image."""
    return float((outputs.double() - inputs.double()).abs().mean())


def nearest_is_input(
    outputs: torch.Tensor, reference: torch.Tensor, input_index: torch.Tensor, chunk: int = 256
) -> float:
    """Share of ``outputs`` whose nearest row of ``reference`` (pixel L2) is ``reference[input_index]``.

    Distances are ‖o‖² − 2⟨o, r⟩ + ‖r‖² in float64, a chunk of outputs at a time (one matrix product each). An
    output equally near its input and another image counts as near its input (exact duplicates in the data).
    """
    if len(outputs) != len(input_index) or len(outputs) == 0:
        raise ValueError(f"need one input index per output, at least one (got {len(outputs)}, {len(input_index)})")
    ref = reference.flatten(1).double()
    ref_sq = (ref * ref).sum(1)
    hits = 0
    for i in range(0, len(outputs), chunk):
        out = outputs[i : i + chunk].flatten(1).double()
        d = (out * out).sum(1, keepdim=True) - 2.0 * out @ ref.T + ref_sq
        own = d.gather(1, input_index[i : i + chunk].long().view(-1, 1)).squeeze(1)
        # A relative tolerance absorbs the rounding of the expanded form (exact ties stay ties).
        hits += int((own <= d.min(1).values + 1e-9 * (1.0 + own.abs())).sum())
    return hits / len(outputs)
