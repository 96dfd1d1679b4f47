"""What a limited stock of unique tokens supports, with Muennighoff et al.'s data-constrained law (2023):
the largest compute-optimal model without repetition, the cost of repeating, and the data-constrained
optimum at a budget (the split of C = 6 N D between a model and epochs over U unique tokens that
minimises the expected loss). ``plan --unique-tokens`` and the data wall's loss at the wall both use it.

The law (``scaling_forecast.models.laws.data_constrained_loss``) has no closed-form optimum: each
(question, draw) is a one-dimensional root search, vectorised over questions x draws.
"""

from dataclasses import dataclass, replace

import numpy as np

from scaling_forecast.core.errors import InputError, positive
from scaling_forecast.core.intervals import Interval, by_blocks, summaries
from scaling_forecast.fitting.draws import LawDraws
from scaling_forecast.inputs import published
from scaling_forecast.models.laws import (
    FLOP_PER_PARAM_TOKEN,
    chinchilla_frontier,
    chinchilla_loss,
    data_constrained_loss,
    repeated_log_count,
)

NEWTON_STEPS = 60  # safeguarded Newton steps at most; every element stops well before (5-6 steps measured)
STEP = 1e-7  # in log N: Newton's error after a step this small is of its square, far below what is reported
FLAT = 1e-4  # nats/token: an optimum this close to the lowest loss U allows at any compute is saturated


# Neither R* is pinned by runs: Muennighoff et al. give no uncertainty, and refitted on the datablations runs
# they move by factors of several with the runs kept (README, "Limited unique data"). Answers therefore draw
# both from LogNormal priors about the published values: R*_D with the hierarchical model's log-sd 0.75
# (90% 4.5 to 53), R*_N with 1.0 (90% 1.0 to 27).
R_STAR_LOG_SD = {"R_star_D": 0.75, "R_star_N": 1.0}


def published_r_stars() -> dict[str, float]:
    """Muennighoff et al.'s fitted R*_D and R*_N (``law_constants.csv``), by name."""
    table = published.constants("data_constrained", "muennighoff2023")["value"]
    return {name: float(table[name]) for name in R_STAR_LOG_SD}


def r_star_draws(posterior, size: int, seed: int, *, r_star_d: float | None = None) -> tuple[dict[str, np.ndarray], str]:
    """``size`` draws of R*_D and R*_N for a fit's answers, and a line saying where they come from: ``r_star_d``
    when given, the fit's own posterior where it estimated one (a pooled fit whose families repeat data has
    R*_D), else the priors of ``R_STAR_LOG_SD`` about Muennighoff et al.'s values."""
    rng = np.random.default_rng([seed, 4])
    out, said = {}, []
    for name, median in published_r_stars().items():
        label = name.replace("_star_", "*_")
        if name == "R_star_D" and r_star_d is not None:
            out[name] = np.full(size, float(r_star_d))
            said.append(f"{label} = {r_star_d:g} as given")
        elif name in posterior:
            out[name] = posterior[name].to_numpy().reshape(-1)
            said.append(f"{label} from the fit's posterior")
        else:
            out[name] = median * np.exp(R_STAR_LOG_SD[name] * rng.standard_normal(size))
            said.append(f"{label} ~ LogNormal(log {median:.3g}, {R_STAR_LOG_SD[name]:g})")
    prior = any("LogNormal" in part for part in said)
    return out, ", ".join(said) + (", priors about Muennighoff et al.'s fitted values" if prior else "")


def _effective(log_x: np.ndarray, log_u: np.ndarray, r_star) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """log X' of Muennighoff's effective count of X drawn from U
    (:func:`~scaling_forecast.models.laws.effective_log_tokens`), its slope s = d log X'/d log X, log s, and
    d log s / d log X. Beyond U, with r = X/U - 1 repetitions, dX'/dX = exp(-r/R*), so
    log s = log X - log X' - r/R* and d log s/d log X = 1 - s - X/(U R*); up to U, X' = X and s = 1."""
    ratio = np.exp(log_x - log_u)
    repeated = ratio > 1
    excess = np.where(repeated, ratio - 1, 0.0)
    log_eff = np.where(repeated, repeated_log_count(log_u, excess, r_star), log_x)
    log_slope = log_x - log_eff - excess / r_star
    slope = np.exp(log_slope)
    return log_eff, slope, log_slope, np.where(repeated, 1 - slope - ratio / r_star, 0.0)


