"""Figures of a fitted scaling law, each returned as a matplotlib Figure (Agg canvas, no pyplot state).

Every curve comes from ``ScalingLawFit.predict``: the law's formula lives
only in ``models/laws.py``.
"""

import base64
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from scaling_forecast.allocation import allocation_table
from scaling_forecast.fit import ScalingLawFit
from scaling_forecast.intervals import band, interval
from scaling_forecast.isoflop import Budgets
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN

LOSS_LABEL = "loss (nats/token)"
N_LABEL = "N, model size (parameters)"
D_LABEL = "D, training data (tokens)"
C_LABEL = "C = 6ND, training compute (FLOP)"
LOG_SCALE_PARAMETERS = ("A", "B", "N_c", "D_c", "C_c")
CURVE_POINTS = 120
def size_bins(params: np.ndarray, n_bins: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Equal-width bins in log10 N: each run's bin index and the bin edges (parameters)."""
    edges = np.logspace(np.log10(params.min()), np.log10(params.max()), n_bins + 1)
    index = np.clip(np.searchsorted(edges, params, side="right") - 1, 0, n_bins - 1)
    return index, edges


def figure_png_base64(fig: Figure, dpi: int = 100) -> str:
    """The figure as a base64 PNG (for a data: URI)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buffer, format="png", dpi=dpi)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


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


def _band(ax, x: np.ndarray, table: pd.DataFrame, colour, label: str | None = None) -> None:
    ax.fill_between(x, table["loss_lo"], table["loss_hi"], color=colour, alpha=0.3, linewidth=0)
    ax.plot(x, table["loss_median"], color=colour, linewidth=1.3, label=label)


def isoflop_curves(fitted: ScalingLawFit, budgets: Budgets, *, level: float) -> Figure:
    """Per budget C: expected loss along N at D = C/(6N), median and ``level`` band, with the budget's runs."""
    fig = figure(8.5, 5.5)
    ax = fig.add_subplot()
    draw_isoflop(ax, fitted, budgets, level=level)
    outside_legend(ax, "budget C (median of group)")
    return fig


def draw_isoflop(ax, fitted: ScalingLawFit, budgets: Budgets, *, level: float) -> None:
    """IsoFLOP curves on ``ax``; laws with an optimal split also get each budget's N_opt (median, ``level`` bar)."""
    runs = fitted.runs
    colours = _colours(np.log10(budgets.compute))
    allocating = fitted.law.frontier_of is not None
    optimal = allocation_table(fitted.draws, budgets.compute, level=level) if allocating and budgets.compute.size else None
    for group, compute in enumerate(budgets.compute):
        members = runs[budgets.labels == group]
        n = grid(members["params"].min(), members["params"].max(), pad_dex=0.15)
        table = fitted.predict(n, compute / (FLOP_PER_PARAM_TOKEN * n), level=level)
        _band(ax, n, table, colours[group], label=f"{compute:.2g} FLOP ({len(members)} runs)")
        ax.scatter(members["params"], members["loss"], color=colours[group], s=14, edgecolor="white", linewidth=0.3)
        if optimal is not None:
            row = optimal.iloc[group]
            ax.errorbar(row["params_median"], row["loss_median"], color="black", marker="D", markersize=4,
                        xerr=[[row["params_median"] - row["params_lo"]], [row["params_hi"] - row["params_median"]]],
                        linewidth=1, label=f"N_opt: median, {level:.0%} interval" if group == 0 else None)
    rest = runs[budgets.labels < 0]
    if len(rest):
        ax.scatter(rest["params"], rest["loss"], color="grey", s=14, marker="x",
                   label=f"in no budget group ({len(rest)} runs)")
    ax.set(xscale="log", xlabel=N_LABEL, ylabel=LOSS_LABEL,
           title=f"{fitted.law.name}: IsoFLOP profiles, D = C/(6N), median and {level:.0%} band")
    ax.grid(alpha=0.3, which="both", linewidth=0.5)


def size_curves(fitted: ScalingLawFit, *, level: float, n_bins: int = 6) -> Figure:
    """Per log bin of N: expected loss along D at the bin's median N, median and ``level`` band, with the bin's runs."""
    runs = fitted.runs
    index, edges = size_bins(runs["params"].to_numpy(), n_bins)
    fig = figure(8.5, 5.5)
    ax = fig.add_subplot()
    colours = _colours(np.log10(np.sqrt(edges[:-1] * edges[1:])))
    for k in range(n_bins):
        members = runs[index == k]
        if members.empty:
            continue
        n = float(members["params"].median())
        d = grid(members["tokens"].min(), members["tokens"].max(), pad_dex=0.15)
        table = fitted.predict(np.full_like(d, n), d, level=level)
        label = f"N {edges[k]:.2g}-{edges[k + 1]:.2g}; curve at {n:.2g} ({len(members)} runs)"
        _band(ax, d, table, colours[k], label=label)
        ax.scatter(members["tokens"], members["loss"], color=colours[k], s=14, edgecolor="white", linewidth=0.3)
    ax.set(xscale="log", xlabel=D_LABEL, ylabel=LOSS_LABEL,
           title=f"Per model size: expected loss, median and {level:.0%} band")
    outside_legend(ax, "model size bin (parameters)")
    ax.grid(alpha=0.3, which="both", linewidth=0.5)
    return fig


@dataclass(frozen=True)
class Residuals:
    """log(observed) - log(posterior median expected loss) per run, and each run's predictive interval on that scale."""

    values: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    sigma: float  # posterior median of the noise scale on log loss
    level: float

    @property
    def inside(self) -> int:
        return int(((self.values >= self.lo) & (self.values <= self.hi)).sum())


def residuals_of(fitted: ScalingLawFit, *, level: float) -> Residuals:
    runs = fitted.runs
    table = fitted.predict(runs["params"], runs["tokens"], level=level)
    centre = np.log(table["loss_median"].to_numpy())
    sigma = float(np.median(fitted.draws.sigma))
    return Residuals(
        values=np.log(runs["loss"].to_numpy()) - centre,
        lo=np.log(table["observed_lo"].to_numpy()) - centre,
        hi=np.log(table["observed_hi"].to_numpy()) - centre,
        sigma=sigma,
        level=level,
    )


def residual_plots(fitted: ScalingLawFit, residuals: Residuals) -> Figure:
    """Residuals against compute and against N, with the noise scale and a new run's ``level`` interval."""
    runs = fitted.runs
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


def posterior_plots(fitted: ScalingLawFit, references: list[tuple[str, pd.DataFrame]], *, level: float) -> Figure:
    """Posterior histograms of the law's constants, with each published fit's point and interval where it has one."""
    post = fitted.idata["posterior"].to_dataset()
    names = [n for n in fitted.law.parameters if n not in ("sigma", "nu")]
    fig = figure(12, 6.5)
    axes = fig.subplots(2, 3).ravel()
    colours = ("tab:red", "tab:blue", "tab:green")
    for ax, name in zip(axes, names):
        values = post[name].to_numpy().reshape(-1)
        log_scale = name in LOG_SCALE_PARAMETERS
        theirs = [(label, table.loc[name]) for label, table in references if name in table.index]
        marks = [v for _, row in theirs for v in (row["value"], row["lo"], row["hi"]) if np.isfinite(v)]
        span = np.concatenate([np.quantile(values, [0.0005, 0.9995]), marks])
        lo, hi = span.min(), span.max()
        bins = np.geomspace(lo, hi, 80) if log_scale else np.linspace(lo, hi, 80)
        ax.hist(values, bins=bins, density=True, histtype="stepfilled", color="0.6", label="posterior draws")
        q_lo, q_med, q_hi = np.quantile(values, band(level))
        ax.axvline(q_med, color="black", linewidth=1.2, label="posterior median")
        ax.axvline(q_lo, color="black", linewidth=0.8, linestyle=":", label=f"posterior {level:.0%} interval")
        ax.axvline(q_hi, color="black", linewidth=0.8, linestyle=":")
        for (label, row), colour in zip(theirs, colours):
            if np.isfinite(row["lo"]):
                ax.axvspan(row["lo"], row["hi"], color=colour, alpha=0.15, label=f"{label}, {row['interval']}")
            ax.axvline(row["value"], color=colour, linestyle="--", linewidth=1.3, label=f"{label}, point")
        ax.set(xlabel=f"{name} ({fitted.law.parameters[name]})", yticks=[])
        if log_scale:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
    handles = {}
    for ax in axes[: len(names)]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    for ax in axes[len(names):]:
        ax.axis("off")
    axes[-1].legend(handles.values(), handles.keys(), loc="center", fontsize=8)
    return fig


def outside_legend(ax, title: str) -> None:
    ax.legend(title=title, fontsize=7, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))


