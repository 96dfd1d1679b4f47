"""Every HTML page the product writes, opened in headless Chromium as a reader would: a title and a heading,
every image decoded, nothing wider than the window at 1280 and 820 px (wide tables scroll inside their own
box), no script or console errors. Screenshots go to results/screenshots/ (CI keeps them).

Needs Debian's ``chromium`` (``.ci/run`` installs it where it can; skipped, saying so, where none is found).
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

BROWSER = next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None)
CHECK = (Path(__file__).parent / "browser" / "check.js.html").read_text(encoding="utf-8")
SCREENSHOTS = Path(__file__).parents[1] / "results" / "screenshots"
WIDTHS = (1280, 820)

pytestmark = [pytest.mark.needs_data,
              pytest.mark.skipif(BROWSER is None, reason="no Chromium to open the pages: apt-get install chromium")]


def _chromium(*args: str) -> str:
    run = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
                         capture_output=True, text=True, timeout=120)
    return run.stdout


@pytest.fixture(scope="module")
def pages(chinchilla_epoch_fit, chinchilla_epoch_file, compare_run, backtest_run, tmp_path_factory) -> dict[str, Path]:
    """One page of each kind: the fit report, the plan, the data wall, the comparison and the backtest."""
    from scaling_forecast.cli import commands
    from scaling_forecast.reporting.fit_page import write_report

    folder = tmp_path_factory.mktemp("pages")
    plan = commands.plan(chinchilla_epoch_fit, (7e10,), (), {"gpus": 1024, "gpu": "H100", "days": 30, "mfu": None},
                         {"losses": (1.9,), "probabilities": (), "inference_tokens": 2e13},
                         {"tokens": (3e11,), "compute": 5.76e23}, 0.9, 0, folder / "plan.html")
    wall = commands.datawall(chinchilla_epoch_file, None, (), (), (1.0, 5.0), None, 0.8, 0, folder / "datawall.html")
    return {"report": write_report(chinchilla_epoch_fit, folder / "report.html"), "plan": plan.report,
            "datawall": wall.report, "compare": compare_run[1], "backtest": backtest_run[1]}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["report", "plan", "datawall", "compare", "backtest"])
def test_a_page_reads_well_in_a_browser(pages, name, width, tmp_path):
    checked = tmp_path / f"{name}.html"
    checked.write_text(pages[name].read_text(encoding="utf-8").replace("<head>", "<head>\n" + CHECK, 1), encoding="utf-8")
    dom = _chromium(f"--window-size={width},900", "--virtual-time-budget=10000", "--dump-dom", checked.as_uri())
    (found,) = re.findall(r'<pre id="browser-check">(.*?)</pre>', dom, re.DOTALL)
    found = json.loads(found.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    assert found["title"] and found["h1"], found
    assert found["images"] > 0 and found["broken"] == 0, found
    assert found["scrollWidth"] <= found["innerWidth"] and not found["wide"], found
    assert found["errors"] == [], found
    if width == WIDTHS[0]:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        _chromium(f"--window-size={width},2400", f"--screenshot={SCREENSHOTS / f'{name}.png'}", pages[name].as_uri())
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000
