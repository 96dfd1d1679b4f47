"""Wall times shared by the benchmark scripts (run from the repository root): repeated calls in process, whole
commands in fresh processes, and the package as an older commit had it, for before/after in one run."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def repeat_times(function, repeats: int) -> list[float]:
    """Seconds taken by each of ``repeats`` calls of ``function``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def measured(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (MB) of ``command`` (with ``env`` added to this environment), run
    in a fresh child of a fresh child so that the memory is the command's alone."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
             "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *command], check=True, capture_output=True, text=True,
                         env=os.environ | (env or {})).stdout
    seconds, kilobytes = out.split()
    return float(seconds), float(kilobytes) / 1024


def package_at(revision: str) -> dict[str, str]:
    """The environment under which ``python -m scaling_forecast`` runs the package as ``revision`` of this
    repository had it (its forecast/, models/ and data/ folders laid out as the installed package), ahead
    of the installed one on the path."""
    root = Path(tempfile.mkdtemp(prefix=f"scaling-forecast-{revision}-"))
    package = root / "scaling_forecast"
    archive = subprocess.run(["git", "archive", revision, "forecast", "models", "data"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    (root / "forecast").rename(package)
    for folder in ("models", "data"):
        (root / folder).rename(package / folder)
    return {"PYTHONPATH": str(root)}
