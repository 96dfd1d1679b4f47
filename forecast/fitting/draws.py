"""Posterior draws of a law's curve and noise, and of a family's departure from its law along compute."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scaling_forecast.models.drift import BIN_DECADES, drift_correlation
from scaling_forecast.models.law_registry import Law
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN, Frontier

# Decades between the computes at which plan reads a pooled fit's departure: it is constant within a fitted
# bin (a fifth of a decade) and linear beyond the runs, so reading it at the nearest of these moves little.
DEPARTURE_STEP = 0.01


def no_departure(log10_compute: np.ndarray, seed: int) -> np.ndarray:
    """The departure of a fit that has none: zero at every point (one column; it broadcasts over draws)."""
    return np.zeros((np.asarray(log10_compute).size, 1))


@dataclass(frozen=True)
class LawDraws:
    """Flat posterior draws of a law's curve parameters and of its noise model."""

    law: Law
    values: dict[str, np.ndarray]
    sigma: np.ndarray
    nu: np.ndarray
    # (log10 compute of points, seed) -> draws of the true curve's departure from the law in log loss, shape
    # (points, draws): zero for a law fitted alone, which has no such term.
    departure: Callable[[np.ndarray, int], np.ndarray] = no_departure

    @property
    def departs(self) -> bool:
        """Whether the fit has a departure from its law (a pooled fit), or its curve is the law's (zero)."""
        return self.departure is not no_departure

    def loss(self, log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
        """The law's expected loss, shape (points, draws): draws contiguous, which the quantiles scan."""
        return self.law.loss(log_n[:, None], log_d[:, None], self.values)

    def log_curve(self, log_n: np.ndarray, log_d: np.ndarray, seed: int) -> np.ndarray:
        """Draws of the expected log loss, shape (points, draws): the law plus its departure, if any."""
        mu = np.log(self.loss(log_n, log_d))
        if not self.departs:  # the law's curve itself: exp(log) would round it
            return mu
        log10_compute = (np.log(FLOP_PER_PARAM_TOKEN) + log_n + log_d) / np.log(10)
        return mu + self.departure(log10_compute, seed).astype(mu.dtype)

    def log_departure(self, log10_compute: np.ndarray, seed: int) -> np.ndarray:
        """The departure from the law in log loss at each draw's own compute (``log10_compute``: points x
        draws), 0 for a fit without one: the departure's path along a grid of ``DEPARTURE_STEP`` decades over
        their range (one call, so that every point shares one path per draw), read at each draw's nearest
        grid point."""
        if not self.departs:
            return np.zeros_like(log10_compute)
        lo = float(log10_compute.min())
        grid = lo + DEPARTURE_STEP * np.arange(int(np.ceil((float(log10_compute.max()) - lo) / DEPARTURE_STEP)) + 1)
        path = self.departure(grid, seed)
        return path[np.rint((log10_compute - lo) / DEPARTURE_STEP).astype(int), np.arange(path.shape[1])]

    def departed(self, loss: np.ndarray, log_budget: np.ndarray, seed: int) -> np.ndarray:
        """The law's expected ``loss`` (points x draws) at C = 6 exp(``log_budget``) with the departure there
        (unchanged for a fit without one), as ``log_curve`` adds it to forecasts."""
        if not self.departs:
            return loss
        log10_compute = (np.log(FLOP_PER_PARAM_TOKEN) + np.broadcast_to(log_budget, loss.shape)) / np.log(10)
        return loss * np.exp(self.log_departure(log10_compute, seed))

    def frontier(self) -> Frontier:
        """Per-draw compute-optimal frontier (an InputError for compute-only laws)."""
        return self.law.frontier(self.values)

    def astype(self, dtype) -> "LawDraws":
        return LawDraws(self.law, {k: v.astype(dtype) for k, v in self.values.items()}, self.sigma.astype(dtype),
                        self.nu.astype(dtype), self.departure)


def departure(offsets: np.ndarray | None, bin_log10c: np.ndarray, sd: np.ndarray, length: float,
              log10_compute: np.ndarray, seed: int) -> np.ndarray:
    """Draws of a family's departure from its law at each compute, shape (points, draws).

    ``offsets`` (draws, bins) are the posterior departures in the family's fitted compute bins
    (at ``bin_log10c``); ``None`` for a family with no runs. In a fitted bin: that bin's departure.
    Elsewhere: the Ornstein-Uhlenbeck process conditioned on the nearest fitted bin (exact beyond the
    fitted range, slightly wide in a gap between bins); with no fitted bins, its marginal. One shock
    per new bin, shared by its points.
    """
    index = np.round(np.asarray(log10_compute, float) / BIN_DECADES).astype(int)
    key = index * BIN_DECADES
    new_bins, which = np.unique(index, return_inverse=True)
    # Seeded by the bin itself, so a point's draws do not depend on which other points are asked.
    shock = np.stack([np.random.default_rng([seed, 1, int(b)]).standard_normal(sd.size) for b in new_bins])[which]
    if offsets is None:
        return sd * shock
    nearest = np.abs(key[:, None] - bin_log10c[None, :]).argmin(axis=1)
    phi = drift_correlation(key - bin_log10c[nearest], length)[:, None]
    return phi * offsets[:, nearest].T + sd * np.sqrt(1 - phi**2) * shock
