"""The ``scaling-forecast`` command line: options parsed here, the work done by ``scaling_forecast.cli.commands``,
the output written by ``scaling_forecast.reporting.text``."""

import sys
from pathlib import Path

import click

from scaling_forecast.answers.backtest import pooled
from scaling_forecast.cli import commands
from scaling_forecast.cli.console import run
from scaling_forecast.cli.data import data_app
from scaling_forecast.cli.options import (
    CHAINS,
    DRAWS,
    LEVEL,
    SEED,
    TUNE,
    Bounded,
    OrderedCommand,
    allow_option,
    backtest_options,
    datawall_options,
    export_option,
    figure_options,
    force_option,
    json_flag,
    law_option,
    plan_question_options,
    pool_option,
    selection_options,
)
from scaling_forecast.core import intervals
from scaling_forecast.core.errors import InputError
from scaling_forecast.core.files import check_outputs
from scaling_forecast.core.version import __version__
from scaling_forecast.fitting.settings import LAW_NAMES, SamplerSettings
from scaling_forecast.inputs import query_points
from scaling_forecast.reporting import exports
from scaling_forecast.reporting import text as render


def _unconverged(diagnostics, allow: bool, what: str = "the posterior") -> None:
    """Loud warning on stderr; exit 3 (the rule of every command) unless the user accepts unconverged results."""
    if diagnostics.converged:
        return
    print(f"WARNING: {what} did NOT converge (" + "; ".join(diagnostics.problems()) + "): its numbers are not "
          "results. Refit with more --tune/--draws, or pass --allow-unconverged to see them anyway.", file=sys.stderr)
    if not allow:
        sys.exit(3)


def _checked_export(export, inputs, force: bool) -> None:
    """Refuse a bad --export (format, an input's path, a file the product did not write) before any work."""
    exports.check(export)
    check_outputs([export] if export else [], inputs, force, flag="--export")


def _export(export, table, source: str, level: float | None, force: bool) -> None:
    if export is not None:
        written = exports.write(table, export, source=source, level=level, force=force)
        print(f"table written to {written}", file=sys.stderr)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scaling-forecast")
def app() -> None:
    """Bayesian forecasts of LLM loss from published scaling-law runs."""


app.add_command(data_app)


@app.command("fit")
@selection_options
@law_option
@click.option("--out", type=click.Path(path_type=Path), required=True, help="NetCDF file to write the posterior to.")
@click.option("--draws", type=DRAWS, default=SamplerSettings.draws, show_default=True)
@click.option("--tune", type=TUNE, help="Tuning steps per chain (default: 500 for a fit alone, 1000 pooled).")
@click.option("--chains", type=CHAINS, default=SamplerSettings.chains, show_default=True)
@click.option("--seed", type=SEED, default=SamplerSettings.seed, show_default=True)
@click.option("--level", type=LEVEL, default=intervals.LEVEL, show_default=True, help="Credible interval level for printed parameters.")
@allow_option("Exit 0 even when diagnostics fail (results are still flagged).")
@pool_option
@json_flag
@force_option
def fit_command(force, law, out, draws, tune, chains, seed, level, allow_unconverged, pool, as_json, **selection):
    """Fit a scaling law (default: Chinchilla, L = E + A N^-alpha + B D^-beta) with PyMC + nutpie."""
    check_outputs([out], [selection["runs_file"]], force)
    fitted = commands.fit_selected(selection, law, SamplerSettings(draws=draws, chains=chains, seed=seed), pool, tune)
    fitted.save(out, force=force)
    _unconverged(fitted.diagnostics, allow=True)
    render.print_json(render.fit_json(fitted, level) | {"out": str(out)}) if as_json else render.fit(fitted, level, out)
    _unconverged(fitted.diagnostics, allow_unconverged)  # again after the numbers, and the exit code


@app.command("predict", cls=OrderedCommand)
@click.argument("fit_file", type=click.Path(path_type=Path))
@click.option("--model", "models", multiple=True,
              help="A published configuration by name, e.g. 'GPT-3 175B' (data/published/model_configs.csv; repeatable).")
@click.option("--params", "params", type=Bounded("params"), multiple=True, help="Model size N, parameters (repeatable).")
@click.option("--tokens", "tokens", type=Bounded("tokens"), multiple=True, help="Training tokens D (repeatable, paired with --params).")
@click.option("--compute", "compute", type=Bounded("compute"), multiple=True,
              help="Training FLOP C instead of tokens: D = C / (6N) (--params pair with --tokens and --compute in order).")
