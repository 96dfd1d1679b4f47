"""Figures of a fitted scaling law, drawn from what ``scaling_forecast.reporting.curves`` computed."""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from scaling_forecast.reporting.curves import Band, IsoFlop, Residuals, RunCurve

from .figures import C_LABEL, D_LABEL, LOSS_LABEL, N_LABEL, colours, draw_band, figure, outside_legend

LOG_SCALE_PARAMETERS = ("A", "B", "N_c", "D_c", "C_c")


def data_scatter(runs: pd.DataFrame) -> Figure:
    """Loss against compute, coloured by log10 N."""
    fig = figure(7.5, 4.8)
    ax = fig.add_subplot()
    colour = np.log10(runs["params"])
    points = ax.scatter(runs["compute"], runs["loss"], c=colour, cmap="viridis", s=16, edgecolor="none")
    fig.colorbar(points, ax=ax, label="log10 N (parameters)")
    ax.set(xscale="log", xlabel=C_LABEL, ylabel=LOSS_LABEL, title=f"The {len(runs)} fitted runs")
    ax.grid(alpha=0.3, which="both", linewidth=0.5)
    return fig


def isoflop_curves(curves: IsoFlop) -> Figure:
    """Per budget C: expected loss along N at D = C/(6N), median and band, with the budget's runs."""
    fig = figure(8.5, 5.5)
    ax = fig.add_subplot()
    draw_isoflop(ax, curves)
    outside_legend(ax, "budget C (median of group)")
    return fig


def draw_isoflop(ax, curves: IsoFlop) -> None:
    """IsoFLOP curves on ``ax``; laws with an optimal split also get each budget's N_opt (median, interval bar)."""
    level = curves.level
    _draw_run_curves(ax, curves.curves)
    if curves.optimum is not None:
        for group, row in enumerate(curves.optimum.to_dict("records")):
            ax.errorbar(row["params_median"], row["loss_median"], color="black", marker="D", markersize=4,
                        xerr=[[row["params_median"] - row["params_lo"]], [row["params_hi"] - row["params_median"]]],
                        linewidth=1, label=f"N_opt: median, {level:.0%} interval" if group == 0 else None)
    rest = curves.ungrouped
    if len(rest):
        ax.scatter(rest["params"], rest["loss"], color="grey", s=14, marker="x",
                   label=f"in no budget group ({len(rest)} runs)")
    ax.set(xscale="log", xlabel=N_LABEL, ylabel=LOSS_LABEL,
           title=f"{curves.law}: IsoFLOP profiles, D = C/(6N), median and {level:.0%} band")
    ax.grid(alpha=0.3, which="both", linewidth=0.5)


def _draw_run_curves(ax, curves: list[RunCurve], x: str = "params") -> None:
    for curve, colour in zip(curves, colours(np.array([c.key for c in curves]))):
        draw_band(ax, curve.band, colour, label=curve.label)
        ax.scatter(curve.runs[x], curve.runs["loss"], color=colour, s=14, edgecolor="white", linewidth=0.3)


def size_curves(curves: list[RunCurve]) -> Figure:
    """Per log bin of N: expected loss along D at the bin's median N, median and band, with the bin's runs."""
    fig = figure(8.5, 5.5)
    ax = fig.add_subplot()
    _draw_run_curves(ax, curves, x="tokens")
    level = curves[0].band.level if curves else 0.0
    ax.set(xscale="log", xlabel=D_LABEL, ylabel=LOSS_LABEL,
           title=f"Per model size: expected loss, median and {level:.0%} band")
    outside_legend(ax, "model size bin (parameters)")
    ax.grid(alpha=0.3, which="both", linewidth=0.5)
    return fig


def residual_plots(runs: pd.DataFrame, residuals: Residuals) -> Figure:
    """Residuals of ``runs`` against compute and against N, with the noise scale and a new run's interval."""
    fig = figure(11, 4.3)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, column, label in ((axes[0], "compute", C_LABEL), (axes[1], "params", N_LABEL)):
        x = runs[column].to_numpy()
        order = np.argsort(x)
        ax.axhspan(-residuals.sigma, residuals.sigma, color="tab:blue", alpha=0.15,
                   label=f"±σ, posterior median σ = {residuals.sigma:.4f}")
        ax.plot(x[order], residuals.lo[order], color="tab:blue", linestyle="--", linewidth=0.9,
                label=f"new run's {residuals.level:.0%} predictive interval")
        ax.plot(x[order], residuals.hi[order], color="tab:blue", linestyle="--", linewidth=0.9)
        outside = (residuals.values < residuals.lo) | (residuals.values > residuals.hi)
        ax.scatter(x[~outside], residuals.values[~outside], s=12, color="black", edgecolor="none")
        ax.scatter(x[outside], residuals.values[outside], s=16, color="tab:red", edgecolor="none",
                   label=f"outside the interval ({int(outside.sum())} runs)")
        ax.axhline(0, color="grey", linewidth=0.7)
        ax.set(xscale="log", xlabel=label)
        ax.grid(alpha=0.3, which="both", linewidth=0.5)
    axes[0].set_ylabel("log(observed loss) - log(median expected loss)\n(dimensionless, ≈ relative error)")
    axes[0].legend(fontsize=7, loc="best")
    return fig


