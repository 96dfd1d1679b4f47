"""Ladder backtests: what a handful of small runs forecasts of a family's larger runs, by distance.

The common real case is a ladder of a few small runs and one large run planned. From every registered family
the ladders users have are cut (:func:`scaling_forecast.inputs.splits.ladders`: k model sizes at one
tokens-per-parameter ratio, or the k smallest compute-optimal runs of an IsoFLOP sweep, k = 3 to 8), each is
fitted as a user's runs (the pooled fit, with the population built without the family, as leave-one-family-out
does), beside the law fitted alone and the Huber point fit where k allows them, and every larger run of the
family is forecast. Each forecast is scored alone (:func:`run_scores`) and the scores are summarised by k and by
how many decades of compute the run lies beyond the ladder's largest (:func:`by_distance`): coverage of the
50/80/95% intervals, median absolute and signed error, log score.
"""

import sys

import numpy as np
import pandas as pd

from scaling_forecast.answers.backtest import LEVELS, Method, Setting, fit_alone, fit_baseline, fit_pooled
from scaling_forecast.core.errors import InputError
from scaling_forecast.fitting.parallel import run_jobs
from scaling_forecast.fitting.pooled import load_population
from scaling_forecast.fitting.predictive import Predictive
from scaling_forecast.fitting.settings import MIN_RUNS_ALONE, SamplerSettings
from scaling_forecast.inputs.runs import compute_of
from scaling_forecast.inputs.splits import LADDER_SIZES, Ladder, ladders

# Decades of compute beyond the ladder's largest run, as the issue asks them reported.
DISTANCES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
HUBER_MIN_RUNS = 5  # the Huber point fit has five constants to place


def ladder_methods() -> tuple[Method, ...]:
    """The pooled fit (the product's default for a user's runs), the law fitted alone and the Huber point fit."""
    return (Method("pooled", fit_pooled, population=True), Method("per_family", fit_alone),
            Method("baseline", fit_baseline))


def fits(method: Method, ladder: Ladder) -> bool:
    """Whether ``method`` can be fitted to the ladder at all: the law alone needs ``MIN_RUNS_ALONE`` runs and
    the Huber fit ``HUBER_MIN_RUNS``; the pooled fit takes any ladder of 3 or more."""
    minimum = {"per_family": MIN_RUNS_ALONE, "baseline": HUBER_MIN_RUNS}.get(method.label, 3)
    return len(ladder.train) >= minimum and len(ladder.train[["params", "tokens"]].drop_duplicates()) >= min(minimum, 5)


def run_scores(predictive: Predictive, loss: np.ndarray, *, seed: int = 0) -> pd.DataFrame:
    """One row per forecast run: the predictive median, signed error (forecast minus actual, % of the actual:
    positive = too high), each ``LEVELS`` interval's bounds and whether it holds the run, and its log predictive
    density. The bounds are exported so that a change to the forecast's centre or width can be judged on the
    rows of a backtest without fitting again."""
    loss = np.asarray(loss, float)
    median = predictive.median(seed)
    table = pd.DataFrame({"loss": loss, "median": median, "error": (median - loss) / loss * 100,
                          "lpd": predictive.log_density(loss)})
    for level in LEVELS:
        lo, hi = predictive.interval(level, seed)
        table[f"lower_{level:g}"], table[f"upper_{level:g}"] = lo, hi
        table[f"inside_{level:g}"] = (loss >= lo) & (loss <= hi)
    return table


def _ladder_fold(method: Method, ladder: Ladder, setting: Setting) -> pd.DataFrame:
    """Fit ``method`` to the ladder and score its forecast of each larger run (module level: workers import it)."""
    fitted = method.fit(ladder.train, setting)
    test = ladder.test
    predictive = fitted.predictive(test["params"], test["tokens"], test["unique_tokens"].fillna(test["tokens"]),
                                   family=ladder.family, seed=setting.sampler.seed)
    checks = fitted.diagnostics
    return run_scores(predictive, test["loss"].to_numpy(), seed=setting.sampler.seed).assign(
        family=ladder.family, design=ladder.design, k=ladder.k, method=method.label, run_id=test["run_id"].to_numpy(),
        decades=np.log10(compute_of(test).to_numpy() / compute_of(ladder.train).max()),
        converged=checks.converged, problems="; ".join(checks.problems()))


def ladder_backtest(runs: pd.DataFrame, families: tuple[str, ...] = (), sizes: tuple[int, ...] = LADDER_SIZES,
                    methods: tuple[Method, ...] | None = None, *, sampler: SamplerSettings = SamplerSettings(),
                    workers: int | None = None, scheduler: str | None = None, gadre_eval: str | None = None,
                    progress: bool | None = None) -> pd.DataFrame:
    """Every ladder of each family of ``runs`` (or each of ``families``) fitted by each method that can fit it,
    its forecasts of the family's larger runs scored: one row per (ladder, method, forecast run). The pooled
    fit's population is built from the other families of ``runs`` (or read from the cache)."""
    methods = ladder_methods() if methods is None else methods
    every = list(dict.fromkeys(runs["family"]))
    if unknown := sorted(set(families) - set(every)):  # before any population is built for them
        raise InputError(f"unknown families {unknown}; known: {', '.join(every)}")
    jobs = []
    for family in families or every:
        own = runs[runs["family"] == family]
        population = load_population(tuple(f for f in every if f != family), gadre_eval=gadre_eval,
                                     progress=progress) if any(m.population for m in methods) else None
        setting = Setting(family, sampler, population)
        jobs += [(m, ladder, setting) for ladder in ladders(own, sizes) for m in methods if fits(m, ladder)]
    label = "ladder backtest" if (sys.stderr.isatty() if progress is None else progress) else None
    return pd.concat(run_jobs(_ladder_fold, jobs, workers=workers, scheduler=scheduler, progress=label),
                     ignore_index=True)


def by_distance(rows: pd.DataFrame) -> pd.DataFrame:
    """Per method, k and distance bin (decades beyond the ladder's largest run, ``DISTANCES``): forecasts, how
    many came from flagged fits, coverage of each interval, median absolute and signed error (%), mean log
    score; over forecasts of converged fits only (a flagged fit's numbers are not results)."""
    bins = pd.cut(rows["decades"], DISTANCES, right=False,
                  labels=[f"{lo:g}-{hi:g}" for lo, hi in zip(DISTANCES, DISTANCES[1:])])
    def summary(group: pd.DataFrame) -> pd.Series:
        ok = group[group["converged"].astype(bool)]
        out = {"forecasts": len(group), "flagged": int(len(group) - len(ok)),
               "median_abs_error": float(ok["error"].abs().median()) if len(ok) else np.nan,
               "median_signed_error": float(ok["error"].median()) if len(ok) else np.nan,
               "lpd": float(ok["lpd"].mean()) if len(ok) else np.nan}
        for level in LEVELS:
            out[f"coverage_{level:g}"] = float(ok[f"inside_{level:g}"].mean()) if len(ok) else np.nan
        return pd.Series(out)

    table = rows.assign(distance=bins).dropna(subset=["distance"])
    grouped = table.groupby(["method", "k", "distance"], observed=True, sort=True)
    return grouped.apply(summary, include_groups=False).reset_index()
