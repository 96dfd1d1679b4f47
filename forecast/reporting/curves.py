"""What the figures draw, computed from fits and draws: forecast bands along IsoFLOP budgets, model sizes
and beyond the data, residuals, compute-optimal frontiers, and the data wall's curves over the years.

Every curve comes from the fit's own forecasts (``ScalingLawFit.predict``, the law's draws), so the law's
formula lives only in ``models/laws.py``; the figures (``scaling_forecast.reporting``) only draw these.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scaling_forecast.answers.allocation import allocation_table, optimum
from scaling_forecast.answers.datawall import BASE_YEAR, WallDraws, exhaustion_year, log_demand_line
from scaling_forecast.core.intervals import band, interval, quantiles
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.inputs import published
from scaling_forecast.inputs.isoflop import Budgets
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN, chinchilla_frontier
from scaling_forecast.models.stock import log_stock

CURVE_POINTS = 120
PAD_DEX = 0.15  # curves run this far beyond the runs they are drawn with
PF_DAY = 8.64e19  # FLOP in one petaFLOP/s-day
EXTRAPOLATION_DECADES = np.linspace(0.0, 3.0, 31)
FRONTIER_COMPUTE = np.geomspace(1e18, 1e27, 80)  # FLOP: the compute-optimal frontier is drawn over this
WALL_YEARS = np.linspace(2010, 2040, 121)


@dataclass(frozen=True)
class Band:
    """Median and equal-tailed ``level`` interval of a quantity along ``x``."""

    x: np.ndarray
    lo: np.ndarray
    median: np.ndarray
    hi: np.ndarray
    level: float

    @classmethod
    def of_draws(cls, x: np.ndarray, draws: np.ndarray, level: float) -> "Band":
        """The band of ``draws`` (points x draws) along ``x``."""
        lo, median, hi = quantiles(draws, band(level))
        return cls(np.asarray(x), lo, median, hi, level)

    @classmethod
    def of_table(cls, x: np.ndarray, table: pd.DataFrame, level: float) -> "Band":
        """The expected loss of a forecast table (``ScalingLawFit.predict``) along ``x``."""
        return cls(np.asarray(x), table["loss_lo"].to_numpy(), table["loss_median"].to_numpy(),
                   table["loss_hi"].to_numpy(), level)


@dataclass(frozen=True)
class RunCurve:
    """A forecast band drawn with the runs it describes; ``key`` (log10 of a budget or size) sets its colour."""

    band: Band
    runs: pd.DataFrame
    key: float
    label: str


@dataclass(frozen=True)
class IsoFlop:
    """Expected loss along N at D = C/(6N) per IsoFLOP budget, each budget's N_opt where the law has one,
    and the runs in no budget."""

    law: str
    formula: str
    curves: list[RunCurve]
    optimum: pd.DataFrame | None
    ungrouped: pd.DataFrame
    level: float


def grid(lo: float, hi: float, *, pad_dex: float = PAD_DEX) -> np.ndarray:
    return np.logspace(np.log10(lo) - pad_dex, np.log10(hi) + pad_dex, CURVE_POINTS)


def isoflop(fitted: ScalingLawFit, budgets: Budgets, *, level: float) -> IsoFlop:
    """Per budget C: the expected loss along the group's N range at D = C/(6N), with the group's runs."""
    runs = fitted.runs
    curves = []
    for group, compute in enumerate(budgets.compute):
        members = runs[budgets.labels == group]
        n = grid(members["params"].min(), members["params"].max())
        table = fitted.predict(n, compute / (FLOP_PER_PARAM_TOKEN * n), level=level)
        curves.append(RunCurve(Band.of_table(n, table, level), members, float(np.log10(compute)),
                               f"{compute:.2g} FLOP ({len(members)} runs)"))
    allocating = fitted.law.frontier_of is not None and budgets.compute.size > 0
    optimal = allocation_table(fitted.draws, budgets.compute, level=level) if allocating else None
    return IsoFlop(fitted.law.name, fitted.law.formula, curves, optimal, runs[budgets.labels < 0], level)


def size_bins(params: np.ndarray, n_bins: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Equal-width bins in log10 N: each run's bin index and the bin edges (parameters)."""
    edges = np.logspace(np.log10(params.min()), np.log10(params.max()), n_bins + 1)
    index = np.clip(np.searchsorted(edges, params, side="right") - 1, 0, n_bins - 1)
    return index, edges


