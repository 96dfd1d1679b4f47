"""The planning questions together, as ``scaling-forecast plan`` and a fit's ``plan`` ask them: given N, given
hardware (what it buys, and how long given runs take on it), given a target loss (and the inference-aware run to
it), given unique tokens. Each question's answer comes from its own module; this one checks which were asked,
in one line naming the parameter when a question lacks what it needs."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scaling_forecast.answers import data_constrained
from scaling_forecast.answers import hardware as chips
from scaling_forecast.answers import plan as questions
from scaling_forecast.answers.allocation import allocation_warnings
from scaling_forecast.answers.data_constrained import ForUniqueTokens
from scaling_forecast.answers.hardware import ForHardware
from scaling_forecast.answers.plan import ForInference, ForParams, ForTarget
from scaling_forecast.core.bounds import bounded
from scaling_forecast.core.errors import InputError
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN


@dataclass(frozen=True)
class Plan:
    """``plan``'s answers from one fit (``source`` says which law and data), at interval ``level``."""

    source: str
    level: float
    for_params: list[ForParams]
    hardware: ForHardware | None
    training_days: list[dict]  # params, tokens and days (an Interval) per configuration
    targets: list[ForTarget]
    inference: list[ForInference]
    unique_tokens: list[ForUniqueTokens]
    r_stars: str | None  # where the data-constrained answers' R*_D and R*_N come from
    warnings: list[str]
    report: Path | None = None  # the HTML page, when the command line wrote one


def _check_plan(params, tokens, hardware: dict, target: dict, unique: dict, level: float) -> None:
    """Each number of a plan within its bounds (``scaling_forecast.core.bounds``), named as the API names it."""
    asked = [("params", params, "params"), ("tokens", tokens, "tokens"), ("level", level, "level"),
             ("gpus", hardware.get("gpus"), "gpus"), ("days", hardware.get("days"), "days"),
             ("mfu", hardware.get("mfu"), "mfu"), ("target_loss", target["losses"], "target_loss"),
             ("probability", target["probabilities"], "probabilities"),
             ("inference_tokens", target["inference_tokens"], "inference_tokens"),
             ("unique_tokens", unique.get("tokens"), "unique_tokens"), ("compute", unique.get("compute"), "compute")]
    for quantity, values, parameter in asked:
        if values is not None and np.size(values):
            bounded(quantity, values, parameter=parameter)


def plan(fitted: ScalingLawFit, params: Sequence[float], tokens: Sequence[float], hardware: dict, target: dict,
         unique: dict, level: float, seed: int) -> Plan:
    """The planning questions of ``scaling-forecast plan``: given N (``params`` without ``tokens``), given
    hardware (``hardware``: gpus, gpu, days, mfu), the days to train each (N, D) on it (``params`` with
    ``tokens``), given a target loss (``target``: losses, probabilities, and inference_tokens for the
    inference-aware optimum), and given unique tokens (``unique``: tokens, compute).

    Every number is checked against its bounds here, where the command line and the API both enter."""
    _check_plan(params, tokens, hardware, target, unique, level)
    draws = fitted.draws
    chip = chips.accelerator(hardware["gpu"]) if hardware.get("gpu") else None
    if (hardware.get("gpus") is not None or hardware.get("days") is not None) and chip is None:
        raise InputError("{gpus} and {days} need {gpu} (the accelerator)", parameters=("gpus", "days", "gpu"))
    afford = None
    if chip is not None and hardware.get("days") is not None:
        if hardware.get("gpus") is None:
            raise InputError("{gpu} with {days} needs {gpus} (how many)", parameters=("gpu", "days", "gpus"))
        (afford,) = chips.for_hardware(draws, chip, hardware["gpus"], hardware["days"], mfu=hardware.get("mfu"),
                                       level=level, seed=seed)
    days = []
    if tokens:
        if chip is None or hardware.get("gpus") is None:
            raise InputError("{tokens} with {params} asks how long training takes: give {gpus} and {gpu} too",
                             parameters=("tokens", "params", "gpus", "gpu"))
        if len(tokens) != len(params):
            raise InputError(f"{{tokens}}: {len(tokens)} values for {len(params)} {{params}}; give one D per N",
                             parameters=("tokens", "params"))
        spans = chips.training_days(chip, hardware["gpus"], params, tokens, mfu=hardware.get("mfu"), level=level,
                                    seed=seed)
        days = [{"params": n, "tokens": d, "days": span} for n, d, span in zip(params, tokens, spans)]
    given_n = questions.for_params(draws, params, level=level, seed=seed) if params and not tokens else []
    targets = target["losses"]
    reached = questions.for_target(draws, targets, probabilities=target["probabilities"] or questions.PROBABILITIES,
                                   level=level) if targets else []
    if target["inference_tokens"] is not None and not targets:
        raise InputError("{inference_tokens} asks for the cheapest run to a loss: give {target_loss} too",
                         parameters=("inference_tokens", "target_loss"))
    inference = questions.for_inference(draws, targets, target["inference_tokens"], level=level) \
        if target["inference_tokens"] is not None else []
    limited, r_stars = [], None
    if unique.get("tokens"):
        draws_r, r_stars = data_constrained.r_star_draws(fitted.idata["posterior"], draws.sigma.size, seed)
        limited = data_constrained.for_unique_tokens(draws, unique["tokens"], unique.get("compute"),
                                                     r_star_d=draws_r["R_star_D"], r_star_n=draws_r["R_star_N"],
                                                     level=level, seed=seed)
    elif unique.get("compute") is not None:
        raise InputError("{compute} in plan is the budget of the data-constrained optimum: give {unique_tokens} too",
                         parameters=("compute", "unique_tokens"))
    asked = [a.compute.median for a in given_n] + ([afford.compute.median] if afford else [])
    asked += [r.compute for t in reached for r in t.reach.values() if r is not None]
    asked += [u.compute_without_repeats.median for u in limited] + [u.budget for u in limited if u.budget is not None]
    warnings = allocation_warnings(fitted, asked, (), (), FLOP_PER_PARAM_TOKEN)
    if targets and draws.departs:
        warnings.append("the compute to a target loss (and the inference-aware run) is found on the law's expected "
                        "loss, without the departure from the law along compute that this pooled fit's other answers "
                        "and its forecasts carry")
    return Plan(fitted.describe(), level, given_n, afford, days, reached, inference, limited, r_stars, warnings)
