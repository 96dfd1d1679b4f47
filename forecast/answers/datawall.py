"""The data wall: when the largest training sets exhaust the stock of human text, and the loss reachable then.

Inputs, all as draws aligned by index (the law's posterior is independent of
the rest, so pairing its draws at random samples the joint distribution):

- the stock's components (``scaling_forecast.models.stock``, priors from ``data/published/data_stock.csv``);
- growth rates of training tokens and training compute (Bayesian robust
  regressions on the notable-models table) and the frontier's size at
  2024-01-01 (published priors);
- the Chinchilla law's posterior (a fit from ``scaling-forecast fit``),
  which turns frontier compute into compute-optimal tokens and gives losses.

Both the stock and every demand model are straight lines in log size against
year, so each draw's exhaustion year (demand reaches stock) is exact:
year = 2024 + (log stock - log demand at 2024) / (demand growth - stock growth).
"""

import functools
import hashlib
import json
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
import xarray as xr

from scaling_forecast.core.errors import InputError
from scaling_forecast.core.files import cache_dir, write_bytes_atomically
from scaling_forecast.core.version import __version__
from scaling_forecast.fitting.diagnostics import Diagnostics, diagnose
from scaling_forecast.fitting.draws import LawDraws
from scaling_forecast.fitting.sampling import quiet_pymc, sample
from scaling_forecast.fitting.settings import SamplerSettings
from scaling_forecast.inputs import published, registry, runs
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN
from scaling_forecast.models.stock import BASE_YEAR, GROWTH, STOCK, Component, log_stock, log_stock_growth

DEMANDS = ("dataset_trend", "compute", "mixture")
FRONTIER_START = ("largest_dataset_2024", "largest_compute_2024")
COMPONENTS = STOCK + GROWTH + ("repetition_gain",) + FRONTIER_START
OVERTRAIN = (1.0, 5.0, 10.0)
# Values a component can plausibly take, for --set and --prior alike: wide around the published
# intervals, but excluding what is impossible (a fraction above 1, a token of more than 6 bytes where
# the published prior is bounded by 6) or absurd enough to overflow (1e308 pages).
PLAUSIBLE = {
    "indexed_pages": (1e9, 1e14),
    "bytes_per_page": (100.0, 1e6),
    "bytes_per_token": (0.5, 6.0),
    "usable_fraction": (1e-3, 1.0),
    "pages_growth_per_year": (0.5, 2.0),
    "bytes_per_page_growth_per_year": (0.5, 2.0),
    "repetition_gain": (1.0, 100.0),
    "largest_dataset_2024": (1e10, 1e15),
    "largest_compute_2024": (1e21, 1e28),
}
LN10 = np.log(10.0)


def published_components() -> dict[str, Component]:
    """Each component's prior from the published estimates (``data_stock.csv``, one cited row each)."""
    table = published.data_stock().set_index("quantity")
    out = {}
    for name in COMPONENTS:
        row = table.loc[name]
        out[name] = Component(float(row["low"]), float(row["high"]), float(row["interval"]),
                              bound=None if pd.isna(row["bound"]) else float(row["bound"]))
    return out


def chosen_components(fixed: tuple[str, ...] = (), priors: tuple[str, ...] = ()) -> dict[str, Component]:
    """The published components, with ``NAME=VALUE`` fixed and ``NAME=LOW,HIGH[,LEVEL]`` priors swapped in;
    every value must lie in the component's :data:`PLAUSIBLE` range."""
    components = published_components()

    def parse(option: str, text: str, count: tuple[int, ...]) -> tuple[str, list[float]]:
        name, sep, values = text.partition("=")
        if not sep or name not in components:
            raise InputError(f"{option} {text!r}: expected NAME=..., NAME one of {', '.join(components)}")
        try:
            numbers = [float(v) for v in values.split(",")]
        except ValueError:
            raise InputError(f"{option} {text!r}: values must be numbers") from None
        if len(numbers) not in count:
            raise InputError(f"{option} {text!r}: expected {' or '.join(map(str, count))} numbers")
        low, high = PLAUSIBLE[name]
        for value in numbers[:2]:
            if not low <= value <= high:
                raise InputError(f"{option} {text!r}: {value:g} is outside the plausible range of {name}, "
                                 f"{low:g} to {high:g}")
        return name, numbers

    for text in priors:
        name, numbers = parse("--prior", text, (2, 3))
        low, high, level = numbers + [components[name].level] * (3 - len(numbers))
        bound = components[name].bound
        # A level near 0 or 1 makes the lognormal's spread 0 or infinite.
        if not (low < high and 0.5 <= level <= 0.999 and (bound is None or high < bound)):
            raise InputError(f"--prior {text!r}: need LOW < HIGH{' < ' + format(bound, 'g') if bound else ''} "
                             "and LEVEL between 0.5 and 0.999")
        components[name] = replace(components[name], low=low, high=high, level=level)
    for text in fixed:
        name, (value,) = parse("--set", text, (1,))
        components[name] = components[name].fixed(value)
    return components


