"""The page of a fitted scaling law (``report``): the answer first (headline numbers, forecasts, allocation),
then the figures, then parameters, diagnostics and provenance."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from scaling_forecast.answers.allocation import allocation_table
from scaling_forecast.answers.compare import overheads
from scaling_forecast.core.files import check_outputs, write_atomically
from scaling_forecast.core.intervals import LEVEL, Interval, band, summarise
from scaling_forecast.fitting.diagnostics import ESS_MIN, R_HAT_MAX, Diagnostics
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.inputs import published
from scaling_forecast.inputs.isoflop import Budgets, isoflop_budgets
from scaling_forecast.reporting.curves import (
    Residuals,
    by_size,
    extrapolation_table,
    isoflop,
    parameter_draws,
    residuals_of,
)

from .fit_figures import data_scatter, extrapolation_plot, isoflop_curves, posterior_plots, residual_plots, size_curves
from .fit_summary import headline, priors_table, same_data_references, top_runs_verdict
from .pages import banner, escape, html_table, number, page, section, write_page

FORECAST_MODELS = ("GPT-3 175B", "Chinchilla", "LLaMA 65B", "Llama 2 70B", "Llama 3 405B")
SIZE_BINS = 6


def write_report(fitted: ScalingLawFit, path: str | Path, *, level: float = LEVEL, force: bool = False) -> Path:
    """Write one self-contained HTML report of ``fitted`` to ``path``; intervals hold ``level`` of the posterior."""
    band(level)  # the level checked against its bounds before any work
    return write_page(path, render_report(fitted, level=level), force=force)


def report_figures(fitted: ScalingLawFit, *, level: float = LEVEL) -> list[tuple[str, Figure, str]]:
    """The report's figures in page order, each (title, figure, caption as HTML): the data, the fitted curves
    (by compute budget where the runs form budgets, and by model size), the residuals, the posteriors beside
    the published fits made on the same data, and the forecast's widening beyond the data."""
    runs = fitted.runs
    budgets = isoflop_budgets(runs["compute"].to_numpy())
    residuals = residuals_of(fitted, level=level)
    references = same_data_references(fitted)
    figures = [("The data", data_scatter(runs), _data_caption(runs))]
    if len(budgets.compute):
        figures.append(("Fitted curves by compute budget", isoflop_curves(isoflop(fitted, budgets, level=level)),
                        _budget_caption(budgets, level, fitted.attrs.get("dataset") == "chinchilla-epoch")))
    figures += [
        ("Fitted curves by model size", size_curves(by_size(fitted, level=level, n_bins=SIZE_BINS)), _size_caption(level)),
        ("Residuals", residual_plots(runs, residuals), _residual_caption(residuals, len(runs)) + top_runs_verdict(runs, residuals)),
        ("Posteriors of the law's constants",
         posterior_plots(parameter_draws(fitted), fitted.parameters(level), references, level=level),
         _posterior_caption(fitted, references, level)),
    ]
    table = extrapolation_table(fitted, level=level)
    figures.append(("How sure beyond the data", extrapolation_plot(table, level=level), _extrapolation_caption(fitted, table, level)))
    return figures


def render_report(fitted: ScalingLawFit, *, level: float = LEVEL) -> str:
    """The report as one HTML string: the answer first (headline numbers, forecasts, allocation), then the
    figures, then the parameters, diagnostics and provenance."""
    diagnostics = fitted.diagnostics
    warning = _not_results_note(diagnostics)
    sections = [
        _banner(diagnostics),
        headline(fitted, level),
        _forecast_section(fitted, level, warning),
        _allocation_section(fitted, level, warning),
        *(section(title, fig, caption) for title, fig, caption in report_figures(fitted, level=level)),
        _parameter_section(fitted, same_data_references(fitted), level, warning),
        _pooling_section(fitted),
        _diagnostics_section(diagnostics),
        _header(fitted, fitted.runs),
    ]
    return page(f"Scaling-law fit: {fitted.attrs.get('law', '?')} law on {fitted.attrs.get('dataset', '?')}", sections)


