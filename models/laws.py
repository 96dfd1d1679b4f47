"""Scaling-law formulas and their compute-optimal frontiers, written once.

Each loss function takes the array namespace ``xp`` (``numpy`` or
``pytensor.tensor``) so that the PyMC models, the point-estimate baseline,
prediction, allocation and plots all use the same expression.

The ``*_frontier`` functions give, per parameter draw, the exact minimiser of
the law's loss under a budget ``N * D = C / k`` (``k`` FLOP per parameter per
token, 6 for C = 6ND) in the same shape for every law::

    log N_opt          = n0 + a * log(C / k)
    log(L_opt(C) - E)  = r0 - g * log(C / k)

Both Chinchilla and Kaplan forms are sums of powers, so the minimiser has a
closed form (derivations in each docstring); forecast/answers/allocation.py builds
allocations, losses and compute overheads from these four numbers.
"""

from types import ModuleType
from typing import NamedTuple

import numpy as np

FLOP_PER_PARAM_TOKEN = 6.0  # C = 6 N D: forward and backward pass, the convention of Kaplan and Hoffmann


def log_centres(params: np.ndarray, tokens: np.ndarray) -> tuple[float, float]:
    """Mean log N and mean log D of the runs: where every model centres its predictors."""
    return float(np.log(np.asarray(params, float)).mean()), float(np.log(np.asarray(tokens, float)).mean())


def chinchilla_loss(log_n, log_d, log_e, log_a, log_b, alpha, beta, xp: ModuleType = np):
    """L = E + A N^-alpha + B D^-beta, from logs of N, D, E, A and B.

    Parameters enter as logs so every term is an exp of a moderate number and
    stays positive. The form is unchanged when log N and log D are centred
    (log A and log B then absorb alpha * mean log N and beta * mean log D),
    which is how the model samples. A plain sum of three exps is several times
    cheaper than nested log-add-exps, which matters for 10^7-element forecast grids.
    """
    return xp.exp(log_e) + xp.exp(log_a - alpha * log_n) + xp.exp(log_b - beta * log_d)


def effective_log_tokens(log_d, log_u, r_star, xp: ModuleType = np):
    """log D' for D tokens drawn from U unique ones (Muennighoff et al. 2023, Eq. 5).

    D' = U + U R*_D (1 - exp(-R_D / R*_D)), R_D = D/U - 1 repetitions: repeated
    tokens are worth less and less, and D' never exceeds U (1 + R*_D). With no
    repetition (D = U) D' = D exactly.
    """
    return repeated_log_count(log_u, xp.exp(log_d - log_u) - 1, r_star, xp)


def repeated_log_count(log_u, repetitions, r_star, xp: ModuleType = np):
    """log X' = log(U + U R* (1 - exp(-R / R*))) from U and the repetitions R = X/U - 1 (the form of
    :func:`effective_log_tokens`, for callers that already hold R)."""
    return log_u + xp.log1p(r_star * (1 - xp.exp(-repetitions / r_star)))


def data_constrained_loss(log_n, log_d, log_u, log_e, log_a, log_b, alpha, beta, r_star_d, r_star_n,
                          xp: ModuleType = np):
    """Muennighoff et al. 2023 (Eqs. 5-7; the authors' ``scaling_law`` in huggingface/datablations): the
    Chinchilla form with effective data D' and effective parameters N'.

    D' counts D tokens drawn from U unique ones (:func:`effective_log_tokens`, R*_D). Parameters beyond
    U_N, the compute-optimal size for U tokens (N with D_opt = U: U_N = G (G U)^(beta/alpha),
    G = (alpha A / beta B)^(1/(alpha+beta))), are worth less and less the same way, with R*_N.
    """
    log_g = (xp.log(alpha) + log_a - xp.log(beta) - log_b) / (alpha + beta)
    log_u_n = log_g + beta / alpha * (log_g + log_u)
    log_n_eff = effective_log_tokens(log_n, xp.minimum(log_n, log_u_n), r_star_n, xp)
    log_d_eff = effective_log_tokens(log_d, xp.minimum(log_d, log_u), r_star_d, xp)
    return chinchilla_loss(log_n_eff, log_d_eff, log_e, log_a, log_b, alpha, beta, xp)


