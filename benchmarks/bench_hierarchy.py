"""Speed of the hierarchical fit over every registered family, against the Huber/bootstrap baseline fitted to
each family in the same run.

    SCALING_FORECAST_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_hierarchy.py [--repeats 5]

Each timing is a new process, start to finish:
- ``hierarchical``: `HierarchicalFit.fit` on the runs of the 8 registered families (the population every pooled
  fit rests on; its sampler settings are hierarchy.SAMPLER), with its diagnostics printed;
- ``baseline``: Hoffmann/Besiroglu's Huber fit with 1000 bootstrap refits to each family alone (what the
  backtest sets beside it), one family after another.
Medians of --repeats runs; the ratio hierarchical / baseline is the number to compare across machines.
"""

import argparse
import statistics
import subprocess
import sys
import time

HIERARCHICAL = """
import time
from scaling_forecast.inputs.families import load_families
from scaling_forecast.fitting.hierarchical import HierarchicalFit
start = time.perf_counter()
fit = HierarchicalFit.fit(load_families(), progress=False)
stats = fit.idata["sample_stats"]
print(f"fit {time.perf_counter() - start:.1f} s in process; {int(stats['n_steps'].mean())} steps per draw;",
      fit.diagnostics.problems() or "converged")
"""
BASELINE = """
from scaling_forecast.fitting.baseline import BaselineFit
from scaling_forecast.inputs.families import load_families
for _, table in load_families().groupby("family"):
    BaselineFit.fit(table, n_boot=1000, seed=0)
"""


def timed(code: str) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    print(time.strftime("%Y-%m-%d %H:%M"), f"medians of {repeats} new processes")
    results = {}
    for name, code in (("hierarchical", HIERARCHICAL), ("baseline", BASELINE)):
        runs = [timed(code) for _ in range(repeats)]
        results[name] = [t for t, _ in runs]
        for _, said in runs:
            if said:
                print(f"  {name}: {said}")
    for name, times in results.items():
        print(f"{name:<13} median {statistics.median(times):6.1f} s  (runs: {', '.join(f'{t:.1f}' for t in times)})")
    print(f"ratio hierarchical / baseline: {statistics.median(results['hierarchical']) / statistics.median(results['baseline']):.2f}")


if __name__ == "__main__":
    main()
