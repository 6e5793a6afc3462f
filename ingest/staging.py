"""A fetch's scratch space, in a temporary folder beside the user's database, removed
afterwards. Each page goes through two steps, in two threads, so that the two cores of a
small machine both work:

- the reader (the thread that sends the requests): the page's results array is written to a
  file of its own, its records counted and compared with the query's earlier ones (a server
  that loops would send them twice), and each record's JSON text compressed (zstd, with a
  dictionary trained on the source's first page) into a Parquet file: the raw records, which
  publish stores for the winners;
- the shaper (a thread of its own): the pages are shaped by SQL (ingest/sql/faers_page.sql,
  caers_page.sql) in batches of several pages, into the staging tables of a scratch database.

Only `ingest.publish` touches the user's database, in one transaction, so an interrupted or
failed fetch leaves it as it was, and a page that turns out not to be JSON can simply be asked
for again.
"""

from __future__ import annotations

import json
import queue
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import zstandard

from kratom_ae.ingest import failures
from kratom_ae.ingest.countries import country_names
from kratom_ae.ingest.errors import OpenFDAError
from kratom_ae.ingest.pages import InvalidPage, WrongPage, layout_problem
from kratom_ae.ingest.scratch import new_scratch_folder
from kratom_ae.ingest.sqlfiles import sql
from kratom_ae.ingest.terms import Term
from kratom_ae.ingest.text import first_line

# DuckDB may use this much memory for reading pages, and as much for shaping them; beyond it,
# it spills to the scratch folder.
MEMORY_LIMIT = "256MB"
# Pages are shaped together until they hold about this many bytes of JSON: each SQL statement
# costs a few milliseconds to plan whatever its size, so shaping one page of 1000 records at a
# time spent a third of the time planning.
BATCH_BYTES = 24 * 1024 * 1024
# A batch is shaped in slices of about this many bytes: DuckDB works on 2048 rows at a time, so
# a page of 1000 records of 70 KB each, shaped at once, needs several times its 70 MB.
SLICE_BYTES = 24 * 1024 * 1024
# openFDA's meta comes first and is a few hundred bytes: this much of a page is searched for it.
ENVELOPE_BYTES = 1024 * 1024
# The raw records: zstd level 1 (fast) with a dictionary of this size, trained on up to
# DICTIONARY_SAMPLES records of the source's first page (none for a first page of fewer than
# DICTIONARY_MIN records: too few to learn from). Records of a few KB compress about 4 times
# with one, 3 times without.
DICTIONARY_BYTES = 64 * 1024
DICTIONARY_SAMPLES = 200
DICTIONARY_MIN = 50
# Records fetched from DuckDB and compressed at a time (a 70 MB page is not held twice).
CHUNK = 200


@dataclass(frozen=True)
class PageMeta:
    last_updated: str | None
    total: int | None
    count: int
    repeated: int = 0  # records that the same query brought before (see begin_query)
    disclaimer: str | None = None  # meta.disclaimer: says SYNTHETIC on kratom-ae's test fixtures


@dataclass(frozen=True)
class PageFile:
    """A page read: its records (stage_seq, record, r) in Parquet files (one, or one per slice
    of a big page), numbered from first_seq; size is the page's bytes."""

    paths: list[Path]
    first_seq: int
    count: int
    size: int


