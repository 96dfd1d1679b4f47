"""Hostile input to every command: each case must end with its exit code, one to three lines on stderr,
no traceback, and no file in the working folder changed.

The command line runs in this process (``scaling_forecast.cli.main.main``, exactly what the installed script calls),
so about seventy cases cost seconds; the fits they read are made once per session.
"""

import hashlib
import os
import shutil
import sys
from pathlib import Path

import h5netcdf
import numpy as np
import pytest
import xarray as xr

from scaling_forecast.cli import main as cli
from scaling_forecast.core.bounds import BOUNDS
from scaling_forecast.core.files import written_by_product
from scaling_forecast.fitting import savedfit
from scaling_forecast.fitting.savedfit import config_sha256
from scaling_forecast.fitting.settings import RunSelection, SamplerSettings
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.inputs.runs import load
from scaling_forecast.reporting.pages import page

pytestmark = pytest.mark.needs_data
SAMPLER = SamplerSettings(seed=11)  # the default draws: the cases that answer need a converged fit


def _fit(law: str):
    runs = load("chinchilla-epoch")
    return ScalingLawFit.fit(runs, source="chinchilla-epoch", source_sha256="test", law=law,
                             selection=RunSelection(drop_highest_loss=5), sampler=SAMPLER, progress=False)


