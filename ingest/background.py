"""The disproportionality background: how many reports in all of FAERS (or CAERS) there are,
and how many name each reaction term, asked of openFDA itself instead of downloading it all.

Per source: one request for the total (meta.results.total), one count= request for the 1,000
most frequent terms, and one search per remaining term. The counts are cached in the
database with openFDA's last_updated and the kratom data's; they are fetched again with
--refresh, or when the kratom data was fetched from another openFDA release.

An active comparator (`signals --comparator FILE`) is counted the same way, with the
comparator's search (the one the kratom fetch would send for its terms) added to every
request, and cached beside the all-FAERS background under a digest of that search. One more
thing is asked: which of the source's kratom reports the comparator's search finds
(COMPARATOR_BATCH report ids a request), so that a report naming kratom and a comparator drug
is counted once, as a kratom report, and taken out of c and d exactly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Callable

import duckdb
import pandas as pd

from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest.openfda import OpenFDAClient
from kratom_ae.ingest.sources import SOURCES
from kratom_ae.ingest.sqlfiles import sql
from kratom_ae.ingest.store import has_table, rollback_quietly
from kratom_ae.ingest.terms import Term, load_terms, search_query

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


# ---- an active comparator -------------------------------------------------------------------

# Report ids asked about in one search (an OR of exact ids, within the comparator's search): a
# URL of a few kilobytes, a result of at most one page. Requests grow as kratom reports / 100.
COMPARATOR_BATCH = 100


@dataclass(frozen=True)
class Comparator:
    """The reports of openFDA that the search for a terms file's terms finds."""

    path: str
    terms: tuple[Term, ...]

    def search(self, source: str) -> str:
        """The search the kratom fetch would send for these terms, all of them in one OR."""
        return " OR ".join(search_query(t, SOURCES[source].search_fields) for t in self.terms if t.searched)

    def key(self, source: str) -> str:
        return hashlib.sha256(f"{SOURCES[source].endpoint}\n{self.search(source)}".encode()).hexdigest()[:16]

    @property
    def names(self) -> str:
        return ", ".join(t.term for t in self.terms if t.searched)

    # What c and d take out, in the words of the caution (queries/signals.for_comparator).
    taken_out = "with the kratom reports in scope that the comparator's search finds taken out"


def load_comparator(path) -> Comparator:
    """A comparator from a terms file (ingest/terms.py's format). Its exclude terms would veto
    names locally, but the comparator is openFDA's count, which no local rule can narrow."""
    terms = load_terms(path)
    excluded = [t.term for t in terms if not t.searched]
    if excluded:
        raise KratomAEError(
            f"The comparator file {path} has exclude terms ({', '.join(excluded)}); a comparator is the reports openFDA's search for its terms finds, "
            "which no exclusion can narrow, so leave them out."
        )
    return Comparator(str(path), tuple(terms))


def use_comparator(con: duckdb.DuckDBPyConnection, comparator: Comparator | None) -> None:
    """The temporary table signal_comparator: the comparator's key per source (none: empty),
    which the signals SQL and comparator_info.sql read."""
    keys = pd.DataFrame({"source": list(SOURCES), "comparator": [comparator.key(s) for s in SOURCES] if comparator else None})
    con.register("signal_comparator_frame", keys if comparator else keys.iloc[0:0])
    con.execute("CREATE OR REPLACE TEMP TABLE signal_comparator AS SELECT source::VARCHAR AS source, comparator::VARCHAR AS comparator FROM signal_comparator_frame")
    con.unregister("signal_comparator_frame")