class Staging:
    def __init__(self, database: Path | None, terms: list[Term], source: str, id_field: str, folder: Path | None = None, *, threaded: bool = False,
                 raw: bool = True, shaping_bytes: int = BATCH_BYTES):
        """Scratch space for a fetch of `source` (faers, caers; its records are named by
        `id_field`) in `folder` (a scratch folder
        made by new_scratch_folder), or in a new scratch folder beside `database` (in the
        system's temporary folder for None). With `threaded`, batches are shaped in a thread of
        their own (ShapingThread). Without `raw`, the reader keeps no raw records (Reader).
        `shaping_bytes`: the JSON shaped at a time, a batch and its slices (BATCH_BYTES,
        SLICE_BYTES); larger, fewer statements and more memory."""
        if folder:
            self._dir = tempfile.TemporaryDirectory(prefix="source-", dir=folder)
        else:
            self._dir = new_scratch_folder(database)
        self.folder = Path(self._dir.name)
        self.reader = Reader(self.folder, source, raw=raw)
        # In memory (spilling to the scratch folder): what is shaped goes to Parquet files
        # batch by batch (Shaper.flush), so no journal or checkpoint is written twice.
        self.con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": self._dir.name})
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute("SET threads = 1")
        terms_input = pd.DataFrame(  # noqa: F841 (read by DuckDB by name)
            {"term_order": range(len(terms)), "term": [t.term for t in terms], "kind": [t.match for t in terms], "note": [t.note or None for t in terms]}
        )
        country_input = country_names()  # noqa: F841 (read by DuckDB by name)
        for name in ("schema", "codes", "shaping_macros", "staging", "problems"):
            self.con.execute(sql(name))
        self.shaper = Shaper(self.con, self.folder, shaping_bytes)
        self._batch: list[PageFile] = []
        self._thread: ShapingThread | None = None
        self._threaded = threaded
        self.source, self.id_field = source, id_field
        self._set_aside: list[tuple[str | None, str]] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def dictionary(self) -> bytes | None:
        return self.reader.dictionary

    def close(self) -> None:
        """Stop shaping and close the connections (publish needs the file free)."""
        if self._thread is not None:
            self._thread.cancel()
            self._thread = None
        if self.con is not None:
            self.con.close()
            self.con = None
        self.reader.close()

    def cleanup(self) -> None:
        self.close()
        self._dir.cleanup()

    def begin_query(self) -> None:
        """Start counting the records of a new query: read_page reports those it sees twice."""
        self.reader.begin_query()

    def read_page(self, body: bytes) -> PageMeta:
        """The reader's step for one search page (see Reader.read); the page joins the batch
        to be shaped. Raises InvalidPage (the client asks again) if it is not JSON,
        OpenFDAError if it is JSON but not an openFDA search response or needs more memory
        than DuckDB is allowed."""
        meta, page = self.reader.read(body)
        if page is not None:
            self._batch.append(page)
        return meta

    def page_done(self) -> None:
        """After each page: shape the batch once it holds BATCH_BYTES of records."""
        if sum(page.size for page in self._batch) >= self.shaper.slice_bytes:
            self._submit()

    def set_aside(self, report_id: str | None, problem: str) -> None:
        """A record its caller kept from the shaping (a bulk partition's item that cannot be a
        report: bulk.unkeyable), for stage_problems as not stored; `problem` says where it was."""
        self._set_aside.append((report_id, problem))

    def finish(self) -> Staged:
        """Shape what is left, wait for the shaping to end, and write the rest of what publish
        needs (stage_problems, the terms); returns the files to publish."""
        self._submit()
        if self._thread is not None:
            thread, self._thread = self._thread, None
            thread.finish()
        if self._set_aside:
            # Here, not as they come: the shaping thread has the connection until it ends.
            set_aside = pd.DataFrame.from_records(self._set_aside, columns=["report_id", "problem"])  # noqa: F841 (read by DuckDB by name)
            self.con.execute("INSERT INTO stage_problems SELECT $source, report_id::VARCHAR, problem, false FROM set_aside", {"source": self.source})
        return self.shaper.finish(self.reader.raw_files, self.reader.dictionary)

    def _submit(self) -> None:
        if not self._batch:
            return
        batch, self._batch = self._batch, []
        if not self._threaded:
            self.shaper.shape(batch, self.source, self.id_field)
            return
        if self._thread is None:
            self._thread = ShapingThread(self.shaper)
        self._thread.submit(batch, self.source, self.id_field)


