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

import numpy as np
import pymc as pm

from scaling_forecast.models.priors import TrendPriors
from scaling_forecast.models.stock import Component


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
