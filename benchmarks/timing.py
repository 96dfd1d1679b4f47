"""Wall times of repeated calls, shared by the benchmark scripts (run from the repository root)."""

import time


def repeat_times(function, repeats: int) -> list[float]:
    """Seconds taken by each of ``repeats`` calls of ``function``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times