@dataclass
class Staged:
    """What a fetch staged, for ingest.publish (ingest/sql/publish.sql): Parquet files of the
    staging tables' rows (stage_seq and the columns of reports, products, product_ingredients,
    reactions; the case rules' facts of each report), of stage_problems and of the terms; the raw records
    (stage_seq, record) and their dictionary."""

    reports: list[str]
    products: list[str]
    ingredients: list[str]
    reactions: list[str]
    case_facts: list[str]
    problems: str
    terms: str
    raw: list[str]
    dictionary: bytes | None


class Shaper:
    """Shapes batches of pages into the staging tables of an in-memory DuckDB, and writes what
    each batch staged to Parquet files (flush), so that memory does not grow with the fetch."""

    TABLES = ("reports", "products", "ingredients", "reactions", "case_facts")

    def __init__(self, con: duckdb.DuckDBPyConnection, folder: Path, slice_bytes: int = SLICE_BYTES):
        self.con = con
        self.folder = folder
        self.slice_bytes = slice_bytes
        self.files: dict[str, list[str]] = {table: [] for table in self.TABLES}
        self.flush()  # empty files, so that publish has files to read even when nothing was found

    def shape(self, batch: list[PageFile], source: str, id_field: str) -> None:
        shape_batch(self.con, batch, source, id_field, self.slice_bytes)
        self.flush()

    def flush(self) -> None:
        number = len(self.files["reports"])
        for table in self.TABLES:
            path = self.folder / f"{table}-{number:06d}.parquet"
            self.con.execute(f"COPY stage_{table} TO '{path}' (FORMAT parquet, COMPRESSION uncompressed)")
            self.con.execute(f"CREATE OR REPLACE TABLE stage_{table} AS FROM stage_{table} LIMIT 0")
            self.files[table].append(str(path))

    def finish(self, raw: list[str], dictionary: bytes | None) -> Staged:
        problems, terms = self.folder / "problems.parquet", self.folder / "terms.parquet"
        self.con.execute(f"COPY stage_problems TO '{problems}' (FORMAT parquet)")
        self.con.execute(f"COPY match_terms TO '{terms}' (FORMAT parquet)")
        return Staged(self.files["reports"], self.files["products"], self.files["ingredients"], self.files["reactions"], self.files["case_facts"], str(problems), str(terms), raw, dictionary)


class ShapingThread:
    """Shapes batches in a thread of its own, one after another, while the reader goes on.
    DuckDB lets other Python threads run while it works, so reading the next pages (HTTP,
    the reader's parse and compression) and shaping use both cores. At most one batch waits:
    memory does not grow if shaping is the slower step. A failure in the thread is raised in
    the fetch's thread at the next submit or at finish."""

    def __init__(self, shaper: Shaper):
        self.shaper = shaper
        self.con = shaper.con
        self.jobs: queue.Queue = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="kratom-ae shaping", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            if self.error is None:
                try:
                    self.shaper.shape(*job)
                except BaseException as exc:  # noqa: BLE001 (raised again in the fetch's thread)
                    self.error = exc

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def submit(self, batch: list[PageFile], source: str, id_field: str) -> None:
        self._raise()
        self.jobs.put((batch, source, id_field))

    def finish(self) -> None:
        self.jobs.put(None)
        self.thread.join()
        self._raise()

    def cancel(self) -> None:
        """Stop at once (the fetch failed or was interrupted): interrupt DuckDB's query."""
        if self.thread.is_alive():
            self.error = self.error or OpenFDAError("cancelled")
            self.con.interrupt()
            while self.thread.is_alive():
                try:
                    self.jobs.put_nowait(None)
                except queue.Full:
                    pass
                self.thread.join(0.05)
                self.con.interrupt()


