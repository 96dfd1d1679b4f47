"""The laws the engine can fit: their PyMC model, priors, reported parameters, and how
posterior draws turn into loss and a compute-optimal frontier.

Formulas live in ``models/laws.py``; this module only says which posterior
variables feed them, so fitting, prediction, allocation, comparison and the
report handle every law the same way.
"""

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from scaling_forecast.core.errors import InputError
from scaling_forecast.models.laws import (
    FLOP_PER_PARAM_TOKEN,
    Frontier,
    chinchilla_frontier,
    chinchilla_loss,
    compute_loss,
    kaplan_frontier,
    kaplan_loss,
)
from scaling_forecast.models.priors import ChinchillaPriors, ComputePriors, KaplanPriors, LevelPriors

Draws = Mapping[str, np.ndarray]
NOISE = {"sigma": "run-to-run scale of log loss", "nu": "Student-t degrees of freedom"}


def _model(module: str, **fixed) -> Callable:
    """The PyMC model builder ``scaling_forecast.models.<module>.<module>_model``, imported on first call:
    reading a saved fit and answering from it must not pay PyMC's import."""
    def build(*args, **kwargs):
        builder = getattr(importlib.import_module(f"scaling_forecast.models.{module}"), f"{module}_model")
        return builder(*args, **fixed, **kwargs)

    return build


@dataclass(frozen=True)
class Law:
    """One scaling law as the engine uses it."""

    name: str
    formula: str
    meaning: str
    build: Callable  # (params, tokens, loss, *, priors, run_ids) -> pm.Model: the specification densities.py samples
    priors: type[LevelPriors]
    free_vars: tuple[str, ...]  # sampled variables: diagnostics are taken over these
    parameters: dict[str, str]  # reported parameter -> units
    curve_vars: tuple[str, ...]  # posterior variables the loss needs
    loss_of: Callable[[np.ndarray, np.ndarray, Draws], np.ndarray]
    frontier_of: Callable[[Draws], Frontier] | None
    # Published fits to show beside the posterior: (label, law, source) rows of law_constants.csv.
    references: tuple[tuple[str, str, str], ...] = field(default=())

    def loss(self, log_n: np.ndarray, log_d: np.ndarray, draws: Draws) -> np.ndarray:
        """Expected loss (nats/token) at log N, log D for the given draws (numpy broadcasting)."""
        return self.loss_of(log_n, log_d, draws)

    def frontier(self, draws: Draws) -> Frontier:
        """Per-draw compute-optimal frontier; an error for laws that do not depend on N and D separately."""
        if self.frontier_of is None:
            raise InputError(f"the {self.name} law depends on compute only, so it has no optimal split of N and D; "
                             "fit chinchilla, kaplan or kaplan_e for allocations")
        return self.frontier_of(draws)


_KAPLAN_PARAMETERS = {
    "alpha_N": "exponent of N (via (N_c/N)^(alpha_N/alpha_D))",
    "alpha_D": "exponent of D",
    "N_c": "parameters (N scale of the bracket)",
    "D_c": "tokens (D scale of the bracket)",
}
_KAPLAN_REFERENCE = (("Kaplan et al. 2020 (non-embedding N, WebText2)", "kaplan_joint", "kaplan2020"),)

