"""The data wall: components against their published intervals, the exact exhaustion year against a grid
search, demand through the Chinchilla frontier, and the command end to end on the mirror."""

import json
import subprocess
import sys

import numpy as np
import pymc as pm
import pytest
from golden import check, normalise

from scaling_forecast.answers import datawall as dw
from scaling_forecast.answers import datawall_answer as answer
from scaling_forecast.answers.allocation import optimum
from scaling_forecast.fitting.draws import LawDraws
from scaling_forecast.inputs import published
from scaling_forecast.models import law_registry as laws
from scaling_forecast.models.datawall import components_model
from scaling_forecast.models.stock import Component, log_stock


def _law(rng, size) -> LawDraws:
    """Besiroglu et al.'s constants, perturbed per draw."""
    c = published.constants("chinchilla", "besiroglu2024")["value"]
    values = {"log_E": np.log(c["E"]) + rng.normal(0, 0.05, size), "log_A": np.log(c["A"]) + rng.normal(0, 0.3, size),
              "log_B": np.log(c["B"]) + rng.normal(0, 0.3, size), "alpha": c["alpha"] * rng.uniform(0.9, 1.1, size),
              "beta": c["beta"] * rng.uniform(0.9, 1.1, size)}
    return LawDraws(laws.get("chinchilla"), values, np.full(size, 0.01), np.full(size, 5.0))


def _draws(seed: int = 0, size: int = 4000) -> dw.WallDraws:
    rng = np.random.default_rng(seed)
    prior = pm.sample_prior_predictive(draws=size, model=components_model(dw.published_components()),
                                       random_seed=seed)["prior"]
    components = {name: prior[name].to_numpy().reshape(-1) for name in dw.COMPONENTS}
    r_stars = {"R_star_D": np.full(size, 15.4), "R_star_N": np.full(size, 5.3)}
    return dw.WallDraws(components, rng.normal(0.38, 0.05, size), rng.normal(0.6, 0.06, size), _law(rng, size), r_stars,
                        "R*_D = 15.4, R*_N = 5.3", rng.random(size) < 0.5)


@pytest.fixture(scope="module")
def draws() -> dw.WallDraws:
    return _draws()


def test_components_match_their_published_intervals(draws):
    # 4000 draws: the 2.5% and 97.5% sample quantiles have a relative sd of about 0.1 sigma
    # on the log scale, so 0.15 in log units is several standard errors.
    for name, c in dw.published_components().items():
        lo, hi = np.quantile(draws.components[name], [(1 - c.level) / 2, (1 + c.level) / 2])
        assert abs(np.log(lo) - np.log(c.low)) < 0.15 and abs(np.log(hi) - np.log(c.high)) < 0.15, name
    bytes_per_token = draws.components["bytes_per_token"]
    assert 0 < bytes_per_token.min() and bytes_per_token.max() < 6 and abs(np.median(bytes_per_token) - 4) < 0.1


def test_fixed_component_is_exact():
    c = Component(2.0, 5.0).fixed(3.0)
    prior = pm.sample_prior_predictive(draws=10, model=components_model({"repetition_gain": c}), random_seed=1)["prior"]
    assert np.all(prior["repetition_gain"].to_numpy() == 3.0)


def test_exhaustion_year_is_where_demand_first_reaches_the_stock(draws):
    """The closed form against a grid search over years, draw by draw (grid step 0.01 year)."""
    grid = np.arange(2000.0, 2100.0, 0.01)
    for demand, k, repetition in (("dataset_trend", 1.0, True), ("compute", 5.0, False), ("mixture", 1.0, True)):
        years = dw.exhaustion_year(draws, demand, k, repetition)[:200]
        d0, d1 = (v[:200] for v in dw.log_demand_line(draws, demand, k))
        sub = {n: v[:200] for n, v in draws.components.items()}
        reached = d0 + d1 * (grid[:, None] - 2024) >= log_stock(sub, grid[:, None], repetition=repetition)
        first = np.where(reached.any(axis=0), grid[reached.argmax(axis=0)], np.inf)
        inside = (years > grid[0]) & (years < grid[-1])
        assert inside.mean() > 0.95
        assert np.allclose(first[inside], years[inside], atol=0.011)


