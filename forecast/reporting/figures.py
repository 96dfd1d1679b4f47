"""What every figure shares: a matplotlib Figure on the Agg canvas (no pyplot state), axis labels, bands,
colours, legends, and the PNG that pages embed. Figures draw results; they compute nothing."""

import base64
import io

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from scaling_forecast.reporting.curves import Band

LOSS_LABEL = "loss (nats/token)"
N_LABEL = "N, model size (parameters)"
D_LABEL = "D, training data (tokens)"
C_LABEL = "C = 6ND, training compute (FLOP)"


def figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_base64(fig: Figure, dpi: int = 100) -> str:
    """The figure as a base64 PNG (for a data: URI)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buffer, format="png", dpi=dpi)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def draw_band(ax, band: Band, colour, label: str | None = None, *, alpha: float = 0.3, linewidth: float = 1.3) -> None:
    """The band's interval shaded and its median as a line."""
    ax.fill_between(band.x, band.lo, band.hi, color=colour, alpha=alpha, linewidth=0)
    ax.plot(band.x, band.median, color=colour, linewidth=linewidth, label=label)


def colours(values: np.ndarray) -> list:
    """One colour of the plasma map per value, spread over the values' range."""
    if values.size == 0:
        return []
    norm = Normalize(values.min(), values.max() if values.max() > values.min() else values.min() + 1)
    cmap = colormaps["plasma"]
    return [cmap(0.85 * norm(v)) for v in values]


def outside_legend(ax, title: str) -> None:
    ax.legend(title=title, fontsize=7, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
