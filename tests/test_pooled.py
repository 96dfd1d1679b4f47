"""The user's path pooled with the registered families: fit --runs, predict, allocate, report, save/load.

The runs stand in for a user's CSV: the smallest runs of a registered family, written without their
family name. The population prior comes from the session's fit of every registered family.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from scaling_forecast.fitting.pooled import POOLED_FORMAT, PooledFit, load_population
from scaling_forecast.fitting.population import slope_posterior
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.inputs.families import FAMILIES, load_families
from scaling_forecast.models.priors import FAMILY_CONSTANTS


def _cli(cache, *args, timeout=600) -> subprocess.CompletedProcess:
    env = os.environ | {"SCALING_FORECAST_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "scaling_forecast", *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def _csv(path, family: str, n: int):
    runs = load_families((family,)).nsmallest(n, "compute")
    runs[["params", "tokens", "loss"]].to_csv(path, index=False)
    return runs


@pytest.fixture(scope="module")
def gemstones_fit(population_cache, tmp_path_factory):
    """`fit --runs` on gemstones' 60 smallest runs (up to 3.4e19 FLOP): the default, pooled, path."""
    folder = tmp_path_factory.mktemp("pooled")
    runs = _csv(folder / "runs.csv", "gemstones", 60)
    result = _cli(population_cache, "fit", "--runs", str(folder / "runs.csv"), "--out", str(folder / "fit.nc"))
    return folder, runs, result


@pytest.mark.needs_data
def test_fit_runs_pools_by_default_and_says_how_much_came_from_the_runs(gemstones_fit):
    folder, runs, result = gemstones_fit
    assert result.returncode == 0, result.stderr
    assert f"pooled with the population of {len(FAMILIES)} registered run families" in result.stdout
    assert "from your runs, not the population" in result.stdout
    fitted = ScalingLawFit.load(folder / "fit.nc")
    assert isinstance(fitted, PooledFit) and fitted.attrs["kind"] == "pooled"
    assert fitted.diagnostics.converged, fitted.diagnostics.problems()
    assert len(fitted.population["families"]) == len(FAMILIES) and fitted.population["key"]
    shares = fitted.contraction()
    assert shares["log_alpha"] > 0.5 and shares["level"] > 0.9  # 60 runs mostly speak for themselves


@pytest.mark.needs_data
def test_saved_pooled_fit_answers_predict_allocate_and_report(gemstones_fit, population_cache):
    folder, runs, _ = gemstones_fit
    fit_file = str(folder / "fit.nc")
    predict = _cli(population_cache, "predict", fit_file, "--params", "1e9", "--tokens", "2e11", "--json")
    assert predict.returncode == 0, predict.stderr
    row = json.loads(predict.stdout)["predictions"][0]
    assert row["observed_lo"] < row["observed_median"] < row["observed_hi"]
    assert 2.0 < row["observed_median"] < 3.0  # gemstones' losses sit between 2.5 and 3.5 nats at smaller scale
    allocate = _cli(population_cache, "allocate", fit_file, "--compute", "1e21")
    assert allocate.returncode == 0 and "N_opt" in allocate.stdout, allocate.stderr
    report = _cli(population_cache, "report", "--fit", fit_file, "--out", str(folder / "report.html"))
    assert report.returncode == 0, report.stderr
    assert "pooled" in (folder / "report.html").read_text(encoding="utf-8")



@pytest.mark.needs_data
def test_answers_from_a_saved_pooled_fit_import_nothing_that_fits(gemstones_fit, fitting_modules_after):
    """A pooled fit's forecasts (its departure and extrapolation error included) need no PyMC, ArviZ or SciPy
    statistics either."""
    folder, _, _ = gemstones_fit
    fit = str(folder / "fit.nc")
    code = f"import scaling_forecast as sf\nfit = sf.load({fit!r})\nfit.predict(1e9, 2e11)\nfit.allocate([1e21])"
    commands = (["predict", fit, "--params", "1e9", "--tokens", "2e11"], ["allocate", fit, "--compute", "1e21"])
    assert fitting_modules_after(code, commands) == []


@pytest.mark.needs_data
def test_a_saved_pooled_fit_is_what_arviz_expects(gemstones_fit):
    """The pooled model observes each configuration's seed-averaged log loss: its pointwise log likelihood and
    posterior predictive are saved for them, so loo and plot_ppc_dist work on the file alone."""
    import arviz as az

    folder, runs, _ = gemstones_fit
    tree = az.from_netcdf(folder / "fit.nc")
    configurations = tree["observed_data"]["mean_log_loss"].size
    assert tree["observed_data"]["log_loss"].size == len(runs) and 0 < configurations <= len(runs)
    loo = az.loo(tree)
    assert loo.n_data_points == configurations and np.isfinite(loo.elpd)
    assert tree["posterior_predictive"]["mean_log_loss"].shape[-1] == configurations
    assert az.plot_ppc_dist(tree, var_names=["mean_log_loss"]).viz["plot"]["mean_log_loss"].item().has_data()


