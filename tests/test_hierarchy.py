"""The hierarchical model, its data handling, predictive scores and the backtest (real sampler, fixed seeds)."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from scaling_forecast.answers.backtest import backtest, in_family_methods, scores, smallest, split
from scaling_forecast.fitting.hierarchical import configurations
from scaling_forecast.fitting.predictive import Predictive
from scaling_forecast.fitting.settings import SamplerSettings
from scaling_forecast.inputs.families import FAMILIES, load_families
from scaling_forecast.models.laws import effective_log_tokens


def _table(rows) -> pd.DataFrame:
    columns = ["family", "run_id", "params", "tokens", "unique_tokens", "compute", "loss"]
    table = pd.DataFrame(rows, columns=columns)
    return table.assign(compute=table["compute"].astype(float).fillna(6 * table["params"] * table["tokens"]))


def test_repeated_seeds_become_one_configuration():
    table = _table([
        ("a", "s1", 1e8, 2e9, np.nan, None, 3.0),
        ("a", "s2", 1e8, 2e9, np.nan, None, 3.3),
        ("a", "s3", 1e8, 2e9, np.nan, None, 3.1),
        ("a", "x", 1e8, 2e9, 1e9, None, 3.4),  # same N and D from fewer unique tokens: another configuration
        ("b", "y", 1e8, 2e9, np.nan, None, 2.5),  # same N and D in another family: another configuration
    ])
    configs = configurations(table)
    assert len(configs) == 3
    first = configs.iloc[0]
    logs = np.log([3.0, 3.3, 3.1])
    assert first["seeds"] == 3 and first["mean_log_loss"] == pytest.approx(logs.mean())
    assert first["within_ss"] == pytest.approx(((logs - logs.mean()) ** 2).sum())
    assert configs["unique_tokens"].tolist() == [2e9, 1e9, 2e9]  # unknown U means no repetition
    assert configs["seeds"].tolist() == [3, 1, 1] and configs["within_ss"].iloc[1:].tolist() == [0.0, 0.0]


def test_effective_tokens_follow_muennighoff():
    log_u = np.log(1e9)
    assert effective_log_tokens(log_u, log_u, 15.4) == pytest.approx(log_u)  # no repetition: D' = D
    four_epochs = np.exp(effective_log_tokens(np.log(4e9), log_u, 15.4))
    assert 3.5e9 < four_epochs < 4e9  # a few epochs are worth almost as much as fresh data
    many = np.exp(effective_log_tokens(np.log(1e9 * 1000), log_u, 15.4))
    assert many == pytest.approx(1e9 * (1 + 15.4), rel=1e-6)  # saturates at U (1 + R*_D)


def test_predictive_density_and_intervals_are_the_mixtures():
    rng = np.random.default_rng(0)
    mu = rng.normal(1.0, 0.01, size=(1, 4000))
    predictive = Predictive(mu, np.full(4000, 0.02), np.full(4000, 5.0))
    y = np.array([np.exp(1.03)])
    expected = np.log(np.mean(stats.t.pdf(np.log(y)[0], 5.0, loc=mu[0], scale=0.02)))
    assert predictive.log_density(y)[0] == pytest.approx(expected, rel=1e-10)
    # Calibration: losses drawn from the same predictive fall inside its 80% interval about 80% of the time;
    # 2000 draws give a binomial sd of 0.9 points, so +-3 points is a wide margin.
    draws = np.exp(mu[0, :2000] + 0.02 * rng.standard_t(5.0, size=2000))
    lo, hi = Predictive(np.repeat(mu, 2000, axis=0), np.full(4000, 0.02), np.full(4000, 5.0)).interval(0.8)
    assert 0.77 < np.mean((draws >= lo) & (draws <= hi)) < 0.83


def test_split_holds_out_the_largest_compute_with_seeds_together():
    rows = [("a", f"r{i}", 1e8 * (i + 1), 2e9, np.nan, None, 3.0 - 0.01 * i) for i in range(10)]
    rows += [("a", "r9-seed2", 1e9, 2e9, np.nan, None, 2.9)]  # a second seed of the largest configuration
    rows += [("b", f"q{i}", 1e8 * (i + 1), 1e9, np.nan, None, 3.5) for i in range(5)]
    train, test = split(_table(rows), holdout=0.2)
    assert sorted(test[test["family"] == "a"]["run_id"]) == ["r8", "r9", "r9-seed2"]
    assert test[test["family"] == "b"]["run_id"].tolist() == ["q4"]
    assert len(train) + len(test) == 16 and set(train.index).isdisjoint(test.index)
    few = smallest(train, "a", 3)
    assert sorted(few[few["family"] == "a"]["run_id"]) == ["r0", "r1", "r2"] and (few["family"] == "b").sum() == 4


def test_scores_of_a_perfect_forecast():
    loss = np.array([2.0, 2.5])
    predictive = Predictive(np.log(loss)[:, None] + np.zeros((2, 500)), np.full(500, 1e-3), np.full(500, 50.0))
    s = scores(predictive, loss)
    assert s["mape"] < 0.1 and s["coverage_0.95"] == 1.0 and s["width_0.8"] < 0.01 and s["n_test"] == 2


@pytest.mark.needs_data
def test_hierarchical_fit_over_every_registered_family(registered_fit):
    """Every family gets its own constants. Convergence is reported, not asserted: with the default seed
    this fit misses the thresholds narrowly (issue 5's closing note), and the product flags that."""
    runs, fitted = registered_fit
    assert set(fitted.families) == set(runs["family"]) and len(fitted.families) == len(FAMILIES)
    post = fitted.idata["posterior"].to_dataset()
    assert post["alpha"].sizes["family"] == post["nu"].sizes["family"] == len(FAMILIES) and np.isfinite(fitted.diagnostics.r_hat_max)
    print("all families:", fitted.diagnostics)


@pytest.mark.needs_data
def test_a_new_familys_forecast_is_wider_than_a_fitted_familys(registered_fit):
    _, fitted = registered_fit
    n, d = np.array([1e9, 1e10]), np.array([2e10, 2e11])
    known, new = fitted.predictive(n, d, family="chinchilla"), fitted.predictive(n, d)
    known_lo, known_hi = known.interval(0.8)
    new_lo, new_hi = new.interval(0.8)
    assert ((new_hi - new_lo) > 5 * (known_hi - known_lo)).all()  # the population knows little of a new loss scale


@pytest.mark.needs_data
def test_forecasts_widen_with_distance_beyond_the_fitted_compute(registered_fit):
    """The law's departure along log compute is known where a family has runs and fades to its prior
    size beyond them, so a forecast 100x past the largest run is less sure than one at it."""
    _, fitted = registered_fit
    own = fitted.configs[fitted.configs["family"] == "llama3"]
    top = own.loc[own["compute"].idxmax()]
    scale = np.array([1.0, 10.0, 100.0])  # compute multiples at the same tokens per parameter
    lo, hi = fitted.predictive(top["params"] * np.sqrt(scale), top["tokens"] * np.sqrt(scale), family="llama3").interval(0.8)
    width = np.log(hi / lo)
    assert width[0] < width[1] < width[2]
    drift = fitted.idata["posterior"]["drift"].to_numpy()
    assert 0 < np.median(drift) < 0.05  # a departure of a few percent of the loss, not zero, not the whole loss


@pytest.mark.needs_data
def test_backtest_cli_reduced(backtest_run):
    """Two families, few-shot from 5 runs: every method and score is reported, and the page written."""
    result, out = backtest_run
    assert out.exists()
    payload = json.loads(result.stdout)
    rows = pd.DataFrame(payload["families"])
    assert result.returncode == (0 if rows["converged"].all() else 3), result.stderr  # flagged fits exit 3, as everywhere
    assert set(rows["method"]) == {"hierarchical", "per_family", "baseline", "few_shot_5"}
    assert len(rows) == 8 and (rows["n_test"] > 0).all()
    for level in ("0.5", "0.8", "0.95"):
        assert rows[f"coverage_{level}"].between(0, 1).all()
    assert (rows["coverage_0.5"] <= rows["coverage_0.95"]).all()
    assert rows.loc[rows["method"] == "few_shot_5", "n_train"].tolist() == [5, 5]
    assert {r["method"] for r in payload["pooled"]} == set(rows["method"])
    exported = pd.read_csv(out.with_suffix(".csv"))  # --export: the same rows; levels are in the column names
    assert len(exported) == len(rows) and "level" not in exported and "coverage_0.8" in exported
    assert out.read_text(encoding="utf-8").count("data:image/png;base64,") == 1


@pytest.mark.needs_data
def test_backtest_on_a_dask_cluster_matches_local_processes(mirror):
    """The same fits with the same seeds on a dask LocalCluster give the same scores as local processes."""
    from distributed import LocalCluster

    runs = load_families(("gadre-rpj", "gadre-c4_original"))
    sampler = SamplerSettings(draws=300, tune=300, seed=5)
    local = backtest(runs, in_family_methods(()), sampler=sampler, workers=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster:
        remote = backtest(runs, in_family_methods(()), sampler=sampler, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(local, remote)
