"""Planning answers from a fitted law, each a posterior median with an interval: the data a model of N
parameters should get, and the compute a target loss needs (and, with inference demand, the cheapest run
to it). What hardware buys is in ``scaling_forecast.answers.hardware``, what a limited stock of unique tokens
supports in ``scaling_forecast.answers.data_constrained``.

Given N and given a target are exact per posterior draw on the law's compute-optimal frontier
(``scaling_forecast.models.laws``: log N_opt = n0 + a log(C/6), optimal loss E + exp(r0 - g log(C/6))),
vectorised over questions x draws like the allocation. The inference-aware run (Sardana et al. 2024) has
no closed form: each (question, draw) is a one-dimensional search, vectorised the same way.
"""

import math
from dataclasses import dataclass

import numpy as np

from scaling_forecast.core.errors import InputError, positive
from scaling_forecast.core.intervals import Interval, by_blocks, summaries
from scaling_forecast.fitting.draws import LawDraws
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN

MORE_DATA = (0.5, 2.0, 5.0, 10.0)  # multiples of the compute-optimal D at which the loss of a given N is shown
PROBABILITIES = (0.5, 0.9)  # of reaching a target loss
NEWTON_STEPS = 60  # safeguarded Newton steps at most; they stop once every step is below 1e-13


def _above_floor(frontier, targets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Target losses checked, whether each lies above each draw's floor E (targets x draws), and log(L - E)
    there (0 standing in elsewhere, so that the arithmetic stays finite; those draws are dropped)."""
    targets = positive(targets, "--target-loss")
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


def for_params(draws: LawDraws, params, *, level: float, seed: int = 0) -> list[ForParams]:
    """The compute-optimal data for each N in ``params``, per draw: log(C/6) = (log N - n0) / a. Losses carry
    the fit's departure from its law where it has one (a pooled fit; ``seed`` draws it)."""
    params = positive(params, "--params")
    frontier = draws.frontier()
    log_n = np.log(params)[:, None]
    log_budget = frontier.log_budget_for_params(log_n)
    log_d = log_budget - log_n
    more = {m: summaries(draws.departed(draws.law.loss(log_n, log_d + np.log(m), draws.values), log_budget + np.log(m),
                                        seed), level) for m in MORE_DATA}
    tokens, compute = summaries(np.exp(log_d), level), summaries(FLOP_PER_PARAM_TOKEN * np.exp(log_budget), level)
    per_param = summaries(np.exp(log_d - log_n), level)
    loss = summaries(draws.departed(frontier.loss(log_budget), log_budget, seed), level)
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
    tokens_served = positive(inference_tokens, "--inference-tokens")[0]
    targets = positive(targets, "--target-loss")
    frontier = draws.frontier()
    return by_blocks(lambda block: _for_inference(draws.values, frontier, targets[block], tokens_served, level),
                     targets.size, frontier.a.size)


def _for_inference(v: dict, frontier, targets: np.ndarray, tokens_served: float, level: float) -> list[ForInference]:
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
            answer = ForInference(answer.target, answer.inference_tokens, answer.p_reachable, *summaries(rows, level))
        out.append(answer)
    return out


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
            params, tokens = summaries(np.stack([np.exp(log_n), np.exp(x - log_n)]), level)
            reach[p] = Reach(p, FLOP_PER_PARAM_TOKEN * math.exp(x), params, tokens)
        out.append(ForTarget(float(target), float(ok[i].mean()), reach))
    return out