def test_compute_demand_is_the_overtrained_chinchilla_optimum(draws):
    """At 2024 the compute-based run has sqrt(k) times the optimal tokens of the frontier compute."""
    compute = draws.components["largest_compute_2024"][:300]
    frontier = type(draws.law.frontier())(*(v[:300] for v in draws.law.frontier()))
    d_opt = np.diagonal(optimum(frontier, compute)["tokens"])  # budget i with draw i
    for k in (1.0, 5.0):
        d0, _ = dw.log_demand_line(draws, "compute", k)
        assert np.allclose(np.exp(d0[:300]), np.sqrt(k) * d_opt, rtol=1e-9)


def test_the_cap_never_lowers_loss_and_grows_after_the_wall(draws):
    early, late = (answer.loss_of_frontier(draws, np.full(draws.size, y), 1.0, 0.8, 0) for y in (2026.0, 2036.0))
    assert early.penalty.lo >= 0 and late.penalty.median > early.penalty.median
    assert late.epochs.median > early.epochs.median


def test_at_the_wall_the_run_is_replanned_for_the_data_it_has(draws):
    """The capped run is the data-constrained optimum: per draw no worse than keeping the split planned for
    unlimited data, and (Muennighoff et al.'s direction) a smaller model on more epochs in most draws."""
    from scaling_forecast.answers import data_constrained

    year = np.full(draws.size, 2034.0)
    run = dw.frontier_run(draws, year, 1.0)
    v, r = draws.law.values, draws.r_stars
    log_budget = run["log_n"] + run["log_d"]
    log_n = data_constrained.optimum(v, log_budget, run["log_u"], r["R_star_D"], r["R_star_N"])
    replanned, kept = (data_constrained.loss(v, n, log_budget - n, run["log_u"], r["R_star_D"], r["R_star_N"])
                       for n in (log_n, run["log_n"]))
    # Re-planning gains where the planned run repeats, except where both N and D lie so far beyond the stock
    # (hundreds of epochs) that every split gives the same loss.
    assert (replanned <= kept + 1e-12).all() and (replanned < kept).mean() > 0.5
    assert (log_n < run["log_n"]).mean() > 0.5
    assert answer.loss_of_frontier(draws, year, 1.0, 0.8, 0).params.median == pytest.approx(np.exp(np.median(log_n)), rel=1e-6)


def test_sensitivity_shares(draws):
    table = answer.sensitivity(draws).set_index("input")
    # Fixing an input removes its variance; with the others' draws unchanged the remainder moves only by noise.
    assert table["variance_share"].between(-0.05, 1).all()
    assert table.loc["bytes_per_page", "variance_share"] < 0.02  # a prior whose 95% interval spans only 1.34x
    assert table.loc["indexed_pages", "variance_share"] > 0.1  # one spanning 13x
    assert "repetition_gain" not in answer.sensitivity(draws, repetition=False)["input"].tolist()


@pytest.fixture(scope="session")
def chinchilla_fit(chinchilla_epoch_file):
    return chinchilla_epoch_file


def _datawall(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scaling_forecast", "datawall", *args], capture_output=True, text=True,
                          timeout=600)


