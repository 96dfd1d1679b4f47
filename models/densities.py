"""The single-law models' log density and gradient written out in numba, cached on disk, sampled by nutpie.

``nutpie.compile_pymc_model`` compiles the PyMC model (``scaling_forecast.models``) in every new process, and
that was most of a fit's time (benchmarks/RESULTS.md): nutpie's numba wrappers cannot be cached because they
close over objects made at run time. Here each law's density is plain numba code with ``cache=True``: the
first fit after installing compiles it once, and every later process loads the machine code from numba's
cache. No PyMC or PyTensor is imported.

The PyMC models stay the specification. This module computes the same unnormalised log density in
PyMC's unconstrained coordinates (logit for Beta variables, log for the positive ones, with their
log-Jacobians), with the same start points, and expands each draw into the same posterior variables.
tests/test_densities.py checks the density and gradient against PyMC's at random points, and the
posterior against nutpie on the PyMC model. Every kernel lives in this one file because numba's cache
checks only the timestamp of the file that holds a cached function: a helper in another module could
change without the cached code noticing.

A law's mean log loss at a run is ``mu = logaddexp(log E, log R + h)``, or ``log R + h`` without a floor.
``log E`` and ``log R`` are the floor and the reducible loss at the centre of the runs, from the shared level
priors. ``h`` is the law's own shape (``_shape``), written out from ``scaling_forecast.models.laws``:

- chinchilla: ``h = logaddexp(log s - alpha x_n, log(1 - s) - beta x_d)``
- kaplan(_e): ``h = alpha_D logaddexp(log s - (alpha_N / alpha_D) x_n, log(1 - s) - x_d)``
- compute: ``h = -gamma (x_n + x_d)``

Here x_n and x_d are the centred log N and log D, and s is the N term's share at the centre.
"""

import math
from dataclasses import dataclass

import numba
import numpy as np
from numba import types

from scaling_forecast.models import law_registry as laws
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN, log_centres
from scaling_forecast.models.priors import LevelPriors

CHINCHILLA, KAPLAN, KAPLAN_E, COMPUTE = 0, 1, 2, 3
# user_data: [law, n, centre log N, centre log D, the 9 prior constants of PRIOR_FIELDS], then x_n, x_d, log loss.
PRIOR_FIELDS = ("log_l_mu", "log_l_sigma", "floor_concentration", "share_concentration", "exponent_median",
                "exponent_log_sigma", "sigma_scale", "nu_alpha", "nu_beta")
HEADER = 4 + len(PRIOR_FIELDS)
LOG_2PI = math.log(2.0 * math.pi)
LOG_PI = math.log(math.pi)
# nutpie's C signatures (nutpie.compile_pymc): logp(dim, x, grad out, logp out, user data) and
# expand(dim, n expanded, x, out, user data), each returning 0 when it succeeded.
LOGP_SIGNATURE = types.int64(types.uint64, types.CPointer(types.double), types.CPointer(types.double),
                             types.CPointer(types.double), types.voidptr)
EXPAND_SIGNATURE = types.int64(types.uint64, types.uint64, types.CPointer(types.double),
                               types.CPointer(types.double), types.voidptr)


@dataclass(frozen=True)
class Layout:
    """A law as the kernel sees it: its code, its sampled variables in PyMC's order (``laws.Law.free_vars``:
    log_L_c, the floor's share if any, the N term's share if any, the exponents, sigma, nu) and the derived
    ones its model records, in the order nutpie gives them for the PyMC model."""

    code: int
    free: tuple[str, ...]
    derived: tuple[str, ...]

    @property
    def floor(self) -> bool:
        return "floor_share" in self.free

    @property
    def share(self) -> bool:
        return "share_N" in self.free

    @property
    def exponents(self) -> int:
        return len(self.free) - 3 - self.floor - self.share

    @property
    def n_dim(self) -> int:
        return len(self.free)

    @property
    def names(self) -> tuple[str, ...]:
        return self.free + self.derived


LAYOUTS = {name: Layout(code, laws.get(name).free_vars, derived) for name, code, derived in (
    ("chinchilla", CHINCHILLA, ("log_A", "log_B", "log_E", "E", "A", "B")),
    ("kaplan", KAPLAN, ("log_N_c", "log_D_c", "N_c", "D_c")),
    ("kaplan_e", KAPLAN_E, ("log_N_c", "log_D_c", "N_c", "D_c", "E")),
    ("compute", COMPUTE, ("log_E", "log_C_c", "C_c", "E")),
)}


