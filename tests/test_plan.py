"""Planning answers (``scaling-forecast plan``) against an independent computation per posterior draw:
numerical minimisation of the law's loss over the split of each budget, and root finding on it, on the
same draws (the closed forms must agree with it to 1e-4 relative), and against published anchors."""

import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

from scaling_forecast.answers import data_constrained, hardware, plan
from scaling_forecast.core.intervals import Interval, band, quantiles
from scaling_forecast.inputs import published

DRAWS = 200  # per-draw numerical solutions are scalar loops; 200 draws keep this test to seconds
RTOL = 1e-4  # the bar; the optimiser below is run to 1e-12 in log N, far inside it


@pytest.fixture(scope="module")
def draws(chinchilla_epoch_fit):
    """The main job's posterior, cut to its first DRAWS draws (a plan's answers use whatever draws they get)."""
    d = chinchilla_epoch_fit.draws
    return replace(d, values={k: v[:DRAWS] for k, v in d.values.items()}, sigma=d.sigma[:DRAWS], nu=d.nu[:DRAWS])


def _loss(draws, s: int, log_n: float, log_d: float) -> float:
    return float(draws.law.loss(np.array([[log_n]]), np.array([[log_d]]), {k: v[s:s + 1] for k, v in draws.values.items()})[0, 0])


def _best_log_n(draws, s: int, log_budget: float) -> float:
    """argmin over log N of the loss at C = 6 exp(log_budget), D = C / (6N): a bounded scalar search."""
    found = minimize_scalar(lambda x: _loss(draws, s, x, log_budget - x), bounds=(0.0, log_budget),
                            method="bounded", options={"xatol": 1e-12})
    return float(found.x)


def _summary(values: np.ndarray, level: float) -> Interval:
    lo, median, hi = quantiles(values, band(level))
    return Interval(float(median), float(lo), float(hi), level)


def _close(ours: Interval, theirs: Interval) -> None:
    for key in ("median", "lo", "hi"):
        assert math.isclose(getattr(ours, key), getattr(theirs, key), rel_tol=RTOL), (key, ours, theirs)


@pytest.mark.needs_data
def test_the_data_for_a_model_size_is_where_that_size_is_optimal(draws):
    n = 7e10
    (answer,) = plan.for_params(draws, [n], level=0.9)
    # Per draw: the budget at which the numerical optimum is N, by root finding on log C.
    budgets = np.array([brentq(lambda x, s=s: _best_log_n(draws, s, x) - math.log(n), math.log(n) + 1, math.log(n) + 40,
                               xtol=1e-12) for s in range(DRAWS)])
    tokens = np.exp(budgets) / n
    _close(answer.tokens, _summary(tokens, 0.9))
    _close(answer.loss, _summary(np.array([_loss(draws, s, math.log(n), math.log(tokens[s])) for s in range(DRAWS)]), 0.9))
    twice = np.array([_loss(draws, s, math.log(n), math.log(2 * tokens[s])) for s in range(DRAWS)])
    _close(answer.more_data[2.0], _summary(twice, 0.9))


@pytest.mark.needs_data
def test_chinchillas_own_size_gets_about_its_own_data(chinchilla_epoch_fit):
    """Hoffmann et al. trained 70B parameters on 1.4T tokens as compute-optimal: the posterior must agree."""
    chinchilla = published.model_configs().set_index("model").loc["Chinchilla"]
    (answer,) = plan.for_params(chinchilla_epoch_fit.draws, [chinchilla["params"]], level=0.9)
    assert answer.tokens.lo < chinchilla["tokens"] < answer.tokens.hi
    assert answer.more_data[10.0].median < answer.loss.median < answer.more_data[0.5].median


