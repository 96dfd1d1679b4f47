"""A user's runs fitted as one more family within the population the registered families define.

The hierarchical model (``forecast.hierarchy``) learns from the registered families how a family's
constants vary (exponents, floor share, split, noise) and how far real runs depart from the law
along compute. Refitting those ~1,060 runs for every user call would take minutes, so the
population's posterior is summarised once (per package version, dataset hashes, families, priors and
sampler) as a prior for a new family (:class:`~models.hierarchical.PopulationPrior`), cached as a
small JSON file under the user cache, and the user's family is fitted alone under that prior.
"""

import functools
import hashlib
import json
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast import __version__, registry
from forecast.diagnostics import Diagnostics, diagnose
from forecast.errors import InputError
from forecast.files import write_atomically
from forecast.fit import ScalingLawFit, _runs_dataset, sample
from forecast.hierarchy import SAMPLER as POPULATION_SAMPLER
from forecast.hierarchy import HierarchicalFit, configurations, departure
from forecast.laws import LAWS
from forecast.predict import LawDraws
from forecast.predictive import Predictive
from forecast.runs import compute_of, dataset_digest
from forecast.savedfit import FIT_FORMAT
from forecast.selection import MIN_RUNS_POOLED, RunSelection, SamplerSettings
from models.hierarchical import (FAMILY_CONSTANTS, HierarchicalPriors, PopulationPrior, compute_bins,
                                 extrapolation_model, family_model)
from models.laws import FLOP_PER_PARAM_TOKEN, effective_log_tokens

POOLED_FORMAT = 1  # the layout of a saved pooled fit; a file of another format is refused on load
# The hierarchical fit's tuning and step-size target: the family model is a slice of it, with the same
# drift process (every pooled fit in the leave-one-family-out backtest converged with these).
SAMPLER = SamplerSettings(tune=1000, target_accept=0.95)
EXTRAPOLATION_HOLDOUT = 1 / 3  # each population family's top third by compute is forecast to learn the law's error
# Eight families' slopes: a small model whose spread can sit near zero, where the default step size diverged.
# Raised when what a population holds changes, so that caches built before are not read (2: the reach of
# the learned extrapolation error).
POPULATION_FORMAT = 2
EXTRAPOLATION_SAMPLER = SamplerSettings(tune=2000, draws=2000, target_accept=0.99)
SHARED_LOG = ("nu", "drift", "R_star_D")  # positive quantities every family shares, summarised on the log scale


def population_prior(fitted: HierarchicalFit, seed: int = 0) -> PopulationPrior:
    """The population's predictive distribution of a new family's constants, as a normal, and the shared ones.

    Per posterior draw a new family's constants are drawn from the population (mean + spread x N(0, 1));
    their mean and covariance over draws carry both the spread between families and the uncertainty
    about the population itself.
    """
    new = fitted.new_family_constants(seed)
    values = np.column_stack([new[name] for name in FAMILY_CONSTANTS])
    mean, cov = values.mean(axis=0), np.cov(values, rowvar=False)
    # The loss level is not exchangeable between families: it is set by the tokenizer and the eval set
    # (Llama 3's validation loss sits near 0.9 nats, the others' near 2.5-3). The registered families
    # happen to agree closely, so their spread would pin a new family's level and, with few runs, force
    # its curve through the wrong loss scale. A new family keeps the hierarchical model's own vague
    # prior on it; its shape (floor share, split, exponents) and noise come from the population.
    level = FAMILY_CONSTANTS.index("level")
    hyper = HierarchicalPriors(**json.loads(fitted.idata.attrs["priors"]))
    mean[level], cov[level, :], cov[:, level] = hyper.level_mu, 0.0, 0.0
    cov[level, level] = hyper.level_sigma**2
    draws = fitted.posterior_draws
    shared = {name: (float(np.log(draws[name]).mean()), float(np.log(draws[name]).std())) for name in SHARED_LOG}
    if (fitted.configs["seeds"] > 1).any():
        logit = np.log(draws["seed_share"]) - np.log1p(-draws["seed_share"])
        shared["seed_share"] = (float(logit.mean()), float(logit.std()))
    return PopulationPrior(
        *fitted.centre,
        mean=tuple(map(float, mean)),
        cov=tuple(tuple(map(float, row)) for row in cov),
        shared=shared,
        drift_length=hyper.drift_length,
        drift_centred_runs=hyper.drift_centred_runs,
    )


