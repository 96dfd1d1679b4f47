"""The ``scaling-forecast`` command line."""

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import click
import numpy as np

from scaling_forecast import __version__, queries, registry, runs, summary
from scaling_forecast.console import EscapingStream, escape
from scaling_forecast.errors import InputError
from scaling_forecast.files import written_by_product
from scaling_forecast.predict import beyond_oom, interval
from scaling_forecast.selection import LAW_NAMES, MIN_RUNS_ALONE, MIN_RUNS_POOLED, RunSelection, SamplerSettings

# Bounds of the sampler's flags: nutpie takes unsigned 32-bit seeds; more draws than this only fill memory.
SEED = click.IntRange(0, 2**32 - 1)
DRAWS = click.IntRange(100, 100_000)
PRINT_BLOCK = 10_000  # forecast lines formatted per write
json_flag = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text.")


def _print_json(value: object) -> None:
    print(json.dumps(summary.to_jsonable(value), indent=2, allow_nan=False))


def _fmt_range(name: str, r: dict) -> str:
    return f"  {name:<20} {r['min']:.4g} .. {r['max']:.4g} {r['units']} ({r['known']} known)"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scaling-forecast")
def app() -> None:
    """Bayesian forecasts of LLM loss from published scaling-law runs."""


@app.group("data")
def data_app() -> None:
    """The registered public datasets and user run files."""


@data_app.command("list")
@json_flag
def data_list(as_json: bool) -> None:
    """List registered datasets: rows, families, licence, offline availability (exit 2 if a file is bad)."""
    rows = summary.listing()
    if as_json:
        _print_json(rows)
    else:
        mirror = registry.mirror_dir()
        print(f"Registered datasets (mirror: {mirror or 'none; set ' + registry.MIRROR_ENV}; cache: {registry.cache_dir()})")
        print(f"{'name':<20} {'kind':<7} {'rows':>5}  {'offline':<8} {'licence':<12} families")
        for r in rows:
            count = "?" if r["rows"] is None else r["rows"]
            families = "?" if r["families"] is None else ", ".join(r["families"]) or "-"
            offline = "yes" if r["offline"] else "no"
            print(f"{r['name']:<20} {r['kind']:<7} {count:>5}  {offline:<8} {r['license']:<12} {families}")
        print("rows: runs x evaluation sets for kind 'runs', models for kind 'models'; '?' = not downloaded yet "
              "or failing its checks")
    bad = [r for r in rows if r["problem"]]
    if bad:
        raise InputError("\n".join(f"{r['name']}: {r['problem']}" for r in bad))


@data_app.command("show")
@click.argument("name")
@json_flag
def data_show(name: str, as_json: bool) -> None:
    """Summarise one dataset: source, licence, units, counts and value ranges."""
    info = summary.dataset(name)
    if as_json:
        _print_json(info)
        return
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
        print(_fmt_range(column, r))
    print("  units: " + "; ".join(f"{k}: {v}" for k, v in info["units"].items()))


@data_app.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@json_flag
def data_check(file: Path, as_json: bool) -> None:
    """Validate a CSV of your own runs with the checks every command applies."""
    try:
        table = runs.read_runs_csv(file)
    except InputError as err:
        if not as_json:
            raise
        _print_json({"file": str(file), "valid": False, "errors": str(err).splitlines()})
        sys.exit(2)
    info = {"file": str(file), "valid": True} | summary.run_table(table)
    if as_json:
        _print_json(info)
        return
    print(f"{file}: valid, {info['runs']} runs; families: " + ", ".join(f"{k} ({v})" for k, v in info["families"].items()))
    for column, r in info["ranges"].items():
        print(_fmt_range(column, r))


