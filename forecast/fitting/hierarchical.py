# pyright: strict, reportUnknownMemberType=false, reportUnknownArgumentType=false, reportUnknownVariableType=false, reportUnknownLambdaType=false, reportMissingTypeStubs=false
"""Fitting the hierarchical model across families, and its forecasts for a family, a few-shot family or a new one."""

import functools
import json
from dataclasses import asdict
from typing import ClassVar, Self

import numpy as np
import pandas as pd
import xarray as xr

from scaling_forecast.fitting import savedfit
from scaling_forecast.fitting.base import Fitted, Question, Values
from scaling_forecast.fitting.diagnostics import Diagnostics, diagnose
from scaling_forecast.fitting.draws import departure
from scaling_forecast.fitting.predictive import Predictive
from scaling_forecast.fitting.sampling import sample
from scaling_forecast.fitting.settings import SamplerSettings
from scaling_forecast.inputs.families import configurations
from scaling_forecast.models.drift import compute_bins
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN, chinchilla_loss, effective_log_tokens
from scaling_forecast.models.priors import FAMILY_CONSTANTS, HierarchicalPriors

# Longer tuning and smaller steps than a single-law fit: on the backtest's training split the
# default settings left divergences. Early in tuning, before the mass matrix fits the compute-drift
# scales, trajectories hit the depth limit; a limit of 2^7 steps (draws then take about 31) saves
# that time without costing ESS (README, "Run families and the hierarchical model").
SAMPLER = SamplerSettings(tune=1000, target_accept=0.95, maxdepth=7)


