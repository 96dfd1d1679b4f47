"""The Chinchilla law across run families: partial pooling of every constant, on log loss.

Families (run collections with their own data, tokenizer and eval set) get
their own E, A, B, alpha and beta, drawn from population distributions, or
share alpha and beta exactly. The pooled quantities are E and the N and D
terms at the global centre of the data (as level, floor share and split).

Centred by default: every registered family has dozens to hundreds of runs,
which pin its constants far more tightly than the population does, and there
the non-centred form is the one with the funnel. Centred, each family samples
its level, floor share and split at the centre of *its own* runs (see
``_level_terms``), since at the global centre a family a decade away pays for
the extrapolation with strong correlations. ``centred=False`` is the choice
when some family has only a handful of runs. (Timings and diagnostics of both
forms: the README's "Run families and the hierarchical model".)

The law is an approximation: each family departs from it smoothly along log
compute (``_drift``); without that term, forecasts of each family's largest
runs are overconfident.

The data are *configurations*, not runs: repeated seeds of one (N, D, U) are
summarised by their mean log loss and their within-configuration sum of
squares, so k seeds count as one observation of the curve plus k - 1
observations of seed noise, never as k independent points on the curve.
Tokens drawn from fewer unique tokens enter through Muennighoff et al.'s
effective data D', with R*_D fitted.
"""

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from scaling_forecast.models.drift import compute_bins, drift_correlation
from scaling_forecast.models.laws import chinchilla_loss, effective_log_tokens
from scaling_forecast.models.priors import EXTRAPOLATION_NU, FAMILY_CONSTANTS, HierarchicalPriors, PopulationPrior


def _drift(sd, length: float, centred_runs: float, bins: np.ndarray, bin_family: np.ndarray, bin_log10c: np.ndarray):
    """Each family's departure from its law per compute bin: a stationary Gaussian process along log10 compute.

    The law is an approximation; its error is smooth in scale, so runs at nearby compute share it, and a
    forecast far beyond the fitted compute inherits its full size (exponential kernel, i.e. an
    Ornstein-Uhlenbeck process; independent between families), through the kernel's explicit Cholesky
    factor L[i, j] = exp(-(x_i - x_j) / length) sqrt(1 - exp(-2 gap_j / length)) within a family (j <= i).
    Families with several runs per bin pin each bin's departure far inside the drift's size: they are
    sampled centred; the others non-centred (all centred had a funnel, all non-centred a banana, and
    either took four times as long). ``sd`` is the process's size (a random variable of the model).
    """
    same = bin_family[:, None] == bin_family[None, :]
    lower = same & (np.arange(bin_family.size)[:, None] >= np.arange(bin_family.size)[None, :])
    distance = np.where(lower, bin_log10c[:, None] - bin_log10c[None, :], 0.0)
    first = np.r_[True, bin_family[1:] != bin_family[:-1]]
    gap = np.where(first, 1.0, np.diff(bin_log10c, prepend=0.0))  # a family's first bin has no predecessor
    scale = np.where(first, 1.0, np.sqrt(1 - drift_correlation(gap, length) ** 2))
    cholesky = lower * drift_correlation(distance, length) * scale[None, :]
    runs_per_bin = np.bincount(bins, minlength=bin_family.size)
    dense = np.isin(bin_family, [fam for fam in np.unique(bin_family)
                                 if runs_per_bin[bin_family == fam].mean() >= centred_runs])
    offset = pt.zeros(bin_family.size)
    if dense.any():
        centred = pm.MvNormal("drift_centred", mu=np.zeros(int(dense.sum())), chol=sd * cholesky[np.ix_(dense, dense)])
        offset = pt.set_subtensor(offset[dense], centred)
    if (~dense).any():
        z = pm.Normal("drift_z", 0.0, 1.0, shape=int((~dense).sum()))
        offset = pt.set_subtensor(offset[~dense], sd * pt.dot(cholesky[np.ix_(~dense, ~dense)], z))
    return pm.Deterministic("drift_offset", offset, dims="bin")


def _population(name: str, mean_mu: float, mean_sigma: float, spread: float) -> tuple:
    """A population's mean and spread (the spread of family values around the mean).

    The spread ~ Gamma(2, mean = that of HalfNormal(spread)): with a handful of families a HalfNormal leaves
    mass at zero, where the centred family values form a funnel; a shape-2 Gamma's density is zero there and
    rises linearly (a boundary-avoiding prior, Chung et al. 2013).
    """
    return (pm.Normal(f"{name}_mu", mean_mu, mean_sigma),
            pm.Gamma(f"{name}_spread", alpha=2.0, beta=2.0 / (spread * np.sqrt(2.0 / np.pi))))