def _selection_options(command):
    """The run-selection flags shared by every command that fits."""
    options = [
        click.option("--dataset", help="Registered dataset to fit (see 'data list')."),
        click.option("--runs", "runs_file", type=click.Path(path_type=Path), help="CSV of your own runs instead."),
        click.option("--family", "families", multiple=True, help="Keep only this family (repeatable)."),
        click.option("--loss-kind", "loss_kinds", multiple=True, help="Keep only this loss kind (repeatable)."),
        click.option("--compute-min", type=float, help="Keep runs with compute >= this many FLOP."),
        click.option("--compute-max", type=float, help="Keep runs with compute <= this many FLOP."),
        click.option("--drop-highest-loss", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Drop the K highest-loss runs (Besiroglu et al. drop 5 of chinchilla-epoch)."),
        click.option("--non-embedding", is_flag=True,
                     help="Count N without embedding parameters and C = 6ND with that N (Kaplan's convention)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


law_option = click.option("--law", type=click.Choice(LAW_NAMES), default="chinchilla", show_default=True,
                          help="Which law to fit (see the README's 'Laws').")


def _load_selected(dataset, runs_file, families, loss_kinds, compute_min, compute_max, drop_highest_loss,
                   non_embedding):
    """Runs from a dataset or CSV, with the selection the flags describe."""
    for flag, value in (("compute-min", compute_min), ("compute-max", compute_max)):
        if value is not None and (problem := runs.value_problem("compute", value)):
            raise InputError(f"--{flag}: {problem}")
    table, source, digest = runs.load_runs(dataset, runs_file)
    selection = RunSelection(tuple(families), tuple(loss_kinds), compute_min, compute_max, drop_highest_loss,
                             non_embedding)
    return table, source, digest, selection


force_option = click.option(
    "--force", is_flag=True,
    help="Replace an existing output file that scaling-forecast did not write (its own pages and fits are "
         "replaced without asking).")


def check_outputs(outputs: list[Path], inputs: list[Path | None], force: bool = False) -> None:
    """Refuse, before any work, outputs that would overwrite an input or each other, that are folders,
    whose folder cannot be written, or (without ``force``) that exist and were not written by this
    product: a long fit must not end in a file that cannot be saved or that destroys what it read.
    (Writes themselves are atomic: ``scaling_forecast.files``.)"""
    taken = {Path(p).resolve(): f"is also the input {p}" for p in inputs if p is not None}
    for out in outputs:
        target = Path(out).resolve()
        if target in taken:
            raise InputError(f"{out}: {taken[target]}; choose another --out")
        if target.is_dir():
            raise InputError(f"{out}: is a folder; --out takes a file name")
        folder = next(p for p in (target.parent, *target.parents) if p.exists())
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise InputError(f"{out}: cannot write into {folder}")
        if target.exists() and not force and not written_by_product(target):
            raise InputError(f"{out}: exists and was not written by scaling-forecast; choose another --out, or pass "
                             "--force to replace it")
        taken[target] = "would receive two of this command's outputs (e.g. a report and the posterior beside it)"


def _fit_selected(selection_flags: dict, law: str, sampler: SamplerSettings, pool: bool | None = False,
                  tune: int | None = None):
    """Load runs, apply the selection flags, fit ``law``: pooled with the registered families when
    ``pool`` (None: for a runs file and the chinchilla law), else alone. ``tune`` None: the kind's default."""
    if pool is None:
        pool = selection_flags["runs_file"] is not None and law == "chinchilla"
    elif pool and selection_flags["runs_file"] is None:
        raise InputError("--pool is for your own runs (--runs FILE): the registered datasets are the population")
    elif pool and law != "chinchilla":
        raise InputError(f"--pool fits the chinchilla law; drop --pool to fit the {law} law alone")
    table, source, digest, selection = _load_selected(**selection_flags)
    # Checked here, before a pooled fit loads (or builds) its population.
    chosen = selection.apply(table, minimum=MIN_RUNS_POOLED if pool else MIN_RUNS_ALONE)
    if warning := runs.rising_loss(chosen):
        print(f"warning: {warning}", file=sys.stderr)
    if not pool:
        sampler = sampler if tune is None else replace(sampler, tune=tune)
        return _fit_class().fit(table, source=source, source_sha256=digest, law=law, selection=selection,
                                sampler=sampler)
    from scaling_forecast.pooled import SAMPLER, PooledFit, load_population

    sampler = replace(SAMPLER, draws=sampler.draws, chains=sampler.chains, seed=sampler.seed,
                      tune=SAMPLER.tune if tune is None else tune)
    return PooledFit.fit(table, source=source, source_sha256=digest, population=load_population(),
                         selection=selection, sampler=sampler)


pool_option = click.option(
    "--pool/--no-pool", default=None,
    help="Fit your runs as one more family within the population of registered families (default for --runs "
         "with the chinchilla law), or alone (--no-pool; the default for --dataset and other laws).")


def _fit_class():
    """The fitted-law class, imported on use: PyMC and ArviZ take seconds to import,
    which `data` commands and --help should not pay."""
    from scaling_forecast.fit import ScalingLawFit

    return ScalingLawFit


def _print_parameters(parameters: dict, header: str) -> None:
    print(header)
    for name, p in parameters.items():
        level = f"{p['level']:.0%}"
        print(f"  {name:<6} median {p['median']:<10.4g} {level} interval [{p['lo']:.4g}, {p['hi']:.4g}]  ({p['units']})")


def _warn_unconverged(diagnostics, allow: bool) -> None:
    """Loud warning on stderr; exit 3 unless the user accepts unconverged results."""
    if diagnostics.converged:
        return
    print("WARNING: the posterior did NOT converge (" + "; ".join(diagnostics.problems()) + "): its numbers are not "
          "results. Refit with more --tune/--draws, or pass --allow-unconverged to see them anyway.", file=sys.stderr)
    if not allow:
        sys.exit(3)




@app.command("fit")
@_selection_options
@law_option
@click.option("--out", type=click.Path(path_type=Path), required=True, help="NetCDF file to write the posterior to.")
@click.option("--draws", type=DRAWS, default=SamplerSettings.draws, show_default=True)
@click.option("--tune", type=DRAWS,
              help="Tuning steps per chain (default: 500 for a fit alone, 1000 pooled).")
@click.option("--chains", type=click.IntRange(2, 64), default=SamplerSettings.chains, show_default=True)
@click.option("--seed", type=SEED, default=SamplerSettings.seed, show_default=True)
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9, show_default=True,
              help="Credible interval level for printed parameters.")
@click.option("--allow-unconverged", is_flag=True, help="Exit 0 even when diagnostics fail (results are still flagged).")
@pool_option
@json_flag
@force_option
def fit_command(force, law, out, draws, tune, chains, seed, level, allow_unconverged, pool, as_json,
                **selection) -> None:
    """Fit a scaling law (default: Chinchilla, L = E + A N^-alpha + B D^-beta) with PyMC + nutpie."""
    check_outputs([out], [selection["runs_file"]], force)
    sampler = SamplerSettings(draws=draws, chains=chains, seed=seed)
    fitted = _fit_selected(selection, law, sampler, pool, tune)
    fitted.save(out)
    diagnostics = fitted.diagnostics
    _warn_unconverged(diagnostics, allow=True)
    if as_json:
        _print_json(_fit_json(fitted, level) | {"out": str(out)})
    else:
        _print_parameters(fitted.parameters(level), f"{fitted.describe()}; posterior:")
        if hasattr(fitted, "contraction"):
            _print_pooling(fitted)
        print(f"  diagnostics: max R-hat {diagnostics.r_hat_max:.3f}, min ESS bulk {diagnostics.ess_bulk_min:.0f} "
              f"/ tail {diagnostics.ess_tail_min:.0f}, {diagnostics.divergences} divergences, min BFMI {diagnostics.bfmi_min:.2f}")
        print(f"  written to {out}")
    _warn_unconverged(diagnostics, allow_unconverged)  # again after the numbers, and the exit code


def _print_pooling(fitted) -> None:
    """How much of the family's constants came from its own runs rather than the population."""
    shares = fitted.contraction()
    print("  from your runs, not the population (1 - posterior/prior variance; 0 = all population): "
          + ", ".join(f"{name} {share:.2f}" for name, share in shares.items()))
    own, (prior_mean, prior_sd) = fitted.own_slope, fitted.own_slope["prior"]
    text = (f"  extrapolation slope (the law's error per decade of compute beyond your largest run, % of the loss): "
            f"population {100 * prior_mean:+.2f} (sd {100 * prior_sd:.2f})")
    if "posterior" in own:
        mean, sd = own["posterior"]
        text += (f"; with your {own['held_out_runs']} runs of the top quarter by compute forecast from the other "
                 f"{own['fitted_runs']}: {100 * mean:+.2f} (sd {100 * sd:.2f})")
    print(f"{text}; {own['reason']}")
    if min(shares.values()) < 0.5:
        print("  note: some constants rest mostly on the population of registered families, so forecasts are "
              "wide; more runs, at more compute, narrow them")


def _fit_json(fitted, level: float) -> dict:
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
    } | ({"population": fitted.population, "from_runs_share": fitted.contraction(), "own_slope": fitted.own_slope}
         if hasattr(fitted, "contraction") else {})


@app.command("predict")
@click.argument("fit_file", type=click.Path(path_type=Path))
@click.option("--model", "models", multiple=True,
              help="A published configuration by name, e.g. 'GPT-3 175B' (data/published/model_configs.csv; repeatable).")
@click.option("--params", "params", type=float, multiple=True, help="Model size N, parameters (repeatable).")
@click.option("--tokens", "tokens", type=float, multiple=True, help="Training tokens D (repeatable, paired with --params).")
@click.option("--compute", "compute", type=float, multiple=True, help="Training FLOP C instead of tokens: D = C / (6N).")
@click.option("--grid", type=click.Path(path_type=Path),
              help="CSV of query points: column params and one of tokens or compute (FLOP).")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9, show_default=True)
