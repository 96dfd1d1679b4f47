"""The HTML report of a fitted law, from real fits (converged and genuinely unconverged)."""

import base64
import html
import re

import numpy as np
import pytest

from scaling_forecast.core.errors import InputError
from scaling_forecast.fitting.settings import RunSelection, SamplerSettings
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.inputs import runs
from scaling_forecast.inputs.isoflop import isoflop_budgets
from scaling_forecast.reporting.fit_page import FORECAST_MODELS, describe_selection, write_report
from scaling_forecast.reporting.pages import BANNER_ID

FIGURES = 6  # data, IsoFLOP curves, size curves, residuals, posteriors, beyond the data
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _fit(sampler: SamplerSettings = SamplerSettings()) -> ScalingLawFit:
    table, name, digest = runs.load_runs(dataset="chinchilla-epoch")
    return ScalingLawFit.fit(table, source=name, source_sha256=digest, selection=RunSelection(drop_highest_loss=5),
                             sampler=sampler, progress=False)


@pytest.fixture(scope="session")
def converged_fit(chinchilla_epoch_fit) -> ScalingLawFit:
    return chinchilla_epoch_fit


@pytest.fixture(scope="module")
def unconverged_fit(mirror) -> ScalingLawFit:
    # 100 tuning steps and 2 x 100 draws: too short to mix (R-hat 1.05, bulk ESS ~50 with this seed).
    return _fit(SamplerSettings(draws=100, tune=100, chains=2))


@pytest.fixture(scope="module")
def converged_html(converged_fit, tmp_path_factory) -> str:
    path = write_report(converged_fit, tmp_path_factory.mktemp("report") / "sub" / "report.html")
    assert path.is_file()
    return path.read_text(encoding="utf-8")


def _images(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)]


@pytest.mark.needs_data
def test_report_is_self_contained_with_embedded_figures(converged_html):
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", converged_html, re.IGNORECASE)
    assert "url(" not in converged_html and "<script" not in converged_html and "<link" not in converged_html
    images = _images(converged_html)
    assert len(images) == FIGURES == converged_html.count("<img ")
    assert all(image.startswith(PNG_MAGIC) and len(image) > 10_000 for image in images)


@pytest.mark.needs_data
def test_report_states_provenance_models_and_no_banner_when_converged(converged_fit, converged_html):
    assert converged_fit.diagnostics.converged, converged_fit.diagnostics.problems()
    attrs = converged_fit.attrs
    assert len(attrs["dataset_sha256"]) == 64 and attrs["dataset_sha256"] in converged_html
    assert html.escape(attrs["law_formula"]) in converged_html
    assert "240 (5 highest-loss runs dropped)" in converged_html
    assert str(attrs["seed"]) in converged_html and attrs["package_version"] in converged_html
    for model in FORECAST_MODELS:
        assert f"<td>{html.escape(model)}</td>" in converged_html
    assert "so this is not their actual loss" in converged_html
    assert "Hoffmann et al. 2022" in converged_html and "Besiroglu et al. 2024" in converged_html
    assert BANNER_ID not in converged_html and "not converged" not in converged_html.lower()
    assert "Converged: <strong>yes" in converged_html


@pytest.mark.needs_data
def test_report_uses_the_requested_interval_level(converged_fit, tmp_path):
    text = write_report(converged_fit, tmp_path / "r80.html", level=0.8).read_text(encoding="utf-8")
    assert "80% credible interval" in text and "80% predictive interval" in text
    assert "90%" not in text
    with pytest.raises(InputError, match="level=90 is at or above 1"):
        write_report(converged_fit, tmp_path / "bad.html", level=90)


@pytest.mark.needs_data
def test_banner_names_failed_diagnostics_of_an_unconverged_fit(unconverged_fit, tmp_path):
    diagnostics = unconverged_fit.diagnostics
    assert not diagnostics.converged
    assert diagnostics.r_hat_max > 1.01  # chains disagree, not merely too few draws
    text = write_report(unconverged_fit, tmp_path / "report.html").read_text(encoding="utf-8")
    body = text.split("</h1>", 1)[1]  # the banner comes right under the title
    assert body.lstrip().startswith(f'<div class="banner" id="{BANNER_ID}">')
    assert "NOT CONVERGED" in body and "are not results" in body
    for problem in diagnostics.problems():
        assert html.escape(problem) in body
    assert len(_images(text)) == FIGURES


