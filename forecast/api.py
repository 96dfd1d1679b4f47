# pyright: strict, reportUnknownMemberType=false, reportUnknownArgumentType=false, reportUnknownVariableType=false, reportUnknownLambdaType=false, reportMissingTypeStubs=false
"""The Python API, in the package's namespace (``import scaling_forecast as sf``): fit a law to runs from a
notebook, load a saved fit, read a registered dataset's runs. What a fit answers (predict, predict_draws,
allocate, plan, plot_frontier, plot_residuals, save) are methods of :class:`Fit`. Input is checked by the rules
the command line applies; bad input raises :class:`scaling_forecast.InputError`, whose message names every bad
row, or the parameter at fault.

The API stands beside the command line: it calls the fitting and answer layers directly, never the command
line's code.

From a CSV of your own runs to a forecast, an allocation and two figures:

>>> import scaling_forecast as sf                                   # doctest: +SKIP
>>> fit = sf.fit("my_runs.csv")                                     # doctest: +SKIP
>>> fit.predict([7e9, 7e10], [1.4e11, 1.4e12])                      # doctest: +SKIP
>>> fit.allocate([1e22, 1e23])                                      # doctest: +SKIP
>>> fit.plot_frontier(), fit.plot_residuals()                       # doctest: +SKIP
"""

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from scaling_forecast.answers import planning
from scaling_forecast.answers.allocation import allocation_table
from scaling_forecast.answers.planning import Plan
from scaling_forecast.core.bounds import bounded_int
from scaling_forecast.core.errors import InputError
from scaling_forecast.core.intervals import LEVEL
from scaling_forecast.fitting.base import Checks, Fitted, Question
from scaling_forecast.fitting.fit_runs import fit_runs
from scaling_forecast.fitting.predictive import Predictive
from scaling_forecast.fitting.settings import RunSelection, SamplerSettings
from scaling_forecast.fitting.single import Pooling, ScalingLawFit
from scaling_forecast.inputs import published, registry
from scaling_forecast.inputs import runs as run_tables
from scaling_forecast.reporting import curves

if TYPE_CHECKING:
    from matplotlib.figure import Figure

type Numbers = float | Sequence[float] | np.ndarray


def dataset(name: str) -> pd.DataFrame:
    """The tidy run table of a registered dataset (``scaling-forecast data list`` names them): one row per
    run and evaluation set, N, D, C and loss in their units (parameters, tokens, FLOP, nats/token).

    >>> import scaling_forecast as sf
    >>> table = sf.dataset("chinchilla-epoch")
    >>> len(table), sorted(table["family"].unique())
    (245, ['chinchilla'])
    """
    return run_tables.load_runs(dataset=name)[0]


def fit(runs: pd.DataFrame | str | Path, *, law: str = "chinchilla", pool: bool | None = None,
        columns: dict[str, str] | None = None, families: Sequence[str] = (), drop_highest_loss: int = 0,
        draws: int = 1000, chains: int = 4, tune: int | None = None, seed: int | None = None,
        progress: bool | None = None) -> "Fit":
    """Fit ``law`` (chinchilla, kaplan, kaplan_e or compute) to ``runs`` and return the fit.

    ``runs``: a DataFrame (a notebook's: params, tokens and loss columns at least, other headers mapped with
    ``columns={"params": "N", ...}``, other columns kept as metadata), the path of such a CSV, or the name of
    a registered dataset. Your runs are pooled with the registered families by default (``pool``, the
    chinchilla law only; the first pooled fit builds the population, 1-2 minutes, then cached); a registered
    dataset is fitted alone. ``pool=True`` with another law, or with a registered dataset, is refused.
    ``families`` and ``drop_highest_loss`` select runs as the command line's flags do; ``tune``: tuning steps
    per chain (None: the kind's default).

    >>> import scaling_forecast as sf
    >>> fit = sf.fit("chinchilla-epoch", drop_highest_loss=5, progress=False)
    >>> fit.describe()
    'chinchilla law (L = E + A*N^-alpha + B*D^-beta) fitted to chinchilla-epoch (240 runs)'
    >>> fit.diagnostics.converged
    True
    """
    draws, chains = bounded_int("draws", draws), bounded_int("chains", chains)  # before any work, as the flags are
    tune = None if tune is None else bounded_int("tune", tune)
    seed = None if seed is None else bounded_int("seed", seed)
    registered = isinstance(runs, str) and runs in registry.datasets()
    if isinstance(runs, pd.DataFrame):
        table = run_tables.runs_from_frame(runs, columns, name="DataFrame")
        source = "DataFrame"
        digest = hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()
    elif registered:
        if columns:
            raise InputError("{columns} names the columns of your own runs; a registered dataset needs none",
                             parameters=("columns",))
        table, source, digest = run_tables.load_runs(dataset=str(runs))
    elif isinstance(runs, str | Path):  # pyright: ignore[reportUnnecessaryIsInstance]: callers may not be typed
        table, source, digest = run_tables.load_runs(runs_file=runs, columns=columns)
    else:
        raise InputError(f"runs: a DataFrame, a CSV path or a registered dataset's name, not {type(runs).__name__}")
    sampler = replace(SamplerSettings(), draws=draws, chains=chains, **({} if seed is None else {"seed": seed}))
    selection = RunSelection(families=tuple(families), drop_highest_loss=drop_highest_loss)
    return Fit(fit_runs(table, source, digest, selection, law, sampler, pool=pool, own_runs=not registered,
                        tune=tune, progress=progress))


