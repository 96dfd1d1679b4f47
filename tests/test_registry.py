"""Where dataset files are read from, and that nothing unverified is read."""

import functools
import hashlib
import http.server
import shutil
import threading

import pytest

from scaling_forecast.core.errors import DataUnavailableError, InputError
from scaling_forecast.inputs import registry, runs

CHINCHILLA = "chinchilla_epoch_svg_extracted.csv"


def test_registry_entries_are_complete():
    names = set(registry.datasets())
    assert names == {
        "chinchilla-epoch", "datablations", "gadre-overtraining", "misfitting",
        "gemstones", "llama3-isoflops", "marin-isoflops", "steplaw-tuned", "notable-models",
    }
    for ds in registry.datasets().values():
        assert len(ds.commit) == 40 and ds.license and ds.citation and ds.units and ds.files
        assert all(len(f.sha256) == 64 for f in ds.files)
        assert ds.url(ds.files[0]).startswith(f"https://raw.githubusercontent.com/{ds.repository}/{ds.commit}/")
    assert len(registry.get("gadre-overtraining").files) == 104


def test_unknown_dataset_lists_known_names():
    with pytest.raises(InputError, match="unknown dataset 'nope'; known: chinchilla-epoch"):
        registry.get("nope")


@pytest.mark.needs_data
def test_mirror_file_with_wrong_hash_is_refused(mirror, tmp_path, monkeypatch, isolated_cache):
    fake = tmp_path / "mirror"
    fake.mkdir()
    (fake / CHINCHILLA).write_bytes((mirror / CHINCHILLA).read_bytes() + b"\n")
    monkeypatch.setenv(registry.MIRROR_ENV, str(fake))
    with pytest.raises(InputError, match=f"{CHINCHILLA}: SHA-256 .* does not match"):
        runs.load("chinchilla-epoch")


@pytest.mark.needs_data
def test_cache_is_used_when_the_mirror_lacks_a_file(mirror, tmp_path, monkeypatch, isolated_cache):
    monkeypatch.setenv(registry.MIRROR_ENV, str(tmp_path))  # an empty mirror
    dataset = registry.get("chinchilla-epoch")
    assert not registry.is_available_offline(dataset)
    isolated_cache.mkdir()
    shutil.copy(mirror / CHINCHILLA, isolated_cache / CHINCHILLA)
    assert registry.is_available_offline(dataset)
    assert registry.fetch(dataset) == [isolated_cache / CHINCHILLA]


@pytest.fixture
def upstream(tmp_path, monkeypatch):
    """A local HTTP server standing in for the upstream host, laid out as repository/commit/path."""
    root = tmp_path / "upstream"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(registry, "RAW_URL", f"http://127.0.0.1:{server.server_port}/{{repository}}/{{commit}}/{{path}}")
    monkeypatch.delenv(registry.MIRROR_ENV, raising=False)
    yield root
    server.shutdown()


def _serve(root, dataset, content: bytes):
    file = dataset.files[0]
    target = root / dataset.repository / dataset.commit / file.path
    target.parent.mkdir(parents=True)
    target.write_bytes(content)


@pytest.mark.needs_data
def test_download_is_verified_and_cached(mirror, upstream, isolated_cache):
    dataset = registry.get("chinchilla-epoch")
    content = (mirror / CHINCHILLA).read_bytes()
    _serve(upstream, dataset, content)
    assert len(runs.load("chinchilla-epoch")) == 245
    cached = isolated_cache / CHINCHILLA
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == dataset.files[0].sha256
    assert registry.is_available_offline(dataset)


@pytest.mark.needs_data
def test_download_with_wrong_hash_is_refused(mirror, upstream, isolated_cache):
    dataset = registry.get("chinchilla-epoch")
    _serve(upstream, dataset, (mirror / CHINCHILLA).read_bytes().replace(b"5.0055", b"5.0056"))
    with pytest.raises(InputError, match="failed its SHA-256 check"):
        runs.load("chinchilla-epoch")
    assert not (isolated_cache / CHINCHILLA).exists()


def test_unreachable_upstream_says_where_it_looked(upstream, isolated_cache):
    with pytest.raises(DataUnavailableError, match="is not in the mirror .* could not be downloaded"):
        runs.load("chinchilla-epoch")
