"""The tidy run table: one row per (training run, evaluation set).

Published datasets and user CSVs end up in the same columns and pass the same
value checks (:func:`row_problems`), so every command that reads runs agrees
on what a valid run is.
"""

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd

from scaling_forecast import csvfile, parsers, registry
from scaling_forecast.errors import InputError
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN

RUN_COLUMNS = (
    "family",
    "run_id",
    "params",
    "params_nonembedding",
    "tokens",
    "unique_tokens",
    "compute",
    "loss",
    "loss_kind",
    "source",
)
REQUIRED = ("params", "tokens", "loss")
NUMERIC = ("params", "params_nonembedding", "tokens", "unique_tokens", "compute", "loss")

# Plausible ranges. Below the lower bound a value is almost surely in other
# units (params in billions, compute in PF-days); above the upper bound it is
# beyond any model trained so far by orders of magnitude, or (loss) beyond a
# uniform guess over a 10^8-token vocabulary, i.e. not a per-token loss in nats.
LIMITS = {
    "params": (1e4, 1e15),
    "params_nonembedding": (1e3, 1e15),
    "tokens": (1e5, 1e17),
    "unique_tokens": (1e5, 1e17),
    "compute": (1e10, 1e32),
    "loss": (0.0, 20.0),
}
UNIT_HINTS = {
    "params": "give a raw count (7e9), not billions",
    "params_nonembedding": "give a raw count, not millions or billions",
    "tokens": "give a raw count (1.4e12), not billions",
    "unique_tokens": "give a raw count, not billions",
    "compute": "give FLOP, not PF-days",
    "loss": "give the per-token loss in nats, not a perplexity or percentage",
}
# 6ND is only an approximation of training FLOP; a factor of 10 either way
# cannot come from counting conventions and means a unit mix-up.
COMPUTE_TOLERANCE = 10.0


def value_problem(column: str, value: float) -> str | None:
    """Why one known value of ``column`` is impossible or implausible, else None."""
    if not math.isfinite(value):
        return f"{column}={value} is not finite"
    low, high = LIMITS[column]
    if value <= 0:
        return f"{column}={value:g} must be > 0"
    if value < low:
        return f"{column}={value:g} is below {low:g}: mixed units? {UNIT_HINTS[column]}"
    if value > high:
        return f"{column}={value:g} is above {high:g}: {UNIT_HINTS[column]}"
    return None


def row_problems(row: dict[str, float]) -> list[str]:
    """What is wrong with one run's numeric values (NaN means 'not given')."""
    problems = [
        problem
        for column in NUMERIC
        if not math.isnan(value := row.get(column, math.nan)) and (problem := value_problem(column, value))
    ]
    if problems:
        return problems
    params, tokens = row["params"], row["tokens"]
    if row.get("unique_tokens", math.nan) > tokens:
        problems.append(f"unique_tokens={row['unique_tokens']:g} exceeds tokens={tokens:g}")
    if row.get("params_nonembedding", math.nan) > params:
        problems.append(f"params_nonembedding={row['params_nonembedding']:g} exceeds params={params:g}")
    compute = row.get("compute", math.nan)
    if not math.isnan(compute):
        ratio = compute / (FLOP_PER_PARAM_TOKEN * params * tokens)
        if not 1 / COMPUTE_TOLERANCE <= ratio <= COMPUTE_TOLERANCE:
            problems.append(
                f"compute={compute:g} is {ratio:.3g} x 6*params*tokens: mixed units? {UNIT_HINTS['compute']}"
            )
    return problems


def compute_of(table: pd.DataFrame) -> pd.Series:
    """Training FLOP of each run: its own where given, else C = 6ND (the convention every fit uses)."""
    return table["compute"].fillna(FLOP_PER_PARAM_TOKEN * table["params"] * table["tokens"])


def rising_loss(table: pd.DataFrame) -> str | None:
    """A warning when loss tends to rise with training compute across ``table``: no scaling law describes
    that, so the loss column (or its sign or units) is probably not what the law expects."""
    rho = compute_of(table).rank().corr(table["loss"].rank())
    if not rho > 0:
        return None
    return (f"loss rises with training compute across these {len(table)} runs (rank correlation {rho:+.2f}); a "
            "scaling law describes loss that falls with scale, so its fit will not describe these runs: check the "
            "loss column (a per-token loss in nats, lower is better)")