@click.option("--allow-unconverged", is_flag=True, help="Show forecasts of a fit that failed its diagnostics (flagged).")
@json_flag
def predict_command(fit_file, models, params, tokens, compute, grid, level, allow_unconverged, as_json) -> None:
    """Forecast loss at (params, tokens), (params, compute) or published models from a saved fit."""
    n, d = queries.points(models, params, tokens, compute, grid)
    fitted = _fit_class().load(fit_file)
    diagnostics = fitted.diagnostics
    _warn_unconverged(diagnostics, allow_unconverged)
    table = fitted.predict(n, d, level=level)
    if models:
        table.insert(0, "model", list(models) + [""] * (len(table) - len(models)))
    warnings = _extrapolation_warnings(table)
    if as_json:
        predictions = table.drop(columns=[c for c in table if c.startswith("beyond_")]).to_dict("records")
        beyond = table[[f"beyond_{k}_oom" for k in ("params", "tokens", "compute")]].to_numpy().tolist()
        for row, far in zip(predictions, beyond):
            row["beyond_fitted_oom"] = dict(zip(("params", "tokens", "compute"), far))
        _print_json(_fit_json(fitted, level) | {"predictions": predictions, "warnings": warnings})
    else:
        print(f"Forecast from the {fitted.describe()}; loss in nats/token on its loss kind "
              f"({', '.join(sorted(set(fitted.runs['loss_kind'])))}), {level:.0%} equal-tailed intervals; "
              f"{fitted.interval_note()}:")
        for start in range(0, len(table), PRINT_BLOCK):  # blocks: a large grid's text never sits in memory at once
            sys.stdout.write("".join(
                f"  {f'{r.model}: ' if models and r.model else ''}N={r.params:.3g} params, D={r.tokens:.3g} tokens, "
                f"C={r.compute:.3g} FLOP: expected loss {r.loss_median:.4f} [{r.loss_lo:.4f}, {r.loss_hi:.4f}]; "
                f"a new run's loss {r.observed_median:.4f} [{r.observed_lo:.4f}, {r.observed_hi:.4f}]\n"
                for r in table.iloc[start : start + PRINT_BLOCK].itertuples()))
        if models:
            print("  (named models: this law's prediction for that N and D; those models used other data and "
                  "tokenizers, so it is not their actual loss)")
        for w in warnings:
            print(f"warning: {w}", file=sys.stderr)


def _extrapolation_warnings(table) -> list[str]:
    """One sentence for all queries outside the fitted runs' range (above or below), with the farthest."""
    columns = [f"beyond_{k}_oom" for k in ("params", "tokens", "compute")]
    far = table[columns].max(axis=1)
    outside = far > 0
    if not outside.any():
        return []
    worst = table.loc[far.idxmax()]
    return [f"{int(outside.sum())} of {len(table)} queries lie outside the fitted runs' range of N, D or C "
            f"(farthest: N={worst.params:.3g}, D={worst.tokens:.3g}, {far.max():.2f} orders of magnitude out); "
            "their intervals assume the law's form holds there"]


@app.command("report")
@_selection_options
@law_option
@click.option("--fit", "fit_file", type=click.Path(path_type=Path), help="Report on this saved fit instead of fitting.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("results/report.html"), show_default=True,
              help="HTML file to write; a new fit is saved beside it as .nc.")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9, show_default=True)
