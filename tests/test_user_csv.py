"""User run files through `scaling-forecast data check`: good files pass, bad ones are refused
with one line per problem naming the file, line and reason, exit code 2 and no traceback."""

import json
import subprocess
import sys

import pytest

GOOD = "family,run_id,params,tokens,loss\nmine,a,1e8,2e9,3.1\nmine,b,4e8,8e9,2.8\n"


def check(path, *extra):
    return subprocess.run(
        [sys.executable, "-m", "scaling_forecast", "data", "check", str(path), *extra],
        capture_output=True, text=True, timeout=120,
    )


def test_good_file_passes_with_a_summary(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(GOOD)
    result = check(path, "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["valid"] and info["runs"] == 2 and info["families"] == {"mine": 2}
    assert info["ranges"]["params"] == {"min": 1e8, "max": 4e8, "known": 2, "units": "parameters"}


def test_optional_columns_may_be_empty_and_defaults_are_stated(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("params,tokens,loss,unique_tokens\n1e8,2e9,3.1,\n4e8,8e9,2.8,4e9\n")
    result = check(path)
    assert result.returncode == 0, result.stderr
    assert "valid, 2 runs; families: runs (2)" in result.stdout  # family defaults to the file name


def test_an_exported_table_is_read_with_its_own_headers_and_extra_columns_kept(tmp_path):
    """A W&B or MLflow export: headers of its own (mapped with --columns) and columns we do not use, which are
    kept as metadata (numbers where every cell is one) and named, never refused or dropped."""
    from scaling_forecast.inputs import runs

    path = tmp_path / "export.csv"
    path.write_text("Name,N,D,L,lr,url\nr1,1e8,2e9,3.1,0.001,https://wandb.ai/x/r1\nr2,4e8,8e9,2.8,0.0005,https://wandb.ai/x/r2\n")
    result = check(path, "--columns", "params=N,tokens=D,loss=L,run_id=Name")
    assert result.returncode == 0, result.stderr
    assert "kept as metadata, not used by fits: lr, url" in result.stdout
    table = runs.read_runs_csv(path, runs.column_map("params=N,tokens=D,loss=L,run_id=Name"))
    assert table["run_id"].tolist() == ["r1", "r2"] and table["params"].tolist() == [1e8, 4e8]
    assert runs.metadata_columns(table) == ["lr", "url"] and table["lr"].dtype == float
    assert table["url"].tolist() == ["https://wandb.ai/x/r1", "https://wandb.ai/x/r2"]
    refused = check(path)  # without the mapping the required columns are missing, and the file says which
    assert refused.returncode == 2 and "missing required column 'params' (header: Name,N,D,L,lr,url)" in refused.stderr


CASES = {
    # name: (file bytes, expected line number in the message or None, expected reason)
    "missing column": (b"params,tokens\n1e8,2e9\n", 1, "missing required column 'loss'"),
    "our own column": (b"params,tokens,loss,source\n1e8,2e9,3.1,x\n", 1, "column 'source' is scaling-forecast's own"),
    "repeated column": (b"params,tokens,loss,loss\n1e8,2e9,3.1,3.1\n", 1, "column 'loss' appears more than once"),
    "non-numeric": (b"params,tokens,loss\n1e8,2e9,abc\n", 2, "loss='abc' is not a number"),
    "unit suffix": (b"params,tokens,loss\n7B,2e9,3.1\n", 2, "params='7B' is not a number (a unit suffix?"),
    "empty required cell": (b"params,tokens,loss\n1e8,,3.1\n", 2, "tokens is empty"),
    "zero": (b"params,tokens,loss\n1e8,2e9,3.1\n0,2e9,3.0\n", 3, "params=0 must be > 0"),
    "negative": (b"params,tokens,loss\n1e8,-2e9,3.1\n", 2, "tokens=-2e+09 must be > 0"),
    "nan": (b"params,tokens,loss\n1e8,2e9,nan\n", 2, "loss=nan is not finite"),
    "inf": (b"params,tokens,loss\ninf,2e9,3.1\n", 2, "params=inf is not finite"),
    "overflow": (b"params,tokens,loss\n1e400,2e9,3.1\n", 2, "params=1e400 is not finite"),
    "huge value": (b"params,tokens,loss\n1e8,2e9,3.1\n3e20,2e9,3.1\n", 3, "params=3e+20 is above 1e+15"),
    "loss not in nats": (b"params,tokens,loss\n1e8,2e9,31.5\n", 2, "loss=31.5 is above 20"),
    "params in billions": (b"params,tokens,loss\n7e9,1e12,2.1\n13,1e12,2.0\n", 3, "params=13 is below 10000: mixed units?"),
    "compute in PF-days": (b"params,tokens,compute,loss\n1e9,2e10,1.39,2.9\n", 2, "compute=1.39 is below 1e+10: mixed units?"),
    "compute off by a unit factor": (b"params,tokens,compute,loss\n1e9,2e10,1.2e23,2.9\n", 2, "compute=1.2e+23 is 1e+03 x 6*params*tokens"),
    "unique above tokens": (b"params,tokens,unique_tokens,loss\n1e8,2e9,4e9,3.1\n", 2, "unique_tokens=4e+09 exceeds tokens=2e+09"),
    "duplicate run_id": (b"run_id,params,tokens,loss\na,1e8,2e9,3.1\na,2e8,2e9,3.0\n", 3, "duplicate run: same run_id 'a' as line 2"),
    "duplicate config": (b"params,tokens,loss\n1e8,2e9,3.1\n1e8,2e9,3.0\n", 3, "duplicate run: same family, loss_kind, params and tokens as line 2"),
    "ragged row": (b"params,tokens,loss\n1e8,2e9\n", 2, "2 fields, but the header has 3"),
    "wrong encoding": ("family,params,tokens,loss\nmodèle,1e8,2e9,3.1\n".encode("latin-1"), 2, "not UTF-8 text (byte 0xe8)"),
    "empty file": (b"", None, "empty file"),
    "header only": (b"params,tokens,loss\n", None, "a header but no data rows"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_is_refused_with_one_line_per_problem(tmp_path, case):
    content, line, reason = CASES[case]
    path = tmp_path / "runs.csv"
    path.write_bytes(content)
    result = check(path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    where = f"{path}:{line}: " if line else f"{path}: "
    assert lines[0].startswith(f"error: {where}"), lines[0]
    assert reason in lines[0], lines[0]


def test_every_bad_row_is_named_and_json_lists_them(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("params,tokens,loss\n1e8,2e9,3.1\nx,2e9,3.1\n1e8,2e9,-1\n")
    result = check(path, "--json")
    assert result.returncode == 2
    out = json.loads(result.stdout)
    assert out["valid"] is False
    assert out["errors"] == [f"{path}:3: params='x' is not a number", f"{path}:4: loss=-1 must be > 0"]


def test_missing_file(tmp_path):
    result = check(tmp_path / "nope.csv")
    assert result.returncode == 2 and result.stderr.strip() == f"error: {tmp_path / 'nope.csv'}: no such file"


def test_a_dataframe_is_checked_by_the_same_rules_naming_its_rows():
    """sf.fit(DataFrame) reads a notebook's table as a CSV is read: mapped headers, metadata kept, and every bad
    row named by its index in one InputError."""
    import pandas as pd

    from scaling_forecast.core.errors import InputError
    from scaling_forecast.inputs import runs

    frame = pd.DataFrame({"N": [1e8, 4e8, 7e9], "D": [2e9, 8e9, 1.4e11], "L": [3.1, 2.8, 2.5], "lr": [1e-3, 5e-4, 3e-4]},
                         index=[10, 11, 12])
    table = runs.runs_from_frame(frame, runs.column_map("params=N,tokens=D,loss=L"))
    assert table["params"].tolist() == [1e8, 4e8, 7e9] and table["loss"].tolist() == [3.1, 2.8, 2.5]
    assert runs.metadata_columns(table) == ["lr"] and table["run_id"].tolist() == ["row10", "row11", "row12"]
    bad = frame.assign(N=[1e8, -1.0, 7.0], L=[3.1, float("nan"), 2.5])
    with pytest.raises(InputError) as refused:
        runs.runs_from_frame(bad, {"params": "N", "tokens": "D", "loss": "L"}, name="mine")
    lines = str(refused.value).splitlines()
    assert lines[0].startswith("mine row 11: loss is empty") and lines[1].startswith("mine row 12: params=7 is below")
    with pytest.raises(InputError, match="mine: missing required column 'loss'"):
        runs.runs_from_frame(frame, {"params": "N", "tokens": "D"}, name="mine")


def test_the_fit_class_points_a_raw_dataframe_to_the_api():
    import pandas as pd

    from scaling_forecast.core.errors import InputError
    from scaling_forecast.fitting.single import ScalingLawFit

    raw = pd.DataFrame({"params": [1e8, 4e8], "tokens": [2e9, 8e9], "loss": [3.1, 2.8]})
    with pytest.raises(InputError, match="give a DataFrame of your runs to scaling_forecast.fit"):
        ScalingLawFit.fit(raw, source="mine", source_sha256="x")