def _duplicate_key(row: dict) -> tuple:
    if row["run_id"]:
        return ("run_id", row["run_id"])
    return ("config", row["family"], row["loss_kind"], row["params"], row["tokens"], row.get("unique_tokens"))


def read_runs_csv(path: str | Path) -> pd.DataFrame:
    """Read and validate a user CSV of runs; an :class:`InputError` lists every bad row.

    Required columns: params, tokens, loss. Optional: the other
    :data:`RUN_COLUMNS` except ``source``. An empty optional numeric cell means
    "not known". Rows are refused, never dropped or altered.
    """
    path = Path(path)
    allowed = tuple(c for c in RUN_COLUMNS if c != "source")
    lines, problems = csvfile.read_rows(path, required=REQUIRED, allowed=allowed)
    rows, seen = [], {}
    for line, cells in lines:
        row = {
            "family": cells.get("family", "").strip() or path.stem,
            "run_id": cells.get("run_id", "").strip(),
            "loss_kind": cells.get("loss_kind", "").strip() or "unspecified",
        }
        reasons = []
        for column in NUMERIC:
            value, reason = csvfile.number(column, cells.get(column, ""), required=column in REQUIRED)
            if reason:
                reasons.append(reason)
            row[column] = value
        reasons = reasons or row_problems(row)
        if not reasons:
            key = _duplicate_key(row)
            if key in seen:
                what = f"run_id {row['run_id']!r}" if key[0] == "run_id" else "family, loss_kind, params and tokens"
                advice = "" if key[0] == "run_id" else " (repeated seeds need distinct run_id values)"
                reasons.append(f"duplicate run: same {what} as line {seen[key]}{advice}")
            seen.setdefault(key, line)
        problems += [f"{path}:{line}: {r}" for r in reasons]
        row["run_id"] = row["run_id"] or f"line{line}"
        rows.append(row)
    csvfile.refuse_if(path, problems, has_rows=bool(rows))
    return _tidy(pd.DataFrame(rows), source=str(path))


def _tidy(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Columns in :data:`RUN_COLUMNS` order, missing optional ones as NaN."""
    frame = frame.assign(source=source)
    for column in RUN_COLUMNS:
        if column not in frame:
            frame[column] = np.nan
    frame = frame.loc[:, list(RUN_COLUMNS)]
    return frame.astype({c: float for c in NUMERIC})


def load(name: str) -> pd.DataFrame:
    """A registered dataset as a table: tidy runs, or notable models for kind 'models'.

    A parser's output passes the same checks as user data, so an upstream
    change that breaks an invariant fails loudly here.
    """
    dataset = registry.get(name)
    frame = parsers.PARSERS[dataset.parser](registry.fetch(dataset))
    if dataset.kind != "runs":
        return frame
    runs = _tidy(frame, source=name)
    for i, row in enumerate(runs.to_dict("records")):
        if problems := row_problems(row):
            raise InputError(f"dataset {name!r}, run {row['run_id']} (row {i}): {'; '.join(problems)}")
    return runs


def load_runs(dataset: str | None = None, runs_file: str | Path | None = None) -> tuple[pd.DataFrame, str, str]:
    """Runs from a registered dataset or a user CSV, with the source's name and SHA-256.

    The one entry point commands use.
    """
    if (dataset is None) == (runs_file is None):
        raise InputError("give exactly one of --dataset NAME or --runs FILE")
    if runs_file is not None:
        table = read_runs_csv(runs_file)
        return table, str(runs_file), hashlib.sha256(Path(runs_file).read_bytes()).hexdigest()
    if registry.get(dataset).kind != "runs":
        raise InputError(f"dataset {dataset!r} holds notable models, not training runs with losses")
    return load(dataset), dataset, dataset_digest(dataset)


def dataset_digest(name: str) -> str:
    """A registered dataset's SHA-256: its file's, or for several files the SHA-256 of their hashes in order."""
    hashes = [f.sha256 for f in registry.get(name).files]
    return hashes[0] if len(hashes) == 1 else hashlib.sha256("".join(hashes).encode()).hexdigest()
