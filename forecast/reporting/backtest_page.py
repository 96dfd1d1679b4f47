"""The backtest as one HTML page: the table of every family and method, pooled rows, and a figure."""

from pathlib import Path

import numpy as np
import pandas as pd

from scaling_forecast.answers.backtest import LEVELS

from .figures import figure
from .pages import banner, escape, html_table, page, section, write_page

METHOD_COLOURS = {"hierarchical": "tab:blue", "pooled": "tab:blue", "per_family": "tab:orange", "baseline": "tab:grey"}


def score_figure(table: pd.DataFrame):
    """Per family: 80% coverage and median absolute percentage error of each method (few-shot in shades of green)."""
    methods = list(dict.fromkeys(table["method"]))
    families = list(dict.fromkeys(table["family"]))
    fig = figure(13, 4.8)
    axes = fig.subplots(1, 2)
    width = 0.8 / len(methods)
    x = np.arange(len(families))
    shades = iter(("#b7e4c7", "#52b788", "#1b4332", "#95d5b2"))
    for i, method in enumerate(methods):
        rows = table[table["method"] == method].set_index("family").reindex(families)
        colour = METHOD_COLOURS.get(method) or next(shades)
        for ax, column in zip(axes, ("coverage_0.8", "mape")):
            ax.bar(x + (i - (len(methods) - 1) / 2) * width, rows[column], width, color=colour, label=method)
    axes[0].axhspan(0.7, 0.9, color="tab:green", alpha=0.1, label="70-90%")
    axes[0].axhline(0.8, color="black", linewidth=0.8)
    axes[0].set(ylabel="share of held-out runs inside the 80% interval", ylim=(0, 1.05))
    axes[1].set(ylabel="median absolute % error of the predictive median", yscale="log")
    for ax in axes:
        ax.set_xticks(x, families, rotation=30, ha="right", fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    axes[1].legend(fontsize=7)
    return fig


def write_backtest_report(table: pd.DataFrame, pooled: pd.DataFrame, path: str | Path, *, holdout: float,
                          lofo: bool = False, force: bool = False) -> Path:
    """Write the backtest page; every number says its unit and level."""
    columns = ["family", "method", "n_train", "n_test", "mape", "bias", "lpd"] + [f"coverage_{level:g}" for level in LEVELS] + \
              [f"width_{level:g}" for level in LEVELS] + ["converged"]
    header = ["family", "method", "training runs", "held-out runs", "median abs. % error",
              "median signed % error (forecast - actual)", "mean lpd (log loss)"] + \
             [f"{level:.0%} coverage" for level in LEVELS] + [f"{level:.0%} width (nats/token)" for level in LEVELS] + ["converged"]

    def cells(row) -> list[str]:
        out = []
        for c in columns:
            v = row[c]
            out.append(escape(v) if isinstance(v, str) else ("yes" if v is True else "NO" if v is False else f"{v:.3g}"))
        return out

    pooled_columns = ["method", "families", "n_test", "mape_median_over_families", "mape_runs", "bias_runs", "lpd"] + \
                     [f"coverage_{level:g}" for level in LEVELS] + [f"width_{level:g}" for level in LEVELS]
    unconverged = table[~table["converged"].astype(bool)]
    warning = banner("Some fits failed their diagnostics", [f"{r.family} {r.method}: {r.problems}"
                                                             for r in unconverged.itertuples()],
                     "; their rows are marked NO and are not results:")
    body = [
        warning,
        ("<p>Leave one family out: each family in turn is treated as a user's new runs, the other families as the "
         "population (the user's path, <code>fit --runs</code> then <code>predict</code>). pooled: the family's "
         "runs fitted under the population prior; per_family: the law fitted to them alone (<code>--no-pool</code>); "
         "pooled_few_k: the pooled fit from only the family's k smallest-compute runs.</p>" if lofo else ""),
        f"<p>Per family the configurations with the top {holdout:.0%} of compute are held out; each method is fitted "
        "to the rest and forecasts a new run's loss at the held-out N and D. Median absolute and signed percentage "
        "error of the predictive median (signed: forecast minus actual over actual, positive = forecast too high; "
        "mape_runs and bias_runs: medians over all held-out runs); coverage = share of held-out runs inside the equal-tailed predictive interval; width in "
        "nats/token; lpd = mean log predictive density of the held-out log losses (higher is better). few_shot_k: the "
        "hierarchical model given only the family's k smallest-compute runs plus all other families.</p>",
        "<h2>Pooled over families</h2>",
        html_table(pooled_columns, [[escape(v) if isinstance(v, str) else f"{v:.3g}" for v in r] for r in
                                    pooled[pooled_columns].itertuples(index=False)]),
        "<h2>Every family and method</h2>",
        html_table(header, [cells(r) for _, r in table.iterrows()]),
        section("Coverage and error per family", score_figure(table),
                "Left: share of each family's held-out runs inside the method's 80% predictive interval (shaded: "
                "70-90%). Right: median absolute percentage error of the predictive median (log axis)."),
    ]
    return write_page(path, page("Backtest: forecasting the largest runs of each family", body), force=force)


def write_ladder_report(rows: pd.DataFrame, summary: pd.DataFrame, path: str | Path, *, force: bool = False) -> Path:
    """The ladder backtest's page: by method, k and distance, then every ladder fitted."""
    columns = ["method", "k", "distance", "forecasts", "flagged", "median_abs_error", "median_signed_error"] + \
              [f"coverage_{level:g}" for level in LEVELS] + ["lpd"]
    header = ["method", "k (runs in the ladder)", "decades beyond the ladder's largest run", "forecasts",
              "from flagged fits (left out)", "median abs. % error", "median signed % error (forecast - actual)"] + \
             [f"{level:.0%} coverage" for level in LEVELS] + ["mean lpd (log loss)"]
    fits = rows.drop_duplicates(["family", "design", "k", "method"])
    unconverged = fits[~fits["converged"].astype(bool)]
    warning = banner("Some fits failed their diagnostics", [f"{r.family} {r.design} k={r.k} {r.method}: {r.problems}"
                                                             for r in unconverged.itertuples()],
                     "; their forecasts are left out of the table and are not results:")
    ladder_rows = [[escape(r.family), escape(r.design), str(r.k), escape(r.method), "yes" if r.converged else "NO"]
                   for r in fits.itertuples()]
    body = [
        warning,
        "<p>From each registered family, the ladders users have: k model sizes at one tokens-per-parameter ratio "
        "(the family's ratio nearest 20, else its most common), smallest first, or the compute-optimal runs of the k "
        "smallest budgets of an IsoFLOP sweep. Each ladder is fitted as a user's runs: pooled (the population built "
        "without the family), the law alone (k of 8 or more) and the Huber point fit (5 or more); each forecasts every "
        "run of the family with more compute than the ladder's largest. Signed error: forecast minus actual over "
        "actual (positive = too high); coverage: share of forecast runs inside the equal-tailed predictive interval; "
        "lpd: mean log predictive density of the log losses (higher is better).</p>",
        "<h2>By method, ladder size and distance</h2>",
        html_table(header, [[escape(str(v)) if isinstance(v, str) or not isinstance(v, float) else f"{v:.3g}"
                             for v in r] for r in summary[columns].itertuples(index=False)]),
        "<h2>Every ladder fitted</h2>",
        html_table(["family", "design", "k", "method", "converged"], ladder_rows),
    ]
    title = "Ladder backtest: a handful of small runs forecasting a family's larger runs"
    return write_page(path, page(title, body), force=force)

