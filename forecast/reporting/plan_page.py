"""The planning page (``plan --out``): the answers as ``plan`` prints them, and the compute-optimal frontier
(N_opt, D_opt and the optimal loss along compute, with bands) with each question and its answer marked on it."""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from scaling_forecast.core.intervals import Interval
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN
from scaling_forecast.reporting import curves
from scaling_forecast.reporting.text import plan_lines

from .figures import C_LABEL, LOSS_LABEL, draw_band, figure
from .pages import banner, escape, page, section, write_page

PANELS = (("params", "N_opt (parameters)"), ("tokens", "D_opt (tokens)"), ("loss", f"optimal expected {LOSS_LABEL}"))
# One marker and colour per kind of question, so that the legend tells them apart.
STYLES = {"given N": ("o", "tab:green"), "given N and D": ("X", "tab:olive"), "hardware": ("s", "tab:purple"),
          "target": ("^", "tab:red"), "inference": ("D", "tab:orange"), "unique": ("P", "tab:brown")}


def _asked(answer) -> list[float]:
    """Every compute (FLOP) the plan answered at, so that the figure's range holds them all."""
    out = [q.compute.lo for q in answer.for_params] + [q.compute.hi for q in answer.for_params]
    out += [FLOP_PER_PARAM_TOKEN * row["params"] * row["tokens"] for row in answer.training_days]
    if answer.hardware is not None:
        out += [answer.hardware.compute.lo, answer.hardware.compute.hi]
    out += [r.compute for t in answer.targets for r in t.reach.values() if r is not None]
    out += [i.training_compute.median for i in answer.inference if i.params is not None]
    out += [u.budget for u in answer.unique_tokens if u.budget is not None]
    return out + [u.compute_without_repeats.median for u in answer.unique_tokens]


def _point(ax, x: float | Interval, y: float | Interval, kind: str, label: str | None) -> None:
    """One answer as a point with its intervals as error bars (x and y: a number or an Interval)."""
    def parts(v):
        return (v.median, [[v.median - v.lo], [v.hi - v.median]]) if isinstance(v, Interval) else (v, None)

    (xm, xerr), (ym, yerr) = parts(x), parts(y)
    marker, colour = STYLES[kind]
    ax.errorbar([xm], [ym], xerr=xerr, yerr=yerr, fmt=marker, color=colour, markersize=7, capsize=3, zorder=5,
                label=label)