def _family_values(name: str, mean_mu: float, mean_sigma: float, spread: float, n_families: int, *,
                   shared: bool = False, centred: bool = True):
    """Each family's value drawn from its population; one value for all when ``shared``."""
    if shared:
        return pm.Normal(f"{name}_mu", mean_mu, mean_sigma) + pt.zeros(n_families)
    mean, scale = _population(name, mean_mu, mean_sigma, spread)
    if centred:
        return pm.Normal(name, mean, scale, dims="family")
    return mean + scale * pm.Normal(f"{name}_z", 0.0, 1.0, dims="family")


def _global_terms(level, floor_logit, share_logit):
    """log E, log A and log B terms at one point from the loss there, the floor's share and the N term's share."""
    floor, share = pm.math.sigmoid(floor_logit), pm.math.sigmoid(share_logit)
    log_r = level + pt.log1p(-floor)
    return level + pt.log(floor), log_r + pt.log(share), log_r + pt.log1p(-share)


def _level_terms(priors: HierarchicalPriors, n: int, shift_n, shift_d, alpha, beta, init_level, centred: bool):
    """Each family's log E and its N and D terms at the global centre, pooled as level / floor / split there.

    Non-centred: the three pooled values are sampled as mean + spread x z. Centred: each family samples
    them at the centre of *its own* runs, where its data pin them (a family a decade away from the global
    centre otherwise pays for the extrapolation with strong correlations between level, floor and the
    exponents); their population density is then evaluated at the global centre. The map between the two
    points shifts log A by alpha x (shift in log N) and log B likewise, and the map from (level, floor logit,
    split logit) to (log E, log A, log B) has Jacobian determinant 1, so the density needs no correction.
    """
    specs = (("level", priors.level_mu, priors.level_sigma, priors.level_spread),
             ("floor_logit", 0.0, priors.logit_sigma, priors.logit_spread),
             ("share_logit", 0.0, priors.logit_sigma, priors.logit_spread))
    if not centred:
        values = [_family_values(*spec, n, centred=False) for spec in specs]
        return _global_terms(*values)
    inits = (init_level, np.zeros(n), np.zeros(n))
    local = [pm.Flat(f"{name}_local", dims="family", initval=init) for (name, *_), init in zip(specs, inits)]
    log_e, log_a, log_b = _global_terms(*local)
    log_a, log_b = log_a + alpha * shift_n, log_b + beta * shift_d
    log_reducible = pt.logaddexp(log_a, log_b)
    pooled = (pt.logaddexp(log_e, log_reducible), log_e - log_reducible, log_a - log_b)
    for (name, *spec), value in zip(specs, pooled):
        mean, scale = _population(name, *spec)
        pm.Potential(f"{name}_population", pm.logp(pm.Normal.dist(mean, scale), value).sum())
        pm.Deterministic(name, value, dims="family")
    return log_e, log_a, log_b


