"""Planning answers from a fitted law, each a posterior median with an interval: the data a model of N
parameters should get, what K accelerators for T days buy, the compute a target loss needs (and, with
inference demand, the cheapest run to it), and what a limited stock of unique tokens supports.

The first three are exact per posterior draw on the law's compute-optimal frontier
(``scaling_forecast.models.laws``: log N_opt = n0 + a log(C/6), optimal loss E + exp(r0 - g log(C/6))),
vectorised over questions x draws like the allocation. The inference-aware run (Sardana et al. 2024) and
the data-constrained optimum (Muennighoff et al. 2023) have no closed form: each (question, draw) is a
one-dimensional search, vectorised the same way. Hardware turns into FLOP through the accelerators'
published dense BF16 peak throughput and a prior on model FLOPs utilisation (MFU) from the MFUs large
runs reported (``data/published/``), whose uncertainty the answers carry.
"""

import math
from dataclasses import dataclass

import numpy as np

from scaling_forecast import published
from scaling_forecast.errors import InputError
from scaling_forecast.intervals import Interval, band, quantiles
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN, data_constrained_loss, effective_log_tokens
from scaling_forecast.predict import LawDraws

SECONDS_PER_DAY = 86_400.0
MORE_DATA = (0.5, 2.0, 5.0, 10.0)  # multiples of the compute-optimal D at which the loss of a given N is shown
PROBABILITIES = (0.5, 0.9)  # of reaching a target loss


def _intervals(values: np.ndarray, level: float) -> list[Interval]:
    """One Interval per row of ``values`` (rows x draws)."""
    lo, median, hi = quantiles(values, band(level))
    return [Interval(float(m), float(a), float(b), level) for m, a, b in zip(np.atleast_1d(median), np.atleast_1d(lo),
                                                                             np.atleast_1d(hi))]


def _positive(values, what: str) -> np.ndarray:
    values = np.atleast_1d(np.asarray(values, float))
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        raise InputError(f"{what}={values[bad][0]:g} must be positive and finite")
    return values


