"""Ladder backtests: the ladders cut from each family are what a user with a handful of small runs has, and their
forecasts of the family's larger runs are scored one by one and summarised by distance."""

import numpy as np
import pytest

from scaling_forecast.answers.backtest import Method, fit_baseline
from scaling_forecast.answers.ladders import DISTANCES, by_distance, fits, ladder_backtest, ladder_methods
from scaling_forecast.inputs.families import load_families
from scaling_forecast.inputs.runs import compute_of
from scaling_forecast.inputs.splits import isoflop_ladder, ladders, ratio_ladder


@pytest.mark.needs_data
def test_ladders_are_k_sizes_at_one_ratio_or_the_k_smallest_optima(mirror):
    runs = load_families(("chinchilla", "datablations", "gemstones"))
    for family, own in runs.groupby("family"):
        for k in (3, 5, 8) if family == "chinchilla" else (3, 5):  # datablations has no 8 fresh sizes at one ratio
            ladder = ratio_ladder(own, k)
            assert ladder is not None and ladder.train["params"].nunique() == k
            ratio = ladder.train["tokens"] / ladder.train["params"]
            assert np.ptp(np.log10(ratio)) <= 0.1 + 1e-9  # one ratio (within its bin)
            # the k smallest sizes at that ratio, and fresh data: repeated-data runs are not a ladder
            assert (ladder.train["unique_tokens"].isna() | (ladder.train["unique_tokens"] >= ladder.train["tokens"])).all()
            assert (compute_of(ladder.test) > compute_of(ladder.train).max()).all() and len(ladder.test) > 0
    chinchilla = runs[runs["family"] == "chinchilla"]
    assert ratio_ladder(chinchilla, 5).ratio == pytest.approx(20, rel=0.13)  # Chinchilla's own ratio
    optimal = isoflop_ladder(chinchilla, 4)
    assert optimal is not None and len(optimal.train) == 4
    assert optimal.train["compute"].is_unique  # one optimum per budget
    assert isoflop_ladder(chinchilla, 200) is None and ratio_ladder(chinchilla, 200) is None
    assert {ladder.design for ladder in ladders(chinchilla, (5,))} == {"ratio", "isoflop"}
    # A data-constrained grid's IsoFLOP ladder is cut from its single-epoch runs too (its small budgets' optima
    # were 15-27 epochs on 100M unique tokens); its larger runs, repeated or not, are still forecast.
    datablations = runs[runs["family"] == "datablations"]
    optimal = isoflop_ladder(datablations, 3)
    assert optimal is not None and (optimal.train["unique_tokens"] >= optimal.train["tokens"]).all()
    assert (optimal.test["unique_tokens"] < optimal.test["tokens"]).any()


@pytest.mark.needs_data
def test_ladder_forecasts_are_scored_one_by_one_and_summarised_by_distance(mirror):
    """The Huber point fit on chinchilla's 5-run ladders (no population needed): one row per forecast run,
    distance in decades beyond the ladder's largest run, and a summary whose counts add up."""
    runs = load_families(("chinchilla",))
    rows = ladder_backtest(runs, sizes=(5,), methods=(Method("baseline", fit_baseline),), workers=1, progress=False)
    expected = sum(len(ladder.test) for ladder in ladders(runs, (5,)))
    assert len(rows) == expected and (rows["decades"] > 0).all() and rows["converged"].all()
    assert set(rows["design"]) == {"ratio", "isoflop"} and set(rows["k"]) == {5}
    summary = by_distance(rows)
    inside = rows["decades"] < DISTANCES[-1]
    assert summary["forecasts"].sum() == inside.sum() and (summary["flagged"] == 0).all()
    assert ((summary["coverage_0.5"] <= summary["coverage_0.8"]) & (summary["coverage_0.8"] <= summary["coverage_0.95"])).all()
    # the error is forecast minus actual, in % of the actual
    np.testing.assert_allclose(rows["error"], (rows["median"] - rows["loss"]) / rows["loss"] * 100)


@pytest.mark.needs_data
def test_each_method_is_fitted_only_to_ladders_it_can_identify(mirror):
    runs = load_families(("chinchilla",))
    pooled, alone, huber = ladder_methods()
    small, large = ratio_ladder(runs, 3), ratio_ladder(runs, 8)
    assert fits(pooled, small) and not fits(alone, small) and not fits(huber, small)
    assert fits(alone, large) and fits(huber, large)