def hierarchical_model(
    params: np.ndarray,
    tokens: np.ndarray,
    unique_tokens: np.ndarray,
    mean_log_loss: np.ndarray,
    seeds: np.ndarray,
    within_ss: np.ndarray,
    family: np.ndarray,
    compute: np.ndarray,
    *,
    families: list[str],
    shared_exponents: bool = False,
    centred: bool = True,
    priors: HierarchicalPriors = HierarchicalPriors(),
) -> pm.Model:
    """Model of configurations (dims ``config``) in families (dims ``family``).

    Per configuration: N, D, unique tokens U (= D when not repeated), the mean
    log loss of its ``seeds`` runs and their within-configuration sum of
    squares, its family index and its compute (FLOP; runs in one compute bin
    share the law's departure there, see ``_drift``). log N and log D are centred on the global
    means, so each family's constants are described at the same point.
    """
    log_n, log_d, log_u = (np.log(np.asarray(v, float)) for v in (params, tokens, unique_tokens))
    centre_n, centre_d = float(log_n.mean()), float(log_d.mean())
    n = len(families)
    f = np.asarray(family, int)
    y = np.asarray(mean_log_loss, float)
    family_mean = lambda v: np.bincount(f, weights=v, minlength=n) / np.bincount(f, minlength=n)  # noqa: E731
    bins, bin_family, bin_log10c = compute_bins(compute, f)
    with pm.Model(coords={"family": families, "config": np.arange(log_n.size), "bin": np.arange(bin_family.size)}) as model:
        exponent_mu = np.log(priors.exponent_median)
        log_alpha = _family_values("log_alpha", exponent_mu, priors.exponent_log_sigma, priors.exponent_spread, n,
                                   shared=shared_exponents, centred=centred)
        log_beta = _family_values("log_beta", exponent_mu, priors.exponent_log_sigma, priors.exponent_spread, n,
                                  shared=shared_exponents, centred=centred)
        alpha, beta = pt.exp(log_alpha), pt.exp(log_beta)
        log_e, log_a_c, log_b_c = _level_terms(priors, n, family_mean(log_n) - centre_n, family_mean(log_d) - centre_d,
                                               alpha, beta, family_mean(y), centred)
        log_sigma = _family_values("log_sigma", priors.log_sigma_mu, 1.0, priors.log_sigma_spread, n, centred=centred)
        # Non-centred whatever ``centred`` says: a family's runs say little about its tails (nu beyond ~20 is
        # Gaussian to them), so its nu sits near its population's and the centred form made a funnel there.
        log_nu = _family_values("log_nu", priors.log_nu_mu, priors.log_nu_sigma, priors.log_nu_spread, n,
                                centred=False)
        rho = pm.Beta("seed_share", priors.seed_share_concentration, priors.seed_share_concentration)
        r_star = pm.LogNormal("R_star_D", np.log(priors.r_star_median), priors.r_star_log_sigma)

        log_d_eff = effective_log_tokens(log_d, log_u, r_star, xp=pt) if (log_u < log_d).any() else log_d
        mu = pt.log(chinchilla_loss(log_n - centre_n, log_d_eff - centre_d, log_e[f], log_a_c[f], log_b_c[f],
                                    alpha[f], beta[f], xp=pt)) + _drift(
            pm.HalfNormal("drift", priors.drift_scale), priors.drift_length, priors.drift_centred_runs,
            bins, bin_family, bin_log10c)[bins]
        sigma, nu = pt.exp(log_sigma), pt.exp(log_nu)
        _observe_configurations(mu, y, seeds, within_ss, sigma, f, nu, rho)

        pm.Deterministic("alpha", alpha, dims="family")
        pm.Deterministic("beta", beta, dims="family")
        pm.Deterministic("log_E", log_e, dims="family")
        pm.Deterministic("log_A", log_a_c + alpha * centre_n, dims="family")
        pm.Deterministic("log_B", log_b_c + beta * centre_d, dims="family")
        pm.Deterministic("sigma", sigma, dims="family")
        pm.Deterministic("nu", nu, dims="family")
        pm.Deterministic("E", pt.exp(log_e), dims="family")
    return model


def _observe_configurations(mu, y, seeds, within_ss, sigma, family, nu, rho) -> None:
    """Likelihood of configurations: each one's mean log loss over its seeds, and their spread around it.

    ``sigma`` and ``nu`` are indexed by ``family`` (an integer per configuration; zeros for one family). ``rho`` None:
    the seed share is unknown, so the mean of k seeds counts as noisy as one run and their spread is
    not used (conservative: it never overstates what repeats tell).
    """
    seeds = np.asarray(seeds, int)
    if rho is None:
        pm.StudentT("mean_log_loss", nu=nu[family], mu=mu, sigma=sigma[family], observed=y, dims="config")
        return
    repeated = seeds > 1
    # The mean of k seeds keeps the configuration's own deviation and 1/k of the seed part.
    scale = sigma[family] * pt.sqrt(1 - rho**2 * (1 - 1 / seeds))
    pm.StudentT("mean_log_loss", nu=nu[family], mu=mu, sigma=scale, observed=y, dims="config")
    if repeated.any():
        k, rf = seeds[repeated], family[repeated]
        # Sum of squares of k Gaussian seeds around their mean: (rho sigma)^2 chi^2_{k-1}.
        pm.Gamma("within_config_ss", alpha=(k - 1) / 2, beta=1 / (2 * (rho * sigma[rf]) ** 2),
                 observed=np.asarray(within_ss, float)[repeated])


