"""The one predictive distribution: a new run's log loss per posterior draw, its draws and its log density.

Every kind of fit reduces a forecast to :class:`Predictive` (per draw a location, scale and tail weight), and
every place that draws a new run's loss or scores an observed one goes through this module: forecasts
(:func:`forecast_table`, what ``predict`` and the report print), the backtests' intervals and log scores, the
pooled fit's learned extrapolation error, and a law fit's saved log likelihood and posterior predictive. So the
interval a user reads and the interval a backtest scores come from the same code.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scaling_forecast.core.intervals import band, quantiles
from scaling_forecast.fitting.draws import LawDraws
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN

# Query points per block: each float32 temporary is 4000 draws x 128 x 4 B = 2 MB, which stays in cache (larger
# blocks did not, smaller ones pay more overhead; benchmarks/RESULTS.md, "Large forecast grids", issue 16).
BLOCK = 128
# With nu near 1 (the fits' heavy tails) a Student-t draw can be 1e5 scales out; capping the log noise at +-50
# keeps exp finite in float32 and moves nothing but the outermost draws, far from any reported quantile.
LOG_NOISE_CAP = 50.0


def new_run_log_noise(scale: np.ndarray, nu: np.ndarray, seed: int) -> np.ndarray:
    """A new run's noise on log loss, one draw per posterior draw (``scale`` and ``nu``: shape (draws,); nu = inf
    is Gaussian), capped at +-``LOG_NOISE_CAP``.

    One draw per posterior draw, shared by all the points asked about, gives each point's predictive distribution
    exactly (the joint across points is not meant to be read) at a fraction of the cost of one per point.
    """
    rng = np.random.default_rng(seed)
    shock = rng.standard_t(nu) if np.isfinite(nu).all() else rng.standard_normal(np.shape(nu))
    return np.clip(scale * shock, -LOG_NOISE_CAP, LOG_NOISE_CAP)


@dataclass(frozen=True)
class Predictive:
    """log L of a new run at each point: a mixture over draws of Student-t(nu, mu, scale).

    ``mu`` has shape (points, draws); ``scale`` and ``nu`` shape (draws,) (``nu = inf``: Gaussian).
    """

    mu: np.ndarray
    scale: np.ndarray
    nu: np.ndarray

    def samples(self, seed: int = 0) -> np.ndarray:
        """One predictive sample of a new run's log loss per draw and point, shape (points, draws)."""
        return self.mu + new_run_log_noise(self.scale, self.nu, seed)

    def replicate(self, seed: int) -> np.ndarray:
        """A replicated data set: independent noise for every point and draw, shape (points, draws) (the posterior
        predictive of fitted runs, whose joint is read, unlike :meth:`samples`)."""
        rng = np.random.default_rng([seed, 5])
        return self.mu + self.scale * rng.standard_t(np.broadcast_to(self.nu, self.mu.shape))

    def interval(self, level: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Equal-tailed ``level`` interval of a new run's loss (nats/token) at each point."""
        low, _, high = band(level)
        lo, hi = quantiles(self.samples(seed), [low, high])
        return np.exp(lo), np.exp(hi)

    def median(self, seed: int = 0) -> np.ndarray:
        """Predictive median of a new run's loss (nats/token)."""
        return np.exp(quantiles(self.samples(seed), [0.5])[0])

    def pointwise_log_density(self, log_loss: np.ndarray) -> np.ndarray:
        """Log density of each observed log loss (points,) under each draw, shape (points, draws)."""
        from scipy import stats  # scoring only: forecasts do not pay SciPy's statistics import

        return stats.t.logpdf(np.asarray(log_loss, float)[:, None], self.nu, loc=self.mu, scale=self.scale)

    def log_density(self, loss: np.ndarray) -> np.ndarray:
        """Log predictive density of each observed loss (nats/token): log of the mean over draws of its density."""
        from scipy import special  # scoring only, as above

        logpdf = self.pointwise_log_density(np.log(np.asarray(loss, float)))
        return special.logsumexp(logpdf, axis=1) - np.log(self.mu.shape[1])


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

    The observed loss is a new run's: the expected loss times exp(run noise) as :func:`new_run_log_noise` draws
    it for every predictive of the product (with ``seed``, so a saved fit reproduces its forecasts exactly).
    """
    params, tokens = np.broadcast_arrays(np.atleast_1d(params), np.atleast_1d(tokens))
    if np.any(~np.isfinite(params) | (params <= 0)) or np.any(~np.isfinite(tokens) | (tokens <= 0)):
        raise ValueError("params and tokens must be positive and finite")
    probs = band(level)
    noise = np.exp(new_run_log_noise(draws.sigma, draws.nu, seed)).astype(np.float32)
    # float32 halves memory traffic (about 30% faster here); quantiles of losses near 2 nats
    # agree with float64 to 5 decimals, beyond the 4 that are reported.
    draws = draws.astype(np.float32)
    log_n, log_d = np.log(params).astype(np.float32), np.log(tokens).astype(np.float32)

    def block(start: int) -> tuple[np.ndarray, np.ndarray]:
        if not draws.departs:  # the law's curve itself: exp(log) would round it
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