def words_per_token() -> float:
    """The published words-per-token of the notable-models table's dataset column."""
    return float(published.data_stock().set_index("quantity").loc["words_per_token", "value"])


def notable_models(words_per_token: float) -> pd.DataFrame:
    """The notable-models table with decimal year and training tokens = words / words_per_token."""
    if not words_per_token > 0:
        raise ValueError(f"words per token must be positive, got {words_per_token}")
    table = runs.load("notable-models")
    date = table["date"]
    start = pd.to_datetime(date.dt.year.astype(str) + "-01-01")
    days = (date - start).dt.days / np.where(date.dt.is_leap_year, 366.0, 365.0)
    return table.assign(year=date.dt.year + days, tokens=table["dataset_words"] / words_per_token)


@dataclass(frozen=True)
class WallPosterior:
    """Draws of the components (exact, from their priors) and of the two growth regressions (NUTS)."""

    components: dict[str, np.ndarray]
    trends: xr.DataTree

    @functools.cached_property
    def diagnostics(self) -> Diagnostics:
        names = list(self.trends["posterior"].data_vars)
        if "diagnostics" in self.trends.attrs:  # read back from the cache: ArviZ computed them when fitting
            return Diagnostics.saved(json.loads(self.trends.attrs["diagnostics"]), self.trends, names)
        return diagnose(self.trends, names)

    def growth(self, name: str) -> np.ndarray:
        """Flat draws of ``tokens_growth`` or ``compute_growth`` (orders of magnitude per year)."""
        return self.trends["posterior"][name].to_numpy().reshape(-1)


# Raised when fit_wall's models or the cached file's layout change, so that no older cache file is read.
WALL_FORMAT = 1


def wall_posterior(components: dict[str, Component], models: pd.DataFrame,
                   sampler: SamplerSettings = SamplerSettings(), progress: bool | None = None) -> WallPosterior:
    """:func:`fit_wall`, cached in the user cache under everything it depends on (components, the models'
    years, tokens and compute, sampler, package version): the regressions are fitted once, and later data-wall
    answers need no PyMC, whose import and fit were most of their time. A cache file that cannot be read, holds
    other draws than the sampler's or a draw that is not finite, is fitted again and replaced."""
    inputs = {"components": {name: asdict(c) for name, c in components.items()}, "sampler": asdict(sampler),
              "models": hashlib.sha256(models[["year", "tokens", "compute"]].to_numpy(float).tobytes()).hexdigest(),
              "package_version": __version__, "wall_format": WALL_FORMAT}
    path = cache_dir() / "datawall" / f"{registry.cache_key(inputs)}.nc"
    if path.is_file():
        try:
            tree = xr.open_datatree(path).load()
            drawn = tree["components"].to_dataset()
            cached = WallPosterior({name: drawn[name].to_numpy() for name in components}, tree.drop_nodes("components"))
            sizes = {cached.growth(name).size for name in ("tokens_growth", "compute_growth")}
            finite = all(np.isfinite(v).all() for v in (*cached.components.values(),
                                                         *(cached.growth(n) for n in ("tokens_growth", "compute_growth"))))
            if finite and sizes == {sampler.chains * sampler.draws} == {v.size for v in cached.components.values()}:
                return cached
        except (OSError, ValueError, KeyError):
            pass
    posterior = fit_wall(components, models, sampler, progress)
    tree = posterior.trends.copy()
    tree["components"] = xr.DataTree(xr.Dataset({name: ("sample", draws) for name, draws in posterior.components.items()}))
    tree.attrs["diagnostics"] = json.dumps(posterior.diagnostics.as_dict())
    write_bytes_atomically(path, tree.to_netcdf(), force=True, ledger=False)  # serialised in memory: see savedfit
    return posterior


def fit_wall(components: dict[str, Component], models: pd.DataFrame, sampler: SamplerSettings = SamplerSettings(),
             progress: bool | None = None) -> WallPosterior:
    """As many component draws as the regressions have: robust regressions of log10 tokens (every model)
    and log10 compute (models that report it) on year."""
    import nutpie  # here: the data wall's curves and a saved fit's forecasts need no PyMC
    import pymc as pm  # PyMC: only when the growth regressions are fitted

    from scaling_forecast.models.datawall import (  # PyMC: only when the growth regressions are fitted
        components_model,
        trend_model,
    )

    known = models.dropna(subset=["compute"])
    trends = sample(nutpie.compile_pymc_model(trend_model({
        "tokens": (models["year"], np.log10(models["tokens"])),
        "compute": (known["year"], np.log10(known["compute"]))})), sampler, progress)
    n = sampler.chains * sampler.draws
    with quiet_pymc():
        prior = pm.sample_prior_predictive(draws=n, model=components_model(components), random_seed=sampler.seed)["prior"]
    return WallPosterior({name: np.broadcast_to(prior[name].to_numpy().reshape(-1), (n,)).copy() for name in components},
                         trends)