@pytest.mark.needs_data
def test_loading_a_pooled_fit_gives_identical_forecasts(gemstones_fit):
    folder, _, _ = gemstones_fit
    first, second = ScalingLawFit.load(folder / "fit.nc"), ScalingLawFit.load(folder / "fit.nc")
    n, d = np.array([5e8, 2e9]), np.array([1e10, 4e11])
    assert first.predict(n, d).equals(second.predict(n, d))


@pytest.mark.needs_data
def test_pooled_forecasts_widen_with_distance_beyond_the_fitted_runs(gemstones_fit):
    """The law's departure, learned from the registered families, grows with distance in compute."""
    folder, runs, _ = gemstones_fit
    fitted = ScalingLawFit.load(folder / "fit.nc")
    top = runs.loc[runs["compute"].idxmax()]
    scale = np.array([1.0, 10.0, 100.0, 1000.0])
    table = fitted.predict(top["params"] * np.sqrt(scale), top["tokens"] * np.sqrt(scale), level=0.8)
    width = np.log(table["loss_hi"] / table["loss_lo"]).to_numpy()
    assert (np.diff(width) > 0).all(), width


@pytest.mark.needs_data
def test_plan_from_a_pooled_fit_carries_its_departure(gemstones_fit, population_cache):
    """plan's losses at a given compute carry the departure that predict adds (the split stays the law's),
    and where they cannot (the compute to a target loss) it says so."""
    from dataclasses import replace

    from scaling_forecast.answers import data_constrained, plan
    from scaling_forecast.fitting.draws import no_departure

    folder, runs, _ = gemstones_fit
    fitted = ScalingLawFit.load(folder / "fit.nc")
    law_only = replace(fitted.draws, departure=no_departure)
    n = float(runs["params"].max() * 30)  # a compute-optimal run well beyond the fitted runs
    (pooled,), (law,) = (plan.for_params(d, [n], level=0.8, seed=3) for d in (fitted.draws, law_only))
    assert pooled.tokens == law.tokens and pooled.compute == law.compute
    assert pooled.loss.hi - pooled.loss.lo > 1.2 * (law.loss.hi - law.loss.lo), (pooled.loss, law.loss)
    # Halving D keeps the run inside the same stretch of compute: the departure there is read at each draw's own
    # compute, as predict reads it at a point's.
    assert pooled.more_data[0.5].median > pooled.loss.median > pooled.more_data[2.0].median
    (limited,) = data_constrained.for_unique_tokens(fitted.draws, [n * 5], 1e22, r_star_d=15.4, r_star_n=5.3,
                                                    level=0.8, seed=3)
    (limited_law,) = data_constrained.for_unique_tokens(law_only, [n * 5], 1e22, r_star_d=15.4, r_star_n=5.3,
                                                        level=0.8, seed=3)
    assert limited.params == limited_law.params and limited.loss.hi - limited.loss.lo > limited_law.loss.hi - limited_law.loss.lo
    targeted = _cli(population_cache, "plan", str(folder / "fit.nc"), "--target-loss", "2.5")
    assert targeted.returncode == 0 and "without the departure from the law" in targeted.stderr, targeted.stderr


@pytest.mark.needs_data
def test_the_learned_bias_is_carried_only_as_far_as_it_was_learned(gemstones_fit):
    """Beyond ``extrapolation_reach`` decades the slope's mean stops adding up; its spread does not."""
    folder, _, _ = gemstones_fit
    fitted = ScalingLawFit.load(folder / "fit.nc")
    priors = json.loads(fitted.attrs["priors"])
    reach, (mean, sd) = priors["extrapolation_reach"], fitted.slope
    assert 1.0 < reach < 5.0 and priors["extrapolation"][0] < 0 < sd  # learned from the registered families' top thirds
    assert not fitted.few_runs and mean != 0  # 60 runs: not a ladder, the learned mean applies
    top = np.log10(fitted.runs["compute"].max())
    beyond = np.array([0.5, reach, reach + 1.0, reach + 3.0])
    capped = fitted.draws.departure(top + beyond, 0)
    fitted.attrs["priors"] = json.dumps(priors | {"extrapolation_reach": None})
    del fitted.draws  # the cached draws were built from the old attributes
    uncapped = fitted.draws.departure(top + beyond, 0)
    # Same seed, same draws: the two differ by exactly the mean's share beyond the reach.
    expected = np.broadcast_to((mean * (beyond - np.minimum(beyond, reach)))[:, None], capped.shape)
    np.testing.assert_allclose(uncapped - capped, expected, atol=1e-12)


