"""Running nutpie with the product's settings, and holding back PyMC's log lines: shared by every kind of fit
and by the data wall's growth regressions."""

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

import xarray as xr

from scaling_forecast.fitting.settings import SamplerSettings


def sample(compiled: object, sampler: SamplerSettings, progress: bool | None) -> xr.DataTree:
    """Run nutpie on a compiled model with ``sampler``'s settings; a progress bar only on a terminal by default."""
    import nutpie  # on use: answering from a saved fit imports no sampler

    return nutpie.sample(
        compiled,
        draws=sampler.draws,
        tune=sampler.tune,
        chains=sampler.chains,
        cores=min(sampler.chains, os.cpu_count() or 1),
        seed=sampler.seed,
        adaptation=sampler.adaptation,
        target_accept=sampler.target_accept,
        maxdepth=sampler.maxdepth,
        save_warmup=False,
        progress_bar=sys.stderr.isatty() if progress is None else progress,
    )


@contextlib.contextmanager
def quiet_pymc() -> Iterator[None]:
    """PyMC's log lines held back (forward sampling logs the names of the variables it draws)."""
    logger = logging.getLogger("pymc")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
