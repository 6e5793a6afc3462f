"""Loading a user's own licensed MedDRA ASCII release into the database.

MedDRA cannot be shipped (docs/meddra-notes.md); a subscriber can load theirs, and the
tables then group reactions by primary System Organ Class.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from kratom_ae.ingest.dbfile import is_duckdb_file
from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest import failures
from kratom_ae.ingest.sqlfiles import sql
from kratom_ae.ingest.store import rollback_quietly

FILES = {"soc_file": "soc.asc", "pt_file": "pt.asc", "llt_file": "llt.asc", "hier_file": "mdhier.asc"}


def find_files(folder: Path) -> dict[str, Path]:
    """The four .asc files, in the folder itself or its MedAscii/ subfolder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise KratomAEError(f"The MedDRA folder {folder} {'is not a folder' if folder.exists() else 'does not exist'}.")
    for candidate in (folder, folder / "MedAscii"):
        paths = {key: candidate / name for key, name in FILES.items()}
        if all(p.is_file() for p in paths.values()):
            for path in paths.values():
                try:
                    path.open("rb").close()
                except OSError as exc:
                    raise KratomAEError(f"Cannot read {path}: {exc.strerror}.") from None
                if is_duckdb_file(path):
                    # Refused before the database is opened for writing (which applies its log).
                    raise KratomAEError(f"{path} is a DuckDB database, not a file of a MedDRA ASCII release.")
            return paths
    for candidate in (folder, folder / "MedAscii"):
        for name in FILES.values():
            if (candidate / name).exists() and not (candidate / name).is_file():
                raise KratomAEError(f"{candidate / name} is not a regular file (a folder, a device or a pipe); a MedDRA release's files are text files.")
    missing = [name for name in FILES.values() if not (folder / name).is_file() and not (folder / "MedAscii" / name).is_file()]
    raise KratomAEError(f"The MedDRA folder {folder} lacks {', '.join(missing)} (looked in it and in its MedAscii subfolder).")


def release_version(folder: Path) -> str | None:
    """The version in meddra_release.asc ('27.1$English$' -> '27.1'), if the file is there."""
    for path in (folder / "meddra_release.asc", folder / "MedAscii" / "meddra_release.asc"):
        if path.is_file():
            with open(path, "rb") as f:  # one short line: a file of 30 GB is not read whole
                first = f.read(1024).decode("latin-1").strip().split("$")
            return first[0] or None
    return None


def load(con: duckdb.DuckDBPyConnection, folder: Path, encoding: str = "latin-1") -> dict:
    """Replace the meddra_* tables with the release in `folder`; returns meddra_info's row."""
    paths = find_files(folder)
    values = {key: str(path) for key, path in paths.items()}
    values.update(encoding=encoding, folder=str(Path(folder).resolve()), version=release_version(Path(folder)))
    con.begin()
    try:
        for name, value in values.items():
            con.execute(f"SET VARIABLE {name} = $value", {"value": value})
        con.execute(sql("shaping_macros"))  # term_key, the one normalisation of MedDRA terms
        con.execute(sql("meddra_load"))
        info = con.execute("SELECT * FROM meddra_info").df().iloc[0].to_dict()
        if info["pts"] == 0 or info["socs"] == 0:
            raise KratomAEError(f"The MedDRA files in {folder} hold no terms; are they a MedDRA ASCII release?")
        con.commit()
    except duckdb.Error as exc:
        rollback_quietly(con)
        if failures.write_failure(exc) or failures.is_damage(exc):
            raise
        raise KratomAEError(read_failure(folder, encoding, str(exc))) from None
    except BaseException:
        rollback_quietly(con)
        raise
    return info


def read_failure(folder: Path, encoding: str, message: str) -> str:
    """One sentence for DuckDB's answer to reading the release: an encoding it does not know
    (with the ones it does, as its read_csv lists them), a file not in the encoding given, or
    anything else it says."""
    if "does not support the encoding" in message:
        known = re.findall(r"^\*\s+(\S+)\s*$", message, flags=re.M)
        takes = f"; it reads {', '.join(known)}" if known else ""
        return f"DuckDB cannot read files in the encoding {encoding!r}{takes} (English MedDRA releases are latin-1)."
    if "Invalid unicode" in message:
        file = re.search(r"^\s*file = (.+)$", message, flags=re.M)
        line = re.search(r"CSV Error on Line: (\d+)", message)
        where = f"{Path(file.group(1)).name} line {line.group(1)}" if file and line else "a file"
        return f"Cannot read the MedDRA release in {folder}: {where} is not {encoding} text (English MedDRA releases are latin-1: --encoding latin-1)."
    return f"Cannot read the MedDRA release in {folder}: {failures.first_line(message)}."

