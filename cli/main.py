"""kratom-ae command line: parses options, calls ingest/ and queries/, prints.

Data goes to stdout, messages and progress to stderr, so output can be piped. Every known
problem arrives as a KratomAEError and leaves as one line on stderr with exit code 1.
"""

from __future__ import annotations

import enum
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Pull openFDA adverse-event reports that mention kratom or mitragynine into DuckDB, and summarise them.",
)


class SourceChoice(str, enum.Enum):
    faers = "faers"
    caers = "caers"
    all = "all"


DbOption = Annotated[
    Path,
    typer.Option("--db", envvar="KRATOM_AE_DB", help="DuckDB file to use.", show_default=True),
]
DEFAULT_DB = Path("kratom-ae.duckdb")


def error(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)


@contextmanager
def user_errors():
    """Turn the project's errors into one sentence on stderr and a non-zero exit."""
    from ingest.errors import KratomAEError

    try:
        yield
    except KratomAEError as exc:
        error(str(exc))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        error("Interrupted; the database is as it was before this fetch.")
        raise typer.Exit(130) from None


@app.command()
def fetch(
    source: Annotated[SourceChoice, typer.Option(help="Which openFDA database: faers (drug/event), caers (food/event) or all.")] = SourceChoice.all,
    db: DbOption = DEFAULT_DB,
    base_url: Annotated[
        Optional[str], typer.Option("--base-url", envvar="OPENFDA_BASE_URL", help="openFDA server (a mirror, proxy or test server).")
    ] = None,
    api_key: Annotated[
        Optional[str],
        typer.Option("--api-key", envvar="OPENFDA_API_KEY", help="openFDA API key (optional; raises the daily limit). Never stored or printed.", show_default=False),
    ] = None,
    terms: Annotated[Optional[Path], typer.Option("--terms", help="CSV of search terms (columns term,match) instead of the bundled kratom list.")] = None,
    page_size: Annotated[int, typer.Option("--page-size", help="Records per request (1-1000).", hidden=True)] = 1000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or retry messages.")] = False,
) -> None:
    """Fetch every FAERS and CAERS report that mentions kratom into the database.

    Each source is replaced whole and atomically: if the fetch fails or is interrupted, the
    database keeps what it held before.

    Example: kratom-ae fetch --source faers --db kratom.duckdb
    """
    with user_errors():
        from cli.progress import FetchProgress
        from ingest import store
        from ingest.fetch import SOURCES, fetch_source
        from ingest.openfda import OpenFDAClient
        from ingest.terms import load_terms

        term_list = load_terms(terms)
        names = list(SOURCES) if source is SourceChoice.all else [source.value]
        with FetchProgress(enabled=not quiet and sys.stderr.isatty(), quiet=quiet) as progress:
            client = OpenFDAClient(base_url, api_key, page_size=page_size, on_retry=progress.retry)
            with store.writing(db) as con:
                for name in names:
                    fetch_source(con, client, SOURCES[name], term_list, on_page=progress.page)
                    held = store.status(con).set_index("source").loc[name]
                    progress.message(
                        f"{name}: {held['records_received']:,} records received in {held['queries']} queries; "
                        f"{held['reports']:,} reports held, {held['kratom_reports']:,} of them kratom reports."
                    )


@app.command()
def status(db: DbOption = DEFAULT_DB) -> None:
    """Show, per source, the reports held, when they were fetched and from which openFDA release.

    Example: kratom-ae status --db kratom.duckdb
    """
    with user_errors():
        from cli.output import print_status
        from ingest import store

        con = store.connect(db, read_only=True)
        try:
            print_status(store.status(con), db)
        finally:
            con.close()


def main() -> None:
    app(prog_name="kratom-ae")


if __name__ == "__main__":
    main()
