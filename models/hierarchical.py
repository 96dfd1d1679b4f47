"""The Chinchilla law across run families: partial pooling of every constant, on log loss.

Families (run collections with their own data, tokenizer and eval set) get
their own E, A, B, alpha and beta, drawn from population distributions, or
share alpha and beta exactly. Centred by default: every registered family
has dozens to hundreds of runs, which pin its constants far more tightly
than the population does, and there the non-centred form is the one with the
funnel (on all eight families: 27-40 s and ESS 360-880 centred, against
220-320 s, ESS 72-145 and divergences non-centred; the centred fit still
misses R-hat <= 1.01 with some seeds). ``centred=False`` is the choice when
some family has only a handful of runs. The data are *configurations*, not runs: repeated
seeds of one (N, D, U) are summarised by their mean log loss and their
within-configuration sum of squares, so k seeds count as one observation of
the curve plus k - 1 observations of seed noise, never as k independent
points on the curve. Tokens drawn from fewer unique tokens enter through
Muennighoff et al.'s effective data D', with R*_D fitted.
"""

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from models.laws import chinchilla_loss, effective_log_tokens


@dataclass(frozen=True)
class HierarchicalPriors:
    """Population priors; each family's constant = population mean + spread x N(0, 1).

    - level (log loss at the data's global centre): mean ~ N(1, 1), spread ~ HalfNormal(0.5)
    - floor share E/L there (logit): mean ~ N(0, 1.5), spread ~ HalfNormal(1)
    - N term's share of the reducible loss there (logit): mean ~ N(0, 1.5), spread ~ HalfNormal(1)
    - log alpha, log beta: mean ~ N(log 0.3, 0.5), spread ~ HalfNormal(0.3) (exponents vary
      between families by tens of percent, not by factors)
    - log sigma (run-to-run scatter per family): mean ~ N(log 0.01, 1), spread ~ HalfNormal(0.5)
    - seed_share ~ Beta(2, 2): the part of a single run's scatter that a repeat with another seed
      would not share (rho; seeds average it away, the rest is the configuration's own deviation)
    - R*_D ~ LogNormal(log 15.4, 0.75): Muennighoff et al.'s fitted value 15.4, 95% 3.5 to 67
    - nu ~ Gamma(2, 0.1), shared: Student-t degrees of freedom (as ``NoisePriors``)
    """

    level_mu: float = 1.0
    level_sigma: float = 1.0
    level_spread: float = 0.5
    logit_sigma: float = 1.5
    logit_spread: float = 1.0
    exponent_median: float = 0.3
    exponent_log_sigma: float = 0.5
    exponent_spread: float = 0.3
    log_sigma_mu: float = float(np.log(0.01))
    log_sigma_spread: float = 0.5
    nu_alpha: float = 2.0
    nu_beta: float = 0.1
    seed_share_concentration: float = 2.0
    r_star_median: float = 15.4
    r_star_log_sigma: float = 0.75


def _family_values(name: str, mean_mu: float, mean_sigma: float, spread: float, n_families: int, *,
                   shared: bool = False, centred: bool = True):
    """Population mean and spread, and each family's value; one value for all when ``shared``."""
    mean = pm.Normal(f"{name}_mu", mean_mu, mean_sigma)
    if shared:
        return mean + pt.zeros(n_families)
    scale = pm.HalfNormal(f"{name}_spread", spread)
    if centred:
        return pm.Normal(name, mean, scale, dims="family")
    return mean + scale * pm.Normal(f"{name}_z", 0.0, 1.0, dims="family")