@pytest.mark.needs_data
def test_the_familys_own_top_quarter_updates_its_extrapolation_slope(gemstones_fit):
    """60 runs: fitted below their top quarter, that quarter's errors update the population's slope."""
    folder, _, result = gemstones_fit
    fitted = ScalingLawFit.load(folder / "fit.nc")
    own = fitted.own_slope
    assert own["held_out_runs"] == 15 and own["fitted_runs"] == 45
    assert fitted.slope == tuple(own["posterior"]) != tuple(own["prior"])
    # Recomputed from the stored errors, and narrower than the population's slope: the runs are evidence.
    errors = pd.DataFrame(own["errors"])
    assert slope_posterior(tuple(own["prior"]), errors) == pytest.approx(fitted.slope, rel=1e-12)
    assert fitted.slope[1] < own["prior"][1]
    assert "updated by the runs' own top quarter by compute" in result.stdout


def test_slope_posterior_is_the_conjugate_one_when_errors_are_gaussian():
    """With nu -> infinity the Student-t likelihood is Gaussian and the slope's posterior has a closed form;
    the grid of 4001 points over +-6 sd resolves mean and sd to far better than 1e-4."""
    rng = np.random.default_rng(7)
    errors = pd.DataFrame({"decades": rng.uniform(0, 1, 12), "scale": rng.uniform(0.005, 0.02, 12)})
    errors["error"] = -0.02 * errors["decades"] + errors["scale"] * rng.standard_normal(12)
    prior = (-0.012, 0.015)
    precision = 1 / prior[1] ** 2 + (errors["decades"] ** 2 / errors["scale"] ** 2).sum()
    mean = (prior[0] / prior[1] ** 2 + (errors["decades"] * errors["error"] / errors["scale"] ** 2).sum()) / precision
    assert slope_posterior(prior, errors, nu=1e12) == pytest.approx((mean, precision**-0.5), rel=1e-4)


@pytest.mark.needs_data
def test_three_runs_give_a_wide_forecast_and_two_are_refused(population_cache, tmp_path):
    _csv(tmp_path / "three.csv", "gadre-rpj", 3)
    three = _cli(population_cache, "fit", "--runs", str(tmp_path / "three.csv"), "--out", str(tmp_path / "three.nc"))
    assert three.returncode in (0, 3), three.stderr  # converged or flagged, never a crash
    assert "rest mostly on the population" in three.stdout
    predict = _cli(population_cache, "predict", str(tmp_path / "three.nc"), "--params", "1e9", "--tokens", "2e10",
                   "--level", "0.8", "--allow-unconverged", "--json")
    row = json.loads(predict.stdout)["predictions"][0]
    assert row["observed_hi"] / row["observed_lo"] > 1.05  # three runs cannot pin a curve 2 decades out
    # A ladder (8 or fewer configurations) takes the population's extrapolation spread but not its mean (README,
    # "backtest --ladders"): its slope's mean is 0 and the page says why; a fit of many runs keeps the mean.
    fitted = ScalingLawFit.load(tmp_path / "three.nc")
    mean, sd = fitted.slope
    assert fitted.few_runs and mean == 0.0 and sd == json.loads(fitted.attrs["priors"])["extrapolation"][1] > 0
    assert "not shifted by that error's average" in fitted.interval_note()
    _csv(tmp_path / "two.csv", "gadre-rpj", 2)
    two = _cli(population_cache, "fit", "--runs", str(tmp_path / "two.csv"), "--out", str(tmp_path / "two.nc"))
    assert two.returncode == 2 and "Traceback" not in two.stderr
    assert two.stderr.strip().splitlines() == ["error: only 2 runs selected; this fit needs at least 3"]


@pytest.mark.needs_data
def test_no_pool_fits_the_law_alone(population_cache, tmp_path):
    _csv(tmp_path / "runs.csv", "gadre-rpj", 20)
    result = _cli(population_cache, "fit", "--runs", str(tmp_path / "runs.csv"), "--no-pool", "--out",
                  str(tmp_path / "fit.nc"), "--json")
    assert result.returncode in (0, 3), result.stderr
    assert json.loads(result.stdout)["kind"] == "single"
    assert not isinstance(ScalingLawFit.load(tmp_path / "fit.nc"), PooledFit)
    pooled_dataset = _cli(population_cache, "fit", "--dataset", "gemstones", "--pool", "--out", str(tmp_path / "x.nc"))
    assert pooled_dataset.returncode == 2 and "--pool is for your own runs" in pooled_dataset.stderr