def optimum(values: dict, log_budget: np.ndarray, log_u: np.ndarray, r_star_d, r_star_n) -> np.ndarray:
    """log N minimising the data-constrained loss at N D = exp(``log_budget``) with U = exp(``log_u``) unique
    tokens, elementwise (broadcast, e.g. questions x draws; ``values`` the chinchilla law's per-draw
    parameters).

    The optimum is where the N term's and the D term's marginal returns balance:
    F(x) = log(alpha A N'^-alpha s_N) - log(beta B D'^-beta s_D) = 0 with x = log N, s the slopes of
    :func:`_effective`. F falls strictly in x, and as a difference of logs it is nearly linear where the
    loss itself is steep in the split, so Newton's method on F (kept inside a bracket [x0 - 8, x0 + 8] that
    shrinks to where F changes sign, bisecting where Newton would leave it) converges in a few steps from the
    unlimited-data optimum x0. An element stops when its step is below ``STEP`` in log N or would change the
    loss by less than 1e-13 of its data term: where both N and D lie far beyond what U supports, every
    split gives the same loss to that precision (see ``ForUniqueTokens.saturated``)."""
    frontier = chinchilla_frontier(*(values[k] for k in ("log_E", "log_A", "log_B", "alpha", "beta")))
    alpha, beta = values["alpha"], values["beta"]
    log_u_n = frontier.log_params(frontier.log_budget_for_tokens(log_u))  # U_N: the size compute-optimal for U
    start = frontier.log_params(log_budget)
    shape = np.broadcast_shapes(log_budget.shape, log_u.shape, alpha.shape)
    c = {name: np.broadcast_to(v, shape).ravel() for name, v in (
        ("balance", np.log(alpha / beta) + values["log_A"] - values["log_B"]), ("alpha", alpha), ("beta", beta),
        ("log_budget", log_budget), ("log_u", log_u), ("log_u_n", log_u_n), ("r_d", r_star_d), ("r_n", r_star_n))}
    result = np.broadcast_to(start, shape).ravel().copy()
    # Where the unlimited optimum repeats nothing (D_opt <= U, hence N_opt <= U_N) it is the answer: there the
    # law is Chinchilla's, and nowhere is the data-constrained loss below Chinchilla's (N' <= N, D' <= D).
    index = np.flatnonzero(np.broadcast_to(log_budget - start > log_u, shape).ravel())
    c = {name: v[index] for name, v in c.items()}
    x = result[index]
    c |= {"x": x, "lo": x - 8.0, "hi": x + 8.0, "index": index}
    for _ in range(NEWTON_STEPS):
        xa = c["x"]
        p, slope_p, log_slope_p, bend_p = _effective(xa, c["log_u_n"], c["r_n"])
        q, slope_q, log_slope_q, bend_q = _effective(c["log_budget"] - xa, c["log_u"], c["r_d"])
        f = c["balance"] - c["alpha"] * p + log_slope_p + c["beta"] * q - log_slope_q
        lo, hi = np.where(f > 0, xa, c["lo"]), np.where(f > 0, c["hi"], xa)
        newton = xa - f / (bend_p + bend_q - c["alpha"] * slope_p - c["beta"] * slope_q)
        # >= and <=: an element already at its root (a zero step) stays.
        step = np.where((newton >= lo) & (newton <= hi), newton, (lo + hi) / 2) - xa
        c |= {"x": xa + step, "lo": lo, "hi": hi}
        # dL/dx = beta B D'^-beta s_D (1 - e^F): the step's loss change relative to the data term B D'^-beta
        # (F clipped: far from the root e^F only needs to be large, not to overflow).
        change = np.abs(np.expm1(np.clip(f, -50, 50)) * step) * c["beta"] * slope_q
        moving = (np.abs(step) >= STEP) & (change >= 1e-13)
        share = moving.mean() if moving.size else 0.0
        if share < 0.6:  # only the elements still moving go on (while most move, iterating all is cheaper)
            result[c["index"]] = c["x"]
            if share == 0:
                break
            c = {name: v[moving] for name, v in c.items()}
    result[c["index"]] = c["x"]
    return result.reshape(shape)


def loss(values: dict, log_n, log_d, log_u, r_star_d, r_star_n) -> np.ndarray:
    """The data-constrained law's expected loss (nats/token) at (N, D) with U unique tokens (``log_u`` inf:
    unlimited data, Chinchilla's loss by the same arithmetic, so that a penalty with nothing repeated is 0)."""
    return data_constrained_loss(log_n, log_d, log_u, values["log_E"], values["log_A"], values["log_B"], values["alpha"],
                                 values["beta"], r_star_d, r_star_n)


