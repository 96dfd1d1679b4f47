"""The Python API, in the package's namespace (``import scaling_forecast as sf``): fit a law to runs from a
notebook, load a saved fit, read a registered dataset's runs. What a fit answers (predict, predict_draws, allocate,
plot_frontier, plot_residuals, save) are its methods. Input is checked by the rules the command line
applies; bad input raises :class:`scaling_forecast.InputError`, whose message names every bad row.

From a CSV of your own runs to a forecast, an allocation and two figures:

>>> import scaling_forecast as sf                                   # doctest: +SKIP
>>> fit = sf.fit("my_runs.csv")                                     # doctest: +SKIP
>>> fit.predict([7e9, 7e10], [1.4e11, 1.4e12])                      # doctest: +SKIP
>>> fit.allocate([1e22, 1e23])                                      # doctest: +SKIP
>>> fit.plot_frontier(), fit.plot_residuals()                       # doctest: +SKIP
"""

import hashlib
from pathlib import Path

import pandas as pd

from scaling_forecast.errors import InputError


def dataset(name: str) -> pd.DataFrame:
    """The tidy run table of a registered dataset (``scaling-forecast data list`` names them): one row per
    run and evaluation set, N, D, C and loss in their units (parameters, tokens, FLOP, nats/token).

    >>> import scaling_forecast as sf
    >>> table = sf.dataset("chinchilla-epoch")
    >>> len(table), sorted(table["family"].unique())
    (245, ['chinchilla'])
    """
    from scaling_forecast import runs as run_tables

    return run_tables.load_runs(dataset=name)[0]


def fit(runs, *, law: str = "chinchilla", pool: bool | None = None, columns: dict[str, str] | None = None,
        families: tuple[str, ...] = (), drop_highest_loss: int = 0, draws: int = 1000, chains: int = 4,
        seed: int | None = None, progress: bool | None = None):
    """Fit ``law`` (chinchilla, kaplan, kaplan_e or compute) to ``runs`` and return the fit.

    ``runs``: a DataFrame (a notebook's: params, tokens and loss columns at least, other headers mapped with
    ``columns={"params": "N", ...}``, other columns kept as metadata), the path of such a CSV, or the name of
    a registered dataset. Your runs are pooled with the registered families by default (``pool``, the
    chinchilla law only; the first pooled fit builds the population, 1-2 minutes, then cached); a registered
    dataset is fitted alone. ``families`` and ``drop_highest_loss`` select runs as the command line's flags do.

    >>> import scaling_forecast as sf
    >>> fit = sf.fit("chinchilla-epoch", drop_highest_loss=5, progress=False)
    >>> fit.describe()
    'chinchilla law (L = E + A*N^-alpha + B*D^-beta) fitted to chinchilla-epoch (240 runs)'
    >>> fit.diagnostics.converged
    True
    """
    from dataclasses import replace

    from scaling_forecast import commands, registry
    from scaling_forecast import runs as run_tables
    from scaling_forecast.fit_settings import RunSelection, SamplerSettings

    registered = isinstance(runs, str) and runs in registry.datasets()
    if isinstance(runs, pd.DataFrame):
        table = run_tables.runs_from_frame(runs, columns, name="DataFrame")
        source = "DataFrame"
        digest = hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()
    elif registered:
        if columns:
            raise InputError("columns= names the columns of your own runs; a registered dataset needs none")
        table, source, digest = run_tables.load_runs(dataset=runs)
    elif isinstance(runs, str | Path):
        table, source, digest = run_tables.load_runs(runs_file=runs, columns=columns)
    else:
        raise InputError(f"runs: a DataFrame, a CSV path or a registered dataset's name, not {type(runs).__name__}")
    if pool is None:
        pool = not registered and law == "chinchilla"
    sampler = replace(SamplerSettings(), draws=draws, chains=chains, **({} if seed is None else {"seed": seed}))
    selection = RunSelection(families=tuple(families), drop_highest_loss=drop_highest_loss)
    return commands.fit_table(table, source, digest, selection, law, sampler, pool, progress=progress)


def load(path: str | Path):
    """A fit saved by ``fit.save(path)`` or ``scaling-forecast fit --out`` (any kind), checked as it loads.

    >>> import scaling_forecast as sf, tempfile, os
    >>> fit = sf.fit("chinchilla-epoch", drop_highest_loss=5, progress=False)
    >>> path = fit.save(os.path.join(tempfile.mkdtemp(), "fit.nc"))
    >>> sf.load(path).predict([7e10], [1.4e12]).equals(fit.predict([7e10], [1.4e12]))
    True
    """
    from scaling_forecast import fitted

    return fitted.load(path)
