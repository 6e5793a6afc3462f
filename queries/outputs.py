"""Where kratom-ae may write: the one rule that every file a command writes goes through.

A fetch can take hours against openFDA's limits, and a researcher's notes live in the
database, so no output may ever land on it. Every command that writes (a `--csv FILE` and its
`FILE.provenance.json`, the `export` and `report` folders) writes only through
`write_files` or `write_folder` below, which refuse:

- the database, its write-ahead log (`DB.wal`: writing over it after a kill -9 would silently
  roll the database back), and anything that resolves to either through symbolic links or is
  the same file (a hard link);
- any DuckDB database file or the write-ahead log beside one, whatever it is called: `--db`
  may not be the only database a user keeps;
- a folder where a file was meant, a device, a pipe or a socket (writing "to" /dev/null or a
  FIFO would replace it, or hang), and an empty name;
- a symbolic link among the files kratom-ae names itself (`FILE.provenance.json`, every file
  of a folder): the link would make the output land wherever it points. Only a `--csv FILE`
  the user named may be a link; the file it points to is written, after the same checks;
- a `FILE.provenance.json` that kratom-ae did not write;
- in a folder, a file that is not byte for byte what an earlier run of the same command wrote
  there (its provenance.json lists each file with its SHA-256), and a folder holding another
  command's output (a report written into an export would mix case and report counts under
  one provenance.json). The same digests decide which files of an earlier run are removed
  when this run does not write them again: only those still as kratom-ae wrote them.

Files are written to a temporary name in the folder they belong in and renamed into place
when all of them are written, so a failure half way (a full disk, a query that fails, Ctrl-C)
leaves the earlier files as they were and no half set of new ones; a rename replaces a
symbolic link or a hard link itself, never the file behind it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Union

from kratom_ae.ingest.dbfile import database_of_journal, is_duckdb_file, journal_of
from kratom_ae.ingest.errors import KratomAEError

# The folder of a run's files while they are written; one left by a killed run is removed by
# the next run into the same folder, if it holds the MARKER and nothing but plain files.
PARTIAL_PREFIX = ".kratom-ae-partial-"
MARKER = ".written-by-kratom-ae"
PROVENANCE = "provenance.json"
# The files a run is renaming into place, with their digests, written before the first rename
# and removed after the last: a run killed in between leaves files that are neither the
# earlier run's nor unknown, and the next run accepts them as kratom-ae's.
PENDING = ".kratom-ae-pending.json"
# A provenance.json kratom-ae wrote is a few kilobytes; a larger file of that name is not one,
# and is not read whole to find out.
MAX_PROVENANCE_BYTES = 16 * 2**20
# The kinds of file an export or a report writes: no name of another kind is written or removed.
WRITTEN_SUFFIXES = (".csv", ".parquet", ".png", ".svg", ".html", ".json")
# What each command removes of an earlier run of its own: an edited provenance.json that makes
# a report pass for an export cannot have the export remove the report's figures. An export
# in the other format removes the earlier one's tables, which its provenance.json would not describe.
REMOVED_SUFFIXES = {"export": (".csv", ".parquet"), "report": (".csv", ".png", ".svg", ".html")}
# Paths that name streams and devices, not files, even where they resolve to a file
# (/dev/stdout is the file stdout was redirected to).
SPECIAL_FOLDERS = ("/dev/", "/proc/")


def refusal(path: Path, db: Path | None) -> str | None:
    """Why `path` may not be written over (the end of a sentence that starts with the path),
    or None. `path` is the file itself: a symbolic link is judged by where it points."""
    path = Path(path)
    if str(path) in ("", "."):
        return "not a file name"
    protected = []
    if db is not None:
        protected = [(Path(db), "the database"), (journal_of(Path(db)), "the database's write-ahead log")]
    for target, what in protected:
        if os.path.abspath(path) == os.path.abspath(target):
            return what
        if os.path.realpath(path) == os.path.realpath(target):
            return f"{what} {target} (through a symbolic link)"
        if same_file(path, target):
            return f"{what} {target} (another name of the same file)"
    if in_special_folder(path):
        return "a device or a stream, not a file (for the table on stdout, use --format csv)"
    if path.is_dir():
        return "a folder"
    if path.exists() and not path.is_file():
        return "a device, a pipe or a socket, not a file"
    if is_duckdb_file(path):
        return "a DuckDB database"
    # As DuckDB sees it: a "?" may be in a folder's name, given relatively or through a link.
    for form in {str(path), os.path.abspath(path), os.path.realpath(path)}:
        database = database_of_journal(Path(form))
        if database is not None and is_duckdb_file(database):
            return "the write-ahead log of a DuckDB database"
    return None


def in_special_folder(path: Path) -> bool:
    """Whether `path`, or any link on the way to what it names (a link to /proc/self/fd/1, a
    folder linked to /proc/self/fd), is in /dev or /proc. Where they lead cannot be trusted:
    /proc/self/fd/1 resolves to the file stdout was redirected to."""

    def special(text: str) -> bool:
        plain = "/" + os.path.normpath(text).lstrip("/")  # "//dev/stdout" is /dev/stdout
        return (plain + "/").startswith(SPECIAL_FOLDERS)

    hop = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on links followed
        if special(hop) or special(os.path.realpath(os.path.dirname(hop))):
            return True
        if not os.path.islink(hop):
            break
        hop = os.path.join(os.path.dirname(hop), os.readlink(hop))
    return special(os.path.realpath(path))


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
        if provenance_of(csv_file).exists() and read_provenance(provenance_of(csv_file)) is None:
            raise KratomAEError(
                f"{provenance_of(csv_file)} was not written by kratom-ae, which writes FILE.provenance.json beside --csv FILE; move it, or choose another file name."
            )


def provenance_of(csv_file: Path) -> Path:
    return Path(f"{csv_file}.provenance.json")


def read_provenance(path: Path) -> dict | None:
    """A provenance.json kratom-ae wrote, or None for any other file of that name."""
    try:
        with open(path, "rb") as f:
            text = f.read(MAX_PROVENANCE_BYTES + 1)
        value = json.loads(text) if len(text) <= MAX_PROVENANCE_BYTES else None
    except (OSError, ValueError, RecursionError):  # RecursionError: [[[[... nested past Python's limit
        return None
    return value if isinstance(value, dict) and value.get("tool") == "kratom-ae" else None


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
            staged.append((stage(target, content, path), target))
        for temporary, target in staged:
            os.replace(temporary, target)
        staged = []
    except OSError as exc:
        raise write_error(exc, files[0][0]) from None
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)


def stage(target: Path, content: str | bytes, shown: Path) -> Path:
    """content in a new temporary file beside `target`, closed and flushed to disk, with the
    mode the target has (or a new file's, under the umask: mkstemp's own is 0600)."""
    data = as_bytes(content)
    try:
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    except OSError as exc:
        exc.filename = str(shown)
        raise
    try:
        with os.fdopen(descriptor, "wb") as f:
            os.fchmod(f.fileno(), stat.S_IMODE(target.stat().st_mode) if target.is_file() else new_file_mode())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        exc.filename = str(shown)
        raise
    return Path(temporary)


def new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_error(exc: OSError, shown: Path) -> Exception:
    """A failed write as one sentence: a full disk or a size limit with what to do about it
    (ingest/failures.py, on the command line), anything else with the system's words."""
    from kratom_ae.ingest.failures import WRITE_ERRNOS

    exc.filename = exc.filename or str(shown)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):  # failures.py's advice names --db
        return KratomAEError(f"Cannot write {exc.filename}: {exc.strerror}; choose a file or folder you can write.")
    if exc.errno in WRITE_ERRNOS:
        return exc
    return KratomAEError(f"Cannot write {exc.filename}: {exc.strerror}.")