def grid(lo: float, hi: float, *, pad_dex: float) -> np.ndarray:
    return np.logspace(np.log10(lo) - pad_dex, np.log10(hi) + pad_dex, CURVE_POINTS)


def _colours(values: np.ndarray) -> list:
    from matplotlib import colormaps

    if values.size == 0:
        return []
    norm = Normalize(values.min(), values.max() if values.max() > values.min() else values.min() + 1)
    cmap = colormaps["plasma"]
    return [cmap(0.85 * norm(v)) for v in values]


EXTRAPOLATION_DECADES = np.linspace(0.0, 3.0, 31)


def extrapolation_table(fitted: ScalingLawFit, *, level: float) -> pd.DataFrame:
    """Forecasts from the largest fitted run outwards, at its tokens per parameter, up to 3 decades of compute.

    Columns: ``decades`` beyond the largest run, the forecast table there, and ``law_lo``/``law_hi``: the
    interval of the law's expected loss without the departure term (equal to the full one for a lone fit).
    """
    top = fitted.runs.loc[fitted.runs["compute"].idxmax()]
    scale = np.sqrt(10.0**EXTRAPOLATION_DECADES)
    params, tokens = top["params"] * scale, top["tokens"] * scale
    table = fitted.predict(params, tokens, level=level)
    law = fitted.draws.loss(np.log(params), np.log(tokens))
    table["law_lo"], table["law_hi"] = interval(law, level, axis=1)
    return table.assign(decades=EXTRAPOLATION_DECADES)


def extrapolation_plot(table: pd.DataFrame, *, level: float) -> Figure:
    """Left: the forecast band beyond the largest run. Right: the interval's relative width against distance."""
    fig = figure(11, 4.2)
    left, right = fig.subplots(1, 2)
    x = table["decades"]
    left.fill_between(x, table["observed_lo"], table["observed_hi"], color="tab:blue", alpha=0.2, linewidth=0,
                      label=f"a new run's loss, {level:.0%}")
    _band(left, x, table, "tab:blue", f"expected loss, median and {level:.0%}")
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
