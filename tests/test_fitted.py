"""One fitted-posterior interface: every kind of fit saves, loads back (by its own class or by kind) to the
same forecasts, and a file whose settings were edited after fitting is refused."""

import numpy as np
import pytest
import xarray as xr

from scaling_forecast import fitted as fitted_module
from scaling_forecast import savedfit
from scaling_forecast.baseline import BaselineFit
from scaling_forecast.errors import InputError
from scaling_forecast.fit import ScalingLawFit
from scaling_forecast.hierarchy import HierarchicalFit

PARAMS, TOKENS = np.array([1e9, 7e10]), np.array([2e10, 1.4e12])


@pytest.fixture(scope="module")
def baseline(mirror):
    from scaling_forecast.runs import load

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
