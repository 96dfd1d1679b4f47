# pyright: strict, reportUnknownMemberType=false, reportUnknownArgumentType=false, reportUnknownVariableType=false, reportUnknownLambdaType=false, reportMissingTypeStubs=false
"""A user's runs fitted as one more family within the population of registered families.

The population (``scaling_forecast.fitting.population``) is built here on first use: the hierarchical model fitted to
the registered families, and the law's extrapolation error learned from how each of them, fitted the user's
way below its top third of compute, forecast that third. A user's runs are then fitted alone under the
population's prior (:class:`PooledFit`), with their own extrapolation slope where they have enough runs.
"""

import functools
import json
import sys
import warnings
from dataclasses import asdict, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from scaling_forecast.core.errors import InputError
from scaling_forecast.fitting.base import Values
from scaling_forecast.fitting.diagnostics import Diagnostics, Flagged, diagnose
from scaling_forecast.fitting.draws import LawDraws, departure
from scaling_forecast.fitting.hierarchical import SAMPLER as POPULATION_SAMPLER
from scaling_forecast.fitting.hierarchical import HierarchicalFit
from scaling_forecast.fitting.population import (
    EXTRAPOLATION_HOLDOUT,
    EXTRAPOLATION_SAMPLER,
    Population,
    population_path,
    population_prior,
    registered_provenance,
    save_population,
    slope_posterior,
)
from scaling_forecast.fitting.predictive import Predictive
from scaling_forecast.fitting.sampling import quiet_pymc, sample
from scaling_forecast.fitting.savedfit import stamp
from scaling_forecast.fitting.settings import MIN_RUNS_POOLED, RunSelection, SamplerSettings
from scaling_forecast.fitting.single import Pooling, ScalingLawFit, run_groups
from scaling_forecast.inputs.families import configurations, load_families
from scaling_forecast.inputs.runs import compute_of
from scaling_forecast.inputs.splits import split
from scaling_forecast.models.drift import compute_bins
from scaling_forecast.models.law_registry import LAWS
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN, effective_log_tokens
from scaling_forecast.models.priors import FAMILY_CONSTANTS

POOLED_FORMAT = 3  # the layout of a saved pooled fit (2: the family's own slope; 3: its own noise tails); another format is refused on load
# The hierarchical fit's tuning and step-size target: the family model is a slice of it, with the same
# drift process (every pooled fit in the leave-one-family-out backtest converged with these).
SAMPLER = SamplerSettings(tune=1000, target_accept=0.95)


def fit_population(runs: pd.DataFrame, *, progress: bool | None = None) -> HierarchicalFit:
    """The hierarchical model on every family of ``runs``; refitted once with twice the tuning and draws
    when the first fit misses the diagnostics (the population is built once, so robustness is cheap)."""
    fitted = HierarchicalFit.fit(runs, progress=progress)
    if fitted.diagnostics.converged:
        return fitted
    longer = replace(POPULATION_SAMPLER, tune=2 * POPULATION_SAMPLER.tune, draws=2 * POPULATION_SAMPLER.draws)
    print(f"The population fit missed its diagnostics ({'; '.join(fitted.diagnostics.problems())}); "
          "refitting with twice the tuning and draws", file=sys.stderr)
    return HierarchicalFit.fit(runs, sampler=longer, progress=progress)


def population_from_fit(fitted: HierarchicalFit, provenance: dict[str, Any], runs: pd.DataFrame | None = None) -> Population:
    """Summarise a hierarchical fit of the registered families as a population prior; with ``runs`` (the
    families' runs) also learn how forecasts err beyond the data (:func:`learn_extrapolation`)."""
    population = Population(population_prior(fitted), provenance,
                            fitted.diagnostics.as_dict() | {"problems": fitted.diagnostics.problems()})
    return population if runs is None else learn_extrapolation(population, runs)


