"""Fitting a scaling law with PyMC + nutpie, and the fitted object (fit, predict, save, load).

The posterior, the runs it was fitted to and the provenance (dataset and hash,
law, priors, seed, package version, run selection) live in one ArviZ
DataTree, saved as NetCDF; loading it back gives identical forecasts.
"""

import functools
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from scaling_forecast import laws, savedfit
from scaling_forecast.diagnostics import Diagnostics, diagnose
from scaling_forecast.fit_settings import RunSelection, SamplerSettings
from scaling_forecast.intervals import LEVEL, Interval
from scaling_forecast.laws import Law
from scaling_forecast.models.likelihood import DATA_VARS, NoisePriors
from scaling_forecast.predict import LawDraws, forecast_table
from scaling_forecast.predictive import Predictive
from scaling_forecast.runs import compute_of


class ScalingLawFit:
    """A fitted scaling law (any of ``scaling_forecast.laws.LAWS``): posterior, runs and provenance in one DataTree."""

    kind = "single"

    def __init__(self, idata: xr.DataTree):
        self.idata = idata

    @property
    def attrs(self) -> dict:
        return self.idata.attrs

    @classmethod
    def fit(
        cls,
        runs: pd.DataFrame,
        *,
        source: str,
        source_sha256: str,
        law: str = "chinchilla",
        selection: RunSelection = RunSelection(),
        priors: NoisePriors | None = None,
        sampler: SamplerSettings = SamplerSettings(),
        progress: bool | None = None,
        reuse_compiled: bool = False,
    ) -> "ScalingLawFit":
        """Fit ``law`` to the selected ``runs`` with nutpie (``priors``: the law's defaults when None).

        ``reuse_compiled`` keeps the compiled model per (number of runs, priors)
        for later fits in this process: slower for one fit, far faster for many.
        """
        import nutpie  # imported here: compiling pulls in numba, which commands that only read data do not need

        spec = laws.get(law)
        priors = spec.priors() if priors is None else priors
        chosen = selection.apply(runs)
        arrays = (chosen["params"].to_numpy(), chosen["tokens"].to_numpy(), chosen["loss"].to_numpy())
        model = spec.build(*arrays, priors=priors, swappable_data=reuse_compiled)
        if reuse_compiled:
            compiled = _compiled(law, len(chosen), priors).with_data(**{name: model[name].get_value() for name in DATA_VARS})
        else:
            compiled = nutpie.compile_pymc_model(model)
        idata = sample(compiled, sampler, progress)
        idata["runs"] = xr.DataTree(_runs_dataset(chosen))
        savedfit.stamp(idata, cls.kind)
        idata.attrs.update(
            law=law,
            law_formula=spec.formula,
            dataset=source,
            dataset_sha256=source_sha256,
            selection=json.dumps(asdict(selection)),
            priors=json.dumps(priors.as_dict()),
            sampler=json.dumps(asdict(sampler)),
            seed=sampler.seed,
        )
        fitted = cls(idata)
        idata.attrs["diagnostics"] = json.dumps(fitted.diagnostics.as_dict())
        return fitted

    @property
    def law(self) -> Law:
        return laws.get(self.attrs["law"])

    # The posterior does not change after fitting, so derived views are computed once.
    @property
    def free_vars(self) -> tuple[str, ...]:
        """The sampled variables: diagnostics are taken over these."""
        return self.law.free_vars

    @functools.cached_property
    def diagnostics(self) -> Diagnostics:
        return diagnose(self.idata, list(self.free_vars))

    def describe(self) -> str:
        """Which law was fitted to which runs, in words."""
        a = self.attrs
        return f"{a['law']} law ({a['law_formula']}) fitted to {a['dataset']} ({len(self.runs)} runs)"

    def interval_note(self) -> str:
        """What a forecast's interval holds, in words."""
        return ("intervals hold the law's parameter uncertainty (and run noise for a new run), assuming the law's "
                "form holds beyond the fitted runs")

    @functools.cached_property
    def runs(self) -> pd.DataFrame:
        """The runs the law was fitted to."""
        return self.idata["runs"].to_dataset().to_dataframe().reset_index()

    @functools.cached_property
    def draws(self) -> LawDraws:
        """Posterior draws of the law's parameters, flattened over chains."""
        post = self.idata["posterior"].to_dataset()
        flat = {name: post[name].to_numpy().reshape(-1) for name in self.law.curve_vars + ("sigma", "nu")}
        sigma, nu = flat.pop("sigma"), flat.pop("nu")
        return LawDraws(self.law, flat, sigma, nu)

    def parameters(self, level: float = LEVEL) -> dict[str, dict]:
        """Median and equal-tailed ``level`` interval of each law parameter, with units."""
        post = self.idata["posterior"].to_dataset()
        out = {}
        for name, units in self.law.parameters.items():
            out[name] = Interval.of(post[name].to_numpy().reshape(-1), level).as_dict() | {"units": units}
        return out

    def predictive(self, params, tokens, unique_tokens=None, *, seed: int = 0) -> Predictive:
        """A new run's log loss at each (N, D) as a mixture over draws (the question every kind of fit answers).

        A law fitted alone ignores ``unique_tokens``: it has no term for repeated data.
        """
        draws = self.draws
        log_n, log_d = np.log(np.asarray(params, float)), np.log(np.asarray(tokens, float))
        return Predictive(draws.log_curve(log_n, log_d, seed), draws.sigma, draws.nu)

    def predict(self, params, tokens, *, level: float = LEVEL, seed: int = 0) -> pd.DataFrame:
        """Expected loss and a new run's observed loss at each (params, tokens), with intervals.

        Also reports how many orders of magnitude each query lies beyond the
        fitted runs in N, D and C = 6ND (0 inside the range).
        """
        return forecast_table(self.draws, self.runs, np.asarray(params, float), np.asarray(tokens, float), level=level, seed=seed)

    def save(self, path: str | Path) -> Path:
        """Write the DataTree (posterior, sample stats, runs, provenance attrs) to NetCDF."""
        return savedfit.write(self.idata, path)

    @classmethod
    def load(cls, path: str | Path) -> "ScalingLawFit":
        """Read a law fit (single or pooled) written by :meth:`save`, refused with one line unless it
        passes :func:`scaling_forecast.savedfit.validate`."""
        return cls.from_tree(savedfit.read(path, ("single", "pooled")), Path(path))

    @classmethod
    def from_tree(cls, idata: xr.DataTree, path: Path) -> "ScalingLawFit":
        """The fit a DataTree read from ``path`` holds, checked in full (a :class:`PooledFit` for kind pooled)."""
        savedfit.validate(idata, path)
        if idata.attrs.get("kind", "single") == "pooled":
            from scaling_forecast.pooled import PooledFit  # the subclass lives with the population it needs

            return PooledFit.checked(idata, path)
        return cls(idata)

    def log_likelihood(self) -> xr.DataArray:
        """Pointwise log likelihood of each run's log loss under each draw, dims (chain, draw, run).

        nutpie stores no log likelihood, so it is recomputed here with the
        model's own Student-t; it is what LOO needs.
        """
        post = self.idata["posterior"].to_dataset()
        shape = (post.sizes["chain"], post.sizes["draw"], 1)
        values = {name: post[name].to_numpy().reshape(shape) for name in self.law.curve_vars}
        log_n, log_d = np.log(self.runs["params"].to_numpy()), np.log(self.runs["tokens"].to_numpy())
        mu = np.log(self.law.loss(log_n, log_d, values))
        sigma, nu = post["sigma"].to_numpy()[..., None], post["nu"].to_numpy()[..., None]
        value = stats.t.logpdf(np.log(self.runs["loss"].to_numpy()), nu, loc=mu, scale=sigma)
        return xr.DataArray(value, dims=("chain", "draw", "run"),
                            coords={"chain": post["chain"], "draw": post["draw"], "run": self.runs["run"].to_numpy()})

    def loo(self):
        """PSIS-LOO of the runs' log loss (ArviZ ``loo``, pointwise, with Pareto k per run)."""
        tree = xr.DataTree.from_dict({
            "posterior": self.idata["posterior"].to_dataset(),
            "log_likelihood": xr.Dataset({"log_loss": self.log_likelihood()}),
        })
        return az.loo(tree, pointwise=True, var_name="log_loss")


