"""The one output policy: every file the product writes goes through :func:`write_atomically`.

A command's outputs, ``--export`` tables, ``--figures``, reports, saved fits, caches and the API's ``save`` all
obey it, and a command checks its outputs with :func:`check_outputs` before any work, so a long fit never ends in
a file it may not write:

- never over an input of the call, and never two outputs on one file;
- an existing file is replaced only when the product wrote it (an HTML page or a saved fit carries a marker; any
  other file it wrote, a table or a figure, is in its ledger of written files with its size, time and hash) or
  when the caller says ``force``;
- never a file that is not a regular file (a FIFO, a device, a folder) nor a symbolic link, even with ``force``;
  what is at the path is looked at with ``lstat`` and opened only when regular (opening a FIFO blocks);
- written to a temporary file beside the target and renamed into place, so a crash, a signal or a full disk
  leaves the previous file as it was; the temporary file is removed on any exit (the command line turns SIGTERM
  into an ordinary exit so that this holds for it as for Ctrl-C); a full disk is reported in one line.
"""

import errno
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from scaling_forecast.core.errors import InputError

CACHE_ENV = "SCALING_FORECAST_CACHE_DIR"
LEDGER_ENTRIES = 2000  # the ledger keeps the newest entries: an output older than that needs force to be replaced

# Every HTML page the product writes carries this line in its head; saved fits carry the attributes
# below. That is how a command knows an existing output is one of its own, which it may replace.
GENERATOR_META = '<meta name="generator" content="scaling-forecast">'
FIT_MARKERS = (("kind", "fit_format", "package_version", "config_sha256"),  # every kind of fit, this format on
               ("law", "package_version", "dataset_sha256"))  # law fits written before fits had kinds
_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder", stat.S_IFLNK: "a symbolic link"}


def cache_dir() -> Path:
    """The user cache (same layout as a data mirror, so it can serve as one; also holds the ledger of outputs)."""
    import pooch  # on use: pooch knows each platform's cache folder

    return Path(os.environ.get(CACHE_ENV) or pooch.os_cache("scaling-forecast"))


def check_outputs(outputs: Iterable[Path | str | None], inputs: Iterable[Path | str | None] = (), force: bool = False,
                  *, flag: str = "--out") -> None:
    """Refuse, before any work, outputs the policy forbids (module docstring): an input of the call, two outputs
    on one file, a path that is not a regular file, a folder that cannot be written, or (without ``force``) an
    existing file the product did not write. ``flag`` names the option in the refusal."""
    taken = {Path(p).resolve(): f"is also the input {p}" for p in inputs if p is not None}
    for out in (Path(p) for p in outputs if p is not None):
        target = out.resolve()
        if target in taken:
            raise InputError(f"{out}: {taken[target]}; choose another {flag}")
        try:
            mode = os.lstat(out).st_mode
        except (FileNotFoundError, NotADirectoryError):  # nothing there (a file on the way: refused below)
            mode = None
        except OSError as err:
            raise InputError(f"{out}: cannot be looked at ({err.strerror})") from None
        if mode is not None and not stat.S_ISREG(mode):
            what = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            hint = f"{flag} takes a file name" if stat.S_ISDIR(mode) else "the product writes regular files only"
            raise InputError(f"{out}: is {what}; {hint}")
        folder = next(p for p in (target.parent, *target.parents) if p.exists())
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise InputError(f"{out}: cannot write into {folder}")
        if mode is not None and not force and not written_by_product(out):
            raise InputError(f"{out}: exists and was not written by scaling-forecast; choose another {flag}, or pass "
                             "--force to replace it")
        taken[target] = "would receive two of this command's outputs (e.g. a report and the posterior beside it)"


def write_atomically(path: str | Path, write: Callable[[Path], object], *, inputs: Iterable[Path | str | None] = (),
                     force: bool = False, flag: str = "--out", ledger: bool = True) -> Path:
    """Check ``path`` against the policy (:func:`check_outputs`), call ``write`` on a temporary file beside it,
    then rename that into place and note it in the ledger (``ledger=False``: a cache file, which lives in the
    product's own folder and is replaced by it with ``force``).

    The rename is atomic on one file system, so readers see the old file or the new one, never a mix, and a crash
    leaves the old file as it was. The file gets the permissions a plain write would give it (the old file's,
    else those the umask allows), not the temporary file's owner-only ones. A full disk (or quota) is refused in
    one line; the temporary file is removed whatever ends the write.
    """
    path = Path(path)
    check_outputs([path], inputs, force, flag=flag)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(temporary))
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise InputError(f"{path}: cannot be written ({os.strerror(err.errno)}); "
                             "the file that was there is unchanged") from None
        raise
    finally:
        Path(temporary).unlink(missing_ok=True)
    if ledger:
        _note_written(path)
    return path


def write_bytes_atomically(path: str | Path, data: bytes | memoryview, **policy) -> Path:
    """``data`` to ``path`` by :func:`write_atomically` (a serialiser that writes into memory first, as the saved
    fit's NetCDF does, leaves plain file writes to fail cleanly on a full disk)."""
    return write_atomically(path, lambda tmp: tmp.write_bytes(data), **policy)


def _umask() -> int:
    """The process's file-creation mask (reading it means setting it; it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def written_by_product(path: Path) -> bool:
    """Whether the regular file at ``path`` is one scaling-forecast wrote: an HTML page or a saved fit with the
    product's marker, or a file in the ledger whose size, time and hash still match."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    if GENERATOR_META.encode() in head:
        return True
    if head.startswith(b"\x89HDF\r\n\x1a\n") and _is_fit(path):  # NetCDF-4 files are HDF5 files
        return True
    return _in_ledger(path)


def _is_fit(path: Path) -> bool:
    import xarray as xr  # only when an existing HDF5 file must be looked at

    try:
        with xr.open_dataset(path, engine="h5netcdf") as root:
            return any(all(name in root.attrs for name in markers) for markers in FIT_MARKERS)
    except (OSError, ValueError):
        return False


def _ledger_path() -> Path:
    return cache_dir() / "written.json"


def _fingerprint(path: Path) -> dict[str, object]:
    info = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "sha256": digest.hexdigest()}


def _read_ledger() -> dict[str, dict]:
    try:
        ledger = json.loads(_ledger_path().read_text())
    except (OSError, ValueError):  # none yet, or damaged: nothing is known to be ours (the safe direction)
        return {}
    return ledger if isinstance(ledger, dict) else {}


def _in_ledger(path: Path) -> bool:
    entry = _read_ledger().get(str(path.resolve()))
    return isinstance(entry, dict) and entry == _fingerprint(path)


def _note_written(path: Path) -> None:
    """Add ``path`` to the ledger (newest last, at most ``LEDGER_ENTRIES``). The ledger is a convenience: when it
    cannot be written the output stands and only its later replacement needs force, so errors are ignored; two
    commands writing at once may lose an entry, with the same effect."""
    ledger = _read_ledger()
    key = str(path.resolve())
    ledger.pop(key, None)
    ledger[key] = _fingerprint(path)
    text = json.dumps(dict(list(ledger.items())[-LEDGER_ENTRIES:]))
    target = _ledger_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".written.", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temporary, target)
    except OSError:
        pass
    finally:
        Path(temporary).unlink(missing_ok=True)
