"""Where to forecast: published model names, paired values, or a CSV grid, as (N, D) arrays."""

import math
from pathlib import Path

import numpy as np

from scaling_forecast.core import bounds
from scaling_forecast.core.errors import InputError
from scaling_forecast.inputs import csvfile, published, runs
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN

GRID_MAX_ROWS = 1_000_000


def points(
    models: tuple[str, ...] = (),
    params: tuple[float, ...] = (),
    tokens: tuple[float, ...] = (),
    compute: tuple[float, ...] = (),
    grid: Path | None = None,
    order: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) of every query, in the order: named models, paired values, grid rows. D = C / (6N) where C is
    given; with both ``tokens`` and ``compute``, ``order`` (option names as given on the command line) says
    which --params each pairs with."""
    n, d = [], []
    if models:
        configs = published.model_configs().set_index("model")
        models = model_names(models)
        n += [float(configs.loc[m, "params"]) for m in models]
        d += [float(configs.loc[m, "tokens"]) for m in models]
    if params or tokens or compute:
        pn, pd_ = _paired(params, tokens, compute, order)
        n += pn.tolist()
        d += pd_.tolist()
    if grid is not None:
        gn, gd = read_grid(grid)
        n += gn.tolist()
        d += gd.tolist()
    if not n:
        raise InputError("nothing to forecast: give {models}, {params} with {tokens} or {compute}, or {grid}",
                         parameters=("models", "params", "tokens", "compute", "grid"))
    return np.asarray(n), np.asarray(d)


def model_names(names) -> tuple[str, ...]:
    """Published configurations' names as the table spells them, matched ignoring case ("llama 65b")."""
    known = published.model_configs()["model"].tolist()
    by_key = {name.casefold(): name for name in known}
    unknown = [name for name in names if name.casefold() not in by_key]
    if unknown:
        raise InputError(f"unknown model {unknown[0]!r}; published configurations: {', '.join(known)}")
    return tuple(by_key[name.casefold()] for name in names)


def _paired(params, tokens, compute, order: list[str] | None) -> tuple[np.ndarray, np.ndarray]:
    if not params:
        raise InputError("{tokens} and {compute} need {params}", parameters=("tokens", "compute", "params"))
    if not (tokens or compute):
        raise InputError("{params} needs {tokens} or {compute}", parameters=("params", "tokens", "compute"))
    if tokens and compute:
        if order is None:
            raise InputError("give {tokens} or {compute} for every {params}, not both (or one call for each)",
                             parameters=("tokens", "compute", "params"))
        kinds = [name for name in order if name in ("tokens", "compute")]
        if len(kinds) != len(params):
            raise InputError(f"{len(params)} {{params}} values but {len(kinds)} {{tokens}}/{{compute}} values; with "
                             "both kinds give one per {params}, in the same order", parameters=("params", "tokens", "compute"))
        given = {"tokens": iter(tokens), "compute": iter(compute)}
        seconds = [(kind, next(given[kind])) for kind in kinds]
    else:
        name = "tokens" if tokens else "compute"
        values = tokens or compute
        if len(values) != len(params) and 1 not in (len(values), len(params)):
            raise InputError(f"{len(params)} {{params}} values but {len(values)} {{{name}}} values; give one each, or one of "
                             "either", parameters=("params", name))
        seconds = [(name, v) for v in values]
    count = max(len(params), len(seconds))
    n = np.broadcast_to(_flag("params", params), count)
    kinds = np.array([kind for kind, _ in seconds])
    given = np.broadcast_to(_flag(kinds, [value for _, value in seconds]), count)
    kinds = np.broadcast_to(kinds, count)
    # Checked as whole arrays: the Python API passes a million points through here.
    d = np.where(kinds == "tokens", given, given / (FLOP_PER_PARAM_TOKEN * n))
    if (bad := np.flatnonzero((kinds == "compute") & _implausible("tokens", d))).size:
        i = bad[0]
        raise InputError(f"{{params}} {n[i]:g} with {{compute}} {given[i]:g}: {derived_tokens_problem(d[i])}",
                         parameters=("params", "compute"))
    return np.asarray(n, float), np.asarray(d, float)