@pytest.fixture(scope="session")
def saved(chinchilla_epoch_file, tmp_path_factory) -> Path:
    """A folder with a chinchilla fit, a kaplan fit and damaged copies of the first (one fit each, shared)."""
    folder = tmp_path_factory.mktemp("saved")
    shutil.copyfile(chinchilla_epoch_file, folder / "fit.nc")
    _fit("kaplan").save(folder / "kaplan.nc")
    tree = xr.open_datatree(folder / "fit.nc").load()
    groups = {name: tree[name].to_dataset() for name in tree.children}

    def damaged(name: str, attrs: dict | None = None, drop: str | None = None, **replace):
        changed = xr.DataTree.from_dict({k: v for k, v in (groups | replace).items() if k != drop})
        changed.attrs.update(tree.attrs | (attrs or {}))
        # Re-hashed (attributes and arrays), as a buggy program writing the file would: the checks below the
        # hashes must catch it.
        savedfit.write(changed, folder / name)

    posterior, constant, observed, stats = (groups[g] for g in ("posterior", "constant_data", "observed_data",
                                                                 "sample_stats"))
    damaged("wronglaw.nc", {"law": "kaplan"})
    damaged("unknownlaw.nc", {"law": "moore"})
    damaged("unknownkind.nc", {"kind": "ensemble"})
    damaged("future.nc", {"fit_format": 99})
    damaged("badselection.nc", {"selection": "{not json"})
    damaged("noposterior.nc", drop="posterior")
    damaged("emptyruns.nc", constant_data=constant.isel(run=slice(0, 0)), observed_data=observed.isel(run=slice(0, 0)))
    damaged("noobserved.nc", drop="observed_data")
    damaged("nan.nc", posterior=posterior.assign(alpha=posterior["alpha"] * np.nan))
    damaged("negative.nc", posterior=posterior.assign(alpha=-posterior["alpha"]))
    damaged("extradim.nc", posterior=posterior.assign(beta=posterior["beta"].expand_dims(x=2, axis=-1)))
    damaged("badrun.nc", observed_data=observed.assign(log_loss=observed["log_loss"] + np.log(1e6)))
    damaged("onedraw.nc", posterior=posterior.isel(draw=slice(0, 1)), sample_stats=stats.isel(draw=slice(0, 1)))
    # A posterior swapped for another of the same shape, the attributes' hash redone: the arrays' hash catches it.
    swapped = xr.DataTree.from_dict(groups | {"posterior": posterior.assign(alpha=posterior["alpha"].roll(draw=1) * 1.05)})
    swapped.attrs.update(tree.attrs)
    swapped.attrs["config_sha256"] = config_sha256(swapped.attrs)
    swapped.to_netcdf(folder / "swapped.nc")
    # Every draw marked divergent by a program that re-hashed everything: the stored record (0 divergences)
    # no longer matches the count, so the fit is diagnosed afresh and flagged.
    damaged("divergent.nc", sample_stats=stats.assign(diverging=stats["diverging"] | True))
    # A few kilobytes declaring 3.2e12 bytes (2980 GiB) of posterior: refused from the metadata, before anything is read.
    with h5netcdf.File(folder / "huge.nc", "w") as huge:
        huge.attrs.update({"kind": "single", "fit_format": savedfit.FIT_FORMAT})
        group = huge.create_group("posterior")
        group.dimensions = {"chain": 4, "draw": 10**11}
        group.create_variable("alpha", ("chain", "draw"), float, chunks=(1, 1000))
    without = dict(tree.attrs)
    del without["dataset_sha256"]
    changed = xr.DataTree.from_dict(groups)
    changed.attrs.update(without)
    changed.attrs["config_sha256"] = config_sha256(changed.attrs)
    changed.to_netcdf(folder / "noattr.nc")
    data = (folder / "fit.nc").read_bytes()
    (folder / "truncated.nc").write_bytes(data[: len(data) // 2])
    (folder / "empty.nc").write_bytes(b"")
    return folder


RUNS_HEADER = "params,tokens,loss"


def _ladder(count: int, family: str = "", rising: bool = False) -> str:
    """A small valid ladder of runs (loss falls with size unless ``rising``)."""
    sizes = np.logspace(7, 9, count)
    column = "family," if family else ""
    rows = [f"{column}{RUNS_HEADER}"]
    for i, n in enumerate(sizes):
        loss = 2.0 + 0.1 * i if rising else 2.0 + 3.0 * (n / 1e7) ** -0.3
        rows.append(f"{family + ',' if family else ''}{n:.4g},{20 * n:.4g},{loss:.4f}")
    return "\n".join(rows) + "\n"


@pytest.fixture
def workspace(saved, tmp_path, monkeypatch) -> Path:
    """The working folder of one case: the saved fits and a set of hostile input files."""
    for file in saved.iterdir():
        # Hard links, not copies: 15 fits of 8.5 MB for each of 150 cases filled 20 GB of disk per run. A command
        # that changed one in place would show in the snapshot below (by content), and every write of the product
        # replaces a file by renaming, which leaves the shared original alone.
        try:
            os.link(file, tmp_path / file.name)
        except OSError:  # another file system
            shutil.copy(file, tmp_path / file.name)
    files = {
        "runs.csv": _ladder(12),
        "two.csv": _ladder(2),
        "rising.csv": _ladder(12, rising=True),
        "same.csv": "params,tokens,loss,run_id\n" + "".join(f"1e8,2e9,3.0{i},r{i}\n" for i in range(10)),
        "escape.csv": _ladder(12, family='"evil\x1b[31mred"'),
        "separator.csv": _ladder(12, family='"fam\u2028ily"'),
        "extra.csv": "params,tokens,loss,lr\n1e8,2e9,3.0,0.001\n",
        "manybad.csv": RUNS_HEADER + "\n" + "".join(f"{i + 1}e9,2e10,-1\n" for i in range(25)),
        "grid_compute.csv": "params,compute\n1e9,1e20\n1e15,1e10\n",
        "grid_text.csv": "params,tokens\n1e9,2e10\n7B,2e10\n",
        "grid_both.csv": "params,tokens,compute\n1e9,2e10,1e20\n",
        "grid_manybad.csv": "params,tokens\n" + "".join(f"{i + 1}e9,0\n" for i in range(30)),
        "grid_far.csv": "params,tokens\n" + "".join(f"{1e9 * (1 + i % 50):g},{1e13 * (1 + i % 7):g}\n"
                                                    for i in range(2000)),
        "notours.html": "<html><body>my own notes</body></html>\n",
        "notes.csv": "my,own\nnotes,here\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "latin1.csv").write_bytes(b"params,tokens,loss,family\n1e8,2e9,3.0,caf\xe9\n")
    (tmp_path / "utf16.csv").write_bytes(_ladder(12).encode("utf-16-le"))  # no BOM: looked like 3 missing columns
    (tmp_path / "utf16bom.csv").write_bytes(_ladder(12).encode("utf-16"))
    (tmp_path / "longcell.csv").write_text(RUNS_HEADER + ",note\n" + "1e8,2e9,3.0," + "x" * 200_000 + "\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "loop1.nc").symlink_to("loop2.nc")
    (tmp_path / "loop2.nc").symlink_to("loop1.nc")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _run(capsys, monkeypatch, args) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["scaling-forecast", *map(str, args)])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    out, err = capsys.readouterr()
    return stopped.value.code or 0, out, err


CASES = [
    # (arguments, exit code, text stderr must hold)
    # -- files that are not what they claim
    (("data", "check", "folder"), 2, "folder: is a folder"),
    (("data", "check", "missing.csv"), 2, "missing.csv: no such file"),
    (("data", "check", "latin1.csv"), 2, "not UTF-8"),
    (("data", "check", "utf16.csv"), 2, "utf16.csv: UTF-16 text"),
    (("predict", "loop1.nc", "--params", "7e10", "--tokens", "1.4e12"), 2,
     "loop1.nc: too many levels of symbolic links"),  # was five lines of library warnings
    (("data", "check", "utf16bom.csv"), 2, "utf16bom.csv: UTF-16 text"),
    (("fit", "--runs", "longcell.csv", "--out", "x.nc"), 2, "longcell.csv:2: not a CSV row this reader accepts"),
    (("data", "check", "/dev/zero"), 2, "larger than 256 MB (or endless)"),
    (("data", "check", "extra.csv", "--columns", "params=N"), 2, "--columns params=N: the header has no column 'N'"),
    (("data", "check", "extra.csv", "--columns", "params"), 2, "--columns: 'params' is not OURS=THEIRS"),
    (("data", "check", "extra.csv", "--columns", "size=params"), 2, "'size' is not a run column"),
    (("data", "check", "escape.csv"), 2, "control character U+001B"),
    (("data", "check", "separator.csv"), 2, "control character U+2028"),
    (("data", "check", "manybad.csv"), 2, "... and 23 more problems"),
    (("predict", "folder", "--params", "1e9", "--tokens", "2e10"), 2, "folder: is a folder"),
    (("predict", "missing.nc", "--params", "1e9", "--tokens", "2e10"), 2, "missing.nc: no such file"),
    (("predict", "runs.csv", "--params", "1e9", "--tokens", "2e10"), 2, "runs.csv: not a NetCDF fit"),
    (("predict", "truncated.nc", "--params", "1e9", "--tokens", "2e10"), 2, "truncated.nc: not a NetCDF fit"),
    (("predict", "empty.nc", "--params", "1e9", "--tokens", "2e10"), 2, "empty.nc: not a NetCDF fit"),
    (("predict", "fit.nc", "--grid", "folder"), 2, "folder: is a folder"),
    # -- saved fits that were damaged or edited
    (("predict", "wronglaw.nc", "--params", "1e9", "--tokens", "2e10"), 2, "lacks log_N_c"),
    (("predict", "unknownlaw.nc", "--params", "1e9", "--tokens", "2e10"), 2, "unknown law 'moore'"),
    (("predict", "unknownkind.nc", "--params", "1e9", "--tokens", "2e10"), 2, "unknown kind 'ensemble'"),
    (("predict", "future.nc", "--params", "1e9", "--tokens", "2e10"), 2, "fit format 99"),
    (("predict", "badselection.nc", "--params", "1e9", "--tokens", "2e10"), 2, "'selection' is not a JSON object"),
    (("predict", "noposterior.nc", "--params", "1e9", "--tokens", "2e10"), 2, "no posterior group"),
    (("predict", "emptyruns.nc", "--params", "1e9", "--tokens", "2e10"), 2, "no runs in constant_data and observed_data"),
    (("predict", "noobserved.nc", "--params", "1e9", "--tokens", "2e10"), 2, "no constant_data and observed_data"),
    (("predict", "nan.nc", "--params", "1e9", "--tokens", "2e10"), 2, "'alpha' holds 4000 non-finite values"),
    (("predict", "negative.nc", "--params", "1e9", "--tokens", "2e10"), 2, "outside its support"),
    (("predict", "extradim.nc", "--params", "1e9", "--tokens", "2e10"), 2, "'beta' has dimensions"),
    (("predict", "badrun.nc", "--params", "1e9", "--tokens", "2e10"), 2, "loss="),
    (("predict", "noattr.nc", "--params", "1e9", "--tokens", "2e10"), 2, "'dataset_sha256' missing"),
    (("predict", "swapped.nc", "--params", "1e9", "--tokens", "2e10"), 2, "do not match their hash (content_sha256)"),
    (("allocate", "swapped.nc", "--compute", "1e22"), 2, "do not match their hash (content_sha256)"),
    (("predict", "divergent.nc", "--params", "1e9", "--tokens", "2e10"), 3, "4000 divergent transitions"),
    (("predict", "huge.nc", "--params", "1e9", "--tokens", "2e10"), 2, "declares 2980.2 GiB of arrays"),
    (("allocate", "nan.nc", "--compute", "1e22"), 2, "non-finite"),
    (("report", "--fit", "negative.nc", "--out", "r.html"), 2, "outside its support"),
    (("datawall", "--fit", "unknownlaw.nc", "--out", "w.html"), 2, "unknown law"),
    (("predict", "onedraw.nc", "--params", "1e9", "--tokens", "2e10"), 3, "too few to judge convergence"),
    (("predict", "onedraw.nc", "--params", "1e9", "--tokens", "2e10", "--allow-unconverged"), 0,
     "too few to judge convergence"),
    # -- numbers on the command line, and numbers derived from them
    (("allocate", "fit.nc", "--compute", "0"), 2, "--compute=0 must be > 0"),
    (("allocate", "fit.nc", "--compute", "-5"), 2, "must be > 0"),
    (("allocate", "fit.nc", "--compute", "nan"), 2, "is not finite"),
    (("allocate", "fit.nc", "--compute", "inf"), 2, "is not finite"),
    (("allocate", "fit.nc", "--compute", "1e5"), 2, "below 1e+10"),
    (("allocate", "fit.nc", "--compute", "1e40"), 2, "above 1e+32"),
    (("allocate", "fit.nc", "--compute", "1e12"), 0, "outside the fitted runs' compute"),
    (("allocate", "fit.nc", "--compute", "1e22", "--flops-per-param-token", "0"), 2, "--flops-per-param-token"),
    (("allocate", "fit.nc"), 2, "give at least one --compute"),
    (("allocate", "fit.nc", "--params", "1e9"), 2, "--params needs --tokens"),
    (("allocate", "fit.nc", "--params", "1e9", "--tokens", "1e30"), 2, "tokens=1e+30 is above"),
    (("predict", "fit.nc", "--params", "1e15", "--compute", "1e10"), 2, "D = C / (6N) = 1.67e-06 tokens"),
    (("predict", "fit.nc", "--params", "1e9", "--tokens", "-1"), 2, "must be > 0"),
    (("predict", "fit.nc", "--params", "7", "--tokens", "2e10"), 2, "give a raw count"),
    (("predict", "fit.nc", "--params", "1e9"), 2, "--params needs --tokens or --compute"),
    (("predict", "fit.nc", "--params", "1e9", "--tokens", "2e10", "--compute", "1e20"), 2,
     "1 --params values but 2 --tokens/--compute values"),
    (("predict", "fit.nc", "--params", "abc", "--tokens", "2e10"), 2, "--params: 'abc' is not a valid float"),
    (("predict", "fit.nc", "--model", "No Such Model"), 2, "unknown model"),
    (("predict", "fit.nc", "--params", "1e9", "--tokens", "2e10", "--level", "1.5"), 2, "--level"),
    (("predict", "fit.nc", "--grid", "grid_compute.csv"), 2, "grid_compute.csv:3: D = C / (6N) = 1.67e-06 tokens is implausible"),
    (("predict", "fit.nc", "--grid", "grid_text.csv"), 2, "grid_text.csv:3: params='7B' is not a number"),
    (("predict", "fit.nc", "--grid", "grid_both.csv"), 2, "exactly one of the columns"),
    (("predict", "fit.nc", "--grid", "grid_manybad.csv"), 2, "... and 28 more problems"),
    (("predict", "fit.nc", "--grid", "grid_huge.csv"), 2, "1,000,001 query points; a grid holds at most 1,000,000"),
    (("predict", "fit.nc", "--grid", "grid_far.csv"), 0, "2000 of 2000 queries lie outside"),
    (("predict", "fit.nc", "--params", "1e9", "--tokens", "1e7"), 0, "1 of 1 queries lie outside"),
    # -- the data wall's inputs
    (("datawall", "--fit", "fit.nc", "--prior", "usable_fraction=0.1,0.4,1e-300"), 2, "LEVEL between 0.5 and 0.999"),
    (("datawall", "--fit", "fit.nc", "--set", "indexed_pages=1e308"), 2, "outside the plausible range"),
    (("datawall", "--fit", "fit.nc", "--set", "usable_fraction=5"), 2, "outside the plausible range"),
    (("datawall", "--fit", "fit.nc", "--set", "bytes_per_token=100"), 2, "outside the plausible range"),
    (("datawall", "--fit", "fit.nc", "--prior", "indexed_pages=1e-300,1e12"), 2, "outside the plausible range"),
    (("datawall", "--fit", "fit.nc", "--prior", "bytes_per_token=1,5.9,0.95"), 0, None),
    (("datawall", "--fit", "fit.nc", "--prior", "bytes_per_token=1,6"), 2, "need LOW < HIGH < 6"),
    (("datawall", "--fit", "fit.nc", "--prior", "usable_fraction=0.4,0.1"), 2, "need LOW < HIGH"),
    (("datawall", "--fit", "fit.nc", "--set", "nosuch=1"), 2, "expected NAME=..."),
    (("datawall", "--fit", "fit.nc", "--set", "usable_fraction=lots"), 2, "values must be numbers"),
    (("datawall", "--fit", "kaplan.nc"), 2, "holds a kaplan-law fit"),
    (("datawall", "--fit", "fit.nc", "--words-per-token", "0"), 2, "--words-per-token"),
    (("datawall", "--fit", "fit.nc", "--overtrain", "1e9"), 2, "--overtrain"),
    (("datawall", "--fit", "fit.nc", "--r-star", "0"), 2, "--r-star"),
    # -- fits refused before sampling
    (("fit", "--runs", "same.csv", "--no-pool", "--out", "x.nc"), 2, "1 distinct (params, tokens) configuration"),
    (("fit", "--runs", "same.csv", "--out", "x.nc"), 2, "1 distinct (params, tokens) configuration"),
    (("fit", "--runs", "two.csv", "--out", "x.nc"), 2, "only 2 runs selected"),
    (("fit", "--runs", "escape.csv", "--out", "x.nc"), 2, "control character U+001B"),
    (("fit", "--runs", "manybad.csv", "--out", "x.nc"), 2, "... and 23 more problems"),
    (("fit", "--dataset", "chinchilla-epoch", "--compute-min", "nan", "--out", "x.nc"), 2, "--compute-min=nan is not finite"),
    (("fit", "--dataset", "chinchilla-epoch", "--compute-max", "-1", "--out", "x.nc"), 2, "must be > 0"),
    (("fit", "--dataset", "chinchilla-epoch", "--seed", "-1", "--out", "x.nc"), 2, "--seed"),
    (("fit", "--dataset", "chinchilla-epoch", "--draws", "1000000000", "--out", "x.nc"), 2, "--draws"),
    (("fit", "--dataset", "chinchilla-epoch", "--chains", "1", "--out", "x.nc"), 2, "--chains"),
    (("fit", "--dataset", "chinchilla-epoch", "--pool", "--out", "x.nc"), 2, "--pool is for your own runs"),
    (("fit", "--dataset", "no-such-data", "--out", "x.nc"), 2, "no-such-data"),
    (("fit", "--dataset", "chinchilla-epoch", "--family", "nobody", "--out", "x.nc"), 2, "no runs with family"),
    (("fit", "--runs", "runs.csv", "--out", "runs.csv"), 2, "is also the input"),
    (("fit", "--runs", "runs.csv", "--out", "notours.html"), 2, "not written by scaling-forecast"),
    (("fit", "--runs", "two.csv", "--out", "notours.html", "--force"), 2, "only 2 runs selected"),
    (("fit", "--runs", "runs.csv", "--out", "runs.csv/x.nc"), 2, "cannot write into"),
    (("fit", "--runs", "ev\x1bil.csv", "--out", "x.nc"), 2, "ev\\x1bil.csv: no such file"),
    (("report", "--runs", "runs.csv", "--out", "notours.html"), 2, "not written by scaling-forecast"),
    (("report", "--fit", "fit.nc", "--runs", "runs.csv", "--out", "r.html"), 2, "not both"),
    (("compare", "--dataset", "chinchilla-epoch", "--reconcile", "--out", "c.html"), 2, "--reconcile needs"),
    (("compare", "--runs", "runs.csv", "--non-embedding", "--out", "c.html"), 2, "drop --non-embedding"),
    (("backtest", "--out", "notours.html"), 2, "not written by scaling-forecast"),
    (("backtest", "--ladders", "--leave-one-family-out", "--out", "l.html"), 2, "--ladders cuts its own training runs"),
    (("backtest", "--ladders", "--ladder-size", "2", "--out", "l.html"), 2, "--ladder-size=2 is below 3"),
    (("backtest", "--ladders", "--family", "nope", "--out", "l.html"), 2, "unknown families ['nope']"),
    # -- every number within its row of the bounds table (NaN and inf too), on every command
    (("predict", "fit.nc", "--params", "7e10", "--tokens", "1.4e12", "--level", "nan"), 2, "level=nan is not finite"),
    (("allocate", "fit.nc", "--compute", "1e21", "--level", "nan"), 2, "level=nan is not finite"),
    (("allocate", "fit.nc", "--compute", "1e21", "--flops-per-param-token", "nan"), 2, "is not finite"),
    (("allocate", "fit.nc", "--compute", "1e40"), 2, "compute=1e+40 is above 1e+32"),
    (("plan", "fit.nc", "--params", "7e10", "--level", "nan"), 2, "level=nan is not finite"),
    (("plan", "fit.nc", "--params", "1e300"), 2, "params=1e+300 is above 1e+15"),
    (("plan", "fit.nc", "--gpus", "8", "--gpu", "H100", "--days", "30", "--mfu", "1e-300"), 2,
     "mfu=1e-300 is below 0.01"),
    (("plan", "fit.nc", "--gpus", "2.5", "--gpu", "H100", "--days", "30"), 2, "gpus=2.5 must be a whole number"),
    (("plan", "fit.nc", "--gpus", "8", "--gpu", "H100", "--days", "inf"), 2, "days=inf is not finite"),
    (("plan", "fit.nc", "--unique-tokens", "1"), 2, "--unique-tokens=1 is below 100000: mixed units?"),
    (("plan", "fit.nc", "--unique-tokens", "3e11", "--compute", "1e40"), 2, "compute=1e+40 is above 1e+32"),
    (("plan", "fit.nc", "--target-loss", "nan"), 2, "--target-loss=nan is not finite"),
    (("plan", "fit.nc", "--target-loss", "1.9", "--probability", "1"), 2, "probability=1 is at or above 1"),
    (("datawall", "--fit", "fit.nc", "--r-star", "nan", "--out", "w.html"), 2, "--r-star=nan is not finite"),
    (("datawall", "--fit", "fit.nc", "--words-per-token", "nan", "--out", "w.html"), 2, "is not finite"),
    (("datawall", "--fit", "fit.nc", "--overtrain", "nan", "--out", "w.html"), 2, "overtrain=nan is not finite"),
    (("backtest", "--holdout", "nan", "--out", "b.html"), 2, "holdout=nan is not finite"),
    (("fit", "--dataset", "chinchilla-epoch", "--tune", "nan", "--out", "x.nc"), 2, "tune=nan is not finite"),
    # -- the output policy: never a user's file without --force, never what is not a regular file
    (("predict", "fit.nc", "--params", "7e10", "--tokens", "1.4e12", "--export", "notes.csv"), 2,
     "notes.csv: exists and was not written by scaling-forecast; choose another --export"),
    (("allocate", "fit.nc", "--compute", "1e21", "--export", "notes.csv"), 2, "not written by scaling-forecast"),
    (("plan", "fit.nc", "--params", "7e10", "--out", "/dev/null", "--force"), 2, "/dev/null: is a character device"),
    (("report", "--fit", "fit.nc", "--out", "folder", "--force"), 2, "folder: is a folder"),
    (("no-such-command",), 2, "No such command"),
    (("fit", "--no-such-flag"), 2, "No such option '--no-such-flag'"),
]


# Every bounded flag of every command, each with NaN, infinity and a value beyond its row of the bounds table
# (scaling_forecast.core.bounds): refused in one line naming the flag, before any work (no fit is read or made).
BOUNDED_FLAGS = [
    (("predict", "fit.nc", "--tokens", "1.4e12"), "--params", "params"),
    (("predict", "fit.nc", "--params", "7e10"), "--tokens", "tokens"),
    (("predict", "fit.nc", "--params", "7e10"), "--compute", "compute"),
    (("predict", "fit.nc", "--params", "7e10", "--tokens", "1.4e12"), "--level", "level"),
    (("allocate", "fit.nc"), "--compute", "compute"),
    (("allocate", "fit.nc", "--tokens", "1.4e12"), "--params", "params"),
    (("allocate", "fit.nc", "--params", "7e10"), "--tokens", "tokens"),
    (("allocate", "fit.nc", "--compute", "1e21"), "--flops-per-param-token", "flops_per_param_token"),
    (("allocate", "fit.nc", "--compute", "1e21"), "--level", "level"),
    (("plan", "fit.nc"), "--params", "params"),
    (("plan", "fit.nc", "--params", "7e10", "--gpus", "8", "--gpu", "H100"), "--tokens", "tokens"),
    (("plan", "fit.nc", "--gpu", "H100", "--days", "30"), "--gpus", "gpus"),
    (("plan", "fit.nc", "--gpu", "H100", "--gpus", "8"), "--days", "days"),
    (("plan", "fit.nc", "--gpu", "H100", "--gpus", "8", "--days", "30"), "--mfu", "mfu"),
    (("plan", "fit.nc"), "--target-loss", "target_loss"),
    (("plan", "fit.nc", "--target-loss", "1.9"), "--probability", "probability"),
    (("plan", "fit.nc"), "--unique-tokens", "unique_tokens"),
    (("plan", "fit.nc", "--unique-tokens", "3e11"), "--compute", "compute"),
    (("plan", "fit.nc", "--target-loss", "1.9"), "--inference-tokens", "inference_tokens"),
    (("plan", "fit.nc", "--params", "7e10"), "--level", "level"),
    (("plan", "fit.nc", "--params", "7e10"), "--seed", "seed"),
    (("fit", "--dataset", "chinchilla-epoch", "--out", "x.nc"), "--draws", "draws"),
    (("fit", "--dataset", "chinchilla-epoch", "--out", "x.nc"), "--tune", "tune"),
    (("fit", "--dataset", "chinchilla-epoch", "--out", "x.nc"), "--chains", "chains"),
    (("fit", "--dataset", "chinchilla-epoch", "--out", "x.nc"), "--seed", "seed"),
    (("fit", "--dataset", "chinchilla-epoch", "--out", "x.nc"), "--level", "level"),
    (("fit", "--dataset", "chinchilla-epoch", "--out", "x.nc"), "--compute-min", "compute"),
    (("fit", "--dataset", "chinchilla-epoch", "--out", "x.nc"), "--compute-max", "compute"),
    (("report", "--fit", "fit.nc", "--out", "r.html", "--figures", "figs"), "--dpi", "dpi"),
    (("report", "--fit", "fit.nc", "--out", "r.html"), "--level", "level"),
    (("compare", "--dataset", "chinchilla-epoch", "--out", "c.html"), "--level", "level"),
    (("compare", "--dataset", "chinchilla-epoch", "--out", "c.html"), "--seed", "seed"),
    (("backtest", "--out", "b.html"), "--holdout", "holdout"),
    (("backtest", "--out", "b.html"), "--few-shot", "few_shot"),
    (("backtest", "--out", "b.html"), "--draws", "draws"),
    (("backtest", "--out", "b.html"), "--workers", "workers"),
    (("backtest", "--ladders", "--out", "b.html"), "--ladder-size", "ladder_size"),
    (("datawall", "--fit", "fit.nc", "--out", "w.html"), "--words-per-token", "words_per_token"),
    (("datawall", "--fit", "fit.nc", "--out", "w.html"), "--overtrain", "overtrain"),
    (("datawall", "--fit", "fit.nc", "--out", "w.html"), "--r-star", "r_star"),
    (("datawall", "--fit", "fit.nc", "--out", "w.html"), "--level", "level"),
]


def _beyond(quantity: str) -> str:
    """A value just outside ``quantity``'s bounds: ten times its upper end (twice, for a probability's 1)."""
    bound = BOUNDS[quantity]
    return f"{bound.high * (2 if bound.high <= 1 else 10):g}"


BOUND_CASES = [(base + (flag, value), 2, f"{flag}={value}")
               for base, flag, quantity in BOUNDED_FLAGS
               for value in ("nan", "inf", _beyond(quantity))]
CASES += BOUND_CASES


@pytest.mark.parametrize("args, code, message", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_hostile_input(workspace, capsys, monkeypatch, args, code, message):
    if "grid_huge.csv" in args:  # 10 MB: written only for the case that needs it
        (workspace / "grid_huge.csv").write_text("params,tokens\n" + "1e9,2e10\n" * 1_000_001)
    before = _snapshot(workspace)
    got, out, err = _run(capsys, monkeypatch, args)
    lines = err.strip().splitlines()
    assert got == code, err
    assert "Traceback" not in err and "\x1b" not in out + err
    if code != 0 or message:
        assert 1 <= len(lines) <= 3, err
    if message:
        assert message in err
    written = {"datawall": "results/datawall.html"}.get(args[0]) if code == 0 else None
    after = _snapshot(workspace)
    after.pop(written, None)
    assert after == before  # refusals write nothing; answers from a saved fit never touch it


def test_a_bare_command_shows_its_help(capsys, monkeypatch):
    code, out, err = _run(capsys, monkeypatch, ["data"])
    assert code == 2 and "data [OPTIONS] COMMAND" in out + err and "check" in out + err
    assert "error:" not in err and "Traceback" not in err


def test_loss_that_rises_with_scale_is_fitted_with_a_warning(workspace, capsys, monkeypatch):
    code, out, err = _run(capsys, monkeypatch, ["fit", "--runs", "rising.csv", "--no-pool", "--out", "rising.nc",
                                                "--draws", "100", "--tune", "100", "--allow-unconverged"])
    assert code == 0 and "Traceback" not in err
    assert "loss rises with training compute across these 12 runs (rank correlation +1.00)" in err
    assert 1 <= len(err.strip().splitlines()) <= 3


def test_one_tampered_dataset_does_not_hide_the_others(mirror, tmp_path, monkeypatch, capsys, isolated_cache):
    copy = tmp_path / "mirror"
    copy.mkdir()
    for item in mirror.iterdir():
        (copy / item.name).symlink_to(item)
    (copy / "llama3_isoflops_points.csv").unlink()
    (copy / "llama3_isoflops_points.csv").write_text("params,tokens,loss\n1,2,3\n")
    monkeypatch.setenv("SCALING_FORECAST_DATA_DIR", str(copy))
    code, out, err = _run(capsys, monkeypatch, ["data", "list"])
    assert code == 2 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert "llama3" in line and "does not match the registry" in line
    assert "chinchilla-epoch" in out and "gemstones" in out  # the others are still listed, with their rows


def test_the_product_knows_its_own_outputs(saved, tmp_path):
    assert written_by_product(saved / "fit.nc")
    (tmp_path / "page.html").write_text(page("t", ["<p>x</p>"]))
    assert written_by_product(tmp_path / "page.html")
    (tmp_path / "other.html").write_text("<html></html>")
    (tmp_path / "other.nc").write_bytes((saved / "truncated.nc").read_bytes())
    assert not written_by_product(tmp_path / "other.html")
    assert not written_by_product(tmp_path / "other.nc")
    assert not written_by_product(tmp_path / "absent.nc")


def test_names_from_users_reach_the_terminal_escaped(workspace, capsys, monkeypatch):
    """An --export name, a CSV header kept as metadata and the cache folder's path are shown, never obeyed: no
    raw escape reaches stderr (they did, before stderr passed through the escaping stream stdout uses)."""
    header, *rows = _ladder(12).splitlines()
    (workspace / "header.csv").write_text("\n".join([header + ",\x1b[31mred", *(row + ",x" for row in rows)]) + "\n")
    code, out, err = _run(capsys, monkeypatch, ["predict", "fit.nc", "--params", "7e10", "--tokens", "1.4e12",
                                                "--export", "ev\x1bil.csv"])
    assert code == 0 and "\x1b" not in out + err and "ev\\x1bil.csv" in err
    code, out, err = _run(capsys, monkeypatch, ["fit", "--runs", "header.csv", "--no-pool", "--draws", "100",
                                                "--tune", "100", "--out", "h.nc", "--allow-unconverged"])
    assert code == 0 and "\x1b" not in out + err and "\\x1b[31mred" in err