def kaplan_loss(log_n, log_d, log_n_c, log_d_c, alpha_n, alpha_d, e=0.0, xp: ModuleType = np):
    """L = E + [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D (Kaplan et al. 2020, Eq. 1.5, plus E).

    Kaplan's form has no irreducible term (``e = 0``): loss falls to zero as N
    and D grow. With ``e > 0`` the same shape sits on a floor E, like the
    Chinchilla form. The bracket is summed in log space (log-add-exp), since
    (N_c/N)^(alpha_N/alpha_D) is of order 10^4 for the published constants.
    """
    inner = xp.logaddexp(alpha_n / alpha_d * (log_n_c - log_n), log_d_c - log_d)
    return e + xp.exp(alpha_d * inner)


def compute_loss(log_c, log_e, log_c_c, gamma, xp: ModuleType = np):
    """L = E + (C_c / C)^gamma: loss as a function of training compute alone (the shape of
    GPT-3's frontier L = 2.57 C^-0.048, which has E = 0 and C in PF-days)."""
    return xp.exp(log_e) + xp.exp(gamma * (log_c_c - log_c))


class Frontier(NamedTuple):
    """Per-draw compute-optimal frontier (see the module docstring); each field is an array over draws."""

    n0: np.ndarray
    a: np.ndarray
    r0: np.ndarray
    g: np.ndarray
    e: np.ndarray

    def log_params(self, log_budget):
        """log N_opt at log(C / k)."""
        return self.n0 + self.a * log_budget

    def loss(self, log_budget):
        """The optimal expected loss at log(C / k)."""
        return self.e + np.exp(self.r0 - self.g * log_budget)

    def log_budget_for_params(self, log_n):
        """log(C / k) at which N is the optimal size."""
        return (log_n - self.n0) / self.a

    def log_budget_for_tokens(self, log_d):
        """log(C / k) at which D is the optimal data (log D_opt = (1 - a) log(C / k) - n0)."""
        return (log_d + self.n0) / (1 - self.a)


def chinchilla_frontier(log_e, log_a, log_b, alpha, beta) -> Frontier:
    """Hoffmann et al. 2022, Eq. (4): N_opt = G (C/6)^a, a = beta/(alpha+beta), G = (alpha A / beta B)^(1/(alpha+beta)).

    At the optimum alpha A N^-alpha = beta B D^-beta, so the reducible loss is
    A N_opt^-alpha (1 + alpha/beta), a power of C with exponent -alpha*a.
    """
    s = alpha + beta
    n0 = (np.log(alpha) + log_a - np.log(beta) - log_b) / s
    a = beta / s
    r0 = log_a - alpha * n0 + np.log1p(alpha / beta)
    return Frontier(n0, a, r0, alpha * a, np.exp(log_e))


def kaplan_frontier(log_n_c, log_d_c, alpha_n, alpha_d, e=0.0) -> Frontier:
    """Minimiser of Kaplan's bracket under N D = C/k; E does not move it.

    With r = alpha_N/alpha_D and x = log N, the bracket exp(r (log N_c - x)) +
    D_c k N / C is convex in x; setting its derivative to zero gives
    x = (log r + r log N_c - log D_c + log(C/k)) / (1 + r), so a = 1/(1+r) =
    alpha_D/(alpha_N+alpha_D). There the bracket is (1+r) (N_c/N_opt)^r, and
    the reducible loss its alpha_D-th power: exponent g = alpha_N alpha_D/(alpha_N+alpha_D).
    """
    r = alpha_n / alpha_d
    a = 1 / (1 + r)
    n0 = (np.log(r) + r * log_n_c - log_d_c) * a
    r0 = alpha_d * (np.log1p(r) + r * (log_n_c - n0))
    return Frontier(n0, a, r0, alpha_d * r * a, np.broadcast_to(np.asarray(e, float), np.shape(a)))
