"""The DuckDB side: opening the database, staging a fetch and publishing it atomically."""

from __future__ import annotations

import re
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

from ingest.errors import KratomAEError

DEFAULT_DB = "kratom-ae.duckdb"
STAGE_TABLES = {"report": "stage_reports", "products": "stage_products", "reactions": "stage_reactions", "raw": "stage_raw"}


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
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" in message.lower():
            pid = re.search(r"PID (\d+)", message)
            holder = f" (process {pid.group(1)})" if pid else ""
            raise KratomAEError(f"The database {path} is in use by another program{holder}; close it and try again.") from None
        raise KratomAEError(f"Cannot open the database {path}: {first_line(message)}.") from None
    except duckdb.Error as exc:
        raise KratomAEError(f"Cannot open the database {path}: {first_line(str(exc))}.") from None
    if not read_only:
        con.execute(sql("schema"))
    return con


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


def begin_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Start the fetch's transaction and create its empty staging tables."""
    con.begin()
    con.execute(sql("staging"))


def stage(con: duckdb.DuckDBPyConnection, shaped: list[dict], first_seq: int) -> None:
    """Append one page's shaped reports (from faers/caers.report_rows) to the staging tables."""
    rows: dict[str, list[dict]] = {key: [] for key in STAGE_TABLES}
    for offset, item in enumerate(shaped):
        seq = first_seq + offset
        rows["report"].append({"stage_seq": seq, **item["report"]})
        rows["raw"].append({"stage_seq": seq, **item["raw"]})
        rows["products"] += [{"stage_seq": seq, **p} for p in item["products"]]
        rows["reactions"] += [{"stage_seq": seq, **r} for r in item["reactions"]]
    for key, table in STAGE_TABLES.items():
        if rows[key]:
            frame = pd.DataFrame.from_records(rows[key])  # noqa: F841 (read by DuckDB by name)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")


def publish(con: duckdb.DuckDBPyConnection, source: str, runs: list[dict]) -> None:
    """Swap the staged rows in for the source's old ones, record the runs, and commit."""
    con.execute("SET VARIABLE source = $source", {"source": source})
    con.execute(sql("publish"))
    frame = pd.DataFrame.from_records(runs)  # noqa: F841
    con.execute("INSERT INTO fetch_runs BY NAME SELECT * FROM frame")
    con.commit()


def has_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """False for a DuckDB file that kratom-ae never fetched into."""
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'fetch_runs'").fetchone()[0] == 1


def status(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per fetched source (see ingest/sql/status.sql); empty if nothing was fetched."""
    if not has_schema(con):
        return pd.DataFrame()
    return con.execute(sql("status")).df()
