"""What the fit report says in words: the headline numbers, whether the largest runs sit off the curve, which
published fits are comparable (those made on the same data), and the priors as a table."""

import json

import numpy as np
import pandas as pd

from scaling_forecast.core.intervals import Interval
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.inputs import published
from scaling_forecast.reporting.curves import Residuals

from .pages import escape, html_table, number

# The data each published fit was made on: its constants are set beside a posterior only on the same data.
# Hoffmann et al.'s Approach 3 and Besiroglu et al. fitted the runs that chinchilla-epoch digitises.
REFERENCE_DATA = {"hoffmann2022_approach3": ("chinchilla-epoch",), "besiroglu2024": ("chinchilla-epoch",)}
TOP_RUNS = 8  # the largest runs whose residuals say whether the law bends away at the top of the data


def same_data_references(fitted: ScalingLawFit) -> list[tuple[str, pd.DataFrame]]:
    """(label, constants) of the published fits of this law made on the fit's own dataset."""
    dataset = fitted.attrs.get("dataset")
    return [(label, published.constants(law, source)) for label, law, source in fitted.law.references
            if dataset in REFERENCE_DATA.get(source, ())]


def headline(fitted: ScalingLawFit, level: float) -> str:
    """The fit in a few sentences: which law on which runs, its constants, the allocation exponent, the
    fitted range, and whether the posterior passed its diagnostics."""
    runs = fitted.runs
    constants = "; ".join(f"{escape(name)} {number(p['median'])} [{number(p['lo'])}, {number(p['hi'])}]"
                          for name, p in fitted.parameters(level).items() if name not in ("sigma", "nu"))
    allocation = ""
    if fitted.law.frontier_of is not None:
        a = Interval.of(fitted.draws.frontier().a, level)
        allocation = f" The compute-optimal model grows as N_opt ∝ C^a with a = {a.text()}."
    verdict = ("passed its diagnostics" if fitted.diagnostics.converged else
               "<strong class=\"warn\">FAILED its diagnostics: the numbers below are not results</strong>")
    return (
        f"<h2>In short</h2>\n<p>{escape(fitted.describe())}, runs from {runs['compute'].min():.3g} to "
        f"{runs['compute'].max():.3g} FLOP. Constants (posterior median [{level:.0%} interval]; units under "
        f"Parameters): {constants}.{allocation} The posterior {verdict}. Forecasts beyond the fitted runs assume the "
        "law's form holds there (see \"How sure beyond the data\").</p>"
    )


def top_runs_verdict(runs: pd.DataFrame, residuals: Residuals) -> str:
    """In words: whether the largest runs sit systematically off the curve (most of them on one side of
    their predictive interval), which forecasts beyond them inherit."""
    top = np.argsort(runs["compute"].to_numpy())[-TOP_RUNS:]
    above = int((residuals.values[top] > residuals.hi[top]).sum())
    below = int((residuals.values[top] < residuals.lo[top]).sum())
    count = len(top)
    if 2 * above > count:
        return (f' <strong class="warn">{above} of the {count} largest runs lie above their interval: at the top of '
                "the data these runs reached higher losses than the law says, so forecasts beyond them are likely too "
                "low.</strong>")
    if 2 * below > count:
        return (f' <strong class="warn">{below} of the {count} largest runs lie below their interval: at the top of '
                "the data these runs reached lower losses than the law says, so forecasts beyond them are likely too "
                "high.</strong>")
    return (f" The {count} largest runs: {above} above and {below} below their interval, no systematic departure at "
            "the top of the data.")


def priors_table(text: str) -> str:
    """A fit's priors (its JSON attribute) as a table of names and values."""
    priors = json.loads(text)
    return html_table(["prior", "value"], [[escape(name), escape(json.dumps(value))] for name, value in priors.items()])