def extrapolation_errors(runs: pd.DataFrame, population: Population, *, sampler: SamplerSettings = SAMPLER,
                         holdout: float = EXTRAPOLATION_HOLDOUT) -> pd.DataFrame:
    """The user's path on one family: fitted pooled below its top ``holdout`` of compute, its errors above.

    One row per held-out run: ``error`` (observed log loss minus the forecast's median), ``decades`` of
    compute beyond the largest fitted run, ``scale`` (half the forecast's central 68% interval of log
    loss), and whether the fit converged.
    """
    family = runs["family"].iloc[0]
    train, test = split(runs, holdout)
    fitted = PooledFit.sample_family(train, source=family, source_sha256="-", population=population,
                                   selection=RunSelection(), sampler=sampler, progress=False)
    samples = fitted.predictive(test["params"], test["tokens"], test["unique_tokens"].fillna(test["tokens"]),
                                seed=sampler.seed).samples(sampler.seed)
    low, median, high = np.quantile(samples, [0.158655, 0.5, 0.841345], axis=1)
    return pd.DataFrame({
        "family": family, "error": np.log(test["loss"].to_numpy()) - median, "scale": (high - low) / 2,
        "decades": np.log10(compute_of(test).to_numpy() / compute_of(train).max()),
        "converged": fitted.diagnostics.converged, "problems": "; ".join(fitted.diagnostics.problems()),
    })


def learn_extrapolation(population: Population, runs: pd.DataFrame) -> Population:
    """Fit ``extrapolation_model`` to every family's errors on the user's path and add its slope to the prior.

    A new family's slope is drawn from the population of slopes: its mean and sd over posterior draws
    (mean + spread x N(0, 1)) become the prior's ``extrapolation``.
    """
    errors = pd.concat([extrapolation_errors(own, population) for _, own in runs.groupby("family", sort=False)],
                       ignore_index=True)
    return with_extrapolation(population, errors)


def with_extrapolation(population: Population, errors: pd.DataFrame) -> Population:
    """``population`` with the extrapolation model fitted to ``errors`` (from :func:`extrapolation_errors`).

    A family whose fit below its top third missed its diagnostics (after sampling again) is left out of the
    model and named in the record: an unconverged posterior is no evidence (as for a family's own slope), and
    one messy family must not flag every fit that uses the population. Only when none is left is it a problem.
    """
    import nutpie  # here, as PyMC is: forecasting from a saved fit needs neither

    from scaling_forecast.models.hierarchical import extrapolation_model  # PyMC: only when fitting

    unconverged = errors.loc[~errors["converged"], ["family", "problems"]].drop_duplicates()
    if errors["converged"].any():
        errors = errors[errors["converged"]]
    families = list(dict.fromkeys(errors["family"]))
    model = extrapolation_model(errors["error"].to_numpy(), errors["decades"].to_numpy(), errors["scale"].to_numpy(),
                                errors["family"].map({f: i for i, f in enumerate(families)}).to_numpy(),
                                families=families)
    idata = sample(nutpie.compile_pymc_model(model), EXTRAPOLATION_SAMPLER, progress=False)
    post = idata["posterior"].to_dataset()
    mean, spread = (post[name].to_numpy().reshape(-1) for name in ("slope_mu", "slope_spread"))
    new = mean + spread * np.random.default_rng(0).standard_normal(mean.size)
    diagnostics = diagnose(idata, ["slope_mu", "slope_spread", "slope_z"])
    left_out = {r.family: r.problems for r in unconverged.itertuples()}
    problems = (list(population.diagnostics["problems"])
                + [f"extrapolation model: {p}" for p in diagnostics.problems()]
                + ([f"pooled fit of {family} below its top third: {why}" for family, why in left_out.items()]
                   if not errors["converged"].any() else []))
    slopes = post["slope"].median(("chain", "draw")).to_series()
    evidence = {
        "holdout": EXTRAPOLATION_HOLDOUT,
        "runs": int(len(errors)),
        "slope_mu": [float(np.quantile(mean, q)) for q in (0.05, 0.5, 0.95)],
        "slope_spread": [float(np.quantile(spread, q)) for q in (0.05, 0.5, 0.95)],
        "families": {f: {"slope_median": float(slopes[f]), "runs": int((errors["family"] == f).sum()),
                         "median_signed_error_percent": float(100 * np.median(np.expm1(-errors.loc[errors["family"] == f, "error"]))),
                         "max_decades": float(errors.loc[errors["family"] == f, "decades"].max())}
                     for f in families},
        "diagnostics": diagnostics.as_dict(),
        "left_out": {family: f"its fit below its top third missed its diagnostics ({why})"
                     for family, why in left_out.items()},
        "errors": errors[["family", "error", "scale", "decades"]].to_dict("list"),
    }
    prior = replace(population.prior, extrapolation=(float(new.mean()), float(new.std())),
                    extrapolation_reach=float(errors["decades"].max()))
    return Population(prior, population.provenance,
                      population.diagnostics | {"converged": not problems, "problems": problems,
                                                "extrapolation": evidence})


