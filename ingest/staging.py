"""A fetch's scratch database: every page is parsed by DuckDB (read_json) and shaped by SQL
(ingest/sql/faers_page.sql, caers_page.sql) into staging tables there, page by page; the raw
records of each page go to a Parquet file beside it (the bulk of the bytes, kept out of the
database's checkpoints).

It lives in a temporary folder beside the user's database and is removed afterwards. Only
`store.publish` touches the user's database, in one transaction, so an interrupted or failed
fetch leaves it as it was, and a page that turns out not to be JSON can simply be asked for
again.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ingest import failures
from ingest.countries import country_names
from ingest.openfda import InvalidPage, OpenFDAError
from ingest.store import sql
from ingest.terms import Term

# DuckDB may use this much memory for a page; beyond it, it spills to the scratch folder.
MEMORY_LIMIT = "256MB"


@dataclass(frozen=True)
class PageMeta:
    last_updated: str | None
    total: int
    count: int
    disclaimer: str | None = None  # meta.disclaimer: says SYNTHETIC on kratom-ae's test fixtures


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


class Staging:
    def __init__(self, database: Path | None, terms: list[Term], folder: Path | None = None):
        """Scratch space in `folder` (a scratch folder made by new_scratch_folder), or in a new
        scratch folder beside `database` (in the system's temporary folder for None)."""
        if folder:
            self._dir = tempfile.TemporaryDirectory(prefix="source-", dir=folder)
        else:
            self._dir = new_scratch_folder(database)
        self.path = Path(self._dir.name) / "staging.duckdb"
        self.page_file = Path(self._dir.name) / "page.json"
        # Named one by one, not by a glob: the user's folder may have [ ] * ? in its name.
        self.raw_files: list[str] = []
        self.next_seq = 0
        self.con = duckdb.connect(str(self.path), config={"memory_limit": MEMORY_LIMIT, "temp_directory": self._dir.name})
        self.con.execute("SET enable_progress_bar = false")
        terms_input = pd.DataFrame(  # noqa: F841 (read by DuckDB by name)
            {"term_order": range(len(terms)), "term": [t.term for t in terms], "kind": [t.match for t in terms], "note": [t.note or None for t in terms]}
        )
        country_input = country_names()  # noqa: F841 (read by DuckDB by name)
        for name in ("schema", "codes", "shaping_macros", "staging"):
            self.con.execute(sql(name))
        # An empty raw file, so that publish has one to read even when the fetch found nothing.
        self.con.execute("CREATE TEMP TABLE page_raw AS FROM stage_raw")
        self._write_raw("raw-empty.parquet")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        """Close the connection (publish needs the file free) and, once done, remove it."""
        if self.con is not None:
            self.con.close()
            self.con = None

    def cleanup(self) -> None:
        self.close()
        self._dir.cleanup()

    def read_page(self, body: bytes) -> PageMeta:
        """Parse one search page with DuckDB. Raises InvalidPage (the client asks again) if
        it is not JSON, OpenFDAError if it is JSON but not an openFDA search response."""
        try:
            self.page_file.write_bytes(body)
        except OSError as exc:  # a full disk, not a bad page: named with the file it hit
            raise OSError(exc.errno, exc.strerror, str(self.page_file)) from None
        self.con.execute("SET VARIABLE page_file = $f", {"f": str(self.page_file)})
        self.con.execute("SET VARIABLE page_bytes = $n", {"n": len(body) + 1024})
        try:
            self.con.execute(sql("read_page"))
        except duckdb.Error as exc:
            if failures.write_failure(exc):
                raise
            raise InvalidPage(str(exc).strip().splitlines()[0]) from None
        row = self.con.execute("SELECT last_updated, total, len(results), disclaimer FROM page_envelope").fetchone()
        if row is None or row[1] is None or row[2] is None:
            raise OpenFDAError("The server did not send an openFDA search response (no results list or meta.results.total).")
        return PageMeta(row[0], int(row[1]), int(row[2]), row[3])

    def shape(self, source: str, id_field: str) -> int:
        """Shape the page just read into the staging tables; returns the records staged."""
        self.con.execute("SET VARIABLE first_seq = $n", {"n": self.next_seq})
        try:
            self.con.execute(sql(f"{source}_page"))
        except duckdb.Error as exc:
            if failures.write_failure(exc):
                raise
            raise OpenFDAError(f"openFDA sent a {source} page kratom-ae cannot read ({str(exc).strip().splitlines()[0]}); the fetch was abandoned.") from None
        missing, count = self.con.execute(f"SELECT count(*) FILTER (WHERE report_id IS NULL), count(*) FROM page_{source}").fetchone()
        if missing:
            raise OpenFDAError(f"openFDA sent a record without {id_field}; the fetch was abandoned.")
        self._write_raw(f"raw-{self.next_seq:012d}.parquet")
        self.next_seq += count
        return count

    def _write_raw(self, name: str) -> None:
        path = str(Path(self._dir.name) / name)
        self.con.execute("SET VARIABLE raw_file = $f", {"f": path})
        self.con.execute(sql("stage_raw"))
        self.raw_files.append(path)


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
