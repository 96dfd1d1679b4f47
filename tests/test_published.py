"""Published facts load, and every row names its source."""

import pytest

from scaling_forecast.inputs import published


def test_every_row_is_cited():
    for table in (published.law_constants(), published.model_configs(), published.data_stock(), published.accelerators(),
                  published.mfu()):
        assert table["citation"].notna().all() and (table["citation"].str.len() > 20).all()


def test_besiroglu_refit_and_its_intervals():
    rows = published.constants("chinchilla", "besiroglu2024")
    assert rows.loc["alpha", "value"] == pytest.approx(0.3478)
    assert (rows.loc["E", "lo"], rows.loc["E", "hi"]) == (1.769, 1.871)
    assert (rows["lo"] < rows["value"]).all() and (rows["value"] < rows["hi"]).all()


def test_model_configs_cover_the_models_people_ask_about():
    configs = published.model_configs().set_index("model")
    assert configs.loc["GPT-3 175B", ["params", "tokens"]].tolist() == [1.75e11, 3.0e11]
    assert configs.loc["Chinchilla", ["params", "tokens"]].tolist() == [7.0e10, 1.4e12]
    assert {"LLaMA 65B", "Llama 2 70B", "Llama 3 405B"} <= set(configs.index)


def test_accelerator_peaks_and_mfus_are_physical():
    """Dense BF16 peaks between 100 TFLOP/s and 10 PFLOP/s; MFUs strictly between 0 and 1."""
    peaks = published.accelerators()["peak_tflops"]
    mfu = published.mfu()["mfu"]
    assert peaks.between(100, 10_000).all() and mfu.between(0.05, 0.95).all()