@click.option("--seed", type=SEED, default=SamplerSettings.seed, show_default=True)
@click.option("--allow-unconverged", is_flag=True, help="Exit 0 even when diagnostics fail (the report still says so).")
@pool_option
@force_option
def report_command(force, law, fit_file, out, level, seed, allow_unconverged, pool, **selection) -> None:
    """Fit (or load) a law and write one self-contained HTML report with figures and forecasts."""
    from scaling_forecast.report import write_report

    check_outputs([out] + ([] if fit_file is not None else [out.with_suffix(".nc")]),
                  [fit_file, selection["runs_file"]], force)
    if fit_file is not None:
        if selection["dataset"] or selection["runs_file"]:
            raise InputError("give --fit or a dataset/runs selection, not both")
        fitted = _fit_class().load(fit_file)
    else:
        fitted = _fit_selected(_default_dataset(selection), law, SamplerSettings(seed=seed), pool)
        print(f"posterior written to {fitted.save(out.with_suffix('.nc'))}")
    _warn_unconverged(fitted.diagnostics, allow=True)
    print(f"report on the {fitted.describe()} written to {write_report(fitted, out, level=level)}")
    _warn_unconverged(fitted.diagnostics, allow_unconverged)


@app.command("allocate")
@click.argument("fit_file", type=click.Path(path_type=Path))
@click.option("--compute", "budgets", type=float, multiple=True,
              help="Budget in FLOP (repeatable): posterior of N_opt, D_opt, tokens per parameter and loss.")
@click.option("--model", "models", multiple=True,
              help="A published configuration by name (repeatable): how far it is from compute-optimal.")
@click.option("--params", type=float, multiple=True, help="N of your own run (repeatable, paired with --tokens).")
@click.option("--tokens", type=float, multiple=True, help="D of your own run (repeatable).")
@click.option("--flops-per-param-token", type=click.FloatRange(1, 100), default=6.0, show_default=True,
              help="k in C = k N D (6 for training; 1 to 100 accepted).")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9, show_default=True)
@click.option("--allow-unconverged", is_flag=True, help="Show allocations from a fit that failed its diagnostics (flagged).")
@json_flag
def allocate_command(fit_file, budgets, models, params, tokens, flops_per_param_token, level, allow_unconverged,
                     as_json) -> None:
    """Compute-optimal N and D for FLOP budgets, and the compute overhead of given (N, D), from a saved fit."""
    from scaling_forecast.allocation import allocation_table, overhead_table

    if not (budgets or models or params):
        raise InputError("give at least one --compute budget, --model, or --params with --tokens")
    budgets = queries.budgets(budgets)
    n, d = queries.points(models, params, tokens, (), None) if (models or params) else ((), ())
    fitted = _fit_class().load(fit_file)
    _warn_unconverged(fitted.diagnostics, allow_unconverged)
    k = flops_per_param_token
    a = fitted.draws.frontier().a
    exponent = {"median": float(np.median(a))} | dict(zip(("lo", "hi"), map(float, interval(a, level))))
    optimal = allocation_table(fitted.draws, budgets, level=level, flops_per_param_token=k) if len(budgets) else None
    far = overhead_table(fitted.draws, n, d, level=level, flops_per_param_token=k) if len(n) else None
    if far is not None and models:
        far.insert(0, "model", list(models) + [""] * (len(far) - len(models)))
    if as_json:
        _print_json(_fit_json(fitted, level) | {
            "flops_per_param_token": k,
            "exponent_a": exponent | {"level": level},
            "allocations": [] if optimal is None else optimal.to_dict("records"),
            "overheads": [] if far is None else far.to_dict("records"),
        })
        return
    pct = f"{level:.0%}"
    print(f"Compute-optimal allocation from the {fitted.describe()}; C = {k:g} N D FLOP; {pct} equal-tailed intervals.")
    print(f"  N_opt grows as C^a with a = {exponent['median']:.3f} [{exponent['lo']:.3f}, {exponent['hi']:.3f}]")
    for r in [] if optimal is None else optimal.itertuples():
        print(f"  C={r.compute:.3g} FLOP: N_opt {r.params_median:.3g} [{r.params_lo:.3g}, {r.params_hi:.3g}] parameters; "
              f"D_opt {r.tokens_median:.3g} [{r.tokens_lo:.3g}, {r.tokens_hi:.3g}] tokens; "
              f"{r.tokens_per_param_median:.1f} [{r.tokens_per_param_lo:.1f}, {r.tokens_per_param_hi:.1f}] tokens/parameter; "
              f"expected loss there {r.loss_median:.4f} [{r.loss_lo:.4f}, {r.loss_hi:.4f}] nats/token")
    for r in [] if far is None else far.itertuples():
        label = f"{r.model}: " if models and r.model else ""
        print(f"  {label}N={r.params:.3g}, D={r.tokens:.3g}, C={r.compute:.3g} FLOP: the optimal split reaches its "
              f"expected loss with {r.optimal_compute_median:.3g} [{r.optimal_compute_lo:.3g}, {r.optimal_compute_hi:.3g}] FLOP, "
              f"compute overhead {r.overhead_median:.2f}x [{r.overhead_lo:.2f}, {r.overhead_hi:.2f}]; at its own compute the "
              f"optimum is N_opt {r.params_opt_median:.3g} [{r.params_opt_lo:.3g}, {r.params_opt_hi:.3g}] and its loss is "
              f"{r.loss_gap_median:.4f} [{r.loss_gap_lo:.4f}, {r.loss_gap_hi:.4f}] nats/token above the optimum")
    _extrapolation_note(fitted, budgets, n, d, k)


