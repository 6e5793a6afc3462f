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

from kratom_ae.cli.help import PlainHelpGroup
from kratom_ae.cli.terminal import printable
from kratom_ae.ingest.dbfile import journal_of
from kratom_ae.ingest.text import plural

# Plain click help: it rewraps paragraphs to the terminal and shows no type for flags.
app = typer.Typer(
    cls=PlainHelpGroup,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Pull openFDA adverse-event reports that mention kratom or mitragynine into DuckDB, and summarise them.",
)



def show_version(value: bool) -> None:
    if value:
        from kratom_ae import __version__

        typer.echo(f"kratom-ae {__version__}")
        raise typer.Exit()


@app.callback()
def everything(
    version: bool = typer.Option(False, "--version", callback=show_version, is_eager=True, help="Print kratom-ae's version and exit."),
) -> None:
    """Pull openFDA adverse-event reports that mention kratom or mitragynine into DuckDB, and summarise them."""

class SourceChoice(str, enum.Enum):
    faers = "faers"
    caers = "caers"
    all = "all"


class RawSource(str, enum.Enum):
    faers = "faers"
    caers = "caers"


def input_path(value, example: str = "") -> Path:
    """The parser of --db and of every option that names a file or folder a command reads: an
    empty name would read as the current folder."""
    if isinstance(value, Path):
        return value
    if str(value) == "":
        raise typer.BadParameter(f"an empty name is not a file or folder; name one{example}.")
    return Path(value)


DbOption = Annotated[
    Path,
    typer.Option("--db", envvar="KRATOM_AE_DB", metavar="PATH", parser=input_path, help="DuckDB file to use.", show_default=True),
]
DEFAULT_DB = Path("kratom-ae.duckdb")


def output_path(value) -> Path:
    """The parser of every argument that names a folder a command writes, and (output_file) of
    every option that names a file it writes: a test walks every command to hold them to it.
    What they name is written only through queries/outputs.py, which refuses the database and
    the other paths it must never write. An empty name is refused here: it would read as the
    current folder."""
    return input_path(value, ", such as results/")


def output_file(value) -> Path:
    # Path("new/") and Path("new/.") would be the file "new".
    if isinstance(value, str) and (value.endswith(("/", "\\")) or value.rstrip("/").rsplit("/", 1)[-1] in (".", "..")):
        raise typer.BadParameter(f"{printable(value)} ends with a slash or a dot, so it names a folder; give a file name, such as results/table.csv.")
    return output_path(value)


def cache_folder(value) -> Path:
    """The parser of a folder a command keeps files in across runs (the bulk cache): it only
    ever adds files under names of its own (ingest/bulk.py), so it may hold anything else, but
    it must be a folder: a file there (the database, a link to it) is refused."""
    path = output_path(value)
    if path.exists() and not path.is_dir():
        raise typer.BadParameter(f"{printable(str(path))} is a file, not a folder; name a folder for the cache, such as openfda-bulk/.")
    return path


# One name on every command that writes CSV; queries/export.py's csv_text holds the rule.
UnguardedOption = Annotated[
    bool,
    typer.Option("--no-spreadsheet-guard", help="Write CSV cells as they are, without the apostrophe that keeps a spreadsheet from running a cell starting with = + - @ as a formula (for pandas or R; provenance records it)."),
]
CsvOption = Annotated[
    Optional[Path], typer.Option("--csv", metavar="FILE", parser=output_file, help="Also write the table to this CSV file (with FILE.provenance.json beside it).")
]


def error(message: str) -> None:
    typer.echo(f"Error: {printable(message)}", err=True)


@contextmanager
def user_errors(db: Path | None = None, unchanged=None):
    """Turn every failure into one sentence on stderr and a non-zero exit. `unchanged` (a
    string, or a function giving one) says what an interrupted or failed write left as it was."""
    from kratom_ae.ingest.errors import KratomAEError

    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except KratomAEError as exc:
        error(str(exc))
        raise typer.Exit(1) from None
    except BaseException as exc:
        described = describe_failure(exc, db, unchanged() if callable(unchanged) else unchanged)
        if described is None:
            raise
        error(described[1])
        raise typer.Exit(described[0]) from None


def describe_failure(exc: BaseException, db: Path | None, unchanged: str | None) -> tuple[int, str] | None:
    """(exit code, sentence) for a failure that is not the project's own: Ctrl-C (also as
    DuckDB reports it), a disk that cannot be written, a damaged database, or else a bug, which
    is one sentence too unless KRATOM_AE_TRACEBACK asks for the traceback (then None)."""
    import os

    from kratom_ae.ingest import failures

    tail = f"; {unchanged}." if unchanged else "."
    if failures.is_interrupt(exc):
        return 130, f"Interrupted{tail}"
    if not isinstance(exc, Exception) or os.environ.get("KRATOM_AE_TRACEBACK"):
        return None
    written = failures.write_failure(exc)
    if written:
        return 1, written[:-1] + tail
    if db is not None and failures.is_damage(exc):
        return 1, failures.damage_sentence(db, exc)
    return 1, f"kratom-ae stopped on a problem it does not know ({type(exc).__name__}: {failures.first_line(str(exc))}); please report it (KRATOM_AE_TRACEBACK=1 shows where)."


# One request in 100 minutes: slower pacing is a typing mistake, and 1e-300 would make a wait
# too long for the clock to hold.
MIN_REQUESTS_PER_MINUTE = 0.01


def check_pacing(value: float) -> float:
    import math

    if not math.isfinite(value) or value < 0 or 0 < value < MIN_REQUESTS_PER_MINUTE:
        raise typer.BadParameter(f"give 0 (no pacing) or a number from {MIN_REQUESTS_PER_MINUTE} up, not {value:g}.")
    return value


def in_journal(db: Path) -> str:
    """Where a commit is that DuckDB could not write into the database file."""
    return (
        f"what DuckDB could not write into the file is in its journal {journal_of(db)}, which DuckDB applies whenever it opens the database, "
        "so every command sees it, and writes into the file the next time a command that writes to the database has room"
    )