def load_population(families: tuple[str, ...] = (), *, gadre_eval: str | None = None,
                    progress: bool | None = None) -> Population:
    """The population of the registered ``families`` (default: all), from the user cache or built now.

    Building fits the hierarchical model once (a minute or two on 2 cores) and writes
    ``<cache>/population/<key>.json``; the key changes with the package version, the datasets'
    hashes, the families, the priors and the sampler, so a stale file is never read.
    """
    provenance = registered_provenance(families, gadre_eval)
    path = population_path(provenance)
    if path.is_file():
        try:
            population = Population.from_dict(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError) as err:
            raise InputError(f"{path}: unreadable population cache ({err}); delete it to rebuild") from None
        if population.provenance != provenance:
            raise InputError(f"{path}: population cache does not match its key; delete it to rebuild")
        if problem := population.problem():
            raise InputError(f"{path}: population cache is damaged ({problem}); delete it to rebuild")
        return population
    print(f"Building the population prior from {len(provenance['families'])} registered run families "
          f"(once per version; a few minutes on 2 cores) into {path}", file=sys.stderr)
    runs = load_families(tuple(provenance["families"]), gadre_eval=provenance["gadre_eval"])
    population = population_from_fit(fit_population(runs, progress=progress), provenance, runs)
    save_population(population)
    return population


