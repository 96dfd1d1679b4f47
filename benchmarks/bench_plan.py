"""Speed of the planning answers against per-draw numerical solution, in the same run.

    SCALING_FORECAST_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_plan.py [--repeats 5]

Setup (not timed): the Chinchilla law fitted once in process on chinchilla-epoch with the 5 highest-loss
runs dropped (4000 posterior draws).

Measures, each as the median of --repeats runs, 1000 questions of each kind x 4000 draws, with medians
and 90% intervals (``scaling_forecast.answers.plan``, ``.hardware``, ``.data_constrained``):
- ``given N``: `for_params` at 1000 model sizes from 1e8 to 1e13 parameters;
- ``hardware``: `for_hardware` at 1000 (H100 count, days) pairs, the MFU prior drawn;
- ``target``: `for_target` at 1000 target losses from 1.75 to 2.5 nats/token, probabilities 0.5 and 0.9;
- ``inference``: `for_inference` at the same 1000 targets with 2e13 inference tokens (safeguarded Newton per cell);
- ``unique``: `data_constrained.for_unique_tokens` at 1000 unique-token counts from 1e9 to 1e13, with the
  data-constrained optimum at 1e24 FLOP (safeguarded Newton per question and draw) and R*_D, R*_N drawn per
  draw as plan draws them;
and, as the baseline a user would otherwise write, per draw and question: bounded scalar minimisation of
the loss over log N at a budget (``hardware``; the data-constrained loss for ``unique``), wrapped in root finding on log C where the question fixes
N (``given N``) or the loss (``target``), on a subset of --cells (question, draw) cells, per cell and
extrapolated to 1000 x 4000. The ratio baseline (extrapolated) / ours is the number to compare across
machines.
"""

import argparse
import math
import statistics

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from timing import repeat_times

from scaling_forecast.answers import data_constrained, hardware, plan
from scaling_forecast.fitting.settings import RunSelection
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.inputs import runs
from scaling_forecast.models.laws import data_constrained_loss

QUESTIONS = 1000
LAW_VARS = ("log_E", "log_A", "log_B", "alpha", "beta")
PARAMS = np.geomspace(1e8, 1e13, QUESTIONS)
COUNTS, DAYS = np.geomspace(64, 65536, QUESTIONS), np.linspace(10, 120, QUESTIONS)
TARGETS = np.linspace(1.75, 2.5, QUESTIONS)
UNIQUE, BUDGET = np.geomspace(1e9, 1e13, QUESTIONS), 1e24  # FLOP: the data-constrained optimum's budget
R_STAR_D, R_STAR_N = 15.387756, 5.309743
SERVED = 2e13  # inference tokens of the inference-aware question


def numerical(draws, cells: int) -> dict[str, float]:
    """Seconds per (question, draw) cell of each kind, solved numerically one draw at a time."""
    def loss(s, log_n, log_d):
        return float(draws.law.loss(np.array([[log_n]]), np.array([[log_d]]), {k: v[s:s + 1] for k, v in draws.values.items()})[0, 0])

    def total_cost(s, log_n, target):  # training + inference FLOP on the target's iso-loss curve
        e, a, b, alpha, beta = (float(x) for x in (math.exp(draws.values["log_E"][s]), math.exp(draws.values["log_A"][s]),
                                                   math.exp(draws.values["log_B"][s]), draws.values["alpha"][s],
                                                   draws.values["beta"][s]))
        tokens = (b / (target - e - a * math.exp(-alpha * log_n))) ** (1 / beta)
        return 6 * math.exp(log_n) * tokens + 2 * math.exp(log_n) * SERVED

    def best(s, x):
        return minimize_scalar(lambda n: loss(s, n, x - n), bounds=(0.0, x), method="bounded", options={"xatol": 1e-10}).x

    kinds = {
        "given N": lambda s, q: brentq(lambda x: best(s, x) - math.log(PARAMS[q]), math.log(PARAMS[q]) + 1,
                                       math.log(PARAMS[q]) + 40, xtol=1e-10),
        "hardware": lambda s, q: best(s, math.log(COUNTS[q] * 989.5e12 * DAYS[q] * 86400 * 0.4 / 6)),
        "target": lambda s, q: brentq(lambda x: loss(s, (n := best(s, x)), x - n) - TARGETS[q], 20.0, 90.0, xtol=1e-10),
        "inference": lambda s, q: minimize_scalar(lambda n: math.log(total_cost(s, n, TARGETS[q])), bounds=(
            math.log(math.exp(float(draws.values["log_A"][s])) / (TARGETS[q] - math.exp(float(draws.values["log_E"][s]))))
            / float(draws.values["alpha"][s]) + 1e-6, 40.0), method="bounded", options={"xatol": 1e-10}).x,
        "unique": lambda s, q: minimize_scalar(lambda n: data_constrained_loss(
            n, math.log(BUDGET / 6) - n, math.log(UNIQUE[q]), *(float(draws.values[k][s]) for k in LAW_VARS), R_STAR_D,
            R_STAR_N), bounds=(10.0, 40.0), method="bounded", options={"xatol": 1e-10}).x,
    }
    rng = np.random.default_rng(0)
    out = {}
    for name, solve in kinds.items():
        # Questions from the upper half: targets there (2.1 nats and up) lie above every draw's floor E.
        picks = [(int(rng.integers(draws.sigma.size)), int(q)) for q in rng.integers(QUESTIONS // 2, QUESTIONS, cells)]
        times = repeat_times(lambda solve=solve, picks=picks: [solve(s, q) for s, q in picks], 1)
        out[name] = times[0] / cells
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cells", type=int, default=40, help="numerical (question, draw) cells timed per kind")
    args = parser.parse_args()
    table, source, digest = runs.load_runs("chinchilla-epoch")
    draws = ScalingLawFit.fit(table, source=source, source_sha256=digest, selection=RunSelection(drop_highest_loss=5),
                              progress=False).draws
    h100 = hardware.accelerator("H100")
    r_stars, _ = data_constrained.r_star_draws({}, draws.sigma.size, seed=0)
    ours = {
        "given N": lambda: plan.for_params(draws, PARAMS, level=0.9),
        "hardware": lambda: hardware.for_hardware(draws, h100, COUNTS, DAYS, level=0.9),
        "target": lambda: plan.for_target(draws, TARGETS, level=0.9),
        "inference": lambda: plan.for_inference(draws, TARGETS, SERVED, level=0.9),
        "unique": lambda: data_constrained.for_unique_tokens(draws, UNIQUE, BUDGET, r_star_d=r_stars["R_star_D"],
                                                             r_star_n=r_stars["R_star_N"], level=0.9),
    }
    per_cell = numerical(draws, args.cells)
    print(f"{QUESTIONS} questions x {draws.sigma.size} draws; median of {args.repeats} runs (s)")
    for name, run in ours.items():
        median = statistics.median(repeat_times(run, args.repeats))
        baseline = per_cell[name] * QUESTIONS * draws.sigma.size
        print(f"  {name:<9} ours {median:.3f} s; per-draw numerical {per_cell[name] * 1e3:.2f} ms per cell, "
              f"{baseline:.0f} s extrapolated; ratio {baseline / median:.0f}")


if __name__ == "__main__":
    main()
