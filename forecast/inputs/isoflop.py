"""Grouping runs into compute budgets (IsoFLOP groups) by the density of log compute."""

from dataclasses import dataclass

import numpy as np

# Mean-shift bandwidth for grouping runs into IsoFLOP budgets, in dex of compute.
BUDGET_BANDWIDTH_DEX = 0.05
# A group with fewer runs gets no curve (its runs are drawn grey).
BUDGET_MIN_RUNS = 8


@dataclass(frozen=True)
class Budgets:
    """Runs grouped by compute: a label per run (-1: in no group with a curve), and each group's median compute."""

    labels: np.ndarray
    compute: np.ndarray  # FLOP, median over the group's runs
    counts: np.ndarray
    bandwidth_dex: float
    min_runs: int
    spread_dex: float  # largest distance of a grouped run's log10 C from its group's median

    @property
    def ungrouped(self) -> int:
        return int((self.labels < 0).sum())


def isoflop_budgets(
    compute: np.ndarray, bandwidth_dex: float = BUDGET_BANDWIDTH_DEX, min_runs: int = BUDGET_MIN_RUNS
) -> Budgets:
    """Group runs by cutting log10 C at the local minima of its Gaussian kernel density (``bandwidth_dex``).

    This is 1-D mean shift: runs whose log10 C climbs the density to the same
    peak form one budget. Digitised compute scatters continuously around the
    nominal budgets, so gaps between sorted values do not separate them cleanly,
    while density peaks do. Groups with fewer than ``min_runs`` runs get label -1.
    """
    x = np.log10(np.asarray(compute, float))
    step = bandwidth_dex / 20
    grid = np.arange(x.min() - 3 * bandwidth_dex, x.max() + 3 * bandwidth_dex + step, step)
    density = np.zeros_like(grid)
    for start in range(0, x.size, 1000):  # bounded memory for large run tables
        density += np.exp(-0.5 * ((grid[:, None] - x[None, start : start + 1000]) / bandwidth_dex) ** 2).sum(axis=1)
    inner = density[1:-1]
    cuts = grid[1:-1][(inner < density[:-2]) & (inner <= density[2:])]
    raw = np.searchsorted(cuts, x)
    labels = np.full(x.size, -1)
    centres, counts = [], []
    for group in range(raw.max() + 1):
        members = raw == group
        if members.sum() >= min_runs:
            labels[members] = len(centres)
            centres.append(10 ** np.median(x[members]))
            counts.append(int(members.sum()))
    grouped = labels >= 0
    spread = float(np.abs(x[grouped] - np.log10(centres)[labels[grouped]]).max()) if grouped.any() else 0.0
    return Budgets(labels, np.array(centres), np.array(counts, int), bandwidth_dex, min_runs, spread)
