"""Parsers from each registered upstream file format to the tidy run table.

Each parser takes the verified local paths of a dataset's files (in registry
order) and returns rows with the columns of :data:`scaling_forecast.inputs.runs.RUN_COLUMNS`
(or, for ``notable_models``, :data:`NOTABLE_MODEL_COLUMNS`). What a source
leaves implicit is derived here and said in the registry's ``notes``.
"""

import ast
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN

NOTABLE_MODEL_COLUMNS = ("system", "category", "date", "compute", "dataset_words")


def chinchilla_epoch(paths: list[Path]) -> pd.DataFrame:
    """Besiroglu et al.'s digitised Chinchilla runs; D = C / (6 N)."""
    raw = pd.read_csv(paths[0])
    params, compute = raw["Model Size"].to_numpy(float), raw["Training FLOP"].to_numpy(float)
    return pd.DataFrame(
        {
            "family": "chinchilla",
            "run_id": [f"line{i + 2}" for i in range(len(raw))],
            "params": params,
            "tokens": compute / (FLOP_PER_PARAM_TOKEN * params),
            "compute": compute,
            "loss": raw["loss"].to_numpy(float),
            "loss_kind": "train:MassiveText",
        }
    )


def _notebook_literals(path: Path, cell: int) -> dict[str, object]:
    """Top-level ``NAME = <literal>`` assignments of one notebook cell, read with ast (never executed)."""
    source = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][cell]["source"])
    literals = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            literals[node.targets[0].id] = ast.literal_eval(node.value)
    return literals


# Suffixes the authors strip from run names before decoding them (notebook cell 2, same order).
_DATABLATIONS_SUFFIXES = ("op2", "seed1", "seed2", "seed3", "seed4", "opt1", "opt", "c4", "v2")


def _billions(code: str, tokens_map: dict[str, float]) -> float:
    """'55b' -> 55e9, '1b25' -> 1.25e9, or a TOKENS_MAP entry, as cell 2's get_tokens."""
    value = tokens_map[code] if code in tokens_map else float(code.replace("b", ".").strip("."))
    return value * 1e9


def _decode_datablations_name(name: str, params_map: dict, tokens_map: dict) -> tuple[float, float, float]:
    """(params, tokens, unique_tokens) of a run name such as '2b855b11bc4seed1' (port of cell 2)."""
    for suffix in _DATABLATIONS_SUFFIXES:
        name = name.replace(suffix, "")
    start = 2
    while name[:start] not in params_map:
        start += 1
    end = -4 if name[-1] in ("b", "m") or name[-2] not in ("b", "m") else -3
    while name[end:].count("b") > 1 or name[end:].count("m") > 1:
        end += 1
    return (
        params_map[name[:start]],
        _billions(name[start:end], tokens_map),
        _billions(name[end:], tokens_map),
    )


def datablations(paths: list[Path]) -> pd.DataFrame:
    """Muennighoff et al.'s runs from the notebook's literal dicts (cell 1), decoded as in cell 2."""
    literals = _notebook_literals(paths[0], cell=1)
    losses, params_map, tokens_map = (literals[k] for k in ("NAMES_TO_VAL_LOSSES", "PARAMS_MAP", "TOKENS_MAP"))
    # The authors skip unfinished runs (loss 0) and deduplicated-data runs; so do we.
    kept = {name: loss for name, loss in losses.items() if loss != 0 and not name.endswith("dedup")}
    decoded = np.array([_decode_datablations_name(n, params_map, tokens_map) for n in kept], dtype=float)
    return pd.DataFrame(
        {
            "family": "datablations",
            "run_id": list(kept),
            "params": decoded[:, 0],
            "tokens": decoded[:, 1],
            "unique_tokens": decoded[:, 2],
            "compute": FLOP_PER_PARAM_TOKEN * decoded[:, 0] * decoded[:, 1],
            "loss": list(kept.values()),
            "loss_kind": "val:C4",
        }
    )


def _gadre_val_set(val_data: list[str]) -> str:
    """'training/eval_data/val_tok_mult/paloma_ptb/00000001.tar' -> 'paloma_ptb'."""
    parts = val_data[0].split("/")
    rest = parts[parts.index("eval_data") + 1 :]
    return rest[1] if rest[0] == "val_tok_mult" else rest[0]


def gadre_overtraining(paths: list[Path]) -> pd.DataFrame:
    """Gadre et al.'s open_lm runs: one row per run and validation set."""
    rows = []
    for path in paths:
        run = json.loads(path.read_text(encoding="utf-8"))
        hp = run["hyperparameters"]
        for result in run["results"]:
            rows.append(
                {
                    "family": f"gadre-{run['dataset_name']}",
                    "run_id": run["name"],
                    "params": float(hp["params"]),
                    "params_nonembedding": float(hp["params_no_embed"]),
                    "tokens": float(hp["tokens"]),
                    "compute": FLOP_PER_PARAM_TOKEN * hp["params"] * hp["tokens"],
                    "loss": float(result["loss"]),
                    "loss_kind": f"val:{_gadre_val_set(result['val_data'])}",
                }
            )
    return pd.DataFrame(rows)