def shape_batch(con: duckdb.DuckDBPyConnection, batch: list[PageFile], source: str, id_field: str, slice_bytes: int = SLICE_BYTES) -> None:
    """Shape the pages of a batch into the staging tables, in slices of up to SLICE_BYTES of
    JSON (several pages, or part of one big page); their files are removed afterwards."""
    for group in slices(batch, slice_bytes):
        con.execute("SET VARIABLE batch_files = $f", {"f": [str(path) for page in group for path in page.paths]})
        if len(group) > 1 or group[0].size <= slice_bytes:
            con.execute(sql("read_batch").replace("TEMP TABLE batch", "TEMP TABLE page"))
            shape_slice(con, source, id_field)
            continue
        con.execute(sql("read_batch"))
        con.execute("SET VARIABLE slice_bytes = $n", {"n": slice_bytes})
        for low, high in con.execute(sql("page_slices")).fetchall():
            con.execute("CREATE OR REPLACE TEMP TABLE page AS FROM batch WHERE stage_seq BETWEEN $low AND $high", {"low": low, "high": high})
            shape_slice(con, source, id_field)
        con.execute("DROP TABLE batch")
    for page in batch:
        for path in page.paths:
            path.unlink(missing_ok=True)


def slices(batch: list[PageFile], slice_bytes: int = SLICE_BYTES) -> list[list[PageFile]]:
    """The pages in groups of consecutive pages of up to SLICE_BYTES together; a page bigger
    than that is a group of its own (cut into slices by its records)."""
    groups: list[list[PageFile]] = []
    for page in batch:
        if groups and sum(p.size for p in groups[-1]) + page.size <= slice_bytes:
            groups[-1].append(page)
        else:
            groups.append([page])
    return groups


def shape_slice(con: duckdb.DuckDBPyConnection, source: str, id_field: str) -> None:
    """Parse the records in `page` ({source}_read.sql), note those that break a rule for
    malformed records in stage_problems ({source}_problems.sql), leaving out those that
    cannot be stored, and shape the rest ({source}_page.sql)."""
    try:
        con.execute(sql(f"{source}_read"))
        con.execute(sql(f"{source}_problems"))
        con.execute(sql(f"{source}_page"))
    except duckdb.OutOfMemoryException as exc:
        raise OpenFDAError(f"Shaping a {source} page ran out of the {MEMORY_LIMIT} of memory kratom-ae gives DuckDB ({first_line(str(exc))}); the fetch was abandoned.") from None
    except duckdb.Error as exc:
        if failures.write_failure(exc):
            raise
        raise OpenFDAError(f"openFDA sent a {source} page kratom-ae cannot read ({first_line(str(exc))}); the fetch was abandoned.") from None
    if con.execute(f"SELECT count(*) FROM page_{source} WHERE report_id IS NULL").fetchone()[0]:
        raise OpenFDAError(f"openFDA sent a record without {id_field}; the fetch was abandoned.")