def derived_tokens_problem(tokens: float) -> str | None:
    """Why D = C / (6N) derived from a query is implausible (the bounds a run file's tokens must meet), or None."""
    problem = runs.value_problem("tokens", float(tokens))
    if problem is None:
        return None
    return f"D = C / (6N) = {tokens:.3g} tokens is implausible ({problem.split(': ')[0]}); check the units"


def budgets(values: tuple[float, ...]) -> np.ndarray:
    """Compute budgets in FLOP from the command line, each within the bounds a run file's compute must meet."""
    return _flag("compute", values)


def _flag(column: str | np.ndarray, values) -> np.ndarray:
    """Values of a command-line flag named like ``column`` (or, an array, each value like its own entry), each
    within the bounds run files must meet; the first that is not is refused."""
    array = np.asarray(values, float)
    names = np.broadcast_to(np.asarray(column), array.shape)
    bad = np.zeros(array.shape, bool)
    for name in set(names.tolist()):
        bad |= (names == name) & _implausible(name, array)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        name = str(names[i])  # value_problem's sentence starts with the name: worded as the caller's parameter
        raise InputError("{" + name + "}" + runs.value_problem(name, float(array[i]))[len(name):], parameters=(name,))
    return array


def read_grid(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Query points from a CSV with params and one of tokens or compute; every bad row is named.

    Parsed and checked column by column (a million rows take about a second); rows are only
    looked at one by one to describe the bad ones.
    """
    path = Path(path)
    lines, columns, problems = csvfile.read_columns(path, required=("params",), allowed=("params", "tokens", "compute"))
    if len(lines) > GRID_MAX_ROWS:
        raise InputError(f"{path}: {len(lines):,} query points; a grid holds at most {GRID_MAX_ROWS:,} (the forecast "
                         "table is kept in memory, about 0.6 GB per million points): split it into several files")
    if len(set(columns) & {"tokens", "compute"}) != 1:
        raise InputError(f"{path}:1: give exactly one of the columns tokens or compute beside params")
    other = "tokens" if "tokens" in columns else "compute"
    reasons: dict[int, list[str]] = {}
    values = {}
    for column in ("params", other):
        values[column], bad = _column(column, columns[column])
        for i, reason in bad.items():
            reasons.setdefault(i, []).append(reason)
    n = values["params"]
    d = values["tokens"] if other == "tokens" else values["compute"] / (FLOP_PER_PARAM_TOKEN * n)
    if other == "compute":
        for i in np.flatnonzero(_implausible("tokens", d)):
            if i not in reasons:
                reasons[i] = [derived_tokens_problem(d[i])]
    problems += [f"{path}:{lines[i]}: {r}" for i in sorted(reasons) for r in reasons[i]]
    csvfile.refuse_if(path, problems, has_rows=bool(lines))
    return n, d


def _column(column: str, texts: list[str]) -> tuple[np.ndarray, dict[int, str]]:
    """A numeric column (NaN where a cell is bad) and the reason for each bad row index."""
    try:
        array = np.asarray(texts, dtype=float)
    except ValueError:  # some cell is not a number: parse one by one to name it
        parsed = [csvfile.number(column, text, required=True) for text in texts]
        array = np.asarray([math.nan if v is None else v for v, _ in parsed])
        bad = {i: reason for i, (_, reason) in enumerate(parsed) if reason}
    else:
        bad = {}
    for i in np.flatnonzero(_implausible(column, array)):
        if i not in bad:
            bad[int(i)] = runs.value_problem(column, float(array[i]))
    return array, bad


def _implausible(column: str, array: np.ndarray) -> np.ndarray:
    """Where values fail :func:`scaling_forecast.inputs.runs.value_problem` (not finite, <= 0 or outside the limits)."""
    bound = bounds.BOUNDS[column]
    low, high = bound.low, bound.high
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(array) | (array < low) | (array > high)
