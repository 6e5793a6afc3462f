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

OnPartition = Callable[[bulk.Export, bulk.Partition, int, int, dict], None]


def load_source(con: duckdb.DuckDBPyConnection, cache: Path, source: Source, terms: list[Term], on_partition: OnPartition | None = None) -> bulk.Export:
    """Replace the source's rows with the kratom reports of the newest whole export in `cache`,
    one run (fetch_runs) per partition; all or nothing, as fetch_source."""
    export = bulk.cached_export(cache, source.name)
    staging = Staging(database_file(con), terms, source.name, source.id_field, folder=scratch_folder_of(con), threaded=True)
    try:
        runs = []
        for number, part in enumerate(export.partitions, 1):
            runs.append(load_partition(staging, cache / export.folder / part.path, export, part, source, terms))
            if on_partition:
                on_partition(export, part, number, len(export.partitions), runs[-1])
        staged = staging.finish()
        staging.close()
        publish.publish(con, source.name, runs, staged)
    finally:
        staging.cleanup()
    return export


def load_partition(staging: Staging, path: Path, export: bulk.Export, part: bulk.Partition, source: Source, terms: list[Term]) -> dict:
    meta = bulk.partition_meta(path)
    last_updated = meta.get("last_updated") if isinstance(meta.get("last_updated"), str) else export.export_date
    run = {
        "source": source.name,
        "endpoint": source.endpoint,
        "term": BULK_TERM,
        "search": f"bulk export {export.export_date}, {part.display_name}: every record, kept when a name field holds a search term's letters and digits",
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
    counted = Counter()
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
    records = 0


def kept(records: Iterable[dict], source: Source, terms: list[Term], counted: Counter) -> Iterator[bytes]:
    """The records whose name fields could match a term, or nearly do, as JSON text."""
    for record in records:
        counted.records += 1
        named = list(names(record, source.search_fields))
        if could_match(named, terms) or near_miss(named, terms):
            yield json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def names(record: dict, fields: list[str]) -> Iterator:
    """The values of dotted fields (patient.drug.openfda.brand_name) through every list on the way."""
    for field in fields:
        values = [record]
        for key in field.split("."):
            values = [item for value in values for item in (value if isinstance(value, list) else [value])]
            values = [value[key] for value in values if isinstance(value, dict) and value.get(key) is not None]
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