class HierarchicalFit(Fitted):
    """A posterior of the hierarchical model, with the configurations and family order it was fitted to
    (group ``configurations`` and attribute ``families`` of one DataTree, saved as NetCDF). It forecasts a
    registered family's runs (or a new family's) for backtests and is summarised as the population prior of
    pooled fits; the answers a user asks for come from a law fit."""

    kind: ClassVar[str] = "hierarchical"
    questions: ClassVar[frozenset[Question]] = frozenset({"backtest"})

    def __init__(self, idata: xr.DataTree):
        self.idata = idata
        self.configs = idata["configurations"].to_dataset().to_dataframe().reset_index(drop=True)
        self.families: list[str] = json.loads(idata.attrs["families"])

    @classmethod
    def fit(cls, runs: pd.DataFrame, *, shared_exponents: bool = False, centred: bool = True,
            priors: HierarchicalPriors = HierarchicalPriors(), sampler: SamplerSettings = SAMPLER,
            progress: bool | None = None) -> "HierarchicalFit":
        """Fit every family of ``runs`` (column ``family``) at once with nutpie."""
        import nutpie  # here, as PyMC is: forecasting from a saved fit needs neither

        from scaling_forecast.models.hierarchical import hierarchical_model  # PyMC: only when fitting

        configs = configurations(runs)
        families = list(dict.fromkeys(configs["family"]))
        model = hierarchical_model(
            configs["params"].to_numpy(), configs["tokens"].to_numpy(), configs["unique_tokens"].to_numpy(),
            configs["mean_log_loss"].to_numpy(), configs["seeds"].to_numpy(), configs["within_ss"].to_numpy(),
            configs["family"].map({f: i for i, f in enumerate(families)}).to_numpy(), configs["compute"].to_numpy(),
            families=families, shared_exponents=shared_exponents, centred=centred, priors=priors,
        )
        idata = sample(nutpie.compile_pymc_model(model), sampler, progress)
        idata["configurations"] = xr.DataTree(xr.Dataset.from_dataframe(configs.rename_axis("configuration")))
        savedfit.stamp(idata, cls.kind)
        idata.attrs.update(model="hierarchical chinchilla", shared_exponents=int(shared_exponents), centred=int(centred),
                           priors=json.dumps(asdict(priors)), sampler=json.dumps(asdict(sampler)),
                           free_vars=json.dumps([rv.name for rv in model.free_RVs]), families=json.dumps(families))
        return cls(idata)

    def to_tree(self) -> xr.DataTree:
        """The DataTree (posterior, sample stats, configurations, settings) that :meth:`save` writes."""
        return self.idata

    @classmethod
    def problem(cls, idata: xr.DataTree) -> str | None:
        """A group, attribute or variable missing, or a sampled value that is not finite."""
        missing = [g for g in ("posterior", "sample_stats", "configurations") if g not in idata.children]
        missing += [a for a in ("priors", "sampler", "free_vars", "families") if a not in idata.attrs]
        if missing:
            return f"not a complete hierarchical fit (missing {', '.join(missing)})"
        posterior = idata["posterior"].to_dataset()
        if "nu" in posterior and "family" not in posterior["nu"].dims:
            return "a hierarchical fit of an earlier version (one noise tail shared by every family): fit it again"
        for name in json.loads(idata.attrs["free_vars"]):
            if name not in posterior or not np.isfinite(posterior[name].to_numpy()).all():
                return f"posterior variable {name!r} is missing or not finite"
        return None

    @classmethod
    def from_checked_tree(cls, idata: xr.DataTree) -> Self:
        return cls(idata)

    def describe(self) -> str:
        return (f"hierarchical chinchilla law fitted to {len(self.families)} families ({', '.join(self.families)}; "
                f"{len(self.configs)} configurations)")

    def diagnose(self) -> Diagnostics:
        return diagnose(self.idata, json.loads(self.idata.attrs["free_vars"]))

    @functools.cached_property
    def posterior_draws(self) -> dict[str, np.ndarray]:
        """Every posterior variable, flattened over chains: shape (draws, ...)."""
        post = self.idata["posterior"].to_dataset()
        return {str(name): post[name].to_numpy().reshape(post.sizes["chain"] * post.sizes["draw"], *post[name].shape[2:])
                for name in post.data_vars}

    def new_family_constants(self, seed: int) -> dict[str, np.ndarray]:
        """Draws of a family not yet seen: population mean + spread x N(0, 1) for each of ``FAMILY_CONSTANTS``
        (level, floor and split at the population's centre), one per posterior draw."""
        p = self.posterior_draws
        rng = np.random.default_rng(seed)
        new = {}
        for name in FAMILY_CONSTANTS:
            spread = p.get(f"{name}_spread", np.zeros_like(p[f"{name}_mu"]))  # absent when shared exactly
            new[name] = p[f"{name}_mu"] + spread * rng.standard_normal(p[f"{name}_mu"].shape)
        return new

    @property
    def centre(self) -> tuple[float, float]:
        """Mean log N and log D of the configurations: where level, floor and split are defined."""
        return float(np.log(self.configs["params"]).mean()), float(np.log(self.configs["tokens"]).mean())

    def _family_constants(self, family: str | None, seed: int) -> dict[str, np.ndarray]:
        """Draws of one family's constants, or of a new family's (``None``)."""
        p = self.posterior_draws
        if family is not None:
            i = self.families.index(family)
            return {k: p[k][:, i] for k in ("log_E", "log_A", "log_B", "alpha", "beta", "sigma", "nu")}
        new = self.new_family_constants(seed)
        floor, share = 1 / (1 + np.exp(-new["floor_logit"])), 1 / (1 + np.exp(-new["share_logit"]))
        alpha, beta = np.exp(new["log_alpha"]), np.exp(new["log_beta"])
        log_r = new["level"] + np.log1p(-floor)
        centre_n, centre_d = self.centre
        return {"log_E": new["level"] + np.log(floor), "log_A": log_r + np.log(share) + alpha * centre_n,
                "log_B": log_r + np.log1p(-share) + beta * centre_d, "alpha": alpha, "beta": beta,
                "sigma": np.exp(new["log_sigma"]), "nu": np.exp(new["log_nu"])}

    def _drift(self, family: str | None, log10_compute: np.ndarray, seed: int) -> np.ndarray:
        """Draws of the law's departure at each compute, shape (points, draws) (see :func:`departure`)."""
        p = self.posterior_draws
        length = json.loads(self.idata.attrs["priors"])["drift_length"]
        if family is None:
            return departure(None, np.empty(0), p["drift"], length, log10_compute, seed)
        _, bin_family, bin_log10c = compute_bins(self.configs["compute"].to_numpy(), self.configs["family"].to_numpy())
        own = np.flatnonzero(bin_family == family)
        return departure(p["drift_offset"][:, own], bin_log10c[own], p["drift"], length, log10_compute, seed)

    def predictive(self, params: Values, tokens: Values, unique_tokens: Values | None = None, *, family: str | None = None,
                   seed: int = 0) -> Predictive:
        """A new single run's log loss at each (N, D, U) for ``family`` (``None``: a family not yet seen)."""
        c = self._family_constants(family, seed)
        params, tokens = np.asarray(params, float), np.asarray(tokens, float)
        log_n, log_d = np.log(params)[:, None], np.log(tokens)[:, None]
        log_u = log_d if unique_tokens is None else np.log(np.asarray(unique_tokens, float))[:, None]
        log_d = effective_log_tokens(log_d, np.minimum(log_u, log_d), self.posterior_draws["R_star_D"])
        mu = np.log(chinchilla_loss(log_n, log_d, c["log_E"], c["log_A"], c["log_B"], c["alpha"], c["beta"]))
        drift = self._drift(family, np.log10(FLOP_PER_PARAM_TOKEN * params * tokens), seed)
        return Predictive(mu + drift, c["sigma"], c["nu"])


