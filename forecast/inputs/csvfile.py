"""Reading user CSV files strictly: every problem named by file, line and reason.

Shared by every reader of user files (runs, forecast grids), so they refuse
the same things in the same words.
"""

import csv
import io
import math
import unicodedata
from pathlib import Path

from scaling_forecast.core.errors import InputError

# A run file of 100,000 runs is about 5 MB and a grid of a million points about 20 MB: a file beyond this is not
# one of ours (or is endless, as /dev/zero), and is refused after reading no more than this.
MAX_INPUT_BYTES = 256 * 1024**2
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_text(path: Path) -> str:
    """A user's text file as UTF-8 (a BOM allowed), read with a size cap; refused in one line when it is missing,
    a folder, larger than ``MAX_INPUT_BYTES`` or endless, UTF-16 (with or without a BOM) or not UTF-8."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder; expected a CSV file") from None
    if len(raw) > MAX_INPUT_BYTES:
        raise InputError(f"{path}: larger than {MAX_INPUT_BYTES // 1024**2} MB (or endless); "
                         "a run file or a grid is far smaller: check the file")
    head = raw[:4096]
    if head.startswith(UTF16_BOMS) or (len(head) >= 4 and head.count(b"\x00") >= len(head) // 4):
        raise InputError(f"{path}: UTF-16 text (NUL bytes between the characters); save the file as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[err.start]:02x}); save the file as UTF-8") from None


def read_rows(path: Path, *, required: tuple[str, ...], allowed: tuple[str, ...], renamed: dict[str, str] | None = None,
              extra: bool = False) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """Non-blank data rows as (line number, {column: text}), and row problems found so far.

    Unreadable files, empty files and header problems raise at once; ragged
    rows come back as problems so the caller can report them with its own.
    ``renamed`` ({our name: the file's}) reads the file's column under ours; with ``extra``, columns
    outside ``allowed`` come back too (the caller keeps them as metadata) instead of being refused.
    """
    lines, columns, problems = read_columns(path, required=required, allowed=allowed, renamed=renamed, extra=extra)
    return [(line, {c: cells[i] for c, cells in columns.items()}) for i, line in enumerate(lines)], problems


def read_columns(path: Path, *, required: tuple[str, ...], allowed: tuple[str, ...], renamed: dict[str, str] | None = None,
                 extra: bool = False) -> tuple[list[int], dict[str, list[str]], list[str]]:
    """Like :func:`read_rows`, column by column (line numbers, {column: texts}): large grids stay cheap."""
    text = read_text(path)
    if not text.strip():
        raise InputError(f"{path}: empty file; expected a header line naming at least {', '.join(required)}")

    # csv parses the line ends itself: str.splitlines would also split a quoted cell at U+2028 or U+0085.
    reader = _Cells(path, csv.reader(io.StringIO(text, newline="")))
    header = [h.strip() for h in next(reader)]
    header_problems = [f"--columns {ours}={theirs}: the header has no column {theirs!r} (header: {','.join(header)})"
                       for ours, theirs in (renamed or {}).items() if theirs not in header]
    if header_problems:
        raise InputError("\n".join(f"{path}:1: {p}" for p in header_problems))
    theirs_to_ours = {theirs: ours for ours, theirs in (renamed or {}).items()}
    header = [theirs_to_ours.get(h, h) for h in header]
    if not extra:
        header_problems = [f"unknown column {c!r} (allowed: {', '.join(allowed)})" for c in header if c not in allowed]
    header_problems += [f"column {c!r} appears more than once" for c in dict.fromkeys(header) if header.count(c) > 1]
    header_problems += [f"missing required column {c!r} (header: {','.join(header)})" for c in required if c not in header]
    if header_problems:
        raise InputError("\n".join(f"{path}:1: {p}" for p in header_problems))

    lines, columns, problems = [], {c: [] for c in header}, []
    cells = list(columns.values())
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue  # a blank line holds no data
        if len(fields) != len(header):
            problems.append(f"{path}:{line}: {len(fields)} fields, but the header has {len(header)}")
            continue
        joined = "".join(fields)
        if not joined.isprintable() and (bad := next((c for c in joined if unprintable(c)), None)):
            problems.append(f"{path}:{line}: a cell holds the control character U+{ord(bad):04X}; remove it")
            continue
        lines.append(line)
        for column, value in zip(cells, fields):
            column.append(value)
    return lines, columns, problems


class _Cells:
    """csv's reader with its errors as one line naming the file and line (a cell over csv's field limit of
    131,072 characters, a NUL byte) instead of an internal error."""

    def __init__(self, path: Path, reader):
        self.path, self.reader = path, reader

    @property
    def line_num(self) -> int:
        return self.reader.line_num

    def __iter__(self):
        return self

    def __next__(self) -> list[str]:
        try:
            return next(self.reader)
        except csv.Error as err:
            raise InputError(f"{self.path}:{self.reader.line_num}: not a CSV row this reader accepts ({err}); "
                             "a run file's cells are short numbers and names") from None


def unprintable(char: str) -> bool:
    """Control, format and line/paragraph-separator characters: they can rewrite a terminal or split a line."""
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") and char != "\t"


def number(column: str, text: str, *, required: bool) -> tuple[float | None, str | None]:
    """Parse one numeric cell: (value, None) or (None, reason). An empty optional cell is NaN."""
    text = text.strip()
    if text == "":
        return (None, f"{column} is empty") if required else (math.nan, None)
    try:
        value = float(text)
    except ValueError:
        hint = " (a unit suffix? write plain numbers such as 7e9)" if text[-1:].upper() in "KMBT" else ""
        return None, f"{column}={text!r} is not a number{hint}"
    if not math.isfinite(value):
        return None, f"{column}={text} is not finite"
    return value, None


def refuse_if(path: Path, problems: list[str], has_rows: bool) -> None:
    """Raise one :class:`InputError` listing every problem (the command line shows the first and a count;
    ``data check --json`` all), or for no data rows."""
    if problems:
        raise InputError("\n".join(problems))
    if not has_rows:
        raise InputError(f"{path}: a header but no data rows")