@click.option("--grid", type=click.Path(path_type=Path),
              help="CSV of query points: column params and one of tokens or compute (FLOP).")
@click.option("--level", type=LEVEL, default=intervals.LEVEL, show_default=True)
@allow_option("Show forecasts of a fit that failed its diagnostics (flagged).")
@json_flag
@export_option
@force_option
def predict_command(force, fit_file, models, params, tokens, compute, grid, level, allow_unconverged, as_json,
                    export) -> None:
    """Forecast loss at (params, tokens), (params, compute) or published models from a saved fit."""
    _checked_export(export, [fit_file, grid], force)
    models = query_points.model_names(models)
    n, d = query_points.points(models, params, tokens, compute, grid, click.get_current_context().meta["option_order"])
    fitted = commands.load_fit(fit_file, "predict")
    _unconverged(fitted.diagnostics, allow_unconverged)
    answer = commands.predict(fitted, n, d, models, level)
    render.print_json(render.forecast_json(answer, level)) if as_json else render.forecast(answer, level)
    _export(export, answer.table, fitted.describe(), level, force)


@app.command("report")
@selection_options
@law_option
@click.option("--fit", "fit_file", type=click.Path(path_type=Path), help="Report on this saved fit instead of fitting.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("results/report.html"), show_default=True,
              help="HTML file to write; a new fit is saved beside it as .nc.")
@click.option("--level", type=LEVEL, default=intervals.LEVEL, show_default=True)
@click.option("--seed", type=SEED, default=SamplerSettings.seed, show_default=True)
@allow_option("Exit 0 even when diagnostics fail (the report still says so).")
@pool_option
@force_option
@figure_options
def report_command(force, law, fit_file, out, level, seed, allow_unconverged, pool, figures, figure_format, dpi,
                   **selection) -> None:
    """Fit (or load) a law and write one self-contained HTML report with figures and forecasts."""
    from scaling_forecast.reporting.fit_page import write_figures, write_report  # matplotlib: on use

    check_outputs([out] + ([] if fit_file is not None else [out.with_suffix(".nc")]),
                  [fit_file, selection["runs_file"]], force)
    if fit_file is not None:
        if selection["dataset"] or selection["runs_file"]:
            raise InputError("give --fit or a dataset/runs selection, not both")
        fitted = commands.load_fit(fit_file, "predict")
    else:
        fitted = commands.fit_selected(commands.default_dataset(selection), law, SamplerSettings(seed=seed), pool)
        print(f"posterior written to {fitted.save(out.with_suffix('.nc'), force=force)}")
    _unconverged(fitted.diagnostics, allow=True)
    print(f"report on the {fitted.describe()} written to {write_report(fitted, out, level=level, force=force)}")
    if figures is not None:
        written = write_figures(fitted, figures, fmt=figure_format, dpi=dpi, level=level, force=force)
        print(f"{len(written)} figures written to {figures} ({figure_format})")
    _unconverged(fitted.diagnostics, allow_unconverged)


@app.command("allocate")
@click.argument("fit_file", type=click.Path(path_type=Path))
@click.option("--compute", "budgets", type=Bounded("compute"), multiple=True,
              help="Budget in FLOP (repeatable): posterior of N_opt, D_opt, tokens per parameter and loss.")
@click.option("--model", "models", multiple=True,
              help="A published configuration by name (repeatable): how far it is from compute-optimal.")
@click.option("--params", type=Bounded("params"), multiple=True, help="N of your own run (repeatable, paired with --tokens).")
@click.option("--tokens", type=Bounded("tokens"), multiple=True, help="D of your own run (repeatable).")
@click.option("--flops-per-param-token", type=Bounded("flops_per_param_token"), default=6.0, show_default=True,
              help="k in C = k N D (6 for training; 1 to 100 accepted).")