@pytest.mark.needs_data
def test_hardware_buys_its_flop_and_the_optimum_there(draws):
    h100 = hardware.accelerator("h100")
    (answer,) = hardware.for_hardware(draws, h100, 1024, 30, mfu=0.4, level=0.8)
    compute = 1024 * 989.5e12 * 30 * 86400 * 0.4
    assert answer.compute.median == pytest.approx(compute, rel=1e-12) and answer.mfu.median == 0.4
    best = np.exp([_best_log_n(draws, s, math.log(compute / 6)) for s in range(DRAWS)])
    _close(answer.params, _summary(best, 0.8))
    _close(answer.tokens, _summary(compute / 6 / best, 0.8))
    (uncertain, longer) = hardware.for_hardware(draws, h100, 1024, [30, 60], level=0.8)
    assert longer.compute.median == pytest.approx(2 * uncertain.compute.median, rel=1e-12)  # the same MFU draws
    assert uncertain.compute.hi / uncertain.compute.lo > 2  # the MFU prior spans about 0.2 to 0.55


@pytest.mark.needs_data
def test_a_target_loss_needs_the_compute_where_the_optimum_reaches_it(draws):
    target = 1.9
    (answer,) = plan.for_target(draws, [target], probabilities=(0.5, 0.9), level=0.9)

    def optimal_loss(s: int, x: float) -> float:
        return _loss(draws, s, (n := _best_log_n(draws, s, x)), x - n)

    needed = np.array([brentq(lambda x, s=s: optimal_loss(s, x) - target, 20.0, 80.0, xtol=1e-12) for s in range(DRAWS)])
    assert answer.p_reachable == 1.0
    for p in (0.5, 0.9):
        x = np.quantile(needed, p, method="inverted_cdf")
        assert answer.reach[p].compute == pytest.approx(6 * math.exp(x), rel=RTOL)
    assert answer.reach[0.9].compute > answer.reach[0.5].compute


@pytest.mark.needs_data
def test_a_target_below_the_floor_is_not_reachable_and_says_how_likely(draws):
    floor = np.exp(draws.values["log_E"])
    (below, near) = plan.for_target(draws, [floor.min() * 0.9, float(np.median(floor))], level=0.9)
    assert below.p_reachable == 0.0 and below.reach[0.5] is None
    assert 0.4 < near.p_reachable < 0.6 and near.reach[0.9] is None


def test_training_days_are_flop_over_throughput():
    h100 = hardware.accelerator("H100")
    (days,) = hardware.training_days(h100, 2048, [7e10], [1.4e12], mfu=0.5, level=0.9)
    assert days.median == pytest.approx(6 * 7e10 * 1.4e12 / (2048 * 989.5e12 * 0.5) / 86400, rel=1e-12)


def test_the_mfu_prior_is_centred_on_the_published_runs():
    a, b = hardware.mfu_prior()
    per_run = published.mfu().groupby("run")["mfu"].mean()
    assert a / (a + b) == pytest.approx(per_run.mean(), rel=1e-12) and 0.2 < per_run.mean() < 0.5