def digest(path: Path) -> str | None:
    """The SHA-256 of a regular file (not through a link), or None."""
    if path.is_symlink() or not path.is_file():
        return None
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


# -- folders ------------------------------------------------------------------------------


@dataclass
class Earlier:
    """What an earlier run left in a folder, as its provenance.json tells: each file it wrote
    with its SHA-256 (None for a run from before provenance.json recorded them)."""

    command: str | None  # "export" or "report"; None when the folder holds no provenance.json
    files: dict[str, str | None] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)  # of a run killed while renaming (PENDING)

    def lists(self, name: str) -> bool:
        return name in self.files or name in self.pending

    def wrote(self, path: Path) -> bool:
        """Whether `path` is as the earlier run (or one killed after it) wrote it."""
        if path.name in self.files and self.files[path.name] is None:
            return True
        found = digest(path)
        return found is not None and found in (self.files.get(path.name), self.pending.get(path.name))


@dataclass
class Written:
    files: list[Path]  # what this run wrote
    removed: list[Path]  # what the earlier run wrote and this one did not
    kept: list[Path]  # what the earlier run wrote, changed since, so neither listed nor removed


def earlier_run(folder: Path, db: Path | None, names: list[str]) -> Earlier:
    """What the earlier run in `folder` wrote: its provenance.json's files, and those of a run
    killed while renaming its files into place (PENDING), which may have replaced some."""
    earlier = Earlier(None)
    path = folder / PROVENANCE
    if path.exists() or path.is_symlink():
        if path.is_symlink():
            raise KratomAEError(f"{path} is a symbolic link; kratom-ae does not write through links it finds in an output folder, so remove it or choose another folder.")
        why = refusal(path, db)
        if why:
            raise refuse(path, why)
        provenance = read_provenance(path)
        if provenance is None:
            raise KratomAEError(f"{folder} holds a {PROVENANCE} that kratom-ae did not write; choose an empty or new folder, so that your files are not mixed with these.")
        earlier = command_and_files(provenance, names)
    pending = folder / PENDING
    if pending.is_file() and not pending.is_symlink() and not refusal(pending, db):
        killed = read_provenance(pending)
        output = killed.get("output") if killed else None
        if isinstance(output, dict) and isinstance(output.get("files"), dict) and earlier.command in (None, output.get("command")):
            earlier.command = str(output.get("command"))
            earlier.pending = {str(name): str(sha) for name, sha in output["files"].items()}
    return earlier


