"""Golden outputs: what the main job's commands print, kept in tests/golden/ and compared line by line.

The numbers come from posteriors sampled with a fixed seed: bit-identical on one machine, but another
machine's compiled model rounds differently and its chains are a different Monte Carlo sample of the same
posterior. So by default (any machine) the words and layout must match and the numbers agree within 10% or
0.03 absolute: the main job run with another seed (``--seed 7`` for report, compare and datawall, all else
equal) moved no number further, the largest moves being tail quantiles of the data wall's epochs (8.5%) and
sensitivity shares (0.006). That run also showed what a new sample may change besides numbers, and so
what is allowed here: lines whose order follows close numbers (the sensitivity ranking) may swap, and a
law may gain or lose a count of runs with Pareto k > 0.7; the sampler's diagnostics (R-hat, ESS, BFMI,
Pareto k) are not compared.

SCALING_FORECAST_GOLDEN=exact: every line must match exactly (this machine, after a refactoring).
SCALING_FORECAST_GOLDEN=update: rewrite the golden files from this run (then review the diff).
"""

import math
import os
import re
from collections import Counter
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?%?", re.IGNORECASE)
DIAGNOSTIC = re.compile(r"r[-_ ]?hat|\bess|bfmi|pareto", re.IGNORECASE)
PARETO_FLAG = re.compile(r"; \d+ runs with Pareto k > 0\.7")
RELATIVE, ABSOLUTE = 0.10, 0.03


def normalise(text: str, paths: dict[str, str | Path]) -> str:
    """``text`` with each of ``paths``' values replaced by its key (machine-specific folders)."""
    for key, path in sorted(paths.items(), key=lambda kv: -len(str(kv[1]))):
        text = text.replace(str(path), key)
    return text


def _skeleton(line: str) -> str:
    return NUMBER.sub("#", PARETO_FLAG.sub("", line))


def _close(got: str, want: str) -> bool:
    a, b = float(got.rstrip("%")), float(want.rstrip("%"))
    return math.isclose(a, b, rel_tol=RELATIVE, abs_tol=ABSOLUTE)


def check(name: str, text: str) -> None:
    """Assert that ``text`` matches tests/golden/<name>.txt (see the module docstring for what matches)."""
    path = GOLDEN / f"{name}.txt"
    mode = os.environ.get("SCALING_FORECAST_GOLDEN", "")
    if mode == "update":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    got, want = text.splitlines(), path.read_text(encoding="utf-8").splitlines()
    if mode == "exact":
        for i, (line, golden) in enumerate(zip(got, want), 1):
            assert line == golden, f"{name}:{i}:\n  got    {line}\n  golden {golden}"
        assert len(got) == len(want), f"{name}: {len(got)} lines, golden {len(want)}"
        return
    extra = Counter(map(_skeleton, got)) - Counter(map(_skeleton, want))
    missing = Counter(map(_skeleton, want)) - Counter(map(_skeleton, got))
    assert not extra and not missing, f"{name}: lines not in the golden copy {list(extra)}; missing {list(missing)}"
    for i, (line, golden) in enumerate(zip(got, want), 1):
        if _skeleton(line) == _skeleton(golden) and not DIAGNOSTIC.search(line):
            pairs = zip(NUMBER.findall(line), NUMBER.findall(golden))
            assert all(_close(g, w) for g, w in pairs), f"{name}:{i}:\n  got    {line}\n  golden {golden}"