def write_figures(fitted: ScalingLawFit, folder: str | Path, *, fmt: str = "png", dpi: int = 200,
                  level: float = LEVEL, force: bool = False) -> list[Path]:
    """Each report figure as its own file in ``folder`` (png, svg or pdf; ``dpi`` for png), named by its title,
    by the output policy: every name is checked before the first is written, so a refusal leaves the folder as
    it was (a file there that the product did not write is replaced only with ``force``)."""
    figures = [(Path(folder) / f"{i:02d}-{re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')}.{fmt}", fig)
               for i, (title, fig, _) in enumerate(report_figures(fitted, level=level), start=1)]
    check_outputs([path for path, _ in figures], force=force, flag="--figures")
    return [write_atomically(path, lambda tmp, fig=fig: fig.savefig(tmp, format=fmt, dpi=dpi), force=force,
                             flag="--figures") for path, fig in figures]


def describe_selection(selection: dict) -> str:
    """A run selection (the fit's ``selection`` attribute, parsed) in words."""
    parts = []
    if selection.get("families"):
        parts.append("families " + ", ".join(selection["families"]))
    if selection.get("loss_kinds"):
        parts.append("loss kinds " + ", ".join(selection["loss_kinds"]))
    if selection.get("compute_min") is not None:
        parts.append(f"compute ≥ {selection['compute_min']:.3g} FLOP")
    if selection.get("compute_max") is not None:
        parts.append(f"compute ≤ {selection['compute_max']:.3g} FLOP")
    if selection.get("non_embedding"):
        parts.append("N counts non-embedding parameters only, C = 6ND with that N")
    if selection.get("drop_highest_loss"):
        parts.append(f"{selection['drop_highest_loss']} highest-loss runs dropped")
    return "; ".join(parts) if parts else "all runs"


def _banner(diagnostics: Diagnostics) -> str:
    return banner("NOT CONVERGED: this posterior failed its convergence diagnostics.", diagnostics.problems(),
                  " The numbers and figures below are not results; refit with more draws/tuning (or fix the model) "
                  "before using them.")


def _not_results_note(diagnostics: Diagnostics) -> str:
    if diagnostics.converged:
        return ""
    return '<p class="warn">The posterior failed its diagnostics (see the banner at the top): not results.</p>'


def _header(fitted: ScalingLawFit, runs: pd.DataFrame) -> str:
    attrs = fitted.attrs
    selection = describe_selection(json.loads(attrs.get("selection", "{}")))
    sampler = json.loads(attrs.get("sampler", "{}"))
    sampler_text = ", ".join(f"{k} {v}" for k, v in sampler.items()) or "unknown"
    loss_kinds = ", ".join(sorted(runs["loss_kind"].unique()))
    rows = [
        ("Fit", escape(fitted.describe())),
        ("Law", f"<code>{escape(attrs.get('law_formula', '?'))}</code> ({escape(attrs.get('law', '?'))}); "
                "N in parameters, D in tokens, L in nats/token"),
        ("Dataset", escape(attrs.get("dataset", "?"))),
        ("Dataset SHA-256", f"<code>{escape(attrs.get('dataset_sha256', '?'))}</code>"),
        ("Runs fitted", f"{len(runs)} ({escape(selection)}); loss kind {escape(loss_kinds)}"),
        ("Fitted range", _range_text(runs)),
        ("Priors", priors_table(attrs.get("priors", "{}"))),
        ("Sampler", f"nutpie; {escape(sampler_text)}"),
        ("Seed", escape(attrs.get("seed", "?"))),
        ("Package version", f"scaling-forecast {escape(attrs.get('package_version', '?'))}"),
    ]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<h2>What was fitted (provenance)</h2>\n<table>{body}</table>"


def _range_text(runs: pd.DataFrame) -> str:
    spans = [("N", "params", "parameters"), ("D", "tokens", "tokens"), ("C", "compute", "FLOP")]
    return "; ".join(f"{s} {runs[c].min():.3g} to {runs[c].max():.3g} {u}" for s, c, u in spans)


def _diagnostics_section(d: Diagnostics) -> str:
    rows = [
        ("max R-hat (rank-normalised)", f"{d.r_hat_max:.4f}", f"≤ {R_HAT_MAX}"),
        ("min bulk ESS (draws)", f"{d.ess_bulk_min:.0f}", f"≥ {ESS_MIN}"),
        ("min tail ESS (draws)", f"{d.ess_tail_min:.0f}", "reported"),
        ("divergent transitions", f"{d.divergences}", "0"),
        ("min E-BFMI", f"{d.bfmi_min:.3f}", "reported (low values, below about 0.3, flag poor exploration)"),
        ("chains × draws", f"{d.chains} × {d.draws}", ""),
    ]
    body = "".join(f'<tr><td>{a}</td><td class="num">{b}</td><td>{c}</td></tr>' for a, b, c in rows)
    verdict = "yes: all thresholds met" if d.converged else "NO: " + escape("; ".join(d.problems()))
    return (
        "<h2>Diagnostics</h2>\n<table><tr><th>diagnostic (worst over free parameters)</th><th>value</th>"
        f"<th>threshold</th></tr>{body}</table>\n<p>Converged: <strong>{verdict}</strong>.</p>"
    )


def _data_caption(runs: pd.DataFrame) -> str:
    return (
        f"Final loss (nats/token) of each of the {len(runs)} fitted runs against training compute "
        "C = 6ND (FLOP), coloured by log10 of model size N (parameters)."
    )


def _budget_caption(budgets: Budgets, level: float, digitised: bool) -> str:
    centres = ", ".join(f"{c:.2g}" for c in budgets.compute)
    scatter = ("The digitised compute values scatter around the nominal budgets: g" if digitised else "G")
    return (
        f"Runs grouped into {len(budgets.compute)} IsoFLOP budgets by cutting log10 C at the local minima of its "
        f"Gaussian kernel density (bandwidth {budgets.bandwidth_dex} dex), i.e. 1-D mean shift: runs whose compute "
        f"climbs to the same density peak form a budget. Groups of fewer than {budgets.min_runs} runs get no curve "
        f"({budgets.ungrouped} runs, grey crosses). Budget C (median of each group, FLOP): {centres}. "
        f"{scatter}rouped runs lie up to "
        f"{budgets.spread_dex:.2f} dex from their group's median C, so they need not sit on the curve drawn at that "
        "median. Curves: posterior median of the expected loss (nats/token) along N at D = C/(6N); band: its "
        f"equal-tailed {level:.0%} credible interval (all posterior draws), drawn 0.15 dex beyond the group's N range."
    )


def _size_caption(level: float) -> str:
    return (
        f"Runs binned into {SIZE_BINS} equal-width bins of log10 N; each curve is the posterior median of the "
        f"expected loss (nats/token) along D at the bin's median N, with its equal-tailed {level:.0%} credible band "
        "(all posterior draws). Runs in a bin span up to a bin width in N, so they scatter about the curve."
    )


def _residual_caption(residuals: Residuals, n_runs: int) -> str:
    share = residuals.inside / n_runs
    return (
        "Residual = log(observed loss) − log(posterior median expected loss) per run (dimensionless; 0.01 ≈ 1% of "
        f"the loss). Shaded: ±σ, the posterior median scale of the Student-t noise on log loss (σ = "
        f"{residuals.sigma:.4f}). Dashed: each run's {residuals.level:.0%} posterior predictive interval for a new "
        f"run's loss, on the same scale; {residuals.inside} of {n_runs} runs ({share:.0%}) lie inside it "
        f"(in-sample, so expect roughly {residuals.level:.0%} or a little more). Red: runs outside."
    )


def _posterior_caption(fitted: ScalingLawFit, references: list[tuple[str, pd.DataFrame]], level: float) -> str:
    units = "; ".join(f"{name}: {units}" for name, units in fitted.law.parameters.items() if name not in ("sigma", "nu"))
    theirs = "; ".join(f"{label}: point (dashed) and, where published, its interval (shaded)" for label, _ in references)
    other = "no published fit of this law on these data (fits on other data are not comparable constant by constant)"
    return (
        f"Histograms of all posterior draws (coefficients on log axes). Black: posterior median and equal-tailed "
        f"{level:.0%} interval. Coloured: {escape(theirs) or other}. Units: {escape(units)}."
    )


