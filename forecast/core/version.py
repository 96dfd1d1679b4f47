"""The installed package's version, read once: written into every saved fit and every cache key."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scaling-forecast")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
