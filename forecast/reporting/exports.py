"""Answers as tables in files (``--export FILE.csv`` or ``.parquet``), for pandas, spreadsheets and papers.

Each table carries what produced it: a ``source`` column (which law, fitted to which data, or which analysis)
and the interval ``level``. Results that are not tables already (the comparison, the data wall, a plan) are
flattened into one row per quantity: its path in the JSON answer, then its median and interval, or its value.
"""

from pathlib import Path

import pandas as pd

from scaling_forecast.core.errors import InputError
from scaling_forecast.core.files import write_atomically
from scaling_forecast.reporting.text import jsonable

FORMATS = {".csv": "CSV", ".parquet": "Parquet"}


def check(path: Path | None) -> None:
    """Refuse, before any work, an export file of a format we do not write."""
    if path is not None and Path(path).suffix.lower() not in FORMATS:
        raise InputError(f"{path}: --export writes {' or '.join(FORMATS)} files (by the name's suffix)")


def write(table: pd.DataFrame, path: Path, *, source: str, level: float | None, force: bool = False) -> Path:
    """``table`` with its ``source`` and ``level`` as columns (no level column for None: a table whose columns
    name their levels, as the backtest's coverages do), to ``path`` (CSV or Parquet) by the output policy (an
    existing file the product did not write is replaced only with ``force``)."""
    check(path)
    table = table.assign(source=source, **({} if level is None else {"level": level}))
    if Path(path).suffix.lower() == ".csv":
        return write_atomically(path, lambda tmp: table.to_csv(tmp, index=False), force=force, flag="--export")
    return write_atomically(path, lambda tmp: table.to_parquet(tmp, index=False), force=force, flag="--export")


def quantities(answer) -> pd.DataFrame:
    """One row per number of a result (its JSON form): ``quantity`` (the path of keys, dot-separated), and
    ``median``, ``lo``, ``hi`` where the number is an interval, else ``value``."""
    rows = []

    def walk(node, path: str) -> None:
        if isinstance(node, dict) and {"median", "lo", "hi"} <= node.keys():
            rows.append({"quantity": path, "median": node["median"], "lo": node["lo"], "hi": node["hi"]})
            return
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, f"{path}.{i}")
        elif isinstance(node, int | float) and not isinstance(node, bool):
            rows.append({"quantity": path, "value": node})

    walk(jsonable(answer), "")
    return pd.DataFrame(rows, columns=["quantity", "value", "median", "lo", "hi"])