def posterior_plots(draws: dict[str, np.ndarray], summaries: dict[str, dict],
                    references: list[tuple[str, pd.DataFrame]], *, level: float) -> Figure:
    """Posterior histograms of the law's constants (``draws``), their median and interval (``summaries``, as
    ``ScalingLawFit.parameters`` gives them, with units), and each published fit's point and interval where it
    has one."""
    names = list(draws)
    fig = figure(12, 6.5)
    axes = fig.subplots(2, 3).ravel()
    reference_colours = ("tab:red", "tab:blue", "tab:green")
    for ax, name in zip(axes, names):
        values = draws[name]
        log_scale = name in LOG_SCALE_PARAMETERS
        theirs = [(label, table.loc[name]) for label, table in references if name in table.index]
        marks = [v for _, row in theirs for v in (row["value"], row["lo"], row["hi"]) if np.isfinite(v)]
        span = np.concatenate([np.quantile(values, [0.0005, 0.9995]), marks])
        lo, hi = span.min(), span.max()
        bins = np.geomspace(lo, hi, 80) if log_scale else np.linspace(lo, hi, 80)
        ax.hist(values, bins=bins, density=True, histtype="stepfilled", color="0.6", label="posterior draws")
        q_lo, q_med, q_hi = (summaries[name][k] for k in ("lo", "median", "hi"))
        ax.axvline(q_med, color="black", linewidth=1.2, label="posterior median")
        ax.axvline(q_lo, color="black", linewidth=0.8, linestyle=":", label=f"posterior {level:.0%} interval")
        ax.axvline(q_hi, color="black", linewidth=0.8, linestyle=":")
        for (label, row), colour in zip(theirs, reference_colours):
            if np.isfinite(row["lo"]):
                ax.axvspan(row["lo"], row["hi"], color=colour, alpha=0.15, label=f"{label}, {row['interval']}")
            ax.axvline(row["value"], color=colour, linestyle="--", linewidth=1.3, label=f"{label}, point")
        ax.set(xlabel=f"{name} ({summaries[name]['units']})", yticks=[])
        if log_scale:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        else:  # at most 5 labels: a narrow posterior's long decimals (0.2781, 0.2782, ...) must not run together
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    handles = {}
    for ax in axes[: len(names)]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    for ax in axes[len(names):]:
        ax.axis("off")
    axes[-1].legend(handles.values(), handles.keys(), loc="center", fontsize=8)
    return fig


def extrapolation_plot(table: pd.DataFrame, *, level: float) -> Figure:
    """Left: the forecast band beyond the largest run. Right: the interval's relative width against distance."""
    fig = figure(11, 4.2)
    left, right = fig.subplots(1, 2)
    x = table["decades"]
    left.fill_between(x, table["observed_lo"], table["observed_hi"], color="tab:blue", alpha=0.2, linewidth=0,
                      label=f"a new run's loss, {level:.0%}")
    draw_band(left, Band.of_table(x, table, level), "tab:blue", f"expected loss, median and {level:.0%}")
    left.plot(x, table["law_lo"], "k--", linewidth=0.8, label="the law's parameter uncertainty alone")
    left.plot(x, table["law_hi"], "k--", linewidth=0.8)
    left.set(xlabel="decades of compute beyond the largest fitted run", ylabel=LOSS_LABEL)
    percent = lambda lo, hi: 100 * np.log(table[hi] / table[lo])  # noqa: E731 - width in % of the loss
    right.plot(x, percent("observed_lo", "observed_hi"), color="tab:blue", label="a new run's loss")
    right.plot(x, percent("loss_lo", "loss_hi"), color="tab:blue", linestyle=":", label="expected loss")
    right.plot(x, percent("law_lo", "law_hi"), "k--", linewidth=0.8, label="the law's parameter uncertainty alone")
    right.set(xlabel="decades of compute beyond the largest fitted run",
              ylabel=f"width of the {level:.0%} interval (% of the loss)", ylim=(0, None))
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig
