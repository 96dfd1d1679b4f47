"""Errors the user can act on, printed by the CLI as one line without a traceback, and the check of
positive numeric input that raises them."""

import numpy as np


class InputError(Exception):
    """Bad input: a file, a row or an option. The message names which and why."""


class DataUnavailableError(InputError):
    """A registered dataset is neither in the mirror, nor cached, nor downloadable."""


def positive(values, what: str) -> np.ndarray:
    """``values`` as a 1-D float array, or an InputError naming ``what`` and the first value that is not
    positive and finite."""
    values = np.atleast_1d(np.asarray(values, float))
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        raise InputError(f"{what}={values[bad][0]:g} must be positive and finite")
    return values
