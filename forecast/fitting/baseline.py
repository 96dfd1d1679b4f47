# pyright: strict, reportUnknownMemberType=false, reportUnknownArgumentType=false, reportUnknownVariableType=false, reportUnknownLambdaType=false, reportMissingTypeStubs=false
"""Point-estimate baseline: Hoffmann et al. (2022) Approach 3 as re-run by Besiroglu et al. (2024).

The Bayesian fits are compared against this. It fits L = E + A N^-alpha + B D^-beta
(``scaling_forecast.models.laws.chinchilla_loss``) by minimising the summed Huber loss
(delta 1e-3) of log-loss residuals with L-BFGS-B from the best of Hoffmann et al.'s grid of
starts, with the analytic gradient and tolerances tight enough to reach the optimum (scipy's
defaults stop early at this loss scale, the flaw Besiroglu et al. found), and gets intervals by
refitting bootstrap resamples of the runs, one local fit each from the full-data fit. The
README ("The baseline in detail") says where this follows their code and where it departs, and why.
"""

import itertools
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import xarray as xr
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from scaling_forecast.core.errors import InputError
from scaling_forecast.fitting import savedfit
from scaling_forecast.fitting.base import Fitted, Question, Values
from scaling_forecast.fitting.predictive import Predictive
from scaling_forecast.models.laws import chinchilla_loss

# Parameter vector order used throughout: the argument order of chinchilla_loss.
PARAMETERS = ("log_e", "log_a", "log_b", "alpha", "beta")

# Hoffmann et al.'s grid, in Besiroglu et al.'s loop order (alpha, beta, e, a, b).
HOFFMANN_GRID = np.array(
    [
        (e, a, b, alpha, beta)
        for alpha, beta, e, a, b in itertools.product(
            np.arange(0, 2.5, 0.5), np.arange(0, 2.5, 0.5), np.arange(-1, 1.5, 0.5),
            np.arange(0, 30, 5), np.arange(0, 30, 5),
        )
    ],
    dtype=float,
)

DEFAULT_N_STARTS = 32
# Converge rather than stop on a small relative decrease (see module docstring).
_LBFGSB_OPTIONS = {"ftol": 0.0, "gtol": 1e-10, "maxiter": 10_000}
# Converged: gradient below this fraction of its largest possible size, delta * sum(weights)
# per unit of d log L. scipy's success flag is not used: with ftol=0 its line search ends
# "ABNORMAL" at the floating-point floor on ~1/3 of bootstrap refits that are at the optimum
# (they agree with BFGS at gtol=1e-9 to 1e-6 in every parameter).
_CONVERGED_GRADIENT = 1e-6
_GRID_CHUNK = 2_000_000  # residuals per vectorised grid evaluation, to bound memory


@dataclass(frozen=True)
class HuberFit:
    """One Huber fit of L = E + A N^-alpha + B D^-beta; ``objective`` is the summed Huber loss."""

    log_e: float
    log_a: float
    log_b: float
    alpha: float
    beta: float
    objective: float
    converged: bool

    @property
    def E(self) -> float:  # noqa: N802 - the law's own symbol
        return float(np.exp(self.log_e))

    @property
    def A(self) -> float:  # noqa: N802
        return float(np.exp(self.log_a))

    @property
    def B(self) -> float:  # noqa: N802
        return float(np.exp(self.log_b))

    @property
    def theta(self) -> np.ndarray:
        """(log_e, log_a, log_b, alpha, beta), the optimiser's parameter vector."""
        return np.array([self.log_e, self.log_a, self.log_b, self.alpha, self.beta])