def by_size(fitted: ScalingLawFit, *, level: float, n_bins: int = 6) -> list[RunCurve]:
    """Per log bin of N: the expected loss along D at the bin's median N, with the bin's runs."""
    runs = fitted.runs
    index, edges = size_bins(runs["params"].to_numpy(), n_bins)
    curves = []
    for k in range(n_bins):
        members = runs[index == k]
        if members.empty:
            continue
        n = float(members["params"].median())
        d = grid(members["tokens"].min(), members["tokens"].max())
        table = fitted.predict(np.full_like(d, n), d, level=level)
        curves.append(RunCurve(Band.of_table(d, table, level), members, float(np.log10(np.sqrt(edges[k] * edges[k + 1]))),
                               f"N {edges[k]:.2g}-{edges[k + 1]:.2g}; curve at {n:.2g} ({len(members)} runs)"))
    return curves


@dataclass(frozen=True)
class Residuals:
    """log(observed) - log(posterior median expected loss) per run, and each run's predictive interval on that scale."""

    values: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    sigma: float  # posterior median of the noise scale on log loss
    level: float

    @property
    def inside(self) -> int:
        return int(((self.values >= self.lo) & (self.values <= self.hi)).sum())


def residuals_of(fitted: ScalingLawFit, *, level: float) -> Residuals:
    runs = fitted.runs
    table = fitted.predict(runs["params"], runs["tokens"], level=level)
    centre = np.log(table["loss_median"].to_numpy())
    return Residuals(
        values=np.log(runs["loss"].to_numpy()) - centre,
        lo=np.log(table["observed_lo"].to_numpy()) - centre,
        hi=np.log(table["observed_hi"].to_numpy()) - centre,
        sigma=float(np.median(fitted.draws.sigma)),
        level=level,
    )


def extrapolation_table(fitted: ScalingLawFit, *, level: float) -> pd.DataFrame:
    """Forecasts from the largest fitted run outwards, at its tokens per parameter, up to 3 decades of compute.

    Columns: ``decades`` beyond the largest run, the forecast table there, and ``law_lo``/``law_hi``: the
    interval of the law's expected loss without the departure term (equal to the full one for a lone fit).
    """
    top = fitted.runs.loc[fitted.runs["compute"].idxmax()]
    scale = np.sqrt(10.0**EXTRAPOLATION_DECADES)
    params, tokens = top["params"] * scale, top["tokens"] * scale
    table = fitted.predict(params, tokens, level=level)
    law = fitted.draws.loss(np.log(params), np.log(tokens))
    table["law_lo"], table["law_hi"] = interval(law, level, axis=1)
    return table.assign(decades=EXTRAPOLATION_DECADES)


def frontier(fitted: ScalingLawFit, compute: np.ndarray, *, level: float) -> dict[str, Band]:
    """N_opt(C), D_opt(C) and the optimal expected loss (``params``, ``tokens``, ``loss``) of a law with an
    optimal split, as bands over ``compute``."""
    best = optimum(fitted.draws.frontier(), compute)
    return {quantity: Band.of_draws(compute, best[quantity], level) for quantity in ("params", "tokens", "loss")}


def plan_compute(asked: list[float], fitted_compute: np.ndarray) -> np.ndarray:
    """The compute (FLOP) over which a plan's frontier is drawn: the fitted runs' and every budget the plan
    asked about or answered, with a decade to spare on each side."""
    values = np.concatenate([np.asarray(asked, float), fitted_compute])
    values = values[np.isfinite(values) & (values > 0)]
    return np.geomspace(values.min() / 10, values.max() * 10, CURVE_POINTS)


