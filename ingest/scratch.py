"""A fetch's scratch folder beside the user's database, and the leftovers of killed fetches:
needed both by the database's opening (ingest/store.py, which removes leftovers while it holds
the write lock) and by the staging of pages into it (ingest/staging.py)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb


PREFIX = ".kratom-ae-staging-"
OWNER = "database.txt"  # in each scratch folder: the database it stages for


def new_scratch_folder(database: Path | None) -> tempfile.TemporaryDirectory:
    """A scratch folder beside `database` (or in the system's temporary folder for None),
    with the OWNER file by which a later fetch tells it apart if this one is killed."""
    folder = tempfile.TemporaryDirectory(prefix=PREFIX, dir=database.parent if database else None)
    (Path(folder.name) / OWNER).write_text(str(database), encoding="utf-8")
    return folder


def scratch_folder_of(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The scratch folder store.writing made for this connection: the one folder beside the
    database that DuckDB lets it read (its setting allowed_directories)."""
    allowed = con.execute("SELECT current_setting('allowed_directories')").fetchone()[0] or []
    return next((Path(folder) for folder in allowed if Path(folder).name.startswith(PREFIX)), None)

def database_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file of the database con is connected to (None for an in-memory one)."""
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    return Path(path).resolve() if path else None

def remove_leftovers(database: Path, keep: Path | None = None) -> None:
    """Remove the scratch folders that killed fetches into `database` left beside it (all but
    `keep`, the running fetch's own). Call it only while holding the database open for
    writing: DuckDB then guarantees that no other fetch into it is running, so every such
    folder is a leftover. Folders of fetches into other databases in the same folder are told
    apart by their OWNER file and kept."""
    for folder in database.parent.glob(PREFIX + "*"):
        owner = folder / OWNER
        if folder != keep and folder.is_dir() and owner.is_file() and owner.read_text(encoding="utf-8") == str(database):
            shutil.rmtree(folder, ignore_errors=True)
