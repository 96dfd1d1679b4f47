"""Outputs are checked before any work: never over an input, never two outputs on one file, never into a
file or a folder that cannot hold them; the refused command changes no file (one line, exit 2)."""

import errno
import os
import subprocess
import sys

import pytest

from scaling_forecast.core.errors import Terminated

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


# -- the one output policy (scaling_forecast.core.files): what every writer obeys

def _refused_cleanly(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line, line


@pytest.mark.parametrize("make, message", [
    (lambda p: os.mkfifo(p), "is a FIFO"),  # opening a FIFO to look at it would block for ever
    (lambda p: p.symlink_to(p.parent / "runs.csv"), "is a symbolic link"),
    (lambda p: p.mkdir(), "is a folder"),
])
def test_what_is_not_a_regular_file_is_never_replaced_even_with_force(tmp_path, chinchilla_epoch_file, make, message):
    (tmp_path / "runs.csv").write_text(RUNS)
    target = tmp_path / "page.html"
    make(target)
    before = os.lstat(target)
    result = _cli(tmp_path, "plan", str(chinchilla_epoch_file), "--params", "7e10", "--out", "page.html", "--force")
    _refused_cleanly(result, f"page.html: {message}")
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino, after.st_mtime_ns) == (before.st_mode, before.st_ino, before.st_mtime_ns)
    assert (tmp_path / "runs.csv").read_text() == RUNS  # the symlink's target too


def test_a_device_is_never_an_output(tmp_path, chinchilla_epoch_file):
    result = _cli(tmp_path, "plan", str(chinchilla_epoch_file), "--params", "7e10", "--out", "/dev/null", "--force")
    _refused_cleanly(result, "/dev/null: is a character device")


def test_an_export_replaces_its_own_file_and_no_other_without_force(tmp_path, chinchilla_epoch_file):
    ask = ("predict", str(chinchilla_epoch_file), "--params", "7e10", "--tokens", "1.4e12")
    assert _cli(tmp_path, *ask, "--export", "table.csv").returncode == 0
    first = (tmp_path / "table.csv").read_bytes()
    assert _cli(tmp_path, *ask, "--level", "0.5", "--export", "table.csv").returncode == 0  # its own: replaced
    assert (tmp_path / "table.csv").read_bytes() != first
    (tmp_path / "notes.csv").write_text("my,own\nnotes,here\n")
    _refused_cleanly(_cli(tmp_path, *ask, "--export", "notes.csv"), "notes.csv: exists and was not written")
    assert (tmp_path / "notes.csv").read_text() == "my,own\nnotes,here\n"
    assert _cli(tmp_path, *ask, "--export", "notes.csv", "--force").returncode == 0
    assert "source" in (tmp_path / "notes.csv").read_text()


def test_figures_never_replace_a_users_file_without_force(tmp_path, chinchilla_epoch_fit):
    from scaling_forecast.core.errors import InputError
    from scaling_forecast.reporting.fit_page import write_figures

    written = write_figures(chinchilla_epoch_fit, tmp_path, fmt="svg")
    assert write_figures(chinchilla_epoch_fit, tmp_path, fmt="svg") == written  # its own files: replaced
    written[-1].write_text("the user's own drawing")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(InputError, match="exists and was not written by scaling-forecast"):
        write_figures(chinchilla_epoch_fit, tmp_path, fmt="svg")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # checked before the first was written
    write_figures(chinchilla_epoch_fit, tmp_path, fmt="svg", force=True)
    assert written[-1].read_text().startswith("<?xml")


