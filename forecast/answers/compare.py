"""Kaplan vs Chinchilla on the same runs: LOO, the allocation exponent a, and how far forecasts diverge.

Every law is fitted to the same runs with the same Student-t likelihood on
log loss, so PSIS-LOO elpd differences compare like with like.
"""

import json
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from scaling_forecast.answers.allocation import allocation_table, optimum, overhead_table
from scaling_forecast.answers.reconcile import Reconciliation
from scaling_forecast.core.intervals import Summary, summarise
from scaling_forecast.fitting.diagnostics import Diagnostics
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.inputs import published

DEFAULT_LAWS = ("chinchilla", "kaplan", "kaplan_e")
REFERENCE_LAW = "chinchilla"
DIVERGENCE_BUDGETS = (1e21, 1e23, 1e25, 1e27)  # FLOP
# Pareto k above this makes a run's PSIS-LOO term unreliable (Vehtari et al. 2024, for S = 4000 draws
# the sample-size-dependent threshold is 0.7).
PARETO_K_MAX = 0.7


@dataclass(frozen=True)
class Exponent(Summary):
    """The posterior of a with P(a > 0.6) (Kaplan-like) and P(a < 0.5) (more data than parameters as C grows)."""

    p_above: float = 0.0
    p_below: float = 0.0

    def as_dict(self) -> dict:
        out = super().as_dict()
        above, below = out.pop("p_above"), out.pop("p_below")
        return out | {"p_above_0.6": above, "p_below_0.5": below}


def published_exponents() -> list[dict]:
    """Published a (N_opt proportional to C^a) with their intervals and citations."""
    table = published.law_constants()
    rows = table[(table["law"] == "compute_optimal") & (table["parameter"] == "a")]
    return [
        {"source": r.source, "a": r.value, "lo": None if pd.isna(r.lo) else r.lo, "hi": None if pd.isna(r.hi) else r.hi,
         "interval": None if pd.isna(r.interval) else r.interval, "citation": r.citation}
        for r in rows.itertuples()
    ]


def exponent(fitted: ScalingLawFit, level: float) -> Exponent:
    """The posterior of a (:class:`Exponent`)."""
    a = fitted.draws.frontier().a
    return Exponent(**vars(summarise(a, level)), p_above=float((a > 0.6).mean()), p_below=float((a < 0.5).mean()))


@dataclass(frozen=True)
class Loo:
    """One law's PSIS-LOO: rank, elpd and its difference to the best with standard errors, stacking weight,
    and its Pareto k diagnostics."""

    law: str
    rank: int
    elpd_loo: float
    se: float
    elpd_diff: float
    diff_se: float
    p_loo: float
    stacking_weight: float
    pareto_k_max: float
    pareto_k_above: int  # runs with k above PARETO_K_MAX
    runs: int

    def as_dict(self) -> dict:
        out = asdict(self)
        return {k if k != "pareto_k_above" else "pareto_k_above_0.7": v for k, v in out.items()}


def loo_table(fits: dict[str, ScalingLawFit]) -> list[Loo]:
    """PSIS-LOO per law, ranked, with elpd difference to the best and its standard error (ArviZ ``compare``)."""
    import arviz as az  # on use: only the comparison computes LOO

    with warnings.catch_warnings():
        # ArviZ warns once per law about Pareto k > 0.7; the table reports the count per law instead.
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        loos = {name: f.loo() for name, f in fits.items()}
    ranked = az.compare(loos, method="stacking", round_to="none")
    out = []
    for name, row in ranked.iterrows():
        k = np.asarray(loos[name].pareto_k).reshape(-1)
        out.append(Loo(name, int(row["rank"]), float(row["elpd"]), float(row["se"]), float(row["elpd_diff"]),
                       float(row["dse"]), float(row["p"]), float(row["weight"]), float(k.max()),
                       int((k > PARETO_K_MAX).sum()), int(k.size)))
    return out


@dataclass(frozen=True)
class Divergence:
    """At one budget: N_opt(other) / N_opt(reference), the same for tokens per parameter, L_opt(other) -
    L_opt(reference), and each law's own optimum (``params``, ``tokens_per_param``, ``loss``)."""

    compute: float
    params_opt_ratio: Summary
    tokens_per_param_ratio: Summary
    loss_difference: Summary
    reference: dict[str, Summary]
    other: dict[str, Summary]


