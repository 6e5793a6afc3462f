"""The disproportionality background counted from the local background store (issue 22, item 3;
ingest/bulk_background.py builds it from a bulk export): no request to openFDA.

queries/_local_background.sql counts one source's store in the shapes of the cached API
background (background_totals, background_terms), in reports or probable cases, over every
report or over the reports of a comparator's ingredients; queries/_local_background_strata.sql
the same by sex, age group and year received, queries/_local_background_mh.sql in the strata of
signals --adjusted (ingest/background.py STRATA); queries/_local_drug_events.sql the
ingredient-by-event table an empirical-Bayes prior is fitted on (queries/ebgm.py). The store is
read by a DuckDB of its own, in memory: the user's database reads no file, and gets the counts
as frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from kratom_ae.ingest import bulk_background
from kratom_ae.ingest.background import STRATA_SOURCES, define_strata
from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest.sqlfiles import sql
from kratom_ae.queries.library import internal_sql

# DuckDB spills beyond this to the store's folder (all of FAERS is some 20 million reports).
MEMORY_LIMIT = "1GB"
UNITS = ("report", "case")


@dataclass(frozen=True)
class IngredientComparator:
    """signals --background local --comparator-ingredient NAME ...: against the reports of the
    local background with a product, not kratom, of one of these ingredients (normalized as the
    store keeps them, ingredient_names), instead of all of them."""

    ingredients: tuple[str, ...]

    @property
    def names(self) -> str:
        return f"{', '.join(self.ingredients)} (by ingredient)"

    # What c and d take out, in the words of the caution (queries/signals.for_comparator).
    taken_out = "with the kratom reports in scope that have one of its ingredients taken out"


@dataclass
class Counts:
    """A local background: per source the totals and term counts (the columns of
    background_totals and background_terms that _signals.sql reads), by stratum when asked,
    and where each source's store came from."""

    totals: pd.DataFrame
    terms: pd.DataFrame
    strata: pd.DataFrame | None = None
    stratum_terms: pd.DataFrame | None = None
    drug_events: pd.DataFrame | None = None
    provenance: list[dict] = field(default_factory=list)
    kratom_held: pd.DataFrame | None = None  # the kratom reports in scope the population holds
    mh_totals: pd.DataFrame | None = None  # by the strata of signals --adjusted
    mh_terms: pd.DataFrame | None = None
    comparator: list[str] | None = None  # the comparator's ingredients, normalized (None: every report)


def connect(store: bulk_background.Store) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(store.folder / ".duckdb-spill")})
    con.execute("SET enable_progress_bar = false")
    con.execute(sql("shaping_macros"))  # normalize_name: a comparator's names as ingredients are
    con.execute(internal_sql("age_bands"))
    return con


def ingredient_names(names: list[str] | None) -> list[str] | None:
    """A comparator's ingredient names as the store keeps ingredients (normalize_name of
    ingest/sql/shaping_macros.sql: "Oxycodone " is OXYCODONE), each once, sorted; None for none."""
    if names is None:
        return None
    con = duckdb.connect()
    try:
        con.execute(sql("shaping_macros"))
        normalized = [row[0] for row in con.execute("SELECT DISTINCT normalize_name(n) FROM unnest($n::VARCHAR[]) AS u(n) WHERE normalize_name(n) IS NOT NULL ORDER BY 1", {"n": names}).fetchall()]
    finally:
        con.close()
    if not normalized:
        raise KratomAEError("The comparator names no ingredient; give one or more ingredient names (such as OXYCODONE).")
    return normalized