def comparator_sources(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [s for (s,) in con.execute("SELECT DISTINCT source FROM scope_reports ORDER BY source").fetchall()]


def comparator_needed(con: duckdb.DuckDBPyConnection, comparator: Comparator, source: str) -> dict:
    row = con.execute(sql("comparator_needed"), {"s": source, "k": comparator.key(source)}).df().to_dict("records")[0]
    for name in ("missing_terms", "unasked_reports"):
        value = row[name]
        row[name] = [] if value is None or not len(value) else list(value)
    return row


def comparator_is_complete(con: duckdb.DuckDBPyConnection, comparator: Comparator, refresh: bool = False) -> bool:
    """Whether comparator_ensure would send no request (then the database is only read)."""
    if not has_table(con, "comparator_totals"):  # a database of an earlier version: the tables come with writing
        return False
    for source in comparator_sources(con):
        row = comparator_needed(con, comparator, source)
        if is_stale(row, refresh) or row["missing_terms"] or row["unasked_reports"]:
            return False
    return True


def comparator_ensure(con, client: OpenFDAClient, comparator: Comparator, refresh: bool = False, on_progress=None) -> list[Refresh]:
    """Make the cache hold the comparator's background for every source and term in scope, and
    know which kratom reports its search finds; each source in one transaction."""
    done = []
    for source in comparator_sources(con):
        key, search, endpoint = comparator.key(source), comparator.search(source), SOURCES[source].endpoint
        row = comparator_needed(con, comparator, source)
        stale = is_stale(row, refresh)
        if not stale and not row["missing_terms"] and not row["unasked_reports"]:
            continue
        before = client.requests_sent
        con.begin()
        try:
            last_updated = row["comparator_last_updated"]
            if stale:
                con.execute("SET VARIABLE comparator_source = $s", {"s": source})
                con.execute("SET VARIABLE comparator_key = $k", {"k": key})
                con.execute(sql("comparator_clear"))
                last_updated = comparator_fetch_all(con, client, comparator, source, row["kratom_last_updated"])
                row = comparator_needed(con, comparator, source)
            updated = {last_updated}
            for done_terms, term in enumerate(row["missing_terms"], start=1):
                reports, term_updated = client.total(endpoint, f"({search}) AND {term_search(FIELDS[source], term)}")
                updated.add(term_updated)
                con.execute("INSERT OR REPLACE INTO comparator_terms VALUES ($s, $k, $t, $n, 'search')", {"s": source, "k": key, "t": term, "n": reports})
                if on_progress:
                    on_progress(source, done_terms, len(row["missing_terms"]))
            updated |= ask_about_reports(con, client, source, key, search, row["unasked_reports"])
            # A search that finds nothing is a 404 without meta: it dates nothing.
            dates = sorted(d for d in updated if d)
            if len(dates) > 1:
                raise KratomAEError(f"openFDA updated {endpoint} while the comparator's background was being counted; run signals again with --refresh.")
            con.execute("UPDATE comparator_totals SET requests = requests + $n WHERE source = $s AND comparator = $k", {"n": client.requests_sent - before, "s": source, "k": key})
            con.commit()
        except BaseException:
            rollback_quietly(con)
            raise
        done.append(Refresh(source, client.requests_sent - before, len(row["missing_terms"]), last_updated))
    return done


def comparator_fetch_all(con, client: OpenFDAClient, comparator: Comparator, source: str, kratom_last_updated: str | None) -> str | None:
    """The comparator's total and its count= top 1,000 terms (2 requests)."""
    key, search, endpoint = comparator.key(source), comparator.search(source), SOURCES[source].endpoint
    total, last_updated = client.total(endpoint, search)
    top, count_updated = client.count(endpoint, FIELDS[source], search=search)
    if count_updated and last_updated and count_updated != last_updated:
        raise KratomAEError(f"openFDA updated {endpoint} while the comparator's background was being counted; run signals again.")
    frame = pd.DataFrame({"term": [t for t, _ in top], "reports": [n for _, n in top]})
    if len(frame):
        con.register("comparator_input", frame)
        con.execute(
            "INSERT INTO comparator_terms SELECT $s, $k, term_key(term), sum(reports), 'count' FROM comparator_input WHERE term_key(term) IS NOT NULL GROUP BY term_key(term)",
            {"s": source, "k": key},
        )
        con.unregister("comparator_input")
    con.execute(
        "INSERT INTO comparator_totals VALUES ($s, $k, $terms, $search, $e, $t, $u, $ku, $f, 0)",
        {"s": source, "k": key, "terms": comparator.names, "search": search, "e": endpoint, "t": total, "u": last_updated,
         "ku": kratom_last_updated, "f": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)},
    )
    return last_updated


def ask_about_reports(con, client: OpenFDAClient, source: str, key: str, search: str, report_ids: list[str]) -> set:
    """Which of these kratom reports the comparator's search finds: one search per batch of ids,
    within the comparator's search; every id asked about is stored, found or not."""
    id_field, endpoint = SOURCES[source].id_field, SOURCES[source].endpoint
    updated = set()
    for start in range(0, len(report_ids), COMPARATOR_BATCH):
        batch = report_ids[start:start + COMPARATOR_BATCH]
        odd = next((i for i in batch if '"' in i or "\\" in i), None)
        if odd is not None:
            raise KratomAEError(f"The {source} report id {odd!r} holds a quote or backslash, which no openFDA id does; the comparator was not counted.")
        ids = " OR ".join(f'{id_field}:"{i}"' for i in batch)
        sent: list[str] = []
        for page in client.search(endpoint, f"({search}) AND ({ids})"):
            updated.add(page.last_updated)
            sent += [str(r.get(id_field)) for r in page.results or []]
        found = set(sent)
        if len(found) < len(sent):
            twice = sorted(i for i in found if sent.count(i) > 1)
            raise KratomAEError(f"openFDA holds more than one report with the {source} id {twice[0]}, so which of them names the comparator cannot be told; the comparator was not counted.")
        stray = found - set(batch)
        if stray:
            raise KratomAEError(f"openFDA answered a search for {len(batch)} report ids of {endpoint} with other reports ({', '.join(sorted(stray)[:3])}); the comparator was not counted.")
        frame = pd.DataFrame({"report_id": batch, "in_comparator": [i in found for i in batch]})
        con.register("comparator_asked", frame)
        con.execute("INSERT OR REPLACE INTO comparator_reports SELECT $s, $k, report_id, in_comparator FROM comparator_asked", {"s": source, "k": key})
        con.unregister("comparator_asked")
    return updated