def plan_figure(answer, bands: dict[str, curves.Band], fitted_range: tuple[float, float]) -> Figure:
    """The frontier's three panels with the plan's questions marked (medians, error bars: their intervals)."""
    fig = figure(16, 6.2)
    axes = dict(zip((q for q, _ in PANELS), fig.subplots(1, 3)))
    for quantity, ylabel in PANELS:
        ax = axes[quantity]
        draw_band(ax, bands[quantity], "tab:blue", f"compute-optimal frontier (median, {bands[quantity].level:.0%} band)",
                  alpha=0.2)
        ax.axvspan(*fitted_range, color="0.88", zorder=0, label="compute of the fitted runs")
        ax.set(xscale="log", yscale="linear" if quantity == "loss" else "log", xlabel=C_LABEL, ylabel=ylabel)
        ax.grid(alpha=0.3, which="both", linewidth=0.5)
    for i, row in enumerate(answer.training_days):  # a run of given N and D: off the frontier unless it is optimal
        label = "given N and D (its training time is answered above)" if i == 0 else None
        compute = FLOP_PER_PARAM_TOKEN * row["params"] * row["tokens"]
        _point(axes["params"], compute, row["params"], "given N and D", label)
        _point(axes["tokens"], compute, row["tokens"], "given N and D", None)
    for i, q in enumerate(answer.for_params):
        label = "given N: its compute-optimal run" if i == 0 else None
        for quantity, y in (("params", q.params), ("tokens", q.tokens), ("loss", q.loss)):
            _point(axes[quantity], q.compute, y, "given N", label)
    if (h := answer.hardware) is not None:
        for quantity, y in (("params", h.params), ("tokens", h.tokens), ("loss", h.loss)):
            _point(axes[quantity], h.compute, y, "hardware", f"{h.count:g} x {h.accelerator.name}, {h.days:g} days")
    for t in answer.targets:
        axes["loss"].axhline(t.target, color=STYLES["target"][1], linestyle=":", linewidth=1)
        for p, r in t.reach.items():
            if r is not None:
                label = f"target loss {t.target:g}, reached with probability {p:g}"
                _point(axes["params"], r.compute, r.params, "target", label)
                _point(axes["tokens"], r.compute, r.tokens, "target", None)
                _point(axes["loss"], r.compute, t.target, "target", None)
    for i in answer.inference:
        if i.params is not None:
            label = f"target {i.target:g} serving {i.inference_tokens:.3g} tokens (training compute)"
            _point(axes["params"], i.training_compute, i.params, "inference", label)
            _point(axes["tokens"], i.training_compute, i.tokens, "inference", None)
            _point(axes["loss"], i.training_compute, i.target, "inference", None)
    for u in answer.unique_tokens:
        axes["tokens"].axhline(u.unique_tokens, color=STYLES["unique"][1], linestyle="--", linewidth=1)
        _point(axes["params"], u.compute_without_repeats, u.params_without_repeats, "unique",
               f"U = {u.unique_tokens:.3g} unique tokens (dashed): largest model unrepeated, and the "
               "data-constrained optimum at the budget")
        if u.budget is not None:
            for quantity, y in (("params", u.params), ("tokens", u.tokens), ("loss", u.loss)):
                _point(axes[quantity], u.budget, y, "unique", None)
    asked = _asked(answer)  # the loss axis spans the answers, not the whole curve (all of it when none is on it)
    near = bands["loss"].x >= min(asked) / 10 if asked else np.ones(bands["loss"].x.size, bool)
    lo, hi = bands["loss"].lo[near].min(), bands["loss"].hi[near].max()
    axes["loss"].set_ylim(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
    labelled = {}
    for ax in axes.values():
        for handle, label in zip(*ax.get_legend_handles_labels()):
            labelled.setdefault(label, handle)
    fig.legend(labelled.values(), labelled.keys(), loc="outside lower center", ncol=3, fontsize=9)
    return fig


def write_plan_report(fitted: ScalingLawFit, answer, path: str | Path, *, force: bool = False) -> Path:
    """Write ``plan``'s answers (a :class:`scaling_forecast.cli.commands.Plan`) and the frontier figure as one page."""
    runs = fitted.runs["compute"].to_numpy()
    compute = curves.plan_compute(_asked(answer), runs)
    bands = curves.frontier(fitted, compute, level=answer.level)
    problems = [] if fitted.diagnostics.converged else fitted.diagnostics.problems()
    heading, *lines = plan_lines(answer)
    items = "".join(f'<li style="margin-left:{2 if line.startswith("    ") else 0}em">{escape(line.strip())}</li>'
                    for line in lines)
    sections = [
        banner("WARNING: these answers rest on a posterior that failed its diagnostics", problems),
        f"<p>{escape(heading)}</p><ul>{items}</ul>",
        "".join(f'<p class="warn">warning: {escape(w)}</p>' for w in answer.warnings),
        section("The questions on the compute-optimal frontier", plan_figure(answer, bands, (runs.min(), runs.max())),
                f"Left to right: the compute-optimal model size, training tokens and expected loss along training "
                f"compute C = {FLOP_PER_PARAM_TOKEN:g}ND (posterior median and {answer.level:.0%} band; grey: the "
                "compute of the fitted runs, beyond which the band assumes the law's form holds). Markers: each "
                f"question's answer, the median with its {answer.level:.0%} interval as error bars. Dotted: target "
                "losses; dashed: unique tokens, whose data-constrained optimum may lie off the frontier (a smaller "
                "model on repeated data). The inference-aware run sits off it by design (a smaller model trained "
                "longer, at its training compute)."),
    ]
    return write_page(path, page("Planning answers", sections), force=force)
