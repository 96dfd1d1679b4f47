"""What each command does, as a function of its options: the command line parses, calls one of these and
renders what it returns (``scaling_forecast.render``); nothing here prints a result."""

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from scaling_forecast import runs
from scaling_forecast.errors import InputError
from scaling_forecast.fit_settings import MIN_RUNS_ALONE, MIN_RUNS_POOLED, RunSelection, SamplerSettings
from scaling_forecast.intervals import Interval
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN
from scaling_forecast.predict import beyond_oom

if TYPE_CHECKING:
    from scaling_forecast.compare import Comparison
    from scaling_forecast.data_constrained import ForUniqueTokens
    from scaling_forecast.datawall_answer import WallAnswer
    from scaling_forecast.hardware import ForHardware
    from scaling_forecast.plan import ForInference, ForParams, ForTarget

DEFAULT_DATASET = "chinchilla-epoch"  # what fit-free commands (report, compare, datawall) fit when told nothing


def fit_class():
    """The fitted-law class, imported on use: PyMC and ArviZ take seconds to import, which `data`
    commands and --help should not pay."""
    from scaling_forecast.law_fit import ScalingLawFit

    return ScalingLawFit


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
                 tune: int | None = None):
    """Load runs, apply the selection flags, fit ``law``: pooled with the registered families when
    ``pool`` (None: for a runs file and the chinchilla law), else alone. ``tune`` None: the kind's default."""
    if pool is None:
        pool = selection_flags["runs_file"] is not None and law == "chinchilla"
    elif pool and selection_flags["runs_file"] is None:
        raise InputError("--pool is for your own runs (--runs FILE): the registered datasets are the population")
    elif pool and law != "chinchilla":
        raise InputError(f"--pool fits the chinchilla law; drop --pool to fit the {law} law alone")
    table, source, digest, selection = load_selected(**selection_flags)
    return fit_table(table, source, digest, selection, law, sampler, pool, tune)


def fit_table(table: pd.DataFrame, source: str, digest: str, selection: RunSelection, law: str,
              sampler: SamplerSettings, pool: bool, tune: int | None = None, progress: bool | None = None):
    """Fit ``law`` to the ``selection`` of a run table, pooled with the registered families or alone (the
    command line's fits and the Python API's ``fit`` both come here)."""
    # Checked here, before a pooled fit loads (or builds) its population.
    chosen = selection.apply(table, minimum=MIN_RUNS_POOLED if pool else MIN_RUNS_ALONE)
    if warning := runs.rising_loss(chosen):
        print(f"warning: {warning}", file=sys.stderr)
    if not pool:
        sampler = sampler if tune is None else replace(sampler, tune=tune)
        return fit_class().fit(table, source=source, source_sha256=digest, law=law, selection=selection,
                               sampler=sampler, progress=progress)
    from scaling_forecast.pooled import SAMPLER, PooledFit, load_population

    sampler = replace(SAMPLER, draws=sampler.draws, chains=sampler.chains, seed=sampler.seed,
                      tune=SAMPLER.tune if tune is None else tune)
    return PooledFit.fit(table, source=source, source_sha256=digest, population=load_population(),
                         selection=selection, sampler=sampler, progress=progress)


@dataclass(frozen=True)
class Forecast:
    """``predict``'s answer: the fit, one row per query point, and the warnings about them."""

    fitted: object
    table: pd.DataFrame
    warnings: list[str]


def predict(fitted, n, d, models: tuple[str, ...], level: float) -> Forecast:
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

    fitted: object
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


def allocate(fitted, budgets: np.ndarray, n, d, models: tuple[str, ...], level: float,
             flops_per_param_token: float) -> Allocation:
    """Compute-optimal N and D for ``budgets`` and how far each (N, D) is from optimal, from ``fitted``."""
    from scaling_forecast.allocation import allocation_table, overhead_table

    k = flops_per_param_token
    a = fitted.draws.frontier().a
    exponent = Interval.of(a, level).as_dict()
    optimal = allocation_table(fitted.draws, budgets, level=level, flops_per_param_token=k) if len(budgets) else None
    far = overhead_table(fitted.draws, n, d, level=level, flops_per_param_token=k) if len(n) else None
    if far is not None and models:
        far.insert(0, "model", list(models) + [""] * (len(far) - len(models)))
    return Allocation(fitted, k, exponent, optimal, far, allocation_warnings(fitted, budgets, n, d, k))


