"""What every law's model shares: the runs as (centred) data and the Student-t likelihood on log loss.

Sharing them is what makes two laws' fits comparable: same runs, same
centring, same noise model, so their pointwise log likelihoods (and LOO) are
on the same scale.
"""

from typing import NamedTuple

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from scaling_forecast.models.laws import log_centres
from scaling_forecast.models.priors import LevelPriors, NoisePriors


def loss_level(priors: LevelPriors, *, floor: bool = True) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Sample the level at the centre; return (log E, log of the reducible loss at the centre).

    Without a ``floor`` log E is -inf (E = 0) and the whole loss is reducible.
    """
    log_l_c = pm.Normal("log_L_c", priors.log_l_mu, priors.log_l_sigma)
    if not floor:
        return pt.as_tensor(-np.inf), log_l_c
    share = pm.Beta("floor_share", priors.floor_concentration, priors.floor_concentration)
    return log_l_c + pt.log(share), log_l_c + pt.log1p(-share)


class RunData(NamedTuple):
    """The runs inside a model: centred log N and log D, observed log loss, and the centres."""

    log_n_centred: pt.TensorVariable
    log_d_centred: pt.TensorVariable
    log_loss_observed: pt.TensorVariable
    centre_log_n: pt.TensorVariable
    centre_log_d: pt.TensorVariable


def run_data(params: np.ndarray, tokens: np.ndarray, loss: np.ndarray) -> RunData:
    """The runs as named constants of the current model (constants compile faster than ``pm.Data``)."""
    log_n, log_d = np.log(np.asarray(params, float)), np.log(np.asarray(tokens, float))
    centre_n, centre_d = log_centres(params, tokens)
    return RunData(
        pt.as_tensor(log_n - centre_n, name="log_n_centred"),
        pt.as_tensor(log_d - centre_d, name="log_d_centred"),
        pt.as_tensor(np.log(np.asarray(loss, float)), name="log_loss_observed"),
        pt.as_tensor(centre_n, name="centre_log_n"),
        pt.as_tensor(centre_d, name="centre_log_d"),
    )


def observe_log_loss(mu: pt.TensorVariable, data: RunData, priors: NoisePriors) -> None:
    """log L_observed ~ StudentT(nu, mu, sigma): multiplicative run-to-run noise with heavy tails."""
    sigma = pm.HalfNormal("sigma", priors.sigma_scale)
    nu = pm.Gamma("nu", priors.nu_alpha, priors.nu_beta)
    pm.StudentT("log_loss", nu=nu, mu=mu, sigma=sigma, observed=data.log_loss_observed, dims="run")


def coords(n_runs: int, run_ids: list[str] | None) -> dict:
    return {"run": run_ids if run_ids is not None else np.arange(n_runs)}