# ---- strata, for Mantel-Haenszel estimates (signals --adjusted) ------------------------------

# FAERS only: its sex, onset age and receive date are coded fields a search can filter by.
STRATA_SOURCES = ("faers",)
SEXES = (("male", "1"), ("female", "2"))
# Onset age in years (unit 801), bounds inclusive on both sides as openFDA's [low TO high]
# range is; an age between two bands (17.995) is in neither, on openFDA's side and ours.
AGE_BANDS = (("0-17", 0, 17.99), ("18-34", 18, 34.99), ("35-49", 35, 49.99), ("50-64", 50, 64.99), ("65+", 65, 150))
# Report years (receivedate), as YYYYMMDD bounds.
PERIODS = (("to 2014", 19000101, 20141231), ("2015-2017", 20150101, 20171231), ("2018-2020", 20180101, 20201231),
           ("2021-2023", 20210101, 20231231), ("2024 on", 20240101, 20991231))
AGE_FIELD, AGE_UNIT_FIELD, SEX_FIELD, DATE_FIELD = "patient.patientonsetage", "patient.patientonsetageunit", "patient.patientsex", "receivedate"
# count= lists at most this many values (a test lowers it to make terms fall out of a stratum's list).
STRATUM_TOP = 1000
# The onset ages of a term's reports of one sex and period, in one count=: whole years and a few
# fractions, far fewer than openFDA's limit; a list that reaches it is refused, not cut.
AGE_TOP = 1000
# Terms with fewer kratom reports in scope get no MH estimate (nor requests for one).
MH_MIN_REPORTS = 3


@dataclass(frozen=True)
class Stratum:
    sex: str
    sex_code: str
    band: str
    age_low: float
    age_high: float
    period: str
    first_date: int
    last_date: int

    @property
    def key(self) -> str:
        return f"{self.sex}|{self.band}|{self.period}"

    def sex_and_period(self) -> str:
        return f"{SEX_FIELD}:{self.sex_code} AND {AGE_UNIT_FIELD}:801 AND {DATE_FIELD}:[{self.first_date} TO {self.last_date}]"

    def search(self) -> str:
        return f"{SEX_FIELD}:{self.sex_code} AND {AGE_UNIT_FIELD}:801 AND {AGE_FIELD}:[{self.age_low:g} TO {self.age_high:g}] AND {DATE_FIELD}:[{self.first_date} TO {self.last_date}]"


STRATA = tuple(Stratum(sex, code, band, low, high, period, first, last) for sex, code in SEXES for band, low, high in AGE_BANDS for period, first, last in PERIODS)


def define_strata(con: duckdb.DuckDBPyConnection) -> None:
    """The temporary table signal_strata (every stratum of every source that has strata) and
    strata_rule.sql's macro in_stratum, which says whether a report falls in one."""
    rows = [{"source": source, "stratum": s.key, "sex": s.sex, "band": s.band, "period": s.period, "age_low": s.age_low, "age_high": s.age_high,
             "first_date": s.first_date, "last_date": s.last_date} for source in STRATA_SOURCES for s in STRATA]
    con.register("signal_strata_frame", pd.DataFrame(rows))
    con.execute("CREATE OR REPLACE TEMP TABLE signal_strata AS SELECT * FROM signal_strata_frame")
    con.unregister("signal_strata_frame")
    con.execute(sql("strata_rule"))


def use_strata(con: duckdb.DuckDBPyConnection) -> None:
    """define_strata, and the view strata_members (each kratom report in scope with its
    stratum); needs the scope views."""
    define_strata(con)
    con.execute(sql("strata_members"))


