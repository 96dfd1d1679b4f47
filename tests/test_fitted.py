"""One fitted-posterior interface: every kind of fit saves, loads back (by its own class or by kind) to the
same forecasts, and a file whose settings were edited after fitting is refused."""

import numpy as np
import pytest
import xarray as xr

from scaling_forecast.core.errors import InputError
from scaling_forecast.core.files import written_by_product
from scaling_forecast.fitting import base as fitted_module
from scaling_forecast.fitting import savedfit
from scaling_forecast.fitting.baseline import BaselineFit
from scaling_forecast.fitting.hierarchical import HierarchicalFit
from scaling_forecast.fitting.single import ScalingLawFit

PARAMS, TOKENS = np.array([1e9, 7e10]), np.array([2e10, 1.4e12])


@pytest.fixture(scope="module")
def baseline(mirror):
    from scaling_forecast.inputs.runs import load

    return BaselineFit.fit(load("chinchilla-epoch"), n_boot=40, seed=3)


def _same_forecasts(first, second, **options) -> None:
    a, b = first.predictive(PARAMS, TOKENS, **options), second.predictive(PARAMS, TOKENS, **options)
    np.testing.assert_array_equal(a.median(), b.median())
    np.testing.assert_array_equal(a.interval(0.9)[1], b.interval(0.9)[1])


@pytest.mark.needs_data
@pytest.mark.parametrize("kind", ["single", "hierarchical", "baseline"])
def test_every_kind_saves_and_loads_to_the_same_forecasts(kind, chinchilla_epoch_fit, registered_fit, baseline,
                                                          tmp_path):
    original, cls = {"single": (chinchilla_epoch_fit, ScalingLawFit), "hierarchical": (registered_fit[1], HierarchicalFit),
                     "baseline": (baseline, BaselineFit)}[kind]
    path = original.save(tmp_path / f"{kind}.nc")
    for loaded in (cls.load(path), fitted_module.load(path)):
        assert type(loaded) is cls and loaded.kind == kind
        assert loaded.diagnostics.as_dict() == original.diagnostics.as_dict()
        _same_forecasts(original, loaded, **({"family": "chinchilla"} if kind == "hierarchical" else {}))
    if kind == "hierarchical":
        assert loaded.families == original.families and loaded.configs.equals(original.configs)
        _same_forecasts(original, loaded)  # a family not yet seen
    with pytest.raises(InputError, match=f"a {kind} fit; this needs"):
        (HierarchicalFit if kind != "hierarchical" else ScalingLawFit).load(path)



@pytest.mark.needs_data
def test_answers_from_a_saved_fit_import_nothing_that_fits(chinchilla_epoch_file, fitting_modules_after, tmp_path):
    """Loading a law fit and answering from it (the API, predict, allocate, plan, report --fit) imports
    neither PyMC, PyTensor, nutpie, numba nor ArviZ, nor SciPy's statistics or optimiser: together they were
    about 2 s of a 3 s answer. The diagnostics come from the record the fit saved."""
    fit = str(chinchilla_epoch_file)
    code = (f"import scaling_forecast as sf\nfit = sf.load({fit!r})\nfit.predict(7e10, 1.4e12)\n"
            "fit.predict_draws([7e10], [1.4e12])\nfit.allocate([5.76e23])\nassert fit.diagnostics.converged")
    plan = ["--params", "7e10", "--gpus", "1024", "--gpu", "H100", "--days", "30", "--target-loss", "1.9",
            "--inference-tokens", "2e13", "--unique-tokens", "3e11", "--compute", "5.76e23"]
    commands = (["predict", fit, "--params", "7e10", "--tokens", "1.4e12"],
                ["allocate", fit, "--compute", "5.76e23"],
                ["plan", fit, *plan, "--out", str(tmp_path / "plan.html")],
                ["report", "--fit", fit, "--out", str(tmp_path / "report.html")])
    assert fitting_modules_after(code, commands) == []


@pytest.mark.needs_data
def test_saved_diagnostics_are_arviz_own(chinchilla_epoch_fit, chinchilla_epoch_file):
    """The diagnostics a saved fit reports are the ones ArviZ computes on its posterior; a record that does not
    match the posterior's draws is recomputed instead of trusted."""
    from dataclasses import asdict

    from scaling_forecast.fitting.diagnostics import Diagnostics, diagnose

    loaded = ScalingLawFit.load(chinchilla_epoch_file)
    fresh = diagnose(loaded.idata, list(loaded.free_vars))
    assert loaded.diagnostics == fresh == chinchilla_epoch_fit.diagnostics
    record = asdict(fresh) | {"draws": fresh.draws + 1, "r_hat_max": 9.0}
    assert Diagnostics.saved(record, loaded.idata, list(loaded.free_vars)) == fresh


