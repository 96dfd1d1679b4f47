"""Cutting a table of runs the way backtests and the pooled fit's extrapolation check do: per family, its
largest configurations by compute held out, or a family cut to its smallest runs."""

import numpy as np
import pandas as pd

from scaling_forecast.inputs.families import CONFIGURATION
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
