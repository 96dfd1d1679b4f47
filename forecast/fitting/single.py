# pyright: strict, reportUnknownMemberType=false, reportUnknownArgumentType=false, reportUnknownVariableType=false, reportUnknownLambdaType=false, reportMissingTypeStubs=false
"""Fitting a scaling law with PyMC + nutpie, and the fitted object (fit, predict, save, load).

The posterior, the runs it was fitted to and the provenance (dataset and hash,
law, priors, seed, package version, run selection) live in one ArviZ
DataTree, saved as NetCDF; loading it back gives identical forecasts.
"""

import functools
import json
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Self, cast

import numpy as np
import pandas as pd
import xarray as xr

from scaling_forecast.core.errors import InputError
from scaling_forecast.core.intervals import LEVEL, Interval
from scaling_forecast.fitting import savedfit
from scaling_forecast.fitting.base import Fitted, Question, Values
from scaling_forecast.fitting.diagnostics import Diagnostics, diagnose
from scaling_forecast.fitting.draws import LawDraws
from scaling_forecast.fitting.predictive import Predictive, forecast_table
from scaling_forecast.fitting.sampling import sample
from scaling_forecast.fitting.settings import RunSelection, SamplerSettings
from scaling_forecast.inputs.query_points import points
from scaling_forecast.inputs.runs import compute_of, metadata_columns
from scaling_forecast.models import law_registry as laws
from scaling_forecast.models.law_registry import Law
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN
from scaling_forecast.models.priors import LevelPriors

# The columns of a tidy run table (scaling_forecast.inputs.runs) that a fit reads.
FITTED_COLUMNS = ("family", "run_id", "params", "tokens", "compute", "loss", "loss_kind")


@dataclass(frozen=True)
class Pooling:
    """What the population of registered families gave a pooled fit: the population (key, families, datasets,
    its fit's diagnostics), how much of each constant came from the family's own runs (``from_runs_share``: 1 -
    posterior / prior variance) and the family's extrapolation slope (``own_slope``)."""

    population: dict[str, Any]
    from_runs_share: dict[str, float]
    own_slope: dict[str, Any]


