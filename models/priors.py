"""The priors of every model, as plain numbers: what a fit records, compares and reads back.

They live apart from the PyMC models (``chinchilla``, ``kaplan``, ``compute``, ``likelihood``, ``hierarchical``)
so that reading a saved fit and answering from it needs no PyMC.
"""

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class NoisePriors:
    """Priors of the noise model, shared by every law.

    - ``sigma ~ HalfNormal(0.1)``: run-to-run scatter of log loss, a few percent.
    - ``nu ~ Gamma(2, 0.1)``: Student-t degrees of freedom (Juárez & Steel 2010),
      heavy tails allowed so a few outlying runs do not drag the curve.
    """

    sigma_scale: float = 0.1
    nu_alpha: float = 2.0
    nu_beta: float = 0.1

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class LevelPriors(NoisePriors):
    """Priors of the loss level at the centre of the data, shared by every law.

    Every law samples the expected loss at the centre of the runs (geometric
    mean N and D) and the share of it that is the floor E, not E beside the
    reducible loss: the data fix their sum, and sampling both leaves a ridge
    (correlation -1.00 on chinchilla-epoch) that costs most of the effective
    sample size and causes divergences.

    - ``log_L_c ~ Normal(1, 1)``: loss at the centre between 0.4 and 19 nats/token (95%).
    - ``floor_share ~ Beta(2, 2)``: E / L at the centre (laws with a floor only).
    - noise: see ``NoisePriors``.
    """

    log_l_mu: float = 1.0
    log_l_sigma: float = 1.0
    floor_concentration: float = 2.0


@dataclass(frozen=True)
class ChinchillaPriors(LevelPriors):
    """Weakly informative priors, on scales where a loss in nats/token lives.

    - level at the centre of the data and E's share of it: see ``LevelPriors``.
    - ``share_N ~ Beta(1.5, 1.5)``: the N term's share of the reducible loss at the centre
      (A N^-alpha against B D^-beta there). Centring log N and log D removes most of the
      A-alpha and B-beta correlation.
    - ``alpha, beta ~ LogNormal(log 0.3, 0.75)``: exponents between 0.07 and 1.3 (95%),
      covering Kaplan's 0.076 and Chinchilla's 0.34.
    """

    share_concentration: float = 1.5
    exponent_median: float = 0.3
    exponent_log_sigma: float = 0.75


@dataclass(frozen=True)
class KaplanPriors(LevelPriors):
    """Weakly informative priors for the Kaplan form, parametrised where the data pin it down.

    The model samples the level at the centre of the data (``LevelPriors``;
    the floor only with an irreducible term) and the N term's share of the
    bracket there; N_c, D_c and E follow. Sampling N_c and D_c directly (of
    order 10^13, tied to alpha_D through powers) mixes badly.

    - ``share_N ~ Beta(1.5, 1.5)``: the N term's share of the bracket at the centre.
    - ``alpha_N, alpha_D ~ LogNormal(log 0.15, 1)``: between 0.02 and 1.1 (95%), covering
      Kaplan's 0.076 and 0.103 and the larger exponents a floor E allows.
    """

    share_concentration: float = 1.5
    exponent_median: float = 0.15
    exponent_log_sigma: float = 1.0


@dataclass(frozen=True)
class ComputePriors(LevelPriors):
    """Weakly informative priors for loss as a function of compute alone.

    - level at the data's geometric-mean compute and E's share of it: see ``LevelPriors``.
    - ``gamma ~ LogNormal(log 0.1, 1)``: between 0.014 and 0.7 (95%), covering GPT-3's 0.048
      (which has no E, so a smaller exponent than a law with a floor).
    """

    exponent_median: float = 0.1
    exponent_log_sigma: float = 1.0