def user_data(law: str, params: np.ndarray, tokens: np.ndarray, loss: np.ndarray, priors: LevelPriors) -> np.ndarray:
    """Everything the density reads, as one read-only float64 array (its address is nutpie's user data)."""
    log_n, log_d = np.log(np.asarray(params, float)), np.log(np.asarray(tokens, float))
    centre_n, centre_d = log_centres(params, tokens)
    constants = [getattr(priors, name, 0.0) for name in PRIOR_FIELDS]  # compute has no share: 0 is never read
    constants[PRIOR_FIELDS.index("exponent_median")] = math.log(priors.exponent_median)
    data = np.concatenate([[LAYOUTS[law].code, len(log_n), centre_n, centre_d], constants,
                           log_n - centre_n, log_d - centre_d, np.log(np.asarray(loss, float))])
    data.flags.writeable = False  # every chain's thread reads it
    return data


def start(law: str, data: np.ndarray, seed: int) -> np.ndarray:
    """nutpie's start for the PyMC model: each prior's support point in unconstrained space plus U(-1, 1)
    jitter (Normal: its mean; Beta(c, c): 1/2; LogNormal: its mean; HalfNormal: its scale; Gamma: its mean)."""
    layout = LAYOUTS[law]
    prior = dict(zip(PRIOR_FIELDS, data[4:HEADER]))
    exponent = prior["exponent_median"] + prior["exponent_log_sigma"] ** 2 / 2
    point = ([prior["log_l_mu"]] + [0.0] * (layout.floor + layout.share) + [exponent] * layout.exponents
             + [math.log(prior["sigma_scale"]), math.log(prior["nu_alpha"] / prior["nu_beta"])])
    return np.asarray(point) + np.random.default_rng(seed).uniform(-1.0, 1.0, layout.n_dim)


@numba.njit(cache=True, error_model="numpy")
def _log_sigmoid(z):
    return -math.log1p(math.exp(-z)) if z >= 0.0 else z - math.log1p(math.exp(z))


@numba.njit(cache=True, error_model="numpy")
def _logaddexp(a, b):
    top = max(a, b)
    return top + math.log(math.exp(a - top) + math.exp(b - top))


@numba.njit(cache=True, error_model="numpy")
def _digamma(x):
    """psi(x), x > 0: recurrence up to x >= 10, then the asymptotic series (absolute error about 1e-14)."""
    shift = 0.0
    while x < 10.0:
        shift -= 1.0 / x
        x += 1.0
    inv2 = 1.0 / (x * x)
    series = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 / 132))))
    return shift + math.log(x) - 0.5 / x - series


@numba.njit(cache=True, error_model="numpy")
def _beta_logit(z, a, b):
    """Beta(a, b) in logit coordinates with its log-Jacobian: (log density, its derivative, p, log p, log(1 - p))."""
    log_p, log_q = _log_sigmoid(z), _log_sigmoid(-z)
    p = math.exp(log_p)
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    return a * log_p + b * log_q - log_beta, a * (1.0 - p) - b * p, p, log_p, log_q


@numba.njit(cache=True, error_model="numpy")
def _shape(law, c, x_n, x_d, dh):
    """The law's shape h at one run and its derivatives by the law's own coordinates, written into ``dh``.

    ``c`` holds what does not change between runs: (log s, log(1 - s), alpha or alpha_N / alpha_D,
    beta or alpha_D, s) for the N-D laws, (gamma) for the compute law.
    """
    if law == COMPUTE:
        h = -c[0] * (x_n + x_d)
        dh[0] = h
        return h
    log_s, log_q, first, second, s = c[0], c[1], c[2], c[3], c[4]
    if law == CHINCHILLA:
        t1, t2 = log_s - first * x_n, log_q - second * x_d
        h = _logaddexp(t1, t2)
        p1 = math.exp(t1 - h)
        dh[0] = p1 - s
        dh[1] = -p1 * first * x_n
        dh[2] = -(1.0 - p1) * second * x_d
        return h
    t1, t2 = log_s - first * x_n, log_q - x_d  # Kaplan: first = alpha_N / alpha_D, second = alpha_D
    g = _logaddexp(t1, t2)
    p1 = math.exp(t1 - g)
    h = second * g
    dh[0] = second * (p1 - s)
    dh[1] = -second * p1 * first * x_n
    dh[2] = h + second * p1 * first * x_n
    return h


