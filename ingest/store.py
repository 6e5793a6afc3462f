"""The user's database: opening it (one writer at a time, file access off), checking it is
whole, and closing it with what was committed written into the file. Publishing a fetch into
it is ingest/publish.py."""

from __future__ import annotations

import functools
import re
import shutil
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterable

import duckdb
import pandas as pd

from kratom_ae.ingest import dbfile, failures
from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest.scratch import new_scratch_folder, remove_leftovers
from kratom_ae.ingest.sqlfiles import sql
from kratom_ae.ingest.text import first_line

DEFAULT_DB = "kratom-ae.duckdb"
WRITE_MEMORY_LIMIT = "256MB"
# Reading a database whole to check it (check_intact) is a scan: it needs little, and what it
# read stays in the buffers until the connection closes.
CHECK_MEMORY_LIMIT = "64MB"
# How DuckDB names the files it spills (duckdb_temp_storage-..., duckdb_temp_block-...).
SPILL_PREFIX = "duckdb_temp"


def connect(
    path: str | Path, read_only: bool = False, *, allow: Iterable[Path] = (), memory_limit: str | None = None, read_whole: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open (or create) the database and make sure the schema exists. DuckDB may use
    `memory_limit` (by default WRITE_MEMORY_LIMIT for writing, its own default for reading).
    With `read_whole`, every value is read first (check_intact), as it is anyway when the
    file's size cannot tell whether it was cut short (check_size).

    DuckDB lets one process write a file at a time; a second one gets a lock error, which
    becomes one sentence here instead of a traceback. A file cut short is refused here too,
    before anything reads or writes it.

    Access to files is off before anything in the database runs: a database someone else
    made could hold a view named like one of the tables that reads the user's files
    (read_csv('/etc/passwd')). `allow` names the folders and files a connection may still
    read (a fetch's scratch folder, a MedDRA release); nothing else outside the database.
    """
    path = Path(path)
    allow = [Path(p) for p in allow]
    if read_only and not path.exists():
        raise KratomAEError(f"There is no database at {path}; run `kratom-ae fetch` first or pass --db.")
    if dbfile.is_other_file(path):
        # DuckDB would open it as an in-memory database, and lose what was written to it.
        raise KratomAEError(f"{path} is not a DuckDB database, so kratom-ae neither reads it nor writes into it; give --db a database, or a new file name.")
    if not read_only:
        check_folder(path)
    config = {} if allow else {"enable_external_access": False}
    if memory_limit:
        config["memory_limit"] = memory_limit
    elif not read_only:
        # A fetch publishes whole sources: bounded memory makes DuckDB spill instead of
        # growing with the number of reports.
        config["memory_limit"] = WRITE_MEMORY_LIMIT
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" in message.lower():
            pid = re.search(r"PID (\d+)", message)
            holder = f" (process {pid.group(1)})" if pid else ""
            raise KratomAEError(f"The database {path} is in use by another program{holder}; close it and try again.") from None
        if failures.is_damage(exc):
            raise KratomAEError(failures.damage_sentence(path, exc)) from None
        raise KratomAEError(f"Cannot open the database {path}: {first_line(message)}.") from None
    except duckdb.Error as exc:
        if failures.is_damage(exc):
            raise KratomAEError(failures.damage_sentence(path, exc)) from None
        raise KratomAEError(f"Cannot open the database {path}: {first_line(str(exc))}.") from None
    try:
        if allow:
            allow_only(con, allow)
        size_cannot_tell = check_size(con, path)
        # DuckDB's own progress bar would write to the user's terminal, even with --quiet.
        con.execute("SET enable_progress_bar = false")
        check_tables(con, path)
        if size_cannot_tell or read_whole:
            check_intact(con, path)  # after check_tables: it runs SQL the database could stand in for
        if not read_only:
            con.execute(sql("schema"))
    except BaseException as exc:
        con.close()
        if failures.is_damage(exc):
            raise KratomAEError(failures.damage_sentence(path, exc)) from None
        raise
    return con


def check_folder(path: Path) -> None:
    if not path.parent.exists():
        raise KratomAEError(f"Cannot create the database {path}: the folder {path.parent} does not exist.")
    if "?" in str(path.resolve()):
        # DuckDB names the journal by inserting ".wal" before the first "?" of the path, so
        # every write would go to a file in another folder, or fail.
        raise KratomAEError(f"DuckDB cannot write a database whose path contains '?' ({path}); rename the folder or the file, or choose another --db.")


def allow_only(con: duckdb.DuckDBPyConnection, paths: list[Path]) -> None:
    """Switch file access off, except for these folders and files (and the database's own)."""
    folders = [str(p.resolve()) for p in paths if p.is_dir()]
    files = [str(p.resolve()) for p in paths if not p.is_dir()]
    con.execute("SET allowed_directories = $paths", {"paths": folders})
    con.execute("SET allowed_paths = $paths", {"paths": files})
    con.execute("SET enable_external_access = false")


def check_tables(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """The tables of this version's schema, if present, must be tables with its columns, and
    nothing in the database may stand in for kratom-ae's own SQL."""
    impostor = impostors(con)
    if impostor:
        raise KratomAEError(f"The database {path} has {impostor}, so it was not made by kratom-ae and is not opened.")
    expected = schema_columns()
    if any(names != expected[table] for table, names in columns(con).items() if table in expected):
        raise KratomAEError(
            f"The database {path} was made by another version of kratom-ae and its tables differ from this one's; fetch into a new file with --db, or delete it and fetch again."
        )


def impostors(con: duckdb.DuckDBPyConnection) -> str | None:
    """What in the database would run in place of kratom-ae's own SQL: a function (macro)
    named like one of DuckDB's, which DuckDB calls instead of its own, or a view named like a
    table of schema.sql. Asked of DuckDB's catalog functions by their full names
    (system.main), with no other function, and filtered here: the database's own functions
    could stand in for any other."""
    database = con.execute("SELECT system.main.current_database()").fetchone()[0]
    functions = con.execute("SELECT database_name, function_name, internal FROM system.main.duckdb_functions()").fetchall()
    built_in = {name for _, name, internal in functions if internal}
    standing_in = sorted({name for db, name, internal in functions if db == database and not internal and name in built_in})
    if standing_in:
        return f"its own function {standing_in[0]} in place of DuckDB's"
    views = con.execute("SELECT database_name, schema_name, view_name, temporary FROM system.main.duckdb_views()").fetchall()
    posing = sorted({name for db, schema, name, temporary in views if db == database and schema == "main" and not temporary} & set(schema_columns()))
    if posing:
        return f"a view called {posing[0]} where kratom-ae keeps a table"
    return None


def names(con: duckdb.DuckDBPyConnection, query: str) -> list[str]:
    return [row[0] for row in con.execute(query).fetchall()]


def check_size(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Refuse a file cut short: a copy or download that stopped early. DuckDB writes its
    headers, then whole blocks, and the blocks in use must all be there. Not the blocks its
    header lists in total_blocks: DuckDB 2.0 cuts free blocks off the end of the file at a
    checkpoint and still counts them (a database fetched into three times was refused as
    damaged). DuckDB itself would only notice when a query reaches a missing block.

    Returns True when the size cannot tell: the file ends inside a block, but DuckDB's journal
    (DB.wal) is beside it. A checkpoint that a full disk or a file-size limit stopped leaves
    exactly that: the start of a block written past the end, which the header does not list,
    and the journal with what was committed since the last checkpoint, which DuckDB applies
    whenever it opens the database (also read-only) and writes into the file at the next
    checkpoint that succeeds. Only reading every value then tells such a file from one cut
    short inside a block in use."""
    block_size, used_blocks = con.execute(
        "SELECT block_size, used_blocks FROM pragma_database_size() WHERE database_name = current_database()"
    ).fetchone()
    if not used_blocks:
        return False
    actual, header = path.stat().st_size, header_bytes()
    whole_blocks, rest = divmod(actual - header, block_size)
    if whole_blocks >= used_blocks and (not rest or dbfile.journal_of(path).exists()):
        return bool(rest)
    raise KratomAEError(
        failures.damage_sentence(
            path,
            f"the file has {actual:,} bytes, not {header:,} bytes of headers and whole blocks of {block_size:,} bytes, "
            f"at least the {used_blocks:,} in use: it was cut short",
        )
    )


@functools.cache
def header_bytes() -> int:
    """The bytes before a DuckDB file's first block (12,288 today), measured on a new file
    rather than assumed, so that another storage layout is never taken for damage."""
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe.duckdb"
        con = duckdb.connect(str(probe))
        try:
            con.execute("CREATE TABLE t AS SELECT 1 AS x")
            con.execute("CHECKPOINT")
            block_size, total_blocks = con.execute(
                "SELECT block_size, total_blocks FROM pragma_database_size() WHERE database_name = current_database()"
            ).fetchone()
        finally:
            con.close()
        return max(0, probe.stat().st_size - block_size * total_blocks)


def check_intact(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Read every value of every table, so that DuckDB verifies each block's checksum. A fetch
    does this before it downloads anything: a damaged file would otherwise only fail when the
    download is done and published."""
    for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'").fetchall():
        try:
            con.execute(f'SELECT bit_xor(hash(COLUMNS(*))) FROM "{table}"').fetchall()
        except duckdb.Error as exc:
            if failures.is_damage(exc):
                raise KratomAEError(failures.damage_sentence(path, exc)) from None
            raise


def columns(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, ...]]:
    """Each table of the database with its column names, in order."""
    rows = con.execute(
        "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' GROUP BY table_name"
    ).fetchall()
    return {table: tuple(names) for table, names in rows}


@functools.cache
def schema_columns() -> dict[str, tuple[str, ...]]:
    """The tables this version's schema.sql makes. A database's table with the same name but
    other columns comes from another version: reading it could count wrongly."""
    reference = duckdb.connect()
    try:
        reference.execute(sql("schema"))
        return columns(reference)
    finally:
        reference.close()


@contextmanager
def writing(path: str | Path):
    """A connection for a fetch, which may read no file but its own scratch folder beside
    the database (see connect). A database that exists is first read whole (check_intact).
    Holding the database's write lock, it then removes what killed fetches left beside it. If
    the database did not exist and the fetch fails before any source was published, the file
    is removed again, so a failed first fetch leaves nothing behind; a source that was
    published (--source all) is kept. At the end, DuckDB writes what was committed into the
    file (checkpoint), and a failure to do so is raised."""
    path = Path(path)
    existed = path.exists()
    check_folder(path)
    if existed:
        # On a connection of its own, closed before the fetch: DuckDB keeps the blocks it read
        # in its buffers while the connection is open, 256 MB of a database of 300,000 reports,
        # which a second fetch into it then carried to its end (peak 552 MB against 323).
        connect(path, read_only=True, memory_limit=CHECK_MEMORY_LIMIT, read_whole=True).close()
    try:
        scratch = new_scratch_folder(path.resolve())
    except OSError as exc:  # named by the folder the user chose, not the scratch folder's random name
        raise OSError(exc.errno, exc.strerror, str(path.parent)) from None
    try:
        con = connect(path, allow=[Path(scratch.name)])
    except BaseException:
        scratch.cleanup()
        raise
    try:
        remove_leftovers(path.resolve(), keep=Path(scratch.name))
        remove_spill_folder(con, path)
        yield con
    except BaseException:
        keep = existed or published(con)
        close_quietly(con)
        if not keep:
            for leftover in (path, dbfile.journal_of(path)):
                leftover.unlink(missing_ok=True)
        raise
    else:
        close_written(con)
    finally:
        scratch.cleanup()


def published(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any source was published into the database (each leaves its fetch_runs)."""
    try:
        return con.execute("SELECT count(*) FROM fetch_runs").fetchone()[0] > 0
    except duckdb.Error:
        return True  # cannot tell: keeping a file is better than losing a published source


def remove_spill_folder(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """DuckDB spills to a folder beside the database (DB.duckdb.tmp) and removes it when it
    closes, but a killed process leaves it, and DuckDB never removes a folder it did not make.
    Called while holding the write lock and before anything spilled, so no one uses it. Only a
    folder of DuckDB's own files (duckdb_temp_...) is removed: a folder of the user's that
    happens to have that name is left alone."""
    folder = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0] or "")
    if folder.name != f"{path.name}.tmp" or folder.is_symlink() or not folder.is_dir():
        return
    entries = list(folder.iterdir())
    if all(entry.name.startswith(SPILL_PREFIX) and entry.is_file() and not entry.is_symlink() for entry in entries):
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def opened(path: str | Path, read_only: bool = False, **options):
    """connect(), for a command that is not a fetch (store.writing is the fetch's): closed at
    the end, and if it may write (signals' background cache, meddra load), DuckDB first writes
    what was committed into the file, so that a failure to (a full disk, a file-size limit) is
    raised instead of passing in silence at close."""
    con = connect(path, read_only=read_only, **options)
    try:
        yield con
    except BaseException:
        close_quietly(con)
        raise
    if read_only:
        con.close()
    else:
        close_written(con)


def close_written(con: duckdb.DuckDBPyConnection) -> None:
    """Close a connection that wrote, after DuckDB has written what was committed into the
    file: a failure to is raised (the file is kept: what was committed is in the journal)."""
    try:
        checkpoint(con)
    except BaseException:
        close_quietly(con)
        raise
    con.close()


def checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Write what was committed from DuckDB's journal into the database file now. DuckDB would
    do it when the connection closes, but says nothing there when it cannot (a full disk, a
    file-size limit), so a fetch would end as if all were well. A commit is kept in the
    journal either way: DuckDB applies it whenever it opens the database. A failed checkpoint
    leaves the connection unusable (DuckDB's FatalException)."""
    con.execute("CHECKPOINT")


def close_quietly(con: duckdb.DuckDBPyConnection) -> None:
    """Close after a failure: an error here (DuckDB may refuse further work once a write has
    failed) must not hide the failure itself."""
    with suppress(duckdb.Error):
        con.close()


def rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back after a failure. DuckDB has often ended the transaction itself already (a
    commit that failed, a query interrupted by Ctrl-C): "cannot rollback - no transaction is
    active" must not hide the failure that caused it."""
    with suppress(duckdb.Error):
        con.rollback()


def has_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """False for a DuckDB file that kratom-ae never fetched into."""
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'fetch_runs'").fetchone()[0] == 1


def synthetic_sources(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The sources whose reports came from a server that calls its data synthetic in
    meta.disclaimer (kratom-ae's test fixtures and `make demo` do; openFDA does not)."""
    if not has_schema(con):
        return []
    return names(con, "SELECT DISTINCT source FROM fetch_runs WHERE disclaimer ILIKE '%synthetic%' ORDER BY source")


def synthetic_warning(sources: list[str]) -> str | None:
    """What every view of synthetic data says, so that no demo number passes for FDA data."""
    if not sources:
        return None
    return (
        f"SYNTHETIC DATA: the {' and '.join(sources)} reports in this database come from a server that calls them synthetic "
        "(kratom-ae's test fixtures, `make demo`), not from openFDA; no number made from them describes real reports."
    )


def status(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per fetched source (see ingest/sql/status.sql); empty if nothing was fetched."""
    if not has_schema(con):
        return pd.DataFrame()
    checked = has_table(con, "fetch_problems")
    if not checked:  # fetched by a kratom-ae that did not check records (opened read-only)
        con.execute("CREATE TEMP TABLE fetch_problems AS SELECT ''::VARCHAR AS source, ''::VARCHAR AS report_id, ''::VARCHAR AS problem, true AS stored LIMIT 0")
    frame = con.execute(sql("status")).df()
    if not checked:
        frame["malformed_records"] = None
    return frame


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    # fetchall: a result left unfinished would refuse the next con.register().
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = $name", {"name": name}).fetchall()[0][0] > 0


def malformed_records(con: duckdb.DuckDBPyConnection, source: str, limit: int) -> list[tuple[str, str]]:
    """(report_id, its problems) of the first `limit` records of a source that broke a rule
    for malformed records, by report_id."""
    return con.execute(sql("malformed_records"), {"source": source, "limit": limit}).fetchall()
