"""What each command prints: text for a reader and JSON for a program, from what ``scaling_forecast.cli.commands``
returns. Every number says its units and interval level."""

import json
import sys
from dataclasses import asdict, fields, is_dataclass
from pathlib import PurePath

import numpy as np

from scaling_forecast.answers.data_constrained import FLAT
from scaling_forecast.fitting.single import Pooling, ScalingLawFit

PRINT_BLOCK = 10_000  # forecast lines formatted per write


def print_json(value: object) -> None:
    print(json.dumps(jsonable(value), indent=2, allow_nan=False))


def jsonable(value):
    """``value`` as plain JSON data, recursively: a result dataclass as its ``as_dict`` (or its fields), NaN as
    None (so that JSON output stays standard), a path as its text."""
    if hasattr(value, "as_dict") and not isinstance(value, type):
        return jsonable(value.as_dict())
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    if isinstance(value, PurePath):
        return str(value)
    return value


def _range(name: str, r: dict) -> str:
    return f"  {name:<20} {r['min']:.4g} .. {r['max']:.4g} {r['units']} ({r['known']} known)"


def data_list(rows: list[dict], mirror, mirror_env: str, cache) -> None:
    print(f"Registered datasets (mirror: {mirror or 'none; set ' + mirror_env}; cache: {cache})")
    print(f"{'name':<20} {'kind':<7} {'rows':>5}  {'offline':<8} {'licence':<12} families")
    for r in rows:
        count = "?" if r["rows"] is None else r["rows"]
        families = "?" if r["families"] is None else ", ".join(r["families"]) or "-"
        offline = "yes" if r["offline"] else "no"
        print(f"{r['name']:<20} {r['kind']:<7} {count:>5}  {offline:<8} {r['license']:<12} {families}")
    print("rows: runs x evaluation sets for kind 'runs', models for kind 'models'; '?' = not downloaded yet "
          "or failing its checks")


def data_show(info: dict) -> None:
    print(f"{info['name']}: {info['title']}")
    print(f"  citation: {info['citation']}")
    print(f"  licence: {info['license']}; upstream: {info['upstream']} ({info['files']} files)")
    print(f"  notes: {info['notes']}")
    if info["kind"] == "runs":
        print(f"  {info['runs']} rows; families: " + ", ".join(f"{k} ({v})" for k, v in info["families"].items()))
        print("  loss kinds: " + ", ".join(f"{k} ({v})" for k, v in info["loss_kinds"].items()))
    else:
        print(f"  {info['models']} models, published {info['date']['min']} .. {info['date']['max']}")
    print("  ranges:")
    for column, r in info["ranges"].items():
        print(_range(column, r))
    print("  units: " + "; ".join(f"{k}: {v}" for k, v in info["units"].items()))


def data_check(file, info: dict) -> None:
    print(f"{file}: valid, {info['runs']} runs; families: " + ", ".join(f"{k} ({v})" for k, v in info["families"].items()))
    for column, r in info["ranges"].items():
        print(_range(column, r))
    if info["metadata_columns"]:
        print(f"  kept as metadata, not used by fits: {', '.join(info['metadata_columns'])}")


def fit_json(fitted: ScalingLawFit, level: float) -> dict:
    """What a saved fit is (law, data, selection, parameters at ``level``, diagnostics); every JSON answer
    from a fit starts with it."""
    a = fitted.attrs
    return {
        "law": a["law"],
        "law_formula": a["law_formula"],
        "dataset": a["dataset"],
        "dataset_sha256": a["dataset_sha256"],
        "runs": len(fitted.runs),
        "selection": json.loads(a["selection"]),
        "parameters": fitted.parameters(level),
        "diagnostics": fitted.diagnostics.as_dict(),
        "kind": a.get("kind", "single"),
        "intervals": fitted.interval_note(),
    } | ({} if fitted.pooling is None else asdict(fitted.pooling))


