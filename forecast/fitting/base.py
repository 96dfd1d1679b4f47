# pyright: strict, reportUnknownMemberType=false, reportUnknownArgumentType=false, reportUnknownVariableType=false, reportUnknownLambdaType=false, reportMissingTypeStubs=false
"""The one base class every kind of fit derives from, the registry of kinds, and reading any fit back.

A law fitted alone (:class:`~scaling_forecast.fitting.single.ScalingLawFit`, kind ``single``), pooled with the
registered families (:class:`~scaling_forecast.fitting.pooled.PooledFit`, ``pooled``), the hierarchical model of
several families (:class:`~scaling_forecast.fitting.hierarchical.HierarchicalFit`, ``hierarchical``) and the
Huber/bootstrap baseline (:class:`~scaling_forecast.fitting.baseline.BaselineFit`, ``baseline``) all answer one
question, a new run's log loss at (N, D, U) as draws (:meth:`Fitted.predictive`), say whether they can be
trusted (:attr:`Fitted.diagnostics`), and save to and load from NetCDF with their kind, format and a hash of their
settings (:mod:`~scaling_forecast.fitting.savedfit`). Each kind names the questions it answers
(:attr:`Fitted.questions`); asking another is refused in one line (:meth:`Fitted.require`), so no caller needs
to branch on the kind.
"""

import functools
import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, Self

import numpy as np
import pandas as pd
import xarray as xr

from scaling_forecast.core.errors import InputError
from scaling_forecast.fitting import savedfit
from scaling_forecast.fitting.predictive import Predictive

# What a user can ask of a fit: forecasts (predict, and report's forecasts), the compute-optimal split and the
# planning questions (allocate, plan, the data wall), and scoring held-out runs (backtest).
# Numbers as a question gives them: one, a sequence, an array or a column of a table.
type Values = float | Sequence[float] | np.ndarray | pd.Series

type Question = Literal["predict", "allocate", "plan", "backtest"]
QUESTION_WORDS: dict[str, str] = {"predict": "forecast loss", "allocate": "split a compute budget",
                                  "plan": "answer planning questions", "backtest": "forecast held-out runs"}

# The module that defines each kind's class, imported only when a file of that kind is read: the baseline's
# module imports SciPy's optimiser, which forecasts from a law fit do not need.
KIND_MODULES: dict[str, str] = {"single": "scaling_forecast.fitting.single", "pooled": "scaling_forecast.fitting.pooled",
                                "hierarchical": "scaling_forecast.fitting.hierarchical",
                                "baseline": "scaling_forecast.fitting.baseline"}


class Checks(Protocol):
    """Whether a fit met its diagnostics, and each missed threshold as a sentence."""

    @property
    def converged(self) -> bool: ...

    def problems(self) -> list[str]: ...

    def as_dict(self) -> dict[str, Any]: ...