class ScalingLawFit(Fitted):
    """A fitted scaling law (any of ``scaling_forecast.models.law_registry.LAWS``): posterior, runs and provenance
    in one DataTree."""

    kind: ClassVar[str] = "single"
    questions: ClassVar[frozenset[Question]] = frozenset({"predict", "allocate", "plan", "backtest"})
    samples_law: ClassVar[bool] = True  # the posterior holds the law's own sampled variables (law.free_vars)

    def __init__(self, idata: xr.DataTree):
        self.idata = idata

    @property
    def attrs(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.idata.attrs)  # the DataTree's own: NetCDF attribute names are text

    @property
    def pooling(self) -> "Pooling | None":
        """What a population of registered families contributed to this fit: None, a law fitted alone."""
        return None

    @classmethod
    def fit(
        cls,
        runs: pd.DataFrame,
        *,
        source: str,
        source_sha256: str,
        law: str = "chinchilla",
        selection: RunSelection = RunSelection(),
        priors: LevelPriors | None = None,
        sampler: SamplerSettings = SamplerSettings(),
        progress: bool | None = None,
    ) -> "ScalingLawFit":
        """Fit ``law`` to the selected ``runs`` with nutpie (``priors``: the law's defaults when None).

        nutpie samples the law's density as :mod:`scaling_forecast.models.densities` writes it out (the PyMC model's,
        compiled once and cached on disk), so a fit in a new process pays no compilation.
        """
        from scaling_forecast.models import densities  # numba: answering from a saved fit needs none

        if missing := [c for c in FITTED_COLUMNS if c not in runs.columns]:
            raise InputError(f"the runs lack the tidy columns {', '.join(missing)}: give a DataFrame of your runs to "
                             "scaling_forecast.fit, which checks and tidies it")
        spec = laws.get(law)
        chosen_priors = spec.priors() if priors is None else priors
        chosen = selection.apply(runs)
        arrays = (chosen["params"].to_numpy(), chosen["tokens"].to_numpy(), chosen["loss"].to_numpy())
        idata = sample(densities.compiled(law, *arrays, chosen_priors), sampler, progress)
        for group, data in run_groups(chosen).items():
            idata[group] = xr.DataTree(data)
        savedfit.stamp(idata, cls.kind)
        idata.attrs.update(
            law=law,
            law_formula=spec.formula,
            dataset=source,
            dataset_sha256=source_sha256,
            selection=json.dumps(asdict(selection)),
            priors=json.dumps(chosen_priors.as_dict()),
            sampler=json.dumps(asdict(sampler)),
            seed=sampler.seed,
        )
        fitted = cls(idata)
        idata.attrs["diagnostics"] = json.dumps(fitted.diagnostics.as_dict())
        # What ArviZ's loo, compare and plot_ppc_dist read from the file alone; float32 halves their size.
        idata["log_likelihood"] = xr.DataTree(xr.Dataset({"log_loss": fitted.log_likelihood().astype(np.float32)}))
        idata["posterior_predictive"] = xr.DataTree(xr.Dataset({"log_loss": fitted.replicated(sampler.seed)}))
        return fitted

    @property
    def law(self) -> Law:
        return laws.get(self.attrs["law"])

    # The posterior does not change after fitting, so derived views are computed once.
    @property
    def free_vars(self) -> tuple[str, ...]:
        """The sampled variables: diagnostics are taken over these."""
        return self.law.free_vars

    def diagnose(self) -> Diagnostics:
        """R-hat, ESS, divergences and BFMI over the sampled variables: computed with ArviZ when fitting, read
        back from the saved record afterwards."""
        if "diagnostics" in self.attrs:
            return Diagnostics.saved(json.loads(self.attrs["diagnostics"]), self.idata, list(self.free_vars))
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
        """The runs the law was fitted to (``constant_data`` with the loss of ``observed_data``)."""
        data = self.idata["constant_data"].to_dataset()
        log_loss = self.idata["observed_data"]["log_loss"]
        # On the numbers: a ufunc on a DataArray makes xarray import dask to ask whether it is one.
        table = data.assign(loss=(log_loss.dims, np.exp(log_loss.to_numpy()))).to_dataframe().reset_index()
        first = ["run", "family", "params", "tokens", "compute", "loss", "loss_kind"]
        return table[first + [c for c in table.columns if c not in first]]

    @functools.cached_property
    def draws(self) -> LawDraws:
        """Posterior draws of the law's parameters, flattened over chains."""
        post = self.idata["posterior"].to_dataset()
        flat = {name: post[name].to_numpy().reshape(-1) for name in self.law.curve_vars + ("sigma", "nu")}
        sigma, nu = flat.pop("sigma"), flat.pop("nu")
        return LawDraws(self.law, flat, sigma, nu)

    def parameters(self, level: float = LEVEL) -> dict[str, dict[str, Any]]:
        """Median and equal-tailed ``level`` interval of each law parameter, with units."""
        post = self.idata["posterior"].to_dataset()
        out = {}
        for name, units in self.law.parameters.items():
            out[name] = Interval.of(post[name].to_numpy().reshape(-1), level).as_dict() | {"units": units}
        return out

    def predictive(self, params: Values, tokens: Values, unique_tokens: Values | None = None, *, family: str | None = None,
                   seed: int = 0) -> Predictive:
        """A new run's log loss at each (N, D) as a mixture over draws (the question every kind of fit answers).

        A law fitted alone ignores ``unique_tokens``: it has no term for repeated data.
        """
        draws = self.draws
        log_n, log_d = np.log(np.asarray(params, float)), np.log(np.asarray(tokens, float))
        return Predictive(draws.log_curve(log_n, log_d, seed), draws.sigma, draws.nu)

    def predict(self, params: Values, tokens: Values | None = None, *, compute: Values | None = None, level: float = LEVEL,
                seed: int = 0) -> pd.DataFrame:
        """Expected loss and a new run's observed loss (nats/token) at each (N, D), with ``level`` intervals;
        give D as ``tokens`` or as training FLOP ``compute`` (D = C / 6N), not both.

        Also reports how many orders of magnitude each query lies beyond the
        fitted runs in N, D and C = 6ND (0 inside the range).

        >>> import scaling_forecast as sf
        >>> fit = sf.fit("chinchilla-epoch", drop_highest_loss=5, progress=False)
        >>> table = fit.predict([7e10, 7e10], [1.4e12, 2.8e12])  # Chinchilla, and on twice the data
        >>> bool(table.loc[1, "loss_median"] < table.loc[0, "loss_median"] < 2.0)
        True
        >>> fit.predict(7e10, compute=5.88e23)["tokens"].round(-9).tolist()
        [1400000000000.0]
        """
        params, tokens = _query(params, tokens, compute)
        return forecast_table(self.draws, self.runs, params, tokens, level=level, seed=seed)

    def predict_draws(self, params: Values, tokens: Values | None = None, *, compute: Values | None = None,
                      seed: int = 0) -> xr.DataArray:
        """Posterior draws of the expected loss (nats/token) at each (N, D), dims (point, sample), with the
        points' N, D and C as coordinates: the whole posterior where :meth:`predict` summarises it.

        >>> import scaling_forecast as sf
        >>> fit = sf.fit("chinchilla-epoch", drop_highest_loss=5, progress=False)
        >>> draws = fit.predict_draws([7e10], [1.4e12])
        >>> draws.sizes["sample"], bool(1.9 < float(draws.median()) < 2.0)
        (4000, True)
        """
        params, tokens = _query(params, tokens, compute)
        values = np.exp(self.draws.log_curve(np.log(params), np.log(tokens), seed))
        return xr.DataArray(values, dims=("point", "sample"), name="expected_loss",
                            coords={"params": ("point", params), "tokens": ("point", tokens),
                                    "compute": ("point", FLOP_PER_PARAM_TOKEN * params * tokens)},
                            attrs={"units": "nats/token", "law": self.attrs["law"], "data": self.attrs["dataset"]})

    def to_tree(self) -> xr.DataTree:
        """The DataTree (posterior, sample stats, runs, provenance attrs) that :meth:`save` writes."""
        return self.idata

    @classmethod
    def problem(cls, idata: xr.DataTree) -> str | None:
        return savedfit.law_fit_problem(idata, cls.samples_law)

    @classmethod
    def from_checked_tree(cls, idata: xr.DataTree) -> Self:
        return cls(idata)

    def log_likelihood(self) -> xr.DataArray:
        """Pointwise log likelihood of each run's log loss under each draw, dims (chain, draw, run).

        nutpie stores no log likelihood, so it is computed here from the model's own Student-t, by the one
        predictive (:class:`~scaling_forecast.fitting.predictive.Predictive`); it is what LOO needs.
        """
        log_loss = self.idata["observed_data"]["log_loss"].to_numpy()
        return self._per_run(self._runs_predictive().pointwise_log_density(log_loss))

    def replicated(self, seed: int) -> xr.DataArray:
        """Draws of the runs' log loss replicated under each posterior draw, dims (chain, draw, run): the
        posterior predictive of the fitted runs (float32)."""
        return self._per_run(self._runs_predictive().replicate(seed).astype(np.float32))

    def _runs_predictive(self) -> Predictive:
        """The law's predictive at each fitted run, (run, draw): the likelihood the posterior was sampled with."""
        draws = self.draws
        log_n, log_d = np.log(self.runs["params"].to_numpy()), np.log(self.runs["tokens"].to_numpy())
        return Predictive(np.log(self.law.loss(log_n[:, None], log_d[:, None], draws.values)), draws.sigma, draws.nu)

    def _per_run(self, values: np.ndarray) -> xr.DataArray:
        """(run, draw) values, draws flattened chain by chain, as dims (chain, draw, run)."""
        post = self.idata["posterior"]
        chains, draws = post.sizes["chain"], post.sizes["draw"]
        return xr.DataArray(values.T.reshape(chains, draws, -1), dims=("chain", "draw", "run"),
                            coords={"chain": post["chain"].to_numpy(), "draw": post["draw"].to_numpy(),
                                    "run": self.runs["run"].to_numpy()})

    def loo(self) -> Any:  # ArviZ's ELPDData
        """PSIS-LOO of the runs' log loss (ArviZ ``loo``, pointwise, with Pareto k per run), from the saved
        ``log_likelihood`` (recomputed for files written before it was saved)."""
        import arviz as az  # only here: answering from a saved fit needs no ArviZ

        if "log_likelihood" in self.idata.children:
            return az.loo(self.idata, pointwise=True, var_name="log_loss")
        tree = xr.DataTree.from_dict({
            "posterior": self.idata["posterior"].to_dataset(),
            "log_likelihood": xr.Dataset({"log_loss": self.log_likelihood()}),
        })
        return az.loo(tree, pointwise=True, var_name="log_loss")


