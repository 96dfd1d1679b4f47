"""The HTML report of ``scaling-forecast compare``: Kaplan vs Chinchilla on the same runs."""

from pathlib import Path

from scaling_forecast.answers.compare import PARETO_K_MAX, Comparison
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.inputs import published
from scaling_forecast.inputs.isoflop import isoflop_budgets
from scaling_forecast.reporting import curves

from .compare_figures import allocation_curves, exponent_posteriors, isoflop_panels, local_exponent_curve
from .fit_page import allocation_html, describe_selection, overhead_html
from .pages import banner, escape, html_table, number, page, section, write_page


def write_compare_report(result: Comparison, fits: dict[str, ScalingLawFit], path: str | Path,
                         nonembedding: ScalingLawFit | None = None, *, force: bool = False) -> Path:
    """Write the comparison (:func:`scaling_forecast.answers.compare.comparison`) as one self-contained HTML file."""
    text = render_compare_report(result, fits, nonembedding)
    return write_page(path, text, force=force)


def render_compare_report(result: Comparison, fits: dict[str, ScalingLawFit], nonembedding: ScalingLawFit | None) -> str:
    level = result.level
    runs = next(iter(fits.values())).runs
    budgets = isoflop_budgets(runs["compute"].to_numpy())
    compute_range = (float(runs["compute"].min()), float(runs["compute"].max()))
    allocating = {name: f for name, f in fits.items() if f.law.frontier_of is not None}
    compute = curves.FRONTIER_COMPUTE
    exponents = exponent_posteriors({n: f.draws.frontier().a for n, f in allocating.items()}, result.exponent_a,
                                    result.published_a)
    panels = isoflop_panels([curves.isoflop(f, budgets, level=level) for f in allocating.values()])
    frontiers = allocation_curves({n: curves.frontier(f, compute, level=level) for n, f in allocating.items()},
                                  curves.published_frontiers(compute),
                                  published.chinchilla_run(), compute_range)
    sections = [
        _banner(fits, nonembedding),
        _header(result),
        _loo_section(result),
        _exponent_section(result),
        section("Posterior of a beside the published exponents", exponents,
                "Histograms of all posterior draws of a per law; vertical lines: published values (Kaplan et al. 2020 has "
                "no interval; Hoffmann et al. 2022 publish 80% bootstrap intervals, listed in the table above)."),
        _budget_section(result),
        section("IsoFLOP profiles and the optimal size per budget", panels,
                f"Each panel: one law's expected loss (nats/token) along N at D = C/(6N) for the runs' compute budgets "
                f"(groups found as in the single-fit report), median and {level:.0%} band, with the runs. Black diamonds: "
                f"that law's N_opt at the budget, posterior median with its {level:.0%} interval."),
        section("N_opt(C) and D_opt(C)", frontiers,
                f"Compute-optimal parameters and tokens per law: posterior median and {level:.0%} band, 1e18 to 1e27 FLOP "
                "(grey: the fitted runs' compute range; beyond it the bands assume the law's form holds). Black lines: "
                "published frontiers, Hoffmann et al. Approach 3 and Besiroglu et al. from their fitted constants, and "
                "Kaplan et al.'s N_opt = 1.3e9 C^0.73, D_opt = 2e10 C^0.27 (C in PF-days, non-embedding N and C, so "
                "not on the same axes exactly). Star: Chinchilla's own run."),
        _divergence_section(result),
        _overhead_section(result),
        _reconciliation_section(result),
    ]
    return page(f"Kaplan vs Chinchilla: several laws on the same runs ({result.dataset})", sections)


def _banner(fits: dict[str, ScalingLawFit], nonembedding: ScalingLawFit | None) -> str:
    checked = dict(fits) | ({"chinchilla, non-embedding N": nonembedding} if nonembedding else {})
    return banner("NOT CONVERGED: these fits failed their diagnostics; numbers that use them are not results.",
                  [f"{n}: {'; '.join(f.diagnostics.problems())}" for n, f in checked.items()
                   if not f.diagnostics.converged])


