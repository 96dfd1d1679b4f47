"""Figures of the law comparison: IsoFLOP profiles with optima, N_opt(C) and D_opt(C), posteriors of a,
reconciliation; drawn from what ``scaling_forecast.reporting.curves`` and ``scaling_forecast.answers.compare`` computed."""

import numpy as np
from matplotlib.figure import Figure

from scaling_forecast.answers.reconcile import Reconciliation
from scaling_forecast.core.intervals import Interval
from scaling_forecast.inputs import published
from scaling_forecast.reporting.curves import Band, IsoFlop

from .figures import C_LABEL, draw_band, figure, outside_legend
from .fit_figures import draw_isoflop

LAW_COLOURS = {"chinchilla": "tab:blue", "kaplan": "tab:red", "kaplan_e": "tab:orange"}
PUBLISHED_STYLES = ("--", "-.", ":")  # one per published frontier, so that no two share a line


def isoflop_panels(panels: list[IsoFlop]) -> Figure:
    """One IsoFLOP panel per law that has an optimal split, same runs, with N_opt per budget: two panels to a
    row, so that a page's width holds them at a legible size, the legend in the last free slot."""
    columns = min(2, len(panels))
    rows = -(-len(panels) // columns)
    fig = figure(7 * columns + (0 if len(panels) % columns else 2.5), 5.2 * rows)
    axes = fig.subplots(rows, columns, sharey=True, squeeze=False).ravel()
    for ax, curves in zip(axes, panels):
        draw_isoflop(ax, curves)
        ax.set_title(f"{curves.law}: {curves.formula}", fontsize=10)
    free = axes[len(panels):]
    for ax in free:
        ax.axis("off")
    if len(free):
        free[0].legend(*axes[0].get_legend_handles_labels(), title="budget C (median of group)", loc="center",
                       fontsize=9, title_fontsize=9)
    else:
        outside_legend(axes[len(panels) - 1], "budget C (median of group)")
    return fig


def allocation_curves(frontiers: dict[str, dict[str, Band]], published_lines: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
                      chinchilla: tuple[float, float, float], fitted_range: tuple[float, float]) -> Figure:
    """N_opt(C) and D_opt(C) for each law (median and band), with published frontiers and Chinchilla's run
    (``chinchilla``: its compute, N and D)."""
    fig = figure(13, 5)
    axes = fig.subplots(1, 2)
    level = 0.0
    for law, bands in frontiers.items():
        colour = LAW_COLOURS.get(law, "tab:purple")
        for ax, quantity in zip(axes, ("params", "tokens")):
            draw_band(ax, bands[quantity], colour, f"{law} posterior (this data)", alpha=0.25, linewidth=1.5)
            level = bands[quantity].level
    for (label, compute, n, d), style in zip(published_lines, PUBLISHED_STYLES):
        axes[0].plot(compute, n, color="black", linestyle=style, linewidth=1, label=label)
        axes[1].plot(compute, d, color="black", linestyle=style, linewidth=1, label=label)
    c, n, d = chinchilla
    axes[0].scatter([c], [n], marker="*", s=90, color="black", zorder=5, label="Chinchilla's run (70B, 1.4T)")
    axes[1].scatter([c], [d], marker="*", s=90, color="black", zorder=5)
    for ax, ylabel in zip(axes, ("N_opt (parameters)", "D_opt (tokens)")):
        ax.axvspan(*fitted_range, color="0.85", zorder=0, label="compute range of the fitted runs")
        ax.set(xscale="log", yscale="log", xlabel=C_LABEL, ylabel=ylabel)
        ax.grid(alpha=0.3, which="both", linewidth=0.5)
    axes[0].set_title(f"Compute-optimal model size: median and {level:.0%} band", fontsize=10)
    axes[1].set_title(f"Compute-optimal training tokens: median and {level:.0%} band", fontsize=10)
    outside_legend(axes[1], "law")
    return fig


def exponent_posteriors(draws: dict[str, np.ndarray], summaries: dict[str, Interval], published_a: list[dict]) -> Figure:
    """Posterior of a per law (``draws``, summarised in ``summaries`` as the comparison reports them), with the
    published exponents as vertical lines."""
    fig = figure(9, 4.5)
    ax = fig.add_subplot()
    for law, a in draws.items():
        s = summaries[law]
        ax.hist(a, bins=60, density=True, histtype="stepfilled", alpha=0.45, color=LAW_COLOURS.get(law, "tab:purple"),
                label=f"{law}: median {s.median:.3f}, {s.level:.0%} [{s.lo:.3f}, {s.hi:.3f}]")
    for row, style in zip(published_a, ("-", "--", "-.", ":", (0, (1, 3)), (0, (5, 1)))):
        ax.axvline(row["a"], color="black", linestyle=style, linewidth=1, label=f"{row['source']}: {row['a']:g}")
    ax.set(xlabel="a, exponent of N_opt in C (dimensionless)", yticks=[],
           title="Posterior of the allocation exponent a, with published values")
    outside_legend(ax, "posterior (this data) / published")
    return fig


def local_exponent_curve(reconciliation: Reconciliation) -> Figure:
    """Local N_opt exponent in Kaplan's terms (non-embedding N and C) against total compute, with its band."""
    rows = [r for r in reconciliation.local if r.local_a.median is not None]
    c = np.array([r.compute_total for r in rows])
    fig = figure(8, 4.5)
    ax = fig.add_subplot()
    med, lo, hi = (np.array([getattr(r.local_a, k) for r in rows]) for k in ("median", "lo", "hi"))
    ax.fill_between(c, lo, hi, color="tab:green", alpha=0.3, linewidth=0)
    ax.plot(c, med, color="tab:green", marker="o", label="local exponent, non-embedding N and C (from the total-N fit)")
    total, nonemb = reconciliation.a_total_params, reconciliation.a_nonembedding_params
    ax.axhspan(total.lo, total.hi, color="tab:blue", alpha=0.12)
    ax.axhline(total.median, color="tab:blue", label="a of the total-N fit")
    ax.axhspan(nonemb.lo, nonemb.hi, color="tab:orange", alpha=0.12)
    ax.axhline(nonemb.median, color="tab:orange", linestyle="--", label="a of the refit with non-embedding N")
    kaplan = published.constants("compute_optimal", "kaplan2020")["value"]["a"]
    ax.axhline(kaplan, color="black", linestyle=":", label=f"Kaplan et al. 2020: {kaplan:g}")
    ax.set(xscale="log", xlabel="C = 6ND with total N, training compute (FLOP)",
           ylabel="d log N_opt / d log C (dimensionless)",
           title=f"Reconciliation: median and {reconciliation.level:.0%} bands")
    outside_legend(ax, "exponent")
    ax.grid(alpha=0.3, which="both", linewidth=0.5)
    return fig
