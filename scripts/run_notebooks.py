"""Execute every notebook in notebooks/ and store it with its outputs, so that it reads as a worked analysis
on GitHub or in JupyterLab without running it first.

    SCALING_FORECAST_DATA_DIR=../shared/data .venv/bin/python scripts/run_notebooks.py   (or: make notebooks-run)

Each runs top to bottom in a kernel of this interpreter, in a temporary working directory (a notebook writes
nothing into the repository), and is written back atomically with the package version that produced it in its
metadata. tests/test_notebooks.py executes them again and checks that the stored outputs have the shape of a
fresh run's (same cells, same kinds of output).
"""

import sys
import tempfile
import time
from pathlib import Path

import nbformat
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from scaling_forecast.core.files import write_atomically
from scaling_forecast.core.version import __version__

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "scaling-forecast-notebooks"


def main() -> None:
    with tempfile.TemporaryDirectory() as kernels, tempfile.TemporaryDirectory() as work:
        write_kernel_spec(Path(kernels) / KERNEL, overrides={"display_name": f"scaling-forecast ({sys.executable})"})
        specs = KernelSpecManager(kernel_dirs=[kernels])
        for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            started = time.perf_counter()
            NotebookClient(nb, km=KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs), timeout=600,
                           resources={"metadata": {"path": work}}).execute()
            nb.metadata.pop("kernelspec", None)  # the temporary kernel is nobody else's
            nb.metadata["scaling_forecast"] = {"executed_with": __version__}
            # Replacing the stored notebook is this script's job (force), and it is no user's output (no ledger).
            write_atomically(path, lambda tmp, nb=nb: nbformat.write(nb, tmp), force=True, ledger=False)
            print(f"{path.name}: executed and stored in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
