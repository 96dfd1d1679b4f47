"""What each command does, as a function of its options: the command line parses, calls one of these and
renders what it returns (``scaling_forecast.reporting.text``); nothing here prints a result."""

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from scaling_forecast.answers import backtest as bt
from scaling_forecast.answers import data_constrained, ladders, planning
from scaling_forecast.answers import datawall as dw
from scaling_forecast.answers.allocation import allocation_table, allocation_warnings, overhead_table
from scaling_forecast.answers.compare import Comparison, comparison
from scaling_forecast.answers.datawall_answer import WallAnswer, analyse
from scaling_forecast.answers.planning import Plan
from scaling_forecast.answers.reconcile import reconciliation
from scaling_forecast.core.errors import InputError
from scaling_forecast.core.intervals import Interval
from scaling_forecast.fitting.base import Question
from scaling_forecast.fitting.fit_runs import fit_runs
from scaling_forecast.fitting.settings import RunSelection, SamplerSettings
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.inputs import runs
from scaling_forecast.inputs.families import load_families
from scaling_forecast.inputs.splits import LADDER_SIZES

DEFAULT_DATASET = "chinchilla-epoch"  # what fit-free commands (report, compare, datawall) fit when told nothing


def load_fit(path: Path, question: Question) -> ScalingLawFit:
    """A saved law fit that answers ``question``, refused in one line otherwise (a damaged file, or a kind of fit
    that does not answer it)."""
    return ScalingLawFit.load(path, question)


def load_selected(dataset, runs_file, families, loss_kinds, compute_min, compute_max, drop_highest_loss,
                  non_embedding, columns=None):
    """Runs from a dataset or CSV, with the selection the flags describe; a note on stderr names the
    CSV's columns that are kept as metadata only."""
    for flag, value in (("compute-min", compute_min), ("compute-max", compute_max)):
        if value is not None and (problem := runs.value_problem("compute", value)):
            raise InputError(f"--{flag}: {problem}")
    table, source, digest = runs.load_runs(dataset, runs_file, runs.column_map(columns))
    if extra := runs.metadata_columns(table):
        print(f"note: {source}: column{'s' if len(extra) > 1 else ''} {', '.join(extra)} kept as metadata; the fit "
              "uses params, tokens, loss (and unique_tokens, family, loss_kind where given)", file=sys.stderr)
    selection = RunSelection(tuple(families), tuple(loss_kinds), compute_min, compute_max, drop_highest_loss,
                             non_embedding)
    return table, source, digest, selection


def default_dataset(selection: dict) -> dict:
    """The selection flags, with chinchilla-epoch unless a dataset or runs file was named."""
    if selection["dataset"] or selection["runs_file"]:
        return selection
    return selection | {"dataset": DEFAULT_DATASET}


def fit_selected(selection_flags: dict, law: str, sampler: SamplerSettings, pool: bool | None = False,
                 tune: int | None = None) -> ScalingLawFit:
    """Load runs, apply the selection flags, fit ``law``: pooled with the registered families when
    ``pool`` (None: for a runs file and the chinchilla law), else alone. ``tune`` None: the kind's default."""
    table, source, digest, selection = load_selected(**selection_flags)
    return fit_runs(table, source, digest, selection, law, sampler, pool=pool,
                    own_runs=selection_flags["runs_file"] is not None, tune=tune)


@dataclass(frozen=True)
class Forecast:
    """``predict``'s answer: the fit, one row per query point, and the warnings about them."""

    fitted: ScalingLawFit
    table: pd.DataFrame
    warnings: list[str]


def predict(fitted: ScalingLawFit, n: np.ndarray, d: np.ndarray, models: tuple[str, ...], level: float) -> Forecast:
    """Forecasts of ``fitted`` at (N, D), the named ``models`` first; a warning for points outside the runs."""
    table = fitted.predict(n, d, level=level)
    if models:
        table.insert(0, "model", list(models) + [""] * (len(table) - len(models)))
    return Forecast(fitted, table, extrapolation_warnings(table))


def extrapolation_warnings(table: pd.DataFrame) -> list[str]:
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


@dataclass(frozen=True)
class Allocation:
    """``allocate``'s answer: the exponent a of N_opt ~ C^a, the optima per budget, the overheads of given
    configurations (None when not asked), and the warnings about them."""

    fitted: ScalingLawFit
    flops_per_param_token: float
    exponent: dict
    optimal: pd.DataFrame | None
    overheads: pd.DataFrame | None
    warnings: list[str]

    def table(self) -> pd.DataFrame:
        """The optima and the overheads as one table, each row's ``question`` saying which (budget or
        configuration)."""
        tables = [t.assign(question=q) for q, t in (("budget", self.optimal), ("configuration", self.overheads))
                  if t is not None]
        return pd.concat(tables, ignore_index=True)