def _extrapolation_note(fitted, budgets, params, tokens, k: float) -> None:
    """Warn when budgets or configurations lie outside the fitted runs' compute (above or below)."""
    low, high = fitted.runs["compute"].min(), fitted.runs["compute"].max()
    asked = np.asarray(list(budgets) + [k * p * t for p, t in zip(params, tokens)], float)
    distance = beyond_oom(asked, fitted.runs["compute"].to_numpy())
    if (distance > 0).any():
        print(f"warning: {int((distance > 0).sum())} of the budgets/configurations lie outside the fitted runs' "
              f"compute ({low:.3g} to {high:.3g} FLOP), by up to {distance.max():.2f} orders of magnitude; the "
              "intervals assume the law's form holds there", file=sys.stderr)


@app.command("compare")
@_selection_options
@click.option("--law", "law_names", type=click.Choice(LAW_NAMES), multiple=True,
              default=("chinchilla", "kaplan", "kaplan_e"), show_default=True, help="Laws to fit and compare (repeatable).")
@click.option("--reconcile/--no-reconcile", default=None,
              help="Also refit with non-embedding N (default: when every selected run has it).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("results/compare.html"), show_default=True,
              help="HTML report to write; the fits are saved beside it as <out>-<law>.nc.")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.8, show_default=True,
              help="Interval level (0.8 matches Hoffmann et al.'s published 10th-90th percentile intervals of a).")
@click.option("--seed", type=SEED, default=SamplerSettings.seed, show_default=True)
@click.option("--allow-unconverged", is_flag=True, help="Exit 0 even when a fit fails its diagnostics (still flagged).")
@json_flag
@force_option
def compare_command(force, law_names, reconcile, out, level, seed, allow_unconverged, as_json, **selection) -> None:
    """Fit several laws to the same runs: LOO, allocation exponent, divergence of forecasts, reconciliation."""
    from scaling_forecast.compare import comparison
    from scaling_forecast.compare_report import write_compare_report
    from scaling_forecast.reconcile import reconciliation

    check_outputs([out] + [out.with_name(f"{out.stem}-{law}.nc") for law in dict.fromkeys(law_names)],
                  [selection["runs_file"]], force)
    if selection["non_embedding"]:
        raise InputError("compare fits total parameters and, with --reconcile, non-embedding ones itself; drop --non-embedding")
    table, source, digest, chosen = _load_selected(**_default_dataset(selection))
    has_counts = chosen.apply(table)["params_nonembedding"].notna().all()
    if reconcile and not has_counts:
        raise InputError("--reconcile needs a non-embedding parameter count for every selected run "
                         "(registered datasets with it: gadre-overtraining, misfitting)")
    fit_class, sampler = _fit_class(), SamplerSettings(seed=seed)
    fits = {law: fit_class.fit(table, source=source, source_sha256=digest, law=law, selection=chosen, sampler=sampler)
            for law in dict.fromkeys(law_names)}
    nonembedding = None
    if (has_counts if reconcile is None else reconcile) and "chinchilla" in fits:
        nonembedding = fit_class.fit(table, source=source, source_sha256=digest, law="chinchilla",
                                     selection=replace(chosen, non_embedding=True), sampler=sampler)
    checked = dict(fits) | ({"chinchilla, non-embedding N": nonembedding} if nonembedding else {})
    for name, fitted in checked.items():
        if not fitted.diagnostics.converged:
            print(f"WARNING: the {name} fit did NOT converge (" + "; ".join(fitted.diagnostics.problems()) + ").",
                  file=sys.stderr)
    result = comparison(fits, level=level, reconcile=reconciliation(fits["chinchilla"], nonembedding, level)
                        if nonembedding else None)
    if nonembedding:
        result["reconciliation"]["diagnostics"] = nonembedding.diagnostics.as_dict()
    for name, fitted in fits.items():
        fitted.save(out.with_name(f"{out.stem}-{name}.nc"))
    report = write_compare_report(result, fits, out, nonembedding=nonembedding)
    if as_json:
        _print_json(result | {"report": str(report)})
    else:
        _print_comparison(result)
        print(f"report written to {report}")
    unconverged = [n for n, f in checked.items() if not f.diagnostics.converged]
    if unconverged:
        print(f"WARNING: {', '.join(unconverged)} did not converge: their numbers above are not results.", file=sys.stderr)
        if not allow_unconverged:
            sys.exit(3)