class PooledFit(ScalingLawFit):
    """The Chinchilla law fitted to one family's runs under a population prior, with the law's departure.

    Answers every question a :class:`ScalingLawFit` does (it is one, of kind ``pooled``); its forecasts
    add the family's departure from the law along compute, which widens beyond the fitted runs.
    """

    kind: ClassVar[str] = "pooled"
    samples_law: ClassVar[bool] = False  # the family model samples the population's constants instead

    @classmethod
    def fit(cls, runs: pd.DataFrame, *, source: str, source_sha256: str, population: Population,  # pyright: ignore[reportIncompatibleMethodOverride]: a family is fitted under its population, not a law's priors
            selection: RunSelection = RunSelection(), sampler: SamplerSettings = SAMPLER,
            progress: bool | None = None) -> "PooledFit":
        """Fit the selected ``runs`` (one family, at least 3 runs) under ``population``'s prior.

        With at least ``OWN_SLOPE_MIN_RUNS`` runs, the family's extrapolation slope is also updated by how
        a fit of its runs below their top quarter of compute forecast that quarter (:func:`own_slope`).
        """
        chosen = selection.apply(runs, minimum=MIN_RUNS_POOLED)
        if chosen["family"].nunique() > 1:
            raise InputError(f"a pooled fit takes one family of runs; the selection has {sorted(chosen['family'].unique())}: "
                             "choose one with {families}", parameters=("families",))
        fitted = cls.sample_family(chosen, source=source, source_sha256=source_sha256, population=population,
                                 selection=selection, sampler=sampler, progress=progress, predictive=True)
        fitted.idata.attrs["own_slope"] = json.dumps(own_slope(chosen, population, sampler))
        fitted.idata.attrs["diagnostics"] = json.dumps(fitted.diagnostics.as_dict())
        return fitted

    @classmethod
    def sample_family(cls, chosen: pd.DataFrame, *, source: str, source_sha256: str, population: Population,
                      selection: RunSelection, sampler: SamplerSettings, progress: bool | None,
                      predictive: bool = False) -> "PooledFit":  # predictive: ArviZ's groups (the user's fit only)
        """The family model on ``chosen`` under ``population``; sampled once more, with twice the tuning and
        draws, when the first posterior misses the diagnostics.

        The last resort the README names: with a handful of runs at one tokens-per-parameter ratio the floor,
        the D term and its exponent trade off along a curved ridge that the low-rank mass matrix cannot
        straighten, and R-hat lands just above its threshold on some seeds; twice the draws settle it. The
        second run is said on stderr and recorded in the fit (``resampled``); its own diagnostics stand.
        """
        fitted = cls._sample_once(chosen, source=source, source_sha256=source_sha256, population=population,
                                  selection=selection, sampler=sampler, progress=progress, predictive=predictive)
        own = fitted.own_diagnostics  # a flagged population is not helped by sampling the family again
        if own.converged:
            return fitted
        problems = "; ".join(own.problems())
        longer = replace(sampler, tune=2 * sampler.tune, draws=2 * sampler.draws)
        print(f"note: the pooled fit of {source} missed its diagnostics ({problems}); sampling again with "
              f"{longer.tune} tuning steps and {longer.draws} draws per chain", file=sys.stderr)
        fitted = cls._sample_once(chosen, source=source, source_sha256=source_sha256, population=population,
                                  selection=selection, sampler=longer, progress=progress, predictive=predictive)
        fitted.idata.attrs["resampled"] = f"first posterior ({sampler.tune} tuning steps, {sampler.draws} draws): {problems}"
        return fitted

    @classmethod
    def _sample_once(cls, chosen: pd.DataFrame, *, source: str, source_sha256: str, population: Population,
                     selection: RunSelection, sampler: SamplerSettings, progress: bool | None,
                     predictive: bool) -> "PooledFit":
        import nutpie  # here, as PyMC is: forecasting from a saved fit needs neither

        from scaling_forecast.models.hierarchical import family_model  # PyMC: only when fitting

        configs = configurations(chosen)
        model = family_model(
            configs["params"].to_numpy(), configs["tokens"].to_numpy(), configs["unique_tokens"].to_numpy(),
            configs["mean_log_loss"].to_numpy(), configs["seeds"].to_numpy(), configs["within_ss"].to_numpy(),
            configs["compute"].to_numpy(), population=population.prior,
        )
        idata = sample(nutpie.compile_pymc_model(model), sampler, progress)
        groups = run_groups(chosen)
        if predictive:
            groups |= _configuration_predictive(idata, model, sampler.seed, groups["observed_data"])
        for group, data in groups.items():
            idata[group] = xr.DataTree(data)
        _, _, bin_log10c = compute_bins(configs["compute"].to_numpy(), np.zeros(len(configs), int))
        law = LAWS["chinchilla"]
        stamp(idata, cls.kind)
        idata.attrs.update(
            law=law.name,
            law_formula=law.formula,
            dataset=source,
            dataset_sha256=source_sha256,
            selection=json.dumps(asdict(selection)),
            priors=json.dumps(asdict(population.prior)),
            population=json.dumps({"key": population.key} | population.provenance
                                  | {"diagnostics": population.diagnostics}),
            bin_log10_compute=json.dumps(bin_log10c.tolist()),
            free_vars=json.dumps([rv.name for rv in model.free_RVs]),
            sampler=json.dumps(asdict(sampler)),
            seed=sampler.seed,
            pooled_format=POOLED_FORMAT,
        )
        return cls(idata)

    @classmethod
    def problem(cls, idata: xr.DataTree) -> str | None:
        """A law fit's checks, then a pooled fit's own: its format, and the population and departure it holds."""
        if problem := super().problem(idata):
            return problem
        written = idata.attrs.get("pooled_format")
        if written != POOLED_FORMAT:
            return (f"a pooled fit of format {written} (scaling-forecast {idata.attrs.get('package_version', '?')}); "
                    f"this version reads format {POOLED_FORMAT}: fit the runs again")
        missing = [name for name in ("priors", "population", "bin_log10_compute", "free_vars", "own_slope")
                   if name not in idata.attrs]
        missing += [name for name in ("drift_offset", "drift", "R_star_D") if name not in idata["posterior"].data_vars]
        return f"not a complete pooled fit (missing {', '.join(missing)})" if missing else None

    @property
    def pooling(self) -> Pooling:
        return Pooling(self.population, self.contraction(), self.own_slope)

    @property
    def free_vars(self) -> tuple[str, ...]:
        return tuple(json.loads(self.attrs["free_vars"]))

    @functools.cached_property
    def population(self) -> dict[str, Any]:
        """The population this family was pooled with: key, families, datasets, its fit's diagnostics."""
        return json.loads(self.attrs["population"])

    @functools.cached_property
    def own_diagnostics(self) -> Diagnostics:
        """This family's posterior's own diagnostics, apart from its population's (computed once: the second
        sampling's check and :meth:`diagnose` share it)."""
        return super().diagnose()

    def diagnose(self) -> Diagnostics:
        """This fit's diagnostics; a population that failed its own makes the result unconverged too."""
        own = self.own_diagnostics
        problems = () if self.population["diagnostics"]["converged"] else tuple(
            f"population fit: {p}" for p in self.population["diagnostics"]["problems"])
        if not problems:
            return own
        return Flagged(**{k: getattr(own, k) for k in own.__dataclass_fields__}, other_problems=problems)

    @functools.cached_property
    def slope(self) -> tuple[float, float]:
        """Mean and sd of this family's extrapolation slope (log loss per decade of compute beyond its largest
        run): the population's, updated by the family's own evidence where :func:`own_slope` found some; for a
        handful of runs (:attr:`few_runs`) without the population's mean."""
        own = self.own_slope
        mean, sd = own["posterior"] if "posterior" in own else json.loads(self.attrs["priors"])["extrapolation"]
        return (0.0 if self.few_runs else float(mean)), float(sd)

    @property
    def few_runs(self) -> bool:
        """Whether the fit was a ladder of at most ``FEW_RUNS_MAX`` configurations, whose forecasts the population's
        mean slope makes worse (README, "backtest --ladders"): decided when fitting and kept in the fit
        (:func:`own_slope`), so a saved fit forecasts the same under later versions."""
        return self.own_slope.get("average_applied") is False

    @functools.cached_property
    def own_slope(self) -> dict[str, Any]:
        """What the family's own runs said about its extrapolation slope (:func:`own_slope`)."""
        return json.loads(self.attrs.get("own_slope", "{}"))

    def interval_note(self) -> str:
        priors = json.loads(self.attrs["priors"])
        (mean, sd), reach = self.slope, priors.get("extrapolation_reach")
        if self.few_runs:
            return ("intervals hold the law's parameter uncertainty, its departure along compute and, beyond the largest "
                    f"fitted run, its extrapolation error learned from the registered families (spread {100 * sd:.2f}% "
                    f"of the loss per decade of compute; with {FEW_RUNS_MAX} or fewer configurations the forecast is "
                    "not shifted by that error's average, which was learned from fits of dozens of runs and made "
                    "ladders' forecasts worse in the ladder backtest)")
        limit = "" if reach is None else f", the average carried up to {reach:.1f} decades, as far as it was learned"
        source = ("learned from the registered families and updated by this family's own top quarter of runs"
                  if "posterior" in self.own_slope else "learned from the registered families")
        return ("intervals hold the law's parameter uncertainty, its departure along compute and, beyond the largest "
                f"fitted run, its extrapolation error {source} ({100 * mean:+.2f}% of the loss per decade of compute "
                f"on average, spread {100 * sd:.2f}% per decade{limit})")

    def describe(self) -> str:
        return (f"{super().describe()}, pooled with the population of {len(self.population['families'])} "
                f"registered run families")

    def predictive(self, params: Values, tokens: Values, unique_tokens: Values | None = None, *, family: str | None = None,
                   seed: int = 0) -> Predictive:
        """A new run's log loss at each (N, D), with D counted as Muennighoff's effective tokens when
        ``unique_tokens`` (U < D) says the data repeat, and the departure at the run's compute."""
        if unique_tokens is None:
            return super().predictive(params, tokens, seed=seed)
        draws = self.draws
        log_n, log_d = np.log(np.asarray(params, float)), np.log(np.asarray(tokens, float))
        log_u = np.minimum(np.log(np.asarray(unique_tokens, float)), log_d)
        r_star = self.idata["posterior"]["R_star_D"].to_numpy().reshape(-1)
        log_d_eff = effective_log_tokens(log_d[:, None], log_u[:, None], r_star)
        mu = np.log(draws.law.loss(log_n[:, None], log_d_eff, draws.values))
        log10_compute = np.log10(FLOP_PER_PARAM_TOKEN) + (log_n + log_d) / np.log(10)
        return Predictive(mu + draws.departure(log10_compute, seed), draws.sigma, draws.nu)

    def contraction(self) -> dict[str, float]:
        """How much the family's own runs narrowed the population's prior, per constant: 1 - posterior
        variance / prior variance (0: all from the population; near 1: all from the runs)."""
        post = self.idata["posterior"].to_dataset()
        prior_var = np.diag(np.asarray(json.loads(self.attrs["priors"])["cov"]))
        return {name: float(1 - post[name].to_numpy().var() / var) for name, var in zip(FAMILY_CONSTANTS, prior_var)}

    @functools.cached_property
    def draws(self) -> LawDraws:
        """Posterior draws of the family's law, with its departure from the law along compute."""
        law_draws = super().draws
        post = self.idata["posterior"].to_dataset()
        offsets = post["drift_offset"].to_numpy().reshape(-1, post.sizes["bin"])
        sd = post["drift"].to_numpy().reshape(-1)
        bin_log10c = np.asarray(json.loads(self.attrs["bin_log10_compute"]))
        priors = json.loads(self.attrs["priors"])
        length, (slope_mean, slope_sd) = priors["drift_length"], self.slope
        reach = priors.get("extrapolation_reach")  # absent from fits saved before it was learned: no limit
        top = np.log10(self.runs["compute"].max())

        def total(log10c: np.ndarray, seed: int) -> np.ndarray:
            # The law's error beyond the data: a slope per draw, times the decades past the largest run. The
            # slope's mean (the systematic part) was learned up to `reach` decades out and is not carried
            # further; its spread keeps growing with distance.
            spread = slope_sd * np.random.default_rng([seed, 2]).standard_normal(sd.size)
            beyond = np.maximum(np.asarray(log10c, float) - top, 0.0)[:, None]
            systematic = slope_mean * (beyond if reach is None else np.minimum(beyond, reach))
            return departure(offsets, bin_log10c, sd, length, log10c, seed) + systematic + beyond * spread

        return LawDraws(law_draws.law, law_draws.values, law_draws.sigma, law_draws.nu, total)


