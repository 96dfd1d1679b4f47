"""A fit killed (SIGKILL) while it runs or writes leaves the previous saved fit intact and loadable."""

import os
import signal
import subprocess
import sys
import time

import pytest

from scaling_forecast.fitting.single import ScalingLawFit


@pytest.mark.needs_data
def test_killing_a_fit_never_harms_the_previous_file(mirror, tmp_path):
    out = tmp_path / "fit.nc"
    command = [sys.executable, "-m", "scaling_forecast", "fit", "--dataset", "gemstones", "--out", str(out), "--draws", "200",
               "--tune", "200"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert first.returncode in (0, 3), first.stderr
    before = out.read_bytes()
    # Kill at several moments: while importing, compiling, sampling and (the last ones) around the write.
    for delay in (1.0, 4.0, 6.0, 7.0, 8.0):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        current = out.read_bytes()
        # Either the old file or, if the rename already happened, a complete new one: never a partial file.
        assert current == before or len(ScalingLawFit.load(out).runs) > 0
        before = current
    assert len(ScalingLawFit.load(out).runs) > 0
