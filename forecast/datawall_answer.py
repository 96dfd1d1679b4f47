"""The data wall's answer, summarised from the draws of ``scaling_forecast.datawall``: the stock, growth,
the exhaustion year per scenario, the frontier run's loss at the wall and by year, the sensitivity of the
year to each input, and the published numbers beside them, as frozen dataclasses that JSON, text and HTML
render the same way."""

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from scaling_forecast import published
from scaling_forecast.datawall import COMPONENTS, DEMANDS, OVERTRAIN, WallDraws, exhaustion_year, frontier_run
from scaling_forecast.intervals import COMPARISON_LEVEL, Interval, interval
from scaling_forecast.models.datawall import BASE_YEAR, log_stock
from scaling_forecast.models.laws import effective_log_tokens
from scaling_forecast.predictive import Predictive

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
    """A new frontier run's loss (nats/token) with its data capped by the stock and unlimited, the penalty
    (capped minus unlimited expected loss, per draw), and the run's epochs over the stock, N and D; over the
    ``draws_with_wall`` draws whose year is finite. ``year_median``: the wall's median year, when the
    year is the wall's."""

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
    """A new frontier run's loss (posterior predictive, nats/token) with its data capped by the stock, and unlimited.

    Capped: the run's planned tokens come from the stock's unique tokens, repeated as needed, and count
    as Muennighoff et al.'s effective tokens D' (R*_D ``draws.r_star``). The run's N is the one planned
    for unlimited data (no re-allocation towards a larger model).
    """
    run = frontier_run(draws, year, overtrain)
    ok = np.isfinite(year)
    values = {k: v[ok] for k, v in draws.law.values.items()}
    log_d_eff = effective_log_tokens(run["log_d"], np.minimum(run["log_u"], run["log_d"]), draws.r_star)
    expected, loss = {}, {}
    for key, log_d in (("capped", log_d_eff), ("unlimited", run["log_d"])):
        expected[key] = draws.law.law.loss(run["log_n"][ok], log_d[ok], values)
        predictive = Predictive(np.log(expected[key])[None, :], draws.law.sigma[ok], draws.law.nu[ok])
        lo, hi = predictive.interval(level, seed)
        loss[key] = Interval(float(predictive.median(seed)[0]), float(lo[0]), float(hi[0]), level)
    repeats = np.exp(run["log_d"][ok] - np.minimum(run["log_u"][ok], run["log_d"][ok]))
    return FrontierLoss(
        int(ok.sum()), loss["capped"], loss["unlimited"],
        # The same draw with and without the cap: the penalty is the difference of expected losses, free of run noise.
        Interval.of(expected["capped"] - expected["unlimited"], level),
        Interval.of(repeats, level), Interval.of(np.exp(run["log_n"][ok]), level), Interval.of(np.exp(run["log_d"][ok]), level),
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
    r_star: float
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
                      sensitivity(draws).to_dict("records"), villalobos(), level, draws.r_star, draws.size)