@dataclass(frozen=True)
class ForUniqueTokens:
    """For ``unique_tokens`` unique tokens, with Muennighoff et al.'s data-constrained law (R*_D, R*_N):

    - without repeating them: the largest compute-optimal model (the N whose compute-optimal D is U), the
      compute it takes and its expected loss;
    - ``four_epochs``: the loss of 4 epochs over U minus the loss of 4U fresh tokens, at the model
      compute-optimal for 4U (the paper's "up to 4 epochs is nearly as good as new data");
    - with a ``budget`` (FLOP), the data-constrained optimum: N, D, epochs over U, expected loss, the
      ``penalty`` against the same budget with unlimited data, and that unlimited optimum's N; ``saturated``:
      the share of draws in which that loss lies within ``FLAT`` nats/token of the lowest loss U allows at
      any compute (the budget is more than U can use, and many sizes come that close: N there is one of
      many nearly equally good).
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
    saturated: float | None = None


def _per_model(params: Interval, scale: float) -> Interval:
    """``scale`` / N for an Interval of N: a decreasing map, so its quantiles are those of N mapped (D or
    epochs at a fixed budget and U, from N's interval without sorting their draws again)."""
    return Interval(scale / params.median, scale / params.hi, scale / params.lo, params.level)


def for_unique_tokens(draws: LawDraws, unique_tokens, budget: float | None = None, *, r_star_d, r_star_n,
                      level: float, seed: int = 0) -> list[ForUniqueTokens]:
    """:class:`ForUniqueTokens` for each U; ``r_star_d`` and ``r_star_n`` are numbers or per-draw arrays. Losses
    carry the fit's departure from its law where it has one (a pooled fit; ``seed`` draws it)."""
    if draws.law.name != "chinchilla":
        raise InputError(f"--unique-tokens needs a chinchilla-law fit (the data-constrained law extends that form); "
                         f"this fit is of the {draws.law.name} law")
    unique = positive(unique_tokens, "--unique-tokens")
    budget = None if budget is None else float(positive(budget, "--compute")[0])
    frontier = draws.frontier()
    return by_blocks(lambda block: _for_unique_tokens(draws, frontier, unique[block], budget, r_star_d, r_star_n,
                                                      level, seed), unique.size, frontier.a.size)


def _for_unique_tokens(draws: LawDraws, frontier, unique: np.ndarray, budget: float | None, r_star_d, r_star_n,
                       level: float, seed: int) -> list[ForUniqueTokens]:
    v = draws.values
    log_u = np.log(unique)[:, None]
    x_u = frontier.log_budget_for_tokens(log_u)
    log_u_n = frontier.log_params(x_u)
    four = np.log(4.0) + log_u
    log_n4 = frontier.log_params(frontier.log_budget_for_tokens(four))
    repeated = loss(v, log_n4, four, log_u, r_star_d, r_star_n) - loss(v, log_n4, four, four, r_star_d, r_star_n)
    columns = [np.exp(log_u_n), FLOP_PER_PARAM_TOKEN * np.exp(x_u), draws.departed(frontier.loss(x_u), x_u, seed),
               draws.departed(repeated, log_n4 + four, seed)]
    if budget is not None:
        log_budget = np.log(budget / FLOP_PER_PARAM_TOKEN) + np.zeros_like(log_u)
        log_n = optimum(v, log_budget, log_u, r_star_d, r_star_n)
        reached = loss(v, log_n, log_budget - log_n, log_u, r_star_d, r_star_n)
        # The lowest loss U allows at any compute: N' and D' at their ceilings U_N (1 + R*_N) and U (1 + R*_D).
        floor = chinchilla_loss(log_u_n + np.log1p(r_star_n), log_u + np.log1p(r_star_d), v["log_E"], v["log_A"],
                                v["log_B"], v["alpha"], v["beta"])
        saturated = (reached - floor < FLAT).mean(axis=1)
        unlimited = frontier.log_params(log_budget)
        best = loss(v, unlimited, log_budget - unlimited, np.inf, r_star_d, r_star_n)
        reached, best = (draws.departed(x, log_budget, seed) for x in (reached, best))
        columns += [np.exp(log_n), reached, reached - best, np.exp(unlimited)]
    rows = [summaries(c, level) for c in columns]
    out = []
    for i, u in enumerate(unique):
        answer = ForUniqueTokens(float(u), *(r[i] for r in rows[:4]))
        if budget is not None:
            params, reached_i, penalty, unlimited = (r[i] for r in rows[4:])
            per_model = budget / FLOP_PER_PARAM_TOKEN
            answer = replace(answer, budget=budget, params=params, tokens=_per_model(params, per_model),
                             epochs=_per_model(params, per_model / float(u)), loss=reached_i, penalty=penalty,
                             params_unlimited=unlimited, saturated=float(saturated[i]))
        out.append(answer)
    return out
