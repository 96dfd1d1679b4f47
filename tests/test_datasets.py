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


MARIN = {"marin-dclm": "dclm", "marin-comma": "comma", "marin-nemotron": "nemotron"}


def test_marin_keeps_every_run_of_the_three_sweeps(mirror):
    table = runs.load("marin-isoflops")
    # The manifest's 84, 91, 95 are `wc -l` minus the header: the files lack a final newline.
    assert table["family"].value_counts().to_dict() == {"marin-dclm": 85, "marin-comma": 92, "marin-nemotron": 96}
    assert table["run_id"].is_unique and table["loss"].notna().all()
    assert set(table["loss_kind"]) == {"val:paloma-macro"}
    for family, name in MARIN.items():
        raw = pd.read_csv(mirror / f"marin_isoflop_{name}.csv")
        rows = table[table["family"] == family]
        assert list(rows["run_id"]) == list(raw["Name"])  # nothing left out
        np.testing.assert_array_equal(rows["loss"], raw["eval/paloma/macro_loss"])
        np.testing.assert_allclose(rows["compute"], 6.0 * raw["parameter_count"] * raw["throughput/total_tokens"])
    # Besides the isoflop-* sweeps: single validation runs at the predicted optimum.
    validation = table[~table["run_id"].str.startswith("isoflop-")]
    assert validation["family"].value_counts().to_dict() == {"marin-comma": 7, "marin-nemotron": 8}
    assert validation["run_id"].str.contains("-validation-optimal-").all()
    best = table.groupby("family")["loss"].min().round(4).to_dict()
    assert best == {"marin-dclm": 2.9607, "marin-comma": 3.1097, "marin-nemotron": 2.7655}
    assert table["params"].min() == 156508160 and table["params"].max() == 11788433408


def test_steplaw_keeps_the_tuned_run_of_each_cell(mirror):
    raw = pd.read_csv(mirror / "steplaw_dense_lr_bs_loss.csv")
    table = runs.load("steplaw-tuned")
    assert len(raw) == 1911 and len(table) == 17 and table["run_id"].is_unique
    assert set(table["family"]) == {"steplaw"} and set(table["loss_kind"]) == {"train:smoothed"}
    assert len(set(zip(table["params"], table["tokens"]))) == 17
    assert table["params"].min() == 214663680 and table["params"].max() == 1073741824  # non-embedding N
    assert table["tokens"].min() == 4e9 and table["tokens"].max() == 1e11
    np.testing.assert_allclose(table["compute"], 6 * table["params"] * table["tokens"])
    cells = raw.groupby(["N", "D"])["smooth loss"].min()
    np.testing.assert_array_equal(table["loss"], cells.to_numpy())
    biggest = table[table["params"] == 1073741824].set_index("tokens")
    assert biggest.loc[5.69e10, "run_id"] == "N1073741824_D56900000000_lr0.001381_bs256_line937"
    assert biggest.loc[5.69e10, "loss"] == pytest.approx(2.1206, abs=1e-4)


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
