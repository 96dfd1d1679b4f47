"""What the command line prints: text that came from users' files cannot drive the terminal, and
what goes wrong is a few lines and an exit code, never a traceback.

A family name or a file name holding an escape sequence would otherwise recolour, move or
erase what the user reads; such characters are printed as visible escapes (``\\x1b``).
"""

import gc
import io
import os
import signal
import sys
from typing import NoReturn, TextIO

import click

from scaling_forecast.core.errors import InputError, Terminated
from scaling_forecast.inputs.csvfile import unprintable

MAX_ERROR_LINES = 3


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

    def fileno(self) -> int:  # libraries that ask (faulthandler, subprocess) get the stream's own descriptor
        return self.stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", "utf-8")


# The flags whose name is not the engine's parameter name with dashes (the engine's errors name parameters).
FLAGS = {"models": "--model NAME", "grid": "--grid FILE", "families": "--family", "loss_kinds": "--loss-kind",
         "targets": "--target-loss", "runs": "--runs FILE", "probabilities": "--probability",
         "unique": "--unique-tokens"}


def flag(parameter: str) -> str:
    """The command-line flag of an engine parameter, as an error names it (``params`` -> ``--params``)."""
    return FLAGS.get(parameter, "--" + parameter.replace("_", "-"))


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def run(app: click.Group) -> NoReturn:
    """Run the command line ``app`` with the product's exit codes: 0 done; 2 bad input or usage, as at most
    three lines on stderr; 3 a flagged posterior (raised by the commands); 1 an internal error
    (``SCALING_FORECAST_TRACEBACK=1`` shows its traceback). Text from users' files is printed escaped."""
    stdout, stderr = sys.stdout, sys.stderr
    # Both streams escape what passes through them: a name from a user's file or path (a CSV header, an --export
    # name, the cache folder) is shown, never obeyed by the terminal. The sampler's progress bar is drawn by
    # nutpie's Rust side on the file descriptor, not through these.
    sys.stdout, sys.stderr = EscapingStream(stdout), EscapingStream(stderr)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = app(standalone_mode=False)
    except InputError as err:
        print_error(err.worded(flag))
        sys.exit(2)
    except OSError as err:  # a folder where a file was expected, a file that cannot be read or written
        print_error(f"{err.filename}: {err.strerror}" if err.filename else str(err))
        sys.exit(2)
    except click.exceptions.NoArgsIsHelpError as err:  # a bare command: its help, as click shows it
        err.show()
        sys.exit(err.exit_code)
    except click.UsageError as err:
        command = err.ctx.command_path if err.ctx else "scaling-forecast"
        print_error(f"{err.format_message()} (see '{command} -h')")
        sys.exit(err.exit_code)
    except click.ClickException as err:
        print_error(err.format_message())
        sys.exit(err.exit_code)
    except click.Abort:
        sys.exit(130)
    except Terminated:
        print_error("terminated (SIGTERM); no file was left half-written, and what was there before is unchanged")
        sys.exit(128 + signal.SIGTERM)
    except Exception as err:
        if os.environ.get("SCALING_FORECAST_TRACEBACK") == "1":
            raise
        print_error(f"internal error ({type(err).__name__}: {err}); please report it with the command that "
                    "caused it (SCALING_FORECAST_TRACEBACK=1 shows the traceback)")
        sys.exit(1)
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        # The process ends here and every file it wrote is closed: frozen objects are left out of Python's
        # last garbage collection, which otherwise walks the whole heap (a sixth of a fit's time).
        gc.freeze()
    sys.exit(code if isinstance(code, int) else 0)


def print_error(message: str) -> None:
    """``error: ...`` lines on stderr, escaped; beyond three lines, the first two and a count."""
    lines = message.splitlines() or [message]
    if len(lines) > MAX_ERROR_LINES:
        rest = len(lines) - (MAX_ERROR_LINES - 1)
        lines = lines[: MAX_ERROR_LINES - 1] + [f"... and {rest} more problems of the same input"]
    for line in lines:
        print(f"error: {escape(line)}", file=sys.stderr)
