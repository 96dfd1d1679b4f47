"""The dataset registry (``data/registry.toml``) and where each file is read from.

A file is looked for, in order: in the local mirror directory named by
``SCALING_FORECAST_DATA_DIR``, in the user cache, and else downloaded from its
pinned upstream commit into the cache. Every file is checked against its
SHA-256 before anything reads it; a mismatch is an error naming the file.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pooch

from scaling_forecast.core.errors import DataUnavailableError, InputError
from scaling_forecast.core.files import cache_dir

MIRROR_ENV = "SCALING_FORECAST_DATA_DIR"
RAW_URL = "https://raw.githubusercontent.com/{repository}/{commit}/{path}"


@dataclass(frozen=True)
class DataFile:
    """One upstream file: its path in the repository, in a mirror, and its hash."""

    path: str
    mirror: str
    sha256: str


@dataclass(frozen=True)
class Dataset:
    """A registered public dataset."""

    name: str
    title: str
    kind: str  # "runs" (training runs with losses) or "models" (notable models)
    parser: str
    license: str
    citation: str
    notes: str
    repository: str
    commit: str
    files: tuple[DataFile, ...]
    units: dict[str, str]

    @property
    def holds_runs(self) -> bool:
        """A run collection (losses of training runs), not a table of notable models."""
        return self.kind == "runs"

    def url(self, file: DataFile) -> str:
        """Raw download address of ``file`` at the pinned commit."""
        return RAW_URL.format(repository=self.repository, commit=self.commit, path=file.path)


@functools.cache
def datasets() -> dict[str, Dataset]:
    """All registered datasets by name, in registry order."""
    raw = tomllib.loads(files("scaling_forecast.data").joinpath("registry.toml").read_text(encoding="utf-8"))
    return {
        name: Dataset(
            name=name,
            **{k: v for k, v in entry.items() if k not in ("files", "units")},
            files=tuple(DataFile(**f) for f in entry["files"]),
            units=dict(entry["units"]),
        )
        for name, entry in raw["datasets"].items()
    }


def get(name: str) -> Dataset:
    """The dataset called ``name``; an :class:`InputError` lists the known names."""
    try:
        return datasets()[name]
    except KeyError:
        raise InputError(f"unknown dataset {name!r}; known: {', '.join(datasets())}") from None


def mirror_dir() -> Path | None:
    """The local mirror directory, if the environment names one."""
    value = os.environ.get(MIRROR_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise InputError(f"{MIRROR_ENV}={value}: not a directory")
    return path


def cache_key(inputs: dict) -> str:
    """A short hash of everything a cached result depends on (JSON-able): a change to any of it means a new key."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, file: DataFile) -> Path:
    actual = _sha256(path)
    if actual != file.sha256:
        raise InputError(f"{path}: SHA-256 {actual} does not match the registry's {file.sha256}; refusing to read it")
    return path


def local_path(file: DataFile) -> Path | None:
    """Where ``file`` already is on this machine (mirror first, then cache), unverified."""
    mirror = mirror_dir()
    for root in ([mirror] if mirror else []) + [cache_dir()]:
        candidate = root / file.mirror
        if candidate.is_file():
            return candidate
    return None


def is_available_offline(dataset: Dataset) -> bool:
    """True when every file of ``dataset`` is in the mirror or the cache."""
    return all(local_path(f) is not None for f in dataset.files)


def fetch(dataset: Dataset) -> list[Path]:
    """Verified local paths of all files of ``dataset``, downloading what is missing."""
    paths = []
    for file in dataset.files:
        path = local_path(file)
        if path is None:
            path = _download(dataset, file)
        paths.append(_verified(path, file))
    return paths


def _download(dataset: Dataset, file: DataFile) -> Path:
    target = cache_dir() / file.mirror
    try:
        return Path(
            pooch.retrieve(
                dataset.url(file),
                known_hash=f"sha256:{file.sha256}",
                fname=target.name,
                path=target.parent,
                progressbar=False,
            )
        )
    except ValueError as err:  # pooch's hash mismatch
        raise InputError(f"{dataset.url(file)}: downloaded file failed its SHA-256 check ({err})") from None
    except Exception as err:  # network errors come in many types; all mean the same to the user
        raise DataUnavailableError(
            f"dataset {dataset.name!r}: {file.mirror} is not in the mirror ({MIRROR_ENV}) or cache "
            f"({cache_dir()}) and could not be downloaded from {dataset.url(file)}: {type(err).__name__}"
        ) from None
