"""Where kratom-ae may write: the one rule that every file a command writes goes through.

A fetch can take hours against openFDA's limits, and a researcher's notes live in the
database, so no output may ever land on it. Every command that writes (a `--csv FILE` and its
`FILE.provenance.json`, the `export` and `report` folders) writes only through
`write_files` or `write_folder` below, which refuse:

- the database, its write-ahead log (`DB.wal`: writing over it after a kill -9 would silently
  roll the database back), and anything that resolves to either through symbolic links or is
  the same file (a hard link);
- any DuckDB database file or the `.wal` beside one, whatever it is called: `--db` may not be
  the only database a user keeps;
- a folder where a file was meant, and an empty name;
- a symbolic link among the files kratom-ae names itself (`FILE.provenance.json`, every file
  of a folder): the link would make the output land wherever it points. Only a `--csv FILE`
  the user named may be a link; the file it points to is written, after the same checks;
- in a folder, a file that no earlier run of the same command wrote there, and a folder
  holding another command's output (a report written into an export would mix case and
  report counts under one provenance.json).

Files are written to a temporary name in the folder they belong in and renamed into place
when all of them are written, so a failure half way (a full disk, a query that fails, Ctrl-C)
leaves the earlier files as they were and no half set of new ones; a rename replaces a
symbolic link or a hard link itself, never the file behind it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ingest.dbfile import is_duckdb_file
from ingest.errors import KratomAEError

# The folder of a run's files while they are written; one left by a killed run is removed by
# the next run into the same folder.
PARTIAL_PREFIX = ".kratom-ae-partial-"
PROVENANCE = "provenance.json"
# A provenance.json kratom-ae wrote is a few kilobytes; a larger file of that name is not one,
# and is not read whole to find out.
MAX_PROVENANCE_BYTES = 16 * 2**20
# The kinds of file an export or a report writes: the only ones it removes when an earlier run
# of the same command there wrote them and this one does not.
WRITTEN_SUFFIXES = (".csv", ".png", ".svg", ".html", ".json")


def refusal(path: Path, db: Path | None) -> str | None:
    """Why `path` may not be written over (the end of a sentence that starts with the path),
    or None. `path` is the file itself: a symbolic link is judged by where it points."""
    path = Path(path)
    if str(path) in ("", "."):
        return "not a file name"
    protected = []
    if db is not None:
        protected = [(Path(db), "the database"), (Path(f"{db}.wal"), "the database's write-ahead log")]
    for target, what in protected:
        if os.path.abspath(path) == os.path.abspath(target):
            return what
        if os.path.realpath(path) == os.path.realpath(target):
            return f"{what} {target} (through a symbolic link)"
        if same_file(path, target):
            return f"{what} {target} (another name of the same file)"
    if path.is_dir():
        return "a folder"
    if is_duckdb_file(path):
        return "a DuckDB database"
    if path.name.endswith(".wal") and is_duckdb_file(path.with_name(path.name[: -len(".wal")])):
        return "the write-ahead log of a DuckDB database"
    return None


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse(path: Path, why: str) -> KratomAEError:
    return KratomAEError(f"{path} is {why}; kratom-ae will not write output over it, so choose another file name.")


def check_file(path: Path, db: Path | None, *, named_by_user: bool) -> Path:
    """The file to write for `path`, or a refusal. A file the user named may be a symbolic
    link (its target is written); one kratom-ae names itself may not."""
    path = Path(path)
    if path.is_symlink():
        if not named_by_user:
            raise KratomAEError(f"{path} is a symbolic link; kratom-ae does not write through links to files it names itself, so remove it or choose another file name.")
        why = refusal(path, db)
        if why:
            raise refuse(path, why)
        path = Path(os.path.realpath(path))
    why = refusal(path, db)
    if why:
        raise refuse(path, why)
    return path


def check_csv_option(csv_file: Path | None, db: Path | None, provenance: bool = True, reads: dict[str, Path | None] | None = None) -> None:
    """Refuse a --csv FILE (and the FILE.provenance.json beside it) before any work is done;
    `reads` names the files the command reads by their options (a --counts FILE written over
    by the table made from it would be lost)."""
    if csv_file is None:
        return
    paths = [csv_file] + ([provenance_of(csv_file)] if provenance else [])
    for option, read in (reads or {}).items():
        for path in paths:
            if read is not None and (os.path.realpath(path) == os.path.realpath(read) or same_file(path, read)):
                raise KratomAEError(f"{path} is the {option} file this command reads; kratom-ae will not write output over it, so choose another file name.")
    check_file(csv_file, db, named_by_user=True)
    if provenance:
        check_file(provenance_of(csv_file), db, named_by_user=False)


def provenance_of(csv_file: Path) -> Path:
    return Path(f"{csv_file}.provenance.json")


def write_csv_option(csv_file: Path, db: Path | None, csv: str, provenance: str | None = None) -> None:
    """A --csv FILE, with FILE.provenance.json beside it when there is a provenance."""
    write_files([(csv_file, csv)] + ([(provenance_of(csv_file), provenance)] if provenance is not None else []), db)


def write_files(files: list[tuple[Path, str | bytes]], db: Path | None) -> None:
    """Write every (path, content) or none: the first file is the one the user named (it may
    be a symbolic link), the others are named by kratom-ae (no link)."""
    targets = [check_file(path, db, named_by_user=i == 0) for i, (path, _) in enumerate(files)]
    staged: list[tuple[Path, Path]] = []
    try:
        for target, (path, content) in zip(targets, files):
            staged.append((stage(target.parent, target.name, content, path), target))
        for temporary, target in staged:
            os.replace(temporary, target)
        staged = []
    except OSError as exc:
        raise write_error(exc, files[0][0]) from None
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)


def stage(folder: Path, name: str, content: str | bytes, shown: Path) -> Path:
    """content in a new temporary file of `folder`, closed and flushed to disk."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".partial")
    except OSError as exc:
        exc.filename = str(shown)
        raise
    try:
        with os.fdopen(descriptor, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        exc.filename = str(shown)
        raise
    return Path(temporary)


def write_error(exc: OSError, shown: Path) -> Exception:
    """A failed write as one sentence: a full disk or a size limit with what to do about it
    (ingest/failures.py, on the command line), anything else with the system's words."""
    from ingest.failures import WRITE_ERRNOS

    exc.filename = exc.filename or str(shown)
    if exc.errno in WRITE_ERRNOS:
        return exc
    return KratomAEError(f"Cannot write {exc.filename}: {exc.strerror}.")


# -- folders ------------------------------------------------------------------------------


@dataclass
class Earlier:
    """What an earlier run left in a folder, as its provenance.json tells."""

    command: str | None  # "export" or "report"; None when the folder holds no provenance.json
    files: set[str]


def earlier_run(folder: Path, db: Path | None, names: list[str]) -> Earlier:
    path = folder / PROVENANCE
    if not path.exists() and not path.is_symlink():
        return Earlier(None, set())
    if path.is_symlink():
        raise KratomAEError(f"{path} is a symbolic link; kratom-ae does not write through links it finds in an output folder, so remove it or choose another folder.")
    why = refusal(path, db)
    if why:
        raise refuse(path, why)
    try:
        with open(path, "rb") as f:
            text = f.read(MAX_PROVENANCE_BYTES + 1)
        earlier = json.loads(text) if len(text) <= MAX_PROVENANCE_BYTES else None
    except (OSError, ValueError):
        earlier = None
    if not isinstance(earlier, dict) or earlier.get("tool") != "kratom-ae":
        raise KratomAEError(f"{folder} holds a {PROVENANCE} that kratom-ae did not write; choose an empty or new folder, so that your files are not mixed with these.")
    return Earlier(*command_and_files(earlier, names))


def command_and_files(provenance: dict, names: list[str]) -> tuple[str, set[str]]:
    """The command that wrote a provenance.json and the files it wrote. Outputs made before
    provenance.json said so are told apart by what they hold: only a report's has
    signals_background, and it wrote files of the names a report writes now; an export's
    lists its tables."""
    written = provenance.get("output")
    if isinstance(written, dict) and isinstance(written.get("files"), list):
        return str(written.get("command")), {str(name) for name in written["files"]}
    if "signals_background" in provenance:
        return "report", set(names) | {PROVENANCE}
    tables = provenance.get("tables") if isinstance(provenance.get("tables"), dict) else {}
    return "export", {f"{name}.csv" for name in tables} | {PROVENANCE}


def check_folder(folder: Path, db: Path | None, command: str, names: list[str] = ()) -> Earlier | None:
    """Refuse a folder that `command` may not write into, or one of the files `names` in it,
    before any work is done. Returns what an earlier run left there (None: no folder yet)."""
    folder = Path(folder)
    if str(folder) == "":
        raise KratomAEError("The folder name is empty; name a folder to write into.")
    if folder.exists() and not folder.is_dir():
        raise KratomAEError(f"Cannot write the {command} into {folder}: it is {refusal(folder, db) or 'a file'}, not a folder.")
    if not folder.is_dir():
        return None
    earlier = earlier_run(folder, db, list(names))
    if earlier.command not in (None, command):
        raise KratomAEError(
            f"{folder} holds a kratom-ae {earlier.command} (its {PROVENANCE} says so); write the {command} into another folder, so that no folder mixes the files of two runs."
        )
    for name in [*names, PROVENANCE]:
        path = folder / name
        if path.is_symlink():
            raise KratomAEError(f"{path} is a symbolic link; kratom-ae does not write through links it finds in an output folder, so remove it or choose another folder.")
        why = refusal(path, db)
        if why:
            raise refuse(path, why)
        if path.exists() and name not in earlier.files:
            raise KratomAEError(f"{path} was not written by an earlier kratom-ae {command} there; choose an empty or new folder, so that your files are not mixed with the {command}'s.")
    return earlier


def write_folder(folder: Path, db: Path | None, command: str, files: list[tuple[str, str | bytes]], provenance: dict) -> tuple[list[Path], list[Path]]:
    """Write `files` (name, content) and provenance.json (with the list of files added under
    "output") into `folder` as one set; remove the files an earlier run of the same command
    wrote there that this one does not. Returns (written, removed)."""
    folder = Path(folder)
    names = [name for name, _ in files] + [PROVENANCE]
    check_folder(folder, db, command, names)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KratomAEError(f"Cannot create the folder {folder}: {exc.strerror}.") from None
    earlier = check_folder(folder, db, command, names)  # again: the folder may be new
    stale = [folder / name for name in sorted(earlier.files - set(names)) if is_plain_name(name) and ((folder / name).is_file() or (folder / name).is_symlink())]
    for path in stale:  # an earlier provenance.json may have been edited to name the database
        why = refusal(path, db)
        if why:
            raise KratomAEError(f"{path} is {why}; kratom-ae will not remove it, although the earlier {command} there lists it, so choose another folder.")
    provenance = provenance | {"output": {"command": command, "files": names}}
    text = json.dumps(provenance, indent=2, ensure_ascii=False, default=str) + "\n"
    remove_partial(folder, db)
    partial = None
    try:
        partial = make_partial(folder)
        for name, content in [*files, (PROVENANCE, text)]:
            write_new(partial / name, content, folder / name)
        for path in stale:
            path.unlink()
        for name in names:  # provenance.json last: it describes the files already in place
            os.replace(partial / name, folder / name)
    except OSError as exc:
        raise write_error(exc, folder) from None
    finally:
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
    return [folder / name for name in names], stale


def make_partial(folder: Path) -> Path:
    try:
        return Path(tempfile.mkdtemp(dir=folder, prefix=PARTIAL_PREFIX))
    except OSError as exc:
        exc.filename = str(folder)
        raise


def write_new(path: Path, content: str | bytes, shown: Path) -> None:
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        with open(path, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        exc.filename = str(shown)
        raise


def is_plain_name(name: str) -> bool:
    """A file of a kind kratom-ae writes, directly in the folder: an earlier provenance.json
    (which anyone can edit) cannot send a removal elsewhere, nor to a file of another kind."""
    return (
        name not in ("", ".", "..")
        and Path(name).name == name
        and "/" not in name
        and "\\" not in name
        and Path(name).suffix in WRITTEN_SUFFIXES
    )


def remove_partial(folder: Path, db: Path | None) -> None:
    """Remove the temporary folders that killed runs left in `folder` (never one that holds the
    database: a user may keep it anywhere)."""
    inside = os.path.realpath(db) if db is not None else None
    for leftover in folder.glob(f"{PARTIAL_PREFIX}*"):
        if leftover.is_dir() and not leftover.is_symlink():
            if inside and inside.startswith(os.path.realpath(leftover) + os.sep):
                continue
            shutil.rmtree(leftover, ignore_errors=True)