def _print_comparison(result: dict) -> None:
    pct = f"{result['level']:.0%}"
    print(f"Laws compared on {result['dataset']} ({result['runs']} runs); {pct} equal-tailed intervals.")
    print("PSIS-LOO (elpd of log loss, higher is better; difference to the best with its standard error):")
    for r in result["loo"]:
        warn = f"; {r['pareto_k_above_0.7']} runs with Pareto k > 0.7" if r["pareto_k_above_0.7"] else ""
        print(f"  {r['law']:<10} elpd {r['elpd_loo']:9.1f} (se {r['se']:.1f}); diff {r['elpd_diff']:7.1f} "
              f"(se {r['diff_se']:.1f}); p_loo {r['p_loo']:.1f}{warn}")
    print("Allocation exponent a (N_opt proportional to C^a):")
    for law, e in result["exponent_a"].items():
        print(f"  {law:<10} a {e['median']:.3f} [{e['lo']:.3f}, {e['hi']:.3f}]; P(a > 0.6) = {e['p_above_0.6']:.3f}; "
              f"P(a < 0.5) = {e['p_below_0.5']:.3f}")
    print("  published: " + "; ".join(f"{p['source']} {p['a']:g}" for p in result["published_a"]))
    print("At C = 5.76e23 FLOP (Chinchilla's budget; it used N = 70B, D = 1.4T, 20 tokens/parameter):")
    for law, r in result["chinchilla_budget"].items():
        print(f"  {law:<10} N_opt {r['params_median']:.3g} [{r['params_lo']:.3g}, {r['params_hi']:.3g}] parameters; "
              f"{r['tokens_per_param_median']:.1f} [{r['tokens_per_param_lo']:.1f}, {r['tokens_per_param_hi']:.1f}] "
              f"tokens/parameter; loss {r['loss_median']:.3f} [{r['loss_lo']:.3f}, {r['loss_hi']:.3f}] nats/token")
    for law, rows in result["divergence"].items():
        print(f"{law} vs {result['reference_law']}: ratio of N_opt ({law} / {result['reference_law']}) and difference of "
              f"optimal loss ({law} - {result['reference_law']}, nats/token):")
        for r in rows:
            q, g = r["params_opt_ratio"], r["loss_difference"]
            print(f"  C={r['compute']:.0e} FLOP: N_opt ratio {q['median']:.2f} [{q['lo']:.2f}, {q['hi']:.2f}]; "
                  f"loss difference {g['median']:+.3f} [{g['lo']:+.3f}, {g['hi']:+.3f}]")
    rec = result["reconciliation"]
    if rec:
        t, n, sh = rec["a_total_params"], rec["a_nonembedding_params"], rec["a_shift"]
        print(f"Counting non-embedding parameters: a {n['median']:.3f} [{n['lo']:.3f}, {n['hi']:.3f}] vs total "
              f"{t['median']:.3f} [{t['lo']:.3f}, {t['hi']:.3f}]; shift {sh['median']:+.3f} [{sh['lo']:+.3f}, {sh['hi']:+.3f}]")
        for r in rec["local"]:
            la = r["local_a"]
            if la["median"] is not None:
                print(f"  local exponent in Kaplan's terms at C_total={r['compute_total']:.2g} FLOP: "
                      f"{la['median']:.3f} [{la['lo']:.3f}, {la['hi']:.3f}] (Kaplan: 0.73)")


@app.command("backtest")
@click.option("--family", "families", multiple=True,
              help="Backtest only this family (repeatable; default: every registered family, see the README).")
@click.option("--gadre-eval", default="val:c4_val", show_default=True,
              help="The one validation set used for the gadre-overtraining families.")
@click.option("--holdout", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Share of each family's configurations, by compute from the top, held out (default 0.2; "
                   "1/3 with --leave-one-family-out).")
@click.option("--few-shot", "few_shot", type=click.IntRange(min=1), multiple=True,
              help="Few-shot sizes k (repeatable): the family keeps its k smallest-compute runs (default 3, 5 and 8; "
                   "5 with --leave-one-family-out, which takes one).")
@click.option("--no-few-shot", is_flag=True, help="Skip the few-shot fits.")
@click.option("--leave-one-family-out", "lofo", is_flag=True,
              help="The user's path instead: each family in turn is new, the others are the population; its runs "
                   "below the top third by compute (and, with --few-shot K, its K smallest) forecast the rest with "
                   "the pooled fit, the law fitted alone and the baseline. --holdout defaults to 1/3 here.")
@click.option("--workers", type=click.IntRange(min=1), help="Local worker processes (default: one per core).")
@click.option("--scheduler", help="A dask.distributed scheduler address (tcp://host:port) to run the fits on instead.")
@click.option("--draws", type=DRAWS, default=SamplerSettings.draws, show_default=True)
@click.option("--seed", type=SEED, default=SamplerSettings.seed, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("results/backtest.html"), show_default=True)
@click.option("--allow-unconverged", is_flag=True, help="Exit 0 even when some fits fail their diagnostics (their "
                                                       "rows are still flagged).")
@json_flag
@force_option
def backtest_command(force, families, gadre_eval, holdout, few_shot, no_few_shot, lofo, workers, scheduler, draws,
                     seed, out, allow_unconverged, as_json) -> None:
    """Hold out each family's largest runs; compare hierarchical, per-family and baseline forecasts of them."""
    from scaling_forecast import backtest as bt
    from scaling_forecast.backtest_report import write_backtest_report
    from scaling_forecast.families import load_families

    check_outputs([out], [], force)
    sampler = SamplerSettings(draws=draws, seed=seed)
    if lofo:
        if len(few_shot) > 1:
            raise InputError("--leave-one-family-out takes one --few-shot size")
        holdout = holdout or bt.LOFO_HOLDOUT
        # Every registered family forms the populations; --family chooses which are left out in turn.
        table = load_families(gadre_eval=gadre_eval)
        result = bt.leave_one_family_out(table, tuple(families), holdout=holdout, few=None if no_few_shot else (few_shot or (bt.LOFO_FEW,))[0],
                                         sampler=sampler, workers=workers, scheduler=scheduler, gadre_eval=gadre_eval)
    else:
        holdout = holdout or bt.HOLDOUT
        table = load_families(tuple(families), gadre_eval=gadre_eval)
        result = bt.backtest(table, holdout=holdout, few_shot=() if no_few_shot else tuple(few_shot or bt.FEW_SHOT),
                             sampler=sampler, workers=workers, scheduler=scheduler)
    summary = bt.pooled(result)
    report = write_backtest_report(result, summary, out, holdout=holdout, lofo=lofo)
    if as_json:
        _print_json({"holdout": holdout, "leave_one_family_out": lofo,
                     "families": result.drop(columns="errors").to_dict("records"), "pooled": summary.to_dict("records"), "report": str(report)})
    else:
        what = ("leave one family out (the other families are the population)" if lofo else
                "every family fitted together")
        print(f"Backtest, {what}: top {holdout:.0%} of each family's configurations by compute held out; median "
              "absolute and signed % error of the predictive median (signed: forecast - actual, > 0 = too high), "
              "coverage of the 50/80/95% predictive intervals, mean lpd of log loss.")
        for r in result.to_dict("records"):
            flag = "" if r["converged"] else "  NOT CONVERGED: " + r["problems"]
            print(f"  {r['family']:<18} {r['method']:<16} train {r['n_train']:>4} test {r['n_test']:>4}  "
                  f"error {r['mape']:6.2f}% signed {r['bias']:+6.2f}%  coverage {r['coverage_0.5']:.2f}/"
                  f"{r['coverage_0.8']:.2f}/{r['coverage_0.95']:.2f}  lpd {r['lpd']:6.2f}{flag}")
        print("Pooled over families:")
        for r in summary.to_dict("records"):
            print(f"  {r['method']:<16} {r['n_test']:>4} held-out runs: coverage {r['coverage_0.5']:.2f}/"
                  f"{r['coverage_0.8']:.2f}/{r['coverage_0.95']:.2f}; median % error over runs {r['mape_runs']:.2f}, "
                  f"signed {r['bias_runs']:+.2f}; median over families of the % error "
                  f"{r['mape_median_over_families']:.2f}; lpd {r['lpd']:.2f}")
        print(f"report written to {report}")
    bad = result[~result["converged"].astype(bool)]
    if not bad.empty:
        print(f"WARNING: {len(bad)} fits did not converge; their rows are flagged and are not results.", file=sys.stderr)
        if not allow_unconverged:  # the rule of every command: a flagged result exits 3
            sys.exit(3)