def _parameter_section(fitted: ScalingLawFit, references: list[tuple[str, pd.DataFrame]], level: float,
                       warning: str) -> str:
    header = (
        f"<tr><th>parameter</th><th>units</th><th>posterior median</th><th>{level:.0%} credible interval</th>"
        + "".join(f"<th>{escape(label)}</th>" for label, _ in references) + "</tr>"
    )
    rows = []
    for name, p in fitted.parameters(level).items():
        theirs = "".join(f'<td class="num">{_published_cell(name, table)}</td>' for _, table in references)
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{escape(p['units'])}</td><td class=\"num\">{number(p['median'])}</td>"
            f"<td class=\"num\">[{number(p['lo'])}, {number(p['hi'])}]</td>{theirs}</tr>"
        )
    notes = "".join(
        f"<li><strong>{escape(label)}</strong>: {escape(table['citation'].iloc[0])}. {escape(table['note'].iloc[0])}</li>"
        for label, table in references
    )
    return (
        f"<h2>Parameters</h2>\n{warning}<table>{header}{''.join(rows)}</table>\n"
        f'<p class="caption">Posterior median and equal-tailed {level:.0%} credible interval of each constant. '
        "sigma and nu belong to this package's noise model (Student-t on log loss) and have no published "
        f"counterpart. Published values, as recorded in the package's data:</p><ul class=\"caption\">{notes}</ul>"
    )


def _published_cell(name: str, table: pd.DataFrame) -> str:
    if name not in table.index:
        return "—"
    row = table.loc[name]
    return number(row["value"]) + (f" [{number(row['lo'])}, {number(row['hi'])}]" if np.isfinite(row["lo"]) else "")


def _pooling_section(fitted: ScalingLawFit) -> str:
    """For a pooled fit: what came from the population, and what the population taught about extrapolation."""
    if fitted.pooling is None:
        return ""
    population = fitted.pooling.population
    shares = "".join(f"<tr><td>{escape(name)}</td><td class=\"num\">{share:.2f}</td></tr>"
                     for name, share in fitted.pooling.from_runs_share.items())
    evidence = population["diagnostics"].get("extrapolation", {})
    slopes = "".join(
        f"<tr><td>{escape(family)}</td><td class=\"num\">{row['runs']}</td><td class=\"num\">{row['max_decades']:.2f}</td>"
        f"<td class=\"num\">{row['median_signed_error_percent']:+.2f}</td>"
        f"<td class=\"num\">{100 * row['slope_median']:+.2f}</td></tr>"
        for family, row in evidence.get("families", {}).items())
    return (
        "<h2>Pooled with the registered run families</h2>\n"
        f"<p>These runs were fitted as one more family within the population of {len(population['families'])} "
        f"registered families ({escape(', '.join(population['families']))}; population key "
        f"<code>{escape(population['key'])}</code>, package {escape(population['package_version'])}). Their exponents, floor "
        "share, split of the reducible loss and noise have the population's predictive distribution as prior; the loss "
        "level has a vague prior, since tokenizers and eval sets set it. Share of each constant's prior variance that "
        "the runs removed (1 - posterior/prior variance; 0 = all from the population):</p>"
        f"<table><tr><th>constant (at the population's centre)</th><th>share from the runs</th></tr>{shares}</table>"
        "<p>How forecasts erred when each registered family was fitted below its top third of compute, pooled with "
        "this population (itself included, so these errors are somewhat smaller than for a family the population "
        "has not seen), and its top third forecast (signed error: forecast minus actual, % of the actual loss; "
        "slope: the family's error per decade of compute beyond its fitted runs, % of the loss). The distribution "
        "of these slopes is the extrapolation error every forecast beyond your largest run carries.</p>"
        "<table><tr><th>family</th><th>held-out runs</th><th>decades beyond, at most</th>"
        f"<th>median signed error (%)</th><th>slope (% per decade)</th></tr>{slopes}</table>"
        f"<p>{escape(_own_slope_text(fitted.pooling.own_slope))}</p>"
    )