def sample(compiled, sampler: SamplerSettings, progress: bool | None) -> xr.DataTree:
    """Run nutpie on a compiled model with ``sampler``'s settings; a progress bar only on a terminal by default."""
    import nutpie

    return nutpie.sample(
        compiled,
        draws=sampler.draws,
        tune=sampler.tune,
        chains=sampler.chains,
        cores=min(sampler.chains, os.cpu_count() or 1),
        seed=sampler.seed,
        adaptation=sampler.adaptation,
        target_accept=sampler.target_accept,
        maxdepth=sampler.maxdepth,
        save_warmup=False,
        progress_bar=sys.stderr.isatty() if progress is None else progress,
    )


@functools.lru_cache(maxsize=8)
def _compiled(law: str, n_runs: int, priors: NoisePriors):
    """The model compiled once per number of runs and priors; fits swap in their data.

    Compiling costs several seconds, sampling about two: repeated fits
    (recovery checks, backtests) must not pay it each time.
    """
    import nutpie

    ones = np.ones(n_runs)
    return nutpie.compile_pymc_model(laws.get(law).build(ones * 1e9, ones * 1e10, ones * 3.0, priors=priors, swappable_data=True))


def _runs_dataset(runs: pd.DataFrame) -> xr.Dataset:
    columns = ["family", "params", "tokens", "compute", "loss", "loss_kind"]
    table = runs.assign(compute=compute_of(runs))
    return xr.Dataset(
        {c: ("run", table[c].to_numpy() if c in ("family", "loss_kind") else table[c].to_numpy(float)) for c in columns},
        coords={"run": table["run_id"].to_numpy(str)},
    )
