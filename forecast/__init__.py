"""scaling-forecast: Bayesian forecasts of language-model loss from published scaling-law runs.

The Python API (``scaling_forecast.api``): ``fit``, ``load``, ``dataset``; a fit's methods answer. Importing the
package is light: PyMC and ArviZ load when a fit needs them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scaling-forecast")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

# After __version__, which the command line reads first. No submodule is named like these functions, so that
# importing one (scaling_forecast.law_fit, say) never replaces them.
from scaling_forecast.api import dataset, fit, load  # noqa: E402
from scaling_forecast.errors import InputError  # noqa: E402

__all__ = ["InputError", "__version__", "dataset", "fit", "load"]
