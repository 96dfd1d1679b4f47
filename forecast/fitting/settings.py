"""Which runs a fit uses and how it samples: plain settings, cheap to import."""

from dataclasses import dataclass

import pandas as pd

from scaling_forecast.core.errors import InputError
from scaling_forecast.inputs.runs import compute_of
from scaling_forecast.models.laws import FLOP_PER_PARAM_TOKEN

# The laws scaling_forecast.models.law_registry defines, named here so the command line can list them without importing PyMC.
LAW_NAMES = ("chinchilla", "kaplan", "kaplan_e", "compute")
# A five-parameter law fitted alone needs clearly more runs than parameters; a pooled fit, whose prior
# comes from other families, can start from 3 (below that even the population cannot place a family's
# curve: level, slope and curvature).
MIN_RUNS_ALONE, MIN_RUNS_POOLED = 8, 3


@dataclass(frozen=True)
class RunSelection:
    """Which runs of a table to fit. Empty tuples mean 'all'."""

    families: tuple[str, ...] = ()
    loss_kinds: tuple[str, ...] = ()
    compute_min: float | None = None
    compute_max: float | None = None
    drop_highest_loss: int = 0
    # Count N without embedding parameters (Kaplan's convention), and C = 6 N D with that N.
    non_embedding: bool = False

    def apply(self, runs: pd.DataFrame, minimum: int = MIN_RUNS_ALONE) -> pd.DataFrame:
        """The selected runs; an :class:`InputError` when fewer than ``minimum`` are left, or when they
        hold too few distinct configurations to identify a law."""
        kept = runs
        for column, wanted in (("family", self.families), ("loss_kind", self.loss_kinds)):
            if wanted:
                unknown = sorted(set(wanted) - set(runs[column]))
                if unknown:
                    raise InputError(f"no runs with {column} {unknown}; available: {sorted(set(runs[column]))}")
                kept = kept[kept[column].isin(wanted)]
        compute = compute_of(kept)
        if self.compute_min is not None:
            kept, compute = kept[compute >= self.compute_min], compute[compute >= self.compute_min]
        if self.compute_max is not None:
            kept = kept[compute <= self.compute_max]
        if self.drop_highest_loss:
            kept = kept.drop(kept["loss"].nlargest(self.drop_highest_loss).index)
        if len(kept["loss_kind"].unique()) > 1:
            raise InputError(
                f"the selected runs mix loss kinds {sorted(kept['loss_kind'].unique())}; one law fits one loss: "
                "choose one with {loss_kinds}", parameters=("loss_kinds",)
            )
        if len(kept) < minimum:
            raise InputError(f"only {len(kept)} runs selected; this fit needs at least {minimum}"
                             + (" (a pooled fit, the default for your own runs with the chinchilla law, needs 3)"
                                if minimum > 3 else ""))
        configurations = len(kept[["params", "tokens"]].drop_duplicates())
        needed = min(minimum, 5)
        if configurations < needed:
            raise InputError(f"the {len(kept)} runs selected hold {configurations} distinct (params, tokens) "
                             f"configuration(s) ({kept['params'].nunique()} sizes, {kept['tokens'].nunique()} token "
                             f"counts): too few to identify the law's constants (this fit needs {needed}); add runs at "
                             "other sizes or token counts")
        return self._count_parameters(kept)

    def _count_parameters(self, kept: pd.DataFrame) -> pd.DataFrame:
        """Swap in non-embedding N when asked. The filters above use the table's own compute, so
        the same runs are chosen either way and only the counting differs."""
        if not self.non_embedding:
            return kept
        missing = kept["params_nonembedding"].isna()
        if missing.any():
            raise InputError(
                f"{int(missing.sum())} of {len(kept)} selected runs have no non-embedding parameter count "
                f"(first: run {kept.loc[missing, 'run_id'].iloc[0]}); {{non_embedding}} needs "
                "params_nonembedding (registered datasets with it: gadre-overtraining, misfitting)",
                parameters=("non_embedding",))
        params = kept["params_nonembedding"].astype(float)
        return kept.assign(params=params, compute=FLOP_PER_PARAM_TOKEN * params * kept["tokens"])


@dataclass(frozen=True)
class SamplerSettings:
    """nutpie settings. Low-rank mass-matrix adaptation copes with the A-alpha / B-beta correlation."""

    draws: int = 1000
    # Low-rank adaptation settles fast: on chinchilla-epoch, 10 seeds each with 400, 500 and 1000
    # tuning steps all gave 0 divergences, min bulk ESS >= 2826, max R-hat <= 1.004.
    tune: int = 500
    chains: int = 4
    seed: int = 20220329
    adaptation: str = "low_rank"
    # 0.8 left 1-2 divergences in 3 of 5 seeds on chinchilla-epoch; 0.9 left none in 5, for ~10% more time.
    target_accept: float = 0.9
    maxdepth: int = 10  # at most 2^maxdepth leapfrog steps per draw
