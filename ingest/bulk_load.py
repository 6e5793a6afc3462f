"""A way in from openFDA's bulk files (issue 22): the reports of the newest whole export in a
cache folder that `kratom-ae bulk download` filled, through exactly the shaping and publish a
fetch from the search API goes through.

Every record of every partition is read and judged by name: one whose name fields (the
fields the page SQL matches, Source.search_fields) could hold a search term is kept
(terms.could_match, which never turns down a record the matcher would accept), and so is one
with a near miss of a term (terms.near_miss: KRAT0M, one edit from KRATOM), for `kratom-ae
terms --judged near-miss` to list; the rest pass by. Fast, as all of FAERS needs: each
partition's results array is unzipped to a file (bulk.unzip_results, one partition ahead, in a
thread of its own) and read by DuckDB (Sieve: bulk_sieve.sql), which counts the records, keeps
the ids of those not kept, and hands Python only the records a sieve of regular expressions
finds (terms.bulk_sieve: every record the name filter keeps, and a few more); those are parsed
as read_items parses them and judged by the same kept_by_name. A partition in another layout,
or one DuckDB cannot read, is read record by record (bulk.partition_records), which gives the
same records. The kept records are written out again as pages shaped like the search API's,
and go to ingest/staging.py and ingest/publish.py. An item that cannot be a report (not a
JSON object, or no id: bulk.unkeyable) is set aside, never shaped: listed in fetch_problems
with its place (the partition's URL, its position there), as not stored. So the tool's own matcher
judges every drug name of every report, and finds what no openFDA search can (KRA-TOM, whose
words KRA and TOM no wildcard on KRATOM finds); and a report read both ways gives the same rows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable, Iterable, Iterator

import duckdb
import pandas as pd

from kratom_ae import __version__
from kratom_ae.ingest import bulk, failures, publish
from kratom_ae.ingest.clock import utcnow
from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest.scratch import database_file, scratch_folder_of
from kratom_ae.ingest.sources import Source
from kratom_ae.ingest.staging import Staging
from kratom_ae.ingest.sqlfiles import sql
from kratom_ae.ingest.terms import Term, bulk_sieve, could_match, near_miss
from kratom_ae.ingest.text import printable

# Kept records are handed to the shaping this many at a time, as the search API's pages are.
PAGE_RECORDS = 1000
# What fetch_runs.term and .search say of a run that read a partition rather than a search.
BULK_TERM = "(bulk file)"
# The fields of Source.search_fields that openFDA fills with a list of names.
LIST_FIELDS = {"patient.drug.openfda.brand_name", "patient.drug.openfda.generic_name", "patient.drug.openfda.substance_name"}

OnPartition = Callable[[bulk.Export, bulk.Partition, int, int, dict], None]


def load_source(con: duckdb.DuckDBPyConnection, cache: Path, source: Source, terms: list[Term], on_partition: OnPartition | None = None) -> bulk.Export:
    """Replace the source's rows with the kratom reports of the newest whole export in `cache`,
    one run (fetch_runs) per partition; all or nothing, as fetch_source."""
    export = bulk.cached_export(cache, source.name)
    staging = Staging(database_file(con), terms, source.name, source.id_field, folder=scratch_folder_of(con), threaded=True)
    sieve = Sieve(staging.folder, source, terms)
    paths = [cache / export.folder / part.path for part in export.partitions]
    try:
        runs, kept_ids = [], set()
        with Unzipping(paths, staging.folder) as unzipped:
            for number, (part, path) in enumerate(zip(export.partitions, paths), 1):
                counted = Counter()
                runs.append(load_partition(staging, sieve, path, unzipped.next(), number, export, part, source, terms, counted))
                kept_ids.update(counted.kept_ids)
                sieve.remember(counted.other_ids, number)
                if on_partition:
                    on_partition(export, part, number, len(export.partitions), runs[-1] | {"set_aside": len(counted.set_aside)})
        # Another version of a kept report, or another record under its id, may have been
        # turned down by name (a follow-up that names no kratom): it is staged too, so that the
        # publish keeps the latest version, as for the search API, which returns only that one.
        # Only the partitions holding such a record are read again.
        shared = sieve.shared_ids(kept_ids)
        if shared:
            again = sieve.partitions_holding(shared)
            for number, (part, run, path) in enumerate(zip(export.partitions, runs, paths), 1):
                if number in again:
                    add_records(staging, sieve, path, source, terms, shared, run)
        staged = staging.finish()
        staging.close()
        sieve.close()
        publish.publish(con, source.name, runs, staged)
    finally:
        sieve.close()
        staging.cleanup()
    return export


# DuckDB's memory for the sieve: the ids of every record not kept (all of FAERS: 20 million)
# go to a file in the scratch folder, not to memory.
SIEVE_MEMORY = "256MB"
# Records handed from DuckDB to Python at a time.
FETCH_ROWS = 500


def sieve_pattern(source: Source, terms: list[Term]) -> tuple[str, str]:
    return bulk_sieve(terms, source.search_fields, source.search_fields[:1], LIST_FIELDS)


def first_key(key: str) -> str:
    """A regular expression for a record's JSON text that starts with `key` given as JSON text:
    its value's JSON (group 1). A key given twice is read as its first, so this is the value
    json_extract reads, found without parsing the record."""
    return r'^\{[ \t\n\r]*"' + re.escape(key) + r'"[ \t\n\r]*:[ \t\n\r]*("(?:[^"\\]|\\.)*")'


class Sieve:
    """DuckDB's reading of the unzipped partitions: every record counted, its id kept when it
    is not kept by name, and only the records the sieve (terms.bulk_sieve) finds handed to
    Python, to be judged by kept_by_name; the ids of the records not kept, by partition, in a
    database file of its own in the scratch folder."""

    def __init__(self, folder: Path, source: Source, terms: list[Term]):
        self.con = duckdb.connect(str(folder / "sieve.duckdb"), config={"memory_limit": SIEVE_MEMORY, "temp_directory": str(folder)})
        self.con.execute("SET enable_progress_bar = false")
        # Insertion order kept (DuckDB's default): the records found go to the shaping in the
        # partition's order, as read_items gives them.
        # id: as remember() stored it (None as NULL); key: as add_records compares it (str()).
        self.con.execute("CREATE TABLE other_ids (id VARCHAR, part INTEGER, key VARCHAR)")
        self.pattern = sieve_pattern(source, terms)
        self.id_path = "$." + source.id_field
        self.id_first = first_key(source.id_field)

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    def sieve(self, file: Path, number: int) -> tuple[int, Iterator[tuple[int, bytes]]]:
        """(the partition's records, (place, JSON text) of those the sieve finds, in their
        order); the ids of the others go to other_ids. duckdb.Error if the file is not a JSON
        list."""
        escapes, names = self.pattern
        self.con.execute(sql("bulk_sieve"), {"file": str(file), "escapes": escapes, "names": names, "id_path": self.id_path, "id_first": self.id_first})
        records = self.con.execute("SELECT count(*) FROM sieved").fetchone()[0]
        self.con.execute("INSERT INTO other_ids SELECT id, $n, id FROM sieved WHERE record IS NULL", {"n": number})
        return records, self._texts("SELECT pos, record FROM sieved WHERE record IS NOT NULL ORDER BY pos")

    def shared(self, file: Path) -> Iterator[tuple[int, bytes]]:
        """(place, JSON text) of the records that may carry an id of shared_ids, in their order."""
        self.con.execute(sql("bulk_shared"), {"file": str(file), "id_path": self.id_path, "id_first": self.id_first})
        return self._texts("SELECT pos, record FROM shared_records ORDER BY pos")

    def _texts(self, query: str) -> Iterator[tuple[int, bytes]]:
        """The query's (place, text) rows, FETCH_ROWS at a time (never a partition's worth in
        memory). The next statement on this connection ends the cursor: callers read them all
        first."""
        cursor = self.con.execute(query)

        def texts() -> Iterator[tuple[int, bytes]]:
            while rows := cursor.fetchmany(FETCH_ROWS):
                for position, text in rows:
                    yield position, text.encode("utf-8")

        return texts()

    def remember(self, other_ids: list, number: int) -> None:
        if other_ids:
            frame = pd.DataFrame({"id": [None if i is None else str(i) for i in other_ids], "key": [str(i) for i in other_ids]})  # noqa: F841 (read by DuckDB by name)
            self.con.execute("INSERT INTO other_ids SELECT id, $n, key FROM frame", {"n": number})

    def shared_ids(self, kept_ids: set) -> set[str]:
        """The ids of kept records that records not kept also carry."""
        if not kept_ids:
            return set()
        kept = pd.DataFrame({"id": sorted(str(i) for i in kept_ids if i is not None)})  # noqa: F841
        return {row[0] for row in self.con.execute("SELECT DISTINCT o.id FROM other_ids AS o SEMI JOIN kept USING (id)").fetchall()}

    def partitions_holding(self, shared: set[str]) -> set[int]:
        """The partitions with a record not kept whose id, as add_records reads it, is shared."""
        frame = pd.DataFrame({"id": sorted(shared)})  # noqa: F841
        self.con.execute("CREATE OR REPLACE TEMP TABLE shared_ids AS SELECT id FROM frame")
        return {row[0] for row in self.con.execute("SELECT DISTINCT part FROM other_ids WHERE key IN (SELECT id FROM shared_ids)").fetchall()}


class Unzipping:
    """Each partition's results array unzipped (bulk.unzip_results) one partition ahead, in a
    thread of its own, while the one before is sieved: at most two unzipped on disk."""

    def __init__(self, paths: list[Path], folder: Path):
        from concurrent.futures import ThreadPoolExecutor

        self.paths, self.folder = list(paths), folder
        self.pool = ThreadPoolExecutor(1)
        self.pending = None
        self.current: Path | None = None
        self.number = 0

    def __enter__(self):
        self._submit()
        return self

    def __exit__(self, *exc):
        if self.pending is not None:
            self.pending.cancel()
            try:
                self.pending.result()
            except Exception:  # noqa: BLE001 (a partition no one reads: read_items says what is wrong with it)
                pass
        self.pool.shutdown(wait=True)
        self._drop()
        for path in self.folder.glob("partition-*.json"):
            path.unlink(missing_ok=True)
        return False

    def _submit(self) -> None:
        if self.number < len(self.paths):
            into = self.folder / f"partition-{self.number:06d}.json"
            self.pending = self.pool.submit(bulk.unzip_results, self.paths[self.number], into)
            self.number += 1
        else:
            self.pending = None

    def _drop(self) -> None:
        if self.current is not None:
            self.current.unlink(missing_ok=True)
            self.current = None

    def next(self) -> bulk.Unzipped | None:
        """The next partition's results, unzipped (None: read it with read_items); the one
        before is deleted."""
        self._drop()
        unzipped = self.pending.result()
        self._submit()
        self.current = unzipped.path if unzipped else None
        return unzipped


def add_records(staging: Staging, sieve: Sieve, path: Path, source: Source, terms: list[Term], shared: set[str], run: dict) -> None:
    """The records of a partition under a shared id that the first reading turned down."""
    staging.begin_query()
    texts = None
    unzipped = bulk.unzip_results(path, staging.folder / "shared.json")
    if unzipped is not None:
        try:
            texts = sieve.shared(unzipped.path)
        except duckdb.Error as exc:
            if failures.write_failure(exc):
                raise
        finally:
            unzipped.path.unlink(missing_ok=True)
    records = bulk.partition_records(path) if texts is None else (bulk.parse_record(text) for _, text in texts)
    # A record that cannot be a report was set aside by the first reading, or passed by.
    wanted = (as_json(r) for r in records if bulk.unkeyable(r, source.id_field) is None and str(r[source.id_field]) in shared and not kept_by_name(r, source, terms))
    for records in bulk.batches(wanted, PAGE_RECORDS):
        staging.read_page(page_body(records, run["last_updated"], run["disclaimer"]))
        staging.page_done()
        run["records_received"] += len(records)
        run["pages"] += 1


def kept_by_name(record: dict, source: Source, terms: list[Term]) -> bool:
    """Whether a name field could match a term, or the product name (medicinalproduct,
    name_brand: what `kratom-ae terms` lists) nearly does."""
    return could_match(list(names(record, source.search_fields)), terms) or near_miss(list(names(record, source.search_fields[:1])), terms)


def load_partition(staging: Staging, sieve: Sieve, path: Path, unzipped: bulk.Unzipped | None, number: int, export: bulk.Export, part: bulk.Partition, source: Source, terms: list[Term],
                   counted: "Counter") -> dict:
    """A partition's run, its kept records staged. Read by the sieve when it is unzipped in
    openFDA's layout and DuckDB reads its results as a JSON list; else record by record
    (read_items), which reads any layout and names what is wrong with a damaged one."""
    found = None
    if unzipped is not None:
        try:
            found = sieve.sieve(unzipped.path, number)
        except duckdb.Error as exc:
            if failures.write_failure(exc):
                raise
    if found is None:
        meta = bulk.partition_meta(path)
        records = enumerate(bulk.partition_records(path), 1)
    else:
        meta = unzipped.meta if isinstance(unzipped.meta, dict) else {}
        counted.records, texts = found
        records = ((position, bulk.parse_record(text)) for position, text in texts)
    last_updated = meta.get("last_updated") if isinstance(meta.get("last_updated"), str) else export.export_date
    run = {
        "source": source.name,
        "endpoint": source.endpoint,
        "term": BULK_TERM,
        "search": f"bulk export {export.export_date}, {part.display_name}: every record, kept when a name field holds a search term's letters and digits or the product name is one edit from one",
        "base_url": part.url,
        "last_updated": last_updated,
        "total_reported": 0,  # the partition's records, all read
        "records_received": 0,  # those kept for the matcher
        "pages": 0,
        "started_at": utcnow(),
        "status": "complete",
        "tool_version": __version__,
        "disclaimer": meta.get("disclaimer") if isinstance(meta.get("disclaimer"), str) else None,
    }
    staging.begin_query()
    for records in bulk.batches(kept(records, source, terms, counted, count=found is None), PAGE_RECORDS):
        staging.read_page(page_body(records, last_updated, run["disclaimer"]))
        staging.page_done()
        run["records_received"] += len(records)
        run["pages"] += 1
    run["total_reported"] = counted.records
    for position, report_id, problem in counted.set_aside:
        staging.set_aside(report_id, f"{problem} (record {position} of {part.url}, not stored)")
    if part.records is not None and counted.records != part.records:
        # Verified when it was downloaded: the file was changed since.
        raise KratomAEError(f"The bulk partition {printable(str(path))} holds {counted.records:,} records where download.json listed {part.records:,}; it changed after it was downloaded: delete it and run kratom-ae bulk download again.")
    run["finished_at"] = utcnow()
    return run


class Counter:
    """What a partition held: its records, the ids of those kept and of the others, and the
    records set aside (place in the partition, id as fetch_problems holds it, problem)."""

    def __init__(self):
        self.records = 0
        self.kept_ids: list = []
        self.other_ids: list = []
        self.set_aside: list[tuple[int, str | None, str]] = []


def kept(records: Iterable[tuple[int, object]], source: Source, terms: list[Term], counted: Counter, count: bool = True) -> Iterator[bytes]:
    """The records kept by name (kept_by_name), as JSON text, from (place, record) pairs; the
    ids of all in `counted` (and their number, with `count`: the sieve counted them otherwise).
    An item that cannot be a report (bulk.unkeyable) is set aside when it is not an object
    (nothing tells whether it names kratom) or is kept by name; one that names no term is
    passed by, as every other such record is."""
    for position, record in records:
        counted.records += count
        problem = bulk.unkeyable(record, source.id_field)
        if problem is not None:
            if not isinstance(record, dict) or kept_by_name(record, source, terms):
                counted.set_aside.append((position, bulk.unkeyable_id(record, source.id_field), problem))
            continue
        if kept_by_name(record, source, terms):
            counted.kept_ids.append(record.get(source.id_field))
            yield as_json(record)
        else:
            counted.other_ids.append(record.get(source.id_field))


def as_json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def names(record: dict, fields: list[str]) -> Iterator[str]:
    """The values of dotted fields (patient.drug.openfda.brand_name) as the page SQL reads them:
    through the lists on the way (patient.drug[]), each name of a list field (openfda's), and a
    value of a field that holds one name as its text, or as its JSON when it is not text
    (["KRA", "TOM"] is one name there, as DuckDB reads it)."""
    for field in fields:
        *path, last = field.split(".")
        holders = [record]
        for key in path:
            holders = [holder[key] for holder in flat(holders) if isinstance(holder, dict) and holder.get(key) is not None]
        for holder in flat(holders):
            if not isinstance(holder, dict) or holder.get(last) is None:
                continue
            value = holder[last]
            for name in (value if field in LIST_FIELDS and isinstance(value, list) else [value]):
                if name is not None:
                    yield name if isinstance(name, str) else as_json(name).decode("utf-8")


def flat(values: list) -> Iterator:
    for value in values:
        yield from (value if isinstance(value, list) else [value])


def page_body(records: list[bytes], last_updated: str, disclaimer: str | None) -> bytes:
    """Records as a page of the search API: {"meta": ..., "results": [...]}."""
    meta = {"last_updated": last_updated, "results": {"skip": 0, "limit": len(records), "total": len(records)}}
    if disclaimer:
        meta["disclaimer"] = disclaimer
    return b'{"meta":' + json.dumps(meta).encode("utf-8") + b',"results":[' + b",".join(records) + b"]}"
