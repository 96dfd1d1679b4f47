"""A posterior predictive distribution of log loss: per draw a location, scale and tail weight.

Every method the backtest compares (hierarchical, one family at a time,
the bootstrap baseline) is reduced to this, so intervals, coverage and log
predictive density are computed the same way for all.
"""

from dataclasses import dataclass

import numpy as np

from scaling_forecast.intervals import band, quantiles


@dataclass(frozen=True)
class Predictive:
    """log L of a new run at each point: a mixture over draws of Student-t(nu, mu, scale).

    ``mu`` has shape (points, draws); ``scale`` and ``nu`` shape (draws,)
    (``nu = inf``: Gaussian).
    """

    mu: np.ndarray
    scale: np.ndarray
    nu: np.ndarray

    def samples(self, seed: int = 0) -> np.ndarray:
        """One predictive sample of log loss per draw and point, shape (points, draws)."""
        rng = np.random.default_rng(seed)
        noise = rng.standard_t(self.nu, size=self.mu.shape) if np.isfinite(self.nu).all() else rng.standard_normal(self.mu.shape)
        return self.mu + self.scale * noise

    def interval(self, level: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Equal-tailed ``level`` interval of a new run's loss (nats/token) at each point."""
        low, _, high = band(level)
        lo, hi = quantiles(self.samples(seed), [low, high])
        return np.exp(lo), np.exp(hi)

    def median(self, seed: int = 0) -> np.ndarray:
        """Predictive median of a new run's loss (nats/token)."""
        return np.exp(quantiles(self.samples(seed), [0.5])[0])

    def log_density(self, loss: np.ndarray) -> np.ndarray:
        """Log predictive density of each observed log loss: log of the mean over draws of its density."""
        from scipy import special, stats  # backtests only: forecasts do not pay SciPy's statistics import

        y = np.log(np.asarray(loss, float))[:, None]
        logpdf = stats.t.logpdf(y, self.nu, loc=self.mu, scale=self.scale)
        return special.logsumexp(logpdf, axis=1) - np.log(self.mu.shape[1])
