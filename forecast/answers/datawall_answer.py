"""The data wall's answer, summarised from the draws of ``scaling_forecast.answers.datawall``: the stock, growth,
the exhaustion year per scenario, the frontier run's loss at the wall and by year, the sensitivity of the
year to each input, and the published numbers beside them, as frozen dataclasses that JSON, text and HTML
render the same way."""

from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from scaling_forecast.answers import data_constrained
from scaling_forecast.answers.data_constrained import optimum
from scaling_forecast.answers.datawall import COMPONENTS, DEMANDS, OVERTRAIN, WallDraws, exhaustion_year, frontier_run
from scaling_forecast.core.intervals import COMPARISON_LEVEL, Interval, interval
from scaling_forecast.fitting.predictive import Predictive
from scaling_forecast.inputs import published
from scaling_forecast.models.stock import BASE_YEAR, log_stock

LEVELS = (0.5, 0.8, 0.9)  # the exhaustion year's intervals
YEARS = np.arange(2024, 2051)  # P(exhausted by the end of each)
LOSS_YEARS = (2028, 2030, 2032, 2035, 2040)
GROWTH_LEVEL = 0.95  # the level of Villalobos et al.'s bootstrap interval of the dataset-size slope
GROWTH_UNITS = "orders of magnitude per year"


@dataclass(frozen=True)
class Exhaustion:
    """The distribution of the year the largest training run's tokens reach the stock, under one scenario:
    median, an interval per level of ``LEVELS``, P(never), and P(exhausted by the end of each of ``YEARS``)."""

    demand: str
    overtrain: float | None  # None: the dataset-size trend has no overtraining factor
    repetition: bool
    median: float
    p_never: float
    intervals: dict[float, Interval]
    p_by_year: dict[int, float]

    def interval(self, level: float) -> Interval:
        return self.intervals[level]

    def as_dict(self) -> dict:
        out = {"demand": self.demand, "overtrain": self.overtrain, "repetition": self.repetition,
               "median": self.median, "p_never": self.p_never}
        for level, i in self.intervals.items():
            out[f"lo_{level:g}"], out[f"hi_{level:g}"] = i.lo, i.hi
        return out | {"p_by_year": self.p_by_year}


def exhaustion(draws: WallDraws, demand: str, overtrain: float, repetition: bool) -> Exhaustion:
    """The exhaustion year's distribution under one scenario (-inf draws: before 2024; inf: never)."""
    years = exhaustion_year(draws, demand, overtrain, repetition)
    median = float(np.median(years))
    intervals = {level: Interval(median, *map(float, interval(years, level)), level) for level in LEVELS}
    p_by_year = {int(y): float(np.mean(years <= y + 1)) for y in YEARS}  # exhausted before Y ends
    return Exhaustion(demand, None if demand == "dataset_trend" else overtrain, repetition, median,
                      float(np.mean(years == np.inf)), intervals, p_by_year)


def scenarios(draws: WallDraws, overtrain: tuple[float, ...] = OVERTRAIN) -> list[Exhaustion]:
    """One per demand model, overtraining factor and repetition on or off."""
    return [exhaustion(draws, demand, k, repetition)
            for demand in DEMANDS for k in ((1.0,) if demand == "dataset_trend" else overtrain)
            for repetition in (True, False)]


@dataclass(frozen=True)
class FrontierLoss:
    """A new frontier run's loss (nats/token) at the frontier's compute, with its data drawn from the stock
    (``capped``: the data-constrained optimum) and unlimited, the ``penalty`` (capped minus unlimited expected
    loss, per draw), and the capped optimum's epochs over the stock, N and D; over the ``draws_with_wall``
    draws whose year is finite. ``year_median``: the wall's median year, when the year is the wall's."""

    draws_with_wall: int
    capped: Interval
    unlimited: Interval
    penalty: Interval
    epochs: Interval
    params: Interval
    tokens: Interval
    year_median: float | None = None

    def as_dict(self) -> dict:
        out = asdict(self)
        year = out.pop("year_median")
        return out if year is None else {"year_median": year} | out


def loss_of_frontier(draws: WallDraws, year: np.ndarray, overtrain: float, level: float, seed: int) -> FrontierLoss:
    """A new frontier run's loss (posterior predictive, nats/token) at the compute of the frontier run in
    ``year`` (the compute trend; ``overtrain`` is the overtraining factor that run was planned with), with its
    data from the stock and unlimited.

    Capped: the split of that compute that is best for the stock's unique tokens, repeated as needed
    (Muennighoff et al.'s data-constrained optimum, ``scaling_forecast.answers.data_constrained``, with the draws'
    R*_D and R*_N): a lab at the wall re-plans its run, trading model size against epochs. Unlimited: the
    compute-optimal run with fresh data. Both at the same compute, so the penalty is the wall's own cost.
    """
    run = frontier_run(draws, year, overtrain)
    ok = np.isfinite(year)
    values = {k: v[ok] for k, v in draws.law.values.items()}
    r_star_d, r_star_n = (draws.r_stars[name][ok] for name in ("R_star_D", "R_star_N"))
    log_budget, log_u = (run["log_n"] + run["log_d"])[ok], run["log_u"][ok]
    log_n = optimum(values, log_budget, log_u, r_star_d, r_star_n)
    best = replace(draws.law, values=values).frontier().log_params(log_budget)
    expected = {"capped": data_constrained.loss(values, log_n, log_budget - log_n, log_u, r_star_d, r_star_n),
                "unlimited": data_constrained.loss(values, best, log_budget - best, np.inf, r_star_d, r_star_n)}
    loss = {}
    for key, mean in expected.items():
        predictive = Predictive(np.log(mean)[None, :], draws.law.sigma[ok], draws.law.nu[ok])
        lo, hi = predictive.interval(level, seed)
        loss[key] = Interval(float(predictive.median(seed)[0]), float(lo[0]), float(hi[0]), level)
    return FrontierLoss(
        int(ok.sum()), loss["capped"], loss["unlimited"],
        # The same draw with and without the cap: the penalty is the difference of expected losses, free of run noise.
        Interval.of(expected["capped"] - expected["unlimited"], level), Interval.of(np.exp(log_budget - log_n - log_u), level),
        Interval.of(np.exp(log_n), level), Interval.of(np.exp(log_budget - log_n), level),
    )


