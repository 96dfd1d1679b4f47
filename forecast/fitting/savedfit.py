"""How every kind of fit is written and read back, and what a saved law fit must hold.

A file can be truncated, edited, written by another version or by another
program. Every fit carries its kind, format, package version, a hash of
its attributes (``config_sha256``: law, priors, sampler, selection, data
hash, ...) and, from format 4, a hash of its arrays (``content_sha256``: every
variable and coordinate of every group: posterior, sample statistics, observed
and constant data, ...), written by :func:`write` and checked by :func:`read`, so a file
whose settings, draws or runs were edited after fitting is refused (a posterior
swapped for another fit's of the same shape among them). The hashes guard
against edits and damage, not against someone who recomputes them: they are
not signatures. Sizes are read from the file's metadata and checked before
any array is read into memory. A law fit is then
checked in full (law, variables, shapes, finite values in their support,
runs), and a bad file is refused with one line naming the file and the first
problem, so no command prints numbers computed from a broken posterior.
"""

import hashlib
import io
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import xarray as xr

from scaling_forecast.core.errors import InputError
from scaling_forecast.core.files import check_outputs, write_bytes_atomically
from scaling_forecast.core.version import __version__
from scaling_forecast.inputs import runs
from scaling_forecast.models import law_registry as laws

# Written into every fit; raised when the layout of a saved fit changes (2: config_sha256; 3: the runs as
# ArviZ's constant_data and observed_data groups, and a law fit's log_likelihood and posterior_predictive).
# Files without it were written before it existed, with the same layout as format 1; format-1 files have no
# hash to check. Older files load: their runs group is read as the two groups format 3 holds.
FIT_FORMAT = 4  # 4: content_sha256
KINDS = ("single", "pooled", "hierarchical", "baseline")
HASHED_FROM = 2  # the first format that carries config_sha256
CONTENT_HASHED_FROM = 4  # the first format that carries content_sha256
# The largest fit read: 4 chains x 100,000 draws (the sampler's bounds) of a few dozen variables, with a
# log likelihood per run, stays far below it; a file declaring more is refused before anything is read.
MAX_FIT_BYTES = 2 * 1024**3
RUN_GROUPS_FROM = 3  # the first format with constant_data and observed_data instead of a runs group
JSON_ATTRS = ("selection", "priors", "sampler", "diagnostics")
TEXT_ATTRS = ("law_formula", "dataset", "dataset_sha256", "package_version")
RUN_NUMBERS = ("params", "tokens", "loss")


def stamp(idata: xr.DataTree, kind: str) -> None:
    """Mark a fresh fit with its kind, this format and this package's version."""
    idata.attrs.update(kind=kind, fit_format=FIT_FORMAT, package_version=__version__)


