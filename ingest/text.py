"""Text from the data, a database or a server, made safe to show: the one escaping rule of the
terminal views (cli/terminal.py), the report's page and its figures (report/).

A product name, a reaction term, openFDA's last_updated or a server's error message may hold
an escape sequence (which recolours the terminal or moves the cursor), a line break (which
forges a second "Error:" line) or a character XML and HTML do not allow (NUL makes an SVG
invalid). Every view shows such characters escaped, as Python writes them (ESC as \\x1b, a
newline as \\n); CSV and JSON keep the data as it is.
"""

from __future__ import annotations

import unicodedata

NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Invisible characters that reorder how the rest of a line is displayed ("Trojan source").
BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def first_line(message: str) -> str:
    """The first line of an error's text, without its closing full stop or "!" (a sentence is
    built around it), for a message of one line."""
    return message.strip().splitlines()[0].rstrip(".!") if message.strip() else "unknown error"


def quoted(value: str, longest: int = 40) -> str:
    """A value from the user's file in a message: quoted, and cut short if long (a cell of
    2 MB would make a sentence no one reads)."""
    return repr(value if len(value) <= longest else value[: longest - 3] + "...")


def printable(value) -> str:
    """str(value) with control characters (Unicode Cc: C0, DEL, C1), line and paragraph
    separators, bidirectional controls, lone surrogates and noncharacters (U+FFFE, U+FFFF, ...:
    not allowed in XML 1.0, parse errors in HTML) shown as escapes; everything else unchanged."""
    text = str(value)
    if text.isascii() and text.isprintable():
        return text
    return "".join(escape(c) if unsafe(c) else c for c in text)


def unsafe(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in BIDI_CONTROLS or noncharacter(char)


def noncharacter(char: str) -> bool:
    """One of Unicode's 66 code points reserved never to be characters."""
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def escape(char: str) -> str:
    if char in NAMED:
        return NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def plural(n: int, noun: str) -> str:
    """ "1 partition", "2 partitions", "1,767 partitions"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
