"""Writing files so that an interrupted write never leaves a half-written or destroyed file."""

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from scaling_forecast.core.errors import InputError


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write`` on a temporary file beside ``path``, then rename it into place.

    The rename is atomic on one file system, so readers see the old file or the new one, never a
    mix, and a crash leaves the old file as it was. The file gets the permissions a plain write would
    give it (the old file's, else those the umask allows), not the temporary file's owner-only ones.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(temporary))
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process's file-creation mask (reading it means setting it; it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Every HTML page the product writes carries this line in its head; saved fits carry the attributes
# below. That is how a command knows an existing output is one of its own, which it may replace.
GENERATOR_META = '<meta name="generator" content="scaling-forecast">'
FIT_MARKERS = ("law", "package_version", "dataset_sha256")


def written_by_product(path: Path) -> bool:
    """Whether the file at ``path`` is an HTML page or a saved fit that scaling-forecast wrote."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    if GENERATOR_META.encode() in head:
        return True
    if not head.startswith(b"\x89HDF\r\n\x1a\n"):  # NetCDF-4 files are HDF5 files
        return False
    import xarray as xr  # only when an existing HDF5 file must be looked at

    try:
        with xr.open_dataset(path, engine="h5netcdf") as root:
            return all(name in root.attrs for name in FIT_MARKERS)
    except (OSError, ValueError):
        return False


def check_outputs(outputs: list[Path], inputs: list[Path | None], force: bool = False) -> None:
    """Refuse, before any work, outputs that would overwrite an input or each other, that are folders,
    whose folder cannot be written, or (without ``force``) that exist and were not written by this
    product: a long fit must not end in a file that cannot be saved or that destroys what it read."""
    taken = {Path(p).resolve(): f"is also the input {p}" for p in inputs if p is not None}
    for out in outputs:
        target = Path(out).resolve()
        if target in taken:
            raise InputError(f"{out}: {taken[target]}; choose another --out")
        if target.is_dir():
            raise InputError(f"{out}: is a folder; --out takes a file name")
        folder = next(p for p in (target.parent, *target.parents) if p.exists())
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise InputError(f"{out}: cannot write into {folder}")
        if target.exists() and not force and not written_by_product(target):
            raise InputError(f"{out}: exists and was not written by scaling-forecast; choose another --out, or pass "
                             "--force to replace it")
        taken[target] = "would receive two of this command's outputs (e.g. a report and the posterior beside it)"