class Reader:
    """The reader's step for each page (see the module's docstring), with a DuckDB of its own
    (in memory, spilling to the scratch folder), so that it can run while the shaper works."""

    def __init__(self, folder: Path, source: str, *, raw: bool = True):
        """Without `raw` (the local background, which stores no raw record) the records are
        counted and parsed, not compressed, nor compared with the query's earlier ones (each
        page's `repeated` is 0); the raw files stay the one empty file."""
        self.folder = folder
        self.source = source
        self.raw = raw
        self.con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(folder)})
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute("SET threads = 1")
        self.con.execute(sql("shaping_macros"))  # report_version, for the parse's suspects
        self.next_seq = 0  # stage_seq of the next record received: numbers are never reused
        self.pages = 0
        self.raw_files: list[str] = []  # named one by one, not by a glob: the folder may have [ ] * ? in its name
        self.dictionary: bytes | None = None
        self._compressor: zstandard.ZstdCompressor | None = None
        self._query_hashes: set[int] = set()
        # An empty raw file, so that publish has one to read even when the fetch found nothing.
        self._write_raw([], [])

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    def begin_query(self) -> None:
        self._query_hashes = set()

    def read(self, body: bytes) -> tuple[PageMeta, PageFile | None]:
        """Write the page's results array to a file, count its records and those the query
        sent before, and store each record's JSON text compressed (a Parquet file of
        stage_seq, record). openFDA's page, {"meta": {...}, "results": [...]}, is cut in
        Python (only the meta is parsed here); any other layout is read as one JSON value
        (read_page.sql), which needs memory of several times the page."""
        path = self.folder / f"page-{self.pages:06d}.json"
        located = locate_results(body)
        if located is None:
            last_updated, total, disclaimer, results = self._read_whole_page(body, path)
            if results is None:
                return PageMeta(last_updated, None, 0, disclaimer=disclaimer), None
        else:
            meta, start, end = located
            write(path, memoryview(body)[start:end])  # a view: the page is not copied
            last_updated, total, disclaimer = envelope(meta)
        try:
            count, repeated, files = self._records(path, len(body))
        except InvalidPage:
            if located is None:
                raise
            # Not a plain list after all (a key after "results"): the whole-page reader says
            # what is wrong, or reads it.
            last_updated, total, disclaimer, results = self._read_whole_page(body, path)
            if results is None:
                return PageMeta(last_updated, None, 0, disclaimer=disclaimer), None
            count, repeated, files = self._records(path, len(body))
        page = PageFile(files, self.next_seq, count, len(body))
        self.pages += 1
        self.next_seq += count
        return PageMeta(last_updated, total, count, repeated, disclaimer), (page if count else None)

    def _records(self, path: Path, size: int) -> tuple[int, int, list[Path]]:
        """(records, records repeated, the parsed records' files): reads the page's records,
        parses them for the shaper (_parse) and compresses them into a raw file."""
        self.con.execute("SET VARIABLE page_file = $f", {"f": str(path)})
        seqs: list[int] = []
        blobs: list[bytes] = []
        hashes: list[int] = []
        try:
            self.con.execute(sql("read_records"))
            files = self._parse(path, size)
            if not self.raw:
                # Compressing the records was about half of this step's time.
                count = self.con.execute("SELECT count(*) FROM page_records").fetchone()[0]
                self.con.execute("DROP TABLE IF EXISTS page_records")
                return count, 0, files
            # In the table's order, not sorted: sorting a 70 MB page would need memory for it.
            cursor = self.con.execute("SELECT pos, encode(record), h FROM page_records")
            while rows := cursor.fetchmany(CHUNK):
                records = [record for _, record, _ in rows]
                if self._compressor is None:
                    self._start_compressing(records)
                compressed = self._compressor.multi_compress_to_buffer(records)
                blobs.extend(compressed[i].tobytes() for i in range(len(compressed)))
                seqs.extend(self.next_seq + pos - 1 for pos, _, _ in rows)
                hashes.extend(h for _, _, h in rows)
        except duckdb.OutOfMemoryException:
            raise out_of_memory(size) from None
        except duckdb.Error as exc:  # not a JSON list
            if failures.write_failure(exc):
                raise
            raise InvalidPage(first_line(str(exc))) from None
        finally:
            path.unlink(missing_ok=True)
        self.con.execute("DROP TABLE IF EXISTS page_records")
        if blobs:
            self._write_raw(seqs, blobs)
        # Compared whole (64-bit hashes of the JSON text): two versions of one report differ.
        seen = set(hashes)
        repeated = len(hashes) - len(seen) + len(seen & self._query_hashes)
        self._query_hashes |= seen
        return len(blobs), repeated, files

    def _parse(self, path: Path, size: int) -> list[Path]:
        """Parse the records just read for the shaper ({source}_parse.sql) into Parquet files
        named like the page's: one, or one per slice of SLICE_BYTES for a bigger page."""
        self.con.execute("SET VARIABLE first_seq = $n", {"n": self.next_seq})
        self.con.execute("SET VARIABLE slice_bytes = $n", {"n": SLICE_BYTES})
        slices = self.con.execute(sql("record_slices")).fetchall() if size > SLICE_BYTES else [(1, 2**62)]
        files = []
        for number, (low, high) in enumerate(slices):
            files.append(path.with_name(f"{path.stem}-{number:04d}.parquet"))
            self.con.execute("SET VARIABLE records_file = $f", {"f": str(files[-1])})
            self.con.execute("SET VARIABLE low = $low", {"low": low})
            self.con.execute("SET VARIABLE high = $high", {"high": high})
            self.con.execute(sql(f"{self.source}_parse"))
        return files

    def _start_compressing(self, records: list[bytes]) -> None:
        if len(records) >= DICTIONARY_MIN:
            try:
                self.dictionary = zstandard.train_dictionary(DICTIONARY_BYTES, records[:DICTIONARY_SAMPLES], level=1).as_bytes()
            except zstandard.ZstdError:  # records too alike or too few to learn from
                self.dictionary = None
        dictionary = zstandard.ZstdCompressionDict(self.dictionary) if self.dictionary else None
        self._compressor = zstandard.ZstdCompressor(level=1, dict_data=dictionary)

    def _write_raw(self, seqs: list[int], blobs: list[bytes]) -> None:
        path = self.folder / f"raw-{len(self.raw_files):06d}.parquet"
        raw_input = pd.DataFrame({"stage_seq": pd.Series(seqs, dtype="int64"), "record": pd.Series(blobs, dtype=object)})  # noqa: F841 (read by DuckDB by name)
        self.con.execute(f"COPY (SELECT stage_seq, record::BLOB AS record FROM raw_input) TO '{path}' (FORMAT parquet, COMPRESSION uncompressed)")
        self.raw_files.append(str(path))

    def _read_whole_page(self, body: bytes, path: Path) -> tuple[str | None, int | None, str | None, str | None]:
        """(last_updated, total, disclaimer, results written to path or None) of a page in
        another layout, read as one JSON value."""
        write(path, body)
        self.con.execute("SET VARIABLE page_file = $f", {"f": str(path)})
        self.con.execute("SET VARIABLE page_bytes = $n", {"n": len(body) + 1024})
        try:
            self.con.execute(sql("read_page"))
        except duckdb.OutOfMemoryException:
            raise out_of_memory(len(body)) from None
        except duckdb.Error as exc:
            if failures.write_failure(exc):
                raise
            raise wrong_layout_or_invalid(body, exc) from None
        row = self.con.execute("SELECT last_updated, total, results IS NOT NULL, disclaimer FROM page_envelope").fetchone()
        if row is None or not row[2]:
            return (None if row is None else row[0]), None, (None if row is None else row[3]), None
        records = self.con.execute("SELECT '[' || coalesce(string_agg(record::VARCHAR, ',' ORDER BY pos), '') || ']' FROM page_records").fetchone()[0]
        write(path, records.encode("utf-8"))
        return row[0], row[1], row[3], str(path)


def write(path: Path, data) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:  # a full disk, not a bad page: named with the file it hit
        raise OSError(exc.errno, exc.strerror, str(path)) from None


def wrong_layout_or_invalid(body: bytes, exc: duckdb.Error) -> ValueError:
    """A page DuckDB could not read: WrongPage if it is valid JSON of another layout (a wrong
    answer, which asking again would not mend), else InvalidPage (a transfer gone wrong,
    asked for again). Parsed whole in Python only here, when reading it has already failed."""
    try:
        value = json.loads(body)
    except ValueError:
        return InvalidPage(first_line(str(exc)))
    return WrongPage(layout_problem(value) or f"a layout kratom-ae cannot read: {first_line(str(exc))}")


def out_of_memory(size: int) -> OpenFDAError:
    # Not InvalidPage: asking again for the same page would run out of memory again.
    return OpenFDAError(f"A page of {size / 2**20:.0f} MiB from openFDA needed more than the {MEMORY_LIMIT} of memory kratom-ae gives DuckDB; the fetch was abandoned.")


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


