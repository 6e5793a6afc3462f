"""Failures that come from the machine rather than from the user or openFDA: Ctrl-C arriving
while DuckDB runs a query, a full disk, a file-size limit, a folder that cannot be written, a
damaged database file. Each is recognised here, so that the command line can tell it in one
sentence instead of a traceback, and so that no other handler mistakes it for something else
(a disk error is not "a page kratom-ae cannot read")."""

from __future__ import annotations

import errno
import json
import os
import re

import duckdb

from kratom_ae.ingest.text import first_line

# DuckDB turns a Ctrl-C that arrives while it runs a query into this RuntimeError (not a
# KeyboardInterrupt, and not a duckdb.Error).
QUERY_INTERRUPTED = "Query interrupted"

# Write failures a user can act on, with what to do. DuckDB quotes the C library's text for
# them (strerror), so its messages are recognised by the same words.
WRITE_ERRNOS = {
    errno.ENOSPC: "free some disk space and run it again",
    errno.EDQUOT: "free some disk space (or raise your quota) and run it again",
    errno.EFBIG: "a limit on the size of one file (ulimit -f, or the file system's own) stopped it; lift the limit or use another disk",
    errno.EROFS: "the file system is read-only; use a folder you can write, with --db",
    errno.EACCES: "use a folder you can write, with --db",
    errno.EPERM: "use a folder you can write, with --db",
}
REASONS = {os.strerror(number): advice for number, advice in WRITE_ERRNOS.items()}

# What DuckDB says when the database file is cut short or its bytes are not what it wrote
# (a block's checksum, or a segment whose content makes no sense: "Corrupted DICT_FSST segment").
DAMAGE_MARKERS = ("Could not read enough bytes", "Corrupt database file", "does not match stored checksum", "Corrupted ")


def is_interrupt(exc: BaseException) -> bool:
    if isinstance(exc, (KeyboardInterrupt, duckdb.InterruptException)):
        return True
    return type(exc) is RuntimeError and str(exc).strip() == QUERY_INTERRUPTED


def write_failure(exc: BaseException) -> str | None:
    """One sentence for a failure to write a file (disk full, file too large, read-only or
    forbidden folder), or None if exc is not one."""
    if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
        where = f" {exc.filename}" if exc.filename else ""
        return f"Cannot write{where}: {os.strerror(exc.errno)}; {WRITE_ERRNOS[exc.errno]}."
    if isinstance(exc, duckdb.Error):
        message = inner_message(first_line(str(exc)))
        for reason, advice in REASONS.items():
            if reason in message:
                path = re.search(r'"([^"]+)"', message)
                where = f" {path.group(1)}" if path else ""
                return f"Cannot write{where}: {reason}; {advice}."
    return None


def inner_message(message: str) -> str:
    """The message of the error DuckDB wraps in another as JSON: a write of its own thread
    fails with 'IO Error: Async write failed for range [...]: {"exception_type": "IO",
    "exception_message": "Could not write file \\"/x\\": No space left on device", ...}',
    where the first quoted text is a key, not the file."""
    start = message.find('{"exception_type"')
    if start < 0:
        return message
    try:
        inner, _ = json.JSONDecoder().raw_decode(message, start)
    except ValueError:
        return message
    return str(inner.get("exception_message") or message) if isinstance(inner, dict) else message


def is_damage(exc: BaseException) -> bool:
    """Whether exc is DuckDB finding the database file truncated or corrupted."""
    return isinstance(exc, duckdb.Error) and any(marker in str(exc) for marker in DAMAGE_MARKERS)


def damage_sentence(path, exc_or_detail) -> str:
    detail = exc_or_detail if isinstance(exc_or_detail, str) else first_line(str(exc_or_detail))
    detail = re.sub(r"^(IO Error|Error|INTERNAL Error|FATAL Error): ", "", detail)
    return f"The database {path} is damaged ({detail}); restore it from a backup, or fetch into a new file with --db."