def _configuration_predictive(idata: xr.DataTree, model: Any, seed: int, observed: xr.Dataset) -> dict[str, xr.Dataset]:
    """PyMC's pointwise log likelihood and posterior predictive (float32) of what the pooled model observes,
    each configuration's seed-averaged log loss (``mean_log_loss``), also added to ``observed_data``. The
    sampler's starting points go first: PyMC's conversions refuse a model that keeps them."""
    import pymc as pm  # PyMC: only when fitting

    for rv in model.free_RVs:
        model.set_initval(rv, None)
    likelihood = pm.compute_log_likelihood(idata.copy(), var_names=["mean_log_loss"], model=model, progressbar=False)
    # The population's Potential acts on the parameters, which come from the posterior draws here, so the
    # replicated observations are exact without it: PyMC's warning about it, and its log line, are noise.
    with warnings.catch_warnings(), quiet_pymc():
        warnings.filterwarnings("ignore", message="The effect of Potentials", category=UserWarning)
        replicated = pm.sample_posterior_predictive(idata, model=model, var_names=["mean_log_loss"], random_seed=seed,
                                                    progressbar=False)
    return {"log_likelihood": likelihood["log_likelihood"].to_dataset().astype(np.float32),
            "posterior_predictive": replicated["posterior_predictive"].to_dataset().astype(np.float32),
            "observed_data": observed.assign(mean_log_loss=replicated["observed_data"]["mean_log_loss"])}


