"""Posterior forecasts of loss: vectorised over draws and query points."""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scaling_forecast.intervals import band, quantiles
from scaling_forecast.laws import Law
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN, Frontier

# Query points per block: each float32 temporary is 4000 draws x 128 x 4 B = 2 MB, which stays in cache (larger
# blocks did not, smaller ones pay more overhead; benchmarks/RESULTS.md, "Large forecast grids", issue 16).
BLOCK = 128
# Decades between the computes at which plan reads a pooled fit's departure: it is constant within a fitted
# bin (a fifth of a decade) and linear beyond the runs, so reading it at the nearest of these moves little.
DEPARTURE_STEP = 0.01


@dataclass(frozen=True)
class LawDraws:
    """Flat posterior draws of a law's curve parameters and of its noise model."""

    law: Law
    values: dict[str, np.ndarray]
    sigma: np.ndarray
    nu: np.ndarray
    # (log10 compute of points, seed) -> draws of the true curve's departure from the law in log loss,
    # shape (points, draws); None when the fit has no such term (a law fitted alone).
    departure: Callable[[np.ndarray, int], np.ndarray] | None = None

    def loss(self, log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
        """The law's expected loss, shape (points, draws): draws contiguous, which the quantiles scan."""
        return self.law.loss(log_n[:, None], log_d[:, None], self.values)

    def log_curve(self, log_n: np.ndarray, log_d: np.ndarray, seed: int) -> np.ndarray:
        """Draws of the expected log loss, shape (points, draws): the law plus its departure, if any."""
        mu = np.log(self.loss(log_n, log_d))
        if self.departure is None:
            return mu
        log10_compute = (np.log(FLOP_PER_PARAM_TOKEN) + log_n + log_d) / np.log(10)
        return mu + self.departure(log10_compute, seed).astype(mu.dtype)

    def log_departure(self, log10_compute: np.ndarray, seed: int) -> np.ndarray:
        """The departure from the law in log loss at each draw's own compute (``log10_compute``: points x
        draws), 0 for a fit without one: the departure's path along a grid of ``DEPARTURE_STEP`` decades over
        their range (one call, so that every point shares one path per draw), read at each draw's nearest
        grid point."""
        if self.departure is None:
            return np.zeros_like(log10_compute)
        lo = float(log10_compute.min())
        grid = lo + DEPARTURE_STEP * np.arange(int(np.ceil((float(log10_compute.max()) - lo) / DEPARTURE_STEP)) + 1)
        path = self.departure(grid, seed)
        return path[np.rint((log10_compute - lo) / DEPARTURE_STEP).astype(int), np.arange(path.shape[1])]

    def departed(self, loss: np.ndarray, log_budget: np.ndarray, seed: int) -> np.ndarray:
        """The law's expected ``loss`` (points x draws) at C = 6 exp(``log_budget``) with the departure there
        (unchanged for a fit without one), as ``log_curve`` adds it to forecasts."""
        if self.departure is None:
            return loss
        log10_compute = (np.log(FLOP_PER_PARAM_TOKEN) + np.broadcast_to(log_budget, loss.shape)) / np.log(10)
        return loss * np.exp(self.log_departure(log10_compute, seed))

    def frontier(self) -> Frontier:
        """Per-draw compute-optimal frontier (an InputError for compute-only laws)."""
        return self.law.frontier(self.values)

    def astype(self, dtype) -> "LawDraws":
        return LawDraws(self.law, {k: v.astype(dtype) for k, v in self.values.items()}, self.sigma.astype(dtype),
                        self.nu.astype(dtype), self.departure)


def beyond_oom(query: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """Orders of magnitude outside [min, max] of the fitted values (0 inside)."""
    lq, lo, hi = np.log10(query), np.log10(fitted.min()), np.log10(fitted.max())
    return np.maximum(lq - hi, 0) + np.maximum(lo - lq, 0)


def forecast_table(
    draws: LawDraws, runs: pd.DataFrame, params: np.ndarray, tokens: np.ndarray, *, level: float, seed: int
) -> pd.DataFrame:
    """Median and ``level`` interval of expected loss and of a new run's observed loss.

    The expected loss is the law's plus, for fits that learn one, its departure from the law (so
    its interval widens with distance beyond the fitted runs).

    The observed loss multiplies by exp(Student-t run noise), the model's noise
    on log loss, drawn with ``seed``, so a saved fit reproduces its forecasts exactly; one
    noise draw per posterior draw, shared by all points, gives each point's
    predictive distribution exactly (only the joint across points is not
    meant to be read) at a fraction of the cost.
    """
    params, tokens = np.broadcast_arrays(np.atleast_1d(params), np.atleast_1d(tokens))
    if np.any(~np.isfinite(params) | (params <= 0)) or np.any(~np.isfinite(tokens) | (tokens <= 0)):
        raise ValueError("params and tokens must be positive and finite")
    probs = band(level)
    # With nu near 1 (the fits' heavy tails) a Student-t draw can be 1e5 scales out; capping the log noise at
    # +-50 keeps exp finite in float32 and moves nothing but the outermost draws, far from any reported quantile.
    log_noise = draws.sigma * np.random.default_rng(seed).standard_t(draws.nu)
    noise = np.exp(np.clip(log_noise, -50, 50)).astype(np.float32)
    # float32 halves memory traffic (about 30% faster here); quantiles of losses near 2 nats
    # agree with float64 to 5 decimals, beyond the 4 that are reported.
    draws = draws.astype(np.float32)
    log_n, log_d = np.log(params).astype(np.float32), np.log(tokens).astype(np.float32)

    def block(start: int) -> tuple[np.ndarray, np.ndarray]:
        if draws.departure is None:
            loss = draws.loss(log_n[start : start + BLOCK], log_d[start : start + BLOCK])
        else:
            loss = np.exp(draws.log_curve(log_n[start : start + BLOCK], log_d[start : start + BLOCK], seed))
        return quantiles(loss, probs), quantiles(loss * noise, probs)

    # numpy releases the GIL in exp, multiply and partition, so threads use every core.
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        blocks = list(pool.map(block, range(0, params.size, BLOCK)))
    expected = np.concatenate([b[0] for b in blocks], axis=1).astype(float)
    observed = np.concatenate([b[1] for b in blocks], axis=1).astype(float)
    compute = FLOP_PER_PARAM_TOKEN * params * tokens
    return pd.DataFrame(
        {
            "params": params,
            "tokens": tokens,
            "compute": compute,
            "loss_median": expected[1],
            "loss_lo": expected[0],
            "loss_hi": expected[2],
            "observed_median": observed[1],
            "observed_lo": observed[0],
            "observed_hi": observed[2],
            "level": level,
            "beyond_params_oom": beyond_oom(params, runs["params"].to_numpy()),
            "beyond_tokens_oom": beyond_oom(tokens, runs["tokens"].to_numpy()),
            "beyond_compute_oom": beyond_oom(compute, runs["compute"].to_numpy()),
        }
    )