def allocation_warnings(fitted, budgets, params, tokens, k: float) -> list[str]:
    """A warning when budgets or configurations lie outside the fitted runs' compute (above or below)."""
    low, high = fitted.runs["compute"].min(), fitted.runs["compute"].max()
    asked = np.asarray(list(budgets) + [k * p * t for p, t in zip(params, tokens)], float)
    distance = beyond_oom(asked, fitted.runs["compute"].to_numpy())
    if not (distance > 0).any():
        return []
    return [f"{int((distance > 0).sum())} of the budgets/configurations lie outside the fitted runs' "
            f"compute ({low:.3g} to {high:.3g} FLOP), by up to {distance.max():.2f} orders of magnitude; the "
            "intervals assume the law's form holds there"]


@dataclass(frozen=True)
class Plan:
    """``plan``'s answers from one fit (``source`` says which law and data), at interval ``level``."""

    source: str
    level: float
    for_params: list["ForParams"]
    hardware: "ForHardware | None"
    training_days: list[dict]  # params, tokens and days (an Interval) per configuration
    targets: list["ForTarget"]
    inference: list["ForInference"]
    unique_tokens: list["ForUniqueTokens"]
    r_stars: str | None  # where the data-constrained answers' R*_D and R*_N come from
    warnings: list[str]
    report: Path | None = None  # the HTML page, when one was asked for


def plan(fitted, params, tokens, hardware: dict, target: dict, unique: dict, level: float, seed: int,
         out: Path | None = None) -> Plan:
    """The planning questions of ``scaling-forecast plan``: given N (``params`` without ``tokens``), given
    hardware (``hardware``: gpus, gpu, days, mfu), the days to train each (N, D) on it (``params`` with
    ``tokens``), given a target loss (``target``: losses, probabilities, and inference_tokens for the
    inference-aware optimum), and given unique tokens (``unique``: tokens, compute); with ``out``, the page too."""
    from scaling_forecast import data_constrained
    from scaling_forecast import hardware as chips
    from scaling_forecast import plan as questions

    draws = fitted.draws
    chip = chips.accelerator(hardware["gpu"]) if hardware.get("gpu") else None
    if (hardware.get("gpus") is not None or hardware.get("days") is not None) and chip is None:
        raise InputError("--gpus and --days need --gpu (the accelerator)")
    afford = None
    if chip is not None and hardware.get("days") is not None:
        if hardware.get("gpus") is None:
            raise InputError("--gpu with --days needs --gpus (how many)")
        (afford,) = chips.for_hardware(draws, chip, hardware["gpus"], hardware["days"], mfu=hardware.get("mfu"),
                                       level=level, seed=seed)
    days = []
    if tokens:
        if chip is None or hardware.get("gpus") is None:
            raise InputError("--tokens with --params asks how long training takes: give --gpus and --gpu too")
        if len(tokens) != len(params):
            raise InputError(f"--tokens: {len(tokens)} values for {len(params)} --params; give one D per N")
        spans = chips.training_days(chip, hardware["gpus"], params, tokens, mfu=hardware.get("mfu"), level=level,
                                    seed=seed)
        days = [{"params": n, "tokens": d, "days": span} for n, d, span in zip(params, tokens, spans)]
    given_n = questions.for_params(draws, params, level=level, seed=seed) if params and not tokens else []
    targets = target["losses"]
    reached = questions.for_target(draws, targets, probabilities=target["probabilities"] or questions.PROBABILITIES,
                                   level=level) if targets else []
    if target["inference_tokens"] is not None and not targets:
        raise InputError("--inference-tokens asks for the cheapest run to a loss: give --target-loss too")
    inference = questions.for_inference(draws, targets, target["inference_tokens"], level=level) \
        if target["inference_tokens"] is not None else []
    limited, r_stars = [], None
    if unique.get("tokens"):
        draws_r, r_stars = data_constrained.r_star_draws(fitted.idata["posterior"], draws.sigma.size, seed)
        limited = data_constrained.for_unique_tokens(draws, unique["tokens"], unique.get("compute"),
                                                     r_star_d=draws_r["R_star_D"], r_star_n=draws_r["R_star_N"],
                                                     level=level, seed=seed)
    elif unique.get("compute") is not None:
        raise InputError("--compute in plan is the budget of the data-constrained optimum: give --unique-tokens too")
    asked = [a.compute.median for a in given_n] + ([afford.compute.median] if afford else [])
    asked += [r.compute for t in reached for r in t.reach.values() if r is not None]
    asked += [u.compute_without_repeats.median for u in limited] + [u.budget for u in limited if u.budget is not None]
    warnings = allocation_warnings(fitted, asked, (), (), FLOP_PER_PARAM_TOKEN)
    if targets and draws.departure is not None:
        warnings.append("the compute to a target loss (and the inference-aware run) is found on the law's expected "
                        "loss, without the departure from the law along compute that this pooled fit's other answers "
                        "and its forecasts carry")
    answer = Plan(fitted.describe(), level, given_n, afford, days, reached, inference, limited, r_stars, warnings)
    if out is None:
        return answer
    from scaling_forecast.reporting.plan_page import write_plan_report

    return replace(answer, report=write_plan_report(fitted, answer, out))