def fit(fitted: ScalingLawFit, level: float, out) -> None:
    diagnostics = fitted.diagnostics
    print(f"{fitted.describe()}; posterior:")
    for name, p in fitted.parameters(level).items():
        print(f"  {name:<6} median {p['median']:<10.4g} {p['level']:.0%} interval [{p['lo']:.4g}, {p['hi']:.4g}]  "
              f"({p['units']})")
    if fitted.pooling is not None:
        _pooling(fitted.pooling)
    print(f"  diagnostics: max R-hat {diagnostics.r_hat_max:.3f}, min ESS bulk {diagnostics.ess_bulk_min:.0f} "
          f"/ tail {diagnostics.ess_tail_min:.0f}, {diagnostics.divergences} divergences, min BFMI {diagnostics.bfmi_min:.2f}")
    print(f"  written to {out}")


def _pooling(pooling: Pooling) -> None:
    """How much of the family's constants came from its own runs rather than the population, and its slope."""
    shares = pooling.from_runs_share
    print("  from your runs, not the population (1 - posterior/prior variance; 0 = all population): "
          + ", ".join(f"{name} {share:.2f}" for name, share in shares.items()))
    own, (prior_mean, prior_sd) = pooling.own_slope, pooling.own_slope["prior"]
    text = (f"  extrapolation slope (the law's error per decade of compute beyond your largest run, % of the loss): "
            f"population {100 * prior_mean:+.2f} (sd {100 * prior_sd:.2f})")
    if "posterior" in own:
        mean, sd = own["posterior"]
        text += (f"; with your {own['held_out_runs']} runs of the top quarter by compute forecast from the other "
                 f"{own['fitted_runs']}: {100 * mean:+.2f} (sd {100 * sd:.2f})")
    print(f"{text}; {own['reason']}")
    # Not the tails: dozens of runs move nu little from the population's (tails need many runs), so the note
    # would be on every fit and its advice is about the curve and the noise scale.
    if min(share for name, share in shares.items() if name != "log_nu") < 0.5:
        print("  note: some constants rest mostly on the population of registered families, so forecasts are "
              "wide; more runs, at more compute, narrow them")


def forecast_json(answer, level: float) -> dict:
    table = answer.table
    predictions = table.drop(columns=[c for c in table if c.startswith("beyond_")]).to_dict("records")
    beyond = table[[f"beyond_{k}_oom" for k in ("params", "tokens", "compute")]].to_numpy().tolist()
    for row, far in zip(predictions, beyond):
        row["beyond_fitted_oom"] = dict(zip(("params", "tokens", "compute"), far))
    return fit_json(answer.fitted, level) | {"predictions": predictions, "warnings": answer.warnings}


def forecast(answer, level: float) -> None:
    fitted, table = answer.fitted, answer.table
    named = "model" in table
    print(f"Forecast from the {fitted.describe()}; loss in nats/token on its loss kind "
          f"({', '.join(sorted(set(fitted.runs['loss_kind'])))}), {level:.0%} equal-tailed intervals; "
          f"{fitted.interval_note()}:")
    line = ("%sN=%.3g params, D=%.3g tokens, C=%.3g FLOP: expected loss %.4f [%.4f, %.4f]; "
            "a new run's loss %.4f [%.4f, %.4f]\n")
    names = [f"{m}: " if m else "" for m in table["model"]] if named else [""] * len(table)
    numbers = ["params", "tokens", "compute", "loss_median", "loss_lo", "loss_hi", "observed_median", "observed_lo",
               "observed_hi"]
    for start in range(0, len(table), PRINT_BLOCK):  # blocks: a large grid's text never sits in memory at once
        block = table.iloc[start : start + PRINT_BLOCK]
        # One %-format per row over plain floats: about twice as fast as f-strings over itertuples.
        sys.stdout.write("".join(line % ("  " + name, *row) for name, *row in
                                 zip(names[start : start + PRINT_BLOCK], *(block[c].tolist() for c in numbers))))
    if named:
        print("  (named models: this law's prediction for that N and D; those models used other data and "
              "tokenizers, so it is not their actual loss)")
    warn(answer.warnings)


