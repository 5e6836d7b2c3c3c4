"""Sample-quality metrics as pure functions on feature / logit / probability tensors.

No network lives here: feature extractors (the domain classifier, Inception-v3) are elsewhere and
hand their outputs to these functions. All arithmetic is float64.
"""

from trainables.metrics.ddm import ddm
from trainables.metrics.inception_score import inception_score

__all__ = ["ddm", "inception_score"]