@app.command()
def fetch(
    source: Annotated[SourceChoice, typer.Option(help="Which openFDA database: faers (drug/event), caers (food/event) or all.")] = SourceChoice.all,
    db: DbOption = DEFAULT_DB,
    base_url: Annotated[
        Optional[str], typer.Option("--base-url", envvar="OPENFDA_BASE_URL", metavar="URL", help="openFDA server (a mirror, proxy or test server).")
    ] = None,
    api_key: Annotated[
        Optional[str],
        typer.Option("--api-key", envvar="OPENFDA_API_KEY", metavar="KEY", help="openFDA API key (optional; raises the daily limit). Never stored or printed.", show_default=False),
    ] = None,
    terms: Annotated[Optional[Path], typer.Option("--terms", metavar="FILE", parser=input_path, help="CSV of search terms (columns term,match) instead of the bundled kratom list.")] = None,
    page_size: Annotated[int, typer.Option("--page-size", help="Records per request (1-1000).", hidden=True)] = 1000,
    requests_per_minute: Annotated[
        float,
        typer.Option(
            "--requests-per-minute",
            metavar="N",
            callback=check_pacing,
            help="Request pacing. openFDA allows 240; change it only for your own mirror or test server (0: no pacing).",
        ),
    ] = 240,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or retry messages.")] = False,
) -> None:
    """Fetch every FAERS and CAERS report that mentions kratom.

    Each source is replaced whole and atomically: if the fetch fails or is interrupted, the database keeps what it held before.

    Example: kratom-ae fetch --source faers --db kratom.duckdb
    """
    names = source_names(source)
    done: list[str] = []

    def unchanged(closed: bool = True) -> str:
        return what_became(db, names, done, "fetch", closed)

    with user_errors(db, unchanged):
        from kratom_ae.cli.progress import FetchProgress
        from kratom_ae.ingest import store
        from kratom_ae.ingest.errors import KratomAEError
        from kratom_ae.ingest.fetch import SOURCES, fetch_source
        from kratom_ae.ingest.openfda import OpenFDAClient, Pacer
        from kratom_ae.ingest.terms import load_terms

        term_list = load_terms(terms)
        with FetchProgress(enabled=not quiet and sys.stderr.isatty(), quiet=quiet) as progress:
            pacer = Pacer(60.0 / requests_per_minute if requests_per_minute else 0.0)
            summary: list[str] = []
            with OpenFDAClient(base_url, api_key, page_size=page_size, pacer=pacer, on_retry=progress.retry) as client, store.writing(db) as con:
                for name in names:
                    try:
                        fetch_source(con, client, SOURCES[name], term_list, on_page=progress.page)
                    except KratomAEError as exc:
                        if not done:
                            raise
                        # openFDA refused the second source: the sentence must say the first was kept.
                        raise KratomAEError(f"{str(exc).rstrip('.')}; {unchanged(closed=False)}.") from None
                    done.append(name)
                    summary += held_summary(con, name)
            # Only now: store.writing has had DuckDB write every source into the file.
            for line in summary:
                progress.message(line)  # a line at a time: each is escaped whole


def source_names(source: "SourceChoice") -> list[str]:
    return [choice.value for choice in SourceChoice if choice is not SourceChoice.all] if source is SourceChoice.all else [source.value]


def what_became(db: Path, names: list[str], done: list[str], run: str, closed: bool = True) -> str:
    """What became of each source, for a fetch (or bulk load: `run`) that failed or was
    interrupted; `closed`: the database was closed, so a journal left beside it is one DuckDB
    could not write."""
    before = f"as it was before this {run}"
    verb = "fetched" if run == "fetch" else "loaded"
    if not done:
        return f"the database is {before}"
    if not db.exists():  # a new file is removed again when the fetch fails
        return f"{' and '.join(done)} was {verb} in full, but the new database file was removed again"
    kept = f"{' and '.join(done)} {'were' if len(done) > 1 else 'was'} {verb} in full and kept"
    if closed and journal_of(db).exists():  # DuckDB could not write it into the file (a checkpoint failed)
        kept += f" ({in_journal(db)})"
    rest = [name for name in names if name not in done]
    return kept + (f", {' and '.join(rest)} {'is' if len(rest) == 1 else 'are'} {before}" if rest else "")


def held_summary(con, name: str, bulk: bool = False) -> list[str]:
    """The lines a fetch or bulk load ends with for one source: what it received and holds."""
    from kratom_ae.ingest import store

    held = store.status(con).set_index("source").loc[name]
    received = f"kept for the matcher from {plural(held['queries'], 'partition')}" if bulk else f"received in {held['queries']} queries"
    lines = [
        f"{name}: {plural(held['records_received'], 'record')} {received}; "
        f"{held['reports']:,} reports held, {held['kratom_reports']:,} of them kratom reports."
    ]
    if held["malformed_records"]:
        lines += malformed_summary(name, held, store.malformed_records(con, name, SHOWN_MALFORMED))
    return lines


SHOWN_MALFORMED = 10


def malformed_summary(source: str, held, named: list[tuple[str, str]]) -> list[str]:
    """The records of a fetch that broke a rule for malformed records, the first few named."""
    count, not_stored = int(held["malformed_records"]), int(held["not_stored"])
    lines = [
        f"{source}: {count:,} record{'s' if count != 1 else ''} broke a rule for malformed records"
        f"{f' ({not_stored:,} not stored)' if not_stored else ''}; all are listed in the table fetch_problems (docs/schema.md, \"Malformed records\"):"
    ]
    lines += [f"  {'no id' if report_id is None else report_id}: {problems}" for report_id, problems in named]
    if count > len(named):
        lines.append(f"  and {count - len(named):,} more.")
    return lines


@app.command()
def status(db: DbOption = DEFAULT_DB) -> None:
    """Show what the database holds and where it came from.

    Per source: the reports held, when they were fetched and from which openFDA release.

    Example: kratom-ae status --db kratom.duckdb
    """
    with user_errors(db):
        from kratom_ae.cli.output import print_status
        from kratom_ae.ingest import store

        con = store.connect(db, read_only=True)
        try:
            print_status(store.status(con), db, store.synthetic_sources(con))
        finally:
            con.close()


class RoleChoice(str, enum.Enum):
    suspect = "suspect"
    any = "any"


class FormatChoice(str, enum.Enum):
    table = "table"
    csv = "csv"
    json = "json"


class ByChoice(str, enum.Enum):
    pt = "pt"
    soc = "soc"
    ingredient = "ingredient"
    product = "product"


# The tables --by splits, with what each takes (the first is its default) and the table each choice runs.
BY_TABLES = {"reactions": {"pt": "reactions", "soc": "reactions_by_soc"}, "drugs": {"ingredient": "drugs", "product": "drugs_by_product"}}


SourceFilter = Annotated[Optional[SourceChoice], typer.Option("--source", help="Only faers, only caers, or all (default).", show_default=False)]
SinceFilter = Annotated[Optional[str], typer.Option("--since", metavar="YYYY-MM-DD", help="Only reports received on or after this date.")]
UntilFilter = Annotated[Optional[str], typer.Option("--until", metavar="YYYY-MM-DD", help="Only reports received on or before this date.")]
RoleFilter = Annotated[
    Optional[RoleChoice], typer.Option("--role", help="suspect: kratom was a suspect (or interacting) product; any (default): kratom in any role.", show_default=False)
]
SeriousFilter = Annotated[bool, typer.Option("--serious", help="Only serious reports.")]
# A top beyond any table's length is the same as none, and one beyond BIGINT would reach DuckDB
# as a conversion error.
MAX_TOP = 1_000_000


def top_between(largest: int):
    """The check of a --top: a whole number from 1 to `largest`, said in a sentence."""

    def check(value: int | None) -> int | None:
        if value is not None and not 1 <= value <= largest:
            raise typer.BadParameter(f"give a number of rows from 1 to {largest:,}, not {value}.")
        return value

    return check


TopFilter = Annotated[Optional[int], typer.Option("--top", metavar="N", callback=top_between(MAX_TOP), help="Only the N most reported rows.")]


class UnitChoice(str, enum.Enum):
    report = "report"
    case = "case"