def compare(selection: dict, law_names: tuple[str, ...], reconcile: bool | None, out: Path, level: float,
            seed: int) -> tuple["Comparison", Path, dict]:
    """Fit ``law_names`` to the same runs (and, when reconciling, the chinchilla law with non-embedding N),
    save each fit beside ``out``, write the comparison page there; returns the comparison, the page and
    every fit by name (the non-embedding one included) for the diagnostics."""
    from scaling_forecast.compare import comparison
    from scaling_forecast.reconcile import reconciliation
    from scaling_forecast.reporting.compare_page import write_compare_report

    if selection["non_embedding"]:
        raise InputError("compare fits total parameters and, with --reconcile, non-embedding ones itself; drop --non-embedding")
    table, source, digest, chosen = load_selected(**default_dataset(selection))
    has_counts = chosen.apply(table)["params_nonembedding"].notna().all()
    if reconcile and not has_counts:
        raise InputError("--reconcile needs a non-embedding parameter count for every selected run "
                         "(registered datasets with it: gadre-overtraining, misfitting)")
    sampler = SamplerSettings(seed=seed)
    fits = {law: fit_class().fit(table, source=source, source_sha256=digest, law=law, selection=chosen,
                                 sampler=sampler)
            for law in dict.fromkeys(law_names)}
    nonembedding = None
    if (has_counts if reconcile is None else reconcile) and "chinchilla" in fits:
        nonembedding = fit_class().fit(table, source=source, source_sha256=digest, law="chinchilla",
                                       selection=replace(chosen, non_embedding=True), sampler=sampler)
    result = comparison(fits, level=level, reconcile=reconciliation(fits["chinchilla"], nonembedding, level)
                        if nonembedding else None)
    for name, fitted in fits.items():
        fitted.save(compare_fit_path(out, name))
    report = write_compare_report(result, fits, out, nonembedding=nonembedding)
    return result, report, dict(fits) | ({"chinchilla, non-embedding N": nonembedding} if nonembedding else {})


def compare_fit_path(out: Path, law: str) -> Path:
    """Where ``compare --out OUT`` saves the fit of ``law``."""
    return out.with_name(f"{out.stem}-{law}.nc")


def backtest(families: tuple[str, ...], gadre_eval: str, holdout: float | None, few_shot: tuple[int, ...],
             no_few_shot: bool, lofo: bool, sampler: SamplerSettings, workers: int | None,
             scheduler: str | None) -> tuple[pd.DataFrame, float]:
    """The backtest's rows (family x method) and the held-out share used: every family fitted together, or
    (``lofo``) each family as a new user's, the others its population."""
    from scaling_forecast import backtest as bt
    from scaling_forecast.families import load_families

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


@dataclass(frozen=True)
class DataWall:
    """``datawall``'s answer: the analysis, a one-line description of its inputs, the components as set,
    the words per token used, the warnings, and the page written."""

    result: "WallAnswer"
    description: str
    components: dict
    words_per_token: float
    warnings: list[str]
    report: Path


def datawall(fit_file: Path | None, words_per_token: float | None, fixed: tuple[str, ...], priors: tuple[str, ...],
             overtrain: tuple[float, ...], r_star: float | None, level: float, seed: int, out: Path) -> DataWall:
    """When the largest training sets exhaust the stock of human text, and the loss reachable then, from a
    saved chinchilla-law fit (default: the law fitted to chinchilla-epoch now, 5 highest-loss runs dropped)."""
    from scaling_forecast import data_constrained
    from scaling_forecast import datawall as dw
    from scaling_forecast.datawall_answer import analyse
    from scaling_forecast.reporting.datawall_page import write_datawall_report

    components = dw.chosen_components(fixed, priors)
    words = words_per_token or dw.words_per_token()
    models = dw.notable_models(words)
    if fit_file is None:
        selection = {**dict.fromkeys(("runs_file", "compute_min", "compute_max"), None), "dataset": DEFAULT_DATASET,
                     "families": (), "loss_kinds": (), "drop_highest_loss": 5, "non_embedding": False}
        fitted = fit_selected(selection, "chinchilla", SamplerSettings(seed=seed))
    else:
        fitted = fit_class().load(fit_file)
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
    report = write_datawall_report(draws, models, result, out, description=description, warnings=warnings)
    return DataWall(result, description, components, words, warnings, report)