def published_frontiers(compute: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(label, compute, N_opt, D_opt) of the published compute-optimal frontiers over ``compute`` (FLOP)."""
    lines = []
    for label, source in (("Hoffmann et al. 2022 Approach 3", "hoffmann2022_approach3"),
                          ("Besiroglu et al. 2024", "besiroglu2024")):
        c = published.constants("chinchilla", source)["value"]
        front = chinchilla_frontier(np.log(c["E"]), np.log(c["A"]), np.log(c["B"]), c["alpha"], c["beta"])
        best = optimum(front, compute)
        # a from the rounded published constants, which is what the line draws (Hoffmann's own a is 0.46).
        lines.append((f"{label} (its constants: a = {front.a:.3f})", compute, best["params"][:, 0], best["tokens"][:, 0]))
    k = published.constants("compute_optimal", "kaplan2020")["value"]
    pf_days = compute / PF_DAY
    lines.append((f"Kaplan et al. 2020 (a = {k['a']:g}; non-embedding N, C_min)", compute,
                  k["N_e"] * pf_days ** k["a"], k["D_e"] * pf_days ** k["b"]))
    return lines


@dataclass(frozen=True)
class WallCurves:
    """The data wall over ``WALL_YEARS``: the stock (unique, and with repetition) and the demand models as bands
    of log10 tokens, and P(the stock is exhausted by each year) per scenario."""

    stock: list[tuple[str, Band]]
    demand: list[tuple[str, Band]]
    exhausted: list[tuple[str, float, bool, np.ndarray]]  # label, overtraining, repetition, P by year


STOCK_CURVES = ((False, "stock: unique usable tokens"), (True, "stock x repetition gain"))
DEMAND_CURVES = (("dataset_trend", 1.0, "largest training set: dataset-size trend"),
                 ("compute", 1.0, "compute trend, Chinchilla-optimal tokens"),
                 ("compute", 5.0, "compute trend, 5x overtrained"))
EXHAUSTION_CURVES = (("dataset_trend", 1.0, True), ("compute", 1.0, True), ("mixture", 1.0, True),
                     ("mixture", 5.0, True), ("mixture", 1.0, False))


def wall_curves(draws: WallDraws, level: float) -> WallCurves:
    """Stock and demand bands and the exhaustion probabilities the data-wall figure draws."""
    t = WALL_YEARS[:, None]
    stock = [(label, Band.of_draws(WALL_YEARS, log_stock(draws.components, t, repetition=repetition) / np.log(10), level))
             for repetition, label in STOCK_CURVES]
    demand = []
    for name, k, label in DEMAND_CURVES:
        d0, d1 = log_demand_line(draws, name, k)
        demand.append((label, Band.of_draws(WALL_YEARS, (d0 + d1 * (t - BASE_YEAR)) / np.log(10), level)))
    exhausted = []
    for name, k, repetition in EXHAUSTION_CURVES:
        years = np.sort(exhaustion_year(draws, name, k, repetition))
        scenario = f"{name.replace('_', ' ')}{'' if name == 'dataset_trend' else f', {k:g}x'}"
        exhausted.append((f"{scenario}, repetition {'on' if repetition else 'off'}", k, repetition,
                          np.searchsorted(years, WALL_YEARS, side="right") / years.size))
    return WallCurves(stock, demand, exhausted)


def parameter_draws(fitted: ScalingLawFit) -> dict[str, np.ndarray]:
    """Every draw of each of the law's constants (not the noise's), flattened over chains."""
    post = fitted.idata["posterior"].to_dataset()
    return {name: post[name].to_numpy().reshape(-1) for name in fitted.law.parameters if name not in ("sigma", "nu")}