def family_model(
    params: np.ndarray,
    tokens: np.ndarray,
    unique_tokens: np.ndarray,
    mean_log_loss: np.ndarray,
    seeds: np.ndarray,
    within_ss: np.ndarray,
    compute: np.ndarray,
    *,
    population: PopulationPrior,
) -> pm.Model:
    """One family of configurations (dims ``config``) with the population's prior on its constants.

    The family's level, floor share and split are sampled at the centre of its own runs, where its
    data pin them; the population density is evaluated on the same quantities at the population's
    centre (Jacobian 1, see ``_level_terms``). Its law departure along compute is the same process
    as in the hierarchical model, with the population's posterior of its size as prior.
    """
    log_n, log_d, log_u = (np.log(np.asarray(v, float)) for v in (params, tokens, unique_tokens))
    centre_n, centre_d = float(log_n.mean()), float(log_d.mean())
    y = np.asarray(mean_log_loss, float)
    zeros = np.zeros(y.size, int)
    bins, bin_family, bin_log10c = compute_bins(compute, zeros)
    mean = np.asarray(population.mean, float)
    shared = population.shared
    with pm.Model(coords={"config": np.arange(y.size), "bin": np.arange(bin_family.size)}) as model:
        local = [pm.Flat(f"{name}_local", initval=init)
                 for name, init in (("level", y.mean()), ("floor_logit", 0.0), ("share_logit", 0.0))]
        log_alpha, log_beta, log_sigma, log_nu = (pm.Flat(name, initval=mean[i])
                                                  for i, name in enumerate(FAMILY_CONSTANTS[3:], start=3))
        alpha, beta = pt.exp(log_alpha), pt.exp(log_beta)
        log_e, log_a, log_b = _global_terms(*local)  # at the family's centre
        log_a_pop = log_a + alpha * (centre_n - population.centre_log_n)
        log_b_pop = log_b + beta * (centre_d - population.centre_log_d)
        log_reducible = pt.logaddexp(log_a_pop, log_b_pop)
        constants = pt.stack([pt.logaddexp(log_e, log_reducible), log_e - log_reducible, log_a_pop - log_b_pop,
                              log_alpha, log_beta, log_sigma, log_nu])
        # The normal's log density up to a constant, written out: PyMC's MvNormal logp compiles far slower.
        whiten = np.linalg.inv(np.linalg.cholesky(np.asarray(population.cov, float)))
        pm.Potential("population", -0.5 * pt.sum(pt.dot(whiten, constants - mean) ** 2))
        for name, value in zip(FAMILY_CONSTANTS[:3], (constants[0], constants[1], constants[2])):
            pm.Deterministic(name, value)

        repeats = np.asarray(seeds, int).max() > 1 and shared.get("seed_share") is not None
        rho = pm.LogitNormal("seed_share", *shared["seed_share"]) if repeats else None
        r_star = pm.LogNormal("R_star_D", *shared["R_star_D"])
        drift = _drift(pm.LogNormal("drift", *shared["drift"]), population.drift_length,
                       population.drift_centred_runs, bins, bin_family, bin_log10c)
        log_d_eff = effective_log_tokens(log_d, log_u, r_star, xp=pt) if (log_u < log_d).any() else log_d
        mu = pt.log(chinchilla_loss(log_n - centre_n, log_d_eff - centre_d, log_e, log_a, log_b, alpha, beta,
                                    xp=pt)) + drift[bins]
        sigma, nu = pt.exp(log_sigma), pt.exp(log_nu)
        _observe_configurations(mu, y, seeds, within_ss, pt.stack([sigma]), zeros, pt.stack([nu]), rho)

        pm.Deterministic("alpha", alpha)
        pm.Deterministic("beta", beta)
        pm.Deterministic("log_E", log_e)
        pm.Deterministic("E", pt.exp(log_e))
        for name, value in (("A", log_a + alpha * centre_n), ("B", log_b + beta * centre_d)):
            pm.Deterministic(f"log_{name}", value)
            pm.Deterministic(name, pt.exp(value))
        pm.Deterministic("sigma", sigma)
        pm.Deterministic("nu", nu)
    return model


def extrapolation_model(error: np.ndarray, decades: np.ndarray, scale: np.ndarray, family: np.ndarray, *,
                        families: list[str], slope_scale: float = 0.02, nu: float = EXTRAPOLATION_NU) -> pm.Model:
    """How a law's forecasts err beyond the runs it was fitted to, as a function of distance, across families.

    Per held-out run: ``error`` = observed log loss minus the forecast's median, ``decades`` of compute
    beyond the family's largest fitted run, ``scale`` = the forecast's own standard error there (so the
    model explains only what the forecast's interval did not). Each family's error grows linearly with
    distance at its own slope, drawn from a population of slopes: mean ``slope_mu`` (a systematic bias
    per decade: negative when forecasts run high) and spread ``slope_spread`` (per decade). Student-t
    (``nu``) so that a few stray runs do not set the slope. Priors: Normal(0, ``slope_scale``) and
    HalfNormal(``slope_scale``): a few percent of the loss per decade.
    """
    f = np.asarray(family, int)
    with pm.Model(coords={"family": families, "run": np.arange(len(f))}) as model:
        mean = pm.Normal("slope_mu", 0.0, slope_scale)
        spread = pm.HalfNormal("slope_spread", slope_scale)
        slope = pm.Deterministic("slope", mean + spread * pm.Normal("slope_z", 0.0, 1.0, dims="family"), dims="family")
        pm.StudentT("error", nu=nu, mu=slope[f] * np.asarray(decades, float), sigma=np.asarray(scale, float),
                    observed=np.asarray(error, float), dims="run")
    return model
