"""Cutting a table of runs the way backtests and the pooled fit's extrapolation check do: per family, its
largest configurations by compute held out, a family cut to its smallest runs, or to the ladders users have."""

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from scaling_forecast.inputs.families import CONFIGURATION
from scaling_forecast.inputs.isoflop import isoflop_budgets
from scaling_forecast.inputs.runs import compute_of

HOLDOUT = 0.2  # the in-family backtest's default: each family's top fifth of configurations by compute


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


# The ladders users have: k model sizes at one tokens-per-parameter ratio, or the k smallest compute-optimal
# runs of an IsoFLOP sweep (issue 25); each family's larger runs are what the ladder forecasts.
LADDER_SIZES = (3, 4, 5, 6, 8)
LADDER_RATIO = 20.0  # tokens per parameter: the ratio nearest this is the family's ladder (Hoffmann et al.'s optimum)
RATIO_DEX = 0.1  # runs within a tenth of a decade of tokens per parameter are at one ratio
RATIO_NEAR_DEX = 0.3  # a ratio within a factor 2 of 20 counts as near it; else the family's most common ratio
BUDGET_MIN_RUNS = 3  # an IsoFLOP budget needs 3 runs to place its compute-optimal run


@dataclass(frozen=True)
class Ladder:
    """A handful of small runs cut from one family as a user would have them (``train``), and every run of the
    family with more compute than the ladder's largest (``test``). ``design``: ``ratio`` (k model sizes at one
    tokens-per-parameter ratio, smallest first; ``ratio`` is that D/N) or ``isoflop`` (the compute-optimal run
    of each of the k smallest budgets of an IsoFLOP sweep)."""

    family: str
    design: str
    k: int
    train: pd.DataFrame
    test: pd.DataFrame
    ratio: float | None = None


def _fresh(runs: pd.DataFrame) -> pd.Series:
    """Which runs saw each token once (no unique-token count, or one at least the tokens trained on)."""
    return runs["unique_tokens"].isna() | (runs["unique_tokens"] >= runs["tokens"])


def ratio_ladder(runs: pd.DataFrame, k: int) -> Ladder | None:
    """The k smallest model sizes at the family's ladder ratio (the ratio nearest 20 tokens per parameter, if
    one is within a factor 2 of it and has more than k sizes; else the most common such ratio), seeds
    together; None when no ratio has more than k sizes (nothing larger to forecast)."""
    fresh = _fresh(runs)
    if fresh.any() and not fresh.all():  # a ladder is trained on fresh data: the single-epoch runs, if any
        ladder = ratio_ladder(runs[fresh], k)
        return None if ladder is None else replace(ladder, test=_beyond(runs, ladder.train))
    binned = np.round(np.log10(runs["tokens"] / runs["params"]) / RATIO_DEX) * RATIO_DEX
    sizes = runs.groupby(binned)["params"].nunique()
    usable = sizes[sizes > k].index.to_numpy()
    if usable.size == 0:
        return None
    distance = np.abs(usable - np.log10(LADDER_RATIO))
    if (distance <= RATIO_NEAR_DEX).any():
        chosen = usable[np.argmin(distance)]
    else:
        chosen = runs.groupby(binned).size().loc[usable].idxmax()
    at = runs[binned == chosen]
    train = at[at["params"].isin(np.sort(at["params"].unique())[:k])]
    return Ladder(str(runs["family"].iloc[0]), "ratio", k, train, _beyond(runs, train), float(10**chosen))


def isoflop_ladder(runs: pd.DataFrame, k: int) -> Ladder | None:
    """The compute-optimal run (lowest loss) of each of the family's k smallest IsoFLOP budgets; None when the
    family is not an IsoFLOP sweep with more than k budgets of at least ``BUDGET_MIN_RUNS`` runs.

    Cut from the single-epoch runs when the family also has repeated-data runs, as a ratio ladder is: in a
    data-constrained grid (datablations) the lowest loss of a small budget is a run of 15-27 epochs on 100M
    unique tokens, not a ladder anyone trains to plan a larger run (it forecast the family's runs 14-20% low)."""
    fresh = _fresh(runs)
    if fresh.any() and not fresh.all():
        ladder = isoflop_ladder(runs[fresh], k)
        return None if ladder is None else replace(ladder, test=_beyond(runs, ladder.train))
    compute = compute_of(runs).to_numpy()
    budgets = isoflop_budgets(compute, min_runs=BUDGET_MIN_RUNS)
    if budgets.compute.size <= k:
        return None
    optimal = [runs.loc[budgets.labels == b, "loss"].idxmin() for b in np.argsort(budgets.compute)[:k]]
    train = runs.loc[optimal]
    return Ladder(str(runs["family"].iloc[0]), "isoflop", k, train, _beyond(runs, train))


def _beyond(runs: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    """The family's runs with more compute than any run of ``train``."""
    return runs[compute_of(runs) > compute_of(train).max() * (1 + 1e-9)]


def ladders(runs: pd.DataFrame, sizes: tuple[int, ...] = LADDER_SIZES) -> list[Ladder]:
    """Every ladder of every family of ``runs``, for each k of ``sizes`` and each design the family has."""
    out = []
    for _, own in runs.groupby("family", sort=False):
        for k in sizes:
            out += [ladder for ladder in (ratio_ladder(own, k), isoflop_ladder(own, k)) if ladder is not None]
    return out