def allocate(fitted: ScalingLawFit, budgets: np.ndarray, n, d, models: tuple[str, ...], level: float,
             flops_per_param_token: float) -> Allocation:
    """Compute-optimal N and D for ``budgets`` and how far each (N, D) is from optimal, from ``fitted``."""
    k = flops_per_param_token
    a = fitted.draws.frontier().a
    exponent = Interval.of(a, level).as_dict()
    optimal = allocation_table(fitted.draws, budgets, level=level, flops_per_param_token=k) if len(budgets) else None
    far = overhead_table(fitted.draws, n, d, level=level, flops_per_param_token=k) if len(n) else None
    if far is not None and models:
        far.insert(0, "model", list(models) + [""] * (len(far) - len(models)))
    return Allocation(fitted, k, exponent, optimal, far, allocation_warnings(fitted, budgets, n, d, k))


def plan(fitted: ScalingLawFit, params, tokens, hardware: dict, target: dict, unique: dict, level: float, seed: int,
         out: Path | None = None, force: bool = False) -> Plan:
    """``scaling-forecast plan``: the planning answers (:func:`scaling_forecast.answers.planning.plan`) and, with
    ``out``, the page (``force``: replace a file there that the product did not write)."""
    answer = planning.plan(fitted, params, tokens, hardware, target, unique, level, seed)
    if out is None:
        return answer
    from scaling_forecast.reporting.plan_page import write_plan_report  # matplotlib: on use

    return replace(answer, report=write_plan_report(fitted, answer, out, force=force))


def compare(selection: dict, law_names: tuple[str, ...], reconcile: bool | None, out: Path, level: float,
            seed: int, force: bool = False) -> tuple[Comparison, Path, dict]:
    """Fit ``law_names`` to the same runs (and, when reconciling, the chinchilla law with non-embedding N),
    save each fit beside ``out``, write the comparison page there; returns the comparison, the page and
    every fit by name (the non-embedding one included) for the diagnostics."""
    from scaling_forecast.reporting.compare_page import write_compare_report  # matplotlib: on use

    if selection["non_embedding"]:
        raise InputError("compare fits total parameters and, with --reconcile, non-embedding ones itself; drop --non-embedding")
    table, source, digest, chosen = load_selected(**default_dataset(selection))
    has_counts = chosen.apply(table)["params_nonembedding"].notna().all()
    if reconcile and not has_counts:
        raise InputError("--reconcile needs a non-embedding parameter count for every selected run "
                         "(registered datasets with it: gadre-overtraining, misfitting)")
    sampler = SamplerSettings(seed=seed)
    fits = {law: ScalingLawFit.fit(table, source=source, source_sha256=digest, law=law, selection=chosen,
                                 sampler=sampler)
            for law in dict.fromkeys(law_names)}
    nonembedding = None
    if (has_counts if reconcile is None else reconcile) and "chinchilla" in fits:
        nonembedding = ScalingLawFit.fit(table, source=source, source_sha256=digest, law="chinchilla",
                                       selection=replace(chosen, non_embedding=True), sampler=sampler)
    result = comparison(fits, level=level, reconcile=reconciliation(fits["chinchilla"], nonembedding, level)
                        if nonembedding else None)
    for name, fitted in fits.items():
        fitted.save(compare_fit_path(out, name), force=force)
    report = write_compare_report(result, fits, out, nonembedding=nonembedding, force=force)
    return result, report, dict(fits) | ({"chinchilla, non-embedding N": nonembedding} if nonembedding else {})


def compare_fit_path(out: Path, law: str) -> Path:
    """Where ``compare --out OUT`` saves the fit of ``law``."""
    return out.with_name(f"{out.stem}-{law}.nc")


