"""Fitting the hierarchical model across families, and its forecasts for a family, a few-shot family or a new one."""

import functools
import json
from dataclasses import asdict

import numpy as np
import pandas as pd
import xarray as xr

from forecast.diagnostics import Diagnostics, diagnose
from forecast.families import CONFIGURATION
from forecast.fit import sample
from forecast.predictive import Predictive
from forecast.selection import SamplerSettings
from models.hierarchical import BIN_DECADES, HierarchicalPriors, compute_bins, drift_correlation, hierarchical_model
from models.laws import FLOP_PER_PARAM_TOKEN, chinchilla_loss, effective_log_tokens

# Longer tuning and smaller steps than a single-law fit: on the backtest's training split the
# default settings left divergences. Early in tuning, before the mass matrix fits the compute-drift
# scales, trajectories hit the depth limit; a limit of 2^7 steps (draws then take 31 on average)
# cut the all-family fit from 87 s to 56 s of sampling with the same ESS.
SAMPLER = SamplerSettings(tune=1000, target_accept=0.95, maxdepth=7)
# Constants drawn per family from a population (name in the model -> how a family's value is made from it).
POOLED = ("level", "floor_logit", "share_logit", "log_alpha", "log_beta", "log_sigma")


def configurations(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (family, N, D, U): seeds, mean and within sum of squares of log loss, the runs' ids."""
    table = runs.assign(unique_tokens=runs["unique_tokens"].fillna(runs["tokens"]), log_loss=np.log(runs["loss"]))
    grouped = table.groupby(CONFIGURATION, sort=False)
    out = grouped.agg(seeds=("log_loss", "size"), mean_log_loss=("log_loss", "mean"),
                      compute=("compute", "first"), run_ids=("run_id", lambda ids: ",".join(map(str, ids))))
    out["within_ss"] = grouped["log_loss"].agg(lambda v: float(((v - v.mean()) ** 2).sum()))
    return out.reset_index()


class HierarchicalFit:
    """A posterior of the hierarchical model, with the configurations and family order it was fitted to."""

    def __init__(self, idata: xr.DataTree, configs: pd.DataFrame, families: list[str]):
        self.idata, self.configs, self.families = idata, configs, families

    @classmethod
    def fit(cls, runs: pd.DataFrame, *, shared_exponents: bool = False, centred: bool = True,
            priors: HierarchicalPriors = HierarchicalPriors(), sampler: SamplerSettings = SAMPLER,
            progress: bool | None = None) -> "HierarchicalFit":
        """Fit every family of ``runs`` (column ``family``) at once with nutpie."""
        import nutpie

        configs = configurations(runs)
        families = list(dict.fromkeys(configs["family"]))
        model = hierarchical_model(
            configs["params"].to_numpy(), configs["tokens"].to_numpy(), configs["unique_tokens"].to_numpy(),
            configs["mean_log_loss"].to_numpy(), configs["seeds"].to_numpy(), configs["within_ss"].to_numpy(),
            configs["family"].map({f: i for i, f in enumerate(families)}).to_numpy(), configs["compute"].to_numpy(),
            families=families, shared_exponents=shared_exponents, centred=centred, priors=priors,
        )
        idata = sample(nutpie.compile_pymc_model(model), sampler, progress)
        idata.attrs.update(model="hierarchical chinchilla", shared_exponents=int(shared_exponents), centred=int(centred),
                           priors=json.dumps(asdict(priors)), sampler=json.dumps(asdict(sampler)),
                           free_vars=json.dumps([rv.name for rv in model.free_RVs]))
        return cls(idata, configs, families)

    @functools.cached_property
    def diagnostics(self) -> Diagnostics:
        return diagnose(self.idata, json.loads(self.idata.attrs["free_vars"]))

    @functools.cached_property
    def _posterior(self) -> dict[str, np.ndarray]:
        post = self.idata["posterior"].to_dataset()
        return {name: post[name].to_numpy().reshape(post.sizes["chain"] * post.sizes["draw"], *post[name].shape[2:])
                for name in post.data_vars}

    def _family_constants(self, family: str | None, seed: int) -> dict[str, np.ndarray]:
        """Draws of one family's constants, or of a new family's (``None``): population mean + spread x N(0, 1)."""
        p = self._posterior
        if family is not None:
            i = self.families.index(family)
            return {k: p[k][:, i] for k in ("log_E", "log_A", "log_B", "alpha", "beta", "sigma")}
        rng = np.random.default_rng(seed)
        new = {}
        for name in POOLED:
            spread = p.get(f"{name}_spread", np.zeros_like(p[f"{name}_mu"]))  # absent when shared exactly
            new[name] = p[f"{name}_mu"] + spread * rng.standard_normal(p[f"{name}_mu"].shape)
        floor, share = 1 / (1 + np.exp(-new["floor_logit"])), 1 / (1 + np.exp(-new["share_logit"]))
        alpha, beta = np.exp(new["log_alpha"]), np.exp(new["log_beta"])
        log_r = new["level"] + np.log1p(-floor)
        centre_n, centre_d = np.log(self.configs["params"]).mean(), np.log(self.configs["tokens"]).mean()
        return {"log_E": new["level"] + np.log(floor), "log_A": log_r + np.log(share) + alpha * centre_n,
                "log_B": log_r + np.log1p(-share) + beta * centre_d, "alpha": alpha, "beta": beta,
                "sigma": np.exp(new["log_sigma"])}

    def _drift(self, family: str | None, log10_compute: np.ndarray, seed: int) -> np.ndarray:
        """Draws of the law's departure at each compute, shape (points, draws).

        In a fitted compute bin of the family: that bin's posterior departure. Elsewhere: the process
        conditioned on the family's nearest fitted bin (exact beyond the fitted range, slightly wide in a
        gap between bins); for a new family, the process's marginal. One shock per new bin, shared by its points.
        """
        p = self._posterior
        sd, length = p["drift"], json.loads(self.idata.attrs["priors"])["drift_length"]
        key = np.round(log10_compute / BIN_DECADES) * BIN_DECADES
        new_bins, which = np.unique(key, return_inverse=True)
        shock = np.random.default_rng([seed, 1]).standard_normal((new_bins.size, sd.size))[which]
        if family is None:
            return sd * shock
        _, bin_family, bin_log10c = compute_bins(self.configs["compute"].to_numpy(), self.configs["family"].to_numpy())
        own = np.flatnonzero(bin_family == family)
        nearest = own[np.abs(key[:, None] - bin_log10c[own][None, :]).argmin(axis=1)]
        phi = drift_correlation(key - bin_log10c[nearest], length)[:, None]
        return phi * p["drift_offset"][:, nearest].T + sd * np.sqrt(1 - phi**2) * shock

    def predictive(self, family: str | None, params, tokens, unique_tokens=None, *, seed: int = 0) -> Predictive:
        """A new single run's log loss at each (N, D, U) for ``family`` (``None``: a family not yet seen)."""
        c = self._family_constants(family, seed)
        params, tokens = np.asarray(params, float), np.asarray(tokens, float)
        log_n, log_d = np.log(params)[:, None], np.log(tokens)[:, None]
        log_u = log_d if unique_tokens is None else np.log(np.asarray(unique_tokens, float))[:, None]
        log_d = effective_log_tokens(log_d, np.minimum(log_u, log_d), self._posterior["R_star_D"])
        mu = np.log(chinchilla_loss(log_n, log_d, c["log_E"], c["log_A"], c["log_B"], c["alpha"], c["beta"]))
        drift = self._drift(family, np.log10(FLOP_PER_PARAM_TOKEN * params * tokens), seed)
        return Predictive(mu + drift, c["sigma"], self._posterior["nu"])
