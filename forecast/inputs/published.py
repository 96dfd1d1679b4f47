"""Numbers typed in from papers (``data/published/``), each row with its citation."""

import functools
from importlib.resources import files

import pandas as pd

CHINCHILLA_BUDGET = 5.76e23  # FLOP: Chinchilla's own training run (Hoffmann et al. 2022, Table 3)


@functools.cache
def _table(name: str) -> pd.DataFrame:
    with files("scaling_forecast.data").joinpath("published", name).open(encoding="utf-8") as fh:
        return pd.read_csv(fh)


def law_constants() -> pd.DataFrame:
    """Published fitted constants: law, source, parameter, value, lo, hi, interval, units, citation, note."""
    return _table("law_constants.csv").copy()


def model_configs() -> pd.DataFrame:
    """Published model configurations: model, family, params, tokens, date, ..., citation."""
    return _table("model_configs.csv").copy()


def constants(law: str, source: str) -> pd.DataFrame:
    """The rows of one published fit, indexed by parameter."""
    table = law_constants()
    return table[(table["law"] == law) & (table["source"] == source)].set_index("parameter")


def data_stock() -> pd.DataFrame:
    """Published estimates of the stock of human text and of training-set growth: quantity, value, low, high, ..., citation."""
    return _table("data_stock.csv").copy()


def accelerators() -> pd.DataFrame:
    """Accelerators' dense BF16 peak throughput: accelerator, peak_tflops, precision, citation, note."""
    return _table("accelerators.csv").copy()


def mfu() -> pd.DataFrame:
    """Model FLOPs utilisation reported by large training runs: run, mfu, hardware, year, citation, note."""
    return _table("mfu.csv").copy()


def chinchilla_run() -> tuple[float, float, float]:
    """Chinchilla's own run as figures mark it: (C in FLOP, N, D)."""
    row = model_configs().set_index("model").loc["Chinchilla"]
    return CHINCHILLA_BUDGET, float(row["params"]), float(row["tokens"])