def command_and_files(provenance: dict, names: list[str]) -> Earlier:
    """The command that wrote a provenance.json and the files it wrote. Outputs made before
    provenance.json said so are told apart by what they hold: only a report's has
    signals_background, and it wrote files of the names a report writes now; an export's
    lists its tables. Those have no digests."""
    written = provenance.get("output")
    if isinstance(written, dict) and isinstance(written.get("files"), dict):
        return Earlier(str(written.get("command")), {str(name): str(sha) for name, sha in written["files"].items()})
    if isinstance(written, dict) and isinstance(written.get("files"), list):  # issue 18's first form
        return Earlier(str(written.get("command")), {str(name): None for name in written["files"]})
    if "signals_background" in provenance:
        return Earlier("report", {name: None for name in [*names, PROVENANCE]})
    tables = provenance.get("tables") if isinstance(provenance.get("tables"), dict) else {}
    return Earlier("export", {f"{name}.csv": None for name in tables} | {PROVENANCE: None})


def check_folder(folder: Path, db: Path | None, command: str, names: list[str] = ()) -> Earlier | None:
    """Refuse a folder that `command` may not write into, or one of the files `names` in it,
    before any work is done. Returns what an earlier run left there (None: no folder yet)."""
    folder = Path(folder)
    if str(folder) == "":
        raise KratomAEError("The folder name is empty; name a folder to write into.")
    folded = [name.casefold() for name in names]
    twice = sorted({name for name in names if folded.count(name.casefold()) > 1})
    if twice:  # on a disk that ignores case (macOS, Windows) one would write over the other
        raise KratomAEError(f"kratom-ae would write {' and '.join(twice)} into {folder}, names that differ only in case; rename one of the tables.")
    for name in names:
        if not is_plain_name(name):  # a table's name comes from a user's .sql header
            raise KratomAEError(f"kratom-ae would write {name!r}, which is not a plain file name of a kind it writes, into {folder}; nothing was written.")
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
        if name == PROVENANCE or not path.exists():
            continue
        if not earlier.lists(name):
            raise KratomAEError(f"{path} was not written by an earlier kratom-ae {command} there; choose an empty or new folder, so that your files are not mixed with the {command}'s.")
        if not earlier.wrote(path):
            raise KratomAEError(f"{path} has changed since the earlier kratom-ae {command} there wrote it; move it or choose another folder, so that your changes are not written over.")
    return earlier


# A file's content, or a function that writes the file at the path it is given (DuckDB's COPY
# writes a Parquet file itself).
Content = Union[str, bytes, Callable[[Path], None]]


