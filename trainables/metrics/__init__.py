"""Sample-quality metrics as pure functions on feature / logit / probability / pixel tensors.

No network lives here: feature extractors (the domain classifier, Inception-v3) are in
``trainables.features`` and hand their outputs to these functions. All arithmetic is float64.
"""

from trainables.metrics.authpct import authpct
from trainables.metrics.c_t import c_t
from trainables.metrics.conditional import class_accuracy, intra_fid
from trainables.metrics.ddm import ddm, ddm_goldberger, ddm_relative, ddm_squared
from trainables.metrics.fd_inf import fd_inf
from trainables.metrics.fid import fid, frechet_distance, gaussian_stats, kid
from trainables.metrics.inception_score import inception_score
from trainables.metrics.ms_ssim import ms_ssim_diversity
from trainables.metrics.nn_share import nn_share
from trainables.metrics.parzen import parzen_log_likelihood
from trainables.metrics.precision_recall import precision_recall
from trainables.metrics.ring import ring_coverage
from trainables.metrics.translation import cycle_l1, translation_accuracy

__all__ = [
    "authpct",
    "c_t",
    "class_accuracy",
    "fd_inf",
    "intra_fid",
    "nn_share",
    "ddm",
    "ddm_goldberger",
    "ddm_relative",
    "ddm_squared",
    "fid",
    "frechet_distance",
    "gaussian_stats",
    "inception_score",
    "kid",
    "ms_ssim_diversity",
    "parzen_log_likelihood",
    "precision_recall",
    "ring_coverage",
    "cycle_l1",
    "translation_accuracy",
]
