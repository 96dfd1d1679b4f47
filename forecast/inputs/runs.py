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

from scaling_forecast.core import bounds
from scaling_forecast.core.errors import InputError
from scaling_forecast.inputs import csvfile, parsers, registry
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

# 6ND is only an approximation of training FLOP; a factor of 10 either way
# cannot come from counting conventions and means a unit mix-up.
COMPUTE_TOLERANCE = 10.0


def value_problem(column: str, value: float) -> str | None:
    """Why one known value of ``column`` is impossible or implausible (its row of the bounds table), else None."""
    return bounds.problem(column, value)


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
                f"compute={compute:g} is {ratio:.3g} x 6*params*tokens: mixed units? {bounds.BOUNDS['compute'].hint}"
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


ALLOWED = tuple(c for c in RUN_COLUMNS if c != "source")  # what a user's runs may hold (source is ours)
OWN_SOURCE = "column 'source' is scaling-forecast's own (the file a run came from); rename yours"


def read_runs_csv(path: str | Path, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """Read and validate a user CSV of runs; an :class:`InputError` lists every bad row.

    Required columns: params, tokens, loss. Optional: the other
    :data:`RUN_COLUMNS` except ``source``. An empty optional numeric cell means
    "not known". Rows are refused, never dropped or altered. ``columns`` ({our name: the file's},
    e.g. ``{"params": "N", "tokens": "D", "loss": "L"}``) reads a file with other headers. Any other
    column (a learning rate, a run's URL) is kept after ours as metadata (numbers where every cell is
    one, else text): :func:`metadata_columns` lists them, and no fit uses them.
    """
    path = Path(path)
    _check_mapping(columns)
    lines, problems = csvfile.read_rows(path, required=REQUIRED, allowed=ALLOWED, renamed=columns, extra=True)
    if lines and "source" in lines[0][1]:
        raise InputError(f"{path}:1: {OWN_SOURCE}")
    return _checked(lines, problems, str(path), path.stem, lambda line: f"{path}:{line}", "line")


def runs_from_frame(frame: pd.DataFrame, columns: dict[str, str] | None = None, name: str = "runs") -> pd.DataFrame:
    """A DataFrame of runs (a notebook's, ``name`` in messages) checked and tidied as :func:`read_runs_csv`
    checks a file: the same columns, rules and errors, rows named by their index."""
    _check_mapping(columns)
    header = [str(c) for c in frame.columns]
    problems = [f"{name}: columns= maps {ours!r} to {theirs!r}, which it lacks (columns: {', '.join(header)})"
                for ours, theirs in (columns or {}).items() if theirs not in header]
    renamed = frame.rename(columns={theirs: ours for ours, theirs in (columns or {}).items()})
    names = [str(c) for c in renamed.columns]
    problems += [f"{name}: column {c!r} appears more than once" for c in dict.fromkeys(names) if names.count(c) > 1]
    problems += [f"{name}: missing required column {c!r} (columns: {', '.join(header)})" for c in REQUIRED if c not in names]
    problems += [f"{name}: {OWN_SOURCE}" for c in names if c == "source"]
    if problems:
        raise InputError("\n".join(problems))
    lines = [(index, {str(c): _cell(v) for c, v in row.items()}) for index, row in zip(frame.index, renamed.to_dict("records"))]
    return _checked(lines, [], name, name, lambda index: f"{name} row {index}", "row")


def _cell(value) -> str:
    """A DataFrame's value as the text a CSV would hold (exactly: a float's repr reads back as itself)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def _check_mapping(columns: dict[str, str] | None) -> None:
    unknown = [c for c in (columns or {}) if c not in ALLOWED]
    if unknown:
        raise InputError(f"--columns {unknown[0]}=...: {unknown[0]!r} is not a run column (they are: {', '.join(ALLOWED)})")


def _checked(lines: list, problems: list[str], source: str, family: str, where, unit: str) -> pd.DataFrame:
    """The tidy run table of parsed rows ((line or index, {column: text})), or an InputError listing every
    problem (each prefixed by ``where(line)``)."""
    rows, seen = [], {}
    for line, cells in lines:
        row = {
            "family": cells.get("family", "").strip() or family,
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
                reasons.append(f"duplicate run: same {what} as {unit} {seen[key]}{advice}")
            seen.setdefault(key, line)
        problems += [f"{where(line)}: {r}" for r in reasons]
        row["run_id"] = row["run_id"] or f"{unit}{line}"
        rows.append(row | {c: text for c, text in cells.items() if c not in ALLOWED})
    csvfile.refuse_if(source, problems, has_rows=bool(rows))
    frame = pd.DataFrame(rows)
    return _tidy(frame, source, tuple(c for c in frame.columns if c not in ALLOWED))


def column_map(text: str | None) -> dict[str, str] | None:
    """``--columns params=N,tokens=D,loss=L`` as {our name: the file's}; None for no mapping."""
    if not text:
        return None
    pairs = [item.split("=") for item in text.split(",")]
    bad = next((item for item, pair in zip(text.split(","), pairs) if len(pair) != 2 or not all(p.strip() for p in pair)), None)
    if bad is not None:
        raise InputError(f"--columns: {bad!r} is not OURS=THEIRS (e.g. --columns params=N,tokens=D,loss=L)")
    return {ours.strip(): theirs.strip() for ours, theirs in pairs}


def metadata_columns(table: pd.DataFrame) -> list[str]:
    """The columns of a run table beyond :data:`RUN_COLUMNS`: a user file's metadata, which no fit uses."""
    return [c for c in table.columns if c not in RUN_COLUMNS]


def _tidy(frame: pd.DataFrame, source: str, metadata: tuple[str, ...] = ()) -> pd.DataFrame:
    """Columns in :data:`RUN_COLUMNS` order, missing optional ones as NaN, then the ``metadata`` columns
    (as numbers where every cell is one)."""
    frame = frame.assign(source=source)
    for column in metadata:
        numbers = pd.to_numeric(frame[column].str.strip(), errors="coerce")
        if numbers.notna().all():
            frame[column] = numbers
    for column in RUN_COLUMNS:
        if column not in frame:
            frame[column] = np.nan
    frame = frame.loc[:, list(RUN_COLUMNS) + list(metadata)]
    return frame.astype({c: float for c in NUMERIC})


def load(name: str) -> pd.DataFrame:
    """A registered dataset as a table: tidy runs, or notable models for kind 'models'.

    A parser's output passes the same checks as user data, so an upstream
    change that breaks an invariant fails loudly here.
    """
    dataset = registry.get(name)
    frame = parsers.PARSERS[dataset.parser](registry.fetch(dataset))
    if not dataset.holds_runs:
        return frame
    runs = _tidy(frame, source=name)
    for i, row in enumerate(runs.to_dict("records")):
        if problems := row_problems(row):
            raise InputError(f"dataset {name!r}, run {row['run_id']} (row {i}): {'; '.join(problems)}")
    return runs


def load_runs(dataset: str | None = None, runs_file: str | Path | None = None,
              columns: dict[str, str] | None = None) -> tuple[pd.DataFrame, str, str]:
    """Runs from a registered dataset or a user CSV (``columns``: its headers, see :func:`read_runs_csv`),
    with the source's name and SHA-256.

    The one entry point commands use.
    """
    if (dataset is None) == (runs_file is None):
        raise InputError("give exactly one of --dataset NAME or --runs FILE")
    if columns and runs_file is None:
        raise InputError("--columns names the columns of your --runs FILE; a registered dataset needs none")
    if runs_file is not None:
        table = read_runs_csv(runs_file, columns)
        return table, str(runs_file), hashlib.sha256(Path(runs_file).read_bytes()).hexdigest()
    if not registry.get(dataset).holds_runs:
        raise InputError(f"dataset {dataset!r} holds notable models, not training runs with losses")
    return load(dataset), dataset, dataset_digest(dataset)


def dataset_digest(name: str) -> str:
    """A registered dataset's SHA-256: its file's, or for several files the SHA-256 of their hashes in order."""
    hashes = [f.sha256 for f in registry.get(name).files]
    return hashes[0] if len(hashes) == 1 else hashlib.sha256("".join(hashes).encode()).hexdigest()