@app.command("datawall")
@click.option("--fit", "fit_file", type=click.Path(path_type=Path),
              help="A saved Chinchilla-law fit (from fit or report); default: fit chinchilla-epoch now "
                   "(5 highest-loss runs dropped, as Besiroglu et al.).")
@click.option("--words-per-token", type=click.FloatRange(0.1, 10),
              help="Words per token of the notable models' dataset column (default: the published 0.75).")
@click.option("--set", "fixed", multiple=True, metavar="NAME=VALUE", help="Fix a component at a value (repeatable).")
@click.option("--prior", "priors", multiple=True, metavar="NAME=LOW,HIGH[,LEVEL]",
              help="Replace a component's prior: lognormal with that central interval (repeatable).")
@click.option("--overtrain", type=click.FloatRange(1, 1000), multiple=True, default=(1.0, 5.0, 10.0), show_default=True,
              help="Tokens per parameter as a multiple of the compute-optimal ratio (repeatable).")
@click.option("--r-star", type=click.FloatRange(0.1, 1000),
              help="R*_D of the repeated-data law (default: Muennighoff et al.'s 15.4).")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.8, show_default=True,
              help="Interval level of the loss forecasts.")
@click.option("--seed", type=SEED, default=SamplerSettings.seed, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("results/datawall.html"), show_default=True)
@click.option("--allow-unconverged", is_flag=True, help="Exit 0 even when a posterior fails its diagnostics (flagged).")
@json_flag
@force_option
def datawall_command(force, fit_file, words_per_token, fixed, priors, overtrain, r_star, level, seed, out, allow_unconverged,
                     as_json) -> None:
    """When do the largest training sets exhaust the stock of human text, and what loss is reachable then?"""
    from scaling_forecast import datawall as dw
    from scaling_forecast.datawall_report import write_datawall_report

    check_outputs([out], [fit_file], force)
    components = dw.chosen_components(fixed, priors)
    words = words_per_token or dw.words_per_token()
    r_star = r_star or dw.published_r_star()
    models = dw.notable_models(words)
    if fit_file is None:
        selection = {**dict.fromkeys(("runs_file", "compute_min", "compute_max"), None), "dataset": "chinchilla-epoch",
                     "families": (), "loss_kinds": (), "drop_highest_loss": 5, "non_embedding": False}
        fitted = _fit_selected(selection, "chinchilla", SamplerSettings(seed=seed))
    else:
        fitted = _fit_class().load(fit_file)
        if fitted.attrs["law"] != "chinchilla":
            raise InputError(f"{fit_file}: holds a {fitted.attrs['law']}-law fit; the data wall needs a chinchilla-law "
                             "fit (its loss at the wall uses E + A N^-alpha + B D^-beta with repeated data)")
    posterior = dw.fit_wall(components, models, SamplerSettings(seed=seed))
    warnings = []
    for what, diagnostics in (("the law's posterior", fitted.diagnostics), ("the growth regressions", posterior.diagnostics)):
        if not diagnostics.converged:
            warnings.append(f"{what} did NOT converge ({'; '.join(diagnostics.problems())}); its numbers are not results")
    draws = dw.wall_draws(posterior, fitted.draws, r_star, seed)
    result = dw.analyse(draws, overtrain=tuple(overtrain), level=level, seed=seed)
    description = (f"Stock priors from Villalobos et al. 2024 ({', '.join(f'{n} set to {c.value:g}' for n, c in components.items() if c.value is not None) or 'as published'}); "
                   f"growth fitted to {len(models)} notable models (tokens = words / {words:g}); "
                   f"{fitted.describe()}; R*_D = {r_star:g}; {draws.size} draws.")
    report = write_datawall_report(draws, models, result, out, description=description, warnings=warnings)
    for w in warnings:
        print(f"WARNING: {w}.", file=sys.stderr)
    if as_json:
        _print_json(result | {"description": description, "words_per_token": words, "warnings": warnings,
                              "components": {n: vars(c) for n, c in components.items()}, "report": str(report)})
    else:
        _print_datawall(result, description)
        print(f"report written to {report}")
    if warnings and not allow_unconverged:
        sys.exit(3)