@dataclass(frozen=True)
class HierarchicalPriors:
    """Population priors; each family's constant = population mean + spread x N(0, 1).

    Each spread ~ Gamma(2, rate 2 / (s sqrt(2 / pi))), written G(s) below: the mean of HalfNormal(s), but zero
    density at zero (boundary-avoiding: with a handful of families a HalfNormal's mass at zero makes a funnel).

    - level (log loss at the data's global centre): mean ~ N(1, 1), spread ~ G(0.5)
    - floor share E/L there (logit): mean ~ N(0, 1.5), spread ~ G(1)
    - N term's share of the reducible loss there (logit): mean ~ N(0, 1.5), spread ~ G(1)
    - log alpha, log beta: mean ~ N(log 0.3, 0.5), spread ~ G(0.3) (exponents vary
      between families by tens of percent, not by factors)
    - log sigma (run-to-run scatter per family): mean ~ N(log 0.01, 1), spread ~ G(0.5)
    - seed_share ~ Beta(2, 2): the part of a single run's scatter that a repeat with another seed
      would not share (rho; seeds average it away, the rest is the configuration's own deviation)
    - R*_D ~ LogNormal(log 15.4, 0.75): Muennighoff et al.'s fitted value 15.4, 95% 3.5 to 67
    - log nu (Student-t degrees of freedom of the run noise, per family): mean ~ N(log 10, 1), spread ~ G(0.75).
      Each family's tails are its own: the families with stray runs must not make a new family's clean
      runs outliers. Drawn from a population, a new family's nu is informed by the registered families
      and moved by its own runs.
    - drift (sd of a family's departure from its law, log loss) ~ HalfNormal(0.02), shared by families;
      its correlation length along log10 compute is fixed (``drift_length`` decades): runs a few bins
      apart share most of it, runs a decade apart little. Left free, the length trades off against the
      run noise and the fit took 7 minutes with divergences.
    - ``drift_centred_runs``: not a prior but how the drift is sampled (centred for families with at
      least this many runs per compute bin on average, non-centred for the others)
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
    log_nu_mu: float = float(np.log(10.0))
    log_nu_sigma: float = 1.0
    log_nu_spread: float = 0.75
    seed_share_concentration: float = 2.0
    r_star_median: float = 15.4
    r_star_log_sigma: float = 0.75
    drift_scale: float = 0.02
    drift_length: float = 0.5
    drift_centred_runs: float = 4.0


# A family's constants in the order the population describes them (at the population's centre).
FAMILY_CONSTANTS = ("level", "floor_logit", "share_logit", "log_alpha", "log_beta", "log_sigma", "log_nu")


@dataclass(frozen=True)
class PopulationPrior:
    """What the registered families teach about a new family, as a prior for fitting it alone.

    - ``mean``, ``cov``: normal approximation of the population's predictive distribution of a new
      family's constants (``FAMILY_CONSTANTS``, level / floor / split at ``centre_log_n``,
      ``centre_log_d``, the population's centre).
    - ``shared``: name -> (location, scale) of a normal on the log scale (``drift``, ``R_star_D``) or the
      logit scale (``seed_share``; absent when no family of the population repeated a configuration with
      other seeds, since a single family pins it poorly and its vague prior then made the sampler diverge):
      quantities every family shares.
    - ``extrapolation``: (mean, sd) of the slope, in log loss per decade of compute beyond a family's
      largest run, of the law's error when extrapolated, learned from the population's families (see
      ``extrapolation_model``); (0, 0) before it is learned.
    - ``extrapolation_reach``: the farthest distance (decades of compute) of the errors that slope was
      learned from; beyond it a forecast does not extrapolate the slope's mean, only its spread (None:
      no limit).
    - ``drift_length``, ``drift_centred_runs``: as in :class:`HierarchicalPriors`.
    """

    centre_log_n: float
    centre_log_d: float
    mean: tuple[float, ...]
    cov: tuple[tuple[float, ...], ...]
    shared: dict[str, tuple[float, float]]
    drift_length: float
    drift_centred_runs: float
    extrapolation: tuple[float, float] = (0.0, 0.0)
    extrapolation_reach: float | None = None


EXTRAPOLATION_NU = 4.0  # the tails of forecast errors beyond the data: a few stray runs must not set a slope


@dataclass(frozen=True)
class TrendPriors:
    """Priors of each regression of log10 size on year (centred on the mean year).

    - growth (orders of magnitude per year) ~ N(0, 1): from shrinking to growing 100x a year
    - level (log10 size at the mean year) ~ N(mean of the data, 3)
    - scatter of models around the trend (orders of magnitude) ~ HalfNormal(1)
    - nu ~ Gamma(2, 0.1): Student-t tails, so a few tiny research models do not tilt the trend
    """

    growth_sigma: float = 1.0
    level_sigma: float = 3.0
    scatter_sigma: float = 1.0
    nu_alpha: float = 2.0
    nu_beta: float = 0.1