def count_source(store: bulk_background.Store, unit: str = "report", comparator: list[str] | None = None, exclude_kratom: bool = False,
                 strata: bool = False, drug_events: bool = False, kratom_reports: list[str] | None = None, mh_strata: bool = False) -> dict[str, pd.DataFrame]:
    """One source's local background (see _local_background.sql for what it counts);
    kratom_reports: the report ids of the kratom reports in scope, whose units kratom_units counts
    and of which "kratom_held" lists those the population holds; mh_strata: also by the strata of
    signals --adjusted ("mh_totals", "mh_terms"; reports only)."""
    if unit not in UNITS:
        raise KratomAEError(f"The unit must be one of {', '.join(UNITS)}, not {unit!r}.")
    if mh_strata and unit != "report":
        raise KratomAEError("The strata of --adjusted count reports, not probable cases (a probable case's reports may fall in different strata).")
    con = connect(store)
    try:
        for name in ("reports", "reactions", "ingredients"):
            con.execute(f"SET VARIABLE bg_{name} = $f", {"f": store.files(name)})
        con.execute("SET VARIABLE bg_source = $s", {"s": store.source})
        con.execute("SET VARIABLE bg_unit = $u", {"u": unit})
        con.execute("SET VARIABLE bg_exclude_kratom = $x", {"x": exclude_kratom})
        con.execute("SET VARIABLE bg_comparator = $c::VARCHAR[]", {"c": ingredient_names(comparator)})
        cases_file = store.folder / bulk_background.CASES_FILE
        if unit == "case":
            if not bulk_background.cases_built(store):
                raise KratomAEError(f"The local background of {store.export.endpoint} has no probable cases yet; group them first: kratom-ae bulk background {store.folder.parent.parent.parent} --source {store.source} --cases.")
            con.execute("CREATE TEMP TABLE local_cases AS SELECT report_id, case_id FROM read_parquet($f)", {"f": str(cases_file)})
        else:
            con.execute("CREATE TEMP TABLE local_cases (report_id VARCHAR, case_id VARCHAR)")
        con.execute("CREATE TEMP TABLE local_kratom_reports AS SELECT unnest($r::VARCHAR[]) AS report_id", {"r": kratom_reports or []})
        con.execute(internal_sql("local_background"))
        out = {"totals": con.execute("SELECT * FROM local_background_totals").df(),
               "terms": con.execute("SELECT * FROM local_background_terms ORDER BY term").df(),
               "kratom_held": con.execute("SELECT * FROM local_background_kratom").df()}
        if mh_strata:
            define_strata(con)
            con.execute(internal_sql("local_background_mh"))
            out["mh_totals"] = con.execute("SELECT * FROM local_stratum_totals").df()
            out["mh_terms"] = con.execute("SELECT * FROM local_stratum_terms").df()
        if strata:
            con.execute(internal_sql("local_background_strata"))
            out["strata"] = con.execute("SELECT * FROM local_background_strata ORDER BY ALL").df()
            out["stratum_terms"] = con.execute("SELECT * FROM local_background_stratum_terms ORDER BY ALL").df()
        if drug_events:
            con.execute(internal_sql("local_drug_events"))
            out["drug_events"] = con.execute("SELECT * FROM local_drug_events ORDER BY drug, term").df()
        return out
    finally:
        con.close()


def local_background(cache: Path, sources: list[str], unit: str = "report", comparator: list[str] | None = None, exclude_kratom: bool = False,
                     strata: bool = False, drug_events: bool = False, kratom_reports: dict[str, list[str]] | None = None, mh_strata: bool = False) -> Counts:
    """The local background of each source, from the stores of the newest whole exports in
    `cache` (KratomAEError unless each is built whole); kratom_reports: per source the report
    ids of the kratom reports in scope (kratom_in_scope), whose units kratom_units counts;
    mh_strata: also in the strata of signals --adjusted, for the sources that have them."""
    parts: dict[str, list[pd.DataFrame]] = {}
    provenance = []
    for source in sources:
        store = bulk_background.opened(cache, source)
        stratified = mh_strata and source in STRATA_SOURCES
        counted = count_source(store, unit, comparator, exclude_kratom, strata, drug_events and comparator is None, (kratom_reports or {}).get(source), stratified)
        if drug_events and comparator is not None:
            # The prior and kratom's pairs are of the whole table, whatever c and d compare with.
            counted["drug_events"] = count_source(store, unit, None, exclude_kratom, drug_events=True)["drug_events"]
        for key, frame in counted.items():
            parts.setdefault(key, []).append(frame)
        provenance.append({"source": source, "endpoint": store.export.endpoint, "export_date": store.export.export_date, "store": str(store.folder),
                           "unit": unit, "comparator": comparator, "exclude_kratom": exclude_kratom,
                           # records_left_out: items that could not be reports (partition.json lists them); a partition built before kratom-ae counted them had none, or would not have been built.
                           "partitions": [{k: p[k] for k in ("url", "records_read", "reports_stored", "last_updated", "built_at")} | {"records_left_out": p.get("records_left_out", 0)}
                                          for p in store.provenance()]})

    def joined(key):
        return pd.concat(parts[key], ignore_index=True) if key in parts else None

    return Counts(joined("totals"), joined("terms"), joined("strata"), joined("stratum_terms"), joined("drug_events"), provenance,
                  joined("kratom_held"), joined("mh_totals"), joined("mh_terms"), ingredient_names(comparator))


