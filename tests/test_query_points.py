"""Query points for forecasts: named models, paired values and CSV grids, strictly validated."""

import numpy as np
import pytest

from scaling_forecast.cli.console import flag
from scaling_forecast.core.errors import InputError
from scaling_forecast.inputs import query_points


def test_named_models_pairs_and_grid_in_order(tmp_path):
    grid = tmp_path / "grid.csv"
    grid.write_text("params,compute\n1e9,6e20\n")
    n, d = query_points.points(models=("Chinchilla",), params=(1e8, 2e8), tokens=(2e9,), grid=grid)
    np.testing.assert_allclose(n, [7e10, 1e8, 2e8, 1e9])
    np.testing.assert_allclose(d, [1.4e12, 2e9, 2e9, 1e11])


def test_compute_gives_tokens_as_c_over_6n():
    n, d = query_points.points(params=(1e9,), compute=(6e21,))
    assert d.tolist() == [1e12]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "nothing to forecast"),
        ({"models": ("GPT-4",)}, "unknown model 'GPT-4'"),
        ({"params": (1e9,)}, "--params needs --tokens or --compute"),
        ({"tokens": (1e9,)}, "--tokens and --compute need --params"),
        ({"params": (1e9, 2e9, 3e9), "tokens": (1e10, 2e10)}, "3 --params values but 2 --tokens values"),
        ({"params": (7.0,), "tokens": (1e12,)}, "--params=7 is below 10000: mixed units?"),
    ],
)
def test_bad_queries_say_why(kwargs, message):
    """The command line words the engine's parameters as its flags; from Python the same error names the
    parameters (params, tokens, compute), never a flag."""
    with pytest.raises(InputError) as raised:
        query_points.points(**kwargs)
    assert raised.value.worded(flag).startswith(message)
    assert str(raised.value) == raised.value.worded(str)
    assert "--" not in str(raised.value) and str(raised.value).startswith(message.replace("--", ""))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("params,tokens,compute\n1e9,1e10,6e19\n", ":1: give exactly one of the columns tokens or compute"),
        ("params\n1e9\n", ":1: give exactly one of the columns tokens or compute"),
        ("params,tokens,loss\n1e9,1e10,2\n", ":1: unknown column 'loss'"),
        ("params,tokens\n1e9,-5\n", ":2: tokens=-5 must be > 0"),
        ("params,tokens\n1e9,1e10\n1B,1e10\n", ":3: params='1B' is not a number (a unit suffix?"),
        ("params,tokens\n", ": a header but no data rows"),
    ],
)
def test_bad_grid_names_file_line_and_reason(tmp_path, content, message):
    grid = tmp_path / "grid.csv"
    grid.write_text(content)
    with pytest.raises(InputError) as err:
        query_points.read_grid(grid)
    assert f"{grid}{message}" in str(err.value)
