"""The disproportionality background: how many reports in all of FAERS (or CAERS) there are,
and how many name each reaction term, asked of openFDA itself instead of downloading it all.

Per source: one request for the total (meta.results.total), one count= request for the 1,000
most frequent terms, and one search per remaining term. The counts are cached in the
database with openFDA's last_updated and the kratom data's; they are fetched again with
--refresh, or when the kratom data was fetched from another openFDA release.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import duckdb
import pandas as pd

from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest.openfda import OpenFDAClient
from kratom_ae.ingest.sqlfiles import sql
from kratom_ae.ingest.store import rollback_quietly

FIELDS = {"faers": "patient.reaction.reactionmeddrapt.exact", "caers": "reactions.exact"}


def term_search(field: str, term: str) -> str:
    """Exact search for one term key. Terms are sent as openFDA stores them: an apostrophe is
    a caret there (CROHN^S DISEASE), and inside quotes the caret is not Lucene's boost. The
    .exact field is upper-cased by openFDA, so the key's case matches every spelling."""
    stored = term.replace("'", "^").replace(chr(34), chr(92) + chr(34))
    return f'{field}:"{stored}"'


@dataclass
class Refresh:
    source: str
    requests: int
    terms_counted: int
    last_updated: str | None


def needed(con: duckdb.DuckDBPyConnection) -> dict:
    """background_needed.sql's rows by source, with missing_terms as a plain list."""
    rows = {}
    for row in con.execute(sql("background_needed")).df().to_dict("records"):
        missing = row["missing_terms"]
        row["missing_terms"] = [] if missing is None or not len(missing) else list(missing)
        rows[row["source"]] = row
    return rows


def is_stale(row: dict, refresh: bool) -> bool:
    return refresh or row["cached_for"] is None or row["cached_for"] != row["kratom_last_updated"]


def is_complete(con: duckdb.DuckDBPyConnection, refresh: bool = False) -> bool:
    """Whether ensure() would send no request: then the database need not be opened for
    writing (one that cannot be written, or whose journal waits, is read as it is)."""
    return not any(is_stale(row, refresh) or row["missing_terms"] for row in needed(con).values())


def ensure(con: duckdb.DuckDBPyConnection, client: OpenFDAClient, refresh: bool = False, on_progress: Callable[[str, int, int], None] | None = None) -> list[Refresh]:
    """Make the cache hold a background for every source and term in scope (the scope views
    must exist). Sends no request when the cache is complete and was built for the current
    kratom data. Each source's background is replaced in one transaction."""
    done = []
    for source, row in needed(con).items():
        stale = is_stale(row, refresh)
        if not stale and not row["missing_terms"]:
            continue
        before = client.requests_sent
        con.begin()
        try:
            last_updated = row["background_last_updated"]
            if stale:
                last_updated = fetch_all(con, client, source, row["endpoint"], row["kratom_last_updated"], on_progress)
                row = needed(con)[source]
            searched_updated = search_terms(con, client, source, row["endpoint"], row["missing_terms"], on_progress)
            if searched_updated and last_updated and searched_updated != last_updated:
                raise KratomAEError(f"openFDA updated {row['endpoint']} while its background was being counted; run signals again with --refresh.")
            con.execute(sql("background_requests"), {"n": client.requests_sent - before, "s": source})
            con.commit()
        except BaseException:
            rollback_quietly(con)
            raise
        done.append(Refresh(source, client.requests_sent - before, len(row["missing_terms"]), last_updated))
    return done


def fetch_all(con, client: OpenFDAClient, source: str, endpoint: str, kratom_last_updated: str | None, on_progress) -> str | None:
    """Replace the source's background: the total and the count= top 1,000 (2 requests)."""
    total, last_updated = client.total(endpoint)
    top, count_updated = client.count(endpoint, FIELDS[source])
    if count_updated and last_updated and count_updated != last_updated:
        raise KratomAEError(f"openFDA updated {endpoint} while its background was being counted; run signals again.")
    con.execute("SET VARIABLE background_source = $s", {"s": source})
    con.execute(sql("background_clear"))
    frame = pd.DataFrame({"source": source, "term": [t for t, _ in top], "reports": [n for _, n in top], "method": "count"})
    if len(frame):
        # Registered by name: with file access off, DuckDB does not look up Python variables.
        # By term key (shaping_macros.sql, loaded with the scope): spellings count= tells
        # apart (CROHN^S DISEASE, CROHN'S DISEASE) are one term, their reports summed.
        con.register("background_input", frame)
        con.execute("INSERT INTO background_terms BY NAME SELECT source, term_key(term) AS term, sum(reports) AS reports, method FROM background_input WHERE term_key(term) IS NOT NULL GROUP BY ALL")
        con.unregister("background_input")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    con.execute(
        "INSERT INTO background_totals VALUES ($s, $e, $t, $u, $k, $f, 0)",
        {"s": source, "e": endpoint, "t": total, "u": last_updated, "k": kratom_last_updated, "f": now},
    )
    if on_progress:
        on_progress(source, 0, 0)
    return last_updated


def search_terms(con, client: OpenFDAClient, source: str, endpoint: str, terms: list[str], on_progress) -> str | None:
    """One exact search per term not in the count= list; their totals are the term counts."""
    updated = None
    for done, term in enumerate(terms, start=1):
        reports, term_updated = client.total(endpoint, term_search(FIELDS[source], term))
        updated = updated or term_updated
        con.execute("INSERT OR REPLACE INTO background_terms VALUES ($s, $t, $n, 'search')", {"s": source, "t": term, "n": reports})
        if on_progress:
            on_progress(source, done, len(terms))
    return updated