OWN_SLOPE_MIN_RUNS = 12  # the fit below the top quarter keeps 9 runs, and the quarter holds 3 to learn from
# Up to this many configurations a fit is a ladder, as the ladder backtest measured them (k = 3-8): the population's
# mean extrapolation slope, learned from fits of two thirds of each family's runs (dozens), moved ladders' forecasts
# the wrong way (LOFO over 7 families: median |error| 2.2-2.9% -> 1.0-1.9% at 1-1.5 decades, k = 4-8), so it is not
# applied; its spread is.
FEW_RUNS_MAX = 8
OWN_SLOPE_HOLDOUT = 0.25  # the runs' own top quarter of configurations by compute is the family's evidence


def own_slope(chosen: pd.DataFrame, population: Population, sampler: SamplerSettings) -> dict[str, Any]:
    """The family's extrapolation slope, updated by its own runs: fitted (pooled, without the learned slope)
    below their top quarter of configurations by compute, the quarter's errors as a function of distance
    update the population's slope for this family (:func:`slope_posterior`).

    The slope is a family's own random effect in ``extrapolation_model``; the population gives its prior,
    and a family's own forecast errors are data about it. Skipped (the population's slope) with fewer than
    ``OWN_SLOPE_MIN_RUNS`` runs, or when that fit misses its diagnostics (an unconverged posterior is no
    evidence). A ladder of ``FEW_RUNS_MAX`` configurations or fewer takes the population's spread without its
    average (``average_applied``: False, kept in the fit).
    """
    prior = population.prior.extrapolation
    record = {"prior": list(prior)}
    if len(configurations(chosen)) <= FEW_RUNS_MAX:  # configurations as the family model counts them
        return record | {"average_applied": False,
                         "reason": f"{FEW_RUNS_MAX} or fewer configurations, a ladder: the population's spread without "
                                   "its average, which made ladders' forecasts worse in the ladder backtest"}
    if len(chosen) < OWN_SLOPE_MIN_RUNS or prior[1] <= 0:
        return record | {"reason": f"fewer than {OWN_SLOPE_MIN_RUNS} runs: the population's slope"}
    unlearned = replace(population, prior=replace(population.prior, extrapolation=(0.0, 0.0)))
    errors = extrapolation_errors(chosen, unlearned, sampler=sampler, holdout=OWN_SLOPE_HOLDOUT)
    evidence = {"held_out_runs": int(len(errors)), "fitted_runs": int(len(chosen) - len(errors)),
                "max_decades": float(errors["decades"].max())}
    if not errors["converged"].iloc[0]:
        return record | evidence | {"reason": f"the fit below the top quarter missed its diagnostics "
                                              f"({errors['problems'].iloc[0]}): the population's slope"}
    return record | evidence | {"posterior": list(slope_posterior(prior, errors)),
                                "reason": "updated by the runs' own top quarter by compute",
                                "errors": errors[["error", "decades", "scale"]].to_dict("list")}
