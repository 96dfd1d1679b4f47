"""The ``scaling-forecast data`` commands: the registered public datasets, and checking a user's run file."""

import sys
from pathlib import Path

import click

from scaling_forecast.cli.options import json_flag
from scaling_forecast.core.errors import InputError
from scaling_forecast.core.files import cache_dir
from scaling_forecast.inputs import dataset_summary, registry, runs
from scaling_forecast.reporting import text as render


@click.group("data")
def data_app() -> None:
    """The registered public datasets and user run files."""


@data_app.command("list")
@json_flag
def data_list(as_json: bool) -> None:
    """List registered datasets: rows, families, licence, offline availability (exit 2 if a file is bad)."""
    rows = dataset_summary.listing()
    if as_json:
        render.print_json(rows)
    else:
        render.data_list(rows, registry.mirror_dir(), registry.MIRROR_ENV, cache_dir())
    if bad := [r for r in rows if r["problem"]]:
        raise InputError("\n".join(f"{r['name']}: {r['problem']}" for r in bad))


@data_app.command("show")
@click.argument("name")
@json_flag
def data_show(name: str, as_json: bool) -> None:
    """Summarise one dataset: source, licence, units, counts and value ranges."""
    info = dataset_summary.dataset(name)
    render.print_json(info) if as_json else render.data_show(info)


@data_app.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--columns", help="Your CSV's headers for ours, e.g. params=N,tokens=D,loss=L.")
@json_flag
def data_check(file: Path, columns: str | None, as_json: bool) -> None:
    """Validate a CSV of your own runs with the checks every command applies."""
    try:
        table = runs.read_runs_csv(file, runs.column_map(columns))
    except InputError as err:
        if not as_json:
            raise
        render.print_json({"file": str(file), "valid": False, "errors": str(err).splitlines()})
        sys.exit(2)
    info = {"file": str(file), "valid": True} | dataset_summary.run_table(table)
    render.print_json(info) if as_json else render.data_check(file, info)