@pytest.mark.parametrize("args, message", [
    (("--gpus", "8", "--gpu", "Z80", "--days", "3"), "--gpu 'Z80': unknown accelerator"),
    (("--gpus", "8", "--gpu", "H100", "--days", "3", "--mfu", "1.5"), "--mfu=1.5 is above 1"),
    (("--gpus", "0", "--gpu", "H100", "--days", "3"), "--gpus=0 must be > 0"),
    (("--gpus", "8", "--gpu", "H100", "--days", "-1"), "--days=-1 must be > 0"),
    (("--params", "0",), "--params=0 must be > 0"),
    (("--target-loss", "-2",), "--target-loss=-2 must be > 0"),
    (("--target-loss", "2", "--probability", "1.5"), "--probability=1.5 is at or above 1"),
    (("--gpus", "8", "--days", "3"), "--gpus and --days need --gpu"),
    (("--unique-tokens", "0"), "--unique-tokens=0 must be > 0"),
    (("--inference-tokens", "1e12"), "--inference-tokens asks for the cheapest run to a loss: give --target-loss too"),
    (("--target-loss", "2", "--inference-tokens", "0"), "--inference-tokens=0 must be > 0"),
    (("--params", "7e10", "--compute", "1e22"), "--compute in plan is the budget of the data-constrained optimum"),
    ((), "give --params, --gpus/--gpu/--days, --target-loss or --unique-tokens"),
    (("--params", "7e10", "--out", "{fit}"), "is also the input"),
])
def test_bad_questions_are_one_line_errors(chinchilla_epoch_file, args, message):
    args = [a.format(fit=chinchilla_epoch_file) for a in args]
    run = subprocess.run([sys.executable, "-m", "scaling_forecast", "plan", str(chinchilla_epoch_file), *args],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert message in line, line


MUENNIGHOFF = {"log_A": 6.255414, "log_B": 7.3049974, "log_E": 0.6254804, "alpha": 0.3526596, "beta": 0.3526596}
R_STAR_D, R_STAR_N = 15.387756, 5.309743  # the authors' README 'Parametric Fit' (law_constants.csv)


def _muennighoff_draws():
    """The authors' own fitted constants as a one-draw posterior."""
    from scaling_forecast.fitting.draws import LawDraws
    from scaling_forecast.models import law_registry as laws

    return LawDraws(laws.get("chinchilla"), {k: np.array([v]) for k, v in MUENNIGHOFF.items()}, np.ones(1), np.ones(1))


def test_the_data_constrained_law_is_muennighoffs():
    """The two models of their Figure 1 (right), with the losses their README prints for them."""
    from scaling_forecast.models.laws import data_constrained_loss

    c = MUENNIGHOFF
    for (n, d, u), printed in (((6.34e9, 242e9, 25e9), 2.2256440889984477), ((8.67e9, 178e9, 25e9), 2.2269634075087867)):
        value = data_constrained_loss(math.log(n), math.log(d), math.log(u), c["log_E"], c["log_A"], c["log_B"],
                                      c["alpha"], c["beta"], R_STAR_D, R_STAR_N)
        assert value == pytest.approx(printed, rel=1e-12)


def test_short_data_buys_more_epochs_and_a_smaller_model():
    """Their README's grid search for 8.67B parameters' budget on 25B unique tokens: 6.8B parameters, 227B
    tokens, 9.1 epochs ("many epochs, fewer params"); the exact optimum lies within its grid step (0.4%)
    and rounding (the printed 6.8B), here 1.5%."""
    (answer,) = data_constrained.for_unique_tokens(_muennighoff_draws(), [25e9], 6 * 8.67e9 * 178e9, r_star_d=R_STAR_D,
                                       r_star_n=R_STAR_N, level=0.9)
    assert answer.params.median == pytest.approx(6.8e9, rel=0.015)
    assert answer.tokens.median == pytest.approx(227e9, rel=0.015) and answer.epochs.median == pytest.approx(9.1, rel=0.015)
    assert answer.params.median < answer.params_unlimited.median and answer.penalty.median > 0


def test_up_to_four_epochs_is_nearly_as_good_as_new_data():
    """Muennighoff et al.: up to about 4 epochs, repeated data do nearly as well as unique data. Under their
    law, 4 epochs cost under 1% of the loss (at U = 25B to 1T tokens, 0.8% to 0.3%), and 40 epochs several
    times more."""
    draws = _muennighoff_draws()
    for u in (25e9, 1e12):
        (answer,) = data_constrained.for_unique_tokens(draws, [u], r_star_d=R_STAR_D, r_star_n=R_STAR_N, level=0.9)
        assert 0 < answer.four_epochs.median < 0.01 * answer.loss_without_repeats.median


@pytest.mark.needs_data
@pytest.mark.parametrize("u, budget", [(25e9, 9.26e21), (3e11, 5.76e23), (1e13, 5.76e23), (2e9, 1e24)])
def test_the_data_constrained_optimum_is_the_numerical_one_per_draw(draws, u, budget):
    """Per draw (law and R* drawn together, as plan does), the numerical minimum of the data-constrained loss
    over the split: short data (many epochs), the main job's question, data to spare (the unlimited optimum
    repeats nothing) and data far too short for the budget (saturated: the loss, not N, is compared)."""
    from scaling_forecast.models.laws import data_constrained_loss

    r_stars, _ = data_constrained.r_star_draws({}, DRAWS, seed=0)
    (answer,) = data_constrained.for_unique_tokens(draws, [u], budget, r_star_d=r_stars["R_star_D"],
                                                   r_star_n=r_stars["R_star_N"], level=0.9)
    log_budget = math.log(budget / 6)

    def best(s):
        v = {k: float(x[s]) for k, x in draws.values.items()}
        found = minimize_scalar(lambda x: data_constrained_loss(x, log_budget - x, math.log(u), v["log_E"], v["log_A"],
                                                                v["log_B"], v["alpha"], v["beta"], r_stars["R_star_D"][s],
                                                                r_stars["R_star_N"][s]),
                                bounds=(15.0, 35.0), method="bounded", options={"xatol": 1e-12})
        return math.exp(found.x), found.fun

    params, losses = np.array([best(s) for s in range(DRAWS)]).T
    _close(answer.loss, _summary(losses, 0.9))
    if answer.saturated > 0.5:
        return
    _close(answer.params, _summary(params, 0.9))
    _close(answer.epochs, _summary(budget / 6 / params / u, 0.9))
    if u * 4 < answer.tokens.lo:
        # Muennighoff et al.'s direction (fewer parameters, more epochs) in most draws, not all: where R*_N
        # drew large against R*_D, excess parameters cost less than repeated data and the optimum grows.
        smaller = (params < np.exp(draws.frontier().log_params(log_budget))).mean()
        assert smaller > 0.5 and answer.params.median < answer.params_unlimited.median


def test_an_optimum_that_repeats_nothing_is_chinchillas():
    """With data to spare the data-constrained optimum is the unlimited one exactly, and no penalty."""
    (answer,) = data_constrained.for_unique_tokens(_muennighoff_draws(), [1e13], 1e22, r_star_d=R_STAR_D,
                                                   r_star_n=R_STAR_N, level=0.9)
    assert answer.params.median == answer.params_unlimited.median
    assert answer.penalty.median == 0
    assert answer.saturated == 0


def test_a_budget_far_beyond_the_data_is_saturated():
    """1e9 unique tokens cannot use 1e25 FLOP: the optimum's loss lies at the lowest those tokens allow."""
    (answer,) = data_constrained.for_unique_tokens(_muennighoff_draws(), [1e9], 1e25, r_star_d=R_STAR_D,
                                                   r_star_n=R_STAR_N, level=0.9)
    assert answer.saturated == 1 and answer.epochs.median > 100


def test_r_stars_come_from_the_posterior_when_the_fit_has_them():
    import xarray as xr

    posterior = xr.Dataset({"R_star_D": (("chain", "draw"), np.full((2, 3), 40.0))})
    draws, said = data_constrained.r_star_draws(posterior, 6, seed=1)
    assert (draws["R_star_D"] == 40.0).all() and "R*_D from the fit's posterior" in said
    spread = np.log(data_constrained.r_star_draws({}, 20000, seed=1)[0]["R_star_N"] / R_STAR_N)
    # 20000 draws: the sample sd of a normal is within 2% of its sd with overwhelming probability
    assert np.median(spread) == pytest.approx(0, abs=0.03) and spread.std() == pytest.approx(1.0, rel=0.02)


@pytest.mark.needs_data
def test_serving_many_tokens_favours_a_smaller_model_trained_longer(draws):
    """Sardana et al. 2024: with inference demand the cheapest run to a loss is smaller and trained on more
    data than Chinchilla's; per draw it is the numerical minimum of training + inference FLOP on the
    target's iso-loss curve."""
    target, served = 1.95, 2e13
    (answer,) = plan.for_inference(draws, [target], served, level=0.9)
    v = draws.values

    def best(s):
        e, a, b, alpha, beta = (float(x) for x in (np.exp(v["log_E"][s]), np.exp(v["log_A"][s]), np.exp(v["log_B"][s]),
                                                   v["alpha"][s], v["beta"][s]))
        tokens = lambda x: (b / (target - e - a * math.exp(-alpha * x))) ** (1 / beta)  # noqa: E731
        floor = math.log(a / (target - e)) / alpha
        found = minimize_scalar(lambda x: math.log(6 * math.exp(x) * tokens(x) + 2 * math.exp(x) * served),
                                bounds=(floor + 1e-6, floor + 20), method="bounded", options={"xatol": 1e-12})
        return math.exp(found.x), tokens(found.x)

    params, tokens = np.array([best(s) for s in range(DRAWS)]).T
    _close(answer.params, _summary(params, 0.9))
    _close(answer.total_compute, _summary(6 * params * tokens + 2 * params * served, 0.9))
    assert answer.params.hi < answer.chinchilla_params.median and answer.saving.lo > 0.1
    (little,) = plan.for_inference(draws, [target], 1.0, level=0.9)  # one token served: Chinchilla's run
    _close(little.params, little.chinchilla_params)


@pytest.mark.needs_data
def test_the_page_holds_every_answer_and_its_figure(chinchilla_epoch_fit, tmp_path):
    """plan --out: a titled page with the answers as plan prints them and one figure that decodes."""
    import base64
    import html
    import io
    import re

    from matplotlib.image import imread

    from scaling_forecast.cli import commands
    from scaling_forecast.reporting import text as render

    answer = commands.plan(chinchilla_epoch_fit, (7e10,), (), {"gpus": 1024, "gpu": "H100", "days": 30, "mfu": None},
                           {"losses": (1.9,), "probabilities": (), "inference_tokens": 2e13},
                           {"tokens": (3e11,), "compute": 5.76e23}, 0.9, 0, tmp_path / "plan.html")
    text = answer.report.read_text()
    assert "<h1>Planning answers</h1>" in text
    for line in render.plan_lines(answer):
        assert html.escape(line.strip()) in text
    (image,) = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    height, width, _ = imread(io.BytesIO(base64.b64decode(image)), format="png").shape
    assert width > 1000 and height > 300


# Each kind of question `plan` answers, as the arguments of commands.plan it sets; the page must be drawn for
# every combination of them (a run of given N and D alone once crashed the figure: nothing on the frontier).
PLAN_QUESTIONS = {
    "N": {"params": (7e10,)},
    "N and D with GPUs": {"params": (7e9,), "tokens": (1.4e12,), "hardware": {"gpus": 512, "gpu": "H100"}},
    "GPUs for days": {"hardware": {"gpus": 1024, "gpu": "H100", "days": 30}},
    "target loss": {"target": {"losses": (1.9,), "probabilities": (0.5, 0.9)}},
    "serving": {"target": {"losses": (2.0,), "inference_tokens": 2e13}},
    "unique tokens": {"unique": {"tokens": (3e11,), "compute": 5.76e23}},
}


def _combinations():
    import itertools

    names = list(PLAN_QUESTIONS)
    for r in range(1, len(names) + 1):
        for chosen in itertools.combinations(names, r):
            # One params list per call, one hardware and one target dict: combinations that would set one
            # twice are one question of the other kind already covered.
            keys = [k for name in chosen for k in PLAN_QUESTIONS[name]]
            if len(keys) == len(set(keys)):
                yield chosen


@pytest.mark.needs_data
@pytest.mark.parametrize("chosen", list(_combinations()), ids=" + ".join)
def test_the_page_is_drawn_for_every_combination_of_questions(chinchilla_epoch_fit, tmp_path, chosen):
    """plan --out answers every combination of its questions with a page holding one figure."""
    import re

    from scaling_forecast.cli import commands

    args = {"params": (), "tokens": (), "hardware": {"gpus": None, "gpu": "H100", "days": None, "mfu": None},
            "target": {"losses": (), "probabilities": (), "inference_tokens": None},
            "unique": {"tokens": (), "compute": None}}
    for name in chosen:
        for key, value in PLAN_QUESTIONS[name].items():
            args[key] = args[key] | value if isinstance(value, dict) else value
    answer = commands.plan(chinchilla_epoch_fit, args["params"], args["tokens"], args["hardware"], args["target"],
                           args["unique"], 0.9, 0, tmp_path / "plan.html")
    text = answer.report.read_text()
    assert len(re.findall(r'src="data:image/png;base64,', text)) == 1
