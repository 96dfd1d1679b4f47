"""Outputs are checked before any work: never over an input, never two outputs on one file, never into a
file or a folder that cannot hold them; the refused command changes no file (one line, exit 2)."""

import subprocess
import sys

import pytest

RUNS = "params,tokens,loss\n1e8,2e9,3.0\n2e8,4e9,2.9\n"


def _cli(cwd, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scaling_forecast", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


@pytest.mark.parametrize("args, message", [
    (("fit", "--runs", "runs.csv", "--out", "runs.csv"), "runs.csv: is also the input runs.csv"),
    (("fit", "--runs", "runs.csv", "--out", "."), ".: is a folder"),
    (("fit", "--runs", "runs.csv", "--out", "runs.csv/fit.nc"), "cannot write into"),
    (("report", "--runs", "runs.csv", "--out", "report.nc"), "report.nc: would receive two of this command's outputs"),
    (("report", "--runs", "posterior.nc", "--out", "posterior.html"), "posterior.nc: is also the input posterior.nc"),
    (("report", "--fit", "old.nc", "--out", "old.nc"), "old.nc: is also the input old.nc"),
    (("datawall", "--fit", "old.nc", "--out", "old.nc"), "old.nc: is also the input old.nc"),
    (("compare", "--runs", "runs.csv", "--law", "kaplan", "--out", "runs-kaplan.html"), None),
])
def test_outputs_that_would_destroy_inputs_are_refused_before_any_work(tmp_path, args, message):
    (tmp_path / "runs.csv").write_text(RUNS)
    (tmp_path / "posterior.nc").write_text(RUNS)  # a runs file with an unlucky name
    (tmp_path / "old.nc").write_bytes(b"an earlier result")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    result = _cli(tmp_path, *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    if message is None:  # compare's outputs collide with nothing here: it goes on and refuses the 2 runs
        assert "only 2 runs selected" in line
    else:
        assert line.startswith("error: ") and message in line
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_written_files_get_ordinary_permissions(tmp_path):
    """An atomic write goes through an owner-only temporary file; the result must not stay owner-only (a report
    served from a shared folder), and a file replaced keeps its own permissions."""
    import os
    import stat

    from scaling_forecast.core.files import write_atomically

    mask = os.umask(0o022)
    try:
        fresh = write_atomically(tmp_path / "page.html", lambda tmp: tmp.write_text("x"))
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        os.chmod(fresh, 0o600)
        write_atomically(fresh, lambda tmp: tmp.write_text("y"))
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o600 and fresh.read_text() == "y"
    finally:
        os.umask(mask)
