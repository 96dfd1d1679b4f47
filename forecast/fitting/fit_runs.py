"""Fitting a table of runs as asked: a law fitted alone, or the chinchilla law pooled with the registered
families. The command line (``fit``, ``report``) and the Python API (``sf.fit``) both come here, so both get the
same checks and the same defaults."""

import sys
from dataclasses import replace

import pandas as pd

from scaling_forecast.core.errors import InputError
from scaling_forecast.fitting.pooled import SAMPLER, PooledFit, load_population
from scaling_forecast.fitting.settings import MIN_RUNS_ALONE, MIN_RUNS_POOLED, RunSelection, SamplerSettings
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.inputs import runs

LARGE_FIT_RUNS = 10_000  # from here a fit takes minutes on 2 cores: the user is told, not left with silence


def fit_runs(table: pd.DataFrame, source: str, digest: str, selection: RunSelection, law: str,
             sampler: SamplerSettings, *, pool: bool | None, own_runs: bool, tune: int | None = None,
             progress: bool | None = None) -> ScalingLawFit:
    """Fit ``law`` to the ``selection`` of a run table: pooled with the registered families when ``pool`` (None:
    for a user's own runs, ``own_runs``, and the chinchilla law), else alone; ``tune`` None: the kind's default.

    Pooling is refused for a registered dataset (the registered datasets are the population) and for any law
    but the chinchilla law (the population is of chinchilla-law families), in one line naming the parameter.
    """
    if pool is None:
        pool = own_runs and law == "chinchilla"
    elif pool and not own_runs:
        raise InputError("{pool} is for your own runs ({runs}): the registered datasets are the population",
                         parameters=("pool", "runs"))
    elif pool and law != "chinchilla":
        raise InputError(f"{{pool}} fits the chinchilla law only (the population is of chinchilla-law families); the "
                         f"{law} law is fitted to your runs alone without {{pool}}", parameters=("pool",))
    # Checked here, before a pooled fit loads (or builds) its population.
    chosen = selection.apply(table, minimum=MIN_RUNS_POOLED if pool else MIN_RUNS_ALONE)
    if warning := runs.rising_loss(chosen):
        print(f"warning: {warning}", file=sys.stderr)
    if len(chosen) >= LARGE_FIT_RUNS:  # a 100,000-run fit printed nothing for minutes
        print(f"note: fitting {len(chosen):,} runs takes minutes (each gradient visits every run); the sampler's "
              "progress shows on a terminal", file=sys.stderr)
    if not pool:
        sampler = sampler if tune is None else replace(sampler, tune=tune)
        return ScalingLawFit.fit(table, source=source, source_sha256=digest, law=law, selection=selection,
                                 sampler=sampler, progress=progress)
    sampler = replace(SAMPLER, draws=sampler.draws, chains=sampler.chains, seed=sampler.seed,
                      tune=SAMPLER.tune if tune is None else tune)
    return PooledFit.fit(table, source=source, source_sha256=digest, population=load_population(),
                         selection=selection, sampler=sampler, progress=progress)