@pytest.mark.needs_data
def test_datawall_command_against_villalobos(chinchilla_fit, tmp_path):
    out = tmp_path / "wall.html"
    run = _datawall("--fit", str(chinchilla_fit), "--out", str(out), "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["warnings"] == []
    stock = result["stock_2024"]["effective"]
    # The same published priors: the stock's 90% interval lands on theirs (3e14, 1e14 to 1e15) within 25%.
    assert stock["level"] == 0.9 and 2.4e14 < stock["median"] < 4e14
    assert 0.75e14 < stock["lo"] < 1.25e14 and 0.75e15 < stock["hi"] < 1.25e15
    tokens = result["growth"]["tokens_growth"]
    assert 0.27 < tokens["median"] < 0.48  # inside Villalobos et al.'s 95% bootstrap interval of the slope
    headline = next(r for r in result["scenarios"] if r["demand"] == "mixture" and r["overtrain"] == 1 and r["repetition"])
    assert 2026 <= headline["median"] <= 2032 and headline["lo_0.8"] < headline["median"] < headline["hi_0.8"]
    p = list(headline["p_by_year"].values())
    year = int(headline["median"])  # the calendar year holding the median: P(exhausted by its end) passes 0.5 there
    assert p == sorted(p) and headline["p_by_year"][str(year - 1)] < 0.5 <= headline["p_by_year"][str(year)]
    by_k = {r["overtrain"]: r["median"] for r in result["scenarios"] if r["demand"] == "compute" and r["repetition"]}
    assert by_k[10.0] < by_k[5.0] < by_k[1.0]  # overtraining needs more tokens per FLOP: the wall comes earlier
    no_rep = next(r for r in result["scenarios"] if r["demand"] == "mixture" and r["overtrain"] == 1 and not r["repetition"])
    assert no_rep["median"] < headline["median"]
    assert {r["input"] for r in result["sensitivity"]} >= set(dw.COMPONENTS) | {"tokens_growth", "compute_growth"}
    assert result["sensitivity"][0]["input"] == "indexed_pages"  # the widest prior dominates, as in Villalobos et al.
    assert out.read_text(encoding="utf-8").count("data:image/png;base64,") == 1
    check("datawall-json", normalise(run.stdout, {"<results>": str(tmp_path), "<fit>": str(chinchilla_fit)}))



@pytest.mark.needs_data
def test_the_growth_regressions_are_fitted_once(chinchilla_fit, isolated_cache, fitting_modules_after, tmp_path):
    """The first data wall fits the growth regressions and caches them; the next, from the same saved fit,
    reads them back: the same answer, and no PyMC, nutpie or ArviZ imported."""
    command = ["datawall", "--fit", str(chinchilla_fit), "--out", str(tmp_path / "w.html"), "--json"]
    first = _datawall(*command[1:])
    assert first.returncode == 0, first.stderr
    assert len(list((isolated_cache / "datawall").glob("*.nc"))) == 1
    assert fitting_modules_after(commands=(command,)) == []
    assert _datawall(*command[1:]).stdout == first.stdout


@pytest.mark.needs_data
def test_a_bigger_web_moves_the_wall_later(chinchilla_fit, tmp_path):
    def headline(*args):
        run = _datawall("--fit", str(chinchilla_fit), "--out", str(tmp_path / "w.html"), "--json", *args)
        assert run.returncode == 0, run.stderr
        rows = json.loads(run.stdout)["scenarios"]
        return next(r for r in rows if r["demand"] == "mixture" and r["overtrain"] == 1 and r["repetition"])

    default, fixed = headline("--overtrain", "1"), headline("--overtrain", "1", "--set", "indexed_pages=1e12")
    assert fixed["median"] > default["median"] + 0.5
    assert fixed["hi_0.8"] - fixed["lo_0.8"] < default["hi_0.8"] - default["lo_0.8"]  # one uncertainty fewer


@pytest.mark.parametrize("args, message", [
    (("--set", "pages=1e12"), "--set 'pages=1e12': expected NAME=..."),
    (("--set", "indexed_pages=lots"), "values must be numbers"),
    (("--prior", "usable_fraction=0.4,0.1"), "need LOW < HIGH"),
    (("--prior", "bytes_per_token=2,7"), "7 is outside the plausible range of bytes_per_token, 0.5 to 6"),
    (("--set", "usable_fraction=-1"), "-1 is outside the plausible range of usable_fraction"),
])
def test_bad_component_options_are_one_line_errors(args, message):
    run = _datawall(*args)
    assert run.returncode == 2 and run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_the_wall_exports_one_row_per_number(draws):
    """exports.quantities: every interval of the answer a row with its median and ends, every other number a value."""
    from scaling_forecast.reporting import exports

    result = answer.analyse(draws, overtrain=(1.0,), level=0.8)
    table = exports.quantities(result)
    row = table.set_index("quantity").loc["loss_at_wall.1.penalty"]
    assert row["median"] == result.loss_at_wall["1"].penalty.median and row["lo"] <= row["median"] <= row["hi"]
    assert table.set_index("quantity").loc["draws", "value"] == draws.size
    assert table["quantity"].is_unique
