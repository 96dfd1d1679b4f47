"""The data wall as PyMC models: the stock of human text, and the growth of frontier training runs.

Stock (Villalobos et al. 2024, Section 2): unique usable tokens in year t =
pages x bytes per page / bytes per token x usable fraction, growing by
(pages growth x bytes-per-page growth)^(t - 2024); with repetition, times the
gain from repeating it. Every component is an independent uncertain quantity
(``Component``): no data bear on them, so their posterior is their prior.

Demand: robust regressions of log10 training tokens and log10 training
compute of notable models on publication year; the slopes are the growth
rates of training sets and of training compute.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import ModuleType

import numpy as np
import pymc as pm
from scipy import stats

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
        z = stats.norm.ppf((1 + self.level) / 2)
        return (np.log(lo) + np.log(hi)) / 2, (np.log(hi) - np.log(lo)) / (2 * z)


def _component(name: str, c: Component) -> None:
    """One uncertain quantity as a variable under its own name."""
    if c.value is not None:
        pm.Deterministic(name, pm.math.constant(c.value))
        return
    mu, sigma = c.lognormal()
    if c.bound is None:
        pm.LogNormal(name, mu, sigma)
    else:
        # Truncated at the bound, so the quantity stays positive (the untruncated tail past it holds 0.1%).
        below = pm.Truncated(f"{name}_below_bound", pm.LogNormal.dist(mu, sigma), upper=c.bound)
        pm.Deterministic(name, c.bound - below)


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


@dataclass(frozen=True)
class TrendPriors:
    """Priors of each regression of log10 size on year (centred on the mean year).

    - growth (orders of magnitude per year) ~ N(0, 1): from shrinking to growing 100x a year
    - level (log10 size at the mean year) ~ N(mean of the data, 3)
    - scatter of models around the trend (orders of magnitude) ~ HalfNormal(1)
    - nu ~ Gamma(2, 0.1): Student-t tails, so a few tiny research models do not tilt the trend
    """

    growth_sigma: float = 1.0
    level_sigma: float = 3.0
    scatter_sigma: float = 1.0
    nu_alpha: float = 2.0
    nu_beta: float = 0.1


def components_model(components: Mapping[str, Component]) -> pm.Model:
    """The uncertain components, one variable each under its own name. No data bear on them: draw
    them exactly with ``pm.sample_prior_predictive`` (NUTS on the truncated one diverged now and then)."""
    with pm.Model() as model:
        for name, c in components.items():
            _component(name, c)
    return model


def trend_model(series: Mapping[str, tuple[np.ndarray, np.ndarray]], priors: TrendPriors = TrendPriors()) -> pm.Model:
    """A robust regression per named series of (year, log10 size): variables ``{name}_growth`` (orders of
    magnitude per year), ``{name}_level``, ``{name}_scatter`` and ``{name}_nu``."""
    with pm.Model() as model:
        for name, (year, log10_size) in series.items():
            year, y = np.asarray(year, float), np.asarray(log10_size, float)
            growth = pm.Normal(f"{name}_growth", 0.0, priors.growth_sigma)
            level = pm.Normal(f"{name}_level", y.mean(), priors.level_sigma)
            scatter = pm.HalfNormal(f"{name}_scatter", priors.scatter_sigma)
            nu = pm.Gamma(f"{name}_nu", priors.nu_alpha, priors.nu_beta)
            pm.StudentT(f"log10_{name}", nu=nu, mu=level + growth * (year - year.mean()), sigma=scatter, observed=y)
    return model
