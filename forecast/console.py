"""What the command line prints: text that came from users' files cannot drive the terminal.

A family name or a file name holding an escape sequence would otherwise recolour, move or
erase what the user reads; such characters are printed as visible escapes (``\\x1b``).
"""

import io
from typing import TextIO

from scaling_forecast.csvfile import unprintable


def escape(text: str) -> str:
    """``text`` with control, format and separator characters (except newline and tab) shown as escapes."""
    if text.replace("\n", "").replace("\t", "").isprintable():  # nearly always: no per-character work
        return text
    return "".join(_shown(c) for c in text)


def _shown(char: str) -> str:
    if char == "\n" or not unprintable(char):
        return char
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


class EscapingStream(io.TextIOBase):
    """A text stream that escapes what it is given (see :func:`escape`) before passing it on."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(escape(text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", "utf-8")