def hierarchical_model(
    params: np.ndarray,
    tokens: np.ndarray,
    unique_tokens: np.ndarray,
    mean_log_loss: np.ndarray,
    seeds: np.ndarray,
    within_ss: np.ndarray,
    family: np.ndarray,
    *,
    families: list[str],
    shared_exponents: bool = False,
    centred: bool = True,
    priors: HierarchicalPriors = HierarchicalPriors(),
) -> pm.Model:
    """Model of configurations (dims ``config``) in families (dims ``family``).

    Per configuration: N, D, unique tokens U (= D when not repeated), the mean
    log loss of its ``seeds`` runs and their within-configuration sum of
    squares, and its family index. log N and log D are centred on the global
    means, so each family's constants are described at the same point.
    """
    log_n, log_d, log_u = (np.log(np.asarray(v, float)) for v in (params, tokens, unique_tokens))
    seeds = np.asarray(seeds, int)
    repeated = seeds > 1
    centre_n, centre_d = float(log_n.mean()), float(log_d.mean())
    n = len(families)
    f = np.asarray(family, int)
    with pm.Model(coords={"family": families, "config": np.arange(log_n.size)}) as model:
        level = _family_values("level", priors.level_mu, priors.level_sigma, priors.level_spread, n, centred=centred)
        floor = pm.math.sigmoid(_family_values("floor_logit", 0.0, priors.logit_sigma, priors.logit_spread, n, centred=centred))
        share = pm.math.sigmoid(_family_values("share_logit", 0.0, priors.logit_sigma, priors.logit_spread, n, centred=centred))
        exponent_mu = np.log(priors.exponent_median)
        log_alpha = _family_values("log_alpha", exponent_mu, priors.exponent_log_sigma, priors.exponent_spread, n,
                                   shared=shared_exponents, centred=centred)
        log_beta = _family_values("log_beta", exponent_mu, priors.exponent_log_sigma, priors.exponent_spread, n,
                                  shared=shared_exponents, centred=centred)
        log_sigma = _family_values("log_sigma", priors.log_sigma_mu, 1.0, priors.log_sigma_spread, n, centred=centred)
        nu = pm.Gamma("nu", priors.nu_alpha, priors.nu_beta)
        rho = pm.Beta("seed_share", priors.seed_share_concentration, priors.seed_share_concentration)
        r_star = pm.LogNormal("R_star_D", np.log(priors.r_star_median), priors.r_star_log_sigma)

        alpha, beta = pt.exp(log_alpha), pt.exp(log_beta)
        log_e = level + pt.log(floor)
        log_r = level + pt.log1p(-floor)
        log_a_c, log_b_c = log_r + pt.log(share), log_r + pt.log1p(-share)

        log_d_eff = effective_log_tokens(log_d, log_u, r_star, xp=pt) if (log_u < log_d).any() else log_d
        mu = pt.log(chinchilla_loss(log_n - centre_n, log_d_eff - centre_d, log_e[f], log_a_c[f], log_b_c[f],
                                    alpha[f], beta[f], xp=pt))
        sigma = pt.exp(log_sigma)
        # The mean of k seeds keeps the configuration's own deviation and 1/k of the seed part.
        scale = sigma[f] * pt.sqrt(1 - rho**2 * (1 - 1 / seeds))
        pm.StudentT("mean_log_loss", nu=nu, mu=mu, sigma=scale, observed=np.asarray(mean_log_loss, float), dims="config")
        if repeated.any():
            k, rf = seeds[repeated], f[repeated]
            # Sum of squares of k Gaussian seeds around their mean: (rho sigma)^2 chi^2_{k-1}.
            pm.Gamma("within_config_ss", alpha=(k - 1) / 2, beta=1 / (2 * (rho * sigma[rf]) ** 2),
                     observed=np.asarray(within_ss, float)[repeated])

        pm.Deterministic("alpha", alpha, dims="family")
        pm.Deterministic("beta", beta, dims="family")
        pm.Deterministic("log_E", log_e, dims="family")
        pm.Deterministic("log_A", log_a_c + alpha * centre_n, dims="family")
        pm.Deterministic("log_B", log_b_c + beta * centre_d, dims="family")
        pm.Deterministic("sigma", sigma, dims="family")
        pm.Deterministic("E", pt.exp(log_e), dims="family")
    return model