def _runs(params: Values, tokens: Values, loss: Values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log N, log D, log L) as float arrays; an :class:`InputError` if they cannot be fitted."""
    arrays = [np.asarray(x, dtype=float).ravel() for x in (params, tokens, loss)]
    if len({a.size for a in arrays}) != 1:
        raise InputError(f"params, tokens and loss differ in length: {[a.size for a in arrays]}")
    for name, a in zip(("params", "tokens", "loss"), arrays):
        if not (np.isfinite(a).all() and (a > 0).all()):
            raise InputError(f"{name} must be finite and > 0 for a fit in logs")
    if arrays[0].size < len(PARAMETERS):
        raise InputError(f"{arrays[0].size} runs cannot determine {len(PARAMETERS)} law parameters")
    return np.log(arrays[0]), np.log(arrays[1]), np.log(arrays[2])


def _huber(abs_r: np.ndarray, delta: float) -> np.ndarray:
    """Huber loss of absolute residuals: quadratic within delta, linear beyond."""
    return np.where(abs_r <= delta, 0.5 * abs_r**2, delta * (abs_r - 0.5 * delta))


def _objective(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray, weights: np.ndarray,
               delta: float) -> tuple[float, np.ndarray]:
    """Summed (weighted) Huber loss of log-loss residuals and its gradient in theta."""
    log_e, log_a, log_b, alpha, beta = theta
    with np.errstate(over="ignore", invalid="ignore"):
        law = chinchilla_loss(log_n, log_d, log_e, log_a, log_b, alpha, beta)
        r = log_loss - np.log(law)
        abs_r = np.abs(r)
        value = weights @ _huber(abs_r, delta)
        if not np.isfinite(value):
            return np.inf, np.zeros(5)  # overflow: worse than any finite point, never the minimum
        # dHuber/dr is r clipped to +-delta; d log L / d(term) is that term's share of L.
        psi = weights * np.clip(r, -delta, delta)
        share_a = np.exp(log_a - alpha * log_n) / law
        share_b = np.exp(log_b - beta * log_d) / law
        share_e = np.exp(log_e) / law
    grad = -np.array([psi @ share_e, psi @ share_a, psi @ share_b, -(psi * share_a) @ log_n, -(psi * share_b) @ log_d])
    return float(value), grad


def _grid_objective(starts: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray,
                    delta: float) -> np.ndarray:
    """The unweighted objective at every start, vectorised over starts (chunked to bound memory)."""
    out = np.empty(len(starts))
    step = max(1, _GRID_CHUNK // log_n.size)
    for i in range(0, len(starts), step):
        s = starts[i : i + step]
        with np.errstate(over="ignore", invalid="ignore"):
            law = chinchilla_loss(log_n, log_d, s[:, [0]], s[:, [1]], s[:, [2]], s[:, [3]], s[:, [4]])
            abs_r = np.abs(log_loss - np.log(law))
            h = _huber(abs_r, delta).sum(axis=1)
        out[i : i + step] = np.where(np.isfinite(h), h, np.inf)
    return out


def _local_fit(theta0: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray, weights: np.ndarray,
               delta: float) -> tuple[np.ndarray, float, bool]:
    result = minimize(
        _objective, np.asarray(theta0, dtype=float), args=(log_n, log_d, log_loss, weights, delta),
        jac=True, method="L-BFGS-B", options=_LBFGSB_OPTIONS,
    )
    gradient_scale = delta * weights.sum()
    converged = bool(np.isfinite(result.fun)) and np.abs(result.jac).max() <= _CONVERGED_GRADIENT * gradient_scale
    return result.x, float(result.fun), bool(converged)


def _one_blas_thread():
    """Limit BLAS to one thread: L-BFGS-B makes tiny BLAS calls, and OpenBLAS's thread hand-off
    costs far more than the calls on a busy machine (README, "Choices of libraries")."""
    return threadpool_limits(limits=1)


def fit_huber(
    params: np.ndarray,
    tokens: np.ndarray,
    loss: np.ndarray,
    *,
    delta: float = 1e-3,
    grid: np.ndarray | None = None,
    n_starts: int | None = DEFAULT_N_STARTS,
) -> HuberFit:
    """Minimise the summed Huber loss of log-loss residuals from the best grid starts.

    ``grid`` holds starts as rows (log_e, log_a, log_b, alpha, beta), default
    :data:`HOFFMANN_GRID`; L-BFGS-B runs from the ``n_starts`` with the lowest
    starting objective (``None``: all). The lowest converged optimum wins.
    """
    log_n, log_d, log_loss = _runs(params, tokens, loss)
    starts = HOFFMANN_GRID if grid is None else np.atleast_2d(np.asarray(grid, dtype=float))
    if starts.ndim != 2 or starts.shape[1] != 5:
        raise InputError(f"grid must have one start per row with 5 columns {PARAMETERS}, got shape {starts.shape}")
    if n_starts is not None and n_starts < 1:
        raise InputError(f"n_starts must be >= 1 or None, got {n_starts}")
    order = np.argsort(_grid_objective(starts, log_n, log_d, log_loss, delta), kind="stable")
    weights = np.ones_like(log_n)
    with _one_blas_thread():
        fits = [_local_fit(starts[i], log_n, log_d, log_loss, weights, delta) for i in order[:n_starts]]
    # Like Besiroglu et al., prefer converged runs; fall back to the lowest objective.
    theta, value, converged = min(fits, key=lambda f: (not f[2], f[1]))
    return HuberFit(*map(float, theta), objective=value, converged=converged)


def _refit_many(theta0: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray, counts: np.ndarray,
                delta: float) -> list[tuple[np.ndarray, float, bool]]:
    """Refit each resample, given as counts per run (a resample's Huber sum is the count-weighted sum)."""
    with _one_blas_thread():
        return [_local_fit(theta0, log_n, log_d, log_loss, w, delta) for w in counts]


def _worker_init() -> None:
    _one_blas_thread()  # a process-wide limit: the pool's workers only ever fit


def bootstrap(
    params: np.ndarray,
    tokens: np.ndarray,
    loss: np.ndarray,
    *,
    n_boot: int = 4000,
    seed: int = 0,
    delta: float = 1e-3,
    n_jobs: int = 1,
    start: HuberFit | None = None,
) -> pd.DataFrame:
    """Refit ``n_boot`` resamples of the runs (with replacement), one L-BFGS-B run each from ``start``.

    ``start`` defaults to :func:`fit_huber` on all runs. One row per resample:
    E, A, B, alpha, beta, log_e, log_a, log_b, objective, converged. Results
    depend only on the data, ``seed`` and ``start``, not on ``n_jobs``.
    ``n_jobs > 1`` uses a forkserver process pool, so a script calling it needs
    the usual ``if __name__ == "__main__":`` guard.
    """
    log_n, log_d, log_loss = _runs(params, tokens, loss)
    if n_boot < 1:
        raise InputError(f"n_boot must be >= 1, got {n_boot}")
    if n_jobs < 1:
        raise InputError(f"n_jobs must be >= 1, got {n_jobs}")
    if start is None:
        start = fit_huber(params, tokens, loss, delta=delta)
    n = log_n.size
    # All resamples are drawn up front, so the draws do not depend on how work is split.
    picks = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    counts = np.bincount((picks + n * np.arange(n_boot)[:, None]).ravel(), minlength=n_boot * n)
    counts = counts.reshape(n_boot, n).astype(float)
    args = (start.theta, log_n, log_d, log_loss)
    if n_jobs == 1:
        results = _refit_many(*args, counts, delta)
    else:
        chunks = np.array_split(counts, min(n_boot, 4 * n_jobs))  # a few chunks per worker balances load
        # forkserver: a clean child, not a fork of a process that already runs BLAS threads.
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=context, initializer=_worker_init) as pool:
            parts = pool.map(_refit_many, *zip(*[(*args, chunk, delta) for chunk in chunks]))
            results = [r for part in parts for r in part]
    theta = np.array([r[0] for r in results])
    draws = pd.DataFrame(theta, columns=list(PARAMETERS))
    # A refit of a handful of runs can send log A or log B past 709 (the term's exponent near zero): the constant
    # is then inf in these columns, which say so, while forecasts use the logs; numpy's overflow warning on stderr
    # (printed in the middle of a backtest's output) would say nothing more.
    with np.errstate(over="ignore"):
        draws.insert(0, "E", np.exp(draws["log_e"]))
        draws.insert(1, "A", np.exp(draws["log_a"]))
        draws.insert(2, "B", np.exp(draws["log_b"]))
    draws = draws.reindex(columns=["E", "A", "B", "alpha", "beta", "log_e", "log_a", "log_b"])
    draws["objective"] = [r[1] for r in results]
    draws["converged"] = [r[2] for r in results]
    return draws


