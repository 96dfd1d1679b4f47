"""Backtests: fit below a compute cutoff, forecast the held-out larger runs, score the forecasts.

Per family the runs with the largest compute (default: the top 20%) are held
out, and each method given (:class:`Method`: how to fit training runs into any
:class:`~scaling_forecast.fitting.base.Fitted`) forecasts them from the same training
runs. The in-family defaults (:func:`in_family_methods`):

- ``hierarchical``: one fit of the hierarchical model to every family's training runs;
- ``per_family``: the Chinchilla-law Bayesian fit to that family's training runs alone;
- ``baseline``: Hoffmann/Besiroglu's Huber fit with bootstrap refits
  (:class:`~scaling_forecast.fitting.baseline.BaselineFit`);
- ``few_shot_<k>``: a family keeps only its k smallest-compute runs, the other families
  keep all theirs, and the hierarchical fit forecasts the family's held-out runs.

Leave-one-family-out (:func:`leave_one_family_out`) runs the user's path instead
(:func:`user_path_methods`): each family in turn is new, the others its population.

Every fit is an independent job (``scaling_forecast.fitting.parallel.run_jobs``: local
processes, or a dask cluster). Scores are computed on the log-loss scale
the same way for every method (``scaling_forecast.fitting.predictive.Predictive``).
"""

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from scaling_forecast.fitting.base import Fitted
from scaling_forecast.fitting.hierarchical import SAMPLER as HIERARCHICAL
from scaling_forecast.fitting.hierarchical import HierarchicalFit
from scaling_forecast.fitting.parallel import run_jobs
from scaling_forecast.fitting.pooled import SAMPLER as POOLED
from scaling_forecast.fitting.pooled import PooledFit, load_population
from scaling_forecast.fitting.population import Population
from scaling_forecast.fitting.predictive import Predictive
from scaling_forecast.fitting.settings import SamplerSettings
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.inputs.splits import HOLDOUT, smallest, split

LEVELS = (0.5, 0.8, 0.95)
FEW_SHOT = (3, 5, 8)
BOOTSTRAP = 1000  # refits per baseline fit: its 95% interval ends rest on 25 resamples each
LOFO_HOLDOUT = 1 / 3  # leave-one-family-out: the family's top third of configurations by compute is forecast
LOFO_FEW = 5  # ... and, in a second variant, from only its 5 smallest runs


def scores(predictive: Predictive, loss: np.ndarray, *, seed: int = 0) -> dict:
    """Median absolute and signed percentage error of the predictive median (signed: forecast minus actual,
    positive = forecast too high), coverage and mean width per level, mean lpd; the per-run signed errors
    (%) in ``errors``, so that medians can be taken over runs pooled across families."""
    loss = np.asarray(loss, float)
    errors = (predictive.median(seed) - loss) / loss * 100
    out = {"n_test": int(loss.size), "mape": float(np.median(np.abs(errors))), "bias": float(np.median(errors)),
           "lpd": float(predictive.log_density(loss).mean()), "errors": errors.tolist()}
    for level in LEVELS:
        lo, hi = predictive.interval(level, seed)
        out[f"coverage_{level:g}"] = float(((loss >= lo) & (loss <= hi)).mean())
        out[f"width_{level:g}"] = float((hi - lo).mean())
    return out


@dataclass(frozen=True)
class Setting:
    """What a method is told about one fold: the family forecast (``None``: every family of a joint fit),
    the sampler settings, and the population of the other families (leave-one-family-out only)."""

    family: str | None
    sampler: SamplerSettings
    population: Population | None = None


@dataclass(frozen=True)
class Method:
    """One way to forecast held-out runs: ``fit(train, setting)`` returns any fit with ``predictive`` and
    ``diagnostics`` (:class:`scaling_forecast.fitting.base.Fitted`).

    ``fit`` must be a module-level function, so that worker processes can import it. ``joint``: fitted
    to every family's training runs at once and asked for each family by name (``predictive(...,
    family=...)``); otherwise fitted to one family's. ``few``: the family forecast keeps only its ``few``
    smallest-compute training runs. ``population``: needs the population of the other families.
    """

    label: str
    fit: Callable[[pd.DataFrame, Setting], Fitted]
    joint: bool = False
    few: int | None = None
    population: bool = False


