"""Intervals of posterior draws: the probabilities of an equal-tailed interval, fast quantiles, and
:class:`Interval`, the one form in which a summary of draws is reported (JSON, text and HTML)."""

from dataclasses import asdict, dataclass

import numpy as np

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
    if not 0 < level < 1:
        raise ValueError(f"interval level must be between 0 and 1, got {level}")
    tail = (1 - level) / 2
    return [tail, 0.5, 1 - tail]


def interval(values: np.ndarray, level: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed interval holding ``level`` of the mass."""
    low, _, high = band(level)
    lo, hi = np.quantile(values, [low, high], axis=axis)
    return lo, hi


def quantiles(values: np.ndarray, probs: list[float]) -> np.ndarray:
    """Quantiles along the last axis (linear interpolation, as numpy's default).

    A single partition at the needed order statistics is several times faster
    than ``np.quantile`` over many rows, which is what makes 10,000-point grids cheap.
    """
    size = values.shape[-1]
    positions = np.asarray(probs) * (size - 1)
    below = np.floor(positions).astype(int)
    above = np.minimum(below + 1, size - 1)
    ordered = np.partition(values, np.unique(np.concatenate([below, above])), axis=-1)
    weight = positions - below
    return (ordered[..., below] * (1 - weight) + ordered[..., above] * weight).T