@pytest.mark.needs_data
def test_population_is_read_from_the_cache(population_cache, monkeypatch):
    monkeypatch.setenv("SCALING_FORECAST_CACHE_DIR", str(population_cache))
    population = load_population()
    assert population.diagnostics["converged"] is not None and len(population.prior.mean) == len(FAMILY_CONSTANTS)
    assert np.all(np.linalg.eigvalsh(np.asarray(population.prior.cov)) > 0)


@pytest.mark.needs_data
def test_leave_one_family_out_follows_the_users_path(mirror, tmp_path, monkeypatch):
    """Reduced to the three gadre families with gadre-rpj left out: its population is built from the other
    two only, its runs below the top third are the CSV, and every method forecasts the same top third."""
    from scaling_forecast.answers.backtest import leave_one_family_out, split, user_path_methods
    from scaling_forecast.fitting.settings import SamplerSettings

    monkeypatch.setenv("SCALING_FORECAST_CACHE_DIR", str(tmp_path))
    runs = load_families(("gadre-c4_original", "gadre-rpj", "gadre-rw_original"))
    table = leave_one_family_out(runs, ("gadre-rpj",), user_path_methods(few=3), sampler=SamplerSettings(draws=500), workers=2)
    train, test = split(runs[runs["family"] == "gadre-rpj"], 1 / 3)
    assert table["method"].tolist() == ["pooled", "per_family", "baseline", "pooled_few_3"]
    assert table["n_train"].tolist() == [len(train)] * 3 + [3] and (table["n_test"] == len(test)).all()
    (cache,) = (tmp_path / "population").glob("*.json")
    population = json.loads(cache.read_text())
    assert population["provenance"]["families"] == ["gadre-c4_original", "gadre-rw_original"]
    for row in table.itertuples():
        assert abs(row.bias) <= row.mape and len(row.errors) == len(test)  # |median signed| <= median |error|
    pooled = table[table["method"] == "pooled"].iloc[0]
    if not population["diagnostics"]["converged"]:  # two families are a thin population: then it must say so
        assert not pooled["converged"] and "population fit" in pooled["problems"]


@pytest.mark.needs_data
def test_a_pooled_file_of_another_format_is_refused_with_one_line(gemstones_fit, population_cache, tmp_path):
    import arviz as az

    folder, _, _ = gemstones_fit
    tree = az.from_netcdf(folder / "fit.nc").load()
    tree.attrs["pooled_format"] = 0  # as an older version wrote it: fit format 1, before the attribute hash
    tree.attrs["fit_format"] = 1
    del tree.attrs["config_sha256"]
    tree.to_netcdf(tmp_path / "old.nc")
    result = _cli(population_cache, "predict", str(tmp_path / "old.nc"), "--params", "1e9", "--tokens", "2e10")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {tmp_path / 'old.nc'}: a pooled fit of format 0") and f"this version reads format {POOLED_FORMAT}" in line


@pytest.mark.needs_data
def test_the_readme_python_block_runs_as_written(population_cache, tmp_path, monkeypatch):
    """README "From Python": six lines from a CSV of one's runs to a forecast table, an allocation, two
    figures and a saved fit, run as written in a folder holding my_runs.csv."""
    import re
    from pathlib import Path

    from matplotlib.figure import Figure

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"### From Python\n.*?```python\n(.*?)```", readme, re.DOTALL)
    assert len(block.strip().splitlines()) <= 6
    _csv(tmp_path / "my_runs.csv", "gemstones", 40)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SCALING_FORECAST_CACHE_DIR", str(population_cache))
    lines = block.strip().splitlines()
    namespace = {}
    exec("\n".join(lines[:2]), namespace)
    results = [eval(line.split("#")[0], namespace) for line in lines[2:]]
    forecast, allocation, figures, saved = results
    assert list(forecast["params"]) == [7e9, 7e10] and (forecast["loss_lo"] < forecast["loss_hi"]).all()
    assert (allocation["params_lo"] < allocation["params_hi"]).all()
    assert all(isinstance(f, Figure) for f in figures) and Path(saved).exists()
    assert namespace["sf"].load("my_fit.nc").kind == "pooled"
