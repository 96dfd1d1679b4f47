"""Speed of the backtest, the longest command: `backtest` in a new process, against the Huber/bootstrap baseline
fits it contains, timed alone in the same run.

    SCALING_FORECAST_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_backtest.py [--repeats 1] [--few-shot 5 ...]

- ``backtest``: `scaling-forecast backtest --few-shot K ... --workers 2` (every registered family: one hierarchical
  fit, the law alone and the baseline per family, and per family and K a hierarchical fit with that family cut
  to its K smallest runs), start to page written;
- ``baseline``: the baseline fit (Huber + 1000 bootstrap refits) of each family's training runs, one after
  another in one new process.
Minutes each, so --repeats defaults to 1; the default backtest has --few-shot 3 5 8.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = """
from scaling_forecast.answers.backtest import split
from scaling_forecast.fitting.baseline import BaselineFit
from scaling_forecast.inputs.families import load_families
train, _ = split(load_families())
for _, table in train.groupby("family"):
    BaselineFit.fit(table, n_boot=1000, seed=0)
"""


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode == 3:  # done, but some fold's fit missed its diagnostics: the time stands, say so
        print("  (exit 3: some fits missed their diagnostics)", *run.stderr.splitlines()[-3:], sep="\n  ")
    elif run.returncode:
        raise SystemExit(run.stderr)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--few-shot", type=int, nargs="+", default=[5])
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp()) / "backtest.html"
    few = [a for k in args.few_shot for a in ("--few-shot", str(k))]
    command = [sys.executable, "-m", "scaling_forecast", "backtest", *few, "--workers", "2", "--out", str(out)]
    print(time.strftime("%Y-%m-%d %H:%M"), " ".join(command[1:]))
    results = {"backtest": [timed(command) for _ in range(args.repeats)],
               "baseline": [timed([sys.executable, "-c", BASELINE]) for _ in range(args.repeats)]}
    for name, times in results.items():
        print(f"{name:<9} median {statistics.median(times) / 60:5.1f} min  (runs: {', '.join(f'{t:.0f} s' for t in times)})")
    print(f"ratio backtest / baseline: {statistics.median(results['backtest']) / statistics.median(results['baseline']):.1f}")


if __name__ == "__main__":
    main()
