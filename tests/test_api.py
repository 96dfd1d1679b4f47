"""The Python API's docstring examples run as written (doctest), on the registered data."""

import doctest

import pytest

from scaling_forecast import api, law_fit


@pytest.mark.needs_data
@pytest.mark.parametrize("module", [api, law_fit], ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_the_api_imports_without_pymc():
    """Importing the package for its API loads neither PyMC nor ArviZ until a fit needs them."""
    import subprocess
    import sys

    code = "import scaling_forecast as sf, sys; print(sorted(m for m in ('pymc', 'arviz', 'nutpie') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.strip() == "[]"