def allocation_json(answer, level: float) -> dict:
    return fit_json(answer.fitted, level) | {
        "flops_per_param_token": answer.flops_per_param_token,
        "exponent_a": answer.exponent,
        "allocations": [] if answer.optimal is None else answer.optimal.to_dict("records"),
        "overheads": [] if answer.overheads is None else answer.overheads.to_dict("records"),
    }


def allocation(answer, level: float) -> None:
    e, k = answer.exponent, answer.flops_per_param_token
    print(f"Compute-optimal allocation from the {answer.fitted.describe()}; C = {k:g} N D FLOP; {level:.0%} "
          "equal-tailed intervals.")
    print(f"  N_opt grows as C^a with a = {e['median']:.3f} [{e['lo']:.3f}, {e['hi']:.3f}]")
    for r in [] if answer.optimal is None else answer.optimal.itertuples():
        print(f"  C={r.compute:.3g} FLOP: N_opt {r.params_median:.3g} [{r.params_lo:.3g}, {r.params_hi:.3g}] parameters; "
              f"D_opt {r.tokens_median:.3g} [{r.tokens_lo:.3g}, {r.tokens_hi:.3g}] tokens; "
              f"{r.tokens_per_param_median:.1f} [{r.tokens_per_param_lo:.1f}, {r.tokens_per_param_hi:.1f}] tokens/parameter; "
              f"expected loss there {r.loss_median:.4f} [{r.loss_lo:.4f}, {r.loss_hi:.4f}] nats/token")
    far = answer.overheads
    for r in [] if far is None else far.itertuples():
        label = f"{r.model}: " if "model" in far and r.model else ""
        print(f"  {label}N={r.params:.3g}, D={r.tokens:.3g}, C={r.compute:.3g} FLOP: the optimal split reaches its "
              f"expected loss with {r.optimal_compute_median:.3g} [{r.optimal_compute_lo:.3g}, {r.optimal_compute_hi:.3g}] FLOP, "
              f"compute overhead {r.overhead_median:.2f}x [{r.overhead_lo:.2f}, {r.overhead_hi:.2f}]; at its own compute the "
              f"optimum is N_opt {r.params_opt_median:.3g} [{r.params_opt_lo:.3g}, {r.params_opt_hi:.3g}] and its loss is "
              f"{r.loss_gap_median:.4f} [{r.loss_gap_lo:.4f}, {r.loss_gap_hi:.4f}] nats/token above the optimum")
    warn(answer.warnings)


def plan(answer) -> None:
    """The text of ``plan`` (a :class:`scaling_forecast.cli.commands.Plan`)."""
    for line in plan_lines(answer):
        print(line)
    if answer.report is not None:
        print(f"report written to {answer.report}")
    warn(answer.warnings)


