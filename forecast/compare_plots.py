"""Figures of the law comparison: IsoFLOP profiles with optima, N_opt(C) and D_opt(C), posteriors of a, reconciliation."""

import numpy as np
from matplotlib.figure import Figure

from scaling_forecast import published
from scaling_forecast.allocation import optimum
from scaling_forecast.compare import CHINCHILLA_BUDGET
from scaling_forecast.fit import ScalingLawFit
from scaling_forecast.intervals import band, interval, quantiles
from scaling_forecast.isoflop import Budgets
from scaling_forecast.models.laws import chinchilla_frontier
from scaling_forecast.plots import C_LABEL, draw_isoflop, figure, outside_legend

PF_DAY = 8.64e19  # FLOP in one petaFLOP/s-day
LAW_COLOURS = {"chinchilla": "tab:blue", "kaplan": "tab:red", "kaplan_e": "tab:orange"}


def isoflop_panels(fits: dict[str, ScalingLawFit], budgets: Budgets, *, level: float) -> Figure:
    """One IsoFLOP panel per law that has an optimal split, same runs, with N_opt per budget."""
    laws = [f for f in fits.values() if f.law.frontier_of is not None]
    fig = figure(6 * len(laws) + 2, 5)
    axes = np.atleast_1d(fig.subplots(1, len(laws), sharey=True))
    for ax, fitted in zip(axes, laws):
        draw_isoflop(ax, fitted, budgets, level=level)
        ax.set_title(f"{fitted.law.name}: {fitted.law.formula}", fontsize=9)
    outside_legend(axes[-1], "budget C (median of group)")
    return fig


def _published_lines(compute: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray, str]]:
    """(label, N_opt, D_opt, style) of published compute-optimal frontiers over ``compute`` (FLOP)."""
    lines = []
    for label, source in (("Hoffmann et al. 2022 Approach 3", "hoffmann2022_approach3"),
                          ("Besiroglu et al. 2024", "besiroglu2024")):
        c = published.constants("chinchilla", source)["value"]
        front = chinchilla_frontier(np.log(c["E"]), np.log(c["A"]), np.log(c["B"]), c["alpha"], c["beta"])
        best = optimum(front, compute)
        lines.append((f"{label} (a = {front.a:.3f})", best["params"][:, 0], best["tokens"][:, 0], "--"))
    k = published.constants("compute_optimal", "kaplan2020")["value"]
    pf_days = compute / PF_DAY
    lines.append((f"Kaplan et al. 2020 (a = {k['a']:g}; non-embedding N, C_min)",
                  k["N_e"] * pf_days ** k["a"], k["D_e"] * pf_days ** k["b"], ":"))
    return lines


def allocation_curves(fits: dict[str, ScalingLawFit], fitted_range: tuple[float, float], *, level: float) -> Figure:
    """N_opt(C) and D_opt(C) for each law (median and ``level`` band), with published frontiers and Chinchilla's run."""
    compute = np.geomspace(1e18, 1e27, 80)
    fig = figure(13, 5)
    axes = fig.subplots(1, 2)
    for fitted in fits.values():
        if fitted.law.frontier_of is None:
            continue
        best = optimum(fitted.draws.frontier(), compute)
        colour = LAW_COLOURS.get(fitted.law.name, "tab:purple")
        for ax, quantity in zip(axes, ("params", "tokens")):
            lo, median, hi = quantiles(best[quantity], band(level))
            ax.fill_between(compute, lo, hi, color=colour, alpha=0.25, linewidth=0)
            ax.plot(compute, median, color=colour, linewidth=1.5, label=f"{fitted.law.name} posterior (this data)")
    for label, n, d, style in _published_lines(compute):
        axes[0].plot(compute, n, color="black", linestyle=style, linewidth=1, label=label)
        axes[1].plot(compute, d, color="black", linestyle=style, linewidth=1, label=label)
    chinchilla = published.model_configs().set_index("model").loc["Chinchilla"]
    c, n, d = CHINCHILLA_BUDGET, chinchilla["params"], chinchilla["tokens"]
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


def exponent_posteriors(fits: dict[str, ScalingLawFit], published_a: list[dict], *, level: float) -> Figure:
    """Posterior of a per law, with the published exponents as vertical lines."""
    fig = figure(9, 4.5)
    ax = fig.add_subplot()
    for fitted in fits.values():
        if fitted.law.frontier_of is None:
            continue
        a = fitted.draws.frontier().a
        colour = LAW_COLOURS.get(fitted.law.name, "tab:purple")
        lo, hi = interval(a, level)
        ax.hist(a, bins=60, density=True, histtype="stepfilled", alpha=0.45, color=colour,
                label=f"{fitted.law.name}: median {np.median(a):.3f}, {level:.0%} [{lo:.3f}, {hi:.3f}]")
    for row, style in zip(published_a, ("-", "--", "-.", ":", (0, (1, 3)), (0, (5, 1)))):
        ax.axvline(row["a"], color="black", linestyle=style, linewidth=1, label=f"{row['source']}: {row['a']:g}")
    ax.set(xlabel="a, exponent of N_opt in C (dimensionless)", yticks=[],
           title="Posterior of the allocation exponent a, with published values")
    outside_legend(ax, "posterior (this data) / published")
    return fig


def local_exponent_curve(reconciliation: dict) -> Figure:
    """Local N_opt exponent in Kaplan's terms (non-embedding N and C) against total compute, with its band."""
    rows = [r for r in reconciliation["local"] if r["local_a"]["median"] is not None]
    c = np.array([r["compute_total"] for r in rows])
    fig = figure(8, 4.5)
    ax = fig.add_subplot()
    med, lo, hi = (np.array([r["local_a"][k] for r in rows]) for k in ("median", "lo", "hi"))
    ax.fill_between(c, lo, hi, color="tab:green", alpha=0.3, linewidth=0)
    ax.plot(c, med, color="tab:green", marker="o", label="local exponent, non-embedding N and C (from the total-N fit)")
    total = reconciliation["a_total_params"]
    nonemb = reconciliation["a_nonembedding_params"]
    ax.axhspan(total["lo"], total["hi"], color="tab:blue", alpha=0.12)
    ax.axhline(total["median"], color="tab:blue", label="a of the total-N fit")
    ax.axhspan(nonemb["lo"], nonemb["hi"], color="tab:orange", alpha=0.12)
    ax.axhline(nonemb["median"], color="tab:orange", linestyle="--", label="a of the refit with non-embedding N")
    kaplan = published.constants("compute_optimal", "kaplan2020")["value"]["a"]
    ax.axhline(kaplan, color="black", linestyle=":", label=f"Kaplan et al. 2020: {kaplan:g}")
    ax.set(xscale="log", xlabel="C = 6ND with total N, training compute (FLOP)",
           ylabel="d log N_opt / d log C (dimensionless)",
           title=f"Reconciliation: median and {reconciliation['level']:.0%} bands")
    outside_legend(ax, "exponent")
    ax.grid(alpha=0.3, which="both", linewidth=0.5)
    return fig