def misfitting(paths: list[Path]) -> pd.DataFrame:
    """Li et al.'s final checkpoints; every row kept, run_id carries the source line."""
    raw = pd.read_csv(paths[0])
    return pd.DataFrame(
        {
            "family": "misfitting",
            "run_id": [
                f"{r.model}_lr{r.peak_lr:g}_D{r.D}_{r.sweep}_line{i + 2}"
                for i, r in enumerate(raw.itertuples(index=False))
            ],
            "params": raw["N"].to_numpy(float),
            "params_nonembedding": raw["N_no_emb"].to_numpy(float),
            "tokens": raw["D"].to_numpy(float),
            "compute": raw["C"].to_numpy(float),
            "loss": raw["C4 Eval Loss"].to_numpy(float),
            "loss_kind": "val:C4",
        }
    )


def gemstones(paths: list[Path]) -> pd.DataFrame:
    """McLeish et al.'s runs at each cooldown end; C = 6 N D."""
    raw = pd.read_json(paths[0], lines=True)
    params, tokens = raw["params_active_precise"].to_numpy(float), raw["tokens"].to_numpy(float)
    return pd.DataFrame(
        {
            "family": "gemstones",
            "run_id": [f"{n}@{t}" for n, t in zip(raw["run_name"], raw["tokens"])],
            "params": params,
            "tokens": tokens,
            "compute": FLOP_PER_PARAM_TOKEN * params * tokens,
            "loss": raw["final_loss"].to_numpy(float),
            "loss_kind": "train:final_loss",
        }
    )


def llama3_isoflops(paths: list[Path]) -> pd.DataFrame:
    """Llama 3 IsoFLOP points; N = C / (6 D)."""
    raw = pd.read_csv(paths[0])
    compute, tokens = raw["compute_budget"].to_numpy(float), raw["training_tokens"].to_numpy(float)
    return pd.DataFrame(
        {
            "family": "llama3",
            "run_id": [f"line{i + 2}" for i in range(len(raw))],
            "params": compute / (FLOP_PER_PARAM_TOKEN * tokens),
            "tokens": tokens,
            "compute": compute,
            "loss": raw["validation_loss"].to_numpy(float),
            "loss_kind": "val:llama3-figure2",
        }
    )


# The three Marin sweep files in registry order, and the family each one is.
MARIN_FAMILIES = ("marin-dclm", "marin-comma", "marin-nemotron")


def marin_isoflops(paths: list[Path]) -> pd.DataFrame:
    """Marin's IsoFLOP sweeps (one file per training set), every row kept; C = 6 N D.

    Columns are read by name (their order differs between the files). The run names' nominal budgets
    (about 2 N D) are not used.
    """
    frames = []
    for family, path in zip(MARIN_FAMILIES, paths, strict=True):
        raw = pd.read_csv(path)
        # int64 counts: as floats before multiplying (N D overflows int64 for the larger runs).
        params, tokens = raw["parameter_count"].to_numpy(float), raw["throughput/total_tokens"].to_numpy(float)
        frames.append(
            pd.DataFrame(
                {
                    "family": family,
                    "run_id": raw["Name"].to_numpy(str),
                    "params": params,
                    "tokens": tokens,
                    "compute": FLOP_PER_PARAM_TOKEN * params * tokens,
                    "loss": raw["eval/paloma/macro_loss"].to_numpy(float),
                    "loss_kind": "val:paloma-macro",
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def steplaw_tuned(paths: list[Path]) -> pd.DataFrame:
    """Step Law's tuned runs: of each (N, D) cell's learning-rate x batch-size grid, the row with the lowest
    smoothed final training loss (ties: the first in file order); C = 6 N D with non-embedding N."""
    raw = pd.read_csv(paths[0])
    best = raw.loc[raw.groupby(["N", "D"], sort=True)["smooth loss"].idxmin()]
    params, tokens = best["N"].to_numpy(float), best["D"].to_numpy(float)
    return pd.DataFrame(
        {
            "family": "steplaw",
            "run_id": [
                f"N{r.N}_D{r.D}_lr{r.lr:g}_bs{r.bs}_line{i + 2}"
                for i, r in zip(best.index, best.itertuples(index=False), strict=True)
            ],
            "params": params,
            "tokens": tokens,
            "compute": FLOP_PER_PARAM_TOKEN * params * tokens,
            "loss": best["smooth loss"].to_numpy(float),
            "loss_kind": "train:smoothed",
        }
    )


def notable_models(paths: list[Path]) -> pd.DataFrame:
    """Villalobos et al.'s notable models: date, compute (FLOP, may be empty), dataset size in words."""
    raw = pd.read_csv(paths[0])
    columns = (
        raw["system"],
        raw["category"],
        pd.to_datetime(raw["date"], format="%Y-%m-%d"),
        raw["comp"].to_numpy(float),
        raw["dataset"].to_numpy(float),
    )
    return pd.DataFrame(dict(zip(NOTABLE_MODEL_COLUMNS, columns, strict=True)))


PARSERS: dict[str, Callable[[list[Path]], pd.DataFrame]] = {
    f.__name__: f
    for f in (
        chinchilla_epoch,
        datablations,
        gadre_overtraining,
        misfitting,
        gemstones,
        llama3_isoflops,
        marin_isoflops,
        steplaw_tuned,
        notable_models,
    )
}
