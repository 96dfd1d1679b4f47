"""The run families of the registered datasets, as one table for models that pool across them.

A family is one run collection with one training set and one eval set: its
own data, tokenizer and loss scale, so E, A and B differ between families.

gadre-overtraining evaluates every run on 8 validation sets. They are not 8
families: the 8 losses of one run share its training noise, so as separate
families each run would count 8 times as evidence about the exponents. Each
training set is one family, on one eval set (default ``val:c4_val``, the one
shared by all three training sets; pick another with ``gadre_eval``).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scaling_forecast.core.errors import InputError
from scaling_forecast.inputs import runs
from scaling_forecast.inputs.runs import compute_of


@dataclass(frozen=True)
class FamilySpec:
    """Which rows of a registered dataset form one family, and how repeated configurations are read."""

    dataset: str
    family: str
    loss_kind: str
    # Repeats of one (N, D, U) are a learning-rate sweep, not seeds: keep the sweep's best run,
    # as Kaplan and Hoffmann tuned the learning rate per configuration.
    best_of_sweep: bool = False


GADRE_EVAL = "val:c4_val"
FAMILIES = (
    FamilySpec("chinchilla-epoch", "chinchilla", "train:MassiveText"),
    FamilySpec("datablations", "datablations", "val:C4"),
    FamilySpec("gadre-overtraining", "gadre-c4_original", GADRE_EVAL),
    FamilySpec("gadre-overtraining", "gadre-rpj", GADRE_EVAL),
    FamilySpec("gadre-overtraining", "gadre-rw_original", GADRE_EVAL),
    FamilySpec("misfitting", "misfitting", "val:C4", best_of_sweep=True),
    FamilySpec("gemstones", "gemstones", "train:final_loss"),
    FamilySpec("llama3-isoflops", "llama3", "val:llama3-figure2"),
)
CONFIGURATION = ["family", "params", "tokens", "unique_tokens"]


def best_of_sweeps(table: pd.DataFrame) -> pd.DataFrame:
    """The lowest-loss run of each configuration (family, N, D, U)."""
    keys = table[CONFIGURATION].fillna({"unique_tokens": table["tokens"]})
    return table.loc[table.groupby([keys[c] for c in CONFIGURATION], sort=False)["loss"].idxmin()]


def load_families(names: tuple[str, ...] = (), *, gadre_eval: str = GADRE_EVAL) -> pd.DataFrame:
    """The runs of the chosen families (default: all), one loss kind each, family labels unique across datasets."""
    specs = [s for s in FAMILIES if not names or s.family in names]
    unknown = sorted(set(names) - {s.family for s in FAMILIES})
    if unknown:
        raise InputError(f"unknown families {unknown}; known: {', '.join(s.family for s in FAMILIES)}")
    parts = []
    for spec in specs:
        table = runs.load(spec.dataset)
        kind = gadre_eval if spec.dataset == "gadre-overtraining" else spec.loss_kind
        chosen = table[(table["family"] == spec.family) & (table["loss_kind"] == kind)]
        if chosen.empty:
            raise InputError(f"{spec.dataset}: no runs of family {spec.family} with loss kind {kind}")
        parts.append(best_of_sweeps(chosen) if spec.best_of_sweep else chosen)
    return pd.concat(parts, ignore_index=True)


def configurations(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (family, N, D, U): seeds, mean and within sum of squares of log loss, compute (6ND where
    not given), the runs' ids."""
    table = runs.assign(unique_tokens=runs["unique_tokens"].fillna(runs["tokens"]), log_loss=np.log(runs["loss"]),
                        compute=compute_of(runs))
    grouped = table.groupby(CONFIGURATION, sort=False)
    out = grouped.agg(seeds=("log_loss", "size"), mean_log_loss=("log_loss", "mean"),
                      compute=("compute", "first"), run_ids=("run_id", lambda ids: ",".join(map(str, ids))))
    out["within_ss"] = grouped["log_loss"].agg(lambda v: float(((v - v.mean()) ** 2).sum()))
    return out.reset_index()
