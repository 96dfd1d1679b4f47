"""Kaplan vs Chinchilla on the same runs: LOO, the allocation exponent a, and how far forecasts diverge.

Every law is fitted to the same runs with the same Student-t likelihood on
log loss, so PSIS-LOO elpd differences compare like with like.
"""

import json
import warnings

import numpy as np
import pandas as pd

from scaling_forecast import published
from scaling_forecast.allocation import allocation_table, optimum, overhead_table
from scaling_forecast.fit import ScalingLawFit
from scaling_forecast.intervals import Interval

DEFAULT_LAWS = ("chinchilla", "kaplan", "kaplan_e")
REFERENCE_LAW = "chinchilla"
DIVERGENCE_BUDGETS = (1e21, 1e23, 1e25, 1e27)  # FLOP
CHINCHILLA_BUDGET = 5.76e23  # FLOP: Chinchilla's own training run (Hoffmann et al. 2022, Table 3)
# Pareto k above this makes a run's PSIS-LOO term unreliable (Vehtari et al. 2024, for S = 4000 draws
# the sample-size-dependent threshold is 0.7).
PARETO_K_MAX = 0.7


def summarise(values: np.ndarray, level: float) -> dict[str, float | None]:
    """Median and equal-tailed ``level`` interval of draws (NaNs ignored, their share reported)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Interval(None, None, None, level).as_dict() | {"share_defined": 0.0}
    return Interval.of(finite, level).as_dict() | {"share_defined": float(finite.size / values.size)}


def published_exponents() -> list[dict]:
    """Published a (N_opt proportional to C^a) with their intervals and citations."""
    table = published.law_constants()
    rows = table[(table["law"] == "compute_optimal") & (table["parameter"] == "a")]
    return [
        {"source": r.source, "a": r.value, "lo": None if pd.isna(r.lo) else r.lo, "hi": None if pd.isna(r.hi) else r.hi,
         "interval": None if pd.isna(r.interval) else r.interval, "citation": r.citation}
        for r in rows.itertuples()
    ]


def exponent(fitted: ScalingLawFit, level: float) -> dict:
    """Posterior of a with P(a > 0.6) (Kaplan-like) and P(a < 0.5) (more data than parameters as C grows)."""
    a = fitted.draws.frontier().a
    return summarise(a, level) | {"p_above_0.6": float((a > 0.6).mean()), "p_below_0.5": float((a < 0.5).mean())}


def loo_table(fits: dict[str, ScalingLawFit]) -> list[dict]:
    """PSIS-LOO per law, ranked, with elpd difference to the best and its standard error (ArviZ ``compare``)."""
    import arviz as az

    with warnings.catch_warnings():
        # ArviZ warns once per law about Pareto k > 0.7; the table reports the count per law instead.
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        loos = {name: f.loo() for name, f in fits.items()}
    ranked = az.compare(loos, method="stacking", round_to="none")
    out = []
    for name, row in ranked.iterrows():
        k = np.asarray(loos[name].pareto_k).reshape(-1)
        out.append({
            "law": name,
            "rank": int(row["rank"]),
            "elpd_loo": float(row["elpd"]),
            "se": float(row["se"]),
            "elpd_diff": float(row["elpd_diff"]),
            "diff_se": float(row["dse"]),
            "p_loo": float(row["p"]),
            "stacking_weight": float(row["weight"]),
            "pareto_k_max": float(k.max()),
            "pareto_k_above_0.7": int((k > PARETO_K_MAX).sum()),
            "runs": int(k.size),
        })
    return out


def divergence(reference: ScalingLawFit, other: ScalingLawFit, budgets, level: float) -> list[dict]:
    """Per budget: N_opt(other) / N_opt(reference) and L_opt(other) - L_opt(reference), with intervals.

    The two posteriors come from separate fits, so draws are paired by index,
    a sample from the product of the two posteriors.
    """
    budgets = np.asarray(budgets, float)
    ref, oth = optimum(reference.draws.frontier(), budgets), optimum(other.draws.frontier(), budgets)
    size = min(ref["params"].shape[1], oth["params"].shape[1])
    rows = []
    for i, c in enumerate(budgets):
        ratio = oth["params"][i, :size] / ref["params"][i, :size]
        gap = oth["loss"][i, :size] - ref["loss"][i, :size]
        rows.append({
            "compute": float(c),
            "params_opt_ratio": summarise(ratio, level),
            "tokens_per_param_ratio": summarise(oth["tokens_per_param"][i, :size] / ref["tokens_per_param"][i, :size], level),
            "loss_difference": summarise(gap, level),
            "reference": {q: summarise(ref[q][i], level) for q in ("params", "tokens_per_param", "loss")},
            "other": {q: summarise(oth[q][i], level) for q in ("params", "tokens_per_param", "loss")},
        })
    return rows


OVERHEAD_MODELS = ("GPT-3 175B", "Chinchilla", "LLaMA 7B", "LLaMA 13B", "LLaMA 33B", "LLaMA 65B",
                   "Llama 2 7B", "Llama 2 13B", "Llama 2 70B")


def overheads(fitted: ScalingLawFit, level: float, models=OVERHEAD_MODELS) -> list[dict]:
    """Compute overhead and loss gap of published configurations under this fit (:func:`allocation.overhead_table`)."""
    configs = published.model_configs().set_index("model").loc[list(models)]
    table = overhead_table(fitted.draws, configs["params"].to_numpy(), configs["tokens"].to_numpy(), level=level)
    return [{"model": m} | row for m, row in zip(configs.index, table.to_dict("records"))]


def comparison(fits: dict[str, ScalingLawFit], *, level: float, reconcile: dict | None = None) -> dict:
    """Every number of ``scaling-forecast compare`` for laws fitted to the same runs."""
    allocating = {n: f for n, f in fits.items() if f.law.frontier_of is not None}
    reference = REFERENCE_LAW if REFERENCE_LAW in allocating else next(iter(allocating), None)
    first = next(iter(fits.values()))
    return {
        "dataset": first.attrs["dataset"],
        "dataset_sha256": first.attrs["dataset_sha256"],
        "runs": len(first.runs),
        "selection": json.loads(first.attrs["selection"]),
        "level": level,
        "laws": {
            n: {"formula": f.law.formula, "meaning": f.law.meaning, "parameters": f.parameters(level),
                "diagnostics": f.diagnostics.as_dict()}
            for n, f in fits.items()
        },
        "loo": loo_table(fits),
        "exponent_a": {n: exponent(f, level) for n, f in allocating.items()},
        "published_a": published_exponents(),
        "chinchilla_budget": {
            n: allocation_table(f.draws, [CHINCHILLA_BUDGET], level=level).iloc[0].to_dict() for n, f in allocating.items()
        },
        "reference_law": reference,
        "divergence": {
            n: divergence(allocating[reference], f, DIVERGENCE_BUDGETS, level) for n, f in allocating.items() if n != reference
        },
        "overhead": {n: overheads(f, level) for n, f in allocating.items()},
        "reconciliation": reconcile,
    }