def backtest(families: tuple[str, ...], gadre_eval: str, holdout: float | None, few_shot: tuple[int, ...],
             no_few_shot: bool, lofo: bool, sampler: SamplerSettings, workers: int | None,
             scheduler: str | None) -> tuple[pd.DataFrame, float]:
    """The backtest's rows (family x method) and the held-out share used: every family fitted together, or
    (``lofo``) each family as a new user's, the others its population."""
    if lofo:
        if len(few_shot) > 1:
            raise InputError("--leave-one-family-out takes one --few-shot size")
        holdout = holdout or bt.LOFO_HOLDOUT
        # Every registered family forms the populations; --family chooses which are left out in turn.
        table = load_families(gadre_eval=gadre_eval)
        methods = bt.user_path_methods(None if no_few_shot else (few_shot or (bt.LOFO_FEW,))[0])
        return bt.leave_one_family_out(table, families, methods, holdout=holdout, sampler=sampler, workers=workers,
                                       scheduler=scheduler, gadre_eval=gadre_eval), holdout
    holdout = holdout or bt.HOLDOUT
    table = load_families(families, gadre_eval=gadre_eval)
    methods = bt.in_family_methods(() if no_few_shot else tuple(few_shot or bt.FEW_SHOT))
    return bt.backtest(table, methods, holdout=holdout, sampler=sampler, workers=workers, scheduler=scheduler), holdout


def ladder_backtest(families: tuple[str, ...], gadre_eval: str, sizes: tuple[int, ...], sampler: SamplerSettings,
                    workers: int | None, scheduler: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ladder backtest's forecasts (one row per ladder, method and forecast run) and their summary by k and
    distance; every registered family forms the populations, ``families`` chooses which are cut into ladders."""
    rows = ladders.ladder_backtest(load_families(gadre_eval=gadre_eval), families, sizes or LADDER_SIZES,
                                   sampler=sampler, workers=workers, scheduler=scheduler, gadre_eval=gadre_eval)
    return rows, ladders.by_distance(rows)


@dataclass(frozen=True)
class DataWall:
    """``datawall``'s answer: the analysis, a one-line description of its inputs, the components as set,
    the words per token used, the warnings, and the page written."""

    result: WallAnswer
    description: str
    components: dict
    words_per_token: float
    warnings: list[str]
    report: Path


def datawall(fit_file: Path | None, words_per_token: float | None, fixed: tuple[str, ...], priors: tuple[str, ...],
             overtrain: tuple[float, ...], r_star: float | None, level: float, seed: int, out: Path,
             force: bool = False) -> DataWall:
    """When the largest training sets exhaust the stock of human text, and the loss reachable then, from a
    saved chinchilla-law fit (default: the law fitted to chinchilla-epoch now, 5 highest-loss runs dropped)."""
    from scaling_forecast.reporting.datawall_page import write_datawall_report  # matplotlib: on use

    components = dw.chosen_components(fixed, priors)
    words = words_per_token or dw.words_per_token()
    models = dw.notable_models(words)
    if fit_file is None:
        selection = {**dict.fromkeys(("runs_file", "compute_min", "compute_max"), None), "dataset": DEFAULT_DATASET,
                     "families": (), "loss_kinds": (), "drop_highest_loss": 5, "non_embedding": False}
        fitted = fit_selected(selection, "chinchilla", SamplerSettings(seed=seed))
    else:
        fitted = load_fit(fit_file, "plan")
        if fitted.attrs["law"] != "chinchilla":
            raise InputError(f"{fit_file}: holds a {fitted.attrs['law']}-law fit; the data wall needs a chinchilla-law "
                             "fit (its loss at the wall uses E + A N^-alpha + B D^-beta with repeated data)")
    posterior = dw.wall_posterior(components, models, SamplerSettings(seed=seed))
    warnings = [f"{what} did NOT converge ({'; '.join(diagnostics.problems())}); its numbers are not results"
                for what, diagnostics in (("the law's posterior", fitted.diagnostics),
                                          ("the growth regressions", posterior.diagnostics))
                if not diagnostics.converged]
    r_stars, said = data_constrained.r_star_draws(fitted.idata["posterior"], fitted.draws.sigma.size, seed,
                                                  r_star_d=r_star)
    draws = dw.wall_draws(posterior, fitted.draws, r_stars, said, seed)
    result = analyse(draws, overtrain=tuple(overtrain), level=level, seed=seed)
    as_set = ", ".join(f"{n} set to {c.value:g}" for n, c in components.items() if c.value is not None)
    description = (f"Stock priors from Villalobos et al. 2024 ({as_set or 'as published'}); "
                   f"growth fitted to {len(models)} notable models (tokens = words / {words:g}); "
                   f"{fitted.describe()}; {said}; {draws.size} draws.")
    report = write_datawall_report(draws, models, result, out, description=description, warnings=warnings,
                                   force=force)
    return DataWall(result, description, components, words, warnings, report)