def baseline_fit(
    params: np.ndarray,
    tokens: np.ndarray,
    loss: np.ndarray,
    *,
    n_boot: int = 4000,
    seed: int = 0,
    delta: float = 1e-3,
    n_jobs: int = 1,
    grid: np.ndarray | None = None,
    n_starts: int | None = DEFAULT_N_STARTS,
) -> tuple[HuberFit, pd.DataFrame]:
    """The full baseline: the grid fit on all runs, then bootstrap refits started from it."""
    fit = fit_huber(params, tokens, loss, delta=delta, grid=grid, n_starts=n_starts)
    draws = bootstrap(params, tokens, loss, n_boot=n_boot, seed=seed, delta=delta, n_jobs=n_jobs, start=fit)
    return fit, draws


@dataclass(frozen=True)
class HuberDiagnostics:
    """Whether the Huber fit on all runs reached its optimum, and the share of bootstrap refits that did."""

    point_converged: bool
    bootstrap_converged: float

    @property
    def converged(self) -> bool:
        return self.point_converged

    def problems(self) -> list[str]:
        return [] if self.point_converged else ["the Huber fit on all runs did not reach its optimum"]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"converged": self.converged}


@dataclass(frozen=True)
class BaselineFit(Fitted):
    """The baseline as a predictive: the bootstrap curves, times Gaussian noise of the fit's robust
    residual scale (1.4826 x median absolute log residual), since the bootstrap alone describes the
    curve, not a run. Answers the same ``predictive`` question as the Bayesian fits, and saves the
    bootstrap draws as a posterior group (one chain) so that it loads like them."""

    kind: ClassVar[str] = "baseline"
    questions: ClassVar[frozenset[Question]] = frozenset({"backtest"})
    point: HuberFit
    draws: pd.DataFrame
    scale: float
    settings: dict[str, Any] = field(default_factory=dict[str, Any])

    def diagnose(self) -> HuberDiagnostics:
        return HuberDiagnostics(bool(self.point.converged), float(self.draws["converged"].to_numpy().mean()))

    @classmethod
    def fit(cls, runs: pd.DataFrame, *, n_boot: int = 4000, seed: int = 0) -> "BaselineFit":
        """The grid fit and ``n_boot`` bootstrap refits on ``runs`` (columns params, tokens, loss)."""
        point, draws = baseline_fit(runs["params"].to_numpy(), runs["tokens"].to_numpy(), runs["loss"].to_numpy(),
                                    n_boot=n_boot, seed=seed)
        log_n, log_d, log_loss = _runs(runs["params"], runs["tokens"], runs["loss"])
        fitted = chinchilla_loss(log_n, log_d, point.log_e, point.log_a, point.log_b, point.alpha, point.beta)
        return cls(point, draws, float(1.4826 * np.median(np.abs(log_loss - np.log(fitted)))),
                   {"n_boot": n_boot, "seed": seed})

    def predictive(self, params: Values, tokens: Values, unique_tokens: Values | None = None, *, family: str | None = None,
                   seed: int = 0) -> Predictive:
        """A new run's log loss at each (N, D); ``unique_tokens`` is ignored (no repeated-data term)."""
        n, d = np.log(np.asarray(params, float))[:, None], np.log(np.asarray(tokens, float))[:, None]
        b = {k: self.draws[k].to_numpy() for k in PARAMETERS}
        mu = np.log(chinchilla_loss(n, d, b["log_e"], b["log_a"], b["log_b"], b["alpha"], b["beta"]))
        size = mu.shape[1]
        return Predictive(mu, np.full(size, self.scale), np.full(size, np.inf))

    def describe(self) -> str:
        return (f"Huber point fit of the chinchilla law with {len(self.draws)} bootstrap refits "
                "(Hoffmann et al. 2022 approach 3, as Besiroglu et al. 2024 re-ran it)")

    def to_tree(self) -> xr.DataTree:
        """The bootstrap draws (a posterior group of one chain), the point fit and the scale, as :meth:`save`
        writes them."""
        columns = self.draws.assign(converged=self.draws["converged"].astype("int8"))  # NetCDF has no booleans
        idata = xr.DataTree.from_dict({"posterior": xr.Dataset(
            {c: (("chain", "draw"), columns[c].to_numpy()[None, :]) for c in columns.columns})})
        savedfit.stamp(idata, self.kind)
        idata.attrs.update(point=json.dumps(asdict(self.point), default=lambda v: v.item()), scale=self.scale,
                           settings=json.dumps(self.settings))
        return idata

    @classmethod
    def problem(cls, idata: xr.DataTree) -> str | None:
        """A group or attribute missing, or a bootstrap draw missing or not finite."""
        if "posterior" not in idata.children or not {"point", "scale", "settings"} <= set(idata.attrs):
            return "not a complete baseline fit (a posterior group, point, scale and settings)"
        posterior = idata["posterior"].to_dataset()
        for name in PARAMETERS:
            if name not in posterior or not np.isfinite(posterior[name].to_numpy()).all():
                return f"bootstrap draws of {name!r} are missing or not finite"
        return None

    @classmethod
    def from_checked_tree(cls, idata: xr.DataTree) -> Self:
        posterior = idata["posterior"].to_dataset()
        draws = posterior.isel(chain=0).drop_vars(["chain", "draw"], errors="ignore").to_dataframe().reset_index(drop=True)
        return cls(HuberFit(**json.loads(idata.attrs["point"])), draws.assign(converged=draws["converged"].astype(bool)),
                   float(idata.attrs["scale"]), json.loads(idata.attrs["settings"]))
