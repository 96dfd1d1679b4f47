"""The main job's outputs against their golden copies (tests/golden.py says what must match).

The commands are read from the Makefile's ``run`` recipe, so this is what ``make run`` prints; predict,
allocate and plan are also run with ``--json`` (compare's and datawall's JSON are checked in test_compare.py
and test_datawall.py, which run them anyway).
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from golden import check, normalise

MAKEFILE = Path(__file__).parents[1] / "Makefile"
JSON_TOO = ("predict", "allocate", "plan")


def main_job(results: Path) -> list[list[str]]:
    """The arguments of each scaling-forecast command of ``make run``, with its variables filled in."""
    text = MAKEFILE.read_text(encoding="utf-8")
    variables = dict(re.findall(r"^(\w+) \??= (.*)$", text, re.MULTILINE)) | {"RESULTS": str(results)}
    recipe = text.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    commands = []
    for line in recipe.splitlines():
        if "scaling-forecast" in line:
            line = re.sub(r"\$\((\w+)\)", lambda m: variables[m.group(1)], line)
            commands.append(shlex.split(line)[1:])
    return commands


def machine_paths(results: Path) -> dict[str, str]:
    """Folders that differ between machines, by the placeholder the golden files use."""
    from scaling_forecast.core.files import cache_dir

    return {"<results>": str(results), "<mirror>": os.environ["SCALING_FORECAST_DATA_DIR"],
            "<cache>": str(cache_dir())}


@pytest.mark.needs_data
@pytest.mark.slow
def test_make_run_prints_what_it_printed_before(mirror, tmp_path):
    results = tmp_path / "results"
    commands = main_job(results)
    assert [c[0] for c in commands] == ["data", "report", "predict", "allocate", "plan", "compare", "datawall"]
    for args in commands + [c + ["--json"] for c in commands if c[0] in JSON_TOO]:
        run = subprocess.run([sys.executable, "-m", "scaling_forecast", *args], capture_output=True, text=True,
                             timeout=900)
        assert run.returncode == 0, run.stderr
        name = "-".join(args[:2] if args[0] == "data" else args[:1]) + ("-json" if "--json" in args else "")
        check(name, normalise(f"--- stdout\n{run.stdout}--- stderr\n{run.stderr}", machine_paths(results)))


def test_the_readme_sample_output_is_the_main_jobs():
    """The README's sample forecast is the main job's own output (the golden copy, which the test above checks
    against the real command), line for line."""
    readme = (MAKEFILE.parent / "README.md").read_text(encoding="utf-8")
    sample = readme.split("Forecasts look like", 1)[1].split("```", 2)[1].strip().splitlines()
    printed = (Path(__file__).parent / "golden" / "predict.txt").read_text(encoding="utf-8").splitlines()
    assert len(sample) >= 2 and all(line in printed for line in sample), sample