def plan_lines(answer) -> list[str]:
    """``plan``'s answers as lines of text (indented lines belong to the line above), for the terminal and
    the HTML page alike."""
    lines = []
    pct = f"{answer.level:.0%}"
    lines.append(f"Planning from the {answer.source}; median [{pct} interval] over the posterior; C = 6ND FLOP; "
          "loss is the expected loss in nats/token on the fit's loss scale.")
    for q in answer.for_params:
        more = "; ".join(f"{m:g}x D: {i.text('.4f')}" for m, i in q.more_data.items())
        lines.append(f"  N = {q.params:.3g} parameters: compute-optimal D {q.tokens.text('.3g')} tokens "
              f"({q.tokens_per_param.text('.1f')} tokens/parameter), C {q.compute.text('.3g')} FLOP, loss "
              f"{q.loss.text('.4f')}; with other amounts of data, loss at {more}")
    if (h := answer.hardware) is not None:
        lines.append(f"  {h.count:g} x {h.accelerator.name} ({h.accelerator.peak_flops / 1e12:g} TFLOP/s dense BF16 each) for "
              f"{h.days:g} days at MFU {h.mfu.text('.2f')}: C {h.compute.text('.3g')} FLOP; compute-optimal N "
              f"{h.params.text('.3g')} parameters, D {h.tokens.text('.3g')} tokens, loss {h.loss.text('.4f')}")
    for row in answer.training_days:
        lines.append(f"  training N = {row['params']:.3g}, D = {row['tokens']:.3g} takes {row['days'].text('.3g')} days "
              "on that hardware (over the MFU prior)")
    for t in answer.targets:
        lines.append(f"  target loss {t.target:g}: P(reachable, the floor E below it) = {t.p_reachable:.3f}")
        for p, r in t.reach.items():
            if r is None:
                lines.append(f"    with probability {p:g}: not reachable (P(reachable) = {t.p_reachable:.3f} < {p:g})")
            else:
                lines.append(f"    with probability {p:g}: C = {r.compute:.3g} FLOP; there N_opt {r.params.text('.3g')} "
                      f"parameters, D_opt {r.tokens.text('.3g')} tokens")
    for i in answer.inference:
        if i.params is None:
            lines.append(f"  target loss {i.target:g} with {i.inference_tokens:.3g} inference tokens: not reachable")
            continue
        lines.append(f"  target loss {i.target:g} with {i.inference_tokens:.3g} inference tokens (Sardana et al.; over the "
              f"draws that reach it, P = {i.p_reachable:.3f}): N {i.params.text('.3g')} parameters on D "
              f"{i.tokens.text('.3g')} tokens, training C {i.training_compute.text('.3g')}, training + inference "
              f"{i.total_compute.text('.3g')} FLOP; the Chinchilla-optimal run for that loss (N "
              f"{i.chinchilla_params.text('.3g')}) costs {i.chinchilla_total_compute.text('.3g')} in all, so the "
              f"inference-aware run saves {i.saving.text('.1%')} of the total")
    if answer.unique_tokens:
        lines.append(f"  Unique tokens, with Muennighoff et al.'s data-constrained law ({answer.r_stars}):")
    for u in answer.unique_tokens:
        lines.append(f"  U = {u.unique_tokens:.3g} unique tokens: unrepeated they "
              f"support a compute-optimal N of {u.params_without_repeats.text('.3g')} parameters (C "
              f"{u.compute_without_repeats.text('.3g')} FLOP, loss {u.loss_without_repeats.text('.4f')}); 4 epochs "
              f"over them cost {u.four_epochs.text('.2e')} nats/token against 4U fresh tokens")
        if u.budget is not None:
            lines.append(f"    at C = {u.budget:.3g} FLOP: N {u.params.text('.3g')} parameters (unlimited data: "
                  f"{u.params_unlimited.text('.3g')}), D {u.tokens.text('.3g')} tokens, {u.epochs.text('.2f')} "
                  f"epochs, loss {u.loss.text('.4f')}, {u.penalty.text('.2e')} above unlimited data")
            if u.saturated:
                lines.append(f"    in {u.saturated:.0%} of draws that loss is within {FLAT:g} nats/token of the lowest U allows "
                      "at any compute: the budget is more than U can use, and many model sizes come as close")
    return lines


def warn(warnings: list[str]) -> None:
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)