def _above_floor(frontier, targets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Target losses checked, whether each lies above each draw's floor E (targets x draws), and log(L - E)
    there (0 standing in elsewhere, so that the arithmetic stays finite; those draws are dropped)."""
    targets = _positive(targets, "--target-loss")
    gap = targets[:, None] - frontier.e
    ok = gap > 0
    return targets, ok, np.log(np.where(ok, gap, 1.0))


@dataclass(frozen=True)
class ForParams:
    """For a model of ``params`` parameters: the compute-optimal tokens (the D at which that N is optimal),
    the compute and tokens per parameter there, the expected loss (nats/token), and the expected loss at
    multiples of that D (``more_data``: the return of more or less data)."""

    params: float
    tokens: Interval
    compute: Interval
    tokens_per_param: Interval
    loss: Interval
    more_data: dict[float, Interval]


def for_params(draws: LawDraws, params, *, level: float) -> list[ForParams]:
    """The compute-optimal data for each N in ``params``, per draw: log(C/6) = (log N - n0) / a."""
    params = _positive(params, "--params")
    frontier = draws.frontier()
    log_n = np.log(params)[:, None]
    log_budget = frontier.log_budget_for_params(log_n)
    log_d = log_budget - log_n
    more = {m: _intervals(draws.law.loss(log_n, log_d + np.log(m), draws.values), level) for m in MORE_DATA}
    tokens, compute = _intervals(np.exp(log_d), level), _intervals(FLOP_PER_PARAM_TOKEN * np.exp(log_budget), level)
    per_param = _intervals(np.exp(log_d - log_n), level)
    loss = _intervals(frontier.loss(log_budget), level)
    return [ForParams(float(n), tokens[i], compute[i], per_param[i], loss[i], {m: more[m][i] for m in MORE_DATA})
            for i, n in enumerate(params)]


@dataclass(frozen=True)
class ForInference:
    """For a target expected loss and ``inference_tokens`` tokens to be served (each costing 2N FLOP), the
    run that reaches the target with the least training plus inference compute (Sardana et al. 2024): N, D,
    training and total FLOP; beside it the Chinchilla-optimal run for the same loss (``chinchilla_*``) and
    the share of total compute the inference-aware run saves. Over the draws whose floor E lies below the
    target (``p_reachable``)."""

    target: float
    inference_tokens: float
    p_reachable: float
    params: Interval | None = None
    tokens: Interval | None = None
    training_compute: Interval | None = None
    total_compute: Interval | None = None
    chinchilla_params: Interval | None = None
    chinchilla_total_compute: Interval | None = None
    saving: Interval | None = None


def for_inference(draws: LawDraws, targets, inference_tokens: float, *, level: float) -> list[ForInference]:
    """Per draw, the N that minimises 6 N D + 2 N T subject to the law's expected loss at (N, D) being the
    target L. On the iso-loss curve write w for the share of the reducible loss L - E in the N term
    (A N^-alpha = w (L - E), B D^-beta = (1 - w)(L - E)); the total's derivative in log N vanishes where
    h(w) = ((1 + alpha/beta) w - 1) (1 - w)^(-(1 + beta)/beta) = T / (3 D0), D0 = (B / (L - E))^(1/beta).
    h rises from 0 at Chinchilla's share w_c = beta/(alpha+beta) to infinity at w = 1, so the root (a smaller
    model on more data) is unique. With u = log((1 - w_c)/(1 - w)) > 0, log h = log k + log(1 - e^-u) +
    power (u + t_c) (k = alpha/beta, power = (1+beta)/beta, t_c = log(1 + 1/k)), which is nearly linear in
    log u for small u and in u for large u: Newton's method in log u, kept inside a bracket that holds the
    root, converges in a few steps everywhere."""
    if draws.law.name != "chinchilla":
        raise InputError(f"--inference-tokens needs a chinchilla-law fit; this fit is of the {draws.law.name} law")
    tokens_served = _positive(inference_tokens, "--inference-tokens")[0]
    v, frontier = draws.values, draws.frontier()
    alpha, beta = v["alpha"], v["beta"]
    targets, ok, log_gap = _above_floor(frontier, targets)
    k, power = alpha / beta, (1 + beta) / beta
    t_c = np.log1p(1 / k)
    c = np.log(tokens_served / 3) - (v["log_B"] - log_gap) / beta - np.log(k) - power * t_c  # log h's target, less
    # Where the root lies: log(1 - e^-u) + power u - c is below log u + power u - c < 0 at
    # log u = min(c, 0) - 2 - log(power), and above -0.15 + 2 power > 0 at u = max(c, 0) / power + 2.
    lo, hi = np.minimum(c, 0) - 2 - np.log(power), np.log(np.maximum(c, 0) / power + 2)
    z = np.clip(np.log(np.maximum(np.exp(np.minimum(c, 0)), np.maximum(c, 0) / power)), lo, hi)
    for _ in range(NEWTON_STEPS):
        u = np.exp(z)
        excess = np.log(-np.expm1(-u)) + power * u - c
        lo, hi = np.where(excess < 0, z, lo), np.where(excess < 0, hi, z)
        newton = z - excess / (u / np.expm1(u) + power * u)
        step = np.where((newton >= lo) & (newton <= hi), newton, (lo + hi) / 2) - z  # >=: a converged z stays
        z = z + step
        if np.abs(step).max() < 1e-13:
            break
    t = t_c + np.exp(z)  # -log(1 - w)
    x = (v["log_A"] - np.log(-np.expm1(-t)) - log_gap) / alpha
    log_d = (v["log_B"] + t - log_gap) / beta
    training = FLOP_PER_PARAM_TOKEN * np.exp(x + log_d)
    total = training + 2 * np.exp(x) * tokens_served
    x_budget = (frontier.r0 - log_gap) / frontier.g  # where the optimal loss is the target
    start = frontier.log_params(x_budget)  # log N of the Chinchilla optimum for the target
    chinchilla_total = FLOP_PER_PARAM_TOKEN * np.exp(x_budget) + 2 * np.exp(start) * tokens_served
    out = []
    for i, target in enumerate(targets):
        answer = ForInference(float(target), float(tokens_served), float(ok[i].mean()))
        if ok[i].any():
            rows = np.stack([np.exp(x[i]), np.exp(log_d[i]), training[i], total[i], np.exp(start[i]),
                             chinchilla_total[i], 1 - total[i] / chinchilla_total[i]])[:, ok[i]]
            answer = ForInference(answer.target, answer.inference_tokens, answer.p_reachable, *_intervals(rows, level))
        out.append(answer)
    return out


@dataclass(frozen=True)
class ForUniqueTokens:
    """For ``unique_tokens`` unique tokens, with Muennighoff et al.'s data-constrained law (R*_D, R*_N):

    - without repeating them: the largest compute-optimal model (the N whose compute-optimal D is U), the
      compute it takes and its expected loss;
    - ``four_epochs``: the loss of 4 epochs over U minus the loss of 4U fresh tokens, at the model
      compute-optimal for 4U (the paper's "up to 4 epochs is nearly as good as new data");
    - with a ``budget`` (FLOP), the data-constrained optimum: N, D, epochs over U, expected loss, the
      ``penalty`` against the same budget with unlimited data, and that unlimited optimum's N.
    """

    unique_tokens: float
    params_without_repeats: Interval
    compute_without_repeats: Interval
    loss_without_repeats: Interval
    four_epochs: Interval
    budget: float | None = None
    params: Interval | None = None
    tokens: Interval | None = None
    epochs: Interval | None = None
    loss: Interval | None = None
    penalty: Interval | None = None
    params_unlimited: Interval | None = None


NEWTON_STEPS = 60  # safeguarded Newton steps at most; they stop once every step is below 1e-10 in log N


def _effective(log_x: np.ndarray, log_u: np.ndarray, r_star) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log X' of Muennighoff's effective count (:func:`~scaling_forecast.models.laws.effective_log_tokens`) and
    its first and second derivatives in log X (1 and 0 up to U, where nothing repeats)."""
    excess = np.maximum(np.exp(log_x - log_u) - 1, 0.0)
    log_eff = effective_log_tokens(log_x, np.minimum(log_x, log_u), r_star)
    slope = np.where(log_x > log_u, np.exp(-excess / r_star + log_x - log_eff), 1.0)
    curve = np.where(log_x > log_u, slope * (1 - (excess + 1) / r_star - slope), 0.0)
    return log_eff, slope, curve


def data_constrained_optimum(values: dict, log_budget: np.ndarray, log_u: np.ndarray, log_u_n: np.ndarray, r_star_d,
                             r_star_n, start: np.ndarray) -> np.ndarray:
    """log N minimising the data-constrained loss (:func:`~scaling_forecast.models.laws.data_constrained_loss`)
    at N D = exp(``log_budget``) with U unique tokens (and U_N, the model compute-optimal for them),
    elementwise (questions x draws): Newton's method on its derivative in log N,
    from ``start``, kept inside a bracket [start - 8, start + 8] that shrinks to where the derivative changes
    sign. Newton's step is taken where it stays in the bracket and at least halves the step before (as
    Numerical Recipes' rtsafe), a bisection step elsewhere. Only the elements still moving are iterated on.
    Where both terms are saturated (N far beyond U_N and D far beyond U) the loss is flat in the split, every
    split giving the same loss to 1e-13: there the search stops where it stands, near the unlimited-data split.
    """
    a, b = np.exp(values["log_A"]), np.exp(values["log_B"])
    alpha, beta = values["alpha"], values["beta"]
    shape = np.broadcast_shapes(log_budget.shape, log_u.shape, start.shape, alpha.shape)
    c = {name: np.broadcast_to(v, shape).ravel() for name, v in (
        ("a", a), ("b", b), ("alpha", alpha), ("beta", beta), ("log_budget", log_budget), ("log_u", log_u),
        ("log_u_n", log_u_n), ("r_d", r_star_d), ("r_n", r_star_n))}
    x = np.broadcast_to(start, shape).ravel().copy()
    result = x.copy()
    c |= {"x": x, "lo": x - 8.0, "hi": x + 8.0, "previous": np.full(x.size, 16.0), "index": np.arange(x.size)}
    for _ in range(NEWTON_STEPS):
        xa = c["x"]
        p, dp, ddp = _effective(xa, c["log_u_n"], c["r_n"])
        q, dq, ddq = _effective(c["log_budget"] - xa, c["log_u"], c["r_d"])
        n_term, d_term = c["a"] * np.exp(-c["alpha"] * p), c["b"] * np.exp(-c["beta"] * q)
        slope = -c["alpha"] * n_term * dp + c["beta"] * d_term * dq
        curvature = (n_term * (c["alpha"] ** 2 * dp**2 - c["alpha"] * ddp)
                     + d_term * (c["beta"] ** 2 * dq**2 - c["beta"] * ddq))
        lo, hi = np.where(slope < 0, xa, c["lo"]), np.where(slope < 0, c["hi"], xa)
        newton = -slope / np.where(curvature > 0, curvature, np.inf)
        fast = (curvature > 0) & (xa + newton >= lo) & (xa + newton <= hi) & (np.abs(newton) <= np.abs(c["previous"]) / 2)
        step = np.where(fast, newton, (lo + hi) / 2 - xa)
        # Where the loss is so flat that no split changes it by 1e-13 of itself, stay: any split is as good.
        step = np.where(np.abs(slope) < 1e-13 * (n_term + d_term), 0.0, step)
        c |= {"x": xa + step, "lo": lo, "hi": hi, "previous": step}
        result[c["index"]] = c["x"]
        moving = np.abs(step) >= 1e-10
        if not moving.any():
            break
        c = {name: v[moving] for name, v in c.items()}  # only the elements still moving go on
    return result.reshape(shape)


def for_unique_tokens(draws: LawDraws, unique_tokens, budget: float | None = None, *, r_star_d, r_star_n,
                      level: float) -> list[ForUniqueTokens]:
    """:class:`ForUniqueTokens` for each U; ``r_star_d`` and ``r_star_n`` are numbers or per-draw arrays."""
    if draws.law.name != "chinchilla":
        raise InputError(f"--unique-tokens needs a chinchilla-law fit (the data-constrained law extends that form); "
                         f"this fit is of the {draws.law.name} law")
    unique = _positive(unique_tokens, "--unique-tokens")
    v = draws.values
    frontier = draws.frontier()
    log_u = np.log(unique)[:, None]
    x_u = frontier.log_budget_for_tokens(log_u)
    log_n_u = frontier.log_params(x_u)  # U_N: the model compute-optimal for U tokens
    four = np.log(4.0) + log_u
    log_n4 = frontier.log_params(frontier.log_budget_for_tokens(four))

    def law(log_n, log_d, log_unique):
        return data_constrained_loss(log_n, log_d, log_unique, v["log_E"], v["log_A"], v["log_B"], v["alpha"], v["beta"],
                                     r_star_d, r_star_n)

    columns = [np.exp(log_n_u), FLOP_PER_PARAM_TOKEN * np.exp(x_u), frontier.loss(x_u),
               law(log_n4, four, log_u) - law(log_n4, four, four)]
    if budget is not None:
        log_budget = np.log(_positive(budget, "--compute")[0] / FLOP_PER_PARAM_TOKEN) + np.zeros_like(log_u)
        unlimited = frontier.log_params(log_budget)
        log_n = data_constrained_optimum(v, log_budget, log_u, log_n_u, r_star_d, r_star_n, unlimited)
        loss = law(log_n, log_budget - log_n, log_u)
        columns += [np.exp(log_n), np.exp(log_budget - log_n), np.exp(log_budget - log_n - log_u), loss,
                    loss - frontier.loss(log_budget), np.exp(unlimited)]
    summaries = [_intervals(c, level) for c in columns]
    extra = {"budget": float(budget)} if budget is not None else {}
    return [ForUniqueTokens(float(u), *(s[i] for s in summaries[:4]), **extra,
                            **dict(zip(("params", "tokens", "epochs", "loss", "penalty", "params_unlimited"),
                                       (s[i] for s in summaries[4:]))))
            for i, u in enumerate(unique)]


@dataclass(frozen=True)
class Accelerator:
    """An accelerator's dense BF16 peak throughput (FLOP/s) and where the number comes from."""

    name: str
    peak_flops: float
    citation: str


def accelerator(name: str) -> Accelerator:
    """The accelerator called ``name`` (case and spaces ignored) in the published table."""
    table = published.accelerators()
    key = name.replace(" ", "").lower()
    for row in table.itertuples():
        if row.accelerator.replace(" ", "").lower() == key:
            return Accelerator(row.accelerator, float(row.peak_tflops) * 1e12, row.citation)
    raise InputError(f"--gpu {name!r}: unknown accelerator (known: {', '.join(table['accelerator'])})")


def mfu_prior() -> tuple[float, float]:
    """Beta(a, b) for model FLOPs utilisation, with the mean and variance of the MFUs that large runs
    reported (one value per run: a run reported at several configurations counts once, at their mean)."""
    per_run = published.mfu().groupby("run", sort=False)["mfu"].mean().to_numpy()
    mean, var = per_run.mean(), per_run.var(ddof=1)
    strength = mean * (1 - mean) / var - 1
    return float(mean * strength), float((1 - mean) * strength)


def mfu_draws(size: int, mfu: float | None, seed: int) -> np.ndarray:
    """``size`` draws of MFU: the published prior, or ``mfu`` exactly."""
    if mfu is not None:
        if not (0 < mfu <= 1 and math.isfinite(mfu)):
            raise InputError(f"--mfu={mfu:g} must be in (0, 1]")
        return np.full(size, float(mfu))
    return np.random.default_rng([seed, 3]).beta(*mfu_prior(), size)


@dataclass(frozen=True)
class ForHardware:
    """What ``count`` accelerators for ``days`` days buy: the MFU, the FLOP, and the compute-optimal N, D and
    expected loss at that compute, with intervals that carry the MFU's uncertainty."""

    accelerator: Accelerator
    count: float
    days: float
    mfu: Interval
    compute: Interval
    params: Interval
    tokens: Interval
    loss: Interval


def hardware_compute(hardware: Accelerator, count, days, mfu) -> np.ndarray:
    """FLOP (broadcast over the arguments): count x peak x seconds x MFU."""
    return count * hardware.peak_flops * days * SECONDS_PER_DAY * mfu


def for_hardware(draws: LawDraws, hardware: Accelerator, count, days, *, mfu: float | None = None, level: float,
                 seed: int = 0) -> list[ForHardware]:
    """The compute-optimal run that ``count`` x ``hardware`` for ``days`` days affords, for each (count, days)
    pair (broadcast), per draw of law and MFU (one MFU draw per law draw, the same for every pair)."""
    count, days = np.broadcast_arrays(_positive(count, "--gpus"), _positive(days, "--days"))
    frontier = draws.frontier()
    utilisation = mfu_draws(frontier.a.size, mfu, seed)
    compute = hardware_compute(hardware, count[:, None], days[:, None], utilisation[None, :])
    log_budget = np.log(compute / FLOP_PER_PARAM_TOKEN)
    log_n = frontier.log_params(log_budget)
    mfu_interval = _intervals(utilisation, level)[0]
    columns = [_intervals(values, level) for values in (compute, np.exp(log_n), np.exp(log_budget - log_n),
                                                         frontier.loss(log_budget))]
    return [ForHardware(hardware, float(k), float(t), mfu_interval, *(column[i] for column in columns))
            for i, (k, t) in enumerate(zip(count, days))]


def training_days(hardware: Accelerator, count: float, params, tokens, *, mfu: float | None = None, level: float,
                  seed: int = 0, size: int = 4000) -> list[Interval]:
    """Wall-clock days to train each (N, D) on ``count`` x ``hardware``: 6ND / (count x peak x MFU), over MFU."""
    params, tokens = np.broadcast_arrays(_positive(params, "--params"), _positive(tokens, "--tokens"))
    flop_per_day = hardware_compute(hardware, _positive(count, "--gpus")[0], 1.0, mfu_draws(size, mfu, seed))
    return _intervals(FLOP_PER_PARAM_TOKEN * params[:, None] * tokens[:, None] / flop_per_day[None, :], level)


@dataclass(frozen=True)
class Reach:
    """The compute at which the expected loss at the compute-optimal split reaches a target with
    ``probability``, and the posterior of N_opt and D_opt there."""

    probability: float
    compute: float
    params: Interval
    tokens: Interval


@dataclass(frozen=True)
class ForTarget:
    """For a target expected loss (nats/token, the fit's loss scale): P(the floor E lies below it, so that
    enough compute reaches it), and per probability the compute that reaches it (None: not with that
    probability)."""

    target: float
    p_reachable: float
    reach: dict[float, Reach | None]


def for_target(draws: LawDraws, targets, *, probabilities=PROBABILITIES, level: float) -> list[ForTarget]:
    """Per draw the compute where the optimal loss E + exp(r0 - g x) equals the target, x = log(C/6)
    (never where the target is at or below E); the compute that reaches it with probability p is the
    p-quantile of those (the inverted empirical CDF, so that P(reached) >= p exactly over the draws)."""
    for p in probabilities:
        if not 0 < p < 1:
            raise InputError(f"--probability={p:g} must be between 0 and 1")
    frontier = draws.frontier()
    targets, ok, log_gap = _above_floor(frontier, targets)
    log_budget = np.where(ok, (frontier.r0 - log_gap) / frontier.g, np.inf)
    out = []
    for i, target in enumerate(targets):
        reach = {}
        for p in probabilities:
            x = float(np.quantile(log_budget[i], p, method="inverted_cdf"))
            if not math.isfinite(x):
                reach[p] = None
                continue
            log_n = frontier.log_params(x)
            params, tokens = _intervals(np.stack([np.exp(log_n), np.exp(x - log_n)]), level)
            reach[p] = Reach(p, FLOP_PER_PARAM_TOKEN * math.exp(x), params, tokens)
        out.append(ForTarget(float(target), float(ok[i].mean()), reach))
    return out
