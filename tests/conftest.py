"""Shared fixtures. Tests that read registered datasets use ``mirror``.

Without a mirror they skip, unless SCALING_FORECAST_REQUIRE_DATA=1 (CI),
where a missing mirror is a failure.
"""

import os
from pathlib import Path

import pytest

MIRROR_ENV = "SCALING_FORECAST_DATA_DIR"


def pytest_collection_modifyitems(items) -> None:
    """A test that uses the mirror, directly or through another fixture, needs data: mark it so, so that
    ``-m "not needs_data"`` (make test-fast) leaves out exactly those tests."""
    for item in items:
        if "mirror" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.needs_data)


@pytest.fixture(scope="session")
def mirror() -> Path:
    value = os.environ.get(MIRROR_ENV)
    if value and Path(value, "MANIFEST.md").is_file():
        return Path(value)
    message = f"needs the data mirror: set {MIRROR_ENV} to a directory holding the registered files"
    if os.environ.get("SCALING_FORECAST_REQUIRE_DATA") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """An empty user cache, so tests never depend on what this machine cached."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SCALING_FORECAST_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(scope="session")
def chinchilla_epoch_fit(mirror):
    """The main job's posterior: the Chinchilla law on chinchilla-epoch without its 5 highest-loss runs
    (as Besiroglu et al.), default sampler and seed; fitted once and shared (tests must not change it)."""
    from scaling_forecast.fitting.settings import RunSelection
    from scaling_forecast.fitting.single import ScalingLawFit
    from scaling_forecast.inputs import runs

    table, name, digest = runs.load_runs(dataset="chinchilla-epoch")
    return ScalingLawFit.fit(table, source=name, source_sha256=digest, selection=RunSelection(drop_highest_loss=5),
                             progress=False)


@pytest.fixture(scope="session")
def chinchilla_epoch_file(chinchilla_epoch_fit, tmp_path_factory) -> Path:
    """That posterior saved as NetCDF, as `fit --dataset chinchilla-epoch --drop-highest-loss 5` writes it."""
    return chinchilla_epoch_fit.save(tmp_path_factory.mktemp("chinchilla-epoch") / "chinchilla.nc")


@pytest.fixture(scope="session")
def registered_fit(mirror):
    """The hierarchical model fitted to every registered family (one fit, about a minute, shared)."""
    from scaling_forecast.fitting.hierarchical import HierarchicalFit
    from scaling_forecast.inputs.families import load_families

    runs = load_families()
    return runs, HierarchicalFit.fit(runs, progress=False)


@pytest.fixture(scope="session")
def population_cache(registered_fit, tmp_path_factory) -> Path:
    """A user cache holding the population prior of every registered family (and the law's extrapolation
    error learned from them), built from ``registered_fit`` exactly as ``fit --runs`` would build it;
    point SCALING_FORECAST_CACHE_DIR here."""
    from scaling_forecast.fitting.pooled import population_from_fit
    from scaling_forecast.fitting.population import registered_provenance, save_population

    cache = tmp_path_factory.mktemp("population-cache")
    previous = os.environ.get("SCALING_FORECAST_CACHE_DIR")
    os.environ["SCALING_FORECAST_CACHE_DIR"] = str(cache)
    try:
        save_population(population_from_fit(registered_fit[1], registered_provenance(), registered_fit[0]))
    finally:
        if previous is None:
            del os.environ["SCALING_FORECAST_CACHE_DIR"]
        else:
            os.environ["SCALING_FORECAST_CACHE_DIR"] = previous
    return cache


@pytest.fixture(scope="session")
def compare_run(mirror, tmp_path_factory):
    """The main job's `compare` (chinchilla-epoch, 5 highest-loss runs dropped): its JSON and its page."""
    import json
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("compare") / "compare.html"
    result = subprocess.run([sys.executable, "-m", "scaling_forecast", "compare", "--dataset", "chinchilla-epoch",
                             "--drop-highest-loss", "5", "--out", str(out), "--json"], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), out


@pytest.fixture(scope="session")
def backtest_run(mirror, tmp_path_factory):
    """A reduced `backtest` (two families, few-shot from 5 runs, 500 draws): the finished process and its page."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("backtest") / "backtest.html"
    result = subprocess.run(
        [sys.executable, "-m", "scaling_forecast", "backtest", "--family", "gadre-c4_original", "--family", "gadre-rpj",
         "--few-shot", "5", "--workers", "2", "--draws", "500", "--out", str(out), "--json", "--export",
         str(out.with_suffix(".csv"))],
        capture_output=True, text=True, timeout=900,
    )
    return result, out



# What fitting needs and answering from a saved fit must not import (issue 16: about 2 s of a 3 s answer).
FITTING_MODULES = ("pymc", "pytensor", "nutpie", "numba", "arviz", "scipy.stats", "scipy.optimize")


@pytest.fixture(scope="session")
def fitting_modules_after():
    """Run Python ``code`` and then each ``scaling-forecast`` command line (lists of arguments) in one fresh
    process, with the tests' environment, and return which of ``FITTING_MODULES`` that process imported; a
    failing script or command fails the test with its stderr."""
    import json
    import subprocess
    import sys

    def run(code: str = "", commands: tuple[list[str], ...] = ()) -> list[str]:
        lines = [code, "import json, sys", "from scaling_forecast.cli.main import main"]
        for command in commands:
            lines += [f"sys.argv = ['scaling-forecast', *{command!r}]",
                      "try:\n    main()\nexcept SystemExit as stop:\n    assert not stop.code, stop.code"]
        lines.append(f"print(json.dumps(sorted(m for m in {FITTING_MODULES!r} if m in sys.modules)))")
        result = subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    return run