@pytest.mark.needs_data
def test_a_fit_whose_settings_were_edited_is_refused(chinchilla_epoch_file, tmp_path):
    """Priors changed by hand after fitting would label the posterior with settings it was not fitted
    under: the attribute hash catches it (and a fit re-stamped with its hash still loads)."""
    tree = xr.open_datatree(chinchilla_epoch_file).load()
    tree.attrs["priors"] = tree.attrs["priors"].replace("0.", "0.0", 1)
    tree.to_netcdf(tmp_path / "edited.nc")
    with pytest.raises(InputError, match=r"edited.nc: its attributes do not match their hash"):
        fitted_module.load(tmp_path / "edited.nc")
    original = ScalingLawFit.load(chinchilla_epoch_file)
    savedfit.write(original.idata, tmp_path / "again.nc")
    assert fitted_module.load(tmp_path / "again.nc").attrs["config_sha256"] == original.attrs["config_sha256"]


@pytest.mark.needs_data
def test_a_saved_fit_is_what_arviz_expects(chinchilla_epoch_file, chinchilla_epoch_fit):
    """The file alone, read by ArviZ: the data in observed_data (log loss) and constant_data, the model's own
    pointwise log likelihood for loo and compare, and the fitted runs' posterior predictive for a PPC plot."""
    import arviz as az

    tree = az.from_netcdf(chinchilla_epoch_file)
    runs = chinchilla_epoch_fit.runs
    np.testing.assert_allclose(tree["observed_data"]["log_loss"].to_numpy(), np.log(runs["loss"].to_numpy()), rtol=1e-15)
    assert {"params", "tokens", "compute", "family", "loss_kind"} <= set(tree["constant_data"].data_vars)
    loo = az.loo(tree)
    # The same PSIS-LOO as from the log likelihood recomputed in float64 (the file stores float32: 1e-6 of elpd).
    assert loo.elpd == pytest.approx(chinchilla_epoch_fit.loo().elpd, rel=1e-6) and loo.n_data_points == len(runs)
    table = az.compare({"first": tree, "again": az.from_netcdf(chinchilla_epoch_file)})
    assert table["elpd_diff"].abs().max() == 0
    replicated = tree["posterior_predictive"]["log_loss"].to_numpy()
    observed = tree["observed_data"]["log_loss"].to_numpy()
    # A calibrated fit's replicated runs bracket the observed ones: the 90% band holds most of the 240 runs.
    lo, hi = np.quantile(replicated.reshape(-1, observed.size), [0.05, 0.95], axis=0)
    assert 0.8 < ((observed > lo) & (observed < hi)).mean() <= 1.0
    plot = az.plot_ppc_dist(tree)  # 50 replicated densities over the observed one
    assert plot.viz["predictive_dist"].sizes["sample"] == 50 and plot.viz["plot"]["log_loss"].item().has_data()


@pytest.mark.needs_data
def test_a_fit_saved_in_the_earlier_layout_loads_to_the_same_forecasts(chinchilla_epoch_file, tmp_path):
    """Format 2 kept the runs in one group with the loss itself; such files load as format 3 reads them."""
    tree = xr.open_datatree(chinchilla_epoch_file).load()
    groups = {name: tree[name].to_dataset() for name in ("posterior", "sample_stats")}
    runs = tree["constant_data"].to_dataset().assign(loss=np.exp(tree["observed_data"]["log_loss"]))
    old = xr.DataTree.from_dict(groups | {"runs": runs})
    old.attrs.update(tree.attrs | {"fit_format": 2})
    savedfit.write(old, tmp_path / "format2.nc")
    loaded, current = ScalingLawFit.load(tmp_path / "format2.nc"), ScalingLawFit.load(chinchilla_epoch_file)
    _same_forecasts(current, loaded)
    assert loaded.runs.equals(current.runs.astype(loaded.runs.dtypes))
    assert loaded.loo().elpd == pytest.approx(current.loo().elpd, rel=1e-6)


@pytest.mark.needs_data
def test_a_kind_refuses_in_one_line_what_it_cannot_answer(baseline, tmp_path):
    """sf.load returns any kind, holding the class of its kind; a question that kind does not answer (a
    baseline cannot forecast for a user) is refused in one line from Python and from the command line."""
    import subprocess
    import sys

    import scaling_forecast as sf

    path = baseline.save(tmp_path / "baseline.nc")
    assert written_by_product(path)  # the product's own file, replaced without --force (it once said it was not)
    fit = sf.load(path)
    assert type(fit.posterior) is BaselineFit and fit.kind == "baseline" and fit.predictive([7e10], [1.4e12]).mu.shape == (1, 40)
    for question in (lambda: fit.predict([7e10], [1.4e12]), lambda: fit.allocate([1e23]), lambda: fit.plan(params=[7e10])):
        with pytest.raises(InputError, match=r"^a baseline fit \(Huber point fit .*\) cannot \w+ [\w ]+; it can forecast held-out runs$"):
            question()
    done = subprocess.run([sys.executable, "-m", "scaling_forecast", "predict", str(path), "--params", "7e10", "--tokens",
                           "1.4e12"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [f"error: {path}: a baseline fit ({baseline.describe()}) cannot forecast loss; "
                                        "it can forecast held-out runs"]