def comparison(result) -> None:
    """The text of ``compare`` (a :class:`scaling_forecast.answers.compare.Comparison`)."""
    pct = f"{result.level:.0%}"
    print(f"Laws compared on {result.dataset} ({result.runs} runs); {pct} equal-tailed intervals.")
    print("PSIS-LOO (elpd of log loss, higher is better; difference to the best with its standard error):")
    for r in result.loo:
        flag = f"; {r.pareto_k_above} runs with Pareto k > 0.7" if r.pareto_k_above else ""
        print(f"  {r.law:<10} elpd {r.elpd_loo:9.1f} (se {r.se:.1f}); diff {r.elpd_diff:7.1f} "
              f"(se {r.diff_se:.1f}); p_loo {r.p_loo:.1f}{flag}")
    print("Allocation exponent a (N_opt proportional to C^a):")
    for law, e in result.exponent_a.items():
        print(f"  {law:<10} a {e.text()}; P(a > 0.6) = {e.p_above:.3f}; P(a < 0.5) = {e.p_below:.3f}")
    print("  published: " + "; ".join(f"{p['source']} {p['a']:g}" for p in result.published_a))
    print("At C = 5.76e23 FLOP (Chinchilla's budget; it used N = 70B, D = 1.4T, 20 tokens/parameter):")
    for law, r in result.chinchilla_budget.items():
        print(f"  {law:<10} N_opt {r['params_median']:.3g} [{r['params_lo']:.3g}, {r['params_hi']:.3g}] parameters; "
              f"{r['tokens_per_param_median']:.1f} [{r['tokens_per_param_lo']:.1f}, {r['tokens_per_param_hi']:.1f}] "
              f"tokens/parameter; loss {r['loss_median']:.3f} [{r['loss_lo']:.3f}, {r['loss_hi']:.3f}] nats/token")
    reference = result.reference_law
    for law, rows in result.divergence.items():
        print(f"{law} vs {reference}: ratio of N_opt ({law} / {reference}) and difference of "
              f"optimal loss ({law} - {reference}, nats/token):")
        for r in rows:
            print(f"  C={r.compute:.0e} FLOP: N_opt ratio {r.params_opt_ratio.text('.2f')}; "
                  f"loss difference {r.loss_difference.text('+.3f')}")
    rec = result.reconciliation
    if rec:
        print(f"Counting non-embedding parameters: a {rec.a_nonembedding_params.text()} vs total "
              f"{rec.a_total_params.text()}; shift {rec.a_shift.text('+.3f')}")
        for r in rec.local:
            if r.local_a.median is not None:
                print(f"  local exponent in Kaplan's terms at C_total={r.compute_total:.2g} FLOP: "
                      f"{r.local_a.text()} (Kaplan: 0.73)")


def backtest(result, summary_rows, holdout: float, lofo: bool) -> None:
    what = "leave one family out (the other families are the population)" if lofo else "every family fitted together"
    print(f"Backtest, {what}: top {holdout:.0%} of each family's configurations by compute held out; median "
          "absolute and signed % error of the predictive median (signed: forecast - actual, > 0 = too high), "
          "coverage of the 50/80/95% predictive intervals, mean lpd of log loss.")
    for r in result.to_dict("records"):
        flag = "" if r["converged"] else "  NOT CONVERGED: " + r["problems"]
        print(f"  {r['family']:<18} {r['method']:<16} train {r['n_train']:>4} test {r['n_test']:>4}  "
              f"error {r['mape']:6.2f}% signed {r['bias']:+6.2f}%  coverage {r['coverage_0.5']:.2f}/"
              f"{r['coverage_0.8']:.2f}/{r['coverage_0.95']:.2f}  lpd {r['lpd']:6.2f}{flag}")
    print("Pooled over families:")
    for r in summary_rows.to_dict("records"):
        print(f"  {r['method']:<16} {r['n_test']:>4} held-out runs: coverage {r['coverage_0.5']:.2f}/"
              f"{r['coverage_0.8']:.2f}/{r['coverage_0.95']:.2f}; median % error over runs {r['mape_runs']:.2f}, "
              f"signed {r['bias_runs']:+.2f}; median over families of the % error "
              f"{r['mape_median_over_families']:.2f}; lpd {r['lpd']:.2f}")


def ladder_backtest(rows, summary) -> None:
    """The ladder backtest by method, k and distance (decades of compute beyond the ladder's largest run)."""
    ladders = rows.drop_duplicates(["family", "design", "k", "method"])
    print(f"Ladder backtest: {len(ladders)} fits of {rows['family'].nunique()} families' ladders (k sizes at one "
          "tokens-per-parameter ratio, or the k smallest compute-optimal runs of an IsoFLOP sweep), each forecasting "
          "the family's larger runs; the pooled fit's population excludes the family. Per method, k and decades of "
          "compute beyond the ladder's largest run: forecasts (from flagged fits, left out), median absolute and "
          "signed % error of the predictive median (signed: forecast - actual, > 0 = too high), coverage of the "
          "50/80/95% predictive intervals, mean lpd of log loss.")
    for r in summary.to_dict("records"):
        flagged = f" ({r['flagged']} flagged)" if r["flagged"] else ""
        print(f"  {r['method']:<11} k={r['k']:<2} {r['distance']:>7} decades: {r['forecasts']:>4} forecasts{flagged}  "
              f"error {r['median_abs_error']:5.2f}% signed {r['median_signed_error']:+6.2f}%  coverage "
              f"{r['coverage_0.5']:.2f}/{r['coverage_0.8']:.2f}/{r['coverage_0.95']:.2f}  lpd {r['lpd']:6.2f}")


