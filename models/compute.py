"""The compute-only law L = E + (C_c/C)^gamma, C = 6ND, as a PyMC model on log loss."""

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN, compute_loss
from scaling_forecast.models.likelihood import coords, loss_level, observe_log_loss, run_data
from scaling_forecast.models.priors import ComputePriors


def compute_model(
    params: np.ndarray,
    tokens: np.ndarray,
    loss: np.ndarray,
    *,
    priors: ComputePriors = ComputePriors(),
    run_ids: list[str] | None = None,
) -> pm.Model:
    """Model of observed log loss against C = 6ND only; variables E, C_c (FLOP), gamma.

    Fitted to every run, it describes loss at the runs' own allocations, not
    the compute-optimal frontier; restrict the runs to the frontier for that.
    """
    with pm.Model(coords=coords(len(loss), run_ids)) as model:
        data = run_data(params, tokens, loss)
        log_e, log_r_c = loss_level(priors)
        pm.Deterministic("log_E", log_e)
        gamma = pm.LogNormal("gamma", np.log(priors.exponent_median), priors.exponent_log_sigma)
        # log C - mean log C = centred log N + centred log D, since C = 6ND for every run.
        mu = pt.log(compute_loss(data.log_n_centred + data.log_d_centred, log_e, log_r_c / gamma, gamma, xp=pt))
        observe_log_loss(mu, data, priors)

        centre_log_c = np.log(FLOP_PER_PARAM_TOKEN) + data.centre_log_n + data.centre_log_d
        log_c_c = pm.Deterministic("log_C_c", centre_log_c + log_r_c / gamma)
        pm.Deterministic("C_c", pt.exp(log_c_c))
        pm.Deterministic("E", pt.exp(log_e))
    return model