class Fitted(ABC):
    """A fitted posterior (or bootstrap) of any kind: what every fit answers and how it is saved and read back.

    A subclass sets ``kind`` (a key of :data:`KIND_MODULES`) and ``questions``, and implements
    :meth:`predictive`, :attr:`diagnostics`, :meth:`describe`, :meth:`to_tree` and, for reading a saved tree back,
    :meth:`problem` (the kind's own checks) and :meth:`from_checked_tree`.
    """

    kind: ClassVar[str]
    questions: ClassVar[frozenset[Question]]
    _kinds: ClassVar[dict[str, type["Fitted"]]] = {}

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if cls.kind not in KIND_MODULES:
            raise TypeError(f"{cls.__name__}: kind {cls.kind!r} is not one of {sorted(KIND_MODULES)}")
        Fitted._kinds[cls.kind] = cls

    @functools.cached_property
    def diagnostics(self) -> Checks:
        """Whether the fit can be trusted (a result of a fit that is not is shown only flagged): computed once,
        by the kind's :meth:`diagnose`."""
        return self.diagnose()

    @abstractmethod
    def diagnose(self) -> Checks:
        """R-hat, ESS, divergences and BFMI (or a baseline's own convergence checks) for this fit."""

    @abstractmethod
    def predictive(self, params: Values, tokens: Values, unique_tokens: Values | None = None, *,
                   family: str | None = None, seed: int = 0) -> Predictive:
        """A new run's log loss at each (N, D, U) as a mixture over draws. ``family``: which of a joint fit's
        families (None: a family not yet seen); a fit of one family's runs forecasts that family."""

    @abstractmethod
    def describe(self) -> str:
        """What was fitted to which runs, in words."""

    @abstractmethod
    def to_tree(self) -> xr.DataTree:
        """Everything the fit is, as one DataTree (posterior, sample statistics, data, settings as attributes)."""

    @classmethod
    @abstractmethod
    def problem(cls, idata: xr.DataTree) -> str | None:
        """Why a DataTree of this kind is not a complete, sane fit (one sentence), or None."""

    @classmethod
    @abstractmethod
    def from_checked_tree(cls, idata: xr.DataTree) -> Self:
        """The fit a DataTree holds that :meth:`problem` found nothing wrong with."""

    def require(self, question: Question) -> None:
        """Refuse, in one line, a question this kind of fit does not answer."""
        if question not in self.questions:
            can = ", ".join(QUESTION_WORDS[q] for q in sorted(self.questions))
            raise InputError(f"a {self.kind} fit ({self.describe()}) cannot {QUESTION_WORDS[question]}; it can {can}")

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the fit to NetCDF by the output policy, with its kind, format, version and hashes: never over the
        runs file it was fitted to, and over a file the product did not write only with ``force``."""
        tree = self.to_tree()
        source = str(tree.attrs.get("dataset", ""))
        return savedfit.write(tree, path, inputs=[source] if source and Path(source).is_file() else [], force=force)

    @classmethod
    def load(cls, path: str | Path, question: Question | None = None) -> Self:
        """A fit written by :meth:`save` (or ``scaling-forecast fit --out``), as the class of its kind, checked
        in full; refused with one line when damaged, when its kind does not answer ``question``, or when it is
        not a ``cls`` (``Fitted.load``: any kind)."""
        return cls.from_tree(savedfit.read(path), Path(path), question)

    @classmethod
    def from_tree(cls, idata: xr.DataTree, path: Path, question: Question | None = None) -> Self:
        """The fit a DataTree read from ``path`` holds, as the class of its kind, after that kind's checks."""
        kind_class = kind_of(idata.attrs.get("kind", "single"))
        if problem := kind_class.problem(idata):
            raise InputError(f"{path}: {problem}")
        fitted = kind_class.from_checked_tree(idata)
        if question is not None:
            try:
                fitted.require(question)
            except InputError as err:
                raise InputError(f"{path}: {err}") from None
        if not isinstance(fitted, cls):
            raise InputError(f"{path}: a {fitted.kind} fit; this needs a {' or '.join(cls.kinds())} fit")
        return fitted

    @classmethod
    def kinds(cls) -> list[str]:
        """The kinds whose class is ``cls`` or derives from it."""
        return [kind for kind in KIND_MODULES if issubclass(kind_of(kind), cls)]


def kind_of(kind: str) -> type[Fitted]:
    """The class of a kind of fit, its module imported on first use."""
    if kind not in KIND_MODULES:
        raise InputError(f"a fit of unknown kind {kind!r} (this version reads {', '.join(map(repr, KIND_MODULES))})")
    importlib.import_module(KIND_MODULES[kind])
    return Fitted._kinds[kind]  # pyright: ignore[reportPrivateUsage]: the registry is this module's own


def load(path: str | Path) -> Fitted:
    """Any fit written by scaling-forecast, as the class of its kind (refused with one line when damaged)."""
    return Fitted.load(path)
