"""How far is the two-stage pooled fit from the joint hierarchical fit on the same data?

    SCALING_FORECAST_DATA_DIR=../shared/data .venv/bin/python scripts/joint_vs_pooled.py FAMILY [FAMILY ...]

For each FAMILY (a registered family treated as a user's new runs): its runs below the top third by
compute are fitted (a) jointly, as a ninth family inside the hierarchical model with the other seven
families, and (b) the user's way, alone under the population prior summarised from the other seven
(read from, or built into, the user cache). Both without the learned extrapolation slope, so that
only the prior's approximation differs. Prints the family's constants (median and 90% interval) and
the forecasts of its held-out top third side by side: median, 80% interval width, coverage.
"""

import sys
from dataclasses import replace

import numpy as np
import pandas as pd

from scaling_forecast.answers.backtest import split
from scaling_forecast.fitting.hierarchical import HierarchicalFit
from scaling_forecast.fitting.pooled import PooledFit, load_population
from scaling_forecast.inputs.families import load_families


def summary(values: np.ndarray) -> str:
    lo, mid, hi = np.quantile(values, [0.05, 0.5, 0.95])
    return f"{mid:.4g} [{lo:.4g}, {hi:.4g}]"


def main(families: list[str]) -> None:
    runs = load_families()
    for family in families:
        others = runs[runs["family"] != family]
        train, test = split(runs[runs["family"] == family], 1 / 3)
        joint = HierarchicalFit.fit(pd.concat([others, train], ignore_index=True), progress=False)
        population = load_population(tuple(dict.fromkeys(others["family"])))
        population = replace(population, prior=replace(population.prior, extrapolation=(0.0, 0.0)))
        pooled = PooledFit.fit(train, source=family, source_sha256="-", population=population, progress=False)
        print(f"{family}: {len(train)} runs fitted, {len(test)} held out; joint {joint.diagnostics.problems() or 'converged'}, "
              f"pooled {pooled.diagnostics.problems() or 'converged'}")
        i = joint.families.index(family)
        post = pooled.idata["posterior"].to_dataset()
        for name in ("alpha", "beta", "E", "sigma"):
            print(f"  {name:<6} joint {summary(joint.posterior_draws[name][:, i])}   pooled "
                  f"{summary(post[name].to_numpy().ravel())}")
        unique = test["unique_tokens"].fillna(test["tokens"])
        loss = test["loss"].to_numpy()
        for label, predictive in (("joint", joint.predictive(test["params"], test["tokens"], unique, family=family)),
                                  ("pooled", pooled.predictive(test["params"], test["tokens"], unique))):
            lo, hi = predictive.interval(0.8)
            median = predictive.median()
            print(f"  {label:<6} forecasts: median signed error {np.median((median - loss) / loss) * 100:+.2f}%, "
                  f"80% width {np.median(100 * np.log(hi / lo)):.2f}% of the loss, coverage {np.mean((loss >= lo) & (loss <= hi)):.2f}")
        joint_median = joint.predictive(test["params"], test["tokens"], unique, family=family).median()
        pooled_median = pooled.predictive(test["params"], test["tokens"], unique).median()
        print(f"  median |joint - pooled| forecast median: {np.median(np.abs(pooled_median / joint_median - 1)) * 100:.2f}%")


if __name__ == "__main__":
    main(sys.argv[1:])