def write_folder(folder: Path, db: Path | None, command: str, files: list[tuple[str, Content]], provenance: dict) -> Written:
    """Write `files` (name, content) and provenance.json (with each file's SHA-256 added under
    "output") into `folder` as one set; remove the files an earlier run of the same command
    wrote there that this one does not, if they are still as it wrote them."""
    folder = Path(folder)
    names = [name for name, _ in files] + [PROVENANCE]
    earlier = check_folder(folder, db, command, names) or Earlier(None)  # None: a new folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KratomAEError(f"Cannot create the folder {folder}: {exc.strerror}.") from None
    left = [folder / name for name in sorted((set(earlier.files) | set(earlier.pending)) - set(names)) if is_plain_name(name) and (folder / name).exists()]
    stale = [
        path
        for path in left
        if path.suffix in REMOVED_SUFFIXES.get(command, ()) and earlier.files.get(path.name, "") is not None and earlier.wrote(path) and not refusal(path, db)
    ]
    kept = [path for path in left if path not in stale]
    remove_partial(folder, db)
    partial = None
    try:
        partial = make_partial(folder)
        for name, content in files:
            write_new(partial / name, content, folder / name)
        # Of the files as written: a function's file is known only once it is.
        output = {"command": command, "files": {name: digest(partial / name) for name, _ in files}}
        text = json.dumps(provenance | {"output": output}, indent=2, ensure_ascii=False, default=str) + "\n"
        write_new(partial / PROVENANCE, text, folder / PROVENANCE)
        write_new(partial / PENDING, json.dumps({"tool": "kratom-ae", "output": output}) + "\n", folder / PENDING)
        os.replace(partial / PENDING, folder / PENDING)
        for path in stale:
            path.unlink()
        for name in names:  # provenance.json last: it describes the files already in place
            os.replace(partial / name, folder / name)
        (folder / PENDING).unlink()
    except OSError as exc:
        raise write_error(exc, folder) from None
    finally:
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
    return Written([folder / name for name in names], stale, kept)


def as_bytes(content: str | bytes) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


def make_partial(folder: Path) -> Path:
    try:
        partial = Path(tempfile.mkdtemp(dir=folder, prefix=PARTIAL_PREFIX))
        (partial / MARKER).write_bytes(b"")
        return partial
    except OSError as exc:
        exc.filename = str(folder)
        raise


def write_new(path: Path, content: Content, shown: Path) -> None:
    """content in a new file, flushed to disk: written here, or by content(path) when it is a
    function (into a folder of this run's own, so the file is new too)."""
    try:
        if callable(content):
            content(path)
            with open(path, "rb") as f:
                os.fsync(f.fileno())
            return
        with open(path, "xb") as f:
            f.write(as_bytes(content))
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        exc.filename = str(shown)
        raise


def is_plain_name(name: str) -> bool:
    """A file of a kind kratom-ae writes, directly in the folder: an earlier provenance.json
    (which anyone can edit) or a table's name cannot send a write or a removal elsewhere, nor
    to a file of another kind."""
    return (
        name not in ("", ".", "..")
        and Path(name).name == name
        and "/" not in name
        and "\\" not in name
        and name.isprintable()
        and Path(name).suffix in WRITTEN_SUFFIXES
    )


def remove_partial(folder: Path, db: Path | None) -> None:
    """Remove the temporary folders that killed runs left in `folder`: those that hold the
    marker kratom-ae puts in each and nothing but what it writes there (plain files of its
    names and kinds, none a database). A folder of the user's that only looks like one is left
    alone, even with a marker forged into it, and so is one holding the database."""
    inside = os.path.realpath(db) if db is not None else None
    for leftover in folder.glob(f"{PARTIAL_PREFIX}*"):
        if leftover.is_symlink() or not leftover.is_dir() or not (leftover / MARKER).is_file():
            continue
        if inside and inside.startswith(os.path.realpath(leftover) + os.sep):
            continue
        entries = list(leftover.iterdir())
        if all(is_partial_file(entry, db) for entry in entries):
            for entry in entries:
                entry.unlink(missing_ok=True)
            leftover.rmdir()


def is_partial_file(entry: Path, db: Path | None) -> bool:
    """A file a run writes into its temporary folder: the marker, or a plain file of a name and
    kind it writes, not a database nor a log, nor another name of the database."""
    if entry.is_symlink() or not entry.is_file():
        return False
    if entry.name == MARKER:
        return entry.stat().st_size == 0
    return (is_plain_name(entry.name) or entry.name == PENDING) and refusal(entry, db) is None
