"""Simulation-based checks: the hierarchical model recovers known constants, and pooled forecasts of
simulated families whose true curve departs smoothly from the law are calibrated.

Simulated families are IsoFLOP ladders: budgets from 1e17 to 1e21 FLOP, 5 model sizes per budget around
20 tokens per parameter (tokens scattered by up to 0.15 decades), Gaussian run noise near 1% on log loss.
"""

import numpy as np
import pandas as pd
import pytest

from scaling_forecast.fitting.hierarchical import HierarchicalFit
from scaling_forecast.fitting.pooled import PooledFit
from scaling_forecast.fitting.population import Population
from scaling_forecast.models.hierarchical import drift_correlation
from scaling_forecast.models.laws import chinchilla_loss

CONSTANTS = ("log_E", "log_A", "log_B", "alpha", "beta")


def _ladder(rng: np.random.Generator, budgets: np.ndarray, per_budget: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """N and D of an IsoFLOP ladder: per budget, sizes within 0.6 decades of the 20-tokens-per-parameter point;
    each run's tokens off the nominal budget by up to 0.15 decades, as real budgets scatter."""
    centre = np.sqrt(budgets / (6 * 20))
    params = (centre[:, None] * 10.0 ** np.linspace(-0.6, 0.6, per_budget)[None, :]).ravel()
    tokens = np.repeat(budgets, per_budget) / (6 * params) * 10.0 ** rng.uniform(-0.15, 0.15, params.size)
    return params, tokens


def _family(rng: np.random.Generator, name: str, budgets: np.ndarray, truth: dict, departure=None) -> pd.DataFrame:
    params, tokens = _ladder(rng, budgets)
    log_loss = np.log(chinchilla_loss(np.log(params), np.log(tokens), *(truth[k] for k in CONSTANTS)))
    if departure is not None:
        log_loss = log_loss + departure(np.log10(6 * params * tokens))
    loss = np.exp(log_loss + truth["sigma"] * rng.standard_normal(params.size))
    return pd.DataFrame({"family": name, "run_id": [f"{name}-{i}" for i in range(params.size)], "params": params,
                         "tokens": tokens, "unique_tokens": np.nan, "compute": 6 * params * tokens, "loss": loss,
                         "loss_kind": "simulated", "budget": np.repeat(np.arange(budgets.size), params.size // budgets.size)})


def _ou_departure(rng: np.random.Generator, budgets: np.ndarray, sd: float, length: float, slope: float = 0.0,
                  after: int = 99):
    """A smooth departure from the law along log10 compute: an Ornstein-Uhlenbeck path over the budgets (as the
    models assume), plus ``slope`` per decade beyond budget index ``after``."""
    grid = np.log10(budgets)
    path = np.zeros(grid.size)
    path[0] = sd * rng.standard_normal()
    for j in range(1, grid.size):
        phi = drift_correlation(grid[j] - grid[j - 1], length)
        path[j] = phi * path[j - 1] + sd * np.sqrt(1 - phi**2) * rng.standard_normal()
    start = grid[min(after, grid.size - 1)]

    def departure(log10c: np.ndarray) -> np.ndarray:
        nearest = np.abs(log10c[:, None] - grid[None, :]).argmin(axis=1)
        return path[nearest] + slope * np.maximum(log10c - start, 0)

    return departure


def _constants(rng: np.random.Generator) -> dict:
    """A family's true constants: exponents around 0.3 (log-sd 0.3, as the registered families' spread), a floor
    near 1.8, both terms near 0.5 nats at 1e9 parameters and 2e10 tokens, run noise near 1% of the loss."""
    alpha, beta = np.exp(np.log(0.3) + 0.3 * rng.standard_normal(2))
    return {"log_E": np.log(rng.uniform(1.5, 2.2)), "alpha": alpha, "beta": beta,
            "sigma": 0.01 * np.exp(0.5 * rng.standard_normal()),  # run noise differs between families too
            "log_A": np.log(0.5) + alpha * np.log(1e9) + 0.3 * rng.standard_normal(),
            "log_B": np.log(0.5) + beta * np.log(2e10) + 0.3 * rng.standard_normal()}


@pytest.mark.slow
def test_hierarchical_model_recovers_simulated_constants():
    """90% intervals of each family's constants cover the truth for 80-99% of them.

    Two simulated populations of 5 families (each departing smoothly from its law by about 1%), 5 constants
    each: 50 constants. If the intervals are
    calibrated the count covered is about Binomial(50, 0.9): 45 expected, sd 2.1, so 40-49 (80-98%) holds
    with probability about 0.98; families of one population share their population's errors, which
    widens that a little, and a miscalibrated fit (e.g. 70% or 100% coverage) falls outside.
    """
    covered, total = 0, 0
    budgets = np.logspace(17, 21, 9)
    for seed in (1, 2):
        rng = np.random.default_rng(seed)
        truths = {f"sim{i}": _constants(rng) for i in range(5)}
        # Real families depart from the law by about 1% along compute (the fitted drift); without any departure
        # the drift's size sits at zero, a funnel that is no test of recovery.
        runs = pd.concat([_family(rng, name, budgets, truth, _ou_departure(rng, budgets, 0.01, 0.5))
                          for name, truth in truths.items()], ignore_index=True)
        fitted = HierarchicalFit.fit(runs, progress=False)
        d = fitted.diagnostics
        # Mixing must be good. With Gamma(2) spreads (no funnel at zero) a few divergent transitions remain on
        # these short simulated ladders: 0-25 of 4000 over 10 fits (2 populations x 5 sampler seeds), where
        # HalfNormal spreads gave up to 79; more than 1% would bias the check.
        assert d.r_hat_max <= 1.01 and d.ess_bulk_min >= 400 and d.divergences < 40, d
        draws = fitted.posterior_draws
        for i, name in enumerate(fitted.families):
            for constant in CONSTANTS:
                lo, hi = np.quantile(draws[constant][:, i], [0.05, 0.95])
                covered += lo <= truths[name][constant] <= hi
                total += 1
    assert 0.80 <= covered / total <= 0.99, f"{covered} of {total} constants inside their 90% intervals"


@pytest.mark.slow
@pytest.mark.needs_data
def test_pooled_forecasts_of_smoothly_departing_families_are_calibrated(population_cache, monkeypatch):
    """Families whose true curve departs from the law the way the population says laws do (a smooth
    Ornstein-Uhlenbeck departure of the population's size along log compute, plus a per-family error that
    grows linearly beyond the fitted runs at a slope drawn from the learned distribution) are fitted
    pooled on their 3 smaller budgets; the 80% intervals of the 2 larger budgets (10 runs a family, 1-2
    decades out) should hold about 80% of the runs.

    8 families x 10 runs = 80 held-out runs, correlated within a family (they share the family's
    departure), so the effective count is nearer 20-30: 0.6-0.95 is about two standard errors either side.
    """
    from scaling_forecast.fitting.pooled import load_population

    monkeypatch.setenv("SCALING_FORECAST_CACHE_DIR", str(population_cache))
    population: Population = load_population()
    prior = population.prior
    slope_mean, slope_sd = prior.extrapolation
    drift = float(np.exp(prior.shared["drift"][0]))
    budgets = np.logspace(17, 21, 5)
    inside, count = 0, 0
    for seed in range(8):
        rng = np.random.default_rng(100 + seed)
        departure = _ou_departure(rng, budgets, drift, prior.drift_length, slope_mean + slope_sd * rng.standard_normal(),
                                  after=2)
        runs = _family(rng, f"new{seed}", budgets, _constants(rng), departure)
        train, test = runs[runs["budget"] <= 2], runs[runs["budget"] > 2]
        fitted = PooledFit.fit(train, source="simulated", source_sha256="-", population=population, progress=False)
        assert fitted.diagnostics.converged, fitted.diagnostics.problems()
        lo, hi = fitted.predictive(test["params"], test["tokens"]).interval(0.8)
        loss = test["loss"].to_numpy()
        inside += int(((loss >= lo) & (loss <= hi)).sum())
        count += loss.size
    assert 0.6 <= inside / count <= 0.95, f"{inside} of {count} held-out runs inside their 80% intervals"


# A law near the published Chinchilla fits (the example): the law a user's clean runs follow.
CHINCHILLA = {"E": 1.75, "A": 450.0, "B": 1800.0, "alpha": 0.33, "beta": 0.37}


def _chinchilla_log_loss(params: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    c = CHINCHILLA
    return np.log(chinchilla_loss(np.log(params), np.log(tokens), np.log(c["E"]), np.log(c["A"]), np.log(c["B"]),
                                  c["alpha"], c["beta"]))


def _user_runs(params: np.ndarray, tokens: np.ndarray, loss: np.ndarray) -> pd.DataFrame:
    """A user's run file as the fit reads it: one family, no repeated data, C = 6ND."""
    return pd.DataFrame({"family": "user", "run_id": [f"r{i}" for i in range(params.size)], "params": params,
                         "tokens": tokens, "unique_tokens": np.nan, "compute": 6 * params * tokens, "loss": loss,
                         "loss_kind": "simulated"})


@pytest.mark.slow
@pytest.mark.needs_data
@pytest.mark.parametrize("noise, heavy, seed", [(0.005, False, 1), (0.01, False, 2), (0.02, False, 3), (0.01, True, 4)],
                         ids=["gaussian-0.5%", "gaussian-1%", "gaussian-2%", "student-t3-1%"])
def test_the_default_fit_of_a_users_runs_recovers_the_law_and_its_noise(population_cache, monkeypatch, noise, heavy,
                                                                         seed):
    """48 runs drawn from the law itself (6 IsoFLOP budgets, 1e18-1e21 FLOP, 8 sizes each) with Gaussian or
    Student-t(3) noise on log loss, fitted the default way (pooled): the 90% intervals hold the true constants
    and the noise model is the runs' own.

    Constants: a calibrated fit holds each true constant with probability 0.9; 4 of 5 is required, since the
    five share one posterior (one miss is 1 chance in 3 per family). Measured: 5 of 5 in each of the four
    families. When the population set every family's tails (one shared nu near 1.1) the fit held none of the
    five on such runs: it read clean runs as outliers.

    Noise: fresh runs from the truth at the fitted configurations (40 per configuration, 1,920) must fall
    inside the 50% and 80% predictive intervals about that often. Sampling error at 1,920 runs is 0.01; the
    tolerance (0.1) is for the shape of a Student-t likelihood against Gaussian runs. Measured 0.43-0.51 and
    0.76-0.85.
    """
    from scaling_forecast.fitting.pooled import PooledFit, load_population

    monkeypatch.setenv("SCALING_FORECAST_CACHE_DIR", str(population_cache))
    rng = np.random.default_rng(seed)
    budgets = np.logspace(18, 21, 6)
    params = (np.sqrt(budgets / 120)[:, None] * 10.0 ** np.linspace(-0.6, 0.6, 8)[None, :]).ravel()
    tokens = np.repeat(budgets, 8) / (6 * params) * 10.0 ** rng.uniform(-0.1, 0.1, params.size)
    truth = _chinchilla_log_loss(params, tokens)

    def draw(shape) -> np.ndarray:  # noise of unit standard deviation
        return rng.standard_t(3, shape) / np.sqrt(3) if heavy else rng.standard_normal(shape)

    runs = _user_runs(params, tokens, np.exp(truth + noise * draw(params.size)))
    fitted = PooledFit.fit(runs, source="simulated", source_sha256="-", population=load_population(), progress=False)
    assert fitted.diagnostics.converged, fitted.diagnostics.problems()
    post = fitted.idata["posterior"].to_dataset()
    held = [name for name, value in CHINCHILLA.items()
            if np.quantile(post[name], 0.05) <= value <= np.quantile(post[name], 0.95)]
    assert len(held) >= 4, f"90% intervals hold only {held} of {list(CHINCHILLA)}"
    fresh = np.exp(truth[None, :] + noise * draw((40, params.size)))
    predictive = fitted.predictive(params, tokens)
    for level in (0.5, 0.8):
        lo, hi = predictive.interval(level)
        inside = float(((fresh >= lo) & (fresh <= hi)).mean())
        assert abs(inside - level) <= 0.1, f"{inside:.2f} of fresh runs inside the {level:.0%} predictive intervals"


@pytest.mark.slow
@pytest.mark.needs_data
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_twelve_run_ladder_at_one_ratio_converges_with_default_settings(population_cache, monkeypatch, seed):
    """The usual design: 12 sizes from 1e8 to 3e9 parameters, each at 20 tokens per parameter, 1% noise; the
    default fit passes the product's diagnostics on the default sampler settings with seeds 0-3 (sampling once
    more with longer tuning where the first posterior misses them, as ``fit`` does and says). Reported in issue
    25: this design missed them on both seeds tried (R-hat 1.014), and ``fit`` then printed no forecast."""
    from scaling_forecast.fitting.pooled import PooledFit, load_population
    from scaling_forecast.fitting.settings import SamplerSettings

    monkeypatch.setenv("SCALING_FORECAST_CACHE_DIR", str(population_cache))
    params = np.logspace(8, np.log10(3e9), 12)
    tokens = 20 * params
    noise = 0.01 * np.random.default_rng(100).standard_normal(params.size)
    runs = _user_runs(params, tokens, np.exp(_chinchilla_log_loss(params, tokens) + noise))
    fitted = PooledFit.fit(runs, source="ladder", source_sha256="-", population=load_population(),
                           sampler=SamplerSettings(seed=seed), progress=False)
    assert fitted.diagnostics.converged, fitted.diagnostics.problems()
