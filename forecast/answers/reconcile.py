"""Kaplan's a = 0.73 vs Chinchilla's 0.5: how much is parameter counting?

Pearce & Song 2024 ("Reconciling Kaplan and Chinchilla scaling laws") show
that counting non-embedding parameters and compute (Kaplan) instead of
total ones (Chinchilla) makes the *local* exponent d log N_opt / d log C
larger at small scale, where embeddings are a large share of the model.
Here that is measured on runs that record both counts, two ways:

1. refit the law with non-embedding N (and C = 6 N D with that N) and compare
   the posterior of a with the total-parameter fit's;
2. take the total-parameter fit's optimum N_T(C_T) per draw, convert it to
   non-embedding terms with the runs' own embedding sizes, and read off the
   local exponent at each budget.

For (2), the embedding count is fitted across the runs' distinct model sizes
as N_emb = kappa * N_T^epsilon (embeddings grow like the width, a power of
N_T below 1). With s = d log N_E / d log N_T and a the total-parameter
exponent, the local exponent in Kaplan's terms is s a / (1 + (s - 1) a):
N_E = N_T - N_emb grows faster than N_T (s > 1), and C_E = C_T N_E / N_T.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scaling_forecast.core.errors import InputError
from scaling_forecast.core.intervals import Summary, summarise
from scaling_forecast.fitting.diagnostics import Diagnostics
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN, Frontier


@dataclass(frozen=True)
class EmbeddingSizes:
    """N_emb = kappa * N_T^epsilon, least squares in log space over the runs' distinct model sizes."""

    kappa: float
    epsilon: float
    sizes: int
    params_min: float
    params_max: float
    max_abs_log_error: float  # worst relative misfit of N_emb over the sizes used

    @classmethod
    def fit(cls, total: np.ndarray, nonembedding: np.ndarray) -> "EmbeddingSizes":
        pairs = pd.DataFrame({"total": total, "nonembedding": nonembedding}).drop_duplicates()
        embedding = pairs["total"] - pairs["nonembedding"]
        if len(pairs) < 3 or (embedding <= 0).any():
            raise InputError("need at least 3 model sizes with total > non-embedding parameters to fit embedding sizes")
        x, y = np.log(pairs["total"].to_numpy()), np.log(embedding.to_numpy())
        epsilon, log_kappa = np.polyfit(x, y, 1)
        error = np.abs(y - (log_kappa + epsilon * x)).max()
        return cls(float(np.exp(log_kappa)), float(epsilon), len(pairs), float(pairs["total"].min()),
                   float(pairs["total"].max()), float(error))

    def nonembedding(self, total: np.ndarray) -> np.ndarray:
        """Non-embedding parameters of a model of ``total`` parameters (NaN where embeddings would be all of it)."""
        out = total - self.kappa * total**self.epsilon
        return np.where(out > 0, out, np.nan)

    def elasticity(self, total: np.ndarray) -> np.ndarray:
        """s = d log N_E / d log N_T."""
        return (total - self.epsilon * self.kappa * total**self.epsilon) / self.nonembedding(total)


def local_exponent(frontier: Frontier, sizes: EmbeddingSizes, compute: np.ndarray) -> dict[str, np.ndarray]:
    """Per draw at each total-compute budget (budgets, draws): N_T, N_E, C_E and the local exponent in Kaplan's terms."""
    log_budget = np.log(np.asarray(compute, float) / 6)[:, None]
    total = np.exp(frontier.log_params(log_budget))
    nonembedding = sizes.nonembedding(total)
    s = sizes.elasticity(total)
    return {
        "params_total": total,
        "params_nonembedding": nonembedding,
        "compute_nonembedding": FLOP_PER_PARAM_TOKEN * np.exp(log_budget) * nonembedding / total,
        "local_a": s * frontier.a / (1 + (s - 1) * frontier.a),
    }


@dataclass(frozen=True)
class LocalExponent:
    """At one total-compute budget: the total-N fit's N_opt, in non-embedding terms, and the local exponent."""

    compute_total: float
    params_total: Summary
    params_nonembedding: Summary
    compute_nonembedding: Summary
    local_a: Summary


@dataclass(frozen=True)
class Reconciliation:
    """a counted with total and with non-embedding parameters, the shift, and the local exponent in Kaplan's
    terms per budget (module docstring); ``diagnostics``: the non-embedding fit's."""

    level: float
    embedding_sizes: EmbeddingSizes
    a_total_params: Summary
    a_nonembedding_params: Summary
    a_shift: Summary
    p_nonembedding_a_larger: float
    local: list[LocalExponent]
    diagnostics: Diagnostics


def reconciliation(total: ScalingLawFit, nonembedding: ScalingLawFit, level: float, points: int = 8) -> Reconciliation:
    """Both ways of (module docstring) on the same runs, every number with its ``level`` interval."""
    runs = total.runs.merge(nonembedding.runs[["run", "params"]], on="run", suffixes=("", "_nonembedding"))
    if len(runs) != len(total.runs):
        raise InputError("the two fits were made on different runs; reconciliation needs the same runs counted two ways")
    sizes = EmbeddingSizes.fit(runs["params"].to_numpy(), runs["params_nonembedding"].to_numpy())
    a_total, a_nonemb = total.draws.frontier().a, nonembedding.draws.frontier().a
    size = min(a_total.size, a_nonemb.size)
    budgets = np.geomspace(runs["compute"].min(), runs["compute"].max(), points)
    local = local_exponent(total.draws.frontier(), sizes, budgets)
    return Reconciliation(
        level=level,
        embedding_sizes=sizes,
        a_total_params=summarise(a_total, level),
        a_nonembedding_params=summarise(a_nonemb, level),
        # Separate fits: draws paired by index (product of the two posteriors).
        a_shift=summarise(a_nonemb[:size] - a_total[:size], level),
        p_nonembedding_a_larger=float((a_nonemb[:size] > a_total[:size]).mean()),
        local=[LocalExponent(float(c), *(summarise(local[k][i], level) for k in local)) for i, c in enumerate(budgets)],
        diagnostics=nonembedding.diagnostics,
    )