def fit_hierarchical(train: pd.DataFrame, setting: Setting) -> Fitted:
    """The hierarchical model on every family's runs, with its own tuning and step size."""
    settings = replace(setting.sampler, tune=HIERARCHICAL.tune, target_accept=HIERARCHICAL.target_accept,
                       maxdepth=HIERARCHICAL.maxdepth)
    return HierarchicalFit.fit(train, sampler=settings, progress=False)


def fit_alone(train: pd.DataFrame, setting: Setting) -> Fitted:
    """The Chinchilla law fitted to the family's runs alone (``fit --no-pool``)."""
    return ScalingLawFit.fit(train, source=setting.family, source_sha256="-", sampler=setting.sampler, progress=False)


def fit_pooled(train: pd.DataFrame, setting: Setting) -> Fitted:
    """The family's runs under the population of the others (``fit --runs``, the default)."""
    sampler = replace(POOLED, draws=setting.sampler.draws, seed=setting.sampler.seed)
    return PooledFit.fit(train, source=setting.family, source_sha256="-", population=setting.population,
                         sampler=sampler, progress=False)


def fit_baseline(train: pd.DataFrame, setting: Setting) -> Fitted:
    """Hoffmann/Besiroglu's Huber fit with ``BOOTSTRAP`` bootstrap refits."""
    from scaling_forecast.fitting.baseline import BaselineFit  # SciPy's optimiser: only when a backtest runs it

    return BaselineFit.fit(train, n_boot=BOOTSTRAP, seed=setting.sampler.seed)


def in_family_methods(few_shot: tuple[int, ...] = FEW_SHOT) -> tuple[Method, ...]:
    """The in-family backtest's methods: the hierarchical fit, the law alone, the baseline, and the
    hierarchical fit with the family cut to each of ``few_shot`` runs."""
    return (Method("hierarchical", fit_hierarchical, joint=True), Method("per_family", fit_alone),
            Method("baseline", fit_baseline),
            *(Method(f"few_shot_{k}", fit_hierarchical, joint=True, few=k) for k in few_shot))


def user_path_methods(few: int | None = LOFO_FEW) -> tuple[Method, ...]:
    """The leave-one-family-out methods: the pooled fit (the default user fit), the law alone, the
    baseline, and with ``few`` the pooled fit from only the family's ``few`` smallest runs."""
    pooled = Method("pooled", fit_pooled, population=True)
    return (pooled, Method("per_family", fit_alone), Method("baseline", fit_baseline),
            *((replace(pooled, label=f"pooled_few_{few}", few=few),) if few else ()))


def _fold(method: Method, train: pd.DataFrame, test: pd.DataFrame, families: list[str], setting: Setting) -> list[dict]:
    """Fit ``method`` to ``train`` and score its forecasts of each family's runs in ``test``: one row each.

    Module-level, so that local processes and dask workers can import it."""
    fitted = method.fit(train, setting)
    checks = fitted.diagnostics
    rows = []
    for family in families:
        held = test[test["family"] == family]
        predictive = fitted.predictive(held["params"], held["tokens"], held["unique_tokens"].fillna(held["tokens"]),
                                       family=family)
        rows.append({"family": family, "method": method.label, "n_train": int((train["family"] == family).sum())}
                    | scores(predictive, held["loss"].to_numpy())
                    | {"converged": checks.converged, "problems": "; ".join(checks.problems())})
    return rows


