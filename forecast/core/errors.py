"""Errors the user can act on, printed by the CLI as one line without a traceback, and the check of
positive numeric input that raises them."""

from collections.abc import Callable

import numpy as np


class Terminated(BaseException):
    """SIGTERM, raised in the main thread by the command line's handler (``cli.console.run``), so that what an
    interrupted command was doing unwinds as for Ctrl-C: temporary files removed, worker processes stopped. A
    BaseException, as KeyboardInterrupt is, so that no ``except Exception`` on the way swallows it."""


class InputError(Exception):
    """Bad input: a file, a row, an option or an argument. The message names which and why.

    A message may name what the caller passed as ``{name}`` marks, listed in ``parameters``: the engine is called
    from Python and from the command line, so an error names the parameter as the caller knows it. ``str(err)``
    says the Python parameter (``params``), and the command line words it as its flag (``--params``) through
    :meth:`worded`.
    """

    def __init__(self, message: str, *, parameters: tuple[str, ...] = ()):
        self.template = message
        self.parameters = parameters
        super().__init__(self.worded(str))

    def worded(self, name: Callable[[str], str]) -> str:
        """The message with each named parameter as ``name`` words it."""
        text = self.template
        for parameter in self.parameters:  # not str.format: the rest of the message may hold braces from a file
            text = text.replace("{" + parameter + "}", name(parameter))
        return text


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