def strata_sources(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [s for s in comparator_sources(con) if s in STRATA_SOURCES]


def strata_missing(con, source: str) -> list[dict]:
    return con.execute(sql("strata_missing"), {"s": source, "min": MH_MIN_REPORTS}).df().to_dict("records")


def strata_is_complete(con: duckdb.DuckDBPyConnection, refresh: bool = False) -> bool:
    if not has_table(con, "stratum_totals"):
        return False
    use_strata(con)
    for source in strata_sources(con):
        row = con.execute(sql("strata_needed"), {"s": source}).df().to_dict("records")[0]
        if is_stale(row, refresh) or strata_missing(con, source):
            return False
    return True


def strata_ensure(con, client: OpenFDAClient, refresh: bool = False, on_progress=None) -> list[Refresh]:
    """Make the cache hold every stratum's total and count= top terms, and the count of every
    term that MH estimates need in every stratum holding a kratom report; per source in one
    transaction. A term missing from a stratum's top list is counted in one request for all
    age bands of a sex and period: count= of the onset age among the term's reports."""
    use_strata(con)
    done = []
    for source in strata_sources(con):
        endpoint = SOURCES[source].endpoint
        row = con.execute(sql("strata_needed"), {"s": source}).df().to_dict("records")[0]
        stale = is_stale(row, refresh)
        if not stale and not strata_missing(con, source):
            continue
        before = client.requests_sent
        con.begin()
        try:
            updated = {row["background_last_updated"]} if not stale else set()
            if stale:
                con.execute("SET VARIABLE strata_source = $s", {"s": source})
                con.execute(sql("strata_clear"))
                for number, stratum in enumerate(STRATA, start=1):
                    updated |= fetch_stratum(con, client, source, stratum, row["kratom_last_updated"])
                    if on_progress:
                        on_progress(source, number, len(STRATA))
            missing = strata_missing(con, source)
            pairs = sorted({(m["term"], m["sex"], m["period"]) for m in missing})
            for number, (term, sex, period) in enumerate(pairs, start=1):
                updated |= fill_term(con, client, source, term, next(s for s in STRATA if s.sex == sex and s.period == period))
                if on_progress:
                    on_progress(source, number, len(pairs))
            dates = sorted(d for d in updated if d and not pd.isna(d))
            if len(dates) > 1:
                raise KratomAEError(f"openFDA updated {endpoint} while its strata were being counted; run signals again with --refresh.")
            con.execute("UPDATE stratum_totals SET requests = requests + $n WHERE source = $s AND stratum = $k",
                        {"n": client.requests_sent - before - (2 * len(STRATA) if stale else 0), "s": source, "k": STRATA[0].key})
            con.commit()
        except BaseException:
            rollback_quietly(con)
            raise
        done.append(Refresh(source, client.requests_sent - before, len(pairs), dates[0] if dates else None))
    return done


def fetch_stratum(con, client: OpenFDAClient, source: str, stratum: Stratum, kratom_last_updated) -> set:
    """One stratum's total and count= top terms (2 requests). A list shorter than its limit is
    every term of the stratum: a term it does not list has no report there, and needs no request."""
    endpoint, search = SOURCES[source].endpoint, stratum.search()
    total, last_updated = client.total(endpoint, search)
    top, count_updated = client.count(endpoint, FIELDS[source], limit=STRATUM_TOP, search=search)
    frame = pd.DataFrame({"term": [t for t, _ in top], "reports": [n for _, n in top]})
    if len(frame):
        con.register("stratum_input", frame)
        con.execute(
            "INSERT INTO stratum_terms SELECT $s, $k, term_key(term), sum(reports), 'count' FROM stratum_input WHERE term_key(term) IS NOT NULL GROUP BY term_key(term)",
            {"s": source, "k": stratum.key},
        )
        con.unregister("stratum_input")
    con.execute(
        "INSERT INTO stratum_totals VALUES ($s, $k, $q, $t, $c, $u, $ku, $f, 2)",
        {"s": source, "k": stratum.key, "q": search, "t": total, "c": len(top) < STRATUM_TOP, "u": last_updated, "ku": kratom_last_updated,
         "f": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)},
    )
    return {last_updated, count_updated}


def fill_term(con, client: OpenFDAClient, source: str, term: str, stratum: Stratum) -> set:
    """A term's reports in every age band of one sex and period, from one count= of the onset
    age among them, summed by the bands' bounds (as the strata's own range searches count)."""
    endpoint = SOURCES[source].endpoint
    ages, updated = client.count(endpoint, AGE_FIELD, limit=AGE_TOP, search=f"{term_search(FIELDS[source], term)} AND {stratum.sex_and_period()}")
    if len(ages) >= AGE_TOP:
        raise KratomAEError(f"openFDA lists {len(ages):,} onset ages or more for {term!r} in {endpoint}, more than one count= holds; its strata cannot be counted whole.")
    for band in (s for s in STRATA if s.sex == stratum.sex and s.period == stratum.period):
        reports = 0
        for value, n in ages:
            try:
                age = float(value)
            except (TypeError, ValueError):
                continue  # no number: in no range of openFDA's either
            reports += n if band.age_low <= age <= band.age_high else 0
        con.execute("INSERT OR IGNORE INTO stratum_terms VALUES ($s, $k, $t, $n, 'age count')", {"s": source, "k": band.key, "t": term, "n": reports})
    return {updated}