def _folds(train: pd.DataFrame, test: pd.DataFrame, family: str, methods: tuple[Method, ...],
           setting: Setting) -> list[tuple]:
    """The jobs of ``methods`` for one family (joint methods without ``few`` are one job for all families)."""
    jobs = []
    for method in methods:
        if method.joint and method.few is None:
            continue
        own = smallest(train, family, method.few) if method.few else train
        jobs.append((method, own if method.joint else own[own["family"] == family], test[test["family"] == family],
                     [family], replace(setting, family=family)))
    return jobs


def backtest(runs: pd.DataFrame, methods: tuple[Method, ...] | None = None, *, holdout: float = HOLDOUT,
             sampler: SamplerSettings = SamplerSettings(), workers: int | None = None,
             scheduler: str | None = None, progress: bool | None = None) -> pd.DataFrame:
    """Every method (default :func:`in_family_methods`) on every family of ``runs``, each family's largest
    ``holdout`` of configurations held out: one row per (family, method). ``progress``: a line on stderr per
    finished fit (None: when stderr is a terminal)."""
    methods = in_family_methods() if methods is None else methods
    train, test = split(runs, holdout)
    families = list(dict.fromkeys(runs["family"]))
    setting = Setting(None, sampler)
    jobs = [(m, train, test, families, setting) for m in methods if m.joint and m.few is None]
    for family in families:
        jobs += _folds(train, test, family, methods, setting)
    return _rows(jobs, workers, scheduler, progress)


def leave_one_family_out(runs: pd.DataFrame, families: tuple[str, ...] = (), methods: tuple[Method, ...] | None = None,
                         *, holdout: float = LOFO_HOLDOUT, sampler: SamplerSettings = SamplerSettings(),
                         workers: int | None = None, scheduler: str | None = None, gadre_eval: str | None = None,
                         progress: bool | None = None) -> pd.DataFrame:
    """The user's path on each family of ``runs`` (or each of ``families``) as if it were new: one row per
    (family, method) of ``methods`` (default :func:`user_path_methods`).

    For each family: the other families of ``runs`` are the population (built, or read from the cache, as
    ``fit --runs`` does), the family's runs below its top ``holdout`` of configurations by compute are
    the user's CSV, the rest are forecast.
    """
    methods = user_path_methods() if methods is None else methods
    every = list(dict.fromkeys(runs["family"]))
    jobs = []
    for family in families or every:
        others = tuple(f for f in every if f != family)
        population = load_population(others, gadre_eval=gadre_eval, progress=progress) \
            if any(m.population for m in methods) else None
        train, test = split(runs[runs["family"] == family], holdout)
        jobs += _folds(train, test, family, methods, Setting(family, sampler, population))
    return _rows(jobs, workers, scheduler, progress)


def _rows(jobs: list[tuple], workers: int | None, scheduler: str | None, progress: bool | None) -> pd.DataFrame:
    label = "backtest" if (sys.stderr.isatty() if progress is None else progress) else None
    results = run_jobs(_fold, jobs, workers=workers, scheduler=scheduler, progress=label)
    return pd.DataFrame([row for rows in results for row in rows])


def pooled(table: pd.DataFrame) -> pd.DataFrame:
    """Per method, held-out runs pooled over families: coverage and width weighted by runs, median of
    family MAPEs, and the median absolute and signed error over all held-out runs."""
    def summary(group: pd.DataFrame) -> pd.Series:
        w = group["n_test"]
        errors = np.concatenate(group["errors"].to_list())
        out = {"families": len(group), "n_test": int(w.sum()), "mape_median_over_families": group["mape"].median(),
               "mape_runs": float(np.median(np.abs(errors))), "bias_runs": float(np.median(errors)),
               "lpd": float((group["lpd"] * w).sum() / w.sum())}
        for level in LEVELS:
            for what in ("coverage", "width"):
                out[f"{what}_{level:g}"] = float((group[f"{what}_{level:g}"] * w).sum() / w.sum())
        return pd.Series(out)

    return table.groupby("method", sort=False).apply(summary, include_groups=False).reset_index()