@dataclass(frozen=True)
class Population:
    """A population prior with what it was built from (``provenance``) and how its fit converged."""

    prior: PopulationPrior
    provenance: dict
    diagnostics: dict

    @property
    def key(self) -> str:
        return provenance_key(self.provenance)

    def as_dict(self) -> dict:
        return {"prior": asdict(self.prior), "provenance": self.provenance, "diagnostics": self.diagnostics}

    @classmethod
    def from_dict(cls, value: dict) -> "Population":
        prior = value["prior"]
        prior = prior | {"mean": tuple(prior["mean"]), "cov": tuple(map(tuple, prior["cov"])),
                         "shared": {k: tuple(v) for k, v in prior["shared"].items()},
                         "extrapolation": tuple(prior["extrapolation"])}
        return cls(PopulationPrior(**prior), value["provenance"], value["diagnostics"])


def provenance_key(provenance: dict) -> str:
    """A short hash of everything a population depends on: a change to any of it means a rebuild."""
    return hashlib.sha256(json.dumps(provenance, sort_keys=True).encode()).hexdigest()[:16]


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


def population_from_fit(fitted: HierarchicalFit, provenance: dict, runs: pd.DataFrame | None = None) -> Population:
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
    from forecast.backtest import split

    family = runs["family"].iloc[0]
    train, test = split(runs, holdout)
    fitted = PooledFit.fit(train, source=family, source_sha256="-", population=population, sampler=sampler,
                           progress=False)
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
    """``population`` with the extrapolation model fitted to ``errors`` (from :func:`extrapolation_errors`)."""
    import nutpie

    families = list(dict.fromkeys(errors["family"]))
    model = extrapolation_model(errors["error"].to_numpy(), errors["decades"].to_numpy(), errors["scale"].to_numpy(),
                                errors["family"].map({f: i for i, f in enumerate(families)}).to_numpy(),
                                families=families)
    idata = sample(nutpie.compile_pymc_model(model), EXTRAPOLATION_SAMPLER, progress=False)
    post = idata["posterior"].to_dataset()
    mean, spread = (post[name].to_numpy().reshape(-1) for name in ("slope_mu", "slope_spread"))
    new = mean + spread * np.random.default_rng(0).standard_normal(mean.size)
    diagnostics = diagnose(idata, ["slope_mu", "slope_spread", "slope_z"])
    unconverged = errors.loc[~errors["converged"], ["family", "problems"]].drop_duplicates()
    problems = (list(population.diagnostics["problems"])
                + [f"extrapolation model: {p}" for p in diagnostics.problems()]
                + [f"pooled fit of {r.family} below its top third: {r.problems}" for r in unconverged.itertuples()])
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
        "errors": errors[["family", "error", "scale", "decades"]].to_dict("list"),
    }
    prior = replace(population.prior, extrapolation=(float(new.mean()), float(new.std())),
                    extrapolation_reach=float(errors["decades"].max()))
    return Population(prior, population.provenance,
                      population.diagnostics | {"converged": not problems, "problems": problems,
                                                "extrapolation": evidence})


def population_path(provenance: dict) -> Path:
    """Where the population built from ``provenance`` is cached."""
    return registry.cache_dir() / "population" / f"{provenance_key(provenance)}.json"


def save_population(population: Population) -> Path:
    """Write ``population`` to its cache file (atomically: an interrupted write leaves no file)."""
    text = json.dumps(population.as_dict(), indent=1)
    return write_atomically(population_path(population.provenance), lambda tmp: tmp.write_text(text))


def registered_provenance(families: tuple[str, ...] = (), gadre_eval: str | None = None) -> dict:
    """Everything a population of the registered ``families`` (default: all) depends on."""
    from forecast.families import FAMILIES, GADRE_EVAL

    specs = [s for s in FAMILIES if not families or s.family in families]
    return {
        "package_version": __version__,
        "families": [s.family for s in specs],
        "gadre_eval": gadre_eval or GADRE_EVAL,
        "datasets": {s.dataset: dataset_digest(s.dataset) for s in specs},
        "priors": asdict(HierarchicalPriors()),
        "sampler": asdict(POPULATION_SAMPLER),
        "population_format": POPULATION_FORMAT,
        "extrapolation_holdout": EXTRAPOLATION_HOLDOUT,
        "extrapolation_sampler": asdict(EXTRAPOLATION_SAMPLER),
    }


