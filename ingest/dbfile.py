"""What a DuckDB database file looks like on disk, told without loading DuckDB (the outputs'
checks run in commands that never open a database, such as `signals --counts`)."""

from __future__ import annotations

from pathlib import Path

# A DuckDB database file starts with an 8-byte checksum, then these four bytes.
MAGIC = b"DUCK"
MAGIC_AT = 8


def is_duckdb_file(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(MAGIC_AT + len(MAGIC))
    except OSError:
        return False
    return head[MAGIC_AT:] == MAGIC


def is_other_file(path: Path) -> bool:
    """A file that holds something and is not a DuckDB database: DuckDB 2.0 opens an existing
    .csv, .parquet or .json given as a database as an in-memory database over it, where
    everything written is lost when the connection closes."""
    return path.is_file() and path.stat().st_size > 0 and not is_duckdb_file(path)
