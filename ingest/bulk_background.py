"""The local background (issue 22, item 3): for every report of a bulk export, the columns a
disproportionality background needs, as Parquet files beside the export in the bulk cache:

    CACHE/drug-event/<export_date>/background/<period>/<partition>/reports.parquet
                                                                  /reactions.parquet
                                                                  /ingredients.parquet
                                                                  /partition.json

Every record of every partition goes through the shaping a fetched page goes through
(ingest/staging.py: the same SQL turns ages of every unit into years, codes into labels,
countries into ISO codes, terms into term keys and products into ingredients), and
ingest/sql/background_store.sql keeps of the staged rows what the background counts
(docs/schema.md "The local background"). Nothing is kept by name: the background is all of
the endpoint, kratom reports included (the kratom flags say which), as openFDA's counts are.
An item that cannot be a report (not a JSON object, or no id: bulk.unkeyable) is left out
before the shaping, counted and listed with its position in partition.json.

A partition's files are written into a folder NAME.part and renamed to NAME once whole, and
partition.json (its URL, the export date, the records read) is written last inside it: a
partition is in the store only when its folder is, so an interrupted run leaves the store as
it was plus the partitions it finished, and the next run does only the others. Versions are
not decided here: a report's versions may lie in two partitions, and the count queries
(queries/_local_background.sql) keep the latest of each, by the rule of ingest/sql/publish.sql.
Memory is that of WORKERS partitions' shaping, whatever the number of partitions.

Each partition's results array is unzipped (bulk.unzip_results) and split into its records'
JSON texts by DuckDB (split), which the shaping reads as it reads a search page; a partition
in another layout, or one DuckDB cannot read, is read record by record (bulk.partition_records)
and gives the same rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import duckdb

from kratom_ae import __version__
from kratom_ae.ingest import bulk, cases, failures
from kratom_ae.ingest.clock import utcnow
from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest.sources import Source
from kratom_ae.ingest.sqlfiles import sql
from kratom_ae.ingest.staging import Staging
from kratom_ae.ingest.terms import Term
from kratom_ae.ingest.text import plural, printable

# The store's layout and columns: a store of another format is built again, not read.
# 2: age_reported and age_unit_reported, the onset age as reported (signals --adjusted's strata).
FORMAT = 2
FOLDER = "background"
TABLES = ("reports", "reactions", "ingredients")
# Records handed to the shaping at a time, as the search API's pages are.
PAGE_RECORDS = 1000
# JSON shaped at a time (a fetch shapes staging.BATCH_BYTES): each batch costs its statements'
# planning whatever its size, and a fetch's batches spent a fifth of the shaping on that here.
SHAPING_BYTES = 96 * 1024 * 1024
# Partitions built at once, each in a thread of its own with DuckDBs of one thread: one
# partition's steps (unzip, read, shape, store) each wait for the one before, so one at a time
# kept a single core busy.
WORKERS = 2
# The store's probable cases (--cases): report_id, case_id, case_rule of every latest version.
CASES_FILE = "cases.parquet"
CASES_RECORD = "cases.json"


@dataclass(frozen=True)
class Store:
    """A source's background store: the export it was built from and its partitions' folders."""

    source: str
    export: bulk.Export
    folder: Path  # CACHE/<endpoint>/<export_date>/background
    partitions: list[Path]  # one folder per partition, in the export's order

    def files(self, table: str) -> list[str]:
        return [str(p / f"{table}.parquet") for p in self.partitions]

    def provenance(self) -> list[dict]:
        return [json.loads((p / "partition.json").read_text(encoding="utf-8")) for p in self.partitions]


def terms_digest(terms: list[Term]) -> str:
    """Which kratom terms flagged the reports (the store's is_kratom columns depend on them)."""
    text = "\n".join(f"{t.term}\t{t.match}" for t in terms)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def partition_folder(store_folder: Path, part: bulk.Partition) -> Path:
    return store_folder / part.path.parent / part.path.name.removesuffix(".json.zip").removesuffix(".zip")


def is_built(folder: Path, part: bulk.Partition, export: bulk.Export, digest: str) -> bool:
    try:
        record = json.loads((folder / "partition.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (record.get("format") == FORMAT and record.get("url") == part.url and record.get("export_date") == export.export_date
            and record.get("terms") == digest and all((folder / f"{t}.parquet").is_file() for t in TABLES))


OnPartition = Callable[[bulk.Export, bulk.Partition, int, int, dict | None], None]


def build(cache: Path, source: Source, terms: list[Term], on_partition: OnPartition | None = None) -> Store:
    """Shape every record of the newest whole export of `source` in `cache` into its background
    store, partition by partition; partitions already built (for this export and these terms)
    are kept. on_partition gets None for a partition kept, else what was read."""
    export = bulk.cached_export(cache, source.name)
    store_folder = cache / export.folder / FOLDER
    store_folder.mkdir(exist_ok=True)
    # What a run killed (kill -9) left: its scratch folders and half-built partitions. One
    # build of a cache at a time, as one download.
    for leftover in [*store_folder.rglob(".scratch-*"), *store_folder.rglob("*.part")]:
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    digest = terms_digest(terms)
    # Partitions are built WORKERS at a time, each in a thread of its own, and reported in the
    # export's order. A failure (or Ctrl-C) stops the others at their next page.
    stop = threading.Event()
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="kratom-ae background") as pool:
        futures = []
        for number, part in enumerate(export.partitions, 1):
            target = partition_folder(store_folder, part)
            built = is_built(target, part, export, digest)
            futures.append(None if built else pool.submit(build_partition, cache / export.folder / part.path, target, number, export, part, source, terms, digest, stop))
        try:
            for number, (part, future) in enumerate(zip(export.partitions, futures), 1):
                done = None if future is None else future.result()
                if on_partition:
                    on_partition(export, part, number, len(export.partitions), done)
        except BaseException:
            stop.set()
            for future in futures:
                if future is not None:
                    future.cancel()
            raise
    return opened(cache, source.name, digest)


def build_partition(path: Path, target: Path, number: int, export: bulk.Export, part: bulk.Partition, source: Source, terms: list[Term], digest: str,
                    stop: threading.Event | None = None) -> dict:
    """One partition's files into target.part, renamed to target once whole; Stopped soon
    after `stop` is set."""
    partial = target.with_name(target.name + ".part")
    shutil.rmtree(partial, ignore_errors=True)  # left by a run killed here
    partial.mkdir(parents=True)
    meta = bulk.partition_meta(path)
    read = 0
    left_out: list[dict] = []

    def counted(records: Iterable[object]) -> Iterator[bytes]:
        """The records as JSON text; an item that cannot be a report (bulk.unkeyable) is left
        out, with its place: no report of the background can be counted without its id."""
        nonlocal read
        for record in records:
            read += 1
            problem = bulk.unkeyable(record, source.id_field)
            if problem is not None:
                left_out.append({"position": read, "problem": problem})
                continue
            yield json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def split_counted(texts: Iterator[tuple[bytes, bool]]) -> Iterator[bytes]:
        """The records DuckDB split; one it calls suspect is judged by bulk.unkeyable as
        counted() judges every record, and handed on as counted() writes it (an id given twice
        is then its last, as there)."""
        nonlocal read
        for text, suspect in texts:
            read += 1
            if suspect:
                item = json.loads(text)
                problem = bulk.unkeyable(item, source.id_field)
                if problem is not None:
                    left_out.append({"position": read, "problem": problem})
                    continue
                text = json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            yield text

    with tempfile.TemporaryDirectory(prefix=".scratch-", dir=target.parent) as scratch:
        stored = None
        unzipped = bulk.unzip_results(path, Path(scratch) / "partition.json")
        if unzipped is not None:
            try:
                stored = shape_partition(split_counted(split(unzipped.path, scratch, source.id_field)), scratch, partial, number, source, terms, stop)
            except Unsplit:
                read = 0
                left_out.clear()
            finally:
                unzipped.path.unlink(missing_ok=True)
        if stored is None:  # another layout, or records DuckDB does not read: record by record
            stored = shape_partition(counted(bulk.partition_records(path)), scratch, partial, number, source, terms, stop)
    if part.records is not None and read != part.records:
        shutil.rmtree(partial, ignore_errors=True)
        raise KratomAEError(f"The bulk partition {printable(str(path))} holds {read:,} records where download.json listed {part.records:,}; it changed after it was downloaded: delete it and run kratom-ae bulk download again.")
    record = {
        "format": FORMAT, "source": source.name, "endpoint": source.endpoint, "export_date": export.export_date, "url": part.url,
        "display_name": part.display_name, "part_seq": number, "records_read": read, "reports_stored": stored,
        # Of records_read, the items that could not be reports (bulk.unkeyable), each with its
        # position in the partition's results (from 1); absent from a partition built before.
        "records_left_out": len(left_out), "left_out": left_out,
        "last_updated": meta.get("last_updated") if isinstance(meta.get("last_updated"), str) else export.export_date,
        "disclaimer": meta.get("disclaimer") if isinstance(meta.get("disclaimer"), str) else None,
        "terms": digest, "tool_version": __version__, "built_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    (partial / "partition.json").write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)  # built for another export's terms or format
    os.replace(partial, target)
    return record


def shape_partition(records: Iterable[bytes], scratch: str, partial: Path, number: int, source: Source, terms: list[Term], stop: threading.Event | None = None) -> int:
    """The records (JSON texts) shaped as fetched pages are, PAGE_RECORDS at a time, and the
    store's files of them written into `partial`; returns the reports stored."""
    # No raw records: the store keeps none, and compressing them was half the reader's time.
    # Shaped in this thread: the partitions built side by side keep the cores busy.
    staging = Staging(None, terms, source.name, source.id_field, folder=Path(scratch), raw=False, shaping_bytes=SHAPING_BYTES)
    try:
        staging.begin_query()
        for records in bulk.batches(records, PAGE_RECORDS):
            if stop is not None and stop.is_set():
                raise Stopped()
            staging.read_page(page_body(records))
            staging.page_done()
        staged = staging.finish()
        staging.close()
        con = duckdb.connect(config={"memory_limit": "256MB", "temp_directory": scratch})
        try:
            con.execute("SET threads = 1")
            con.execute(sql("shaping_macros"))
            variables = {"staged_reports": staged.reports, "staged_reactions": staged.reactions, "staged_ingredients": staged.ingredients,
                         "staged_case_facts": staged.case_facts, "part_seq": number, "out_folder": str(partial)}
            for name, value in variables.items():
                con.execute(f"SET VARIABLE {name} = $v", {"v": value})
            con.execute(sql("background_store"))
            return con.execute(f"SELECT count(*) FROM read_parquet('{partial / 'reports.parquet'}')").fetchone()[0]
        finally:
            con.close()
    finally:
        staging.cleanup()


class Stopped(Exception):
    """Another partition's build failed, or the run was interrupted."""


class Unsplit(Exception):
    """DuckDB could not read a partition's results as a list of JSON records."""


def split(file: Path, scratch: str, id_field: str) -> Iterator[tuple[bytes, bool]]:
    """The JSON text of each record of a partition's results array (bulk.unzip_results), in
    its order, as DuckDB splits a search page (read_records.sql): each record's own text, where
    reading it with ijson and writing it out again took 60% of the reading thread's time. The
    shaping parses the two alike (numbers as DuckDB reads them, escapes, a key given twice as
    its first; tests/test_local_background.py builds a store both ways).
    Each with whether it may be no report (background_split.sql's suspect). Unsplit if the
    file is not a JSON list DuckDB reads, maybe after some records: the partition is then
    shaped again, record by record."""
    con = duckdb.connect(config={"memory_limit": "256MB", "temp_directory": scratch})
    try:
        con.execute("SET threads = 1")  # in order; the shaping has the other core
        con.execute("SET enable_progress_bar = false")
        cursor = con.execute(sql("background_split"), {"file": str(file), "id_path": f"$.{id_field}", "id_key": f'"{id_field}"'})
        while rows := cursor.fetchmany(PAGE_RECORDS):
            yield from rows
    except duckdb.Error as exc:
        if failures.write_failure(exc):
            raise
        raise Unsplit() from None
    finally:
        con.close()


def opened(cache: Path, source: str, digest: str | None = None) -> Store:
    """The background store of the newest whole export of `source` in `cache`; KratomAEError
    unless every partition of it is built (a store missing a partition would count too few)."""
    export = bulk.cached_export(cache, source)
    store_folder = cache / export.folder / FOLDER
    folders = [partition_folder(store_folder, p) for p in export.partitions]
    if digest is None:
        digest = built_digest(folders)
    whole = [f for f, p in zip(folders, export.partitions) if is_built(f, p, export, digest)]
    older = sorted({str(r.get("format")) for r in partition_records(folders) if r.get("format") != FORMAT})
    if older and not whole:
        raise KratomAEError(f"The local background of the {export.endpoint} export {export.export_date} in {cache} was built by an earlier kratom-ae "
                            f"(store format {', '.join(older)}; this one reads {FORMAT}); build it again: kratom-ae bulk background {cache} --source {source}.")
    if len(whole) < len(folders):
        raise KratomAEError(f"The local background of the {export.endpoint} export {export.export_date} in {cache} is not whole "
                            f"({len(whole):,} of {plural(len(folders), 'partition')} built); build it first: kratom-ae bulk background {cache} --source {source}.")
    return Store(source, export, store_folder, folders)


def partitions_key(store: Store) -> list[str]:
    """What the cases were grouped from: each partition's URL and build time."""
    return [f"{p['url']} {p['built_at']}" for p in store.provenance()]


def cases_built(store: Store) -> bool:
    try:
        record = json.loads((store.folder / CASES_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return record.get("partitions") == partitions_key(store) and (store.folder / CASES_FILE).is_file()


def group_cases(store: Store) -> int:
    """Group the store's reports (latest versions) into probable cases by the rules of a fetch
    (ingest/sql/case_pairs.sql, ingest/cases.py) into cases.parquet; returns the reports that
    share their case with another. Written as .part and renamed, then cases.json says which
    partitions it was grouped from: a store rebuilt since is grouped again."""
    if cases_built(store):
        return -1
    with tempfile.TemporaryDirectory(prefix=".scratch-", dir=store.folder) as scratch:
        con = duckdb.connect(config={"memory_limit": "1GB", "temp_directory": scratch})
        try:
            con.execute("SET enable_progress_bar = false")
            con.execute(sql("shaping_macros"))
            facts = str(Path(scratch) / "facts.parquet")
            con.execute("SET VARIABLE bg_reports = $f", {"f": store.files("reports")})
            con.execute("SET VARIABLE facts_file = $f", {"f": facts})
            con.execute(sql("background_cases"))
            con.execute("SET VARIABLE stage_case_facts = $f", {"f": [facts]})
            shared = cases.assign(con, store.source)
            partial = store.folder / (CASES_FILE + ".part")
            con.execute(f"COPY (SELECT report_id, case_id, case_rule FROM reports ORDER BY report_id) TO '{partial}' (FORMAT parquet, COMPRESSION zstd)")
        finally:
            con.close()
    os.replace(partial, store.folder / CASES_FILE)
    (store.folder / CASES_RECORD).write_text(json.dumps({"partitions": partitions_key(store), "shared": shared, "grouped_at": str(utcnow())}, indent=1), encoding="utf-8")
    return shared


def partition_records(folders: list[Path]) -> Iterator[dict]:
    """The partition.json of each folder that has a readable one."""
    for folder in folders:
        try:
            yield json.loads((folder / "partition.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue


def built_digest(folders: list[Path]) -> str | None:
    for folder in folders:
        try:
            return json.loads((folder / "partition.json").read_text(encoding="utf-8")).get("terms")
        except (OSError, ValueError):
            continue
    return None


def page_body(records: list[bytes]) -> bytes:
    """Records as a page of the search API, which the shaping reads."""
    meta = {"results": {"skip": 0, "limit": len(records), "total": len(records)}}
    return b'{"meta":' + json.dumps(meta).encode("utf-8") + b',"results":[' + b",".join(records) + b"]}"
