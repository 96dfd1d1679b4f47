"""The product installs one import package, scaling_forecast: a user's own ``models/``, ``data/`` or
``forecast/`` package (common in ML projects) cannot shadow its parts."""

import json
import os
import subprocess
import sys

import pytest


@pytest.fixture
def users_project(tmp_path):
    """A working directory with packages named like the repository's folders; importing any of them fails."""
    for name in ("models", "data", "forecast"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('the user\\'s own {name} package was imported')\n")
    return tmp_path


def _run(project, *args):
    env = os.environ | {"PYTHONPATH": str(project)}  # the user's packages first on the path, as in a notebook there
    return subprocess.run([sys.executable, *args], cwd=project, env=env, capture_output=True, text=True, timeout=300)


def test_the_cli_runs_beside_a_users_models_and_data_packages(users_project):
    result = _run(users_project, "-m", "scaling_forecast", "data", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 9  # the registry, read from the product's own data package


def test_the_python_api_runs_beside_a_users_models_and_data_packages(users_project):
    code = ("import numpy as np\n"
            "from scaling_forecast.models.laws import chinchilla_loss\n"
            "from scaling_forecast.inputs.published import constants\n"
            "c = constants('chinchilla', 'hoffmann2022_approach3')['value']\n"
            "print(float(chinchilla_loss(np.log(70e9), np.log(1.4e12), np.log(c['E']), np.log(c['A']), np.log(c['B']), "
            "c['alpha'], c['beta'])))\n")
    result = _run(users_project, "-c", code)
    assert result.returncode == 0, result.stderr
    assert 1.9 < float(result.stdout) < 2.0  # Hoffmann et al.'s fit gives 1.94 nats for Chinchilla's 70B / 1.4T