@numba.njit(cache=True, error_model="numpy")
def _log_density(x, data, grad):
    """Log density at unconstrained ``x`` (up to PyMC's constant); writes the gradient into ``grad``."""
    law, n = int(data[0]), int(data[1])
    mu_l, sd_l, floor_c, share_c = data[4], data[5], data[6], data[7]
    exp_mu, exp_sd, sigma_scale, nu_a, nu_b = data[8], data[9], data[10], data[11], data[12]
    x_n, x_d, y = data[HEADER:HEADER + n], data[HEADER + n:HEADER + 2 * n], data[HEADER + 2 * n:HEADER + 3 * n]
    floor, share = law != KAPLAN, law != COMPUTE
    dim = x.shape[0]
    for k in range(dim):
        grad[k] = 0.0

    z = (x[0] - mu_l) / sd_l  # log_L_c ~ Normal
    lp = -0.5 * z * z - math.log(sd_l) - 0.5 * LOG_2PI
    grad[0] = -z / sd_l
    at = 1
    f, log_e, log_r = 0.0, -np.inf, x[0]
    if floor:  # floor_share ~ Beta(c, c)
        term, slope, f, log_f, log_1mf = _beta_logit(x[1], floor_c, floor_c)
        lp += term
        grad[1] = slope
        log_e, log_r = x[0] + log_f, x[0] + log_1mf
        at = 2
    own = at  # the law's own coordinates start here
    c = np.zeros(5)
    if share:  # share_N ~ Beta(c, c)
        term, slope, s, log_s, log_q = _beta_logit(x[at], share_c, share_c)
        lp += term
        grad[at] += slope
        c[0], c[1], c[4] = log_s, log_q, s
        at += 1
    exponents = 1 if law == COMPUTE else 2
    for k in range(exponents):  # exponents ~ LogNormal, sampled as their logs
        z = (x[at + k] - exp_mu) / exp_sd
        lp += -0.5 * z * z - math.log(exp_sd) - 0.5 * LOG_2PI
        grad[at + k] += -z / exp_sd
    if law == COMPUTE:
        c[0] = math.exp(x[at])
    elif law == CHINCHILLA:
        c[2], c[3] = math.exp(x[at]), math.exp(x[at + 1])
    else:
        c[2], c[3] = math.exp(x[at] - x[at + 1]), math.exp(x[at + 1])
    n_own = (1 if share else 0) + exponents
    s_at, nu_at = at + exponents, at + exponents + 1

    sigma, nu = math.exp(x[s_at]), math.exp(x[nu_at])
    scaled = sigma / sigma_scale  # sigma ~ HalfNormal, nu ~ Gamma, both sampled as logs
    lp += 0.5 * (math.log(2.0) - LOG_PI) - math.log(sigma_scale) - 0.5 * scaled * scaled + x[s_at]
    grad[s_at] = 1.0 - scaled * scaled
    lp += nu_a * math.log(nu_b) - math.lgamma(nu_a) + nu_a * x[nu_at] - nu_b * nu
    grad[nu_at] = nu_a - nu_b * nu

    half = 0.5 * (nu + 1.0)  # log loss ~ StudentT(nu, mu, sigma)
    lp += n * (math.lgamma(half) - math.lgamma(0.5 * nu) - 0.5 * (math.log(nu) + LOG_PI) - x[s_at])
    scale2 = nu * sigma * sigma
    dh = np.zeros(3)
    sum_log1p, sum_frac = 0.0, 0.0
    for i in range(n):
        t = log_r + _shape(law, c, x_n[i], x_d[i], dh)
        if floor:
            mu = _logaddexp(log_e, t)
            p_e = math.exp(log_e - mu)
        else:
            mu, p_e = t, 0.0
        r = y[i] - mu
        r2 = r * r
        lp -= half * math.log1p(r2 / scale2)
        w = (nu + 1.0) * r / (scale2 + r2)  # d log likelihood / d mu
        grad[0] += w
        if floor:
            grad[1] += w * (p_e - f)
        for k in range(n_own):
            grad[own + k] += w * (1.0 - p_e) * dh[k]
        sum_log1p += math.log1p(r2 / scale2)
        sum_frac += r2 / (scale2 + r2)
    grad[s_at] += -n + (nu + 1.0) * sum_frac
    d_nu = (n * (0.5 * _digamma(half) - 0.5 * _digamma(0.5 * nu) - 0.5 / nu) - 0.5 * sum_log1p
            + 0.5 * (nu + 1.0) / nu * sum_frac)
    grad[nu_at] += nu * d_nu
    return lp


