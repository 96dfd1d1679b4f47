"""Compute-optimal allocation: the closed-form frontiers against numerical optimisation, overheads, laws.

No sampler here: parameter draws are built from published constants plus
random perturbations, and the checks are exact identities of the formulas.
"""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from scaling_forecast.answers.allocation import allocation_table, optimum, overhead, overhead_table
from scaling_forecast.core.errors import InputError
from scaling_forecast.fitting.draws import LawDraws
from scaling_forecast.fitting.settings import LAW_NAMES
from scaling_forecast.inputs import published
from scaling_forecast.models import law_registry as laws
from scaling_forecast.models.laws import kaplan_loss


def _draws(law: str, values: dict[str, np.ndarray]) -> LawDraws:
    size = next(iter(values.values())).size
    return LawDraws(laws.get(law), values, np.full(size, 0.01), np.full(size, 5.0))


def _chinchilla_draws(rng, size=40) -> LawDraws:
    """Besiroglu et al.'s constants, each perturbed per draw (exponents +-20%)."""
    c = published.constants("chinchilla", "besiroglu2024")["value"]
    return _draws("chinchilla", {
        "log_E": np.log(c["E"]) + rng.normal(0, 0.1, size),
        "log_A": np.log(c["A"]) + rng.normal(0, 0.5, size),
        "log_B": np.log(c["B"]) + rng.normal(0, 0.5, size),
        "alpha": c["alpha"] * rng.uniform(0.8, 1.2, size),
        "beta": c["beta"] * rng.uniform(0.8, 1.2, size),
    })


def _kaplan_draws(rng, size=40, law="kaplan_e") -> LawDraws:
    """Kaplan et al.'s joint-fit constants, perturbed per draw, with a floor E for kaplan_e."""
    c = published.constants("kaplan_joint", "kaplan2020")["value"]
    values = {
        "log_N_c": np.log(c["N_c"]) + rng.normal(0, 1.0, size),
        "log_D_c": np.log(c["D_c"]) + rng.normal(0, 1.0, size),
        "alpha_N": c["alpha_N"] * rng.uniform(0.5, 3.0, size),
        "alpha_D": c["alpha_D"] * rng.uniform(0.5, 3.0, size),
    }
    if law == "kaplan_e":
        values["E"] = rng.uniform(1.0, 2.0, size)
    return _draws(law, values)


def _numerical_optimum(draws: LawDraws, i: int, budget: float) -> tuple[float, float]:
    """N minimising draw i's loss on N D = budget / 6, by bounded scalar search over log N."""
    one = {k: v[i] for k, v in draws.values.items()}
    log_budget = np.log(budget / 6)
    result = minimize_scalar(lambda x: draws.law.loss(x, log_budget - x, one), bounds=(np.log(1e3), np.log(1e17)),
                             method="bounded", options={"xatol": 1e-10})
    return float(np.exp(result.x)), float(result.fun)


def test_the_cli_lists_exactly_the_defined_laws():
    assert LAW_NAMES == tuple(laws.LAWS)


@pytest.mark.parametrize("make", [_chinchilla_draws, _kaplan_draws, lambda rng: _kaplan_draws(rng, law="kaplan")],
                         ids=["chinchilla", "kaplan_e", "kaplan"])
def test_closed_form_optimum_matches_numerical_minimisation(make):
    """The frontier is exact, so it must agree with brute-force optimisation of the same loss per draw.

    Tolerance 1e-5 relative in N: the bounded search stops at xatol 1e-10 in log N;
    the remaining error is the flatness of the loss near its minimum.
    """
    draws = make(np.random.default_rng(1))
    budgets = np.array([1e19, 5.76e23, 1e27])
    best = optimum(draws.frontier(), budgets)
    for i in range(0, 40, 7):
        for b, budget in enumerate(budgets):
            n, loss = _numerical_optimum(draws, i, budget)
            assert best["params"][b, i] == pytest.approx(n, rel=1e-5)
            assert best["loss"][b, i] == pytest.approx(loss, rel=1e-9)
            assert best["params"][b, i] * best["tokens"][b, i] == pytest.approx(budget / 6, rel=1e-12)


def test_chinchilla_exponents_are_hoffmanns_eq4():
    draws = _chinchilla_draws(np.random.default_rng(2))
    a = draws.frontier().a
    np.testing.assert_allclose(a, draws.values["beta"] / (draws.values["alpha"] + draws.values["beta"]))
    table = allocation_table(draws, [1e21, 1e23], level=0.8)
    # N_opt grows as C^a for every draw, so the median ratio over two decades is 100^median(a).
    ratio = table["params_median"].iloc[1] / table["params_median"].iloc[0]
    assert ratio == pytest.approx(100 ** np.median(a), rel=0.05)


def test_kaplan_loss_is_the_papers_formula():
    c = published.constants("kaplan_joint", "kaplan2020")["value"]
    n, d = np.array([1e8, 1e10]), np.array([1e9, 1e12])
    direct = ((c["N_c"] / n) ** (c["alpha_N"] / c["alpha_D"]) + c["D_c"] / d) ** c["alpha_D"]
    ours = kaplan_loss(np.log(n), np.log(d), np.log(c["N_c"]), np.log(c["D_c"]), c["alpha_N"], c["alpha_D"])
    np.testing.assert_allclose(ours, direct, rtol=1e-12)


@pytest.mark.parametrize("make", [_chinchilla_draws, _kaplan_draws], ids=["chinchilla", "kaplan_e"])
def test_overhead_is_one_on_the_frontier_and_above_one_off_it(make):
    draws = make(np.random.default_rng(3))
    budget = 1e23
    best = optimum(draws.frontier(), [budget])
    i = 5
    # On draw i's frontier: needs exactly its own compute, no loss gap.
    on = overhead(_draws(draws.law.name, {k: v[i : i + 1] for k, v in draws.values.items()}),
                  best["params"][0, i], best["tokens"][0, i])
    assert on["overhead"][0, 0] == pytest.approx(1.0, rel=1e-9)
    assert on["loss_gap"][0, 0] == pytest.approx(0.0, abs=1e-12)
    # GPT-3-like: 1.7 tokens per parameter, far from either law's optimum at that compute.
    off = overhead_table(draws, 1.75e11, 3e11, level=0.9)
    assert off["overhead_lo"].iloc[0] > 1 and off["loss_gap_lo"].iloc[0] > 0
    assert off["optimal_compute_hi"].iloc[0] < off["compute"].iloc[0]


def test_compute_only_law_has_no_allocation():
    draws = _draws("compute", {"log_E": np.zeros(3), "log_C_c": np.full(3, 40.0), "gamma": np.full(3, 0.1)})
    with pytest.raises(InputError, match="depends on compute only"):
        allocation_table(draws, [1e21])


@pytest.mark.parametrize("budgets, message", [
    ([1e21, 0.0], "compute=0 must be > 0"),
    ([float("nan")], "compute=nan is not finite"),
    ([1e300], r"compute=1e\+300 is above 1e\+32"),  # answered before the table of bounds
])
def test_allocation_refuses_budgets_outside_their_bounds(budgets, message):
    with pytest.raises(InputError, match=message):
        allocation_table(_chinchilla_draws(np.random.default_rng(4)), budgets)