def _header(result: Comparison) -> str:
    rows = [[escape(n), f"<code>{escape(law.formula)}</code>", escape(law.meaning),
             f"R-hat {law.diagnostics.r_hat_max:.3f}, ESS {law.diagnostics.ess_bulk_min:.0f}, "
             f"{law.diagnostics.divergences} div.: {'converged' if law.diagnostics.converged else 'NOT converged'}"]
            for n, law in result.laws.items()]
    return (
        f"<p>Dataset <strong>{escape(result.dataset)}</strong> (SHA-256 <code>{escape(result.dataset_sha256)}</code>), "
        f"{result.runs} runs ({escape(describe_selection(result.selection))}). Every law is fitted with the same "
        "Student-t likelihood on log loss and the same sampler; N in parameters, D in tokens, C = 6ND in FLOP, loss in "
        f"nats/token. Intervals are equal-tailed {result.level:.0%} posterior intervals.</p>\n"
        + html_table(["law", "formula", "what it says", "diagnostics"], rows)
    )


def _loo_section(result: Comparison) -> str:
    rows, notes = [], []
    for r in result.loo:
        rows.append([escape(r.law), str(r.rank), f"{r.elpd_loo:.1f} ({r.se:.1f})", f"{r.elpd_diff:.1f} ({r.diff_se:.1f})",
                     f"{r.p_loo:.1f}", f"{r.stacking_weight:.2f}", f"{r.pareto_k_max:.2f}", str(r.pareto_k_above)])
    best, rest = result.loo[0], result.loo[1:]
    for r in rest:
        z = r.elpd_diff / r.diff_se if r.diff_se > 0 else float("inf")
        notes.append(f"{r.law} is {r.elpd_diff:.1f} elpd below {best.law} ({z:.1f} standard errors of the difference)")
    flagged = [r.law for r in result.loo if r.pareto_k_above]
    k_note = (f"Runs with Pareto k above {PARETO_K_MAX} (unreliable LOO terms) in: {', '.join(flagged)}; their elpd is "
              "approximate and refitting without those runs would check it." if flagged else
              f"No run has Pareto k above {PARETO_K_MAX}, so the PSIS estimates are reliable.")
    return (
        "<h2>Which law predicts held-out runs better (PSIS-LOO)</h2>\n"
        + html_table(["law", "rank", "elpd_loo (se)", "difference to best (se)", "p_loo", "stacking weight",
                  "max Pareto k", f"runs with k > {PARETO_K_MAX}"], rows)
        + f'<p class="caption">elpd_loo: expected log predictive density of a left-out run\'s log loss, summed over '
        f"runs (higher is better), estimated by Pareto-smoothed importance sampling (ArviZ). {best.law} predicts "
        f"best; {escape('; '.join(notes)) or 'no other law'}. A difference of more than about 2 standard errors is "
        f"clear evidence. {escape(k_note)} p_loo is the effective number of parameters.</p>"
    )


def _exponent_section(result: Comparison) -> str:
    rows = [[escape(n), e.text(), f"{e.p_above:.3f}", f"{e.p_below:.3f}"] for n, e in result.exponent_a.items()]
    published = [[escape(p["source"]), f"{p['a']:g}", "—" if p["lo"] is None else f"[{p['lo']:g}, {p['hi']:g}] ({escape(p['interval'])})",
                  escape(p["citation"])] for p in result.published_a]
    return (
        "<h2>The allocation exponent a (N_opt ∝ C^a)</h2>\n"
        + html_table(["law", f"a, median [{result.level:.0%} interval]", "P(a > 0.6)", "P(a < 0.5)"], rows)
        + html_table(["published", "a", "interval", "source"], published)
        + '<p class="caption">Chinchilla form: a = beta/(alpha+beta). Kaplan form: the exact optimum of its bracket '
        "gives a = alpha_D/(alpha_N+alpha_D) (models/laws.py); Kaplan et al.'s own 0.73 came from a different "
        "analysis (early-stopped runs and C_min with non-embedding N), so fitting the Kaplan form to final losses "
        "need not reproduce it.</p>"
    )


