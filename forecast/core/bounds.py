"""Every number a user gives, bounded where it enters: one table, one check.

The command line's option types (``cli.options.Bounded``), the Python API, the engine's answers, and the readers of
run files, grids and caches all check a quantity against its row of :data:`BOUNDS`, so ``--mfu 1e-300``,
``allocate([1e300])`` and a NaN anywhere are refused in one line naming the value, instead of answered. A bound is
either a plausible range (below it a value is almost surely in other units, above it beyond anything trained so
far by orders of magnitude) or the range in which the quantity means something (a probability, an interval level).
"""

import math
from dataclasses import dataclass

import numpy as np

from scaling_forecast.core.errors import InputError


@dataclass(frozen=True)
class Bound:
    """The closed range [low, high] of one quantity (open at an end where ``open_low``/``open_high``), what a value
    outside it usually means (``hint``; ``units``: below the range, a unit mix-up), and whether it counts
    something (``integer``)."""

    low: float
    high: float
    hint: str = ""
    open_low: bool = False
    open_high: bool = False
    integer: bool = False
    units: bool = False

    def problem(self, name: str, value: float) -> str | None:
        """Why ``value`` cannot be this quantity (a sentence starting with ``name=value``), or None."""
        if not math.isfinite(value):
            return f"{name}={value} is not finite"
        if self.integer and value != int(value):
            return f"{name}={value:g} must be a whole number"
        if value <= 0 and (self.low > 0 or self.open_low):
            return f"{name}={value:g} must be > 0"
        below = value <= self.low if self.open_low else value < self.low
        above = value >= self.high if self.open_high else value > self.high
        if not (below or above):
            return None
        side, limit = ("below", self.low) if below else ("above", self.high)
        if (below and self.open_low) or (above and self.open_high):
            side = "at or " + side
        hint = f": {self.hint}" if self.hint else ""
        if below and self.units:
            hint = f": mixed units? {self.hint}"
        return f"{name}={value:g} is {side} {limit:g}{hint}"


_COUNT = "give a raw count ({}), not {}"
BOUNDS: dict[str, Bound] = {
    # A run's quantities (run files, grids, query points): plausible ranges.
    "params": Bound(1e4, 1e15, _COUNT.format("7e9", "billions"), units=True),
    "params_nonembedding": Bound(1e3, 1e15, "give a raw count, not millions or billions", units=True),
    "tokens": Bound(1e5, 1e17, _COUNT.format("1.4e12", "billions"), units=True),
    "unique_tokens": Bound(1e5, 1e17, "give a raw count, not billions", units=True),
    "compute": Bound(1e10, 1e32, "give FLOP, not PF-days", units=True),
    # Loss per token in nats: beyond 20 is beyond a uniform guess over a 10^8-token vocabulary.
    "loss": Bound(0.0, 20.0, "give the per-token loss in nats, not a perplexity or percentage", open_low=True),
    "target_loss": Bound(0.0, 20.0, "a per-token loss in nats on the fit's scale", open_low=True),
    # Probabilities and levels: strictly inside (0, 1).
    "level": Bound(0.0, 1.0, "an interval level is a probability such as 0.9", open_low=True, open_high=True),
    "probability": Bound(0.0, 1.0, "a probability such as 0.9", open_low=True, open_high=True),
    "holdout": Bound(0.0, 1.0, "a share of each family's configurations, such as 0.2", open_low=True, open_high=True),
    # Hardware and serving (plan): below 1% MFU no published run; a million accelerators for ten years is beyond any.
    "mfu": Bound(0.01, 1.0, "model FLOP utilisation is a share of peak, published runs 0.2-0.6"),
    "gpus": Bound(1, 1e7, "a count of accelerators", integer=True),
    "days": Bound(1 / 24, 3650, "days of training, from an hour to ten years"),
    "inference_tokens": Bound(1e6, 1e20, _COUNT.format("2e13", "billions"), units=True),
    # The data wall and repeated data.
    "words_per_token": Bound(0.1, 10, "words per token of English text is about 0.75"),
    "overtrain": Bound(1, 1000, "a multiple of the compute-optimal tokens per parameter"),
    "r_star": Bound(0.1, 1000, "Muennighoff et al.'s R*_D is about 15"),
    "flops_per_param_token": Bound(1, 100, "6 for training"),
    # The sampler: nutpie takes unsigned 32-bit seeds; more draws than this only fill memory.
    "draws": Bound(100, 100_000, "draws per chain", integer=True),
    "tune": Bound(100, 100_000, "tuning steps per chain", integer=True),
    "chains": Bound(2, 64, "at least 2 chains, for R-hat", integer=True),
    "seed": Bound(0, 2**32 - 1, "an unsigned 32-bit seed", integer=True),
    "workers": Bound(1, 1024, "worker processes", integer=True),
    "dpi": Bound(50, 1200, "resolution of PNG figures", integer=True),
    "ladder_size": Bound(3, 20, "runs in a ladder", integer=True),
    "few_shot": Bound(1, 1000, "runs a few-shot fit keeps", integer=True),
}


def problem(name: str, value: float) -> str | None:
    """Why ``value`` cannot be the quantity ``name`` (a row of :data:`BOUNDS`), or None."""
    return BOUNDS[name].problem(name, float(value))


def bounded(name: str, values: object, *, parameter: str | None = None) -> np.ndarray:
    """``values`` as a 1-D float array, each within the bounds of ``name``; else an InputError naming the caller's
    ``parameter`` (default ``name``; the command line words it as its flag) and the first value refused."""
    array = np.atleast_1d(np.asarray(values, float))
    for value in array.ravel():
        if (why := problem(name, value)) is not None:
            parameter = parameter or name
            raise InputError("{" + parameter + "}" + why[len(name):], parameters=(parameter,))
    return array


def bounded_int(name: str, value: object, *, parameter: str | None = None) -> int:
    """One whole-number setting (draws, chains, seed...) within the bounds of ``name``."""
    return int(bounded(name, value, parameter=parameter)[0])
