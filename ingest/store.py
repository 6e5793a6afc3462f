"""The DuckDB side: opening the database, staging a fetch and publishing it atomically."""

from __future__ import annotations

import functools
import re
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

from ingest.errors import KratomAEError

DEFAULT_DB = "kratom-ae.duckdb"
WRITE_MEMORY_LIMIT = "256MB"


def sql(name: str) -> str:
    """The text of ingest/sql/<name>.sql."""
    return resources.files("ingest").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (or create) the database and make sure the schema exists.

    DuckDB lets one process write a file at a time; a second one gets a lock error, which
    becomes one sentence here instead of a traceback.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise KratomAEError(f"There is no database at {path}; run `kratom-ae fetch` first or pass --db.")
    if not read_only and not path.parent.exists():
        raise KratomAEError(f"Cannot create the database {path}: the folder {path.parent} does not exist.")
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
        raise KratomAEError(f"Cannot open the database {path}: {first_line(message)}.") from None
    except duckdb.Error as exc:
        raise KratomAEError(f"Cannot open the database {path}: {first_line(str(exc))}.") from None
    # DuckDB's own progress bar would write to the user's terminal, even with --quiet.
    con.execute("SET enable_progress_bar = false")
    expected = schema_columns()
    if any(names != expected[table] for table, names in columns(con).items() if table in expected):
        con.close()
        raise KratomAEError(
            f"The database {path} was made by another version of kratom-ae and its tables differ from this one's; fetch into a new file with --db, or delete it and fetch again."
        )
    if not read_only:
        con.execute(sql("schema"))
    return con


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
    """A connection for a fetch. If the database did not exist and the fetch fails, the
    file is removed again, so a failed first fetch leaves nothing behind."""
    path = Path(path)
    existed = path.exists()
    con = connect(path)
    try:
        yield con
    except BaseException:
        con.close()
        if not existed:
            for leftover in (path, path.with_name(path.name + ".wal")):
                leftover.unlink(missing_ok=True)
        raise
    con.close()


def first_line(message: str) -> str:
    return message.strip().splitlines()[0].rstrip(".") if message.strip() else "unknown error"


def publish(con: duckdb.DuckDBPyConnection, source: str, runs: list[dict], staging_path: Path, raw_files: list[str]) -> None:
    """Swap a fetch's staged rows (in its scratch database, and the raw records in the Parquet
    files raw_files) in for the source's old ones and record its runs, in one transaction."""
    con.execute("ATTACH $path AS staging (READ_ONLY)", {"path": str(staging_path)})
    # DuckDB cannot size read_parquet of a list held in a variable (it estimates 0 rows), and
    # would then build the hash table of `stage_seq IN (winners)` from the raw records: every
    # raw record in memory at once, out of memory from a few hundred MB of reports on.
    con.execute("SET disabled_optimizers = 'build_side_probe_side'")
    try:
        con.begin()
        try:
            con.execute("SET VARIABLE source = $source", {"source": source})
            con.execute("SET VARIABLE raw_files = $files", {"files": raw_files})
            con.execute(sql("publish"))
            con.execute(sql("publish_problems"))
            frame = pd.DataFrame.from_records(runs)  # noqa: F841 (read by DuckDB by name)
            con.execute("INSERT INTO fetch_runs BY NAME SELECT * FROM frame")
            con.commit()
        except BaseException:
            con.rollback()
            raise
    finally:
        con.execute("RESET disabled_optimizers")
        con.execute("DETACH staging")


def has_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """False for a DuckDB file that kratom-ae never fetched into."""
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'fetch_runs'").fetchone()[0] == 1


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
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = $name", {"name": name}).fetchone()[0] > 0


def malformed_records(con: duckdb.DuckDBPyConnection, source: str, limit: int) -> list[tuple[str, str]]:
    """(report_id, its problems) of the first `limit` records of a source that broke a rule
    for malformed records, by report_id."""
    return con.execute(sql("malformed_records"), {"source": source, "limit": limit}).fetchall()
