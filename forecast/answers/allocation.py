"""Compute-optimal allocation with uncertainty: per posterior draw, vectorised over budgets.

For a budget of C FLOP (C = k N D, k = 6 by default) each draw's optimum is
exact (``scaling_forecast.models.laws`` frontiers), so the posterior of N_opt, D_opt, tokens
per parameter and the loss reached is one array operation over
(budgets x draws). The same frontier answers "how far from optimal is this
run": the compute the optimal split would need to reach the run's loss.
"""

import numpy as np
import pandas as pd

from scaling_forecast.core.bounds import bounded
from scaling_forecast.core.intervals import LEVEL, band, quantiles
from scaling_forecast.fitting.draws import LawDraws
from scaling_forecast.fitting.predictive import beyond_oom
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN, Frontier

QUANTITIES = {
    "params": "N_opt, parameters",
    "tokens": "D_opt, tokens",
    "tokens_per_param": "D_opt / N_opt, tokens per parameter",
    "loss": "expected loss at the optimum, nats/token",
}


def optimum(frontier: Frontier, compute: np.ndarray, flops_per_param_token: float = FLOP_PER_PARAM_TOKEN) -> dict[str, np.ndarray]:
    """Per-draw optimum at each budget: arrays of shape (budgets, draws) for each of ``QUANTITIES``."""
    log_budget = np.log(np.asarray(compute, float) / flops_per_param_token)[:, None]
    log_n = frontier.log_params(log_budget)
    log_d = log_budget - log_n
    return {
        "params": np.exp(log_n),
        "tokens": np.exp(log_d),
        "tokens_per_param": np.exp(log_d - log_n),
        "loss": frontier.loss(log_budget),
    }


def _summary(columns: dict[str, np.ndarray], per_draw: dict[str, np.ndarray], level: float) -> pd.DataFrame:
    table = dict(columns)
    for name, values in per_draw.items():
        lo, median, hi = quantiles(values, band(level))
        table |= {f"{name}_median": median, f"{name}_lo": lo, f"{name}_hi": hi}
    return pd.DataFrame(table | {"level": level})


def allocation_table(
    draws: LawDraws, compute, *, level: float = LEVEL, flops_per_param_token: float = FLOP_PER_PARAM_TOKEN
) -> pd.DataFrame:
    """Median and equal-tailed ``level`` interval of N_opt, D_opt, tokens per parameter and loss per budget (FLOP)."""
    compute = bounded("compute", compute)
    per_draw = optimum(draws.frontier(), compute, flops_per_param_token)
    return _summary({"compute": compute}, per_draw, level)


def overhead(draws: LawDraws, params, tokens, flops_per_param_token: float = FLOP_PER_PARAM_TOKEN) -> dict[str, np.ndarray]:
    """Per draw, arrays (points, draws): how far each (N, D) is from the compute-optimal split.

    - ``optimal_compute``: FLOP the optimal split needs to reach this run's expected loss;
    - ``overhead``: the run's compute divided by that (1 = optimal, 2 = twice the compute needed);
    - ``loss_gap``: the run's expected loss minus the optimal loss at the run's own compute (nats/token);
    - ``params_opt``: N_opt at the run's own compute.
    """
    params, tokens = np.broadcast_arrays(bounded("params", params), bounded("tokens", tokens))
    frontier = draws.frontier()
    loss = draws.loss(np.log(params), np.log(tokens))
    log_budget = np.log(params * tokens)[:, None]  # log(C / k) of the run itself
    # Inverting log(L_opt - E) = r0 - g log(C/k) at the run's loss gives the optimal budget.
    log_budget_needed = (frontier.r0 - np.log(loss - frontier.e)) / frontier.g
    return {
        "optimal_compute": flops_per_param_token * np.exp(log_budget_needed),
        "overhead": np.exp(log_budget - log_budget_needed),
        "loss_gap": loss - frontier.loss(log_budget),
        "params_opt": np.exp(frontier.log_params(log_budget)),
    }


def overhead_table(
    draws: LawDraws, params, tokens, *, level: float = LEVEL, flops_per_param_token: float = FLOP_PER_PARAM_TOKEN
) -> pd.DataFrame:
    """Median and ``level`` interval of each :func:`overhead` quantity per (N, D)."""
    params, tokens = np.broadcast_arrays(bounded("params", params), bounded("tokens", tokens))
    per_draw = overhead(draws, params, tokens, flops_per_param_token)
    columns = {"params": params, "tokens": tokens, "compute": flops_per_param_token * params * tokens}
    return _summary(columns, per_draw, level)


def allocation_warnings(fitted: ScalingLawFit, budgets, params, tokens, k: float) -> list[str]:
    """A warning when budgets or configurations lie outside the fitted runs' compute (above or below)."""
    low, high = fitted.runs["compute"].min(), fitted.runs["compute"].max()
    asked = np.asarray(list(budgets) + [k * p * t for p, t in zip(params, tokens)], float)
    distance = beyond_oom(asked, fitted.runs["compute"].to_numpy())
    if not (distance > 0).any():
        return []
    return [f"{int((distance > 0).sum())} of the budgets/configurations lie outside the fitted runs' "
            f"compute ({low:.3g} to {high:.3g} FLOP), by up to {distance.max():.2f} orders of magnitude; the "
            "intervals assume the law's form holds there"]
