"""Text from the data, a database or a server, made safe to show on a terminal.

A product name, a reaction term, openFDA's last_updated or a server's error message may hold
an escape sequence (which recolours the terminal or moves the cursor) or a line break (which
forges a second "Error:" line). Every terminal view and message shows such characters
escaped, as Python writes them (ESC as \\x1b, a newline as \\n); CSV and JSON keep the data as
it is.
"""

from __future__ import annotations

import sys
import unicodedata

NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Invisible characters that reorder how the rest of a line is displayed ("Trojan source").
BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(value) -> str:
    """str(value) with control characters (Unicode Cc: C0, DEL, C1), line and paragraph
    separators and bidirectional controls shown as escapes; everything else unchanged."""
    text = str(value)
    if text.isascii() and text.isprintable():
        return text
    return "".join(escape(c) if unsafe(c) else c for c in text)


def unsafe(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in BIDI_CONTROLS


def escape(char: str) -> str:
    if char in NAMED:
        return NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def cell_text(value):
    """A table cell for rich: escaped, and a Text, so that rich does not read [brackets] in
    the data as its markup (which would restyle the terminal or add hyperlinks)."""
    from rich.text import Text

    return Text(printable(value))


def print_data(text: str) -> None:
    """CSV or JSON on stdout: exactly as written to a file when stdout is a pipe or a file
    (click.echo would strip the escape sequences in the data there), and with control
    characters escaped line by line when it is a terminal (the data must not drive it)."""
    import typer

    if sys.stdout.isatty():
        text = "\n".join(printable(line) for line in text.split("\n"))
    typer.echo(text, nl=False, color=True)
