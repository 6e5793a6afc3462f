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


def journal_of(database: Path) -> Path:
    """The write-ahead log DuckDB keeps for a database, where a commit goes before a checkpoint
    writes it into the file: ".wal" goes before the first "?" of the path (a file `k?x` has
    the log `k.wal?x`), or at the end."""
    text = str(database)
    mark = text.find("?")
    return Path(text + ".wal" if mark < 0 else text[:mark] + ".wal" + text[mark:])


def database_of_journal(path: Path) -> Path | None:
    """The database whose write-ahead log `path` would be, if it is named like one."""
    text = str(path)
    mark = text.find("?")
    if mark < 0:
        return Path(text[: -len(".wal")]) if text.endswith(".wal") else None
    return Path(text[: mark - len(".wal")] + text[mark:]) if text[:mark].endswith(".wal") else None
