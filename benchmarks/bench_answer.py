"""Answers from a saved fit, each a new process from start to last line, against starting Python with numpy and pandas.

    SCALING_FORECAST_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_answer.py [--repeats 5] [--before REV]

One Chinchilla-law fit of chinchilla-epoch (5 highest-loss runs dropped, the main job's) is saved first. Then,
medians of --repeats fresh processes each: `predict` of one point (Chinchilla's N and D), `allocate` of one
budget, and the main job's `plan` (five questions, page written). The baseline, `python -c 'import numpy,
pandas'`, is the floor of any answer in a new process. With --before REV the same commands also run with the
package as commit REV had it (its folders put ahead of the installed package on the path), in the same run.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import measured, package_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", help="a commit to time the same commands with, for a before/after table")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    fit = str(folder / "fit.nc")
    subprocess.run([sys.executable, "-m", "scaling_forecast", "fit", "--dataset", "chinchilla-epoch",
                    "--drop-highest-loss", "5", "--out", fit], check=True, capture_output=True)
    command = [sys.executable, "-m", "scaling_forecast"]
    answers = {
        "predict, one point": ["predict", fit, "--params", "7e10", "--tokens", "1.4e12"],
        "allocate, one budget": ["allocate", fit, "--compute", "5.76e23"],
        "plan, the main job's five questions": ["plan", fit, "--params", "7e10", "--gpus", "1024", "--gpu", "H100",
                                                "--days", "30", "--target-loss", "1.9", "--inference-tokens", "2e13",
                                                "--unique-tokens", "3e11", "--compute", "5.76e23",
                                                "--out", str(folder / "plan.html")],
    }
    versions = {"now": {}} | ({f"at {args.before}": package_at(args.before)} if args.before else {})
    print(f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}; medians of {args.repeats} new processes")
    floor = statistics.median(measured([sys.executable, "-c", "import numpy, pandas"])[0] for _ in range(args.repeats))
    print(f"  {'baseline: import numpy, pandas':<50} {floor:6.2f} s")
    for name, arguments in answers.items():
        for version, env in versions.items():
            times = [measured(command + arguments, env)[0] for _ in range(args.repeats)]
            seconds = statistics.median(times)
            print(f"  {name + ' (' + version + ')':<50} {seconds:6.2f} s  ratio to baseline {seconds / floor:5.1f}  "
                  f"(min {min(times):.2f}, max {max(times):.2f})")


if __name__ == "__main__":
    main()