def _own_slope_text(own: dict) -> str:
    """The family's extrapolation slope: the population's, and what the family's own runs made of it."""
    (mean, sd) = own["prior"]
    text = f"This family's slope: the population's, {100 * mean:+.2f}% per decade (sd {100 * sd:.2f})"
    if "posterior" not in own:
        return f"{text}; {own['reason']}."
    new_mean, new_sd = own["posterior"]
    return (f"{text}; fitted below their top quarter of compute, these runs forecast that quarter ({own['held_out_runs']} "
            f"runs, up to {own['max_decades']:.2f} decades beyond), and those errors update it to {100 * new_mean:+.2f}% "
            f"per decade (sd {100 * new_sd:.2f}), which the forecasts use.")


def _extrapolation_caption(fitted: ScalingLawFit, table: pd.DataFrame, level: float) -> str:
    width = 100 * np.log(table["observed_hi"] / table["observed_lo"]).to_numpy()
    at = {d: width[np.argmin(np.abs(table["decades"].to_numpy() - d))] for d in (0.0, 1.0, 3.0)}
    if fitted.pooling is not None:
        why = ("Beyond the data the expected loss also carries the law's departure along compute, whose size the "
               "registered families taught (it is known where this family has runs and fades towards that size "
               "beyond them), and the law's extrapolation error learned from them (a slope per decade beyond the "
               "largest run, see above: the population's, updated by this family's own top quarter of runs when it has "
               "12 or more; its average is carried only as far as the errors it was learned from "
               "reached, its spread all the way), so the interval keeps widening after the parameter uncertainty "
               "alone (dashed) would.")
    else:
        why = ("This law was fitted alone: its interval holds only the parameter uncertainty of the law's form, "
               "which assumes the form still holds out there. Fit your runs pooled (the default for --runs) to add "
               "the departure from the law that the registered families show.")
    return escape(
        f"From the largest fitted run (C = {table['compute'].iloc[0]:.3g} FLOP) outwards at its tokens per "
        f"parameter: N and D each grow by 10^(x/2) at x decades of compute. Left: posterior median and {level:.0%} "
        f"interval of the expected loss and of a new run's loss (nats/token). Right: the width of those intervals "
        f"as a percentage of the loss (100 x log(hi/lo)): a new run's {level:.0%} interval spans {at[0.0]:.1f}% at "
        f"the largest run, {at[1.0]:.1f}% one decade beyond and {at[3.0]:.1f}% three decades beyond. {why}"
    )


def _forecast_section(fitted: ScalingLawFit, level: float, warning: str) -> str:
    configs = published.model_configs().set_index("model").loc[list(FORECAST_MODELS)]
    table = fitted.predict(configs["params"].to_numpy(), configs["tokens"].to_numpy(), level=level)
    pct = f"{level:.0%}"
    header = (
        "<tr><th>model</th><th>N (parameters)</th><th>D (tokens)</th><th>C = 6ND (FLOP)</th>"
        f"<th>expected loss, median (nats/token)</th><th>expected loss, {pct} credible interval (nats/token)</th>"
        f"<th>a new run's loss, {pct} predictive interval (nats/token)</th>"
        "<th>beyond fitted runs (orders of magnitude) in N / D / C</th></tr>"
    )
    rows = []
    for model, row in zip(configs.index, table.itertuples()):
        rows.append(
            f"<tr><td>{escape(model)}</td><td class=\"num\">{row.params:.3g}</td><td class=\"num\">{row.tokens:.3g}</td>"
            f"<td class=\"num\">{row.compute:.3g}</td><td class=\"num\">{row.loss_median:.3f}</td>"
            f"<td class=\"num\">[{row.loss_lo:.3f}, {row.loss_hi:.3f}]</td>"
            f"<td class=\"num\">[{row.observed_lo:.3f}, {row.observed_hi:.3f}]</td>"
            f"<td class=\"num\">{row.beyond_params_oom:.2f} / {row.beyond_tokens_oom:.2f} / "
            f"{row.beyond_compute_oom:.2f}</td></tr>"
        )
    return (
        f"<h2>Forecasts for published model sizes</h2>\n{warning}<table>{header}{''.join(rows)}</table>\n"
        '<p class="caption">This law\'s prediction for that N and D; those models used other data and tokenizers, '
        "so this is not their actual loss. N and D as published (see the package's model_configs data; whether "
        "N counts embeddings differs between papers). Expected loss: the law's mean curve, posterior median and "
        f"equal-tailed {pct} credible interval. A new run's loss adds the fitted run-to-run noise: {pct} posterior "
        "predictive interval. Last column: orders of magnitude outside the range of the fitted runs in N, D and C "
        "(0 = inside); far outside, the interval reflects only this law's form and its parameter uncertainty, "
        "not whether the form still holds.</p>"
    )


