"""The DuckDB side: opening the database, staging a fetch and publishing it atomically."""

from __future__ import annotations

import functools
import re
import tempfile
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

from ingest import failures
from ingest.errors import KratomAEError

DEFAULT_DB = "kratom-ae.duckdb"
WRITE_MEMORY_LIMIT = "256MB"


def sql(name: str) -> str:
    """The text of ingest/sql/<name>.sql."""
    return resources.files("ingest").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (or create) the database and make sure the schema exists.

    DuckDB lets one process write a file at a time; a second one gets a lock error, which
    becomes one sentence here instead of a traceback. A file cut short is refused here too,
    before anything reads or writes it.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise KratomAEError(f"There is no database at {path}; run `kratom-ae fetch` first or pass --db.")
    if not read_only and not path.parent.exists():
        raise KratomAEError(f"Cannot create the database {path}: the folder {path.parent} does not exist.")
    if not read_only and "?" in str(path.resolve()):
        # DuckDB names the journal by inserting ".wal" before the first "?" of the path, so
        # every write would go to a file in another folder, or fail.
        raise KratomAEError(f"DuckDB cannot write a database whose path contains '?' ({path}); rename the folder or the file, or choose another --db.")
    try:
        # A fetch publishes whole sources: bounded memory makes DuckDB spill instead of
        # growing with the number of reports.
        con = duckdb.connect(str(path), read_only=read_only, config={} if read_only else {"memory_limit": WRITE_MEMORY_LIMIT})
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
        check_size(con, path)
        # DuckDB's own progress bar would write to the user's terminal, even with --quiet.
        con.execute("SET enable_progress_bar = false")
        expected = schema_columns()
        if any(names != expected[table] for table, names in columns(con).items() if table in expected):
            raise KratomAEError(
                f"The database {path} was made by another version of kratom-ae and its tables differ from this one's; fetch into a new file with --db, or delete it and fetch again."
            )
        if not read_only:
            con.execute(sql("schema"))
    except BaseException as exc:
        con.close()
        if failures.is_damage(exc):
            raise KratomAEError(failures.damage_sentence(path, exc)) from None
        raise
    return con


def check_size(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse a file shorter than the blocks its header lists: a copy or download cut short.
    DuckDB itself would only notice when a query reaches a missing block."""
    block_size, total_blocks = con.execute(
        "SELECT block_size, total_blocks FROM pragma_database_size() WHERE database_name = current_database()"
    ).fetchone()
    blocks, actual = block_size * total_blocks, path.stat().st_size
    # The headers' size is asked of DuckDB only for a file that is not plainly too short.
    if total_blocks and (actual < blocks or actual < blocks + header_bytes()):
        raise KratomAEError(failures.damage_sentence(path, f"the file has {actual:,} bytes but its header lists {blocks + header_bytes():,}: it was cut short"))


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
    """A connection for a fetch, on a database checked to be whole. If the database did not
    exist and the fetch fails, the file is removed again, so a failed first fetch leaves
    nothing behind."""
    path = Path(path)
    existed = path.exists()
    con = connect(path)
    try:
        check_intact(con, path)
        yield con
    except BaseException:
        close_quietly(con)
        if not existed:
            for leftover in (path, path.with_name(path.name + ".wal")):
                leftover.unlink(missing_ok=True)
        raise
    con.close()


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


def first_line(message: str) -> str:
    return message.strip().splitlines()[0].rstrip(".") if message.strip() else "unknown error"


def publish(con: duckdb.DuckDBPyConnection, source: str, runs: list[dict], staging_path: Path, raw_files: list[str]) -> None:
    """Swap a fetch's staged rows (in its scratch database, and the raw records in the Parquet
    files raw_files) in for the source's old ones and record its runs, in one transaction."""
    con.execute("ATTACH $path AS staging (READ_ONLY)", {"path": str(staging_path)})
    try:
        con.begin()
        try:
            con.execute("SET VARIABLE source = $source", {"source": source})
            con.execute("SET VARIABLE raw_files = $files", {"files": raw_files})
            con.execute(sql("publish"))
            frame = pd.DataFrame.from_records(runs)  # noqa: F841 (read by DuckDB by name)
            con.execute("INSERT INTO fetch_runs BY NAME SELECT * FROM frame")
            con.execute(sql("views"))
            con.commit()
        except BaseException:
            rollback_quietly(con)
            raise
    finally:
        with suppress(duckdb.Error):
            con.execute("DETACH staging")


def has_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """False for a DuckDB file that kratom-ae never fetched into."""
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'fetch_runs'").fetchone()[0] == 1


def status(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per fetched source (see ingest/sql/status.sql); empty if nothing was fetched."""
    if not has_schema(con):
        return pd.DataFrame()
    return con.execute(sql("status")).df()
