"""The data wall as one HTML page: stock and demand curves, exhaustion probabilities, loss at the wall, sensitivity."""

from pathlib import Path

import numpy as np
import pandas as pd

from scaling_forecast.answers.datawall import WallDraws
from scaling_forecast.answers.datawall_answer import WallAnswer
from scaling_forecast.reporting.curves import WALL_YEARS, WallCurves, wall_curves

from .figures import draw_band, figure
from .pages import banner, escape, html_table, page, section, write_page

STOCK_COLOURS = ("tab:green", "tab:olive")
DEMAND_COLOURS = ("tab:blue", "tab:red", "tab:purple")


def wall_figure(curves: WallCurves, models: pd.DataFrame, result: WallAnswer):
    """Stock and demand over time; P(exhausted by year); the frontier run's loss penalty by year."""
    level = result.level
    fig = figure(16, 4.8)
    stock_ax, p_ax, loss_ax = fig.subplots(1, 3)
    for (label, band), colour in zip(curves.stock + curves.demand, STOCK_COLOURS + DEMAND_COLOURS):
        draw_band(stock_ax, band, colour, label, alpha=0.2, linewidth=1.5)
    stock_ax.scatter(models["year"], np.log10(models["tokens"]), s=8, color="black", label="notable models")
    stock_ax.set(xlabel="year", ylabel="log10 tokens", ylim=(8, 17), title=f"medians and {level:.0%} bands")
    stock_ax.legend(fontsize=7, loc="upper left")
    for label, overtrain, repetition, p in curves.exhausted:
        p_ax.plot(WALL_YEARS, p, "--" if overtrain > 1 else "-" if repetition else ":", label=label)
    p_ax.axvline(result.published["exhaustion_year"]["value"], color="grey", linewidth=0.8)
    p_ax.set(xlabel="year", ylabel="P(stock exhausted by then)", xlim=(2022, 2040), ylim=(0, 1))
    p_ax.legend(fontsize=7, loc="lower right")
    years = np.array([float(y) for y in result.loss_by_year])
    penalty = [w.penalty for w in result.loss_by_year.values()]
    mid, lo, hi = (np.array([getattr(p, k) for p in penalty]) for k in ("median", "lo", "hi"))
    loss_ax.errorbar(years, mid, yerr=[mid - lo, hi - mid], fmt="o", color="tab:red", capsize=3)
    loss_ax.set(xlabel="year", ylabel="loss with data capped - unlimited (nats/token)", yscale="log",
                title="frontier run's loss penalty")
    for ax in (stock_ax, p_ax, loss_ax):
        ax.grid(alpha=0.3)
    return fig


def write_datawall_report(draws: WallDraws, models: pd.DataFrame, result: WallAnswer, path: str | Path, *,
                          description: str, warnings: list[str], force: bool = False) -> Path:
    """Write the data-wall page; ``description`` says which data and law produced it."""
    level = result.level
    scenario_rows = [[r.demand.replace("_", " "), "-" if r.overtrain is None else f"{r.overtrain:g}x",
                      "on" if r.repetition else "off", r.interval(0.8).text(".1f"),
                      f"{r.interval(0.5).lo:.1f} - {r.interval(0.5).hi:.1f}",
                      f"{r.interval(0.9).lo:.1f} - {r.interval(0.9).hi:.1f}", f"{r.p_never:.3f}"] for r in result.scenarios]
    scenarios = html_table(["demand", "overtraining", "repetition", "median year [80%]", "50%", "90%", "P(never)"],
                           scenario_rows)
    wall_rows = [[f"{k}x", f"{w.year_median:.1f}", w.epochs.text(".2f"), w.params.text(".3g"), w.capped.text(".4f"),
                  w.unlimited.text(".4f"), w.penalty.text(".2e")] for k, w in result.loss_at_wall.items()]
    walls = html_table(["overtraining", "median year", "epochs over the stock", "N (parameters)",
                        "loss, data capped (nats/token)", "loss, data unlimited", "penalty (nats/token)"], wall_rows)
    sens_rows = [[r["input"], f"{r['variance_share']:.3f}", f"{r['median']:.2f}", f"{r['width_0.8']:.2f}"]
                 for r in result.sensitivity]
    sens = html_table(["input fixed at its median", "share of the year's variance", "median year", "80% width (years)"],
                      sens_rows)
    stock, pub = result.stock_2024, result.published
    v = pub["effective_stock"]
    headline = next(r for r in result.scenarios if r.demand == "mixture" and r.overtrain == 1.0 and r.repetition)
    year, at_wall, published_year = headline.interval(0.8), result.loss_at_wall.get("1"), pub["exhaustion_year"]
    penalty = ("" if at_wall is None else f" A run with the frontier's compute then, re-planned for the stock's unique "
               f"tokens, reaches a loss {at_wall.penalty.text('.1e')} nats/token above the same compute on fresh data.")
    sections = [
        banner("WARNING: numbers below rest on posteriors that failed their diagnostics", warnings)
        + f"<h2>In short</h2><p>The largest training run's tokens reach the stock of human text in "
        f"<strong>{year.median:.0f}</strong> (80% interval {year.lo:.0f} to {year.hi:.0f}; demand the mixture of the "
        f"dataset-size and compute trends, compute-optimal runs, repetition allowed), against Villalobos et al.'s "
        f"{published_year['value']:.0f} [{published_year['low']:.0f}, {published_year['high']:.0f}].{penalty}</p>"
        + f"<p>{escape(description)}</p>"
        f"<p>Stock in 2024: unique usable tokens {stock['quality_adjusted'].text('.3g')}, with repetition "
        f"{stock['effective'].text('.3g')} ({stock['effective'].level:.0%} intervals); Villalobos et al.: "
        f"{v['value']:.3g} [{v['low']:.3g}, {v['high']:.3g}] ({v['interval']:.0%}).</p>",
        section("Stock, demand and exhaustion", wall_figure(wall_curves(draws, level), models, result),
                f"Left: medians and {level:.0%} bands; dots are the notable models' training sets. Middle: P(the "
                "largest training run's tokens have reached the stock) by year; the grey line is Villalobos et al.'s "
                f"median, {pub['exhaustion_year']['value']:.0f}. Right: how much higher the frontier run's expected loss "
                "(Chinchilla law, compute trend) is when its tokens come from the stock, repeated as needed and the "
                "split of its compute re-optimised for them (Muennighoff et al.'s data-constrained optimum), than the "
                f"compute-optimal run with unlimited data; medians and {level:.0%} intervals over the posterior."),
        "<h2>Exhaustion year per scenario</h2>" + scenarios,
        "<h2>Loss at the wall (compute trend, repetition on)</h2>" + walls,
        "<h2>Sensitivity (mixture, 1x, repetition on)</h2>" + sens,
    ]
    text = page("Data wall: when training sets exhaust the stock of human text", sections)
    return write_page(path, text, force=force)