UnitFilter = Annotated[
    Optional[UnitChoice],
    typer.Option("--unit", help="Count reports (default, as openFDA does) or probable cases (duplicate reports of one event counted once; see docs/methods.md, Probable cases).", show_default=False),
]
QueriesDir = Annotated[Optional[Path], typer.Option("--queries-dir", metavar="DIR", parser=input_path, help="A folder of your own .sql tables, used beside the bundled ones.")]


def emit(frame, output_format: FormatChoice, print_for_people, guard: bool = True) -> None:
    """A result on stdout: CSV or JSON for programs, or the command's own table for people."""
    from kratom_ae.cli.terminal import print_data
    from kratom_ae.queries import export

    if output_format is FormatChoice.csv:
        print_data(export.csv_text(frame, guard))
    elif output_format is FormatChoice.json:
        print_data(export.json_text(frame) + "\n")
    else:
        print_for_people()


def parse_date(option: str, value: str | None):
    import datetime as dt

    from kratom_ae.ingest.errors import KratomAEError

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else dt.date.fromisoformat("bad")
    except ValueError:
        raise KratomAEError(f"{option} must be a date written YYYY-MM-DD, such as 2019-01-31, not {value!r}.") from None


def make_filters(source, since, until, role, serious, top, unit=None):
    from kratom_ae.ingest.errors import KratomAEError
    from kratom_ae.queries.library import Filters

    given = {name for name, value in [("source", source), ("since", since), ("until", until), ("role", role), ("serious", serious or None), ("top", top), ("unit", unit)] if value is not None}
    filters = Filters(
        source=source.value if source else "all",
        since=parse_date("--since", since),
        until=parse_date("--until", until),
        role=role.value if role else "any",
        serious=serious,
        top=top,
        unit=unit.value if unit else "report",
        given=given,
    )
    if filters.since and filters.until and filters.since > filters.until:
        raise KratomAEError(f"--since ({filters.since}) is after --until ({filters.until}); no report can be in between.")
    return filters


@app.command()
def query(
    name: Annotated[Optional[str], typer.Argument(metavar="NAME", help="The table: summary, reactions, skin, trend, demographics, outcomes, drugs, or one of yours. Leave out to list them.")] = None,
    db: DbOption = DEFAULT_DB,
    source: SourceFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
    role: RoleFilter = None,
    serious: SeriousFilter = False,
    top: TopFilter = None,
    unit: UnitFilter = None,
    by: Annotated[
        Optional[ByChoice],
        typer.Option("--by", help="reactions: per preferred term (pt, default) or per MedDRA primary SOC (soc; needs `meddra load`); drugs: per active ingredient (ingredient, default) or per product name as reported (product).", show_default=False),
    ] = None,
    output_format: Annotated[FormatChoice, typer.Option("--format", help="table (for people), csv or json, on stdout.")] = FormatChoice.table,
    csv_file: CsvOption = None,
    unguarded: UnguardedOption = False,
    queries_dir: QueriesDir = None,
) -> None:
    """Show one summary table of the kratom reports, or list the tables.

    Example: kratom-ae query reactions --source faers --role suspect --top 20 --csv reactions.csv
    """
    with user_errors(db):
        from kratom_ae.cli.output import print_query_list, print_table
        from kratom_ae.ingest import store
        from kratom_ae.ingest.errors import KratomAEError
        from kratom_ae.queries import export, library, outputs

        if name is None:
            print_query_list(library.discover(queries_dir))
            return
        if by is not None:
            if name not in BY_TABLES:
                raise KratomAEError(f"Only the reactions table (--by pt or soc) and the drugs table (--by ingredient or product) take --by; {name} does not.")
            if by.value not in BY_TABLES[name]:
                raise KratomAEError(f"The {name} table takes --by {' or '.join(BY_TABLES[name])}, not {by.value}.")
            name = BY_TABLES[name][by.value]
        table = library.find(name, queries_dir)
        filters = make_filters(source, since, until, role, serious, top, unit)
        library.check_filters(table, filters)
        outputs.check_csv_option(csv_file, db)
        con = store.connect(db, read_only=True)
        try:
            library.prepare_scope(con, filters)
            frame = library.run(con, table, filters)
            warning = store.synthetic_warning(store.synthetic_sources(con))
            in_scope = library.scope_counts(con)
            if csv_file:
                outputs.write_csv_option(csv_file, db, export.csv_text(frame, not unguarded), export.provenance_text(con, db, filters, {table.name: table}, guard=not unguarded))
        finally:
            con.close()
        emit(frame, output_format, lambda: print_table(frame, table, filters, in_scope, warning), not unguarded)
        if csv_file:
            typer.echo(printable(f"Wrote {csv_file} and {csv_file}.provenance.json."), err=True)


class ExportFormat(str, enum.Enum):
    csv = "csv"
    parquet = "parquet"


@app.command()
def export(
    folder: Annotated[Path, typer.Argument(metavar="DIR", parser=output_path, help="Folder to write the tables (CSV or Parquet files) and provenance.json into (created if missing).")],
    db: DbOption = DEFAULT_DB,
    source: SourceFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
    role: RoleFilter = None,
    serious: SeriousFilter = False,
    top: TopFilter = None,
    unit: UnitFilter = None,
    queries_dir: QueriesDir = None,
    file_format: Annotated[ExportFormat, typer.Option("--format", help="csv, or parquet (typed columns, for DuckDB, pandas, R or Arrow).")] = ExportFormat.csv,
    unguarded: UnguardedOption = False,
) -> None:
    """Write every table as CSV (or Parquet), with a provenance file.

    provenance.json holds the tool version, fetch times, openFDA last_updated and queries, the filters and the counting rules. Each filter applies to the tables that take it (provenance.json says which). The signals table is written too when `kratom-ae signals` has cached its background; export never asks openFDA.

    Example: kratom-ae export results/ --since 2015-01-01 --role suspect
    """
    with user_errors(db):
        from kratom_ae.ingest import store
        from kratom_ae.ingest.errors import KratomAEError
        from kratom_ae.queries import library, outputs
        from kratom_ae.queries.export import export_names, export_tables

        if unguarded and file_format is ExportFormat.parquet:
            raise KratomAEError("--no-spreadsheet-guard is for CSV: Parquet cells are written as they are, with no guard; leave it out.")
        filters = make_filters(source, since, until, role, serious, top, unit)
        outputs.check_folder(folder, db, "export")
        tables = library.discover(queries_dir)
        con = store.connect(db, read_only=True)
        try:
            # Every file it would write, checked before the first query, which can take minutes.
            outputs.check_folder(folder, db, "export", export_names(con, tables, file_format.value))
            library.prepare_scope(con, filters)
            written, messages = export_tables(con, db, folder, filters, tables, file_format.value, not unguarded)
        finally:
            con.close()
        print_written(written, "export")
        for message in messages:
            typer.echo(printable(message), err=True)


class SortChoice(str, enum.Enum):
    prr = "prr"
    ror = "ror"
    ic = "ic"
    reports = "reports"


class BackgroundChoice(str, enum.Enum):
    api = "api"
    local = "local"