def _allocation_section(fitted: ScalingLawFit, level: float, warning: str) -> str:
    if fitted.law.frontier_of is None:
        return (f"<h2>Compute-optimal allocation</h2>\n<p>The {escape(fitted.law.name)} law depends on compute only, "
                "so it cannot say how to split a budget between N and D.</p>")
    budgets = (1e21, published.CHINCHILLA_BUDGET, 1e25)
    table = allocation_table(fitted.draws, budgets, level=level)
    a = summarise(fitted.draws.frontier().a, level)
    return (
        f"<h2>Compute-optimal allocation</h2>\n{warning}"
        f"<p>N_opt ∝ C^a with a = {a.text()} (median [{level:.0%} interval]), exact per posterior draw "
        f"(C = 6ND).</p>\n"
        + allocation_html({f"{c:.3g} FLOP": r for c, r in zip(budgets, table.to_dict("records"))}, first_column="budget")
        + overhead_html(overheads(fitted, level))
    )


def _columns(row: dict, name: str, fmt: str) -> str:
    return Interval(*(row[f"{name}_{k}"] for k in ("median", "lo", "hi"))).text(fmt)


def allocation_html(rows: dict[str, dict], *, first_column: str) -> str:
    """Rows of :func:`scaling_forecast.answers.allocation.allocation_table` (as dicts), labelled by their keys."""
    return html_table(
        [first_column, "C (FLOP)", "N_opt (parameters)", "D_opt (tokens)", "tokens per parameter",
         "expected loss at the optimum (nats/token)"],
        [[escape(label), f"{r['compute']:.3g}", _columns(r, "params", ".3g"), _columns(r, "tokens", ".3g"),
          _columns(r, "tokens_per_param", ".1f"), _columns(r, "loss", ".3f")] for label, r in rows.items()],
    )


def overhead_html(rows: list[dict]) -> str:
    """Rows of :func:`scaling_forecast.answers.compare.overheads`: how far each configuration is from compute-optimal."""
    table = html_table(
        ["model", "N", "D", "C (FLOP)", "FLOP the optimum needs for the same loss", "compute overhead (x)",
         "N_opt at the same C", "loss above the optimum at the same C (nats/token)"],
        [[escape(r["model"]), f"{r['params']:.3g}", f"{r['tokens']:.3g}", f"{r['compute']:.3g}",
          _columns(r, "optimal_compute", ".3g"), _columns(r, "overhead", ".2f"), _columns(r, "params_opt", ".3g"),
          _columns(r, "loss_gap", ".4f")] for r in rows],
    )
    return table + (
        '<p class="caption">Under this law: the compute the optimal split would need to reach the same expected loss '
        "as the model's N and D, the ratio of the model's own C = 6ND to it (1 = optimal), N_opt at the model's "
        "compute and the loss gap there, each a posterior median with its equal-tailed interval. This is the law's "
        "verdict for that N and D on this data's loss scale; those models used other data and tokenizers.</p>"
    )
