"""What K accelerators for T days buy: FLOP through the accelerators' published dense BF16 peak throughput
(``data/published/accelerators.csv``, each row cited to its vendor's datasheet) and a prior on model FLOPs
utilisation (MFU) from the MFUs that large runs reported (``data/published/mfu.csv``), then the
compute-optimal run at that compute, with intervals that carry the MFU's uncertainty; and the wall-clock
days a given (N, D) takes."""

import math
from dataclasses import dataclass

import numpy as np

from scaling_forecast.core.errors import InputError, positive
from scaling_forecast.core.intervals import Interval, summaries
from scaling_forecast.fitting.draws import LawDraws
from scaling_forecast.inputs import published
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Accelerator:
    """An accelerator's dense BF16 peak throughput (FLOP/s) and where the number comes from."""

    name: str
    peak_flops: float
    citation: str


def accelerator(name: str) -> Accelerator:
    """The accelerator called ``name`` (case and spaces ignored) in the published table."""
    table = published.accelerators()
    key = name.replace(" ", "").lower()
    for row in table.itertuples():
        if row.accelerator.replace(" ", "").lower() == key:
            return Accelerator(row.accelerator, float(row.peak_tflops) * 1e12, row.citation)
    raise InputError(f"--gpu {name!r}: unknown accelerator (known: {', '.join(table['accelerator'])})")


def mfu_prior() -> tuple[float, float]:
    """Beta(a, b) for model FLOPs utilisation, with the mean and variance of the MFUs that large runs
    reported (one value per run: a run reported at several configurations counts once, at their mean)."""
    per_run = published.mfu().groupby("run", sort=False)["mfu"].mean().to_numpy()
    mean, var = per_run.mean(), per_run.var(ddof=1)
    strength = mean * (1 - mean) / var - 1
    return float(mean * strength), float((1 - mean) * strength)


def mfu_draws(size: int, mfu: float | None, seed: int) -> np.ndarray:
    """``size`` draws of MFU: the published prior, or ``mfu`` exactly."""
    if mfu is not None:
        if not (0 < mfu <= 1 and math.isfinite(mfu)):
            raise InputError(f"--mfu={mfu:g} must be in (0, 1]")
        return np.full(size, float(mfu))
    return np.random.default_rng([seed, 3]).beta(*mfu_prior(), size)


@dataclass(frozen=True)
class ForHardware:
    """What ``count`` accelerators for ``days`` days buy: the MFU, the FLOP, and the compute-optimal N, D and
    expected loss at that compute, with intervals that carry the MFU's uncertainty."""

    accelerator: Accelerator
    count: float
    days: float
    mfu: Interval
    compute: Interval
    params: Interval
    tokens: Interval
    loss: Interval


def hardware_compute(hardware: Accelerator, count, days, mfu) -> np.ndarray:
    """FLOP (broadcast over the arguments): count x peak x seconds x MFU."""
    return count * hardware.peak_flops * days * SECONDS_PER_DAY * mfu


def for_hardware(draws: LawDraws, hardware: Accelerator, count, days, *, mfu: float | None = None, level: float,
                 seed: int = 0) -> list[ForHardware]:
    """The compute-optimal run that ``count`` x ``hardware`` for ``days`` days affords, for each (count, days)
    pair (broadcast), per draw of law and MFU (one MFU draw per law draw, the same for every pair); the loss
    carries the fit's departure from its law where it has one (a pooled fit)."""
    count, days = np.broadcast_arrays(positive(count, "--gpus"), positive(days, "--days"))
    frontier = draws.frontier()
    utilisation = mfu_draws(frontier.a.size, mfu, seed)
    compute = hardware_compute(hardware, count[:, None], days[:, None], utilisation[None, :])
    log_budget = np.log(compute / FLOP_PER_PARAM_TOKEN)
    log_n = frontier.log_params(log_budget)
    mfu_interval = summaries(utilisation, level)[0]
    columns = [summaries(values, level) for values in (compute, np.exp(log_n), np.exp(log_budget - log_n),
                                                         draws.departed(frontier.loss(log_budget), log_budget, seed))]
    return [ForHardware(hardware, float(k), float(t), mfu_interval, *(column[i] for column in columns))
            for i, (k, t) in enumerate(zip(count, days))]


def training_days(hardware: Accelerator, count: float, params, tokens, *, mfu: float | None = None, level: float,
                  seed: int = 0, size: int = 4000) -> list[Interval]:
    """Wall-clock days to train each (N, D) on ``count`` x ``hardware``: 6ND / (count x peak x MFU), over MFU."""
    params, tokens = np.broadcast_arrays(positive(params, "--params"), positive(tokens, "--tokens"))
    flop_per_day = hardware_compute(hardware, positive(count, "--gpus")[0], 1.0, mfu_draws(size, mfu, seed))
    return summaries(FLOP_PER_PARAM_TOKEN * params[:, None] * tokens[:, None] / flop_per_day[None, :], level)


