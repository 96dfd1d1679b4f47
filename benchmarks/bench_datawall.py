"""Speed of `scaling-forecast datawall` end to end, against Villalobos et al.'s Monte Carlo in the same run.

    SCALING_FORECAST_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_datawall.py [--repeats 3]

Setup (not timed): a Chinchilla-law fit of chinchilla-epoch (5 highest-loss runs
dropped) saved to a temporary file.

Measures, each the median of --repeats runs:
- ``datawall --fit``: the command as a user runs it after `make run` (a new
  process: imports, the Bayesian growth regressions and 4000 component draws read
  from the user cache, 14 scenarios, losses at the wall, sensitivity, the HTML page);
- ``datawall --fit, first``: the same with an empty user cache, so the growth
  regressions are fitted with nutpie (and cached), as the first data wall does;
- ``datawall``: the same without a saved fit (it fits the Chinchilla law first);
- ``baseline``: Villalobos et al.'s method on the same table in this process:
  OLS of log10 tokens on year with 10,000 bootstrap resamples, 10,000 Monte
  Carlo draws of the stock and of the frontier's start, exhaustion years of the
  dataset-trend scenario with repetition. It has no compute-based demand, no
  losses and no sensitivity, so it does less than the command.
The ratio command / baseline says what the Bayesian treatment costs.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from timing import repeat_times

from scaling_forecast.answers import datawall as dw
from scaling_forecast.models.stock import BASE_YEAR


def command(*args: str, cache: str) -> None:
    run = subprocess.run([sys.executable, "-m", "scaling_forecast", "datawall", *args], capture_output=True, text=True,
                         env=os.environ | {"SCALING_FORECAST_CACHE_DIR": cache})
    if run.returncode != 0:
        raise SystemExit(run.stderr)


def baseline(models, components, rng) -> float:
    """Bootstrap OLS growth and a Monte Carlo stock, as Villalobos et al.; the median exhaustion year."""
    year, y = models["year"].to_numpy(), np.log10(models["tokens"].to_numpy())
    rows = rng.integers(0, year.size, size=(10_000, year.size))
    x, v = year[rows], y[rows]
    slope = ((x - x.mean(1, keepdims=True)) * (v - v.mean(1, keepdims=True))).sum(1) / ((x - x.mean(1, keepdims=True)) ** 2).sum(1)
    draws = {}
    for name, c in components.items():
        mu, sigma = c.lognormal()
        sample = np.exp(rng.normal(mu, sigma, 10_000))
        draws[name] = sample if c.bound is None else c.bound - np.minimum(sample, c.bound * 0.999)
    s0 = (np.log(draws["indexed_pages"] * draws["bytes_per_page"] / draws["bytes_per_token"]
                 * draws["usable_fraction"] * draws["repetition_gain"]))
    s1 = np.log(draws["pages_growth_per_year"] * draws["bytes_per_page_growth_per_year"])
    d0, d1 = np.log(draws["largest_dataset_2024"]), slope * np.log(10)
    return float(np.median(BASE_YEAR + (s0 - d0) / (d1 - s1)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fit = Path(tmp, "chinchilla.nc")
        subprocess.run([sys.executable, "-m", "scaling_forecast", "fit", "--dataset", "chinchilla-epoch",
                        "--drop-highest-loss", "5", "--out", str(fit)], check=True, capture_output=True)
        out = str(Path(tmp, "wall.html"))
        cache = str(Path(tmp, "cache"))
        command("--fit", str(fit), "--out", out, "--json", cache=cache)  # fills the cache, as a first run does
        with_fit = repeat_times(lambda: command("--fit", str(fit), "--out", out, "--json", cache=cache), args.repeats)
        first = repeat_times(lambda: command("--fit", str(fit), "--out", out, "--json", cache=tempfile.mkdtemp()),
                             args.repeats)
        without = repeat_times(lambda: command("--out", out, "--json", cache=cache), args.repeats)
    models, components = dw.notable_models(dw.words_per_token()), dw.published_components()
    rng = np.random.default_rng(0)
    years = []
    base = repeat_times(lambda: years.append(baseline(models, components, rng)), args.repeats)
    for label, times in (("datawall --fit", with_fit), ("datawall --fit, first", first),
                         ("datawall (fits the law)", without), ("baseline", base)):
        print(f"{label:<26} median {statistics.median(times):7.2f} s  (min {min(times):.2f}, max {max(times):.2f})")
    print(f"ratio datawall --fit / baseline: {statistics.median(with_fit) / statistics.median(base):.0f}")
    print(f"baseline median exhaustion year (dataset trend, repetition on): {statistics.median(years):.2f}")


if __name__ == "__main__":
    main()