def _query(params: Values, tokens: Values | None, compute: Values | None) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) arrays of a Python query, checked as the command line checks its params with tokens or compute."""
    if tokens is not None and compute is None:
        return points(params=_floats(params), tokens=_floats(tokens))
    if compute is not None and tokens is None:
        return points(params=_floats(params), compute=_floats(compute))
    raise InputError("give {tokens} or {compute} for the {params}, not both", parameters=("tokens", "compute", "params"))


def _floats(values: Values) -> tuple[float, ...]:
    try:
        return tuple(np.atleast_1d(np.asarray(values, float)).tolist())
    except (TypeError, ValueError):
        raise InputError(f"{values!r}: give numbers (7e10, not '70B')") from None


def run_groups(runs: pd.DataFrame) -> dict[str, xr.Dataset]:
    """The fitted runs as ArviZ keeps a model's data, dim ``run`` (the run ids): ``constant_data`` (family, N,
    D, C, loss kind and a user file's metadata columns, as numbers or text) and ``observed_data`` (the log
    loss the likelihood models)."""
    table = runs.assign(compute=compute_of(runs))
    text = ["family", "loss_kind"] + [c for c in metadata_columns(runs) if not pd.api.types.is_numeric_dtype(runs[c])]
    columns = ["family", "params", "tokens", "compute", "loss_kind"] + metadata_columns(runs)
    coords = {"run": table["run_id"].to_numpy(str)}
    constant = {c: ("run", table[c].astype(str).to_numpy() if c in text else table[c].to_numpy(float)) for c in columns}
    return {"constant_data": xr.Dataset(constant, coords=coords),
            "observed_data": xr.Dataset({"log_loss": ("run", np.log(table["loss"].to_numpy(float)))}, coords=coords)}
