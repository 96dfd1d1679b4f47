"""Every registered dataset loads from the mirror into the tidy table, checked against its source."""

import json

import numpy as np
import pandas as pd
import pytest

from scaling_forecast.core.errors import InputError
from scaling_forecast.inputs import registry, runs

pytestmark = pytest.mark.needs_data


def test_registry_hashes_match_the_mirror(mirror):
    for dataset in registry.datasets().values():
        assert len(registry.fetch(dataset)) == len(dataset.files)


def test_chinchilla_epoch_derives_tokens_from_compute(mirror):
    raw = pd.read_csv(mirror / "chinchilla_epoch_svg_extracted.csv")
    table = runs.load("chinchilla-epoch")
    assert len(table) == 245 == len(raw)
    np.testing.assert_array_equal(table["params"], raw["Model Size"])
    np.testing.assert_allclose(table["tokens"] * 6 * table["params"], raw["Training FLOP"], rtol=1e-12)
    assert table["loss"].between(2.07, 5.01).all()
    assert table["tokens"].between(2.4e8, 3.2e11).all()  # D = C/(6N) over Figure 4: 2.45e8 .. 3.18e11


def test_datablations_parser_reproduces_the_reference_csv(mirror):
    reference = pd.read_csv(mirror / "datablations_runs.csv")
    table = runs.load("datablations")
    assert list(table["run_id"]) == list(reference["run_name"])
    for ours, theirs in [("params", "params"), ("tokens", "tokens"), ("unique_tokens", "unique_tokens"), ("loss", "val_loss")]:
        np.testing.assert_array_equal(table[ours].to_numpy(), reference[theirs].to_numpy(float), err_msg=ours)


def test_gadre_has_one_row_per_run_and_validation_set(mirror):
    table = runs.load("gadre-overtraining")
    assert len(table) == 104 * 8
    assert table["run_id"].nunique() == 104
    assert set(table["family"]) == {"gadre-c4_original", "gadre-rpj", "gadre-rw_original"}
    assert table.groupby("run_id")["loss_kind"].nunique().eq(8).all()
    one = json.loads((mirror / "mlfoundations_scaling_models/rw_original-d=96_l=8_h=4-1.0.json").read_text())
    rows = table[table["run_id"] == one["name"]]
    assert set(rows["params"]) == {one["hyperparameters"]["params"]}
    assert set(rows["params_nonembedding"]) == {one["hyperparameters"]["params_no_embed"]}
    assert sorted(rows["loss"]) == sorted(r["loss"] for r in one["results"])
    assert (table["params_nonembedding"] < table["params"]).all()


def test_misfitting_keeps_every_row(mirror):
    raw = pd.read_csv(mirror / "misfitting_scaling_results_last_ckpt_only.csv")
    table = runs.load("misfitting")
    assert len(table) == 261 == len(raw)
    assert table["run_id"].is_unique
    np.testing.assert_array_equal(table["params_nonembedding"], raw["N_no_emb"])
    np.testing.assert_array_equal(table["loss"], raw["C4 Eval Loss"])
    assert table["compute"].min() == raw["C"].min() and table["compute"].max() == raw["C"].max()


def test_gemstones_rows_are_run_and_cooldown_point(mirror):
    raw = pd.read_json(mirror / "gemstones_wandb_df_for_fitting_cool_end.jsonl", lines=True)
    table = runs.load("gemstones")
    assert len(table) == 199 and table["run_id"].is_unique
    assert table["params"].min() == raw["params_active_precise"].min()
    assert table["tokens"].max() == raw["tokens"].max()
    assert table["loss"].between(2.5, 3.52).all()


def test_llama3_derives_params_from_compute_and_tokens(mirror):
    raw = pd.read_csv(mirror / "llama3_isoflops_points.csv")
    table = runs.load("llama3-isoflops")
    assert len(table) == 133
    np.testing.assert_allclose(6 * table["params"] * table["tokens"], raw["compute_budget"], rtol=1e-12)
    assert sorted(table["compute"].unique()) == sorted(raw["compute_budget"].unique())
    assert table["loss"].between(0.5, 1.5).all()  # Figure 2's own scale, around 0.9


def test_notable_models_table(mirror):
    table = runs.load("notable-models")
    assert len(table) == 80
    assert table["compute"].isna().sum() == 21
    assert (table["dataset_words"] > 0).all()
    llama2 = table[table["system"] == "Llama 2-70B"]
    assert llama2["dataset_words"].item() == pytest.approx(1.5e12)


def test_load_runs_refuses_a_models_dataset(mirror):
    with pytest.raises(InputError, match="notable models"):
        runs.load_runs(dataset="notable-models")


def test_load_runs_names_its_source_and_hash(mirror, tmp_path):
    table, name, digest = runs.load_runs(dataset="chinchilla-epoch")
    assert (len(table), name, digest) == (245, "chinchilla-epoch", registry.get(name).files[0].sha256)
    csv = tmp_path / "mine.csv"
    csv.write_text("params,tokens,loss\n1e8,2e9,3.1\n")
    table, name, digest = runs.load_runs(runs_file=csv)
    assert len(table) == 1 and name == str(csv) and len(digest) == 64