@click.option("--level", type=LEVEL, default=intervals.LEVEL, show_default=True)
@allow_option("Show allocations from a fit that failed its diagnostics (flagged).")
@json_flag
@export_option
@force_option
def allocate_command(force, fit_file, budgets, models, params, tokens, flops_per_param_token, level, allow_unconverged,
                     as_json, export) -> None:
    """Compute-optimal N and D for FLOP budgets, and the compute overhead of given (N, D), from a saved fit."""
    _checked_export(export, [fit_file], force)
    if not (budgets or models or params):
        raise InputError("give at least one --compute budget, --model, or --params with --tokens")
    budgets, models = query_points.budgets(budgets), query_points.model_names(models)
    n, d = query_points.points(models, params, tokens, (), None) if (models or params) else ((), ())
    fitted = commands.load_fit(fit_file, "allocate")
    _unconverged(fitted.diagnostics, allow_unconverged)
    answer = commands.allocate(fitted, budgets, n, d, models, level, flops_per_param_token)
    render.print_json(render.allocation_json(answer, level)) if as_json else render.allocation(answer, level)
    _export(export, answer.table(), fitted.describe(), level, force)


@app.command("plan")
@click.argument("fit_file", type=click.Path(path_type=Path))
@plan_question_options
@click.option("--level", type=LEVEL, default=intervals.LEVEL, show_default=True)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the MFU and R* draws.")
@click.option("--out", type=click.Path(path_type=Path), help="Also write the answers as an HTML page (frontier figures).")
@allow_option("Show answers from a fit that failed its diagnostics (flagged).")
@json_flag
@force_option
def plan_command(force, fit_file, params, tokens, gpus, gpu, days, mfu, targets, probabilities, unique, compute,
                 inference_tokens, level, seed, out, allow_unconverged, as_json) -> None:
    """Planning answers with intervals: data for a model size, what hardware buys, the compute a loss needs,
    what limited unique data support."""
    if not (params or targets or unique or days is not None or inference_tokens is not None):
        raise InputError("give --params, --gpus/--gpu/--days, --target-loss or --unique-tokens")
    check_outputs([out] if out else [], [fit_file], force)
    fitted = commands.load_fit(fit_file, "plan")
    _unconverged(fitted.diagnostics, allow_unconverged)
    answer = commands.plan(fitted, params, tokens, {"gpus": gpus, "gpu": gpu, "days": days, "mfu": mfu},
                           {"losses": targets, "probabilities": probabilities, "inference_tokens": inference_tokens},
                           {"tokens": unique, "compute": compute}, level, seed, out, force)
    render.print_json(answer) if as_json else render.plan(answer)


@app.command("compare")
@selection_options
@click.option("--law", "law_names", type=click.Choice(LAW_NAMES), multiple=True,
              default=("chinchilla", "kaplan", "kaplan_e"), show_default=True, help="Laws to fit and compare (repeatable).")
@click.option("--reconcile/--no-reconcile", default=None,
              help="Also refit with non-embedding N (default: when every selected run has it).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("results/compare.html"), show_default=True,
              help="HTML report to write; the fits are saved beside it as <out>-<law>.nc.")
@click.option("--level", type=LEVEL, default=intervals.COMPARISON_LEVEL, show_default=True,
              help="Interval level (0.8 matches Hoffmann et al.'s published 10th-90th percentile intervals of a).")
@click.option("--seed", type=SEED, default=SamplerSettings.seed, show_default=True)
@allow_option("Exit 0 even when a fit fails its diagnostics (still flagged).")
@json_flag
@force_option
@export_option
def compare_command(force, law_names, reconcile, out, level, seed, allow_unconverged, as_json, export,
                    **selection) -> None:
    """Fit several laws to the same runs: LOO, allocation exponent, divergence of forecasts, reconciliation."""
    _checked_export(export, [selection["runs_file"], out], force)
    check_outputs([out] + [commands.compare_fit_path(out, law) for law in dict.fromkeys(law_names)],
                  [selection["runs_file"]], force)
    result, report, fits = commands.compare(selection, law_names, reconcile, out, level, seed, force)
    for name, fitted in fits.items():
        _unconverged(fitted.diagnostics, allow=True, what=f"the {name} fit")
    if as_json:
        render.print_json(render.jsonable(result) | {"report": str(report)})
    else:
        render.comparison(result)
        print(f"report written to {report}")
    _export(export, exports.quantities(result), f"laws compared on {result.dataset}", level, force)
    if not allow_unconverged and any(not f.diagnostics.converged for f in fits.values()):
        sys.exit(3)


