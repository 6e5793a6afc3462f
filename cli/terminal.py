"""Text from the data, a database or a server, shown on a terminal: escaped by the rule of
ingest/text.py (ESC as \\x1b, a newline as \\n), which the report's page and figures share."""

from __future__ import annotations

import sys

from kratom_ae.ingest.text import printable  # the rule, shared with the report


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
