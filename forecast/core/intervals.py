"""Intervals of posterior draws: the probabilities of an equal-tailed interval, fast quantiles, and
:class:`Interval`, the one form in which a summary of draws is reported (JSON, text and HTML)."""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from scaling_forecast.core.bounds import bounded

# The default interval level of each command, named once: fits, forecasts, allocations and reports show 90%;
# the law comparison and the data wall 80%, the level of the published numbers they are set beside
# (Hoffmann et al.'s 10th-90th percentiles of a; Villalobos et al.'s 80% exhaustion years).
LEVEL = 0.9
COMPARISON_LEVEL = 0.8


@dataclass(frozen=True)
class Interval:
    """Median and equal-tailed ``level`` interval of draws (None when no draw is defined)."""

    median: float | None
    lo: float | None
    hi: float | None
    level: float | None = None

    @classmethod
    def of(cls, values: np.ndarray, level: float) -> "Interval":
        """The median and equal-tailed ``level`` interval of ``values`` (all finite)."""
        lo, hi = interval(values, level)
        return cls(float(np.median(values)), float(lo), float(hi), level)

    def as_dict(self) -> dict:
        return asdict(self)

    def text(self, fmt: str = ".3f") -> str:
        """'median [lo, hi]', or a dash when undefined."""
        if self.median is None:
            return "—"
        return f"{self.median:{fmt}} [{self.lo:{fmt}}, {self.hi:{fmt}}]"


def band(level: float) -> list[float]:
    """Probabilities of the lower end, the median and the upper end of an equal-tailed ``level`` interval."""
    bounded("level", level)  # where every interval of the product is cut: NaN or 90 refused, from any caller
    tail = (1 - level) / 2
    return [tail, 0.5, 1 - tail]


def interval(values: np.ndarray, level: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed interval holding ``level`` of the mass."""
    low, _, high = band(level)
    lo, hi = np.quantile(values, [low, high], axis=axis)
    return lo, hi


def quantiles(values: np.ndarray, probs: list[float]) -> np.ndarray:
    """Quantiles along the last axis (linear interpolation, as numpy's default).

    One sort along the last axis (numpy's vectorised sort) is several times faster than ``np.quantile``
    over many rows, and than ``np.partition`` at the needed order statistics: this is what makes
    10,000-point grids and 1,000 planning questions cheap.
    """
    size = values.shape[-1]
    positions = np.asarray(probs) * (size - 1)
    below = np.floor(positions).astype(int)
    above = np.minimum(below + 1, size - 1)
    ordered = np.sort(values, axis=-1)
    weight = positions - below
    return (ordered[..., below] * (1 - weight) + ordered[..., above] * weight).T


def summaries(values: np.ndarray, level: float) -> list[Interval]:
    """One :class:`Interval` per row of ``values`` (rows x draws; a 1-D array is one row)."""
    lo, median, hi = quantiles(values, band(level))
    return [Interval(float(m), float(a), float(b), level)
            for m, a, b in zip(np.atleast_1d(median), np.atleast_1d(lo), np.atleast_1d(hi))]


BLOCK_CELLS = 1 << 17  # (question, draw) cells per block: 1 MB per float64 array


def by_blocks(answer: Callable[[slice], list], questions: int, draws: int) -> list:
    """``answer`` (the answers to a slice of the questions) over blocks of about ``BLOCK_CELLS`` (question,
    draw) cells, shared among threads, concatenated in order. A block keeps every temporary array in cache
    and small enough that the allocator reuses its memory (32 MB arrays, 1000 x 4000, are mapped afresh page
    by page at each allocation, which costs several times the arithmetic); numpy releases the GIL in its
    array loops, so the threads use every core."""
    step = max(1, BLOCK_CELLS // max(draws, 1))
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        blocks = pool.map(answer, [slice(start, start + step) for start in range(0, questions, step)])
        return [a for block in blocks for a in block]


@dataclass(frozen=True)
class Summary(Interval):
    """An :class:`Interval` of draws of which only a share is defined (NaN elsewhere: a ratio or local exponent
    that does not exist for some draws)."""

    share_defined: float = 1.0


def summarise(values: np.ndarray, level: float) -> Summary:
    """Median and equal-tailed ``level`` interval of draws (NaNs ignored, their share reported)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Summary(None, None, None, level, 0.0)
    whole = Interval.of(finite, level)
    return Summary(whole.median, whole.lo, whole.hi, level, float(finite.size / values.size))
