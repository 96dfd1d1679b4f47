"""The point-estimate baseline (Huber loss + L-BFGS-B from Hoffmann's grid, bootstrap refits)."""

import numpy as np
import pandas as pd
import pytest

from scaling_forecast.core.errors import InputError
from scaling_forecast.fitting import baseline
from scaling_forecast.inputs import published, runs
from scaling_forecast.models.laws import chinchilla_loss

TRUTH = {"log_e": np.log(1.8), "log_a": np.log(480.0), "log_b": np.log(2100.0), "alpha": 0.35, "beta": 0.37}


def _simulate(seed: int, noise: float, n_runs: int = 120):
    """Runs on an IsoFLOP-like design (6 budgets x 20 sizes) from TRUTH, log-normal noise on the loss."""
    rng = np.random.default_rng(seed)
    compute = np.repeat(np.logspace(18, 22, 6), n_runs // 6)
    params = np.tile(np.logspace(-1, 1, n_runs // 6), 6) * np.sqrt(compute / 120)
    tokens = compute / (6 * params)
    loss = chinchilla_loss(np.log(params), np.log(tokens), **TRUTH) * np.exp(rng.normal(0, noise, params.size))
    return params, tokens, loss


@pytest.fixture(scope="module")
def chinchilla_runs(mirror):
    """Besiroglu et al.'s 240 runs: chinchilla-epoch without the 5 highest losses."""
    table = runs.load("chinchilla-epoch")
    table = table.drop(table["loss"].nlargest(5).index)
    assert len(table) == 240
    return table["params"].to_numpy(), table["tokens"].to_numpy(), table["loss"].to_numpy()


@pytest.fixture(scope="module")
def chinchilla_fit(chinchilla_runs):
    return baseline.fit_huber(*chinchilla_runs)


@pytest.mark.needs_data
def test_reproduces_besiroglu_huber_fit(chinchilla_fit):
    fit = chinchilla_fit
    assert fit.converged
    # Their notebook's "Replicate exactly" cell runs this procedure (L-BFGS-B from all 4500
    # grid starts) and prints A=477.92, B=2143.07, E=1.8172, alpha=0.34732, beta=0.36716 at
    # objective 0.00101827402. Its default tolerances and finite differences stop a hair
    # early along the flat A-alpha / B-beta ridge (1e-8 relative in the objective), which
    # moves log A, log B by ~2e-4 and the exponents by ~1e-5; hence these tolerances.
    assert fit.objective <= 0.00101827402  # no worse than the best of their 4500 runs
    assert fit.log_a == pytest.approx(np.log(477.9237687), abs=1e-3)
    assert fit.log_b == pytest.approx(np.log(2143.0690289), abs=1e-3)
    assert fit.E == pytest.approx(1.8172225, abs=1e-4)
    assert fit.alpha == pytest.approx(0.3473227, abs=1e-4)
    assert fit.beta == pytest.approx(0.3671642, abs=1e-4)


@pytest.mark.needs_data
def test_close_to_besiroglu_published_estimates(chinchilla_fit):
    # The paper's numbers (482.01, 2085.43, 1.817, 0.3478, 0.3658) come from another cell of
    # their notebook: a maximum-likelihood fit of a Huber density with a free scale, which
    # makes the effective delta ~5e-9 (nearly least absolute deviations). With the same
    # optimiser and start we reproduce them to 8 digits with that objective; plain
    # Huber(1e-3) gives A -0.9%, B +2.8%, alpha -0.0005, beta +0.0014, E +0.0002. The
    # tolerances allow that gap with some margin; it is under 2% of the width of each 95% interval.
    theirs = published.constants("chinchilla", "besiroglu2024")["value"]
    fit = chinchilla_fit
    assert fit.E == pytest.approx(theirs["E"], abs=2e-3)
    assert fit.A == pytest.approx(theirs["A"], rel=0.02)
    assert fit.B == pytest.approx(theirs["B"], rel=0.04)
    assert fit.alpha == pytest.approx(theirs["alpha"], abs=1e-3)
    assert fit.beta == pytest.approx(theirs["beta"], abs=2.5e-3)


def test_recovers_the_law_from_noise_free_runs():
    fit = baseline.fit_huber(*_simulate(seed=0, noise=0.0))
    assert fit.converged and fit.objective < 1e-20
    for name, value in TRUTH.items():
        assert getattr(fit, name) == pytest.approx(value, abs=1e-6), name


def test_recovers_the_law_from_noisy_runs():
    # Noise sd 0.002 in log loss (0.2%). Over 10 seeds the worst errors were 0.005 in log E,
    # 0.08 in log A and log B, 0.0042 in the exponents; the bounds are ~2.5 times those.
    fit = baseline.fit_huber(*_simulate(seed=1, noise=0.002))
    assert fit.converged
    assert fit.log_e == pytest.approx(TRUTH["log_e"], abs=0.0125)
    assert fit.log_a == pytest.approx(TRUTH["log_a"], abs=0.2)
    assert fit.log_b == pytest.approx(TRUTH["log_b"], abs=0.2)
    assert fit.alpha == pytest.approx(TRUTH["alpha"], abs=0.01)
    assert fit.beta == pytest.approx(TRUTH["beta"], abs=0.01)


def test_best_grid_starts_find_the_same_optimum_as_more_starts():
    data = _simulate(seed=2, noise=0.002)
    few, many = baseline.fit_huber(*data, n_starts=8), baseline.fit_huber(*data, n_starts=200)
    assert few.objective == pytest.approx(many.objective, rel=1e-9)
    np.testing.assert_allclose(few.theta, many.theta, atol=1e-4)


@pytest.mark.needs_data
def test_small_bootstrap_brackets_the_fit_and_is_reproducible(chinchilla_runs, chinchilla_fit):
    draws = baseline.bootstrap(*chinchilla_runs, n_boot=50, seed=7, start=chinchilla_fit)
    assert len(draws) == 50 and draws["converged"].all()
    assert list(draws.columns[:8]) == ["E", "A", "B", "alpha", "beta", "log_e", "log_a", "log_b"]
    np.testing.assert_allclose(draws["A"], np.exp(draws["log_a"]))
    values = draws.drop(columns="converged")
    lo, hi = values.quantile(0.025), values.quantile(0.975)
    for name in ["E", "A", "B", "alpha", "beta"]:
        point = getattr(chinchilla_fit, name)
        assert lo[name] < point < hi[name], name
        assert hi[name] > lo[name] * (1.001 if name in {"E", "alpha", "beta"} else 1.1), name  # not degenerate
    same = baseline.bootstrap(*chinchilla_runs, n_boot=50, seed=7, start=chinchilla_fit)
    pd.testing.assert_frame_equal(draws, same)
    other = baseline.bootstrap(*chinchilla_runs, n_boot=50, seed=8, start=chinchilla_fit)
    assert not np.allclose(other["alpha"], draws["alpha"])


def test_bootstrap_does_not_depend_on_the_number_of_processes():
    data = _simulate(seed=3, noise=0.003)
    fit = baseline.fit_huber(*data)
    serial = baseline.bootstrap(*data, n_boot=24, seed=1, start=fit)
    parallel = baseline.bootstrap(*data, n_boot=24, seed=1, start=fit, n_jobs=2)
    pd.testing.assert_frame_equal(serial, parallel)


def test_baseline_fit_is_the_grid_fit_plus_its_bootstrap():
    data = _simulate(seed=4, noise=0.003)
    fit, draws = baseline.baseline_fit(*data, n_boot=10, seed=5)
    assert fit == baseline.fit_huber(*data)
    pd.testing.assert_frame_equal(draws, baseline.bootstrap(*data, n_boot=10, seed=5, start=fit))


def test_hoffmann_grid_is_their_4500_starts():
    grid = baseline.HOFFMANN_GRID
    assert grid.shape == (4500, 5)
    axes = {name: sorted(set(grid[:, i])) for i, name in enumerate(baseline.PARAMETERS)}
    assert axes["log_e"] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert axes["log_a"] == axes["log_b"] == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
    assert axes["alpha"] == axes["beta"] == [0.0, 0.5, 1.0, 1.5, 2.0]


@pytest.mark.parametrize(
    "params, tokens, loss",
    [
        ([1e8, 1e9, 1e10, 1e11, 1e12], [1e9] * 5, [3.0] * 4),  # lengths differ
        ([1e8, 1e9, 1e10, 1e11, -1.0], [1e9] * 5, [3.0] * 5),  # not positive
        ([1e8, 1e9, 1e10, 1e11, 1e12], [1e9] * 5, [3.0, 3.0, np.nan, 3.0, 3.0]),  # not finite
        ([1e8, 1e9], [1e9, 1e10], [3.0, 2.9]),  # fewer runs than parameters
    ],
)
def test_refuses_runs_it_cannot_fit(params, tokens, loss):
    with pytest.raises(InputError):
        baseline.fit_huber(params, tokens, loss)
