"""The command line (``scaling-forecast``): parses options, calls the engine and prints its answers through
:mod:`scaling_forecast.reporting`. The Python API (:mod:`scaling_forecast.api`) stands beside it, not on it."""
