"""The Bayesian Chinchilla-law fit on real and simulated runs (real sampler, fixed seeds)."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pymc as pm
import pytest

from scaling_forecast.fitting.settings import SamplerSettings
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.inputs import published, runs
from scaling_forecast.models.chinchilla import chinchilla_model

TRUTH = {"E": 1.8, "A": 450.0, "B": 1900.0, "alpha": 0.34, "beta": 0.36}


@pytest.fixture(scope="session")
def chinchilla_fit(chinchilla_epoch_fit):
    return chinchilla_epoch_fit


@pytest.mark.needs_data
def test_chinchilla_epoch_fit_converges_inside_besiroglu_intervals(chinchilla_fit):
    assert chinchilla_fit.diagnostics.converged, chinchilla_fit.diagnostics.problems()
    assert len(chinchilla_fit.runs) == 240
    theirs = published.constants("chinchilla", "besiroglu2024")
    for name, p in chinchilla_fit.parameters(level=0.9).items():
        if name in theirs.index:
            assert theirs.loc[name, "lo"] <= p["median"] <= theirs.loc[name, "hi"], (name, p["median"])


@pytest.mark.needs_data
def test_saved_fit_gives_identical_forecasts_and_keeps_provenance(chinchilla_fit, tmp_path):
    path = chinchilla_fit.save(tmp_path / "fit.nc")
    loaded = ScalingLawFit.load(path)
    n, d = np.array([7e10, 1.75e11, 4.05e11]), np.array([1.4e12, 3e11, 1.56e13])
    pd.testing.assert_frame_equal(chinchilla_fit.predict(n, d), loaded.predict(n, d))
    attrs = loaded.attrs
    assert attrs["dataset"] == "chinchilla-epoch" and len(attrs["dataset_sha256"]) == 64
    assert json.loads(attrs["selection"])["drop_highest_loss"] == 5
    assert {"law", "priors", "seed", "package_version"} <= set(attrs)


@pytest.mark.needs_data
def test_forecast_intervals_are_ordered_and_widen_with_extrapolation(chinchilla_fit):
    table = chinchilla_fit.predict([1e9, 1e11, 1e13], [2e10, 2e12, 2e14], level=0.9)
    assert (table["loss_lo"] < table["loss_median"]).all() and (table["loss_median"] < table["loss_hi"]).all()
    assert (table["observed_lo"] <= table["loss_lo"]).all() and (table["observed_hi"] >= table["loss_hi"]).all()
    width = table["loss_hi"] - table["loss_lo"]
    assert width.is_monotonic_increasing  # further from the runs, less certain
    assert table["beyond_params_oom"].tolist()[0] == 0 and table["beyond_params_oom"].iloc[-1] > 2.5


def _simulate(rng, n_runs=60):
    """Runs on an IsoFLOP-like design (5 budgets x 12 sizes) from TRUTH with Student-t noise on log loss."""
    compute = np.repeat(np.logspace(18, 21, 5), n_runs // 5)
    params = np.tile(np.logspace(-0.9, 0.9, n_runs // 5), 5) * np.sqrt(compute / 120)
    tokens = compute / (6 * params)
    law = TRUTH["E"] + TRUTH["A"] * params ** -TRUTH["alpha"] + TRUTH["B"] * tokens ** -TRUTH["beta"]
    loss = law * np.exp(0.01 * rng.standard_t(5, size=law.size))
    return pd.DataFrame({"family": "sim", "run_id": [f"r{i}" for i in range(law.size)], "params": params,
                         "tokens": tokens, "compute": compute, "loss": loss, "loss_kind": "sim"})


@pytest.mark.slow
def test_parameter_recovery_intervals_are_calibrated():
    """20 simulated datasets x 5 parameters = 100 checks of a 90% interval.

    Calibrated intervals cover ~90 of 100 (binomial sd 3 if independent; the five
    parameters of one dataset are correlated, which widens that). We accept
    80..99: a true coverage of 75% or less would fall below 80 with high
    probability, while a calibrated posterior stays above it. Seeds are fixed,
    so the result is reproducible.
    """
    rng = np.random.default_rng(7)
    covered, checks = 0, 0
    for k in range(20):
        fitted = ScalingLawFit.fit(
            _simulate(rng), source="simulated", source_sha256="-",
            sampler=SamplerSettings(draws=500, tune=500, seed=100 + k), progress=False,
        )
        assert fitted.diagnostics.divergences <= 2
        for name, p in fitted.parameters(level=0.9).items():
            if name in TRUTH:
                covered += p["lo"] <= TRUTH[name] <= p["hi"]
                checks += 1
    assert checks == 100
    print(f"recovery: {covered}/100 90% intervals cover the truth")
    assert 80 <= covered <= 99, covered


@pytest.mark.needs_data
def test_prior_predictive_is_weakly_informative(mirror):
    """Prior draws of loss at the Chinchilla runs should span plausible nats/token, not pin them."""
    table = runs.load("chinchilla-epoch")
    model = chinchilla_model(table["params"].to_numpy(), table["tokens"].to_numpy(), table["loss"].to_numpy())
    with model:
        prior = pm.sample_prior_predictive(draws=500, random_seed=3)
    # Quantiles on the log scale: heavy-tailed prior draws overflow exp, the quantiles do not.
    lo, median, hi = np.exp(np.quantile(prior["prior_predictive"]["log_loss"].to_numpy().ravel(), [0.05, 0.5, 0.95]))
    assert 1.0 < median < 10.0          # a typical LM loss in nats/token
    assert lo < table["loss"].min() and hi > table["loss"].max()  # the data are inside the prior's range
    assert hi < 1e3                      # but not absurd scales


@pytest.mark.needs_data
def test_predict_cli_json(chinchilla_fit, tmp_path):
    path = chinchilla_fit.save(tmp_path / "fit.nc")
    result = subprocess.run(
        [sys.executable, "-m", "scaling_forecast", "predict", str(path), "--params", "70e9", "--tokens", "1.4e12", "--json"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["law"] == "chinchilla" and out["dataset"] == "chinchilla-epoch"
    assert set(out["parameters"]["alpha"]) >= {"median", "lo", "hi", "level"}
    (row,) = out["predictions"]
    assert row["loss_lo"] < row["loss_median"] < row["loss_hi"] and row["level"] == 0.9
    assert row["compute"] == pytest.approx(6 * 70e9 * 1.4e12)
    assert out["diagnostics"]["converged"] is True
    (warning,) = out["warnings"]
    assert "1 of 1 queries lie outside the fitted runs" in warning


@pytest.mark.needs_data
def test_predict_cli_named_models_and_compute(chinchilla_fit, tmp_path):
    path = chinchilla_fit.save(tmp_path / "fit.nc")
    # Model names match ignoring case; --params pair with --tokens and --compute in the order given.
    args = ["--model", "chinchilla", "--model", "GPT-3 175b", "--params", "1e9", "--compute", "1e21", "--params", "2e9",
            "--tokens", "5e10", "--params", "3e9", "--compute", "2e21", "--json"]
    result = subprocess.run([sys.executable, "-m", "scaling_forecast", "predict", str(path), *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["predictions"]
    assert [r["model"] for r in rows] == ["Chinchilla", "GPT-3 175B", "", "", ""]
    assert (rows[0]["params"], rows[0]["tokens"]) == (7.0e10, 1.4e12)
    assert rows[2]["tokens"] == pytest.approx(1e21 / 6e9) and rows[3]["tokens"] == 5e10
    assert rows[4]["tokens"] == pytest.approx(2e21 / 18e9)
    bad = subprocess.run([sys.executable, "-m", "scaling_forecast", "predict", str(path), "--model", "GPT-4"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.startswith("error: unknown model 'GPT-4'") and "Traceback" not in bad.stderr


@pytest.mark.needs_data
def test_answers_export_as_csv_and_parquet(chinchilla_fit, tmp_path):
    """--export: the same numbers as --json, as a table that says which law, data and interval level made it."""
    path = chinchilla_fit.save(tmp_path / "fit.nc")
    args = ["--model", "Chinchilla", "--params", "1e9", "--compute", "1e21"]
    shown = json.loads(subprocess.run([sys.executable, "-m", "scaling_forecast", "predict", str(path), *args, "--json"],
                                      capture_output=True, text=True, timeout=300, check=True).stdout)["predictions"]
    for name, read in (("p.csv", pd.read_csv), ("p.parquet", pd.read_parquet)):
        run = subprocess.run([sys.executable, "-m", "scaling_forecast", "predict", str(path), *args, "--export",
                              str(tmp_path / name)], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0 and f"table written to {tmp_path / name}" in run.stderr, run.stderr
        table = read(tmp_path / name)
        assert table["loss_median"].tolist() == pytest.approx([r["loss_median"] for r in shown], rel=1e-12)
        assert (table["level"] == 0.9).all() and table["source"].str.startswith("chinchilla law").all()
    allocate = subprocess.run([sys.executable, "-m", "scaling_forecast", "allocate", str(path), "--compute", "1e22",
                               "--model", "chinchilla", "--export", str(tmp_path / "a.csv")], capture_output=True, text=True,
                              timeout=300)
    assert allocate.returncode == 0, allocate.stderr
    assert pd.read_csv(tmp_path / "a.csv")["question"].tolist() == ["budget", "configuration"]
    refused = subprocess.run([sys.executable, "-m", "scaling_forecast", "predict", str(path), *args, "--export",
                              str(tmp_path / "p.xlsx")], capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and refused.stderr.strip() == f"error: {tmp_path / 'p.xlsx'}: --export writes .csv or .parquet files (by the name's suffix)"