@app.command("backtest")
@backtest_options
@click.option("--workers", type=Bounded("workers"), help="Local worker processes (default: one per core).")
@click.option("--scheduler", help="A dask.distributed scheduler address (tcp://host:port) to run the fits on instead.")
@click.option("--draws", type=DRAWS, default=SamplerSettings.draws, show_default=True)
@click.option("--seed", type=SEED, default=SamplerSettings.seed, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("results/backtest.html"), show_default=True)
@allow_option("Exit 0 even when some fits fail their diagnostics (their rows are still flagged).")
@json_flag
@force_option
@export_option
def backtest_command(force, families, gadre_eval, holdout, few_shot, no_few_shot, lofo, ladders, ladder_sizes, workers,
                     scheduler, draws, seed, out, allow_unconverged, as_json, export) -> None:
    """Hold out each family's largest runs; compare hierarchical, per-family and baseline forecasts of them."""
    _checked_export(export, [out], force)
    from scaling_forecast.reporting.backtest_page import write_backtest_report, write_ladder_report  # matplotlib

    check_outputs([out], [], force)
    if ladders:
        if lofo or few_shot or no_few_shot or holdout is not None:
            raise InputError("--ladders cuts its own training runs: drop --leave-one-family-out, --few-shot, "
                             "--no-few-shot and --holdout")
        rows, summary = commands.ladder_backtest(tuple(families), gadre_eval, tuple(ladder_sizes),
                                                 SamplerSettings(draws=draws, seed=seed), workers, scheduler)
        report = write_ladder_report(rows, summary, out, force=force)
        if as_json:
            render.print_json({"ladders": True, "report": str(report), "by_distance": summary.to_dict("records")})
        else:
            render.ladder_backtest(rows, summary)
            print(f"report written to {report}")
        _export(export, rows, "ladder backtest: each forecast of a family's larger runs from its ladder", None, force)
        flagged = rows.drop_duplicates(["family", "design", "k", "method"])
        if bad := int((~flagged["converged"].astype(bool)).sum()):
            print(f"WARNING: {bad} fits did not converge; their forecasts are left out of the summary and are not "
                  "results.", file=sys.stderr)
            sys.exit(0 if allow_unconverged else 3)
        return
    result, holdout = commands.backtest(tuple(families), gadre_eval, holdout, few_shot, no_few_shot, lofo,
                                        SamplerSettings(draws=draws, seed=seed), workers, scheduler)
    summary_rows = pooled(result)
    report = write_backtest_report(result, summary_rows, out, holdout=holdout, lofo=lofo, force=force)
    if as_json:
        render.print_json({"holdout": holdout, "leave_one_family_out": lofo, "report": str(report),
                           "families": result.drop(columns="errors").to_dict("records"),
                           "pooled": summary_rows.to_dict("records")})
    else:
        render.backtest(result, summary_rows, holdout, lofo)
        print(f"report written to {report}")
    _export(export, result.drop(columns="errors"), f"backtest, holding out {holdout:.0%} of each family's runs", None,
            force)
    if bad := int((~result["converged"].astype(bool)).sum()):
        print(f"WARNING: {bad} fits did not converge; their rows are flagged and are not results.", file=sys.stderr)
        sys.exit(0 if allow_unconverged else 3)


@app.command("datawall")
@datawall_options
@click.option("--level", type=LEVEL, default=intervals.COMPARISON_LEVEL, show_default=True, help="Interval level of the loss forecasts.")
@click.option("--seed", type=SEED, default=SamplerSettings.seed, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("results/datawall.html"), show_default=True)
@allow_option("Exit 0 even when a posterior fails its diagnostics (flagged).")
@json_flag
@force_option
@export_option
def datawall_command(force, fit_file, words_per_token, fixed, priors, overtrain, r_star, level, seed, out,
                     allow_unconverged, as_json, export) -> None:
    """When do the largest training sets exhaust the stock of human text, and what loss is reachable then?"""
    check_outputs([out], [fit_file], force)
    _checked_export(export, [fit_file, out], force)
    answer = commands.datawall(fit_file, words_per_token, fixed, priors, overtrain, r_star, level, seed, out, force)
    for w in answer.warnings:
        print(f"WARNING: {w}.", file=sys.stderr)
    if as_json:
        render.print_json(render.datawall_json(answer))
    else:
        render.datawall(answer.result, answer.description)
        print(f"report written to {answer.report}")
    _export(export, exports.quantities(answer.result), answer.description, level, force)
    if answer.warnings and not allow_unconverged:
        sys.exit(3)


def main() -> None:
    """Entry point of ``scaling-forecast`` (errors and exit codes: ``scaling_forecast.cli.console.run``)."""
    run(app)