def kratom_in_scope(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Per source the report ids of the kratom reports in scope (prepare_scope must have run):
    with unit = 'case' every in-scope report of every case."""
    frame = con.execute(internal_sql("local_kratom_reports")).df()
    return {source: rows["report_id"].tolist() for source, rows in frame.groupby("source")}


def use_in(con: duckdb.DuckDBPyConnection, counts: Counts) -> None:
    """Put a local background in place of the cached API one, for this connection only:
    temporary tables named background_totals and background_terms, with their columns, which
    DuckDB reads before the database's own (queries/_signals.sql, background_info.sql read them
    by name). The database is not changed: signals opens it read-only for this. Counted in
    probable cases, the background's cases holding a kratom report in scope go in a table
    background_kratom_units too, which _signals.sql takes out of c and d in place of the
    kratom reports."""
    rows = []
    for entry in counts.provenance:
        total = counts.totals.loc[counts.totals["source"] == entry["source"], "total_reports"]
        of = "" if counts.comparator is None else f", its reports with a product, not kratom, of {' or '.join(counts.comparator)}"
        rows.append({"source": entry["source"], "endpoint": f"{entry['endpoint']}, the local background of the bulk export {entry['export_date']}{of}",
                     "total_reports": int(total.iloc[0]), "last_updated": max(p["last_updated"] for p in entry["partitions"]),
                     "kratom_last_updated": None, "fetched_at": pd.Timestamp(max(p["built_at"] for p in entry["partitions"])), "requests": 0})
    # Registered by name: with file access off, DuckDB does not look up Python variables.
    con.register("local_totals_input", pd.DataFrame(rows, columns=["source", "endpoint", "total_reports", "last_updated", "kratom_last_updated", "fetched_at", "requests"]))
    con.register("local_terms_input", counts.terms[["source", "term", "reports", "method"]])
    con.execute("CREATE OR REPLACE TEMP TABLE background_totals AS SELECT source, endpoint, total_reports::BIGINT AS total_reports, last_updated, "
                "kratom_last_updated::VARCHAR AS kratom_last_updated, fetched_at::TIMESTAMP AS fetched_at, requests::INTEGER AS requests FROM local_totals_input")
    con.execute("CREATE OR REPLACE TEMP TABLE background_terms AS SELECT source, term, reports::BIGINT AS reports, method FROM local_terms_input")
    con.unregister("local_totals_input")
    con.unregister("local_terms_input")
    labels = pd.DataFrame({"source": [entry["source"] for entry in counts.provenance],
                           "background": [background_label(entry, counts.comparator) for entry in counts.provenance]})
    con.register("local_label_input", labels)
    con.execute("CREATE OR REPLACE TEMP TABLE local_signal_background AS SELECT source::VARCHAR AS source, background::VARCHAR AS background FROM local_label_input")
    con.unregister("local_label_input")
    held = counts.kratom_held if counts.kratom_held is not None else pd.DataFrame({"source": [], "report_id": []})
    con.register("local_held_input", held[["source", "report_id"]])
    con.execute("CREATE OR REPLACE TEMP TABLE local_background_kratom AS SELECT source::VARCHAR AS source, report_id::VARCHAR AS report_id FROM local_held_input")
    con.unregister("local_held_input")
    if counts.mh_totals is not None:
        # In the shapes of the cached API strata (schema.sql), which _signals_strata.sql and
        # strata_outside.sql read: every stratum is whole (every term it names is listed).
        con.register("local_mh_totals_input", counts.mh_totals.merge(pd.DataFrame(rows)[["source", "last_updated", "fetched_at"]], on="source"))
        con.register("local_mh_terms_input", counts.mh_terms)
        con.execute(internal_sql("local_strata_tables"))
        con.unregister("local_mh_totals_input")
        con.unregister("local_mh_terms_input")
    if (counts.totals["unit"] == "probable cases").all():
        # The total of each source is its row with no term.
        units = pd.concat([counts.totals[["source", "kratom_units"]].assign(term=None), counts.terms[["source", "term", "kratom_units"]]], ignore_index=True)
        con.register("local_kratom_input", units[["source", "term", "kratom_units"]])
        con.execute("CREATE OR REPLACE TEMP TABLE background_kratom_units AS SELECT source, term::VARCHAR AS term, kratom_units::BIGINT AS units FROM local_kratom_input")
        con.unregister("local_kratom_input")


def background_label(entry: dict, comparator: list[str] | None) -> str:
    """What a source's local background is, as the signals table's background column says it."""
    where = f"openFDA {entry['endpoint']}, the local background of the bulk export {entry['export_date']}"
    if comparator is None:
        return f"all reports of {where}"
    return f"comparator {', '.join(comparator)} (by ingredient: the reports of {where} with a product, not kratom, of one of them)"


# The columns kratom_ebgm adds to the signals table (queries/signals.add_ebgm), in this order.
EBGM_COLUMNS = ("ebgm_n", "ebgm_expected", "ebgm", "eb05", "eb95")


def kratom_ebgm(counts: Counts) -> tuple[pd.DataFrame, list[dict]]:
    """EBGM, EB05 and EB95 of the pairs of kratom and each term in each source's drug-by-event
    table (counts.drug_events: local_background(..., drug_events=True)), the prior fitted once
    per source on all of that source's pairs from every start of queries/ebgm.py; and per source
    the prior, or why none could be fitted (ebgm.fit's ValueError: that source's pairs then keep
    their N and E, without scores). Columns: source, term and EBGM_COLUMNS (ebgm_n and
    ebgm_expected the pair's N and E)."""
    from kratom_ae.queries import ebgm, prior_cache

    parts, priors = [], []
    for entry in counts.provenance:
        source = entry["source"]
        table = counts.drug_events[counts.drug_events["source"] == source]
        n, e = table["n"].to_numpy(dtype=float), table["expected"].to_numpy(dtype=float)
        kratom = table[table["drug"] == "kratom"]
        frame = pd.DataFrame({"source": source, "term": kratom["term"].to_numpy(), "ebgm_n": kratom["n"].to_numpy(),
                              "ebgm_expected": kratom["expected"].to_numpy(), "ebgm": np.nan, "eb05": np.nan, "eb95": np.nan})
        try:
            prior, kept_in = prior_cache.fitted(Path(entry["store"]), n, e)
        except ValueError as exc:
            priors.append({"source": source, "pairs": len(table), "fitted": False, "why_not": str(exc)})
            parts.append(frame)
            continue
        priors.append({"source": source, "pairs": prior.pairs, "fitted": True, "n_star": prior.n_star,
                       "alpha1": prior.alpha1, "beta1": prior.beta1, "alpha2": prior.alpha2, "beta2": prior.beta2, "p": prior.p,
                       "neg_log_likelihood": prior.neg_log_likelihood,
                       "optima": [{"theta": list(theta), "neg_log_likelihood": value} for theta, value in prior.optima],
                       "starts": [list(start) for start in ebgm.STARTS],
                       # Fitted in an earlier run on this very table, by this very code (queries/prior_cache.py), or now.
                       "kept_prior": None if kept_in is None else str(kept_in)})
        scored = ebgm.scores(prior, frame["ebgm_n"].to_numpy(dtype=float), frame["ebgm_expected"].to_numpy(dtype=float))
        parts.append(frame.assign(ebgm=scored["ebgm"], eb05=scored["eb05"], eb95=scored["eb95"]))
    columns = ["source", "term", *EBGM_COLUMNS]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return frame[columns], priors
