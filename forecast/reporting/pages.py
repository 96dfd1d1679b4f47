"""What every HTML page of the product shares: the style sheet, the page frame, sections with a figure,
tables, numbers as text, and escaping.

Pages are self-contained (inline style, figures as base64 PNGs), so one file can be mailed or archived
and opened offline; each carries the generator line by which the product recognises its own files.
"""

import html
from pathlib import Path

import numpy as np

from scaling_forecast.core.files import GENERATOR_META, write_atomically

from .figures import png_base64

BANNER_ID = "not-converged"

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1150px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; display: block; overflow-x: auto;
        max-width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; display: block; margin: 0.6em 0; }
.caption { color: #444; font-size: 0.9em; max-width: 60em; }
.banner { background: #b00020; color: #fff; padding: 1em 1.2em; font-size: 1.1em; border-radius: 4px; }
.banner ul { margin: 0.4em 0 0 0; }
.warn { color: #b00020; font-weight: bold; }
code { background: #f3f3f3; padding: 0 0.2em; }
"""


def page(title: str, sections: list[str]) -> str:
    """A self-contained HTML page: ``title`` as its title and heading, then the (non-empty) ``sections``."""
    return (
        f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n{GENERATOR_META}\n"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{escape(title)}</h1>\n"
        + "\n".join(s for s in sections if s)
        + "\n</body>\n</html>\n"
    )


def write_page(path: str | Path, text: str, *, force: bool = False) -> Path:
    """Write a page (from :func:`page`) to ``path`` by the output policy (``force``: replace a file the product
    did not write); the path written."""
    return write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), force=force)


def banner(heading: str, problems: list[str], note: str = "") -> str:
    """The red block that opens a page whose numbers rest on fits that failed their diagnostics: ``heading``
    (bold), ``note`` (HTML) and one item per problem; empty when there are none."""
    if not problems:
        return ""
    items = "".join(f"<li>{escape(p)}</li>" for p in problems)
    return f'<div class="banner" id="{BANNER_ID}"><strong>{escape(heading)}</strong>{note}<ul>{items}</ul></div>'


def escape(value) -> str:
    """Any value as HTML text."""
    return html.escape(str(value))


def section(title: str, fig, caption: str) -> str:
    """A titled figure (embedded as PNG) with its caption (already HTML)."""
    image = png_base64(fig)
    return (
        f"<h2>{escape(title)}</h2>\n<img alt=\"{escape(title)}\" src=\"data:image/png;base64,{image}\">\n"
        f'<p class="caption">{caption}</p>'
    )


def html_table(header: list[str], rows: list[list[str]]) -> str:
    """A table of already-formatted cells (numbers right-aligned)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="num">{c}</td>' for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def number(value: float) -> str:
    """Four significant figures, without scientific notation for ordinary magnitudes."""
    value = float(value)
    if not np.isfinite(value):
        return escape(value)
    return f"{value:.4g}" if 1e-3 <= abs(value) < 1e5 else f"{value:.3e}"