def test_the_api_never_saves_a_fit_over_its_runs_or_a_users_file(tmp_path):
    import scaling_forecast as sf
    from scaling_forecast.core.errors import InputError

    runs = tmp_path / "runs.csv"
    runs.write_text("params,tokens,loss\n" + "".join(f"{n:g},{20 * n:g},{2 + 3 * (n / 1e7) ** -0.3:.4f}\n"
                                                     for n in (1e7 * 2**i for i in range(8))))
    fit = sf.fit(runs, pool=False, draws=200, tune=200, chains=2)
    with pytest.raises(InputError, match="is also the input"):
        fit.save(runs, force=True)
    (tmp_path / "notes.nc").write_text("not a fit")
    with pytest.raises(InputError, match="exists and was not written by scaling-forecast"):
        fit.save(tmp_path / "notes.nc")
    assert (tmp_path / "notes.nc").read_text() == "not a fit" and runs.read_text().startswith("params,")
    assert sf.load(fit.save(tmp_path / "notes.nc", force=True)).kind == "single"
    assert sf.load(fit.save(tmp_path / "notes.nc")).kind == "single"  # now its own: replaced without force


@pytest.mark.parametrize("interruption, message", [
    (Terminated(), None),  # SIGTERM, as the command line raises it
    (KeyboardInterrupt(), None),
    (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), "No space left on device"),  # a full disk, as a write meets it
], ids=["sigterm", "sigint", "full disk"])
def test_an_interrupted_or_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path, interruption, message):
    from scaling_forecast.core.errors import InputError
    from scaling_forecast.core.files import write_atomically

    page = write_atomically(tmp_path / "page.html", lambda tmp: tmp.write_text("first"))

    def half_then_stop(tmp):
        tmp.write_text("half of the se")
        raise interruption

    with pytest.raises(InputError if message else BaseException) as caught:
        write_atomically(page, half_then_stop)
    if message:
        assert message in str(caught.value) and "unchanged" in str(caught.value)
    assert page.read_text() == "first" and [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_sigterm_during_a_fit_exits_in_one_line_and_writes_nothing(tmp_path):
    """The command line turns SIGTERM into an ordinary unwinding (as Ctrl-C): one line, exit 143, no file left.
    The signal is sent while the sampler runs (50,000 draws take far longer than the 8 s waited; the handler is
    installed before anything heavy is imported)."""
    import signal
    import time

    runs = tmp_path / "runs.csv"
    runs.write_text("params,tokens,loss\n" + "".join(f"{n:g},{20 * n:g},{2 + 3 * (n / 1e7) ** -0.3:.4f}\n"
                                                     for n in (1e7 * 2**i for i in range(12))))
    process = subprocess.Popen([sys.executable, "-m", "scaling_forecast", "fit", "--runs", "runs.csv", "--no-pool",
                                "--draws", "50000", "--out", "fit.nc"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(8)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: terminated (SIGTERM)") and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv"]


def test_a_full_disk_is_one_line_and_leaves_the_previous_file(tmp_path, chinchilla_epoch_file, chinchilla_epoch_fit):
    """A real full file system (a 512 kB tmpfs, where this machine lets the tests mount one): a table too large
    for it is refused in one line, exit 2, and the table written there before is intact, with no temporary; a
    fit (8.8 MB: HDF5 writing it there crashed the process) is refused as an ordinary error."""
    from scaling_forecast.core.errors import InputError

    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(small)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"no small file system can be mounted here to fill ({mounted.stderr.strip()[:80]})")
    try:
        ask = ("predict", str(chinchilla_epoch_file))
        assert _cli(tmp_path, *ask, "--params", "7e10", "--tokens", "1.4e12", "--export", "small/table.csv").returncode == 0
        before = (small / "table.csv").read_bytes()
        (tmp_path / "grid.csv").write_text("params,tokens\n" + "".join(f"{1e9 + i * 1e5:.6g},2e10\n" for i in range(20_000)))
        result = _cli(tmp_path, *ask, "--grid", "grid.csv", "--export", "small/table.csv")  # about 4 MB of CSV
        _refused_cleanly(result, "small/table.csv: cannot be written (No space left on device)")
        assert (small / "table.csv").read_bytes() == before and [p.name for p in small.iterdir()] == ["table.csv"]
        with pytest.raises(InputError, match="fit.nc: cannot be written .No space left on device.; the file that was"):
            chinchilla_epoch_fit.save(small / "fit.nc")
        assert [p.name for p in small.iterdir()] == ["table.csv"]
    finally:
        subprocess.run(["umount", str(small)], check=True)
