"""Backtests: fit below a compute cutoff, forecast the held-out larger runs, score the forecasts.

Per family the runs with the largest compute (default: the top 20%) are held
out. Three methods forecast them from the same training runs:

- ``hierarchical``: one fit of the hierarchical model to every family's training runs;
- ``per_family``: the Chinchilla-law Bayesian fit to that family's training runs alone;
- ``baseline``: Hoffmann/Besiroglu's Huber fit with bootstrap refits; its predictive for a
  new run is the bootstrap curves times Gaussian noise of the fit's robust residual scale
  (1.4826 x median absolute log residual), since the bootstrap alone describes the curve,
  not a run.

Few-shot: a family keeps only its k smallest-compute runs, the other families
keep all theirs, and the hierarchical fit forecasts the family's held-out runs.

Every fit is an independent job (``scaling_forecast.parallel.run_jobs``: local
processes, or a dask cluster). Scores are computed on the log-loss scale
the same way for every method (``scaling_forecast.predictive.Predictive``).
"""

from dataclasses import replace

import numpy as np
import pandas as pd

from scaling_forecast.families import CONFIGURATION
from scaling_forecast.fit_settings import SamplerSettings
from scaling_forecast.parallel import run_jobs
from scaling_forecast.predictive import Predictive
from scaling_forecast.runs import compute_of

LEVELS = (0.5, 0.8, 0.95)
HOLDOUT = 0.2
FEW_SHOT = (3, 5, 8)
METHODS = ("hierarchical", "per_family", "baseline")
BOOTSTRAP = 1000  # refits per baseline fit: its 95% interval ends rest on 25 resamples each
LOFO_HOLDOUT = 1 / 3  # leave-one-family-out: the family's top third of configurations by compute is forecast
LOFO_FEW = 5  # ... and, in a second variant, from only its 5 smallest runs


