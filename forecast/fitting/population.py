"""The population of registered run families, summarised as a prior for a new family, and its cache.

The hierarchical model (``scaling_forecast.fitting.hierarchical``) learns from the registered families how a family's
constants vary (exponents, floor share, split, noise) and how far real runs depart from the law along
compute. Refitting those runs for every user call would take minutes, so the population's posterior is
summarised once (per package version, dataset hashes, families, priors and sampler) as a prior for a new
family (:class:`~scaling_forecast.models.hierarchical.PopulationPrior`) and cached as a small JSON file
under the user cache; ``scaling_forecast.fitting.pooled`` builds it and fits a user's runs under it.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scaling_forecast.core.files import cache_dir, write_atomically
from scaling_forecast.core.version import __version__
from scaling_forecast.fitting.hierarchical import SAMPLER as POPULATION_SAMPLER
from scaling_forecast.fitting.hierarchical import HierarchicalFit
from scaling_forecast.fitting.settings import SamplerSettings
from scaling_forecast.inputs import registry
from scaling_forecast.inputs.families import FAMILIES, GADRE_EVAL
from scaling_forecast.inputs.runs import dataset_digest
from scaling_forecast.models.priors import EXTRAPOLATION_NU, FAMILY_CONSTANTS, HierarchicalPriors, PopulationPrior

# Raised when what a population holds changes, so that caches built before are not read (2: the reach of
# the learned extrapolation error; 3: Gamma(2) priors on the population spreads, family fits sampled again
# when they miss the diagnostics, a family left out of the extrapolation model when its fit misses them;
# 4: each family's own noise tails, log nu among a new family's constants instead of one shared nu).
POPULATION_FORMAT = 4
EXTRAPOLATION_HOLDOUT = 1 / 3  # each population family's top third by compute is forecast to learn the law's error
# Eight families' slopes: a small model whose spread can sit near zero, where the default step size diverged.
EXTRAPOLATION_SAMPLER = SamplerSettings(tune=2000, draws=2000, target_accept=0.99)
SHARED_LOG = ("drift", "R_star_D")  # positive quantities every family shares, summarised on the log scale


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

    def problem(self) -> str | None:
        """Why this population's prior cannot be used (read from a cache: a NaN, a covariance that is not a
        covariance, a negative spread), or None. A damaged prior would silently shape every pooled fit."""
        prior = self.prior
        numbers = [prior.centre_log_n, prior.centre_log_d, *prior.mean, *np.ravel(prior.cov), prior.drift_length,
                   prior.drift_centred_runs, *prior.extrapolation, *(v for pair in prior.shared.values() for v in pair),
                   *([] if prior.extrapolation_reach is None else [prior.extrapolation_reach])]
        if not np.all(np.isfinite(np.asarray(numbers, float))):
            return "a number of its prior is not finite"
        cov = np.asarray(prior.cov, float)
        if cov.shape != (len(prior.mean), len(prior.mean)) or not np.allclose(cov, cov.T):
            return "its covariance is not a symmetric square matrix of its constants"
        if np.linalg.eigvalsh(cov).min() <= 0:
            return "its covariance is not positive definite"
        if prior.extrapolation[1] < 0 or any(scale < 0 for _, scale in prior.shared.values()):
            return "a spread of its prior is negative"
        return None

    @property
    def key(self) -> str:
        return registry.cache_key(self.provenance)

    def as_dict(self) -> dict:
        return {"prior": asdict(self.prior), "provenance": self.provenance, "diagnostics": self.diagnostics}

    @classmethod
    def from_dict(cls, value: dict) -> "Population":
        prior = value["prior"]
        prior = prior | {"mean": tuple(prior["mean"]), "cov": tuple(map(tuple, prior["cov"])),
                         "shared": {k: tuple(v) for k, v in prior["shared"].items()},
                         "extrapolation": tuple(prior["extrapolation"])}
        return cls(PopulationPrior(**prior), value["provenance"], value["diagnostics"])


def population_path(provenance: dict) -> Path:
    """Where the population built from ``provenance`` is cached."""
    return cache_dir() / "population" / f"{registry.cache_key(provenance)}.json"


def save_population(population: Population) -> Path:
    """Write ``population`` to its cache file (atomically: an interrupted write leaves no file)."""
    text = json.dumps(population.as_dict(), indent=1)
    return write_atomically(population_path(population.provenance), lambda tmp: tmp.write_text(text), force=True, ledger=False)


def registered_provenance(families: tuple[str, ...] = (), gadre_eval: str | None = None) -> dict:
    """Everything a population of the registered ``families`` (default: all) depends on."""
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


def slope_posterior(prior: tuple[float, float], errors: pd.DataFrame, *, nu: float = EXTRAPOLATION_NU,
                    points: int = 4001) -> tuple[float, float]:
    """Mean and sd of one family's slope given its prior (mean, sd) and its own ``errors`` (columns
    ``error``, ``decades``, ``scale`` as ``scaling_forecast.fitting.pooled.extrapolation_errors`` gives them), under the likelihood of
    ``extrapolation_model`` (error ~ Student-t(nu, slope x decades, scale)); exact on a grid of +-6 sd, since
    the slope is one number."""
    from scipy import stats  # on use: forecasts from a saved fit import no SciPy statistics

    mean, sd = prior
    grid = np.linspace(mean - 6 * sd, mean + 6 * sd, points)
    residual = (errors["error"].to_numpy() - grid[:, None] * errors["decades"].to_numpy()) / errors["scale"].to_numpy()
    log_post = stats.norm.logpdf(grid, mean, sd) + stats.t.logpdf(residual, nu).sum(axis=1)
    weight = np.exp(log_post - log_post.max())
    weight /= weight.sum()
    centre = float(weight @ grid)
    return centre, float(np.sqrt(weight @ (grid - centre) ** 2))
