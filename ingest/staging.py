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

import json
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
# Records are shaped in slices of about this many bytes of JSON: DuckDB works on 2048 rows at
# a time, so a page of 1000 records of 70 KB each, shaped at once, needs several times its
# 70 MB. Pages of the usual size (7 MB) are one slice.
SLICE_BYTES = 8 * 1024 * 1024
# openFDA's meta comes first and is a few hundred bytes: this much of a page is searched for it.
ENVELOPE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class PageMeta:
    last_updated: str | None
    total: int | None
    count: int
    repeated: int = 0  # records that the same query brought before (see begin_query)
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
        self._page_count = 0  # records on the page just read
        self._slices = 0  # slices shaped, for the raw files' names
        self.con = duckdb.connect(str(self.path), config={"memory_limit": MEMORY_LIMIT, "temp_directory": self._dir.name})
        self.con.execute("SET enable_progress_bar = false")
        terms_input = pd.DataFrame(  # noqa: F841 (read by DuckDB by name)
            {"term_order": range(len(terms)), "term": [t.term for t in terms], "kind": [t.match for t in terms], "note": [t.note or None for t in terms]}
        )
        country_input = country_names()  # noqa: F841 (read by DuckDB by name)
        for name in ("schema", "codes", "shaping_macros", "staging", "problems"):
            self.con.execute(sql(name))
        # An empty raw file, so that publish has one to read even when the fetch found nothing.
        self.con.execute("CREATE TEMP TABLE page_raw AS FROM stage_raw")
        self._write_raw("raw-empty.parquet")
        self.begin_query()

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

    def begin_query(self) -> None:
        """Start counting the records of a new query: read_page reports those it sees twice."""
        self.con.execute("CREATE OR REPLACE TEMP TABLE query_records (h UBIGINT)")

    def read_page(self, body: bytes) -> PageMeta:
        """Read one search page into DuckDB (the table page_records: record, pos). Raises
        InvalidPage (the client asks again) if it is not JSON, OpenFDAError if it is JSON but
        not an openFDA search response or needs more memory than DuckDB is allowed.

        openFDA's page, {"meta": {...}, "results": [...]}, is read as its meta (in Python) and
        its results array, record by record (read_records.sql); any other layout is read as
        one JSON value (read_page.sql), which needs memory of several times the page."""
        located = locate_results(body)
        if located is None:
            return self._read_whole_page(body)
        meta, start, end = located
        try:
            self.page_file.write_bytes(memoryview(body)[start:end])  # a view: the page is not copied
        except OSError as exc:  # a full disk, not a bad page: named with the file it hit
            raise OSError(exc.errno, exc.strerror, str(self.page_file)) from None
        self.con.execute("SET VARIABLE page_file = $f", {"f": str(self.page_file)})
        try:
            self.con.execute(sql("read_records"))
        except duckdb.OutOfMemoryException:
            raise self._out_of_memory(len(body)) from None
        except duckdb.Error as exc:  # not a plain list: the whole-page reader says what is wrong
            if failures.write_failure(exc):
                raise
            return self._read_whole_page(body)
        last_updated, total, disclaimer = envelope(meta)
        return self._page_meta(last_updated, total, len(body), disclaimer)

    def _read_whole_page(self, body: bytes) -> PageMeta:
        try:
            self.page_file.write_bytes(body)
        except OSError as exc:  # a full disk, not a bad page: named with the file it hit
            raise OSError(exc.errno, exc.strerror, str(self.page_file)) from None
        self.con.execute("SET VARIABLE page_file = $f", {"f": str(self.page_file)})
        self.con.execute("SET VARIABLE page_bytes = $n", {"n": len(body) + 1024})
        try:
            self.con.execute(sql("read_page"))
        except duckdb.OutOfMemoryException:
            raise self._out_of_memory(len(body)) from None
        except duckdb.Error as exc:
            if failures.write_failure(exc):
                raise
            raise InvalidPage(str(exc).strip().splitlines()[0]) from None
        row = self.con.execute("SELECT last_updated, total, results IS NOT NULL, disclaimer FROM page_envelope").fetchone()
        if row is None or not row[2]:
            return PageMeta(None if row is None else row[0], None, 0, disclaimer=None if row is None else row[3])
        return self._page_meta(row[0], row[1], len(body), row[3])

    def _page_meta(self, last_updated: str | None, total: int | None, size: int, disclaimer: str | None = None) -> PageMeta:
        """The page's meta, with its records counted and checked against the query's so far."""
        try:
            count, repeated = self.con.execute(sql("page_repeats")).fetchone()
        except duckdb.OutOfMemoryException:
            raise self._out_of_memory(size) from None
        self._page_count = count
        return PageMeta(last_updated, total, count, repeated, disclaimer)

    @staticmethod
    def _out_of_memory(size: int) -> OpenFDAError:
        # Not InvalidPage: asking again for the same page would run out of memory again.
        return OpenFDAError(f"A page of {size / 2**20:.0f} MiB from openFDA needed more than the {MEMORY_LIMIT} of memory kratom-ae gives DuckDB; the fetch was abandoned.")

    def shape(self, source: str, id_field: str) -> int:
        """Shape the page just read into the staging tables, slice by slice (SLICE_BYTES);
        returns the records staged. Each slice is parsed ({source}_read.sql), its records
        that break a rule for malformed records are noted in stage_problems
        ({source}_problems.sql) and left out if they cannot be stored, and the rest shaped
        ({source}_page.sql)."""
        self.con.execute("SET VARIABLE first_seq = $n", {"n": self.next_seq})
        self.con.execute("SET VARIABLE slice_bytes = $n", {"n": SLICE_BYTES})
        staged = 0
        for low, high in self.con.execute(sql("page_slices")).fetchall():
            self.con.execute("CREATE OR REPLACE TEMP TABLE page AS FROM page_records WHERE pos BETWEEN $low AND $high", {"low": low, "high": high})
            staged += self._shape_slice(source, id_field)
        # Every record received has its stage_seq, those left out too: numbers are never reused.
        self.next_seq += self._page_count
        return staged

    def _shape_slice(self, source: str, id_field: str) -> int:
        try:
            self.con.execute(sql(f"{source}_read"))
            self.con.execute(sql(f"{source}_problems"))
            self.con.execute(sql(f"{source}_page"))
        except duckdb.OutOfMemoryException as exc:
            raise OpenFDAError(f"Shaping a {source} page ran out of the {MEMORY_LIMIT} of memory kratom-ae gives DuckDB ({first_line(exc)}); the fetch was abandoned.") from None
        except duckdb.Error as exc:
            if failures.write_failure(exc):
                raise
            raise OpenFDAError(f"openFDA sent a {source} page kratom-ae cannot read ({first_line(exc)}); the fetch was abandoned.") from None
        missing, count = self.con.execute(f"SELECT count(*) FILTER (WHERE report_id IS NULL), count(*) FROM page_{source}").fetchone()
        if missing:
            raise OpenFDAError(f"openFDA sent a record without {id_field}; the fetch was abandoned.")
        if count:
            self._write_raw(f"raw-{self.next_seq:012d}-{self._slices:06d}.parquet")
        self._slices += 1
        return count

    def _write_raw(self, name: str) -> None:
        path = str(Path(self._dir.name) / name)
        self.con.execute("SET VARIABLE raw_file = $f", {"f": path})
        self.con.execute(sql("stage_raw"))
        self.raw_files.append(path)