@app.command()
def signals(
    db: DbOption = DEFAULT_DB,
    source: SourceFilter = None,
    role: RoleFilter = None,
    unit: UnitFilter = None,
    min_reports: Annotated[int, typer.Option("--min-reports", min=1, metavar="N", help="Terms with fewer kratom reports are listed but never flagged.")] = 3,
    sort: Annotated[SortChoice, typer.Option("--sort", help="Order by prr, ror, ic or reports (highest first).")] = SortChoice.prr,
    refresh: Annotated[bool, typer.Option("--refresh", help="Ask openFDA for the background counts again instead of using the cache.")] = False,
    background_from: Annotated[BackgroundChoice, typer.Option("--background", help="api: openFDA's counts, cached in the database; local: counted from the local background in --bulk DIR (kratom-ae bulk background), no request.")] = BackgroundChoice.api,
    bulk_cache: Annotated[Optional[Path], typer.Option("--bulk", metavar="DIR", parser=input_path, help="With --background local: the cache folder whose local background kratom-ae bulk background built.")] = None,
    counts: Annotated[Optional[Path], typer.Option("--counts", metavar="FILE", parser=input_path, help="Compute the statistics for your own 2x2 tables (CSV: term,a,b,c,d) instead.")] = None,
    comparator: Annotated[
        Optional[Path],
        typer.Option("--comparator", metavar="FILE", parser=input_path, help="Compare with the reports of these products (a terms file, as fetch --terms reads) instead of all of openFDA; a report naming both is a kratom report."),
    ] = None,
    comparator_ingredients: Annotated[
        Optional[list[str]],
        typer.Option("--comparator-ingredient", metavar="NAME", help="With --background local: compare with the reports of products, not kratom, of this ingredient (repeat for more) instead of all reports."),
    ] = None,
    adjusted: Annotated[
        bool,
        typer.Option("--adjusted", help="Also Mantel-Haenszel ROR and PRR stratified by sex, age band and report year (FAERS; with --background api, about 100 more requests the first time and more for rare terms; with --background local, counted from the export)."),
    ] = False,
    output_format: Annotated[FormatChoice, typer.Option("--format", help="table, csv or json, on stdout.")] = FormatChoice.table,
    csv_file: CsvOption = None,
    unguarded: UnguardedOption = False,
    base_url: Annotated[Optional[str], typer.Option("--base-url", envvar="OPENFDA_BASE_URL", metavar="URL", help="openFDA server for the background counts.")] = None,
    api_key: Annotated[Optional[str], typer.Option("--api-key", envvar="OPENFDA_API_KEY", metavar="KEY", help="openFDA API key (optional). Never stored or printed.", show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or retry messages.")] = False,
) -> None:
    """Reactions reported disproportionately often with kratom.

    Compared with all other reports of the same openFDA database (or with --comparator, with the reports of other products): PRR, ROR (with 95% CIs), chi-squared (Yates), the shrunk IC with IC025, Fisher's mid-p with Benjamini-Hochberg q-values, and the signal flags; with --adjusted, Mantel-Haenszel PRR and ROR stratified by sex, age band and report year beside them; with --background local, DuMouchel's EBGM and EB05 (EB95 in CSV and JSON) of kratom's pair with each term in the bulk export's drug-by-event table. The background counts come from openFDA and are cached in the database, or with --background local from the local background, with no request.

    Example: kratom-ae signals --source faers --role suspect --csv signals.csv
    """
    def unchanged() -> str | None:  # a background committed, and then the checkpoint failed
        return in_journal(db) if journal_of(db).exists() else None

    with user_errors(db, unchanged):
        from kratom_ae.cli.output import print_signals
        from kratom_ae.ingest.errors import KratomAEError
        from kratom_ae.queries import export, outputs
        from kratom_ae.queries import signals as signal_lib

        outputs.check_csv_option(csv_file, db, reads={"--counts": counts})
        if counts is not None:
            cannot = [option for option, given in (("--source", source), ("--role", role), ("--refresh", refresh or None), ("--comparator", comparator),
                                                   ("--comparator-ingredient", comparator_ingredients), ("--adjusted", adjusted or None)) if given is not None]
            if cannot:
                raise KratomAEError(f"--counts takes its 2x2 tables from your file as they are, so {' and '.join(cannot)} cannot apply; leave {'it' if len(cannot) == 1 else 'them'} out.")
            frame = signal_lib.counts_table(counts, min_reports, sort.value)
            info, warnings, requests, filters, synthetic, chosen, outside, ebgm_priors = None, [], 0, None, None, None, None, None
        else:
            # Here, not above: --counts reads no database and sends no request.
            from kratom_ae.cli.progress import FetchProgress
            from kratom_ae.ingest import background, store
            from kratom_ae.ingest.openfda import OpenFDAClient
            from kratom_ae.queries import library

            filters = make_filters(source, None, None, role, False, None, unit)
            if adjusted and (comparator is not None or comparator_ingredients or filters.unit == "case"):
                raise KratomAEError(
                    "--adjusted stratifies reports against all of FAERS, so it takes neither --comparator nor --unit case (a probable case's reports may fall in different strata); leave one out."
                )
            chosen = background.load_comparator(comparator) if comparator is not None else None
            if not db.exists():
                raise KratomAEError(f"There is no database at {db}; run `kratom-ae fetch` first or pass --db.")
            local = background_from is BackgroundChoice.local
            if local and bulk_cache is None:
                raise KratomAEError("--background local counts the background from a bulk cache; name it with --bulk DIR (the folder kratom-ae bulk background built).")
            if bulk_cache is not None and not local:
                raise KratomAEError("--bulk names the local background; add --background local to use it.")
            if local and refresh:
                raise KratomAEError("--refresh asks openFDA again, and --background local asks openFDA nothing; leave one out.")
            if local and comparator is not None:
                raise KratomAEError("--background local compares by ingredient, not by openFDA's search of a terms file: name the ingredients with --comparator-ingredient NAME.")
            if comparator_ingredients and not local:
                raise KratomAEError("--comparator-ingredient compares by ingredient in the local background; add --background local --bulk DIR, or give openFDA's background a terms file with --comparator FILE.")
            ebgm_priors = None  # with --background local: the empirical-Bayes prior of each source
            with FetchProgress(enabled=not quiet and sys.stderr.isatty(), quiet=quiet) as progress, OpenFDAClient(base_url, api_key, on_retry=progress.retry) as client:

                def table(con):
                    """The signals table and what is shown and written with it."""
                    frame = signal_lib.signal_table(con, min_reports, sort.value, chosen, adjusted, local=local)
                    if local:
                        frame = signal_lib.add_ebgm(frame, ebgm_scores)
                    outside = signal_lib.strata_outside(con) if adjusted else None
                    if outside is not None and filters.source != "all":
                        outside = outside[outside["source"] == filters.source].reset_index(drop=True)
                    info = signal_lib.background_info(con, None if local else chosen)
                    # The background of a source out of scope is cached too, but not this table's.
                    info = info[info["source"] == filters.source].reset_index(drop=True) if filters.source != "all" else info
                    warnings = signal_lib.release_warnings(info) + signal_lib.comparator_warnings(info, chosen, local)
                    provenance = (
                        export.signals_provenance(con, db, filters, info, warnings, client.requests_sent, min_reports, sort.value, guard=not unguarded, comparator=chosen, frame=frame, outside=outside,
                                                   ebgm_priors=ebgm_priors, local=counted.provenance if local else None)
                        if csv_file else None
                    )
                    return frame, info, outside, warnings, client.requests_sent, store.synthetic_warning(store.synthetic_sources(con)), provenance

                def complete(con) -> bool:
                    if chosen:
                        return background.comparator_is_complete(con, chosen, refresh)
                    return background.is_complete(con, refresh) and (not adjusted or background.strata_is_complete(con, refresh))

                # Opened for writing only to cache a background: with one cached, nothing changes a byte.
                with store.opened(db, read_only=True) as con:
                    library.prepare_scope(con, filters)
                    if local:  # counted from the bulk files: the cached API counts are not read
                        from kratom_ae.queries import local_background

                        in_scope = [row[0] for row in con.execute("SELECT DISTINCT source FROM scope_reports ORDER BY source").fetchall()]
                        counted = local_background.local_background(bulk_cache, in_scope, unit=filters.unit, comparator=comparator_ingredients, drug_events=True,
                                                                    kratom_reports=local_background.kratom_in_scope(con), mh_strata=adjusted)
                        if counted.comparator is not None:
                            chosen = local_background.IngredientComparator(tuple(counted.comparator))
                        local_background.use_in(con, counted)
                        ebgm_scores, ebgm_priors = local_background.kratom_ebgm(counted)
                    cached = local or complete(con)
                    if cached:
                        frame, info, outside, warnings, requests, synthetic, provenance = table(con)
                if not cached:
                    with store.opened(db) as con:
                        library.prepare_scope(con, filters)
                        if chosen:
                            background.comparator_ensure(con, client, chosen, refresh, on_progress=progress.background)
                        else:
                            background.ensure(con, client, refresh, on_progress=progress.background)
                            if adjusted:
                                background.strata_ensure(con, client, refresh, on_progress=progress.background)
                        frame, info, outside, warnings, requests, synthetic, provenance = table(con)
        if csv_file:
            if counts is not None:
                provenance = export.signals_provenance(None, None, None, None, [], 0, min_reports, sort.value, counts_file=counts, guard=not unguarded)
            outputs.write_csv_option(csv_file, db, export.csv_text(frame, not unguarded), provenance)
        for warning in warnings:
            typer.echo(f"Warning: {printable(warning)}", err=True)
        emit(frame, output_format, lambda: print_signals(frame, filters, min_reports, info, requests, synthetic, chosen, outside, ebgm_priors), not unguarded)
        if csv_file:
            typer.echo(printable(f"Wrote {csv_file} and {csv_file}.provenance.json."), err=True)


# A figure of more bars than this is no longer readable on a page.
MAX_REPORT_TOP = 100


class MeasureChoice(str, enum.Enum):
    prr = "prr"
    ror = "ror"


@app.command()
def report(
    folder: Annotated[Path, typer.Argument(metavar="DIR", parser=output_path, help="Folder to write report.html, the figures (PNG, SVG, CSV) and provenance.json into (created if missing).")],
    db: DbOption = DEFAULT_DB,
    source: SourceFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
    role: RoleFilter = None,
    serious: SeriousFilter = False,
    top: Annotated[
        Optional[int], typer.Option("--top", metavar="N", callback=top_between(MAX_REPORT_TOP), help="Rows of the ranked figures and tables (reactions, skin terms, products, signals).")
    ] = None,
    unit: UnitFilter = None,
    measure: Annotated[MeasureChoice, typer.Option("--measure", help="The forest plot's statistic: prr or ror.")] = MeasureChoice.prr,
    min_reports: Annotated[int, typer.Option("--min-reports", min=1, help="The forest plot shows terms with at least this many kratom reports (those signals can flag).")] = 3,
    fetch_background: Annotated[
        bool, typer.Option("--fetch-background", help="Ask openFDA for the signals background when it is not cached (as `signals` does). Without it, the report sends no request.")
    ] = False,
    base_url: Annotated[Optional[str], typer.Option("--base-url", envvar="OPENFDA_BASE_URL", help="openFDA server for --fetch-background.")] = None,
    api_key: Annotated[Optional[str], typer.Option("--api-key", envvar="OPENFDA_API_KEY", help="openFDA API key for --fetch-background (optional). Never stored or printed.", show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or retry messages.")] = False,
) -> None:
    """Write a report to read and send: report.html (one self-contained page that opens offline) with the summary and skin tables, figures (trend, reactions, skin outcomes, signals forest plot, age by sex, seriousness, co-reported products), provenance, counting rules and openFDA's disclaimer; and each figure beside it as PNG (300 dpi), SVG and CSV.

    The forest plot uses the background cached by `kratom-ae signals`; without one the page says so.

    Example: kratom-ae report report/ --since 2015-01-01 --role suspect
    """
    with user_errors(db):
        from kratom_ae.ingest import store
        from kratom_ae.queries import outputs
        from kratom_ae.report import build

        filters = make_filters(source, since, until, role, serious, top, unit)
        filters.top = top or build.DEFAULT_TOP
        outputs.check_folder(folder, db, "report", build.REPORT_FILES)
        with store.opened(db, read_only=not fetch_background) as con:
            if fetch_background:
                fetch_report_background(con, filters, base_url, api_key, quiet)
            collected = build.collect(con, db, filters, measure.value, min_reports)
        # Once the database is closed: a background fetched is then in the file, or the command failed.
        print_written(build.write(collected, folder, db), "report")


def print_written(written, command: str) -> None:
    """The paths an export or report wrote, one a line on stdout (escaped: a folder's name may
    hold a line break), and on stderr what it removed of the earlier run there, or kept."""

    for path in written.removed:
        typer.echo(printable(f"Removed {path}, which the earlier {command} there wrote and this one does not."), err=True)
    for path in written.kept:
        typer.echo(printable(f"Left {path} alone: the earlier {command} there lists it, but this {command} removes only files of its own kind that are still as kratom-ae wrote them; the new provenance.json does not list it."), err=True)
    for path in written.files:
        typer.echo(printable(str(path)))


def fetch_report_background(con, filters, base_url, api_key, quiet) -> None:
    from kratom_ae.cli.progress import FetchProgress
    from kratom_ae.ingest import background
    from kratom_ae.ingest.openfda import OpenFDAClient
    from kratom_ae.queries import library
    from kratom_ae.queries.signals import signal_filters

    from kratom_ae.ingest.errors import KratomAEError

    with FetchProgress(enabled=not quiet and sys.stderr.isatty(), quiet=quiet) as progress, OpenFDAClient(base_url, api_key, on_retry=progress.retry) as client:
        library.prepare_scope(con, signal_filters(filters))
        try:
            background.ensure(con, client, on_progress=progress.background)
        except KratomAEError as exc:
            # The rest of the report stands without it: the page says there is no background.
            typer.echo(f"Warning: no signals background could be fetched ({exc}); the report has no forest plot where none was cached.", err=True)


bulk_app = typer.Typer(cls=PlainHelpGroup, no_args_is_help=True, rich_markup_mode=None, help="openFDA's bulk files: every report of FAERS and CAERS, downloaded once.")
app.add_typer(bulk_app, name="bulk")


@bulk_app.command("download")
def bulk_download(
    cache: Annotated[Path, typer.Argument(metavar="DIR", parser=cache_folder, help="The cache folder: partitions are kept there across runs, by export date.")],
    source: Annotated[SourceChoice, typer.Option(help="Which openFDA database: faers (drug/event), caers (food/event) or all.")] = SourceChoice.all,
    listing_url: Annotated[
        str, typer.Option("--listing-url", envvar="OPENFDA_LISTING_URL", metavar="URL", help="openFDA's list of bulk files (a mirror or test server).")
    ] = "https://api.fda.gov/download.json",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages.")] = False,
) -> None:
    """Download openFDA's bulk files into DIR, resuming what an earlier run left.

    A partition is kept only once it is whole (every CRC right, the records and size download.json lists); one cut short or left half-written is fetched again. Says the disk it needs, and refuses to start without it. All of FAERS is about 113 GB.

    Example: kratom-ae bulk download openfda-bulk --source caers
    """
    names = source_names(source)
    with user_errors(None, "every partition already in the cache is kept; run the download again to resume"):
        from kratom_ae.ingest import bulk

        def planned(plans, free: int) -> None:
            for p in plans:
                message(f"{p.export.endpoint} export {p.export.export_date}: {plural(len(p.export.partitions), 'partition')} listed, {len(p.present):,} already in the cache, {len(p.missing):,} to download.")
            needed = sum(p.bytes_needed for p in plans)
            message(f"To download: {bulk.gigabytes(needed)}; free on the cache's disk: {bulk.gigabytes(free)}.")

        def message(text: str) -> None:
            if not quiet:
                typer.echo(printable(text), err=True)

        def fetched(export, part, i: int, n: int) -> None:
            message(f"{export.endpoint} {i:,}/{n:,}: {part.display_name} ({part.size_text}, {part.records if part.records is not None else '?'} records) verified.")

        plans = bulk.download(cache, names, listing_url, on_plan=planned, on_partition=fetched)
        for p in plans:
            typer.echo(printable(
                f"{p.export.endpoint} export {p.export.export_date}: {plural(len(p.export.partitions), 'partition')} in {cache / p.export.folder} "
                f"({len(p.missing):,} downloaded now, {len(p.present):,} there before)."
            ), err=True)


@bulk_app.command("load")
def bulk_load(
    cache: Annotated[Path, typer.Argument(metavar="DIR", parser=input_path, help="The cache folder that kratom-ae bulk download filled.")],
    source: Annotated[SourceChoice, typer.Option(help="Which openFDA database: faers (drug/event), caers (food/event) or all.")] = SourceChoice.all,
    db: DbOption = DEFAULT_DB,
    terms: Annotated[Optional[Path], typer.Option("--terms", metavar="FILE", parser=input_path, help="CSV of search terms (columns term,match) instead of the bundled kratom list.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages.")] = False,
) -> None:
    """Read the kratom reports of the bulk files in DIR into the database, instead of fetching them.

    Every drug name of every report of the newest whole export is judged by kratom-ae's own matcher, so it finds names no openFDA search finds (KRA-TOM); the reports found go through the same shaping, case rules and tables as fetched ones. Each source is replaced whole and atomically, as by fetch.

    Example: kratom-ae bulk load openfda-bulk --source caers --db kratom.duckdb
    """
    names = source_names(source)
    done: list[str] = []

    def unchanged(closed: bool = True) -> str:
        return what_became(db, names, done, "load", closed)

    with user_errors(db, unchanged):
        from kratom_ae.ingest import store
        from kratom_ae.ingest.bulk_load import load_source
        from kratom_ae.ingest.errors import KratomAEError
        from kratom_ae.ingest.sources import SOURCES
        from kratom_ae.ingest.terms import load_terms

        def read(export, part, i: int, n: int, run: dict) -> None:
            if not quiet:
                set_aside = f", {run['set_aside']:,} set aside as malformed (see below)" if run["set_aside"] else ""
                typer.echo(printable(f"{export.endpoint} {i:,}/{n:,}: {part.display_name}: {plural(run['total_reported'], 'record')} read, {run['records_received']:,} kept for the matcher{set_aside}."), err=True)

        from kratom_ae.ingest.bulk import cached_export

        term_list = load_terms(terms)
        # Every source's export checked before one is replaced: a cache of CAERS alone must
        # not end a load of both with FAERS replaced and CAERS refused.
        for name in names:
            try:
                cached_export(cache, name)
            except KratomAEError as exc:
                others = [other for other in names if other != name]
                if not others or not cache.is_dir():  # not a folder of bulk files: no source helps
                    raise
                raise KratomAEError(f"{str(exc).rstrip('.')}; or load the other source alone: --source {others[0]}.") from None
        summary: list[str] = []
        with store.writing(db) as con:
            for name in names:
                try:
                    load_source(con, cache, SOURCES[name], term_list, on_partition=read)
                except KratomAEError as exc:
                    if not done:
                        raise
                    raise KratomAEError(f"{str(exc).rstrip('.')}; {unchanged(closed=False)}.") from None
                done.append(name)
                summary += held_summary(con, name, bulk=True)
        for line in summary:
            typer.echo(printable(line), err=True)


@bulk_app.command("background")
def bulk_background_command(
    cache: Annotated[Path, typer.Argument(metavar="DIR", parser=cache_folder, help="The cache folder that kratom-ae bulk download filled; the local background goes beside each export there.")],
    source: Annotated[SourceChoice, typer.Option(help="Which openFDA database: faers (drug/event), caers (food/event) or all.")] = SourceChoice.all,
    terms: Annotated[Optional[Path], typer.Option("--terms", metavar="FILE", parser=input_path, help="CSV of search terms (columns term,match) that flag kratom reports, instead of the bundled list.")] = None,
    with_cases: Annotated[bool, typer.Option("--cases", help="Also group the reports into probable cases by kratom-ae's case rules, for a background counted in cases.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages.")] = False,
) -> None:
    """Build the local background from the bulk files in DIR: every report, for signals --background local.

    Every record of the newest whole export goes through the same shaping as a fetched report; of each, the columns a background counts (received date, sex, age, country, seriousness, the case rules' fields, reaction terms, ingredients) are kept as Parquet files beside the export (docs/schema.md "The local background"). Partition by partition: a run stopped halfway keeps the partitions it finished, and the next run does the others.

    Example: kratom-ae bulk background openfda-bulk --source faers
    """
    names = source_names(source)
    with user_errors(None, "every partition already built is kept; run it again to resume"):
        from kratom_ae.ingest import bulk_background
        from kratom_ae.ingest.bulk import cached_export
        from kratom_ae.ingest.sources import SOURCES
        from kratom_ae.ingest.terms import load_terms
        from kratom_ae.queries.local_background import count_source

        def built(export, part, i: int, n: int, done) -> None:
            if quiet:
                return
            if done is None:
                what = "built before, kept"
            elif done["records_left_out"]:
                what = (f"{plural(done['records_read'], 'record')} read, {done['records_left_out']:,} left out as no report (not a JSON object, or no usable {SOURCES[export.source].id_field}: "
                        f"partition.json lists each), {done['records_read'] - done['records_left_out']:,} shaped, {done['reports_stored']:,} stored")
            else:
                what = f"{plural(done['records_read'], 'record')} shaped, {done['reports_stored']:,} stored"
            typer.echo(printable(f"{export.endpoint} {i:,}/{n:,}: {part.display_name}: {what}."), err=True)

        term_list = load_terms(terms)
        for name in names:  # every export checked before any is built
            cached_export(cache, name)
        for name in names:
            store = bulk_background.build(cache, SOURCES[name], term_list, on_partition=built)
            line = (f"{store.export.endpoint} export {store.export.export_date}: local background of "
                    f"{int(count_source(store)['totals']['total_reports'][0]):,} reports (latest version of each) in {plural(len(store.partitions), 'partition')}, in {store.folder}.")
            left_out = sum(p.get("records_left_out", 0) for p in store.provenance())
            if left_out:
                line += (f" {plural(left_out, 'record')} of the bulk files {'was' if left_out == 1 else 'were'} left out: not a JSON object, or no usable {SOURCES[name].id_field} "
                         "(each partition's partition.json lists its own, with its position).")
            if with_cases:
                bulk_background.group_cases(store)
                line += f" {int(count_source(store, unit='case')['totals']['total_reports'][0]):,} probable cases."
            typer.echo(printable(line), err=True)


meddra_app = typer.Typer(cls=PlainHelpGroup, no_args_is_help=True, rich_markup_mode=None, help="Use your own licensed MedDRA release.")
app.add_typer(meddra_app, name="meddra")


@meddra_app.command("load")
def meddra_load(
    folder: Annotated[Path, typer.Argument(metavar="DIR", parser=input_path, help="The MedDRA ASCII release folder (holding MedAscii/ or the .asc files).")],
    db: DbOption = DEFAULT_DB,
    encoding: Annotated[str, typer.Option(metavar="NAME", help="latin-1 for English releases, utf-8 for others.")] = "latin-1",
) -> None:
    """Load your licensed MedDRA release into the database.

    Reads mdhier.asc, pt.asc, llt.asc and soc.asc, so that `query reactions --by soc` groups terms by primary SOC and `query skin` uses the whole skin SOC. MedDRA is licensed: kratom-ae never ships it.

    Example: kratom-ae meddra load ~/meddra/MedDRA_27_1_English
    """
    loaded = False

    def unchanged() -> str:
        if loaded:  # committed, and then the checkpoint failed
            return f"the release was loaded, but {in_journal(db)}"
        return "the database is as it was before"

    with user_errors(db, unchanged):
        from kratom_ae.ingest import meddra, store

        with store.opened(db, allow=meddra.find_files(folder).values()) as con:
            info = meddra.load(con, folder, encoding)
            loaded = True
        version = f"MedDRA {info['version']}" if info["version"] else "MedDRA (version not found)"
        typer.echo(printable(f"Loaded {version}: {info['socs']} SOCs, {info['pts']:,} preferred terms, {info['llts']:,} lowest level terms into {db}."), err=True)


@app.command("sql")
def sql_command(
    statement: Annotated[str, typer.Argument(metavar="STATEMENT", help="One SQL query (DuckDB dialect).")],
    db: DbOption = DEFAULT_DB,
    output_format: Annotated[FormatChoice, typer.Option("--format", help="table, csv or json, on stdout.")] = FormatChoice.table,
    csv_file: Annotated[Optional[Path], typer.Option("--csv", metavar="FILE", parser=output_file, help="Also write the result to this CSV file.")] = None,
    key: Annotated[
        Optional[str], typer.Option("--key", metavar="COLUMNS", help="Columns (a,b) that tell the rows apart: a table too wide for the terminal repeats them in every part (default: the first column).")
    ] = None,
    unguarded: UnguardedOption = False,
) -> None:
    """Run one read-only SQL query of your own.

    The tables are reports, products, reactions, raw_reports, fetch_runs (and meddra_* once loaded); scope_reports and scope_reactions (joined by report_key) hold the kratom reports and their terms, with no filter.

    Example: kratom-ae sql "SELECT sex, count(*) AS reports FROM scope_reports GROUP BY sex"
    """
    with user_errors(db):
        from kratom_ae.cli.output import print_result
        from kratom_ae.ingest import store
        from kratom_ae.cli.terminal import print_data
        from kratom_ae.queries import export, outputs
        from kratom_ae.queries.library import read_only_query

        outputs.check_csv_option(csv_file, db, provenance=False)
        con = store.connect(db, read_only=True)
        try:
            result = read_only_query(con, statement, key or "")
        finally:
            con.close()
        if csv_file:
            outputs.write_csv_option(csv_file, db, export.csv_text(result.frame(), not unguarded))
        if output_format is FormatChoice.json:
            print_data(result.json_text() + "\n")
        else:
            emit(result.frame(), output_format, lambda: print_result(result), not unguarded)


@app.command("cases")
def cases_command(
    db: DbOption = DEFAULT_DB,
    source: SourceFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
    role: RoleFilter = None,
    serious: SeriousFilter = False,
    term: Annotated[Optional[list[str]], typer.Option("--term", help="Only reports naming this MedDRA term, in any spelling (repeat for several: any of them).")] = None,
    skin: Annotated[bool, typer.Option("--skin", help="Only reports naming a skin term (those of the skin table).")] = False,
    pigmentation: Annotated[bool, typer.Option("--pigmentation", help="Only reports naming a pigmentation term (the skin table's pigmentation row).")] = False,
    soc: Annotated[Optional[str], typer.Option("--soc", help="Only reports naming a term of this MedDRA primary SOC (needs `meddra load`).")] = None,
    output_format: Annotated[FormatChoice, typer.Option("--format", help="table, csv or json, on stdout.")] = FormatChoice.table,
    csv_file: Annotated[Optional[Path], typer.Option("--csv", metavar="FILE", parser=output_file, help="Also write the listing to this CSV file (with FILE.provenance.json beside it).")] = None,
    unguarded: UnguardedOption = False,
) -> None:
    """The line listing behind a number: one row per kratom report in scope, with its dates, patient, reporter, seriousness, each reaction with its outcome, the kratom and other products by role, and the probable case it belongs to (case_id, case_rule). Read the reports behind a count, then count the distinct case_id values.

    Example: kratom-ae cases --pigmentation --csv pigmentation_cases.csv
    """
    with user_errors(db):
        from kratom_ae.cli.output import print_table
        from kratom_ae.ingest import store
        from kratom_ae.queries import export, library, outputs

        filters = make_filters(source, since, until, role, serious, None)
        narrowed = library.Listing(tuple(term or ()), skin, pigmentation, soc)
        table = library.find("cases")
        outputs.check_csv_option(csv_file, db)
        con = store.connect(db, read_only=True)
        try:
            library.prepare_scope(con, filters)
            frame = library.listing(con, filters, narrowed)
            if csv_file:
                outputs.write_csv_option(csv_file, db, export.csv_text(frame, not unguarded), export.provenance_text(con, db, filters, {table.name: table}, listing=narrowed, guard=not unguarded))
        finally:
            con.close()
        emit(frame, output_format, lambda: print_table(frame, table, filters), not unguarded)
        if csv_file:
            typer.echo(printable(f"Wrote {csv_file} and {csv_file}.provenance.json."), err=True)


@app.command("profile")
def profile_command(
    terms: Annotated[Optional[list[str]], typer.Argument(metavar="TERM", help="MedDRA terms to profile, in any spelling (HYPERPIGMENTATION, \"skin discolouration\").", show_default=False)] = None,
    db: DbOption = DEFAULT_DB,
    hyperpigmentation: Annotated[bool, typer.Option("--hyperpigmentation", help="Profile any hyperpigmentation term (the skin tables' hyperpigmentation row).")] = False,
    pigmentation: Annotated[bool, typer.Option("--pigmentation", help="Profile any pigmentation term (the skin table's pigmentation row).")] = False,
    skin: Annotated[bool, typer.Option("--skin", help="Profile any skin term (the skin table's first row).")] = False,
    source: SourceFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
    role: RoleFilter = None,
    serious: SeriousFilter = False,
    unit: UnitFilter = None,
    output_format: Annotated[FormatChoice, typer.Option("--format", help="table, csv or json, on stdout.")] = FormatChoice.table,
    csv_file: CsvOption = None,
    unguarded: UnguardedOption = False,
) -> None:
    """A clinical profile of a reaction: how often it is the only reaction, the outcome of that reaction (with 95% Wilson CIs) beside the report-level seriousness, time to onset and duration of kratom use, kratom's role, route and dose, dechallenge, rechallenge, and co-reported drugs known to pigment the skin (docs/methods.md, Clinical profile).

    Example: kratom-ae profile --hyperpigmentation --unit case --csv hyperpigmentation.csv
    """
    with user_errors(db):
        from kratom_ae.cli.output import print_table
        from kratom_ae.ingest import store
        from kratom_ae.queries import export, library, outputs

        filters = make_filters(source, since, until, role, serious, None, unit)
        groups = tuple(name for name, asked in (("hyperpigmentation", hyperpigmentation), ("pigmentation", pigmentation), ("skin", skin)) if asked)
        table = library.profile_query()
        outputs.check_csv_option(csv_file, db)
        con = store.connect(db, read_only=True)
        try:
            library.prepare_scope(con, filters)
            frame = library.profile(con, filters, tuple(terms or ()), groups)
            warning = store.synthetic_warning(store.synthetic_sources(con))
            if csv_file:
                outputs.write_csv_option(csv_file, db, export.csv_text(frame, not unguarded), export.provenance_text(con, db, filters, {table.name: table}, guard=not unguarded))
        finally:
            con.close()
        emit(frame, output_format, lambda: print_table(frame, table, filters, None, warning), not unguarded)
        if csv_file:
            typer.echo(printable(f"Wrote {csv_file} and {csv_file}.provenance.json."), err=True)


class JudgedChoice(str, enum.Enum):
    all = "all"
    kratom = "kratom"
    look_alike = "look-alike"
    not_kratom = "not-kratom"
    near_miss = "near-miss"


@app.command("terms")
def terms_command(
    db: DbOption = DEFAULT_DB,
    source: SourceFilter = None,
    judged: Annotated[JudgedChoice, typer.Option("--judged", help="Only the names judged kratom, the look-alikes an exclude term kept out, the other names, the other names one edit from a term (near-miss), or all.")] = JudgedChoice.all,
    output_format: Annotated[FormatChoice, typer.Option("--format", help="table, csv or json, on stdout.")] = FormatChoice.table,
    csv_file: Annotated[Optional[Path], typer.Option("--csv", metavar="FILE", parser=output_file, help="Also write the list to this CSV file.")] = None,
    unguarded: UnguardedOption = False,
) -> None:
    """Audit the kratom decision: every product name in the fetched reports, judged kratom or not, with the search term, field and name that matched (or the exclude term that kept a look-alike out), the term's reason, and how many reports name it. Review it before you publish; change the decision with your own terms file (fetch --terms).

    Example: kratom-ae terms --judged look-alike
    """
    with user_errors(db):
        from kratom_ae.cli.output import print_kratom_names
        from kratom_ae.ingest import store
        from kratom_ae.queries import export, library, outputs

        outputs.check_csv_option(csv_file, db, provenance=False)
        con = store.connect(db, read_only=True)
        try:
            frame = library.kratom_names(con, source.value if source else "all", judged.value)
        finally:
            con.close()
        if csv_file:
            outputs.write_csv_option(csv_file, db, export.csv_text(frame, not unguarded))
        emit(frame, output_format, lambda: print_kratom_names(frame), not unguarded)
        if csv_file:
            typer.echo(printable(f"Wrote {csv_file}."), err=True)


@app.command("ingredients")
def ingredients_command(
    db: DbOption = DEFAULT_DB,
    source: SourceFilter = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Only product names or ingredients containing this (any case, punctuation ignored), such as gabapentin.")] = None,
    output_format: Annotated[FormatChoice, typer.Option("--format", help="table, csv or json, on stdout.")] = FormatChoice.table,
    csv_file: Annotated[Optional[Path], typer.Option("--csv", metavar="FILE", parser=output_file, help="Also write the list to this CSV file.")] = None,
    unguarded: UnguardedOption = False,
) -> None:
    """Audit the ingredient mapping: every product name of the kratom reports, the active ingredient(s) `query drugs` counts it under, the field each came from (openFDA's generic or substance names, the sender's active substance, or the name itself) and how many kratom reports name it.

    Example: kratom-ae ingredients --name gabapentin
    """
    with user_errors(db):
        from kratom_ae.cli.output import print_ingredient_names
        from kratom_ae.ingest import store
        from kratom_ae.queries import export, library, outputs

        outputs.check_csv_option(csv_file, db, provenance=False)
        con = store.connect(db, read_only=True)
        try:
            frame = library.ingredient_names(con, source.value if source else "all", name)
        finally:
            con.close()
        if csv_file:
            outputs.write_csv_option(csv_file, db, export.csv_text(frame, not unguarded))
        emit(frame, output_format, lambda: print_ingredient_names(frame), not unguarded)
        if csv_file:
            typer.echo(printable(f"Wrote {csv_file}."), err=True)


@app.command("raw")
def raw_command(
    source: Annotated[RawSource, typer.Argument(help="faers or caers.")],
    report_id: Annotated[str, typer.Argument(help="The report's id: FAERS safetyreportid, CAERS report_number.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Print one report's openFDA record, the JSON text exactly as openFDA sent it (the raw records are stored compressed; docs/schema.md "The raw records").

    Example: kratom-ae raw faers 10003301 | python -m json.tool
    """
    with user_errors(db):
        from kratom_ae.ingest import raw, store
        from kratom_ae.ingest.errors import KratomAEError

        con = store.connect(db, read_only=True)
        try:
            text = raw.record(con, source.value, report_id)
        finally:
            con.close()
        if text is None:
            raise KratomAEError(f"No {source.value} report {report_id} is stored in {db}; `kratom-ae cases` lists the reports.")
        typer.echo(text)


def main() -> None:
    app(prog_name="kratom-ae")


if __name__ == "__main__":
    main()