def load_population(families: tuple[str, ...] = (), *, gadre_eval: str | None = None,
                    progress: bool | None = None) -> Population:
    """The population of the registered ``families`` (default: all), from the user cache or built now.

    Building fits the hierarchical model once (a minute or two on 2 cores) and writes
    ``<cache>/population/<key>.json``; the key changes with the package version, the datasets'
    hashes, the families, the priors and the sampler, so a stale file is never read.
    """
    from forecast.families import load_families

    provenance = registered_provenance(families, gadre_eval)
    path = population_path(provenance)
    if path.is_file():
        try:
            population = Population.from_dict(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError) as err:
            raise InputError(f"{path}: unreadable population cache ({err}); delete it to rebuild") from None
        if population.provenance != provenance:
            raise InputError(f"{path}: population cache does not match its key; delete it to rebuild")
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

    @classmethod
    def fit(cls, runs: pd.DataFrame, *, source: str, source_sha256: str, population: Population,
            selection: RunSelection = RunSelection(), sampler: SamplerSettings = SAMPLER,
            progress: bool | None = None, stack: bool = False) -> "PooledFit":
        """Fit the selected ``runs`` (one family, at least 3 runs) under ``population``'s prior.

        With ``stack`` and at least ``STACK_MIN_RUNS`` runs, the forecast is a mixture of this fit and the
        law fitted alone, weighted by how well each forecast the runs' own top quarter by compute from the
        rest (:func:`stack_alone`). Off by default: in the leave-one-family-out backtest that evidence, so
        close to the fitted runs, favoured the lone fit where it then forecast the far runs worse.
        """
        chosen = selection.apply(runs, minimum=MIN_RUNS_POOLED)
        if chosen["family"].nunique() > 1:
            raise InputError(f"a pooled fit takes one family of runs; the selection has {sorted(chosen['family'].unique())}: "
                             "choose one with --family")
        fitted = cls._fit_pooled(chosen, source=source, source_sha256=source_sha256, population=population,
                                 selection=selection, sampler=sampler, progress=progress)
        if stack:
            fitted = stack_alone(fitted, chosen, population, sampler)
        fitted.idata.attrs["diagnostics"] = json.dumps(fitted.diagnostics.as_dict())
        return fitted

    @classmethod
    def _fit_pooled(cls, chosen: pd.DataFrame, *, source: str, source_sha256: str, population: Population,
                    selection: RunSelection, sampler: SamplerSettings, progress: bool | None) -> "PooledFit":
        import nutpie

        configs = configurations(chosen)
        model = family_model(
            configs["params"].to_numpy(), configs["tokens"].to_numpy(), configs["unique_tokens"].to_numpy(),
            configs["mean_log_loss"].to_numpy(), configs["seeds"].to_numpy(), configs["within_ss"].to_numpy(),
            configs["compute"].to_numpy(), population=population.prior,
        )
        idata = sample(nutpie.compile_pymc_model(model), sampler, progress)
        idata["runs"] = xr.DataTree(_runs_dataset(chosen))
        _, _, bin_log10c = compute_bins(configs["compute"].to_numpy(), np.zeros(len(configs), int))
        law = LAWS["chinchilla"]
        idata.attrs.update(
            law=law.name,
            kind="pooled",
            fit_format=FIT_FORMAT,
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
            package_version=__version__,
            stacking=json.dumps({"weight": 1.0, "reason": "not stacked"}),
            pooled_format=POOLED_FORMAT,
        )
        return cls(idata)

    @classmethod
    def checked(cls, idata: xr.DataTree, path) -> "PooledFit":
        """A pooled fit read from ``path``, refused with one line when it is of another format or incomplete."""
        written = idata.attrs.get("pooled_format")
        if written != POOLED_FORMAT:
            raise InputError(f"{path}: a pooled fit of format {written} (scaling-forecast "
                             f"{idata.attrs.get('package_version', '?')}); this version reads format {POOLED_FORMAT}: "
                             "fit the runs again")
        missing = [name for name in ("priors", "population", "bin_log10_compute", "free_vars", "stacking")
                   if name not in idata.attrs]
        missing += [name for name in ("drift_offset", "drift", "R_star_D") if name not in idata["posterior"].data_vars]
        if missing:
            raise InputError(f"{path}: not a complete pooled fit (missing {', '.join(missing)})")
        return cls(idata)

    @functools.cached_property
    def stacking(self) -> dict:
        """The weight of the pooled fit in the forecast (1 - weight: the law fitted alone) and its evidence."""
        return json.loads(self.attrs.get("stacking", '{"weight": 1.0}'))

    @functools.cached_property
    def alone(self) -> ScalingLawFit | None:
        """The law fitted alone to the same runs, when the forecast mixes it in."""
        if "alone" not in self.idata.children:
            return None
        tree = xr.DataTree.from_dict({"posterior": self.idata["alone/posterior"].to_dataset(),
                                      "sample_stats": self.idata["alone/sample_stats"].to_dataset(),
                                      "runs": self.idata["runs"].to_dataset()})
        tree.attrs.update({k: v for k, v in self.attrs.items() if k not in ("kind", "free_vars", "stacking")},
                          kind="single")
        return ScalingLawFit(tree)

    def _mixture(self, n_draws: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the pooled draws and of the lone fit's draws that make up the forecast's draws."""
        weight = self.stacking["weight"] if self.alone is not None else 1.0
        k = int(round(weight * n_draws))
        return (np.linspace(0, n_draws - 1, k).round().astype(int),
                np.linspace(0, n_draws - 1, n_draws - k).round().astype(int))

    @property
    def free_vars(self) -> tuple[str, ...]:
        return tuple(json.loads(self.attrs["free_vars"]))

    @functools.cached_property
    def population(self) -> dict:
        """The population this family was pooled with: key, families, datasets, its fit's diagnostics."""
        return json.loads(self.attrs["population"])

    @functools.cached_property
    def diagnostics(self) -> Diagnostics:
        """This fit's diagnostics; a population that failed its own makes the result unconverged too."""
        own = super().diagnostics
        problems = () if self.population["diagnostics"]["converged"] else tuple(
            f"population fit: {p}" for p in self.population["diagnostics"]["problems"])
        if self.alone is not None and not self.alone.diagnostics.converged:
            problems += tuple(f"the law fitted alone: {p}" for p in self.alone.diagnostics.problems())
        if not problems:
            return own
        return Flagged(**{k: getattr(own, k) for k in own.__dataclass_fields__}, other_problems=problems)

    def interval_note(self) -> str:
        priors = json.loads(self.attrs["priors"])
        (mean, sd), reach = priors["extrapolation"], priors.get("extrapolation_reach")
        limit = "" if reach is None else f", the average carried up to {reach:.1f} decades, as far as it was learned"
        return ("intervals hold the law's parameter uncertainty, its departure along compute and, beyond the largest "
                f"fitted run, its extrapolation error learned from the registered families ({100 * mean:+.2f}% of the "
                f"loss per decade of compute on average, spread {100 * sd:.2f}% per decade{limit})")

    def describe(self) -> str:
        text = (f"{super().describe()}, pooled with the population of {len(self.population['families'])} "
                f"registered run families")
        weight = self.stacking["weight"] if self.alone is not None else 1.0
        return text if weight == 1.0 else f"{text} and stacked with the law fitted alone (weight {1 - weight:.2f})"

    def predictive(self, params, tokens, unique_tokens=None, *, seed: int = 0) -> Predictive:
        """A new run's log loss at each (N, D), with D counted as Muennighoff's effective tokens when
        ``unique_tokens`` (U < D) says the data repeat, and the departure at the run's compute."""
        if unique_tokens is None:
            return super().predictive(params, tokens, seed=seed)
        draws = self.draws
        log_n, log_d = np.log(np.asarray(params, float)), np.log(np.asarray(tokens, float))
        log_u = np.minimum(np.log(np.asarray(unique_tokens, float)), log_d)
        r_star = self.idata["posterior"]["R_star_D"].to_numpy().reshape(-1)
        mine, theirs = self._mixture(r_star.size)
        # The lone fit has no repeated-data term: its draws count repeated tokens as fresh (R*_D infinite).
        r_star = np.concatenate([r_star[mine], np.full(theirs.size, np.inf)])
        log_d_eff = np.where(np.isfinite(r_star), effective_log_tokens(log_d[:, None], log_u[:, None],
                                                                       np.where(np.isfinite(r_star), r_star, 1.0)),
                             log_d[:, None])
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
        length, (slope_mean, slope_sd) = priors["drift_length"], priors["extrapolation"]
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

        alone = self.alone
        if alone is None:
            return LawDraws(law_draws.law, law_draws.values, law_draws.sigma, law_draws.nu, total)
        # The stacked mixture: a share of the pooled draws (with the departure) and of the lone fit's (without).
        mine, theirs = self._mixture(sd.size)
        other = alone.draws
        pick = lambda a, b: np.concatenate([a[mine], b[theirs]])  # noqa: E731
        values = {k: pick(v, other.values[k]) for k, v in law_draws.values.items()}

        def mixed(log10c: np.ndarray, seed: int) -> np.ndarray:
            out = total(log10c, seed)[:, mine]
            return np.concatenate([out, np.zeros((out.shape[0], theirs.size), out.dtype)], axis=1)

        return LawDraws(law_draws.law, values, pick(law_draws.sigma, other.sigma), pick(law_draws.nu, other.nu), mixed)


@dataclass(frozen=True)
class Flagged(Diagnostics):
    """Diagnostics of a pooled fit that rests on another fit (its population's, or the lone fit it mixes in)
    which failed its own."""

    other_problems: tuple[str, ...] = ()

    @property
    def converged(self) -> bool:
        return False

    def problems(self) -> list[str]:
        return super().problems() + list(self.other_problems)


STACK_MIN_RUNS = 16  # the lone fit on three quarters of them needs its 8 runs and some to spare
STACK_HOLDOUT = 0.25  # the runs' own top quarter of configurations by compute is the held-out evidence


def stacking_weight(pooled_lpd: np.ndarray, alone_lpd: np.ndarray) -> float:
    """The weight w maximising the held-out log score sum log(w p_pooled + (1 - w) p_alone) (stacking,
    Yao et al. 2018), from each run's log predictive density under either fit."""
    from scipy.optimize import minimize_scalar

    def loss(w: float) -> float:
        return -float(np.logaddexp(np.log(w) + pooled_lpd, np.log1p(-w) + alone_lpd).sum())

    return float(minimize_scalar(loss, bounds=(1e-9, 1 - 1e-9), method="bounded").x)


def stack_alone(fitted: PooledFit, chosen: pd.DataFrame, population: Population,
                sampler: SamplerSettings) -> PooledFit:
    """Mix the law fitted alone into ``fitted``'s forecasts, weighted by held-out evidence from the runs.

    Both are fitted to the runs below their top quarter of configurations by compute and score that
    quarter (log predictive density per run); the stacking weight of the two predictives is then applied
    to the fits on all runs. Skipped (weight 1) with fewer than ``STACK_MIN_RUNS`` runs, and when either
    held-out lone fit misses its diagnostics (an unconverged posterior is no evidence).
    """
    from forecast.backtest import split

    def record(**evidence) -> PooledFit:
        fitted.idata.attrs["stacking"] = json.dumps(evidence)
        return fitted

    if len(chosen) < STACK_MIN_RUNS:
        return record(weight=1.0, reason=f"fewer than {STACK_MIN_RUNS} runs: pooled only")
    train, held = split(chosen, STACK_HOLDOUT)
    args = {"source": fitted.attrs["dataset"], "source_sha256": fitted.attrs["dataset_sha256"]}
    lone_sampler = replace(SamplerSettings(), seed=sampler.seed, draws=sampler.draws, chains=sampler.chains)
    pooled_part = PooledFit._fit_pooled(train, population=population, selection=RunSelection(), sampler=sampler,
                                        progress=False, **args)
    alone_part = ScalingLawFit.fit(train, sampler=lone_sampler, progress=False, **args)
    if not alone_part.diagnostics.converged:
        return record(weight=1.0, reason="the law fitted alone to the lower three quarters did not converge: pooled only")
    loss = held["loss"].to_numpy()
    unique = held["unique_tokens"].fillna(held["tokens"])
    pooled_lpd = pooled_part.predictive(held["params"], held["tokens"], unique).log_density(loss)
    alone_lpd = alone_part.predictive(held["params"], held["tokens"]).log_density(loss)
    weight = stacking_weight(pooled_lpd, alone_lpd)
    evidence = {"weight": weight, "held_out_runs": int(len(held)), "fitted_runs": int(len(train)),
                "lpd_pooled": float(pooled_lpd.mean()), "lpd_alone": float(alone_lpd.mean())}
    if weight > 0.99:
        return record(**evidence, reason="the held-out quarter preferred the pooled fit")
    alone = ScalingLawFit.fit(chosen, sampler=lone_sampler, progress=False, **args)
    fitted.idata["alone"] = xr.DataTree.from_dict({"posterior": alone.idata["posterior"].to_dataset(),
                                                   "sample_stats": alone.idata["sample_stats"].to_dataset()})
    return record(**evidence, reason="stacked by the log score of the runs' top quarter by compute")
