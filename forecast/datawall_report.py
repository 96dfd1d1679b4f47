"""The data wall as one HTML page: stock and demand curves, exhaustion probabilities, loss at the wall, sensitivity."""

from pathlib import Path

import numpy as np
import pandas as pd

from scaling_forecast.datawall import BASE_YEAR, WallDraws, exhaustion_year, log_demand_line
from scaling_forecast.intervals import band, quantiles
from scaling_forecast.models.datawall import log_stock
from scaling_forecast.pages import banner, escape, html_table, interval_text, page, section, write_page
from scaling_forecast.plots import figure

CURVE_YEARS = np.linspace(2010, 2040, 121)


def _band(ax, years: np.ndarray, log_values: np.ndarray, colour: str, label: str, level: float) -> None:
    """Median and equal-tailed band of ln values (years x draws), drawn in log10."""
    lo, mid, hi = quantiles(log_values / np.log(10), band(level))
    ax.fill_between(years, lo, hi, color=colour, alpha=0.2, linewidth=0)
    ax.plot(years, mid, color=colour, label=label)


def wall_figure(draws: WallDraws, models: pd.DataFrame, result: dict):
    """Stock and demand over time; P(exhausted by year); the frontier run's loss, capped and unlimited."""
    level = result["level"]
    fig = figure(16, 4.8)
    stock_ax, p_ax, loss_ax = fig.subplots(1, 3)
    t = CURVE_YEARS[:, None]
    for repetition, colour, label in ((False, "tab:green", "stock: unique usable tokens"),
                                      (True, "tab:olive", "stock x repetition gain")):
        _band(stock_ax, CURVE_YEARS, log_stock(draws.components, t, repetition=repetition), colour, label, level)
    for demand, k, colour, label in (("dataset_trend", 1.0, "tab:blue", "largest training set: dataset-size trend"),
                                     ("compute", 1.0, "tab:red", "compute trend, Chinchilla-optimal tokens"),
                                     ("compute", 5.0, "tab:purple", "compute trend, 5x overtrained")):
        d0, d1 = log_demand_line(draws, demand, k)
        _band(stock_ax, CURVE_YEARS, d0 + d1 * (t - BASE_YEAR), colour, label, level)
    stock_ax.scatter(models["year"], np.log10(models["tokens"]), s=8, color="black", label="notable models")
    stock_ax.set(xlabel="year", ylabel="log10 tokens", ylim=(8, 17), title=f"medians and {level:.0%} bands")
    stock_ax.legend(fontsize=7, loc="upper left")
    for demand, k, repetition, style in (("dataset_trend", 1.0, True, "-"), ("compute", 1.0, True, "-"),
                                         ("mixture", 1.0, True, "-"), ("mixture", 5.0, True, "--"),
                                         ("mixture", 1.0, False, ":")):
        years = np.sort(exhaustion_year(draws, demand, k, repetition))
        label = f"{demand.replace('_', ' ')}{'' if demand == 'dataset_trend' else f', {k:g}x'}, repetition {'on' if repetition else 'off'}"
        p_ax.plot(CURVE_YEARS, np.searchsorted(years, CURVE_YEARS, side="right") / years.size, style, label=label)
    p_ax.axvline(result["published"]["exhaustion_year"]["value"], color="grey", linewidth=0.8)
    p_ax.set(xlabel="year", ylabel="P(stock exhausted by then)", xlim=(2022, 2040), ylim=(0, 1))
    p_ax.legend(fontsize=7, loc="lower right")
    years = np.array([float(y) for y in result["loss_by_year"]])
    penalty = [w["penalty"] for w in result["loss_by_year"].values()]
    mid = np.array([p["median"] for p in penalty])
    lo, hi = np.array([p["lo"] for p in penalty]), np.array([p["hi"] for p in penalty])
    loss_ax.errorbar(years, mid, yerr=[mid - lo, hi - mid], fmt="o", color="tab:red", capsize=3)
    loss_ax.set(xlabel="year", ylabel="loss with data capped - unlimited (nats/token)", yscale="log",
                title="frontier run's loss penalty")
    for ax in (stock_ax, p_ax, loss_ax):
        ax.grid(alpha=0.3)
    return fig


def _year(row: dict) -> str:
    return f"{row['median']:.1f} [{row['lo_0.8']:.1f}, {row['hi_0.8']:.1f}]"


def write_datawall_report(draws: WallDraws, models: pd.DataFrame, result: dict, path: str | Path, *,
                          description: str, warnings: list[str]) -> Path:
    """Write the data-wall page; ``description`` says which data and law produced it."""
    level = result["level"]
    scenario_rows = [[r["demand"].replace("_", " "), "-" if r["overtrain"] is None else f"{r['overtrain']:g}x",
                      "on" if r["repetition"] else "off", _year(r), f"{r['lo_0.5']:.1f} - {r['hi_0.5']:.1f}",
                      f"{r['lo_0.9']:.1f} - {r['hi_0.9']:.1f}", f"{r['p_never']:.3f}"] for r in result["scenarios"]]
    scenarios = html_table(["demand", "overtraining", "repetition", "median year [80%]", "50%", "90%", "P(never)"],
                           scenario_rows)
    wall_rows = [[f"{k}x", f"{w['year_median']:.1f}", interval_text(w["epochs"], ".2f"), interval_text(w["params"], ".3g"),
                  interval_text(w["capped"], ".4f"), interval_text(w["unlimited"], ".4f"), interval_text(w["penalty"], ".2e")]
                 for k, w in result["loss_at_wall"].items()]
    walls = html_table(["overtraining", "median year", "epochs over the stock", "N (parameters)",
                        "loss, data capped (nats/token)", "loss, data unlimited", "penalty (nats/token)"], wall_rows)
    sens_rows = [[r["input"], f"{r['variance_share']:.3f}", f"{r['median']:.2f}", f"{r['width_0.8']:.2f}"]
                 for r in result["sensitivity"]]
    sens = html_table(["input fixed at its median", "share of the year's variance", "median year", "80% width (years)"],
                      sens_rows)
    stock, pub = result["stock_2024"], result["published"]
    v = pub["effective_stock"]
    sections = [
        banner("WARNING: numbers below rest on posteriors that failed their diagnostics", warnings)
        + f"<p>{escape(description)}</p>"
        f"<p>Stock in 2024: unique usable tokens {interval_text(stock['quality_adjusted'], '.3g')}, with repetition "
        f"{interval_text(stock['effective'], '.3g')} ({stock['effective']['level']:.0%} intervals); Villalobos et al.: "
        f"{v['value']:.3g} [{v['low']:.3g}, {v['high']:.3g}] ({v['interval']:.0%}).</p>",
        section("Stock, demand and exhaustion", wall_figure(draws, models, result),
                f"Left: medians and {level:.0%} bands; dots are the notable models' training sets. Middle: P(the "
                "largest training run's tokens have reached the stock) by year; the grey line is Villalobos et al.'s "
                f"median, {pub['exhaustion_year']['value']:.0f}. Right: how much higher the frontier run's expected loss "
                "(Chinchilla law, compute trend, compute-optimal split) is when its tokens come from the stock, "
                f"repeated as needed (Muennighoff et al.'s effective data), than with unlimited data; medians and {level:.0%} "
                "intervals over the posterior."),
        "<h2>Exhaustion year per scenario</h2>" + scenarios,
        "<h2>Loss at the wall (compute trend, repetition on)</h2>" + walls,
        "<h2>Sensitivity (mixture, 1x, repetition on)</h2>" + sens,
    ]
    text = page("Data wall: when training sets exhaust the stock of human text", sections)
    return write_page(path, text)
