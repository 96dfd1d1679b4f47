"""The stock of human text as plain numbers (Villalobos et al. 2024, Section 2): its uncertain components and
its size in a given year.

Apart from the PyMC models (``datawall``) so that the data wall's curves and answers need no PyMC.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from statistics import NormalDist
from types import ModuleType

import numpy as np

BASE_YEAR = 2024.0  # the stock components and the frontier's starting sizes describe 2024-01-01
STOCK = ("indexed_pages", "bytes_per_page", "bytes_per_token", "usable_fraction")
GROWTH = ("pages_growth_per_year", "bytes_per_page_growth_per_year")



@dataclass(frozen=True)
class Component:
    """A positive uncertain quantity: lognormal whose central ``level`` interval is [low, high].

    With ``bound``: bound minus such a lognormal, fitted to [bound - high, bound - low] and truncated at
    the bound (Villalobos et al.'s bytes per token: median 4, between 0 and 6). With ``value``: exactly that value.
    """

    low: float
    high: float
    level: float = 0.95
    bound: float | None = None
    value: float | None = None

    def fixed(self, value: float) -> "Component":
        """The same quantity set to ``value``."""
        return replace(self, value=float(value))

    def lognormal(self) -> tuple[float, float]:
        """mu and sigma of the lognormal (of bound - x when bounded)."""
        lo, hi = (self.low, self.high) if self.bound is None else (self.bound - self.high, self.bound - self.low)
        z = NormalDist().inv_cdf((1 + self.level) / 2)
        return (np.log(lo) + np.log(hi)) / 2, (np.log(hi) - np.log(lo)) / (2 * z)


def log_stock(values: Mapping[str, np.ndarray], year, *, repetition: bool, xp: ModuleType = np):
    """Natural log of the stock of usable tokens in ``year`` (x the repetition gain when ``repetition``)."""
    log_now = (xp.log(values["indexed_pages"]) + xp.log(values["bytes_per_page"]) - xp.log(values["bytes_per_token"])
               + xp.log(values["usable_fraction"]))
    if repetition:
        log_now = log_now + xp.log(values["repetition_gain"])
    return log_now + (year - BASE_YEAR) * log_stock_growth(values, xp=xp)


def log_stock_growth(values: Mapping[str, np.ndarray], xp: ModuleType = np):
    """Natural log of the stock's growth factor per year."""
    return xp.log(values["pages_growth_per_year"]) + xp.log(values["bytes_per_page_growth_per_year"])
