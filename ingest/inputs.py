"""The files a user gives kratom-ae to read (a terms file, a counts file, a table's .sql, a
MedDRA release): each must be a regular file of a sensible size. /dev/zero or a pipe given as
one would otherwise be read forever, and fill the memory doing it."""

from __future__ import annotations

from pathlib import Path

from kratom_ae.ingest.errors import KratomAEError


def check_regular(path: Path, what: str, largest: int | None = None) -> None:
    """Refuse `path` (described as `what`, such as "the terms file") unless it is a regular
    file (links followed) of at most `largest` bytes."""
    path = Path(path)
    if not path.exists():
        raise KratomAEError(f"Cannot read {what} {path}: there is no such file.")
    if path.is_dir():
        raise KratomAEError(f"{path} is a folder; give {what} as a file.")
    if not path.is_file():
        raise KratomAEError(f"{path} is a device, a pipe or a socket, not a file; give {what} as a file.")
    size = path.stat().st_size
    if largest is not None and size > largest:
        raise KratomAEError(f"{path} has {size:,} bytes, more than {what} can hold sensibly (at most {largest:,}); check that it is the file you meant.")


def read_bytes(path: Path, what: str, largest: int) -> bytes:
    """The bytes of a regular file of at most `largest` bytes (read no further, whatever the
    size said: a file can grow while it is read)."""
    check_regular(path, what, largest)
    try:
        with open(path, "rb") as f:
            data = f.read(largest + 1)
    except OSError as exc:
        raise KratomAEError(f"Cannot read {what} {path}: {exc.strerror}.") from None
    if len(data) > largest:
        raise KratomAEError(f"{path} has more than {largest:,} bytes, more than {what} can hold sensibly; check that it is the file you meant.")
    return data
