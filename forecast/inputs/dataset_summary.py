"""Plain-data summaries of run tables and datasets, shared by the CLI's text and JSON output."""

import pandas as pd

from scaling_forecast.core.errors import InputError
from scaling_forecast.inputs import registry, runs

RANGE_UNITS = {
    "params": "parameters",
    "params_nonembedding": "parameters",
    "tokens": "tokens",
    "unique_tokens": "tokens",
    "compute": "FLOP",
    "loss": "nats/token (as given by loss_kind)",
}


def _range(values: pd.Series) -> dict | None:
    known = values.dropna()
    if known.empty:
        return None
    return {"min": float(known.min()), "max": float(known.max()), "known": int(known.size)}


def run_table(table: pd.DataFrame) -> dict:
    """Counts per family and loss kind, and value ranges with units, of a tidy run table."""
    return {
        "runs": int(len(table)),
        "families": {k: int(v) for k, v in table["family"].value_counts(sort=False).items()},
        "loss_kinds": {k: int(v) for k, v in table["loss_kind"].value_counts(sort=False).items()},
        "ranges": {
            column: {**r, "units": RANGE_UNITS[column]}
            for column in runs.NUMERIC
            if (r := _range(table[column])) is not None
        },
        "metadata_columns": runs.metadata_columns(table),
    }


def notable_models(table: pd.DataFrame) -> dict:
    """Counts, date span and value ranges of the notable-models table."""
    return {
        "models": int(len(table)),
        "categories": {k: int(v) for k, v in table["category"].value_counts().items()},
        "date": {"min": table["date"].min().date().isoformat(), "max": table["date"].max().date().isoformat()},
        "ranges": {
            "compute": {**_range(table["compute"]), "units": "FLOP"},
            "dataset_words": {**_range(table["dataset_words"]), "units": "words"},
        },
    }


def dataset_entry(dataset: registry.Dataset) -> dict:
    """Registry facts of one dataset (no file access)."""
    return {
        "name": dataset.name,
        "title": dataset.title,
        "kind": dataset.kind,
        "license": dataset.license,
        "citation": dataset.citation,
        "upstream": f"{dataset.repository}@{dataset.commit}",
        "files": len(dataset.files),
        "units": dataset.units,
        "notes": dataset.notes,
        "offline": registry.is_available_offline(dataset),
    }


def dataset(name: str) -> dict:
    """Registry facts plus a summary of the loaded table."""
    entry = dataset_entry(registry.get(name))
    table = runs.load(name)
    return entry | (run_table(table) if entry["kind"] == "runs" else notable_models(table))


def listing() -> list[dict]:
    """One row per registered dataset: name, rows, families, licence, offline availability.

    Row and family counts need the files, so they are given only for datasets
    available offline; nothing is downloaded to list. A file that fails its checks (a changed hash) is
    listed with the problem, and the others still are.
    """
    rows = []
    for ds in registry.datasets().values():
        entry = dataset_entry(ds)
        rows_known = families = problem = None
        if entry["offline"]:
            try:
                table = runs.load(ds.name)
            except InputError as err:  # one bad file must not hide the others
                problem = str(err).splitlines()[0]
            else:
                rows_known = int(len(table))
                families = sorted(table["family"].unique()) if ds.holds_runs else []
        rows.append(
            {
                "name": ds.name,
                "kind": ds.kind,
                "rows": rows_known,
                "families": families,
                "license": ds.license,
                "offline": entry["offline"],
                "problem": problem,
            }
        )
    return rows