def sensitivity(draws: WallDraws, demand: str = "mixture", overtrain: float = 1.0, repetition: bool = True) -> pd.DataFrame:
    """How much each input's uncertainty moves the exhaustion year: each fixed at its median in turn.

    ``variance_share``: the drop in the year's variance (years clipped to 2000-2100, so that
    'never' counts as late) as a share of the total; ``width_0.8``: the 80% interval's width with it fixed.
    """
    def stats_of(d: WallDraws) -> tuple[float, float, float]:
        years = np.clip(exhaustion_year(d, demand, overtrain, repetition), 2000, 2100)
        lo, hi = interval(years, 0.8)
        return float(np.median(years)), float(hi - lo), float(np.var(years))

    median, width, variance = stats_of(draws)
    inputs = [n for n in COMPONENTS if not (n == "repetition_gain" and not repetition)]
    inputs += ["tokens_growth", "compute_growth", "chinchilla_law"]
    rows = [{"input": "none fixed", "median": median, "width_0.8": width, "variance_share": 0.0}]
    for name in inputs:
        m, w, v = stats_of(draws.with_fixed(name))
        rows.append({"input": name, "median": m, "width_0.8": w, "variance_share": 1 - v / variance})
    return pd.DataFrame(rows).sort_values("variance_share", ascending=False, kind="stable").reset_index(drop=True)


def stock_summary(draws: WallDraws, level: float = 0.9) -> dict[str, Interval]:
    """The stock in 2024 (tokens): unique usable (``quality_adjusted``), and ``effective`` with repetition."""
    return {key: Interval.of(np.exp(log_stock(draws.components, BASE_YEAR, repetition=repetition)), level)
            for key, repetition in (("quality_adjusted", False), ("effective", True))}


def villalobos() -> dict[str, dict]:
    """The published results the wall is compared with: value, low, high, interval, per quantity."""
    table = published.data_stock().set_index("quantity")
    names = ("effective_stock", "quality_adjusted_stock", "exhaustion_year", "exhaustion_year_overtrained_5x",
             "dataset_growth_oom_per_year")
    return {n: {k: (None if pd.isna(table.loc[n, k]) else float(table.loc[n, k])) for k in ("value", "low", "high", "interval")}
            for n in names}


@dataclass(frozen=True)
class WallAnswer:
    """Every number of the data wall: stock, growth (``GROWTH_UNITS``), exhaustion years per scenario, the
    frontier run's loss at the wall (per overtraining factor) and by year, sensitivity, and the published
    numbers they are set beside."""

    stock_2024: dict[str, Interval]
    growth: dict[str, Interval]
    scenarios: list[Exhaustion]
    loss_at_wall: dict[str, FrontierLoss]
    loss_by_year: dict[str, FrontierLoss]
    sensitivity: list[dict]
    published: dict[str, dict]
    level: float
    r_stars: str  # where R*_D and R*_N come from
    draws: int

    def as_dict(self) -> dict:
        growth = {name: i.as_dict() | {"units": GROWTH_UNITS} for name, i in self.growth.items()}
        return {name: getattr(self, name) for name in self.__dataclass_fields__} | {"growth": growth}


def analyse(draws: WallDraws, *, overtrain: tuple[float, ...] = OVERTRAIN, level: float = COMPARISON_LEVEL,
            seed: int = 0) -> WallAnswer:
    """Every number of the data wall from its draws."""
    growth = {name: Interval.of(getattr(draws, name), GROWTH_LEVEL) for name in ("tokens_growth", "compute_growth")}
    at_wall = {}
    for k in overtrain:
        years = exhaustion_year(draws, "compute", k, repetition=True)
        loss = loss_of_frontier(draws, years, k, level, seed)
        at_wall[f"{k:g}"] = FrontierLoss(**{**vars(loss), "year_median": float(np.median(years))})
    by_year = {str(y): loss_of_frontier(draws, np.full(draws.size, float(y)), 1.0, level, seed) for y in LOSS_YEARS}
    return WallAnswer(stock_summary(draws), growth, scenarios(draws, overtrain), at_wall, by_year,
                      sensitivity(draws).to_dict("records"), villalobos(), level, draws.r_star_source, draws.size)
