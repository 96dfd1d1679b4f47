"""scaling-forecast: Bayesian forecasts of language-model loss from published scaling-law runs.

The Python API (``scaling_forecast.api``): ``fit``, ``load``, ``dataset``; a fit's methods answer. Importing the
package is light: PyMC and ArviZ load when a fit needs them.

The subpackages are the layers, each importing only those below it (the import-linter contract in
pyproject.toml): ``core`` and ``models`` (the laws, their PyMC models and the numba densities that restate them),
``inputs`` (data in), ``fitting``, ``answers``, ``reporting``, and at the top the command line (``cli``) and,
beside it, ``api``.
"""

# No submodule is named like these functions, so that importing one (scaling_forecast.fitting.single, say) never
# replaces them.
from scaling_forecast.api import dataset, fit, load
from scaling_forecast.core.errors import InputError
from scaling_forecast.core.version import __version__

__all__ = ["InputError", "__version__", "dataset", "fit", "load"]
