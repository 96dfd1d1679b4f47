"""Kaplan et al. 2020's joint law L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D, optionally plus E, on log loss."""

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from scaling_forecast.models.laws import kaplan_loss
from scaling_forecast.models.likelihood import coords, loss_level, observe_log_loss, run_data
from scaling_forecast.models.priors import KaplanPriors


def kaplan_model(
    params: np.ndarray,
    tokens: np.ndarray,
    loss: np.ndarray,
    *,
    irreducible: bool = False,
    priors: KaplanPriors = KaplanPriors(),
    run_ids: list[str] | None = None,
) -> pm.Model:
    """Model of observed log loss; ``irreducible`` adds a floor E (Kaplan's own form has none).

    Posterior variables on the paper's scale: alpha_N, alpha_D, N_c, D_c (and E).
    Data handling and likelihood are those of every law (``scaling_forecast.models.likelihood``).
    """
    with pm.Model(coords=coords(len(loss), run_ids)) as model:
        data = run_data(params, tokens, loss)
        log_e, log_r_c = loss_level(priors, floor=irreducible)
        e = pt.exp(log_e) if irreducible else 0.0
        share = pm.Beta("share_N", priors.share_concentration, priors.share_concentration)
        exponent_mu = np.log(priors.exponent_median)
        alpha_n = pm.LogNormal("alpha_N", exponent_mu, priors.exponent_log_sigma)
        alpha_d = pm.LogNormal("alpha_D", exponent_mu, priors.exponent_log_sigma)

        # At the centre the bracket is exp(log_R_c / alpha_D), split share_N : 1 - share_N.
        bracket_c = log_r_c / alpha_d
        log_n_c_rel = (alpha_d / alpha_n) * (pt.log(share) + bracket_c)
        log_d_c_rel = pt.log1p(-share) + bracket_c
        loss_c = kaplan_loss(data.log_n_centred, data.log_d_centred, log_n_c_rel, log_d_c_rel, alpha_n, alpha_d, e, xp=pt)
        observe_log_loss(pt.log(loss_c), data, priors)

        log_n_c = pm.Deterministic("log_N_c", log_n_c_rel + data.centre_log_n)
        log_d_c = pm.Deterministic("log_D_c", log_d_c_rel + data.centre_log_d)
        pm.Deterministic("N_c", pt.exp(log_n_c))
        pm.Deterministic("D_c", pt.exp(log_d_c))
        if irreducible:
            pm.Deterministic("E", e)
    return model