def _print_datawall(result: dict, description: str) -> None:
    from scaling_forecast.pages import interval_text as iv

    level = result["level"]
    stock, pub, growth = result["stock_2024"], result["published"], result["growth"]

    print(f"Data wall. {description}")
    v = pub["effective_stock"]
    print(f"Stock of usable human text in 2024, tokens ({stock['effective']['level']:.0%} intervals): unique "
          f"{iv(stock['quality_adjusted'], '.3g')}; with repetition {iv(stock['effective'], '.3g')} "
          f"(Villalobos et al.: {v['value']:.3g} [{v['low']:.3g}, {v['high']:.3g}], {v['interval']:.0%})")
    g = pub["dataset_growth_oom_per_year"]
    print(f"Growth, orders of magnitude per year (95%): training tokens {iv(growth['tokens_growth'], '.3f')} "
          f"(Villalobos et al.: {g['value']:.2f} [{g['low']:.2f}, {g['high']:.2f}]); training compute "
          f"{iv(growth['compute_growth'], '.3f')}")
    y = pub["exhaustion_year"]
    print(f"Year the largest training run's tokens reach the stock (median [80%], 50% and 90% intervals); "
          f"Villalobos et al.: {y['value']:.0f} [{y['low']:.0f}, {y['high']:.0f}] (mixture, 1x, repetition on):")
    for r in result["scenarios"]:
        k = "" if r["overtrain"] is None else f", {r['overtrain']:g}x overtrained"
        print(f"  {r['demand'].replace('_', ' ') + k:<30} repetition {'on ' if r['repetition'] else 'off'}  "
              f"{r['median']:.1f} [{r['lo_0.8']:.1f}, {r['hi_0.8']:.1f}]  50% {r['lo_0.5']:.1f}-{r['hi_0.5']:.1f}  "
              f"90% {r['lo_0.9']:.1f}-{r['hi_0.9']:.1f}  P(never) {r['p_never']:.3f}")
    print(f"Loss of the frontier run at the wall (compute trend, repetition on; Chinchilla law, nats/token, "
          f"{level:.0%} predictive; R*_D = {result['r_star']:g}):")
    for k, w in result["loss_at_wall"].items():
        print(f"  {k}x overtrained, year {w['year_median']:.1f}: N {iv(w['params'], '.3g')} parameters, "
              f"{iv(w['epochs'], '.2f')} epochs over the stock; loss with data capped {iv(w['capped'], '.4f')}, "
              f"unlimited {iv(w['unlimited'], '.4f')}; penalty {iv(w['penalty'], '.2e')}")
    print("Loss of the frontier run by year (compute trend, Chinchilla-optimal), data capped vs unlimited "
          "(penalty: capped - unlimited expected loss, same draw):")
    for year, w in result["loss_by_year"].items():
        print(f"  {year}: {iv(w['epochs'], '.2f')} epochs; capped {iv(w['capped'], '.4f')}, unlimited "
              f"{iv(w['unlimited'], '.4f')}; penalty {iv(w['penalty'], '.2e')}")
    print("Sensitivity of the exhaustion year (mixture, 1x, repetition on), each input fixed at its median:")
    for r in result["sensitivity"]:
        print(f"  {r['input']:<32} variance share {r['variance_share']:6.3f}  median {r['median']:.2f}  "
              f"80% width {r['width_0.8']:.2f} years")


def _default_dataset(selection: dict) -> dict:
    """chinchilla-epoch unless a dataset or runs file was named."""
    if selection["dataset"] or selection["runs_file"]:
        return selection
    return selection | {"dataset": "chinchilla-epoch"}


def main() -> None:
    """Entry point: what goes wrong is at most three lines on stderr, never a traceback. Bad input exits 2,
    an internal error 1 (``SCALING_FORECAST_TRACEBACK=1`` shows its traceback); text from users' files
    is printed escaped (``scaling_forecast.console``)."""
    stdout = sys.stdout
    sys.stdout = EscapingStream(stdout)
    try:
        code = app(standalone_mode=False)
    except InputError as err:
        _print_error(str(err))
        sys.exit(2)
    except OSError as err:  # a folder where a file was expected, a file that cannot be read or written
        _print_error(f"{err.filename}: {err.strerror}" if err.filename else str(err))
        sys.exit(2)
    except click.exceptions.NoArgsIsHelpError as err:  # a bare command: its help, as click shows it
        err.show()
        sys.exit(err.exit_code)
    except click.UsageError as err:
        command = err.ctx.command_path if err.ctx else "scaling-forecast"
        _print_error(f"{err.format_message()} (see '{command} -h')")
        sys.exit(err.exit_code)
    except click.ClickException as err:
        _print_error(err.format_message())
        sys.exit(err.exit_code)
    except click.Abort:
        sys.exit(130)
    except Exception as err:
        if os.environ.get("SCALING_FORECAST_TRACEBACK") == "1":
            raise
        _print_error(f"internal error ({type(err).__name__}: {err}); please report it with the command that "
                     "caused it (SCALING_FORECAST_TRACEBACK=1 shows the traceback)")
        sys.exit(1)
    finally:
        sys.stdout = stdout
    sys.exit(code if isinstance(code, int) else 0)


MAX_ERROR_LINES = 3


def _print_error(message: str) -> None:
    """``error: ...`` lines on stderr, escaped; beyond three lines, the first two and a count."""
    lines = message.splitlines() or [message]
    if len(lines) > MAX_ERROR_LINES:
        rest = len(lines) - (MAX_ERROR_LINES - 1)
        lines = lines[: MAX_ERROR_LINES - 1] + [f"... and {rest} more problems of the same input"]
    for line in lines:
        print(f"error: {escape(line)}", file=sys.stderr)