def first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def locate_results(body: bytes) -> tuple[dict, int, int] | None:
    """For openFDA's layout, {"meta": {...}, "results": [...]} with results last: the meta,
    parsed, and where the results array starts and ends in body. None for any other layout,
    or if the meta is not in the first ENVELOPE_BYTES. Only the meta is parsed here; DuckDB
    checks the array when it reads it."""
    head = bytes(body[:ENVELOPE_BYTES]).decode("utf-8", "surrogateescape")
    decoder = json.JSONDecoder()
    position = _skip_space(head, 0)
    if not head.startswith("{", position):
        return None
    meta = None
    position += 1
    while True:
        try:
            key, position = decoder.raw_decode(head, _skip_space(head, position))
            position = _skip_space(head, position)
            if not head.startswith(":", position) or not isinstance(key, str):
                return None
            position = _skip_space(head, position + 1)
            if key == "results":
                break
            value, position = decoder.raw_decode(head, position)
        except ValueError:
            return None
        if key == "meta":
            meta = value
        position = _skip_space(head, position)
        if not head.startswith(",", position):
            return None
        position += 1
    start = len(head[:position].encode("utf-8", "surrogateescape"))
    end = len(body)
    while end and body[end - 1] in b" \t\n\r":  # not rstrip: that would copy the page
        end -= 1
    if not isinstance(meta, dict) or body[start : start + 1] != b"[" or body[end - 1 : end] != b"}":
        return None
    return meta, start, end - 1


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\n\r":
        position += 1
    return position


def envelope(meta: dict) -> tuple[str | None, int | None, str | None]:
    """(meta.last_updated, meta.results.total, meta.disclaimer), as the whole-page reader
    would read them."""
    last_updated = meta.get("last_updated")
    if last_updated is not None and not isinstance(last_updated, str):
        last_updated = json.dumps(last_updated)
    total = (meta.get("results") or {}).get("total") if isinstance(meta.get("results"), dict) else None
    disclaimer = meta.get("disclaimer") if isinstance(meta.get("disclaimer"), str) else None
    return last_updated, total if isinstance(total, int) and not isinstance(total, bool) else None, disclaimer


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
