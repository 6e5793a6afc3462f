"""The signals table: every reaction term's 2x2 table (queries/_signals.sql) with the
statistics of queries/disproportionality.py, flags limited to terms with enough reports."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest.inputs import read_bytes
from kratom_ae.ingest.text import first_line, quoted
from kratom_ae.queries.disproportionality import statistics

# The database side (duckdb, ingest.store, queries.library) is imported where a database is
# read: `signals --counts` needs none, and starts without it.
if TYPE_CHECKING:
    import duckdb

SORTS = {"prr": "prr", "ror": "ror", "ic": "ic", "reports": "a"}
STAT_COLUMNS = [
    "prr", "prr025", "prr975", "ror", "ror025", "ror975",
    "prr_ha", "prr_ha025", "prr_ha975", "ror_ha", "ror_ha025", "ror_ha975",
    "chi2_yates", "expected", "ic", "ic025", "fisher_midp", "fisher_q",
    "signal_evans", "signal_ror", "signal_ic", "signal_fisher", "flags", "note",
]
FLAGS = ("signal_evans", "signal_ror", "signal_ic", "signal_fisher")
# The rule names of the flags column, in the order a reviewer should read them (README, `kratom-ae signals`).
RULES = {"signal_fisher": "Fisher", "signal_evans": "Evans", "signal_ror": "ROR", "signal_ic": "IC"}
# The false discovery rate the Fisher flag allows over one run's terms.
FDR_LEVEL = 0.05
HONESTY = (
    "Counts are reports (latest version), not patients or cases. Disproportionality is a hypothesis-generating "
    "signal of reporting, not an estimate of risk or incidence: a report does not show that kratom caused the reaction."
)
# --unit case: the kratom side counts probable cases, the background is still reports.
HONESTY_CASES = (
    "Kratom counts (a, b) are probable cases (duplicate reports grouped by rules, not verified patients); the background "
    "(c, d) is openFDA's count of reports, with every kratom report in scope taken out. Disproportionality is a hypothesis-generating signal of reporting, not an "
    "estimate of risk or incidence: a report does not show that kratom caused the reaction."
)


# --background local --unit case: both sides count probable cases.
HONESTY_LOCAL_CASES = (
    "Counts are probable cases (duplicate reports grouped by rules, not verified patients): a and b of the database, c and d of the local background, "
    "with every case holding a kratom report in scope taken out. Disproportionality is a hypothesis-generating signal of reporting, not an estimate of risk or incidence: "
    "a report does not show that kratom caused the reaction."
)


def signal_filters(filters):
    """Signals compare kratom reports with all of openFDA at every date: only --source, --role
    and --unit narrow them (the options of `kratom-ae signals`)."""
    from kratom_ae.queries.library import Filters

    return Filters(source=filters.source, role=filters.role, unit=filters.unit, given={g for g in filters.given if g in ("source", "role", "unit")})


def honesty(filters, local_cases: bool = False) -> str:
    """The caution printed with a signals table: what its counts are, and what they are not
    (local_cases: c and d count the local background's probable cases)."""
    if filters is None:
        return HONESTY_COUNTS
    if local_cases:
        return HONESTY_LOCAL_CASES
    return HONESTY_CASES if filters.unit == "case" else HONESTY


def for_comparator(text: str, comparator) -> str:
    """Words about the background (a footer, the caution), said of a comparator (none: as they
    are): openFDA's search of a terms file (ingest/background.Comparator) or ingredients of the
    local background (queries/local_background.IngredientComparator)."""
    if comparator is None:
        return text
    return text.replace("with every kratom report in scope taken out", comparator.taken_out)


# --counts: kratom-ae did not count these, so it cannot say what they count.
HONESTY_COUNTS = (
    "The 2x2 tables come from your counts file: kratom-ae did not count them, and what they count (reports, versions, "
    "cases) is as you counted it. Disproportionality is a hypothesis-generating signal of reporting, not an estimate of "
    "risk or incidence: a report does not show that a product caused the reaction."
)


def bh_qvalues(p_values: list[float | None]) -> list[float | None]:
    """Benjamini and Hochberg's (1995) step-up adjusted p-values (q-values) over every p-value
    given (None: no test, no q): q(i) = min over j >= i of p(j) m / j, p sorted ascending, m the
    number of p-values. A term is a discovery at FDR level alpha when its q <= alpha."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(tested)
    q: list[float | None] = [None] * len(p_values)
    running = 1.0
    for rank in range(m, 0, -1):
        p, i = tested[rank - 1]
        running = min(running, p * m / rank)
        q[i] = running
    return q


def add_statistics(frame: pd.DataFrame, min_reports: int) -> pd.DataFrame:
    """Statistics columns for a frame with columns a, b, c, d (one row per term). The Fisher
    q-values are over every term of the frame with a 2x2 table: one run is one family of tests."""
    rows = []
    for record in frame.to_dict("records"):
        cells = [record.get(k) for k in "abcd"]
        if any(pd.isna(v) for v in cells):
            stats, note = None, "no background count for this term"
        elif min(cells) < 0:
            stats, note = None, "a cell is negative: the background counts fewer reports than the kratom data (different openFDA releases?)"
        else:
            stats = statistics(*(int(v) for v in cells)).as_dict()
            note = stats.pop("note")
        row = {k: None for k in STAT_COLUMNS if k != "note"} | {flag: False for flag in FLAGS}
        row.update(stats or {})
        row["note"] = note
        rows.append(row)
    for row, q in zip(rows, bh_qvalues([row["fisher_midp"] for row in rows])):
        row["fisher_q"] = q
        row["signal_fisher"] = q is not None and q <= FDR_LEVEL and row["fisher_midp"] is not None
    for row, a in zip(rows, frame["a"]):
        if stats_known(row) and int(a) < min_reports:
            row.update({flag: False for flag in FLAGS})
            row["note"] = "; ".join(filter(None, [f"fewer than {min_reports} reports: not flagged", row["note"]]))
        # Fisher's flag needs a >= 3 as the Evans and ROR rules do, whatever --min-reports.
        row["signal_fisher"] = row["signal_fisher"] and int(a) >= 3
        row["flags"] = ", ".join(name for flag, name in RULES.items() if row[flag])
    stats_frame = pd.DataFrame(rows, columns=STAT_COLUMNS, index=frame.index)
    # Numbers even when every value is empty (no table with a zero cell has HA estimates): an
    # all-None column reached DuckDB, and so Parquet, typed NULL.
    numbers = [c for c in STAT_COLUMNS if c not in FLAGS and c not in ("flags", "note")]
    stats_frame[numbers] = stats_frame[numbers].astype("float64")
    return pd.concat([frame, stats_frame], axis=1)


def stats_known(row: dict) -> bool:
    return row["expected"] is not None


def sort_table(frame: pd.DataFrame, sort: str) -> pd.DataFrame:
    """Highest first. An infinite PRR or ROR (left empty in the table, see the note) is the
    highest of all, not the lowest: it comes first; undefined values come last."""
    if sort not in SORTS:
        raise KratomAEError(f"--sort must be one of {', '.join(SORTS)}, not {sort!r}.")
    key = frame[SORTS[sort]].astype("Float64")
    infinite = {"prr": infinite_prr, "ror": infinite_ror}.get(sort)
    if infinite is not None:
        key = key.mask(infinite(frame), math.inf)
    ordered = frame.assign(_key=key).sort_values(["_key", "a", "term"], ascending=[False, False, True], na_position="last", kind="stable")
    return ordered.drop(columns="_key").reset_index(drop=True)


def infinite_prr(frame: pd.DataFrame) -> pd.Series:
    """c = 0 with a > 0 and d > 0: no other report names the term, so PRR = a/(a+b) / 0."""
    return ((frame["c"] == 0) & (frame["a"] > 0) & (frame["d"] > 0)).fillna(False).astype(bool)


def infinite_ror(frame: pd.DataFrame) -> pd.Series:
    """b = 0 or c = 0, with a > 0 and d > 0: ROR = ad / 0."""
    return (((frame["b"] == 0) | (frame["c"] == 0)) & (frame["a"] > 0) & (frame["d"] > 0)).fillna(False).astype(bool)


MH_COLUMNS = ["mh_ror", "mh_ror025", "mh_ror975", "mh_prr", "mh_prr025", "mh_prr975", "mh_strata", "mh_note"]


def add_mantel_haenszel(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> pd.DataFrame:
    """MH ROR and PRR over the strata of sex, age band and report year (queries/_signals_strata.sql;
    background.strata_ensure must have run), beside the crude estimates."""
    from kratom_ae.ingest import background
    from kratom_ae.queries.disproportionality import mantel_haenszel
    from kratom_ae.queries.library import internal_sql

    background.use_strata(con)
    con.execute("SET VARIABLE mh_min_reports = $n", {"n": background.MH_MIN_REPORTS})
    strata = con.execute(internal_sql("signals_strata")).df()
    found = {}
    for (source, term), rows in strata.groupby(["source", "term"], sort=False):
        cells = rows[["a", "b", "c", "d"]]
        if cells.isna().any().any():
            found[(source, term)] = {"mh_note": "a stratum's background count is missing"}
        elif (cells < 0).any().any():
            found[(source, term)] = {"mh_note": "a stratum's cell is negative: the strata count fewer reports than the kratom data (different openFDA releases?)"}
        else:
            found[(source, term)] = mantel_haenszel(cells.astype(int).itertuples(index=False, name=None)).as_dict()
            found[(source, term)]["mh_note"] = found[(source, term)].pop("note")
    values = []
    for row in frame.itertuples(index=False):
        mh = found.get((row.source, row.term))
        if mh is None:
            why = (f"no strata for {row.source} (FAERS only)" if row.source not in background.STRATA_SOURCES else
                   f"fewer than {background.MH_MIN_REPORTS} kratom reports: no MH estimate" if row.a < background.MH_MIN_REPORTS else
                   "no kratom report of the term falls in a stratum")
            mh = {"mh_note": why}
        values.append({k: mh.get(k) for k in MH_COLUMNS})
    mh_frame = pd.DataFrame(values, columns=MH_COLUMNS, index=frame.index)
    numbers = MH_COLUMNS[:6]
    mh_frame[numbers] = mh_frame[numbers].astype("float64")
    mh_frame["mh_strata"] = mh_frame["mh_strata"].astype("Int64")
    at = list(frame.columns).index("ror_ha975") + 1
    return pd.concat([frame.iloc[:, :at], mh_frame, frame.iloc[:, at:]], axis=1)


def strata_outside(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source with strata: the kratom reports in scope outside every stratum, and why."""
    from kratom_ae.ingest import background
    from kratom_ae.ingest.sqlfiles import sql

    background.use_strata(con)
    return con.execute(sql("strata_outside")).df()


def signal_table(con: duckdb.DuckDBPyConnection, min_reports: int, sort: str, comparator=None, adjusted: bool = False, local: bool = False) -> pd.DataFrame:
    """The signals of every term in scope (prepare_scope and background.ensure, or with a
    comparator background.comparator_ensure, must have run; with adjusted, background.strata_ensure
    too; with local, local_background.use_in in place of all of these)."""
    from kratom_ae.ingest import background
    from kratom_ae.queries.library import internal_sql

    if local:
        con.execute(internal_sql("signals_local"))
    else:
        background.use_comparator(con, comparator)
        con.execute(internal_sql("signals_comparator" if comparator else "signals_all"))
    frame = con.execute(internal_sql("signals")).df()
    counts = ["a", "b", "c", "d", "kratom_reports_naming_term", "kratom_reports_in_scope", "kratom_reports_in_background_naming_term", "kratom_reports_in_background",
              "background_term_reports", "background_total_reports"]
    # Counted in probable cases, c and d take out the local background's kratom cases: shown
    # beside the kratom reports, which they then are not.
    if (frame["cd_unit"] == "probable cases").any():
        counts += ["background_kratom_units_naming_term", "background_kratom_units"]
    frame = frame[["source", "term", "a", "b", "c", "d", "ab_unit", "cd_unit", "background", *counts[4:10], "background_method", *counts[10:]]].astype({k: "Int64" for k in counts})
    if comparator is not None or local:
        # No 2x2 table without comparator reports (comparator_warnings says so): nor a test in the run's family.
        frame = frame[frame["background_total_reports"].fillna(0) > 0].reset_index(drop=True)
    frame = add_statistics(frame, min_reports)
    if adjusted:
        frame = add_mantel_haenszel(con, frame)
    return sort_table(frame, sort)


def add_ebgm(frame: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """The signals table with each term's empirical-Bayes scores beside it (scores:
    local_background.kratom_ebgm): those of the pair of kratom and the term in the local
    background's drug-by-event table, empty where the table has no such pair or its source no prior."""
    from kratom_ae.queries.local_background import EBGM_COLUMNS

    merged = frame.merge(scores, on=["source", "term"], how="left", validate="one_to_one")
    return merged.astype({"ebgm_n": "Int64"})[[*frame.columns, *EBGM_COLUMNS]]


def table_key(counted_by_kratom_ae: bool) -> tuple[str, ...]:
    """The columns that name a row: source and term (queries/_signals.sql), or with --counts
    the file's term (counts_table refuses a term given twice)."""
    if not counted_by_kratom_ae:
        return ("term",)
    from kratom_ae.queries.library import internal_key

    return internal_key("signals")


def background_info(con: duckdb.DuckDBPyConnection, comparator=None) -> pd.DataFrame:
    """The cached background per source: all of openFDA, or the comparator's (its key, terms,
    search and the kratom reports its search finds beside)."""
    from kratom_ae.ingest import background
    from kratom_ae.ingest.sqlfiles import sql

    if comparator is None:
        return con.execute(sql("background_info")).df()
    background.use_comparator(con, comparator)
    return con.execute(sql("comparator_info")).df()


def release_warnings(info: pd.DataFrame) -> list[str]:
    return [
        f"{row.source}: the kratom reports come from openFDA's release of {row.kratom_last_updated} but the background from {row.background_last_updated}; "
        "counts from two releases are compared."
        for row in info.itertuples(index=False)
        # No date is no other release: a search that finds nothing (404) sends no meta.
        if not pd.isna(row.background_last_updated) and row.kratom_last_updated != row.background_last_updated
    ]


def comparator_warnings(info: pd.DataFrame, comparator, local: bool = False) -> list[str]:
    """A source where the comparator's search finds no report has no 2x2 table to speak of."""
    if comparator is None:
        return []
    if local:
        return [
            f"{row.source}: openFDA {row.endpoint} has no report with a product, not kratom, of {comparator.names}, "
            f"so the table has no term of {row.source} (no 2x2 table without comparator reports)."
            for row in info.itertuples(index=False)
            if row.total_reports == 0
        ]
    return [
        f"{row.source}: openFDA {row.endpoint} has no report that the search for the comparator ({row.comparator_terms}) finds, so the table has no term of {row.source} (no 2x2 table without comparator reports)."
        for row in info.itertuples(index=False)
        if row.total_reports == 0
    ]


# A count above this is a typing mistake (FAERS holds about 30 million reports); the products
# of the statistics stay exact in floating point below it.
MAX_COUNT = 10**12
# A 2x2 table a line: a million terms are some tens of megabytes.
MAX_COUNTS_FILE_BYTES = 256 * 2**20


def counts_table(path: Path, min_reports: int, sort: str) -> pd.DataFrame:
    """The same statistics for 2x2 tables a researcher brings (CSV with columns term,a,b,c,d)."""
    data = read_bytes(Path(path), "the counts file", MAX_COUNTS_FILE_BYTES)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KratomAEError(f"The counts file {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at position {exc.start}); save it as UTF-8.") from None
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except ValueError as exc:  # pandas parse errors are ValueErrors
        raise KratomAEError(f"Cannot read the counts file {path} as CSV: {first_line(str(exc))}.") from None
    missing = [c for c in ("term", "a", "b", "c", "d") if c not in frame.columns]
    if missing:
        raise KratomAEError(f"The counts file {path} lacks the column(s) {', '.join(missing)}; it needs term,a,b,c,d.")
    seen: dict[str, int] = {}
    for line_no, term in enumerate(frame["term"], start=2):
        key = " ".join(term.split()).casefold()
        if key in seen:
            raise KratomAEError(f"{path}, lines {seen[key]} and {line_no}: the term {term.strip()!r} is there twice; give each term one 2x2 table.")
        seen[key] = line_no
    for column in "abcd":
        bad = frame.index[~frame[column].str.strip().str.fullmatch(r"\d+")]
        if len(bad):
            raise KratomAEError(f"{path}, line {bad[0] + 2}: {column} must be a whole number of reports, not {quoted(frame.loc[bad[0], column])}.")
        # By its digits first: Python refuses to convert a string of more than 4,300 of them.
        big = frame.index[frame[column].map(lambda v: len(v.strip().lstrip("0")) > len(str(MAX_COUNT)) or int(v) > MAX_COUNT)]
        if len(big):
            raise KratomAEError(f"{path}, line {big[0] + 2}: {column} is {quoted(frame.loc[big[0], column])}, more reports than any database holds (at most {MAX_COUNT:,}).")
        frame[column] = frame[column].astype("Int64")
    return sort_table(add_statistics(frame[["term", "a", "b", "c", "d"]], min_reports), sort)
