"""Where a family's departure from its law lives: compute bins and the correlation between them.

Fitting (``hierarchical``) and forecasting (``scaling_forecast.fitting.hierarchical``, ``scaling_forecast.fitting.pooled``) both
need them; they are plain numpy so that forecasting from a saved fit needs no PyMC.
"""

import numpy as np

BIN_DECADES = 0.2  # runs within a fifth of a decade of compute share the law's departure there


def compute_bins(compute: np.ndarray, family: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each run's compute bin, and per bin its family and log10 compute; bins sorted by family, then compute."""
    key = np.round(np.log10(np.asarray(compute, float)) / BIN_DECADES).astype(int)
    family = np.asarray(family)
    pairs = sorted(set(zip(family.tolist(), key.tolist())))
    index = {pair: i for i, pair in enumerate(pairs)}
    bins = np.array([index[pair] for pair in zip(family.tolist(), key.tolist())])
    return bins, np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]) * BIN_DECADES


def drift_correlation(decades, length: float):
    """Correlation of the law's departure at two computes ``decades`` apart (exponential kernel)."""
    return np.exp(-np.abs(decades) / length)
