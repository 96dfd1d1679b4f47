"""A built wheel works on its own: code and package data (registry, published tables) included."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True, timeout=300,
    )
    (built,) = out.glob("scaling_forecast-*.whl")
    return built


def test_wheel_carries_code_and_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"scaling_forecast/cli/main.py", "scaling_forecast/models/__init__.py", "scaling_forecast/data/registry.toml"} <= names
    assert any(n.startswith("scaling_forecast/data/published/") and n.endswith(".csv") for n in names)
    # One import package: nothing generic (forecast, models, data, tests) at the wheel's top level.
    assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == {"scaling_forecast"}


def test_installed_wheel_runs_outside_the_source_tree(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True, timeout=300)
    # The target directory comes first on sys.path, ahead of the editable install of this checkout.
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("SCALING_FORECAST_DATA_DIR", None)
    env["SCALING_FORECAST_CACHE_DIR"] = str(tmp_path / "cache")
    where = subprocess.run(
        [sys.executable, "-c", "import scaling_forecast, scaling_forecast.data as d; print(scaling_forecast.__file__); print(d.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()
    assert all(Path(p).is_relative_to(target) for p in where), where
    listing = subprocess.run(
        [sys.executable, "-m", "scaling_forecast", "data", "list", "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )
    rows = json.loads(listing.stdout)
    assert [r["name"] for r in rows][:2] == ["chinchilla-epoch", "datablations"] and len(rows) == 9
    assert not any(r["offline"] for r in rows)  # empty cache, no mirror: nothing claimed offline
