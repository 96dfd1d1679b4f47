"""The Python API's docstring examples run as written (doctest), on the registered data."""

import doctest

import pytest

from scaling_forecast import api
from scaling_forecast.fitting import single as law_fit


@pytest.mark.needs_data
@pytest.mark.parametrize("module", [api, law_fit], ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_the_api_imports_without_pymc():
    """Importing the package for its API loads neither PyMC nor ArviZ until a fit needs them."""
    import subprocess
    import sys

    code = "import scaling_forecast as sf, sys; print(sorted(m for m in ('pymc', 'arviz', 'nutpie') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.needs_data
def test_fit_does_what_it_says_or_refuses_in_one_line():
    """sf.fit fits the law asked for, or refuses a combination it cannot fit in one line naming the parameter
    (never a command-line flag): pooling is for the chinchilla law and for a user's own runs."""
    import scaling_forecast as sf

    table = sf.dataset("chinchilla-epoch")[["params", "tokens", "loss"]]  # as a user's own runs
    for runs, law in ((table, "kaplan"), ("chinchilla-epoch", "chinchilla")):
        with pytest.raises(sf.InputError) as raised:
            sf.fit(runs, law=law, pool=True, progress=False)
        message = str(raised.value)
        assert message.startswith("pool ") and "--" not in message and "\n" not in message
    fit = sf.fit(table, law="kaplan", progress=False)  # your own runs, a law that is not pooled: fitted alone
    assert fit.kind == "single" and fit.pooling is None and fit.attrs["law"] == "kaplan"
    assert fit.describe().startswith("kaplan law") and fit.diagnostics.converged


@pytest.mark.needs_data
def test_engine_errors_from_python_name_parameters(chinchilla_epoch_fit):
    """An error the engine raises names the Python parameter when called from Python; the command line words
    the same error with its flags (tests/test_query_points.py)."""
    import scaling_forecast as sf

    fit = sf.api.Fit(chinchilla_epoch_fit)
    with pytest.raises(sf.InputError) as raised:
        fit.predict([7e9, 7e10, 7e11], [1e12, 2e12])
    assert str(raised.value) == "3 params values but 2 tokens values; give one each, or one of either"
    with pytest.raises(sf.InputError) as raised:
        fit.predict([7e9], [1e12], compute=[1e23])
    assert str(raised.value) == "give tokens or compute for the params, not both"
    with pytest.raises(sf.InputError) as raised:
        fit.plan(params=[7e10], tokens=[1e12])
    assert str(raised.value) == "tokens with params asks how long training takes: give gpus and gpu too"
    with pytest.raises(sf.InputError) as raised:
        fit.predict([7.0], [1e12])
    assert str(raised.value).startswith("params=7 is below 10000: mixed units?")


@pytest.mark.needs_data
@pytest.mark.parametrize("ask, message", [
    (lambda sf, fit: sf.fit("chinchilla-epoch", draws=10**9), "draws=1e+09 is above 100000"),  # aborted Python
    (lambda sf, fit: sf.fit("chinchilla-epoch", chains=1), "chains=1 is below 2"),
    (lambda sf, fit: sf.fit("chinchilla-epoch", seed=-1), "seed=-1 is below 0"),
    (lambda sf, fit: fit.allocate([1e300]), "compute=1e+300 is above 1e+32"),  # was answered
    (lambda sf, fit: fit.allocate([5.76e23], level=float("nan")), "level=nan is not finite"),
    (lambda sf, fit: fit.predict([7e10], [1.4e12], level=90), "level=90 is at or above 1"),
    (lambda sf, fit: fit.plan(gpus=8, gpu="H100", days=30, mfu=1e-300), "mfu=1e-300 is below 0.01"),
    (lambda sf, fit: fit.plan(params=[1e300]), "params=1e+300 is above 1e+15"),
    (lambda sf, fit: fit.plan(unique_tokens=[3e11], compute=1e40), "compute=1e+40 is above 1e+32"),
    (lambda sf, fit: fit.plan(target_loss=[1.9], probabilities=[float("nan")]), "probabilities=nan is not finite"),
], ids=["draws", "chains", "seed", "allocate", "allocate-level", "predict-level", "mfu", "plan-params",
        "plan-compute", "probability"])
def test_the_api_refuses_numbers_outside_their_bounds_in_one_line(chinchilla_epoch_fit, ask, message):
    """The bounds table holds for Python callers as for the command line: the same sentence, naming the
    parameter as Python names it, before any work (a sampler asked for 10^9 draws aborted the process)."""
    import scaling_forecast as sf

    with pytest.raises(sf.InputError) as raised:
        ask(sf, sf.api.Fit(chinchilla_epoch_fit))
    assert message in str(raised.value) and "\n" not in str(raised.value) and "--" not in str(raised.value)