def divergence(reference: ScalingLawFit, other: ScalingLawFit, budgets, level: float) -> list[Divergence]:
    """Per budget, how far ``other``'s compute-optimal forecasts are from ``reference``'s, with intervals.

    The two posteriors come from separate fits, so draws are paired by index,
    a sample from the product of the two posteriors.
    """
    budgets = np.asarray(budgets, float)
    ref, oth = optimum(reference.draws.frontier(), budgets), optimum(other.draws.frontier(), budgets)
    size = min(ref["params"].shape[1], oth["params"].shape[1])
    quantities = ("params", "tokens_per_param", "loss")
    return [
        Divergence(
            float(c),
            summarise(oth["params"][i, :size] / ref["params"][i, :size], level),
            summarise(oth["tokens_per_param"][i, :size] / ref["tokens_per_param"][i, :size], level),
            summarise(oth["loss"][i, :size] - ref["loss"][i, :size], level),
            {q: summarise(ref[q][i], level) for q in quantities},
            {q: summarise(oth[q][i], level) for q in quantities},
        )
        for i, c in enumerate(budgets)
    ]


OVERHEAD_MODELS = ("GPT-3 175B", "Chinchilla", "LLaMA 7B", "LLaMA 13B", "LLaMA 33B", "LLaMA 65B",
                   "Llama 2 7B", "Llama 2 13B", "Llama 2 70B")


def overheads(fitted: ScalingLawFit, level: float, models=OVERHEAD_MODELS) -> list[dict]:
    """Compute overhead and loss gap of published configurations under this fit (:func:`allocation.overhead_table`)."""
    configs = published.model_configs().set_index("model").loc[list(models)]
    table = overhead_table(fitted.draws, configs["params"].to_numpy(), configs["tokens"].to_numpy(), level=level)
    return [{"model": m} | row for m, row in zip(configs.index, table.to_dict("records"))]


@dataclass(frozen=True)
class LawSummary:
    """One fitted law: its formula, what it says, its parameters (median, interval, units) and diagnostics."""

    formula: str
    meaning: str
    parameters: dict[str, dict]
    diagnostics: Diagnostics


@dataclass(frozen=True)
class Comparison:
    """Every number of ``scaling-forecast compare`` for laws fitted to the same runs."""

    dataset: str
    dataset_sha256: str
    runs: int
    selection: dict
    level: float
    laws: dict[str, LawSummary]
    loo: list[Loo]
    exponent_a: dict[str, Exponent]
    published_a: list[dict]
    chinchilla_budget: dict[str, dict]  # per law, the allocation row at CHINCHILLA_BUDGET
    reference_law: str | None
    divergence: dict[str, list[Divergence]]
    overhead: dict[str, list[dict]]
    reconciliation: Reconciliation | None


def comparison(fits: dict[str, ScalingLawFit], *, level: float, reconcile: Reconciliation | None = None) -> Comparison:
    """Every number of ``scaling-forecast compare`` for laws fitted to the same runs."""
    allocating = {n: f for n, f in fits.items() if f.law.frontier_of is not None}
    reference = REFERENCE_LAW if REFERENCE_LAW in allocating else next(iter(allocating), None)
    first = next(iter(fits.values()))
    return Comparison(
        dataset=first.attrs["dataset"],
        dataset_sha256=first.attrs["dataset_sha256"],
        runs=len(first.runs),
        selection=json.loads(first.attrs["selection"]),
        level=level,
        laws={n: LawSummary(f.law.formula, f.law.meaning, f.parameters(level), f.diagnostics) for n, f in fits.items()},
        loo=loo_table(fits),
        exponent_a={n: exponent(f, level) for n, f in allocating.items()},
        published_a=published_exponents(),
        chinchilla_budget={
            n: allocation_table(f.draws, [published.CHINCHILLA_BUDGET], level=level).iloc[0].to_dict() for n, f in allocating.items()
        },
        reference_law=reference,
        divergence={
            n: divergence(allocating[reference], f, DIVERGENCE_BUDGETS, level) for n, f in allocating.items() if n != reference
        },
        overhead={n: overheads(f, level) for n, f in allocating.items()},
        reconciliation=reconcile,
    )
