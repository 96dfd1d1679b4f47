"""The Chinchilla law L = E + A N^-alpha + B D^-beta as a PyMC model on log loss."""

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from scaling_forecast.models.laws import chinchilla_loss
from scaling_forecast.models.likelihood import coords, loss_level, observe_log_loss, run_data
from scaling_forecast.models.priors import ChinchillaPriors


def chinchilla_model(
    params: np.ndarray,
    tokens: np.ndarray,
    loss: np.ndarray,
    *,
    priors: ChinchillaPriors = ChinchillaPriors(),
    run_ids: list[str] | None = None,
) -> pm.Model:
    """Model of observed log loss; variables E, A, B, alpha, beta on the paper's scale.

    Runs are the ``run`` dimension. log N and log D are centred on their means
    (``centre_log_n``, ``centre_log_d``). nutpie samples it through the same density written out in
    numba (``scaling_forecast.models.densities``), tested equal to this one.
    """
    with pm.Model(coords=coords(len(loss), run_ids)) as model:
        data = run_data(params, tokens, loss)
        log_e, log_r = loss_level(priors)
        share = pm.Beta("share_N", priors.share_concentration, priors.share_concentration)
        log_a_c = log_r + pt.log(share)
        log_b_c = log_r + pt.log1p(-share)
        exponent_mu = np.log(priors.exponent_median)
        alpha = pm.LogNormal("alpha", exponent_mu, priors.exponent_log_sigma)
        beta = pm.LogNormal("beta", exponent_mu, priors.exponent_log_sigma)

        mu = pt.log(chinchilla_loss(data.log_n_centred, data.log_d_centred, log_e, log_a_c, log_b_c, alpha, beta, xp=pt))
        observe_log_loss(mu, data, priors)

        log_a = pm.Deterministic("log_A", log_a_c + alpha * data.centre_log_n)
        log_b = pm.Deterministic("log_B", log_b_c + beta * data.centre_log_d)
        pm.Deterministic("log_E", log_e)
        pm.Deterministic("E", pt.exp(log_e))
        pm.Deterministic("A", pt.exp(log_a))
        pm.Deterministic("B", pt.exp(log_b))
    return model
