"""The one interface every kind of fit implements, and reading any of them back from a file.

A single-law fit (:class:`~scaling_forecast.law_fit.ScalingLawFit`), a pooled fit
(:class:`~scaling_forecast.pooled.PooledFit`), the hierarchical fit of several families
(:class:`~scaling_forecast.hierarchy.HierarchicalFit`) and the Huber/bootstrap baseline
(:class:`~scaling_forecast.baseline.BaselineFit`) all answer the same question, a new run's
log loss at (N, D, U) as draws (:class:`~scaling_forecast.predictive.Predictive`), report
whether they can be trusted, and save to and load from NetCDF with kind, format and a hash of
their settings (:mod:`scaling_forecast.savedfit`). Backtests take any of them
(:mod:`scaling_forecast.backtest`).
"""

import importlib
from pathlib import Path
from typing import ClassVar, Protocol, Self

import xarray as xr

from scaling_forecast import savedfit
from scaling_forecast.predictive import Predictive


class Checks(Protocol):
    """Whether a fit met its diagnostics, and each missed threshold as a sentence."""

    @property
    def converged(self) -> bool: ...

    def problems(self) -> list[str]: ...

    def as_dict(self) -> dict: ...


class Fitted(Protocol):
    """A fitted posterior (or bootstrap) of any kind."""

    kind: ClassVar[str]

    @property
    def diagnostics(self) -> Checks: ...

    def predictive(self, params, tokens, unique_tokens=None, *, seed: int = 0) -> Predictive: ...

    def save(self, path: str | Path) -> Path: ...

    @classmethod
    def load(cls, path: str | Path) -> Self: ...

    @classmethod
    def from_tree(cls, idata: xr.DataTree, path: Path) -> Self: ...


# The class that reads each kind of saved fit: (module of scaling_forecast, class name).
KIND_CLASSES = {"single": ("law_fit", "ScalingLawFit"), "pooled": ("law_fit", "ScalingLawFit"),
                "hierarchical": ("hierarchy", "HierarchicalFit"), "baseline": ("baseline", "BaselineFit")}


def load(path: str | Path) -> Fitted:
    """Any fit written by scaling-forecast, as the class of its kind (refused with one line when damaged)."""
    idata = savedfit.read(path)
    # Only the kind's own module is imported: the baseline's pulls in SciPy's optimiser, which a law fit's
    # forecasts do not need.
    module, name = KIND_CLASSES[idata.attrs.get("kind", "single")]
    return getattr(importlib.import_module(f"scaling_forecast.{module}"), name).from_tree(idata, Path(path))
