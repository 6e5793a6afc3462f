"""A fetch: every search term of one source, staged page by page and published in one
transaction, so that an interrupted fetch leaves the database exactly as it was."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Callable

import duckdb

from ingest import caers, faers, store
from ingest.errors import KratomAEError
from ingest.openfda import OpenFDAClient, OpenFDAError, Page, public_url
from ingest.terms import KratomMatcher, Term, search_query


@dataclass(frozen=True)
class Source:
    name: str
    endpoint: str
    search_fields: list[str]
    report_rows: Callable
    id_field: str


SOURCES = {
    "faers": Source("faers", faers.ENDPOINT, faers.SEARCH_FIELDS, faers.report_rows, "safetyreportid"),
    "caers": Source("caers", caers.ENDPOINT, caers.SEARCH_FIELDS, caers.report_rows, "report_number"),
}

OnPage = Callable[[str, Term, Page, int], None]


def tool_version() -> str:
    try:
        return version("kratom-ae")
    except PackageNotFoundError:
        return "unknown"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def fetch_source(con: duckdb.DuckDBPyConnection, client: OpenFDAClient, source: Source, terms: list[Term], on_page: OnPage | None = None) -> None:
    """Fetch every term's results for one source and replace that source's rows with them.

    All-or-nothing: any exception (network failure, Ctrl-C, a bad record) rolls the
    transaction back; a killed process never commits it.
    """
    matcher = KratomMatcher(terms)
    runs: list[dict] = []
    next_seq = 0
    store.begin_staging(con)
    try:
        for term in terms:
            search = search_query(term, source.search_fields)
            run = {
                "source": source.name,
                "endpoint": source.endpoint,
                "term": term.term,
                "search": search,
                "base_url": public_url(client.base_url),
                "last_updated": None,
                "total_reported": 0,
                "records_received": 0,
                "pages": 0,
                "started_at": utcnow(),
                "status": "complete",
                "tool_version": tool_version(),
            }
            for page in client.search(source.endpoint, search):
                for record in page.results:
                    if not isinstance(record, dict) or not str(record.get(source.id_field) or "").strip():
                        raise OpenFDAError(f"openFDA sent a {source.endpoint} record without {source.id_field}; the fetch was abandoned.")
                shaped = [source.report_rows(record, matcher) for record in page.results]
                store.stage(con, shaped, next_seq)
                next_seq += len(shaped)
                run["records_received"] += len(page.results)
                run["pages"] += 1
                run["last_updated"], run["total_reported"] = page.last_updated, page.total
                if on_page:
                    on_page(source.name, term, page, run["records_received"])
            run["finished_at"] = utcnow()
            runs.append(run)
        check_same_snapshot(source, runs)
        store.publish(con, source.name, runs)
    except BaseException:
        rollback(con)
        raise


def check_same_snapshot(source: Source, runs: list[dict]) -> None:
    """All queries of a source must see the same openFDA release, or counts would mix two."""
    dates = sorted({run["last_updated"] for run in runs if run["last_updated"]})
    if len(dates) > 1:
        raise KratomAEError(f"openFDA updated {source.endpoint} during the fetch (last_updated {' and '.join(dates)}); run the fetch again.")


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.rollback()
    except duckdb.Error:
        pass  # no transaction left to roll back (the connection failed); nothing was committed
