"""C_T, the data-copying test of Meehan, Chaudhuri & Dasgupta (AISTATS 2020), as layer6ai-labs/dgm-eval computes it
(``compute_CTscore``, after casey-meehan/data-copying).

Features are reduced to their first 64 principal components (fitted on train) when wider; k-means (3 cells, fitted
on train) partitions the space. In each cell π, the distances of test samples P_n and generated samples Q_m to their
nearest training sample are compared with a Mann-Whitney U test, Z-scored under H₀ (mean nm/2 − ½, the continuity
correction, variance nm(n+m+1)/12). C_T is the test-share-weighted mean of the cells' Z over the cells holding more
than τ = 20/m of the generated samples. C_T ≪ 0: generated samples lie closer to training data than held-out data
does (copying); ≫ 0: farther (underfitting); ≈ 0 is the ideal, so it has no min/max direction.

Differences from dgm-eval: PCA and k-means are seeded (dgm-eval leaves k-means unseeded, so its C_T varies between
runs), nearest-neighbour distances are float64, and a score with no cell holding enough generated samples (a
collapse into one cell of under τ) is NaN instead of a division by zero.
"""

from __future__ import annotations

import numpy as np
import torch

from trainables.metrics.nearest import as64, nearest

PCA_DIMS = 64
CELLS = 3


def _z_u(test_d: np.ndarray, gen_d: np.ndarray) -> float:
    from scipy.stats import mannwhitneyu

    n, m = len(test_d), len(gen_d)
    u = float(mannwhitneyu(gen_d, test_d, alternative="less").statistic)  # U of the generated sample
    return (u - (n * m / 2 - 0.5)) / np.sqrt(n * m * (n + m + 1) / 12)


def c_t(train: torch.Tensor, test: torch.Tensor, generated: torch.Tensor, *, cells: int = CELLS,
        pca_dims: int = PCA_DIMS, seed: int = 0) -> float:  # fmt: skip
    """C_T of ``generated`` against ``train`` with the held-out ``test`` set as the yardstick."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    t, p, q = (as64(x, name).numpy() for x, name in ((train, "train"), (test, "test"), (generated, "generated")))
    if t.shape[1] > pca_dims:
        pca = PCA(n_components=pca_dims, random_state=seed).fit(t)
        t, p, q = pca.transform(t), pca.transform(p), pca.transform(q)
    km = KMeans(n_clusters=cells, n_init=10, random_state=seed).fit(t)
    t_cells, p_cells, q_cells = km.labels_, km.predict(p), km.predict(q)
    tau = 20 / len(q)
    weights, zs = [], []
    for c in range(cells):
        tc, pc, qc = t[t_cells == c], p[p_cells == c], q[q_cells == c]
        if not len(tc) or not len(pc):
            raise ValueError(f"C_T: cell {c} holds no test or no training samples; use more real samples")
        if len(qc) / len(q) <= tau:  # too few generated samples here: the cell is left out (Π_τ)
            continue
        tc64 = torch.from_numpy(tc)
        zs.append(_z_u(nearest(torch.from_numpy(pc), tc64)[0].numpy(), nearest(torch.from_numpy(qc), tc64)[0].numpy()))
        weights.append(len(pc) / len(p))
    if not zs:
        return float("nan")
    return float(np.dot(weights, zs) / np.sum(weights))
