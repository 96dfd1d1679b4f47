"""Convergence diagnostics of a posterior, with the thresholds a result must meet."""

import math
import warnings
from dataclasses import asdict, dataclass, fields

import xarray as xr

R_HAT_MAX = 1.01
ESS_MIN = 400
# Fewer draws or chains than this cannot show convergence (R-hat needs chains to compare; `fit` asks
# for at least 100 draws and 2 chains).
DRAWS_MIN, CHAINS_MIN = 100, 2


@dataclass(frozen=True)
class Diagnostics:
    """Worst-case diagnostics over the sampled (free) parameters."""

    r_hat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    bfmi_min: float
    draws: int
    chains: int

    @property
    def converged(self) -> bool:
        """Enough draws, R-hat <= 1.01, bulk ESS >= 400 and no divergent transitions."""
        return not self.problems()

    def problems(self) -> list[str]:
        """Each missed threshold as a sentence (undefined values count as missed); empty when converged."""
        found = []
        if self.draws < DRAWS_MIN or self.chains < CHAINS_MIN:
            found.append(f"only {self.chains} chain(s) of {self.draws} draw(s), too few to judge convergence: "
                         f"refit with at least {CHAINS_MIN} chains of {DRAWS_MIN} draws")
        if not self.r_hat_max <= R_HAT_MAX:
            found.append(f"max R-hat {self.r_hat_max:.3f} > {R_HAT_MAX}" if math.isfinite(self.r_hat_max)
                         else "R-hat undefined")
        if not self.ess_bulk_min >= ESS_MIN:
            found.append(f"min bulk ESS {self.ess_bulk_min:.0f} < {ESS_MIN}" if math.isfinite(self.ess_bulk_min)
                         else "bulk ESS undefined")
        if self.divergences:
            found.append(f"{self.divergences} divergent transitions")
        return found

    def as_dict(self) -> dict:
        return asdict(self) | {"converged": self.converged}

    @classmethod
    def saved(cls, record: dict, idata: xr.DataTree, var_names: list[str]) -> "Diagnostics":
        """The diagnostics a fit saved when it was sampled (``as_dict``), or computed afresh with ArviZ when
        the record lacks a field (older files) or counts other draws or chains than ``idata``'s posterior
        (over ``var_names``, as :func:`diagnose`).

        A fit's attributes and arrays are hashed (``scaling_forecast.fitting.savedfit``, arrays from format 4), so
        the record cannot be edited apart from the posterior it describes; the divergent transitions are counted
        again all the same (a sum, cheap), and any other count than the record's means a fresh diagnosis. Reading
        the record spares answering from a saved fit ArviZ's import, a large part of its time.
        """
        names = [f.name for f in fields(Diagnostics)]
        posterior = idata["posterior"]
        if (all(name in record for name in names) and record["draws"] == posterior.sizes["draw"]
                and record["chains"] == posterior.sizes["chain"]
                and record["divergences"] == int(idata["sample_stats"]["diverging"].sum())):
            return Diagnostics(**{name: record[name] for name in names})
        return diagnose(idata, var_names)


def _worst(result: xr.DataTree, how: str) -> float:
    # ArviZ returns the posterior group's node with one scalar per variable.
    return float(getattr(result.to_dataset().to_dataarray(), how)())


def diagnose(idata: xr.DataTree, var_names: list[str]) -> Diagnostics:
    """R-hat, bulk/tail ESS (ArviZ rank-normalised versions), divergences and BFMI."""
    import arviz as az  # here, not above: answering from a saved fit reads the diagnostics it saved

    stats = idata["sample_stats"]
    posterior = idata["posterior"]
    with warnings.catch_warnings():  # too few draws give NaN with numpy's warnings; problems() names the cause
        warnings.simplefilter("ignore", RuntimeWarning)
        return Diagnostics(
            r_hat_max=_worst(az.rhat(idata, var_names=var_names), "max"),
            ess_bulk_min=_worst(az.ess(idata, var_names=var_names, method="bulk"), "min"),
            ess_tail_min=_worst(az.ess(idata, var_names=var_names, method="tail"), "min"),
            divergences=int(stats["diverging"].sum()),
            bfmi_min=float(az.bfmi(idata)["energy"].min()),
            draws=int(posterior.sizes["draw"]),
            chains=int(posterior.sizes["chain"]),
        )


@dataclass(frozen=True)
class Flagged(Diagnostics):
    """Diagnostics of a fit that rests on another posterior which failed its own (a pooled fit's population):
    never converged, with that posterior's problems listed after its own."""

    other_problems: tuple[str, ...] = ()

    @property
    def converged(self) -> bool:
        return False

    def problems(self) -> list[str]:
        return super().problems() + list(self.other_problems)