def _budget_section(result: Comparison) -> str:
    return (
        f"<h2>At Chinchilla's budget, C = {published.CHINCHILLA_BUDGET:.3g} FLOP</h2>\n"
        + allocation_html(result.chinchilla_budget, first_column="law")
        + '<p class="caption">Hoffmann et al. trained Chinchilla with N = 70B parameters on D = 1.4T tokens, '
        "20 tokens per parameter, at this budget.</p>"
    )


def _divergence_section(result: Comparison) -> str:
    parts = []
    reference = result.reference_law
    for law, rows in result.divergence.items():
        table = html_table(
            ["C (FLOP)", f"N_opt, {reference}", f"N_opt, {law}", "ratio of N_opt",
             f"optimal loss, {reference}", f"optimal loss, {law}", "loss difference (nats/token)"],
            [[f"{r.compute:.0e}", r.reference["params"].text(".3g"), r.other["params"].text(".3g"),
              r.params_opt_ratio.text(".2f"), r.reference["loss"].text(), r.other["loss"].text(),
              r.loss_difference.text("+.3f")] for r in rows])
        parts.append(f"<h3>{escape(law)} vs {escape(reference)}</h3>\n{table}")
    return (
        "<h2>How far the laws' forecasts diverge</h2>\n" + "\n".join(parts)
        + '<p class="caption">Ratio and difference computed per pair of posterior draws (the fits are separate, so '
        "draws are paired by index: a sample from the product of the two posteriors). Budgets above the fitted runs' "
        "compute are extrapolations: the intervals there are parameter uncertainty under each law's form only.</p>"
    )


def _overhead_section(result: Comparison) -> str:
    parts = [f"<h3>{escape(law)}</h3>\n" + overhead_html(rows) for law, rows in result.overhead.items()]
    return "<h2>How far from compute-optimal are published models?</h2>\n" + "\n".join(parts)


def _reconciliation_section(result: Comparison) -> str:
    rec = result.reconciliation
    if not rec:
        return ("<h2>Reconciliation: counting non-embedding parameters</h2>\n<p>Not available for these runs: they do not "
                "record non-embedding parameter counts (gadre-overtraining and misfitting do; run "
                "<code>scaling-forecast compare --dataset gadre-overtraining ...</code>).</p>")
    sizes = rec.embedding_sizes
    rows = [[f"{r.compute_total:.3g}", r.params_total.text(".3g"), r.params_nonembedding.text(".3g"),
             r.compute_nonembedding.text(".3g"), r.local_a.text()] for r in rec.local]
    return (
        "<h2>Reconciliation: counting non-embedding parameters</h2>\n"
        f"<p>Same runs counted two ways. Total-N fit: a = {rec.a_total_params.text()}; refit with non-embedding N "
        f"and C = 6 N_E D: a = {rec.a_nonembedding_params.text()}; shift {rec.a_shift.text('+.3f')} "
        f"(P(non-embedding a larger) = {rec.p_nonembedding_a_larger:.2f}).</p>"
        + section("Local exponent in Kaplan's terms", local_exponent_curve(rec),
                  "From the total-N fit's optimum per draw, converted to non-embedding N and C with the runs' embedding "
                  f"sizes (N_emb = {number(sizes.kappa)} N^{sizes.epsilon:.3f}, fitted over {sizes.sizes} model "
                  f"sizes, worst misfit {sizes.max_abs_log_error:.2f} in log): d log N_E / d log C_E, after Pearce & "
                  "Song 2024. Where embeddings are a large share of the model the local exponent rises toward "
                  "Kaplan's 0.73.")
        + html_table(["C, total (FLOP)", "N_opt, total", "N_opt, non-embedding", "C, non-embedding (FLOP)",
                  "local exponent"], rows)
        + '<p class="caption">The two fits are separate, so the shift pairs draws by index. Porian et al. 2024 '
        "attribute the rest of the gap to last-layer FLOPs, warmup and optimiser tuning, which these runs do not "
        "vary.</p>"
    )