def config_sha256(attrs: dict) -> str:
    """SHA-256 of every attribute but the hash itself, as canonical JSON (NetCDF returns numbers as numpy
    scalars and lists as arrays; both hash as the plain values they were written as)."""
    def plain(value):
        return value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value

    text = json.dumps({k: plain(v) for k, v in attrs.items() if k != "config_sha256"}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def content_sha256(idata: xr.DataTree) -> str:
    """SHA-256 of every array of every group (data variables and coordinates, by name, with dtypes and shapes)
    of a tree as read from NetCDF (text as UTF-8 lines)."""
    digest = hashlib.sha256()
    for node in sorted(idata.subtree, key=lambda n: n.path):
        dataset = node.to_dataset(inherit=False)
        for name in sorted(map(str, dataset.variables)):
            values = dataset[name].to_numpy()
            digest.update(f"{node.path}/{name}{values.dtype.str}{values.shape}".encode())
            text = values.dtype.kind in "USO"
            digest.update("\n".join(map(str, values.ravel())).encode() if text else np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def write(idata: xr.DataTree, path: str | Path, *, inputs: Iterable[Path | str | None] = (), force: bool = False) -> Path:
    """Write a fit to NetCDF by the output policy (never over one of ``inputs``; a file the product did not write
    replaced only with ``force``), with the hashes of its arrays and of its attributes as they are now.

    The NetCDF file is made in memory and written as plain bytes, so a full disk fails as an ordinary write error
    (HDF5 writing to a full disk crashed the process). The arrays are hashed as NetCDF gives them back (the tree
    is serialised once and read), since writing changes some of them: nutpie's per-draw divergence messages, None
    where a draw did not diverge, come back as NaN, and text comes back in fixed width.
    """
    check_outputs([path], inputs, force)  # before the serialising, which takes a while for a large fit
    with xr.open_datatree(io.BytesIO(idata.to_netcdf())) as written:
        idata.attrs["content_sha256"] = content_sha256(written.load())
    idata.attrs["config_sha256"] = config_sha256(idata.attrs)
    return write_bytes_atomically(path, idata.to_netcdf(), inputs=inputs, force=force)


def _declared_bytes(idata: xr.DataTree) -> int:
    """How many bytes the file's arrays take once read, from its metadata alone (nothing read yet)."""
    return sum(variable.dtype.itemsize * variable.size for node in idata.subtree
               for variable in node.to_dataset(inherit=False).variables.values())


def read(path: str | Path) -> xr.DataTree:
    """Open a fit written by :func:`write`, refused with one line unless it is of a kind and format this
    version reads and its attributes match their hash (the kind's own checks: ``Fitted.from_tree``)."""
    path = Path(path)
    try:
        if stat.S_ISDIR(os.stat(path).st_mode):
            raise InputError(f"{path}: is a folder, not a saved fit")
    except OSError as err:  # missing, a symbolic-link loop, unreadable: said before any library guesses at it
        raise InputError(f"{path}: {err.strerror.lower() if err.strerror else err}") from None
    try:
        idata = xr.open_datatree(path)  # what ArviZ's from_netcdf calls, without importing ArviZ; lazy until load
        size = _declared_bytes(idata)
        if size <= MAX_FIT_BYTES:
            idata = idata.load()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
        raise InputError(f"{path}: not a NetCDF fit written by scaling-forecast ({type(err).__name__})") from None
    if size > MAX_FIT_BYTES:
        idata.close()
        raise InputError(f"{path}: declares {size / 1024**3:.1f} GiB of arrays, more than a saved fit holds (at most "
                         f"{MAX_FIT_BYTES / 1024**3:.0f} GiB is read): not a fit written by scaling-forecast")
    problem = _header_problem(idata.attrs)
    if problem:
        raise InputError(f"{path}: {problem}")
    if idata.attrs.get("fit_format", 1) >= CONTENT_HASHED_FROM and idata.attrs.get("content_sha256") != content_sha256(idata):
        raise InputError(f"{path}: its arrays (posterior, sample statistics or runs) do not match their hash "
                         "(content_sha256): the file was edited or damaged after fitting; fit again")
    if "runs" in idata.children and idata.attrs.get("fit_format", 1) < RUN_GROUPS_FROM:
        runs = idata["runs"].to_dataset()
        idata = idata.copy()
        del idata["runs"]
        idata["constant_data"] = xr.DataTree(runs.drop_vars("loss"))
        idata["observed_data"] = xr.DataTree(xr.Dataset({"log_loss": np.log(runs["loss"])}))
    return idata


def _header_problem(attrs: dict) -> str | None:
    if "kind" not in attrs and "law" not in attrs:
        return "not a fit written by scaling-forecast (no kind or law attribute)"
    kind = attrs.get("kind", "single")
    if kind not in KINDS:
        return f"a fit of unknown kind {kind!r} (this version reads {', '.join(map(repr, KINDS))})"
    written = attrs.get("fit_format", 1)
    if not isinstance(written, (int, np.integer)) or written > FIT_FORMAT:
        return (f"fit format {written} (scaling-forecast {attrs.get('package_version', '?')}); this version reads "
                f"format {FIT_FORMAT} and older: upgrade scaling-forecast or fit again")
    if written >= HASHED_FROM and attrs.get("config_sha256") != config_sha256(attrs):
        return "its attributes do not match their hash (config_sha256): the file was edited after fitting; fit again"
    return None


def law_fit_problem(idata: xr.DataTree, sampled: bool) -> str | None:
    """Why a DataTree is not a complete, sane law fit, in one sentence, or None; ``sampled``: the law's own
    sampled variables must be in the posterior too (a law fitted alone; a pooled fit samples others)."""
    attrs = idata.attrs
    if "law" not in attrs or not {"constant_data", "observed_data"} <= set(idata.children):
        return "not a law fit written by scaling-forecast (no law attribute, or no constant_data and observed_data)"
    if attrs["law"] not in laws.LAWS:
        return f"unknown law {attrs['law']!r} (known: {', '.join(laws.LAWS)})"
    missing = [name for name in TEXT_ATTRS + JSON_ATTRS if name not in attrs]
    if missing:
        return f"incomplete fit: attribute {missing[0]!r} missing"
    for name in JSON_ATTRS:
        try:
            if not isinstance(json.loads(attrs[name]), dict):
                raise ValueError
        except (TypeError, ValueError):
            return f"attribute {name!r} is not a JSON object; the file was edited or damaged: fit again"
    observed = idata["observed_data"].to_dataset()
    if "log_loss" not in observed.data_vars:
        return "observed_data lacks log_loss: not a complete fit"
    log_loss = observed["log_loss"]  # exp of the numbers: a ufunc on a DataArray imports dask
    table = idata["constant_data"].to_dataset().assign(loss=(log_loss.dims, np.exp(log_loss.to_numpy())))
    return _posterior_problem(idata, laws.get(attrs["law"]), sampled) or _runs_problem(table)


def _posterior_problem(idata: xr.DataTree, law: laws.Law, sampled: bool) -> str | None:
    for group in ("posterior", "sample_stats"):
        if group not in idata.children:
            return f"no {group} group: not a complete fit"
    posterior = idata["posterior"].to_dataset()
    needed = tuple(dict.fromkeys(law.curve_vars + ("sigma", "nu") + (law.free_vars if sampled else ())))
    missing = [name for name in needed if name not in posterior.data_vars]
    if missing:
        return (f"the posterior lacks {', '.join(missing)}, which the {law.name} law needs "
                "(is the law attribute right?)")
    if "diverging" not in idata["sample_stats"].data_vars:
        return "sample_stats lacks 'diverging': not a complete fit"
    for name in needed:
        values = posterior[name]
        if values.dims != ("chain", "draw") or values.size == 0:
            return f"posterior variable {name!r} has dimensions {values.dims} of sizes {values.shape}, not (chain, draw)"
        array = values.to_numpy()
        if not np.isfinite(array).all():
            return f"posterior variable {name!r} holds {int((~np.isfinite(array)).sum())} non-finite values"
        # Log-scale variables are any real number; every other one (exponents, floors, scales, nu) is positive.
        if not name.startswith("log_") and not (array > 0).all():
            return f"posterior variable {name!r} holds {int((array <= 0).sum())} values <= 0, outside its support"
    return None


def _runs_problem(table: xr.Dataset) -> str | None:
    if table.sizes.get("run", 0) == 0:
        return "no runs in constant_data and observed_data: a fit needs the runs it was fitted to"
    missing = [c for c in ("family", "params", "tokens", "compute", "loss", "loss_kind") if c not in table.data_vars]
    if missing:
        return f"the fitted runs lack {', '.join(missing)} (constant_data and observed_data's log_loss)"
    for column in RUN_NUMBERS:
        for i, value in enumerate(table[column].to_numpy()):
            if problem := runs.value_problem(column, float(value)):
                return f"run {i} of the fitted runs: {problem}"
    return None
