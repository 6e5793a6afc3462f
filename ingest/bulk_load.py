"""A way in from openFDA's bulk files (issue 22): the reports of the newest whole export in a
cache folder that `kratom-ae bulk download` filled, through exactly the shaping and publish a
fetch from the search API goes through.

Every record of every partition is read as a stream (ingest/bulk.py) and judged by name:
one whose name fields (the fields the page SQL matches, Source.search_fields) could hold a
search term is kept (terms.could_match, which never turns down a record the matcher would
accept), and so is one with a near miss of a term (terms.near_miss: KRAT0M, one edit from
KRATOM), for `kratom-ae terms --judged near-miss` to list; the rest pass by. The kept records are written out again as pages shaped like the
search API's, and go to ingest/staging.py and ingest/publish.py. So the tool's own matcher
judges every drug name of every report, and finds what no openFDA search can (KRA-TOM, whose
words KRA and TOM no wildcard on KRATOM finds); and a report read both ways gives the same rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable, Iterator

import duckdb
import pandas as pd

from kratom_ae import __version__
from kratom_ae.ingest import bulk, publish
from kratom_ae.ingest.clock import utcnow
from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest.scratch import database_file, scratch_folder_of
from kratom_ae.ingest.sources import Source
from kratom_ae.ingest.staging import Staging
from kratom_ae.ingest.terms import Term, could_match, near_miss
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
    ids = duckdb.connect(config={"temp_directory": str(staging.folder)})  # the ids of the records not kept
    try:
        ids.execute("CREATE TABLE other_ids (id VARCHAR)")
        runs, kept_ids = [], set()
        for number, part in enumerate(export.partitions, 1):
            counted = Counter()
            runs.append(load_partition(staging, cache / export.folder / part.path, export, part, source, terms, counted))
            kept_ids.update(counted.kept_ids)
            remember(ids, counted.other_ids)
            if on_partition:
                on_partition(export, part, number, len(export.partitions), runs[-1])
        # Another version of a kept report, or another record under its id, may have been
        # turned down by name (a follow-up that names no kratom): it is staged too, so that the
        # publish keeps the latest version, as for the search API, which returns only that one.
        shared = shared_ids(ids, kept_ids)
        if shared:
            for part, run in zip(export.partitions, runs):
                add_records(staging, cache / export.folder / part.path, source, terms, shared, run)
        staged = staging.finish()
        staging.close()
        publish.publish(con, source.name, runs, staged)
    finally:
        ids.close()
        staging.cleanup()
    return export


def remember(ids: duckdb.DuckDBPyConnection, other_ids: list) -> None:
    if other_ids:
        frame = pd.DataFrame({"id": [None if i is None else str(i) for i in other_ids]})  # noqa: F841 (read by DuckDB by name)
        ids.execute("INSERT INTO other_ids SELECT id FROM frame")


def shared_ids(ids: duckdb.DuckDBPyConnection, kept_ids: set) -> set[str]:
    """The ids of kept records that records not kept also carry."""
    if not kept_ids:
        return set()
    kept = pd.DataFrame({"id": sorted(str(i) for i in kept_ids if i is not None)})  # noqa: F841
    return {row[0] for row in ids.execute("SELECT DISTINCT o.id FROM other_ids AS o SEMI JOIN kept USING (id)").fetchall()}


def add_records(staging: Staging, path: Path, source: Source, terms: list[Term], shared: set[str], run: dict) -> None:
    """The records of a partition under a shared id that the first reading turned down."""
    staging.begin_query()
    wanted = (as_json(r) for r in bulk.partition_records(path) if str(r.get(source.id_field)) in shared and not kept_by_name(r, source, terms))
    for records in batches(wanted, PAGE_RECORDS):
        staging.read_page(page_body(records, run["last_updated"], run["disclaimer"]))
        staging.page_done()
        run["records_received"] += len(records)
        run["pages"] += 1


def kept_by_name(record: dict, source: Source, terms: list[Term]) -> bool:
    """Whether a name field could match a term, or the product name (medicinalproduct,
    name_brand: what `kratom-ae terms` lists) nearly does."""
    return could_match(list(names(record, source.search_fields)), terms) or near_miss(list(names(record, source.search_fields[:1])), terms)


def load_partition(staging: Staging, path: Path, export: bulk.Export, part: bulk.Partition, source: Source, terms: list[Term], counted: "Counter") -> dict:
    meta = bulk.partition_meta(path)
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
    for records in batches(kept(bulk.partition_records(path), source, terms, counted), PAGE_RECORDS):
        staging.read_page(page_body(records, last_updated, run["disclaimer"]))
        staging.page_done()
        run["records_received"] += len(records)
        run["pages"] += 1
    run["total_reported"] = counted.records
    if part.records is not None and counted.records != part.records:
        # Verified when it was downloaded: the file was changed since.
        raise KratomAEError(f"The bulk partition {printable(str(path))} holds {counted.records:,} records where download.json listed {part.records:,}; it changed after it was downloaded: delete it and run kratom-ae bulk download again.")
    run["finished_at"] = utcnow()
    return run


class Counter:
    """What a partition held: its records, and the ids of those kept and of the others."""

    def __init__(self):
        self.records = 0
        self.kept_ids: list = []
        self.other_ids: list = []


def kept(records: Iterable[dict], source: Source, terms: list[Term], counted: Counter) -> Iterator[bytes]:
    """The records kept by name (kept_by_name), as JSON text; the ids of all in `counted`."""
    for record in records:
        counted.records += 1
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


def batches(items: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def page_body(records: list[bytes], last_updated: str, disclaimer: str | None) -> bytes:
    """Records as a page of the search API: {"meta": ..., "results": [...]}."""
    meta = {"last_updated": last_updated, "results": {"skip": 0, "limit": len(records), "total": len(records)}}
    if disclaimer:
        meta["disclaimer"] = disclaimer
    return b'{"meta":' + json.dumps(meta).encode("utf-8") + b',"results":[' + b",".join(records) + b"]}"
