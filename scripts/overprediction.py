"""Why do forecasts of larger runs come out too high? The law fitted alone below each family's top third
against the same law fitted to all of the family's runs.

    SCALING_FORECAST_DATA_DIR=../shared/data .venv/bin/python scripts/overprediction.py

Per registered family: E, alpha and beta (posterior medians) from both fits, the median signed error
(forecast - actual, % of the actual loss) of each fit's forecast of the top third, and the full fit's
median residual (observed - fitted log loss, %) in the top third and below it: a law that fails in
range leaves a trend there; a floor estimated too high from small runs does not.
"""

import numpy as np

from scaling_forecast.answers.backtest import split
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.inputs.families import load_families


def main() -> None:
    runs = load_families()
    for family, own in runs.groupby("family", sort=False):
        train, test = split(own, 1 / 3)
        fits = {"all runs": ScalingLawFit.fit(own, source=family, source_sha256="-", progress=False),
                "below top third": ScalingLawFit.fit(train, source=family, source_sha256="-", progress=False)}
        print(family)
        for label, fitted in fits.items():
            post = fitted.idata["posterior"].to_dataset()
            forecast = fitted.predictive(test["params"], test["tokens"]).median()
            bias = np.median((forecast - test["loss"].to_numpy()) / test["loss"].to_numpy()) * 100
            flag = "" if fitted.diagnostics.converged else "  (not converged: " + "; ".join(fitted.diagnostics.problems()) + ")"
            print(f"  {label:<16} E {float(post['E'].median()):.3f}  alpha {float(post['alpha'].median()):.3f}  "
                  f"beta {float(post['beta'].median()):.3f}  top-third signed error {bias:+.2f}%{flag}")
        full = fits["all runs"]
        fitted_log = np.median(np.log(full.draws.loss(np.log(own["params"].to_numpy()), np.log(own["tokens"].to_numpy()))), axis=1)
        residual = (np.log(own["loss"].to_numpy()) - fitted_log) * 100
        top = own.index.isin(test.index)
        print(f"  all-runs fit, median residual: top third {np.median(residual[top]):+.2f}%, below {np.median(residual[~top]):+.2f}%")


if __name__ == "__main__":
    main()