@numba.njit(cache=True, error_model="numpy")
def _expand(x, data, out):
    """The posterior variables of ``LAYOUTS`` at unconstrained ``x``."""
    law = int(data[0])
    centre_n, centre_d = data[2], data[3]
    k = 0
    out[k] = x[0]
    k += 1
    log_e, log_r = -np.inf, x[0]
    if law != KAPLAN:
        log_f, log_1mf = _log_sigmoid(x[1]), _log_sigmoid(-x[1])
        out[k] = math.exp(log_f)
        k += 1
        log_e, log_r = x[0] + log_f, x[0] + log_1mf
    log_s, log_q = 0.0, 0.0
    if law != COMPUTE:
        log_s, log_q = _log_sigmoid(x[k]), _log_sigmoid(-x[k])
        out[k] = math.exp(log_s)
        k += 1
    exponents = 1 if law == COMPUTE else 2
    first = math.exp(x[k])
    second = math.exp(x[k + 1]) if exponents == 2 else 0.0
    for j in range(exponents + 2):  # the exponents, sigma and nu
        out[k + j] = math.exp(x[k + j])
    k += exponents + 2
    if law == CHINCHILLA:
        log_a, log_b = log_r + log_s + first * centre_n, log_r + log_q + second * centre_d
        out[k], out[k + 1], out[k + 2] = log_a, log_b, log_e
        out[k + 3], out[k + 4], out[k + 5] = math.exp(log_e), math.exp(log_a), math.exp(log_b)
    elif law == COMPUTE:
        log_c_c = math.log(FLOP_PER_PARAM_TOKEN) + centre_n + centre_d + log_r / first
        out[k], out[k + 1], out[k + 2], out[k + 3] = log_e, log_c_c, math.exp(log_c_c), math.exp(log_e)
    else:
        log_n_c = (second * log_s + log_r) / first + centre_n
        log_d_c = log_q + log_r / second + centre_d
        out[k], out[k + 1], out[k + 2], out[k + 3] = log_n_c, log_d_c, math.exp(log_n_c), math.exp(log_d_c)
        if law == KAPLAN_E:
            out[k + 4] = math.exp(log_e)


@numba.njit(cache=True)
def _data(pointer):
    n = int(numba.carray(pointer, (2,), np.float64)[1])
    return numba.carray(pointer, (HEADER + 3 * n,), np.float64)


@numba.cfunc(LOGP_SIGNATURE, cache=True, error_model="numpy")
def _logp_entry(dim, x_, grad_, logp_, data_):
    # nutpie rejects a point whose code is positive (as a divergence) and stops on one <= 0.
    x, grad, logp = numba.carray(x_, (dim,)), numba.carray(grad_, (dim,)), numba.carray(logp_, (1,))
    value = _log_density(x, _data(data_), grad)
    logp[0] = value
    for k in range(dim):
        if not np.isfinite(grad[k]):
            return 3
    return 0 if np.isfinite(value) else 4


@numba.cfunc(EXPAND_SIGNATURE, cache=True, error_model="numpy")
def _expand_entry(dim, n_expanded, x_, out_, data_):
    _expand(numba.carray(x_, (dim,)), _data(data_), numba.carray(out_, (n_expanded,)))
    return 0


def compiled(law: str, params: np.ndarray, tokens: np.ndarray, loss: np.ndarray, priors: LevelPriors):
    """The law's model on these runs, ready for ``nutpie.sample``: nutpie's own compiled-model class, given
    the cached functions instead of ones compiled from PyMC (its PyTensor fields are unused by sampling)."""
    from nutpie.compile_pymc import CompiledPyMCModel  # nutpie: only when fitting

    layout, data = LAYOUTS[law], user_data(law, params, tokens, loss, priors)
    return CompiledPyMCModel(
        _n_dim=layout.n_dim, dims={}, _coords={}, _shapes={name: () for name in layout.names},
        compiled_logp_func=_logp_entry, compiled_expand_func=_expand_entry,
        initial_point_func=lambda seed: start(law, data, seed),
        shared_data={}, shared_var_keys={}, user_data=data, n_expanded=len(layout.names),
        shape_info=(list(layout.names), [slice(i, i + 1) for i in range(len(layout.names))],
                    [()] * len(layout.names)),
        logp_func=None, expand_func=None, reparameterized_names=None,
    )