def split(runs: pd.DataFrame, holdout: float = HOLDOUT) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per family, hold out the configurations with the largest compute (at least one), seeds together."""
    held = []
    for _, table in runs.groupby("family", sort=False):
        compute = compute_of(table)  # a user's runs file may leave compute to 6ND
        configs = compute.groupby([table[c] for c in CONFIGURATION], dropna=False, sort=False).max().sort_values()
        n_out = max(1, int(round(holdout * len(configs))))
        cutoff = configs.iloc[-n_out]
        held.append(table.index[compute >= cutoff])
    test = runs.loc[np.concatenate(held)]
    return runs.drop(test.index), test


def smallest(runs: pd.DataFrame, family: str, k: int) -> pd.DataFrame:
    """``runs`` with ``family`` cut to its k smallest-compute runs."""
    own = runs[runs["family"] == family].nsmallest(k, "compute")
    return pd.concat([runs[runs["family"] != family], own])


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


def _hierarchical_job(train: pd.DataFrame, test: pd.DataFrame, families: list[str], sampler: SamplerSettings,
                      label: str) -> list[dict]:
    from scaling_forecast.hierarchy import SAMPLER, HierarchicalFit

    settings = replace(sampler, tune=SAMPLER.tune, target_accept=SAMPLER.target_accept, maxdepth=SAMPLER.maxdepth)
    fitted = HierarchicalFit.fit(train, sampler=settings, progress=False)
    rows = []
    for family in families:
        held = test[test["family"] == family]
        predictive = fitted.predictive(family, held["params"], held["tokens"], held["unique_tokens"].fillna(held["tokens"]))
        rows.append({"family": family, "method": label, "n_train": int((train["family"] == family).sum())}
                    | scores(predictive, held["loss"].to_numpy()) | _converged(fitted.diagnostics))
    return rows


def _per_family_job(train: pd.DataFrame, test: pd.DataFrame, family: str, sampler: SamplerSettings,
                    label: str = "per_family") -> list[dict]:
    from scaling_forecast.fit import ScalingLawFit

    fitted = ScalingLawFit.fit(train, source=family, source_sha256="-", sampler=sampler, progress=False)
    return [{"family": family, "method": label, "n_train": len(train)}
            | scores(fitted.predictive(test["params"], test["tokens"]), test["loss"].to_numpy())
            | _converged(fitted.diagnostics)]


def _pooled_job(train: pd.DataFrame, test: pd.DataFrame, family: str, population, sampler: SamplerSettings,
                label: str) -> list[dict]:
    from scaling_forecast.pooled import PooledFit

    fitted = PooledFit.fit(train, source=family, source_sha256="-", population=population, sampler=sampler,
                           progress=False)
    predictive = fitted.predictive(test["params"], test["tokens"], test["unique_tokens"].fillna(test["tokens"]))
    return [{"family": family, "method": label, "n_train": len(train)}
            | scores(predictive, test["loss"].to_numpy()) | _converged(fitted.diagnostics)]


def _baseline_job(train: pd.DataFrame, test: pd.DataFrame, family: str, seed: int) -> list[dict]:
    from scaling_forecast.baseline import BaselineFit

    fitted = BaselineFit.fit(train, n_boot=BOOTSTRAP, seed=seed)
    return [{"family": family, "method": "baseline", "n_train": len(train)}
            | scores(fitted.predictive(test["params"], test["tokens"]), test["loss"].to_numpy())
            | {"converged": fitted.converged, "problems": ""}]


def _converged(diagnostics) -> dict:
    return {"converged": diagnostics.converged, "problems": "; ".join(diagnostics.problems())}


def _run(job: str, *arguments) -> list[dict]:
    """One job by name: module-level, so local processes and dask workers can import it."""
    jobs = {"hierarchical": _hierarchical_job, "per_family": _per_family_job, "baseline": _baseline_job,
            "pooled": _pooled_job}
    return jobs[job](*arguments)


def backtest(runs: pd.DataFrame, *, holdout: float = HOLDOUT, few_shot: tuple[int, ...] = FEW_SHOT,
             sampler: SamplerSettings = SamplerSettings(), workers: int | None = None,
             scheduler: str | None = None) -> pd.DataFrame:
    """Every method on every family, and the few-shot hierarchical forecasts: one row per (family, method)."""
    train, test = split(runs, holdout)
    families = list(dict.fromkeys(runs["family"]))
    jobs = [("hierarchical", train, test, families, sampler, "hierarchical")]
    for family in families:
        own_train, own_test = train[train["family"] == family], test[test["family"] == family]
        jobs.append(("per_family", own_train, own_test, family, sampler))
        jobs.append(("baseline", own_train, own_test, family, sampler.seed))
        for k in few_shot:
            jobs.append(("hierarchical", smallest(train, family, k), test[test["family"] == family], [family],
                         sampler, f"few_shot_{k}"))
    rows = [row for result in run_jobs(_run, jobs, workers=workers, scheduler=scheduler) for row in result]
    return pd.DataFrame(rows)


def leave_one_family_out(runs: pd.DataFrame, families: tuple[str, ...] = (), *, holdout: float = LOFO_HOLDOUT,
                         few: int | None = LOFO_FEW,
                         sampler: SamplerSettings = SamplerSettings(), workers: int | None = None,
                         scheduler: str | None = None, gadre_eval: str | None = None,
                         progress: bool | None = None) -> pd.DataFrame:
    """The user's path on each family of ``runs`` (or each of ``families``) as if it were new: one row per
    (family, method).

    For each family: the other families of ``runs`` are the population (built, or read from the cache, as
    ``fit --runs`` does), the family's runs below its top ``holdout`` of configurations by compute are
    the user's CSV, the rest are forecast. Methods: ``pooled`` (the default user fit), ``per_family``
    (the law fitted alone, ``--no-pool``) and ``baseline``; with ``few``, also ``pooled_few_<k>``: the
    pooled fit from only the family's ``few`` smallest-compute runs (too few for the other two).
    """
    from scaling_forecast.pooled import SAMPLER as POOLED_SAMPLER
    from scaling_forecast.pooled import load_population

    pooled_sampler = replace(POOLED_SAMPLER, draws=sampler.draws, seed=sampler.seed)
    every = list(dict.fromkeys(runs["family"]))
    jobs = []
    for family in families or every:
        others = tuple(f for f in every if f != family)
        population = load_population(others, gadre_eval=gadre_eval, progress=progress)
        own = runs[runs["family"] == family]
        train, test = split(own, holdout)
        jobs.append(("pooled", train, test, family, population, pooled_sampler, "pooled"))
        jobs.append(("per_family", train, test, family, sampler))
        jobs.append(("baseline", train, test, family, sampler.seed))
        if few:
            jobs.append(("pooled", train.nsmallest(few, "compute"), test, family, population, pooled_sampler,
                         f"pooled_few_{few}"))
    rows = [row for result in run_jobs(_run, jobs, workers=workers, scheduler=scheduler) for row in result]
    return pd.DataFrame(rows)


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