def test_isoflop_budgets_recover_scattered_nominal_budgets():
    rng = np.random.default_rng(3)
    nominal = np.array([6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21])
    compute = np.repeat(nominal, 20) * 10 ** rng.normal(0, 0.02, size=nominal.size * 20)
    stray = np.array([1.5e18, 1.3e22])  # isolated runs get no group
    budgets = isoflop_budgets(np.concatenate([compute, stray]))
    assert len(budgets.compute) == nominal.size and (budgets.counts == 20).all()
    np.testing.assert_allclose(np.log10(budgets.compute), np.log10(nominal), atol=0.02)
    assert budgets.ungrouped == 2 and (budgets.labels[-2:] == -1).all()
    # every run of one nominal budget lands in the same group
    assert all(len(set(budgets.labels[k * 20 : (k + 1) * 20])) == 1 for k in range(nominal.size))


def test_describe_selection():
    assert describe_selection({"families": [], "loss_kinds": [], "compute_min": None, "compute_max": None,
                               "drop_highest_loss": 0}) == "all runs"
    assert describe_selection({"families": ["chinchilla"], "compute_min": 1e19, "drop_highest_loss": 5}) == (
        "families chinchilla; compute ≥ 1e+19 FLOP; 5 highest-loss runs dropped"
    )


@pytest.mark.needs_data
def test_the_report_leads_with_the_answer(converged_html):
    """Title, headline numbers and forecasts first; then figures; diagnostics and provenance (priors as a table)
    last; and the residuals say in words how the largest runs sit."""
    order = ["<h1>Scaling-law fit: chinchilla law on chinchilla-epoch</h1>", "<h2>In short</h2>",
             "<h2>Forecasts for published model sizes</h2>", "<h2>Compute-optimal allocation</h2>", "<img ",
             "<h2>Diagnostics</h2>", "<h2>What was fitted (provenance)</h2>"]
    positions = [converged_html.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert ">sigma_scale</td>" in converged_html and '{"sigma_scale"' not in converged_html
    assert re.search(r"The 8 largest runs: \d above and \d below their interval|of the 8 largest runs lie", converged_html)


@pytest.mark.needs_data
def test_published_constants_appear_only_beside_fits_of_their_own_data(converged_fit):
    """Hoffmann's and Besiroglu's constants were fitted to the runs chinchilla-epoch digitises; beside a fit of
    other runs they are not comparable constant by constant, and the report leaves them out."""
    from scaling_forecast.reporting.fit_summary import same_data_references

    assert [label for label, _ in same_data_references(converged_fit)] == [
        label for label, _, _ in converged_fit.law.references]
    other = ScalingLawFit(converged_fit.idata.copy())
    other.idata.attrs["dataset"] = "my_runs.csv"
    assert same_data_references(other) == []


@pytest.mark.needs_data
@pytest.mark.parametrize("fmt, magic", [("png", PNG_MAGIC), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_report_figures_as_files(converged_fit, tmp_path, fmt, magic):
    from scaling_forecast.reporting.fit_page import write_figures

    paths = write_figures(converged_fit, tmp_path / "figures", fmt=fmt, dpi=150)
    assert len(paths) == FIGURES and [p.name[:3] for p in paths] == [f"{i:02d}-" for i in range(1, FIGURES + 1)]
    assert all(p.suffix == f".{fmt}" and p.read_bytes().startswith(magic) and p.stat().st_size > 5_000 for p in paths)


@pytest.mark.needs_data
def test_a_report_on_ones_own_runs_is_written_for_them(tmp_path):
    """A user's ladder of runs at a few tokens-per-parameter ratios forms no IsoFLOP budgets: the report draws
    no budget curves and says nothing of digitised compute, and sets no published constants (fitted to other
    data) beside the posterior."""
    sizes = np.logspace(7, 7.8, 12)
    lines = ["params,tokens,loss"] + [f"{n:.4g},{k * n:.4g},{2.0 + 3.0 * (n / 1e7) ** -0.3 + 0.5 * (k * n / 1e8) ** -0.28:.4f}"
                                      for n in sizes for k in (10, 20, 40)]
    (tmp_path / "mine.csv").write_text("\n".join(lines) + "\n")
    table, name, digest = runs.load_runs(runs_file=tmp_path / "mine.csv")
    fitted = ScalingLawFit.fit(table, source=name, source_sha256=digest, sampler=SamplerSettings(draws=300),
                               progress=False)
    text = write_report(fitted, tmp_path / "mine.html").read_text(encoding="utf-8")
    assert "Fitted curves by compute budget" not in text and "digitised" not in text
    assert "Hoffmann et al." not in text and "Besiroglu" not in text
    assert "no published fit of this law on these data" in text and len(_images(text)) == FIGURES - 1
