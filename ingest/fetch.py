"""A fetch: every search term of one source, each page read and shaped by DuckDB in a
scratch database (ingest/staging.py: reading and shaping in two threads), then published in
one transaction, so that an interrupted fetch leaves the user's database exactly as it was."""

from __future__ import annotations

from typing import Callable

import duckdb

from kratom_ae import __version__
from kratom_ae.ingest import publish
from kratom_ae.ingest.clock import utcnow
from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest.openfda import OpenFDAClient, Page, public_url
from kratom_ae.ingest.scratch import database_file, scratch_folder_of
from kratom_ae.ingest.sources import SOURCES, Source  # noqa: F401 (SOURCES: imported from here too)
from kratom_ae.ingest.staging import PageMeta, Staging
from kratom_ae.ingest.terms import Term, search_query


OnPage = Callable[[str, Term, Page, int], None]


def fetch_source(con: duckdb.DuckDBPyConnection, client: OpenFDAClient, source: Source, terms: list[Term], on_page: OnPage | None = None) -> None:
    """Fetch every term's results for one source and replace that source's rows with them.

    All-or-nothing: the pages go to a scratch database; the user's database changes only in
    the final transaction, so an exception (network failure, Ctrl-C, a bad record) or a
    killed process leaves it as it was.
    """
    staging = Staging(database_file(con), terms, source.name, source.id_field, folder=scratch_folder_of(con), threaded=True)
    try:
        runs: list[dict] = []
        for term in (t for t in terms if t.searched):
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
                "tool_version": __version__,
                "disclaimer": None,
            }
            staging.begin_query()
            for page in client.search(source.endpoint, search, page_reader(staging, run)):
                staging.page_done()
                run["records_received"] += page.count
                run["pages"] += 1
                run["last_updated"], run["total_reported"] = page.last_updated, page.total
                if on_page:
                    on_page(source.name, term, page, run["records_received"])
            run["finished_at"] = utcnow()
            runs.append(run)
        staged = staging.finish()
        check_same_snapshot(source, runs)
        staging.close()
        publish.publish(con, source.name, runs, staged)
    finally:
        staging.cleanup()


def page_reader(staging: Staging, run: dict) -> Callable[[bytes], PageMeta]:
    """staging.read_page, keeping the server's meta.disclaimer in the run: the synthetic
    fixtures say there that their data is SYNTHETIC, and so must everything made from them."""

    def read(body: bytes) -> PageMeta:
        meta = staging.read_page(body)
        run["disclaimer"] = run["disclaimer"] or meta.disclaimer
        return meta

    return read


def check_same_snapshot(source: Source, runs: list[dict]) -> None:
    """All queries of a source must see the same openFDA release, or counts would mix two."""
    dates = sorted({run["last_updated"] for run in runs if run["last_updated"]})
    if len(dates) > 1:
        raise KratomAEError(f"openFDA updated {source.endpoint} during the fetch (last_updated {' and '.join(dates)}); run the fetch again.")