def datawall_json(answer) -> dict:
    return jsonable(answer.result) | {"description": answer.description, "words_per_token": answer.words_per_token,
                                      "warnings": answer.warnings,
                                      "components": {n: vars(c) for n, c in answer.components.items()},
                                      "report": str(answer.report)}


def datawall(result, description: str) -> None:
    """The text of ``datawall`` (a :class:`scaling_forecast.answers.datawall_answer.WallAnswer`)."""
    level = result.level
    stock, pub, growth = result.stock_2024, result.published, result.growth
    print(f"Data wall. {description}")
    v = pub["effective_stock"]
    print(f"Stock of usable human text in 2024, tokens ({stock['effective'].level:.0%} intervals): unique "
          f"{stock['quality_adjusted'].text('.3g')}; with repetition {stock['effective'].text('.3g')} "
          f"(Villalobos et al.: {v['value']:.3g} [{v['low']:.3g}, {v['high']:.3g}], {v['interval']:.0%})")
    g = pub["dataset_growth_oom_per_year"]
    print(f"Growth, orders of magnitude per year (95%): training tokens {growth['tokens_growth'].text()} "
          f"(Villalobos et al.: {g['value']:.2f} [{g['low']:.2f}, {g['high']:.2f}]); training compute "
          f"{growth['compute_growth'].text()}")
    y = pub["exhaustion_year"]
    print(f"Year the largest training run's tokens reach the stock (median [80%], 50% and 90% intervals); "
          f"Villalobos et al.: {y['value']:.0f} [{y['low']:.0f}, {y['high']:.0f}] (mixture, 1x, repetition on):")
    for r in result.scenarios:
        k = "" if r.overtrain is None else f", {r.overtrain:g}x overtrained"
        half, most = r.interval(0.5), r.interval(0.9)
        print(f"  {r.demand.replace('_', ' ') + k:<30} repetition {'on ' if r.repetition else 'off'}  "
              f"{r.interval(0.8).text('.1f')}  50% {half.lo:.1f}-{half.hi:.1f}  "
              f"90% {most.lo:.1f}-{most.hi:.1f}  P(never) {r.p_never:.3f}")
    print(f"Loss of a run with the frontier's compute at the wall (compute trend, repetition on; Chinchilla law, "
          f"nats/token, {level:.0%} predictive): data capped = the data-constrained optimum for the stock's unique "
          f"tokens (Muennighoff et al.; {result.r_stars}), unlimited = the compute-optimal run on fresh data:")
    for k, w in result.loss_at_wall.items():
        print(f"  wall of the {k}x overtrained demand, year {w.year_median:.1f}: capped run N {w.params.text('.3g')} "
              f"parameters, {w.epochs.text('.2f')} epochs over the stock; loss with data capped {w.capped.text('.4f')}, "
              f"unlimited {w.unlimited.text('.4f')}; penalty {w.penalty.text('.2e')}")
    print("Loss of a run with the frontier's compute by year (compute trend), data capped vs unlimited "
          "(penalty: capped - unlimited expected loss, same draw):")
    for year, w in result.loss_by_year.items():
        print(f"  {year}: {w.epochs.text('.2f')} epochs; capped {w.capped.text('.4f')}, unlimited "
              f"{w.unlimited.text('.4f')}; penalty {w.penalty.text('.2e')}")
    print("Sensitivity of the exhaustion year (mixture, 1x, repetition on), each input fixed at its median:")
    for r in result.sensitivity:
        print(f"  {r['input']:<32} variance share {r['variance_share']:6.3f}  median {r['median']:.2f}  "
              f"80% width {r['width_0.8']:.2f} years")