@dataclass(frozen=True)
class WallDraws:
    """Aligned draws of every input of the data wall."""

    components: dict[str, np.ndarray]
    tokens_growth: np.ndarray  # orders of magnitude per year
    compute_growth: np.ndarray
    law: LawDraws  # Chinchilla law: curve, frontier and run noise
    r_stars: dict[str, np.ndarray]  # per draw, R*_D and R*_N of the data-constrained law (repeated data)
    r_star_source: str  # where they come from
    choice: np.ndarray  # per draw, which demand model the equal mixture takes (True: compute)

    @property
    def size(self) -> int:
        return self.tokens_growth.size

    def with_fixed(self, name: str) -> "WallDraws":
        """The same draws with one input set to its median (the Chinchilla law: its median-a draw)."""
        if name in self.components:
            return replace(self, components=self.components | {name: np.full(self.size, np.median(self.components[name]))})
        if name in ("tokens_growth", "compute_growth"):
            return replace(self, **{name: np.full(self.size, np.median(getattr(self, name)))})
        a = self.law.frontier().a
        i = int(np.argsort(a)[a.size // 2])
        law = replace(self.law, values={k: np.full(self.size, v[i]) for k, v in self.law.values.items()},
                      sigma=np.full(self.size, self.law.sigma[i]), nu=np.full(self.size, self.law.nu[i]))
        return replace(self, law=law)


def wall_draws(posterior: WallPosterior, law: LawDraws, r_stars: dict[str, np.ndarray], r_star_source: str,
               seed: int) -> WallDraws:
    """The wall's draws with the law's draws (and the R*s drawn with them) paired to them at random."""
    rng = np.random.default_rng([seed, 2])
    n = posterior.growth("tokens_growth").size
    j = rng.choice(law.sigma.size, n, replace=law.sigma.size < n)
    law = replace(law, values={k: v[j] for k, v in law.values.items()}, sigma=law.sigma[j], nu=law.nu[j])
    return WallDraws(posterior.components, posterior.growth("tokens_growth"), posterior.growth("compute_growth"), law,
                     {k: v[j] for k, v in r_stars.items()}, r_star_source, rng.random(n) < 0.5)


def log_demand_line(draws: WallDraws, demand: str, overtrain: float) -> tuple[np.ndarray, np.ndarray]:
    """Per draw, ln tokens of the largest training run at 2024-01-01 and its growth in ln units per year.

    ``compute``: frontier compute grows as fitted; the run splits it as the Chinchilla optimum with
    ``overtrain`` times the optimal tokens per parameter, so at equal compute D = sqrt(overtrain) D_opt,
    and ln D_opt = (1 - a) ln(C / 6) - n0 on the law's frontier.
    """
    if demand == "dataset_trend":
        return np.log(draws.components["largest_dataset_2024"]), draws.tokens_growth * LN10
    if demand == "compute":
        f = draws.law.frontier()
        log_c = np.log(draws.components["largest_compute_2024"] / FLOP_PER_PARAM_TOKEN)
        return 0.5 * np.log(overtrain) + (1 - f.a) * log_c - f.n0, (1 - f.a) * draws.compute_growth * LN10
    if demand == "mixture":
        (t0, t1), (c0, c1) = log_demand_line(draws, "dataset_trend", overtrain), log_demand_line(draws, "compute", overtrain)
        return np.where(draws.choice, c0, t0), np.where(draws.choice, c1, t1)
    raise ValueError(f"unknown demand model {demand!r}; known: {', '.join(DEMANDS)}")


def exhaustion_year(draws: WallDraws, demand: str, overtrain: float, repetition: bool) -> np.ndarray:
    """Per draw, the year the demand reaches the stock (-inf: before 2024 for good; inf: never)."""
    d0, d1 = log_demand_line(draws, demand, overtrain)
    s0, s1 = log_stock(draws.components, BASE_YEAR, repetition=repetition), log_stock_growth(draws.components)
    gap, closing = s0 - d0, d1 - s1
    with np.errstate(divide="ignore", invalid="ignore"):
        year = BASE_YEAR + gap / closing
    return np.where(closing > 0, year, np.where(gap <= 0, -np.inf, np.inf))


def frontier_run(draws: WallDraws, year: np.ndarray, overtrain: float) -> dict[str, np.ndarray]:
    """ln N, ln D (planned tokens) and ln U (unique usable tokens in the stock) of the compute-based frontier run."""
    d0, d1 = log_demand_line(draws, "compute", overtrain)
    log_d = d0 + d1 * (year - BASE_YEAR)
    log_c = np.log(draws.components["largest_compute_2024"]) + draws.compute_growth * LN10 * (year - BASE_YEAR)
    return {"log_n": log_c - np.log(FLOP_PER_PARAM_TOKEN) - log_d, "log_d": log_d,
            "log_u": log_stock(draws.components, year, repetition=False)}