LAWS: dict[str, Law] = {
    law.name: law
    for law in (
        Law(
            name="chinchilla",
            formula="L = E + A*N^-alpha + B*D^-beta",
            meaning="Hoffmann et al. 2022, Eq. (2): an irreducible loss E plus separate power laws in N and D.",
            build=_model("chinchilla"),
            priors=ChinchillaPriors,
            free_vars=("log_L_c", "floor_share", "share_N", "alpha", "beta", "sigma", "nu"),
            parameters={
                "E": "nats/token, irreducible loss",
                "A": "nats/token at N = 1 parameter",
                "B": "nats/token at D = 1 token",
                "alpha": "exponent of N",
                "beta": "exponent of D",
            } | NOISE,
            curve_vars=("log_E", "log_A", "log_B", "alpha", "beta"),
            loss_of=lambda n, d, p: chinchilla_loss(n, d, p["log_E"], p["log_A"], p["log_B"], p["alpha"], p["beta"]),
            frontier_of=lambda p: chinchilla_frontier(p["log_E"], p["log_A"], p["log_B"], p["alpha"], p["beta"]),
            references=(
                ("Hoffmann et al. 2022 Approach 3", "chinchilla", "hoffmann2022_approach3"),
                ("Besiroglu et al. 2024", "chinchilla", "besiroglu2024"),
            ),
        ),
        Law(
            name="kaplan",
            formula="L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D",
            meaning="Kaplan et al. 2020, Eq. (1.5): no irreducible loss, so loss tends to 0 with scale; "
                    "one bracket couples N and D.",
            build=_model("kaplan", irreducible=False),
            priors=KaplanPriors,
            free_vars=("log_L_c", "share_N", "alpha_N", "alpha_D", "sigma", "nu"),
            parameters=_KAPLAN_PARAMETERS | NOISE,
            curve_vars=("log_N_c", "log_D_c", "alpha_N", "alpha_D"),
            loss_of=lambda n, d, p: kaplan_loss(n, d, p["log_N_c"], p["log_D_c"], p["alpha_N"], p["alpha_D"]),
            frontier_of=lambda p: kaplan_frontier(p["log_N_c"], p["log_D_c"], p["alpha_N"], p["alpha_D"]),
            references=_KAPLAN_REFERENCE,
        ),
        Law(
            name="kaplan_e",
            formula="L = E + [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D",
            meaning="Kaplan's bracket on a floor E: the same N-D coupling, with an irreducible loss as in Chinchilla.",
            build=_model("kaplan", irreducible=True),
            priors=KaplanPriors,
            free_vars=("log_L_c", "floor_share", "share_N", "alpha_N", "alpha_D", "sigma", "nu"),
            parameters={"E": "nats/token, irreducible loss"} | _KAPLAN_PARAMETERS | NOISE,
            curve_vars=("E", "log_N_c", "log_D_c", "alpha_N", "alpha_D"),
            loss_of=lambda n, d, p: kaplan_loss(n, d, p["log_N_c"], p["log_D_c"], p["alpha_N"], p["alpha_D"], p["E"]),
            frontier_of=lambda p: kaplan_frontier(p["log_N_c"], p["log_D_c"], p["alpha_N"], p["alpha_D"], p["E"]),
            references=_KAPLAN_REFERENCE,
        ),
        Law(
            name="compute",
            formula="L = E + (C_c/C)^gamma, C = 6ND",
            meaning="Loss from training compute alone (the shape of GPT-3's frontier fit, plus E); "
                    "it cannot say how to split C between N and D.",
            build=_model("compute"),
            priors=ComputePriors,
            free_vars=("log_L_c", "floor_share", "gamma", "sigma", "nu"),
            parameters={"E": "nats/token, irreducible loss", "C_c": "FLOP (C scale)", "gamma": "exponent of C"} | NOISE,
            curve_vars=("log_E", "log_C_c", "gamma"),
            loss_of=lambda n, d, p: compute_loss(np.log(FLOP_PER_PARAM_TOKEN) + n + d, p["log_E"], p["log_C_c"], p["gamma"]),
            frontier_of=None,
            references=(("Brown et al. 2020, GPT-3 (E = 0, C in PF-days)", "compute_frontier", "brown2020"),),
        ),
    )
}


def get(name: str) -> Law:
    """The law called ``name``; an InputError listing the known ones otherwise."""
    try:
        return LAWS[name]
    except KeyError:
        raise InputError(f"unknown law {name!r}; known: {', '.join(LAWS)}") from None
