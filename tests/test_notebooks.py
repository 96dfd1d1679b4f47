"""Every notebook in notebooks/ runs top to bottom without a cell error, and is stored with the outputs of one
such run (``make notebooks-run``), whose shape a fresh run must reproduce.

Notebooks run in a kernel started with this interpreter (``sys.executable``),
never whatever a ``python3`` kernelspec on the machine points to, with the
repository on ``PYTHONPATH`` (so the checkout is tested even without an
editable install) and a temporary working directory. A notebook must not write
into the repository: the test fails if one leaves a new artefact (a saved fit,
figure or table) in the checkout or changes anything under notebooks/.
"""

import os
import sys
import time
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "scaling-forecast-tests"
# Directories that are not repository content (caches, environments).
NOT_REPO_CONTENT = {".git", ".venv", "__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
# What a notebook could leave behind. Source files are not watched: the checkout may be edited while tests run.
ARTEFACTS = (".nc", ".png", ".svg", ".pdf", ".csv", ".json", ".jsonl", ".html", ".parquet", ".npz", ".npy", ".pkl")


@pytest.fixture(scope="session")
def kernel_specs(tmp_path_factory) -> KernelSpecManager:
    """A kernelspec, in a temporary directory, that launches ``sys.executable``."""
    kernels = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(kernels / KERNEL, overrides={"display_name": f"scaling-forecast tests ({sys.executable})"})
    specs = KernelSpecManager(kernel_dirs=[str(kernels)])
    assert specs.get_kernel_spec(KERNEL).argv[0] == sys.executable
    return specs


def _repo_state() -> dict[str, tuple[int, int]]:
    """(mtime, size) of every file in the checkout, by path relative to it."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in NOT_REPO_CONTENT and not d.endswith(".egg-info")]
        for name in filenames:
            stat = os.stat(os.path.join(dirpath, name))
            state[os.path.relpath(os.path.join(dirpath, name), ROOT)] = (stat.st_mtime_ns, stat.st_size)
    return state


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks in {ROOT / 'notebooks'}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_with_the_outputs_of_one_run(path):
    """Stored as `make notebooks-run` leaves them: every code cell executed once, in order, none failed."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), f"{path.name}: run make notebooks-run"
    errors = [i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs)]
    assert not errors, f"{path.name}: stored with errors in code cells {errors}"


def _shape(nb) -> list[list[str]]:
    """Per code cell, the kinds of its outputs (stdout, or display/result with its MIME types); stderr is left
    out, since what it holds (a cache being built, a library's warning) depends on the machine's state."""
    shapes = []
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        kinds = [o.get("name") or f"{o.output_type}:{','.join(sorted(o.get('data', {})))}" for o in cell.outputs
                 if o.get("name") != "stderr"]
        shapes.append([k for i, k in enumerate(kinds) if i == 0 or k != kinds[i - 1]])  # a stream may arrive in pieces
    return shapes


@pytest.mark.needs_data
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, mirror, kernel_specs, tmp_path):
    nb = nbformat.read(path, as_version=4)
    python_path = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = os.environ | {"PYTHONPATH": os.pathsep.join(python_path)}
    client = NotebookClient(
        nb,
        km=KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernel_specs),
        timeout=600,  # per cell
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working directory
    )
    before = _repo_state()
    started = time.perf_counter()
    client.execute(env=env)  # raises CellExecutionError, naming the cell, on any error
    print(f"{path.name}: executed in {time.perf_counter() - started:.1f} s")
    # The stored outputs come from the code as it is: a fresh run prints and shows the same kinds of output.
    assert _shape(nb) == _shape(nbformat.read(path, as_version=4)), f"{path.name}: stale outputs; make notebooks-run"
    after = _repo_state()
    new_artefacts = {k for k in after.keys() - before.keys() if k.endswith(ARTEFACTS)}
    in_notebooks = {k for k in before.keys() | after.keys() if k.startswith("notebooks" + os.sep)}
    notebooks_changed = {k for k in in_notebooks if before.get(k) != after.get(k)}
    written = sorted(new_artefacts | notebooks_changed)
    assert not written, f"{path.name} wrote into the repository: {written}; use a temporary directory"