def load(path: str | Path) -> "Fit":
    """A fit saved by ``fit.save(path)`` or ``scaling-forecast fit --out`` (any kind), checked as it loads.

    >>> import scaling_forecast as sf, tempfile, os
    >>> fit = sf.fit("chinchilla-epoch", drop_highest_loss=5, progress=False)
    >>> path = fit.save(os.path.join(tempfile.mkdtemp(), "fit.nc"))
    >>> sf.load(path).predict([7e10], [1.4e12]).equals(fit.predict([7e10], [1.4e12]))
    True
    """
    return Fit(Fitted.load(path))


class Fit:
    """A fit as the Python API hands it: the fitted posterior of its kind (``posterior``: a
    :class:`~scaling_forecast.fitting.single.ScalingLawFit`, its pooled subclass, or a hierarchical or baseline
    fit) and the questions asked of it. A question the kind does not answer is refused in one line
    (:class:`InputError`); every kind says what it is (:meth:`describe`), whether it converged
    (:attr:`diagnostics`) and answers :meth:`predictive`.
    """

    def __init__(self, posterior: Fitted):
        self.posterior = posterior

    def __repr__(self) -> str:
        verdict = "converged" if self.diagnostics.converged else "NOT converged: " + "; ".join(self.diagnostics.problems())
        return f"<scaling_forecast.Fit: {self.describe()}; {verdict}>"

    @property
    def kind(self) -> str:
        """single, pooled, hierarchical or baseline."""
        return self.posterior.kind

    @property
    def diagnostics(self) -> Checks:
        return self.posterior.diagnostics

    def describe(self) -> str:
        return self.posterior.describe()

    def predictive(self, params: Numbers, tokens: Numbers, unique_tokens: Numbers | None = None, *,
                   family: str | None = None, seed: int = 0) -> Predictive:
        """A new run's log loss at each (N, D, U) as a mixture over draws (what backtests score)."""
        as_array = np.atleast_1d
        return self.posterior.predictive(as_array(params), as_array(tokens),
                                         None if unique_tokens is None else as_array(unique_tokens),
                                         family=family, seed=seed)

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the fit to NetCDF (``sf.load`` reads it back, checked). Never over the runs file it was fitted to;
        an existing file that scaling-forecast did not write is replaced only with ``force=True``."""
        return self.posterior.save(path, force=force)

    def _law(self, question: Question) -> ScalingLawFit:
        """The law fit behind this one, after its kind was asked whether it answers ``question``."""
        self.posterior.require(question)
        if not isinstance(self.posterior, ScalingLawFit):  # a kind that answers it is a law fit
            raise InputError(f"a {self.kind} fit cannot be asked this")
        return self.posterior

    @property
    def idata(self) -> xr.DataTree:
        """The saved DataTree (ArviZ groups: posterior, sample_stats, constant_data, observed_data, ...)."""
        return self.posterior.to_tree()

    @property
    def attrs(self) -> dict[str, Any]:
        return {str(k): v for k, v in self.idata.attrs.items()}

    @property
    def runs(self) -> pd.DataFrame:
        """The runs the law was fitted to."""
        return self._law("predict").runs

    @property
    def pooling(self) -> Pooling | None:
        """What the population of registered families gave this fit (None: a law fitted alone)."""
        return self._law("predict").pooling

    def parameters(self, level: float = LEVEL) -> dict[str, dict[str, Any]]:
        """Median and equal-tailed ``level`` interval of each law parameter, with units."""
        return self._law("predict").parameters(level)

    def interval_note(self) -> str:
        """What a forecast's interval holds, in words."""
        return self._law("predict").interval_note()

    def predict(self, params: Numbers, tokens: Numbers | None = None, *, compute: Numbers | None = None,
                level: float = LEVEL, seed: int = 0) -> pd.DataFrame:
        """Expected loss and a new run's observed loss (nats/token) at each (N, D), with ``level`` intervals;
        give D as ``tokens`` or as training FLOP ``compute`` (D = C / 6N), not both
        (:meth:`ScalingLawFit.predict <scaling_forecast.fitting.single.ScalingLawFit.predict>`)."""
        return self._law("predict").predict(params, tokens, compute=compute, level=level, seed=seed)

    def predict_draws(self, params: Numbers, tokens: Numbers | None = None, *, compute: Numbers | None = None,
                      seed: int = 0) -> xr.DataArray:
        """Posterior draws of the expected loss (nats/token), dims (point, sample)."""
        return self._law("predict").predict_draws(params, tokens, compute=compute, seed=seed)

    def allocate(self, compute: Numbers, *, level: float = LEVEL) -> pd.DataFrame:
        """The compute-optimal split of each budget (FLOP, C = 6ND): median and ``level`` interval of N_opt,
        D_opt, tokens per parameter and the expected loss there.

        >>> import scaling_forecast as sf
        >>> fit = sf.fit("chinchilla-epoch", drop_highest_loss=5, progress=False)
        >>> row = fit.allocate([5.76e23]).iloc[0]  # Chinchilla's budget: about 70B parameters on 1.4T tokens
        >>> bool(3e10 < row["params_median"] < 1.5e11 and row["params_lo"] < row["params_median"] < row["params_hi"])
        True
        """
        return allocation_table(self._law("allocate").draws, compute, level=level)

    def plan(self, *, params: Sequence[float] = (), tokens: Sequence[float] = (), gpus: int | None = None,
             gpu: str | None = None, days: float | None = None, mfu: float | None = None,
             target_loss: Sequence[float] = (), probabilities: Sequence[float] = (),
             inference_tokens: float | None = None, unique_tokens: Sequence[float] = (),
             compute: float | None = None, level: float = LEVEL, seed: int = 0) -> Plan:
        """The planning answers of ``scaling-forecast plan`` with intervals: the data for a model size
        (``params``), what hardware buys (``gpus``, ``gpu``, ``days``, ``mfu``) and how long given runs take on
        it (``params`` with ``tokens``), the compute a loss needs (``target_loss``, ``probabilities``; with
        ``inference_tokens`` the cheapest run to it counting inference), and what limited unique data support
        (``unique_tokens``, at a budget ``compute``).

        >>> import scaling_forecast as sf
        >>> fit = sf.fit("chinchilla-epoch", drop_highest_loss=5, progress=False)
        >>> answer = fit.plan(params=[7e10])
        >>> bool(1e12 < answer.for_params[0].tokens.median < 3e12)
        True
        """
        return planning.plan(self._law("plan"), list(params), list(tokens),
                             {"gpus": gpus, "gpu": gpu, "days": days, "mfu": mfu},
                             {"losses": list(target_loss), "probabilities": list(probabilities),
                              "inference_tokens": inference_tokens},
                             {"tokens": list(unique_tokens), "compute": compute}, level, seed)

    def plot_frontier(self, compute: Numbers | None = None, *, level: float = LEVEL) -> "Figure":
        """A matplotlib Figure: N_opt(C) and D_opt(C) with their ``level`` bands over ``compute`` (FLOP;
        default 1e18 to 1e27), beside the published frontiers and Chinchilla's own run.

        >>> import scaling_forecast as sf
        >>> fit = sf.fit("chinchilla-epoch", drop_highest_loss=5, progress=False)
        >>> len(fit.plot_frontier().axes)
        2
        """
        from scaling_forecast.reporting.compare_figures import allocation_curves  # matplotlib: on use

        law = self._law("allocate")
        grid = curves.FRONTIER_COMPUTE if compute is None else np.atleast_1d(np.asarray(compute, float))
        fitted = law.runs["compute"]
        return allocation_curves({law.attrs["law"]: curves.frontier(law, grid, level=level)},
                                 curves.published_frontiers(grid), published.chinchilla_run(),
                                 (float(fitted.min()), float(fitted.max())))

    def plot_residuals(self, *, level: float = LEVEL) -> "Figure":
        """A matplotlib Figure: each fitted run's log loss minus the median forecast, against C and N, with
        the noise scale and a new run's ``level`` interval (runs outside it in red).

        >>> import scaling_forecast as sf
        >>> fit = sf.fit("chinchilla-epoch", drop_highest_loss=5, progress=False)
        >>> len(fit.plot_residuals().axes)
        2
        """
        from scaling_forecast.reporting.fit_figures import residual_plots  # matplotlib: on use

        law = self._law("predict")
        return residual_plots(law.runs, curves.residuals_of(law, level=level))
