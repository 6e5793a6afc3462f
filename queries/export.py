"""Writing tables for other tools: CSV (safe for spreadsheets), JSON, and the provenance
that makes a number citable."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from kratom_ae import __version__
from kratom_ae.ingest.errors import KratomAEError


# The database side (duckdb, ingest.store, queries.library) is imported in the functions that
# read a database:
# `signals --counts` writes its CSV and JSON with neither, and every command starts faster.
if TYPE_CHECKING:
    from kratom_ae.queries.outputs import Written
    import duckdb

    from kratom_ae.queries.library import Filters, Query

# A spreadsheet runs a cell that starts with one of these as a formula (product names come
# from the public: "=HYPERLINK(...)" is a real risk), also after leading blanks or invisible
# characters, and in their full-width forms. Such cells get a leading apostrophe, which
# spreadsheets show as text and hide (OWASP's advice for CSV injection), and so do cells that
# start with a tab or a carriage return (OWASP lists them too) or with an apostrophe of the
# data: then removing one leading apostrophe from every cell that has one gives each value back
# exactly (provenance.json says so).
FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
FIRST_CHARACTER = ("\t", "\r", "'")
BOOLEAN_TEXT = {True: "true", False: "false"}

DISCLAIMER = (
    "Submission of an adverse event report does not constitute an admission that a product caused or contributed "
    "to an event. The information in these reports has not been scientifically or otherwise verified as to a cause "
    "and effect relationship and cannot be used to estimate incidence (occurrence rate) or to estimate risk. (openFDA)"
)
CITATION = "Data provided by the U.S. Food and Drug Administration (https://open.fda.gov), retrieved with kratom-ae."


def neutralise(value):
    if isinstance(value, str) and (value.startswith(FIRST_CHARACTER) or skip_invisible(value).startswith(FORMULA_START)):
        return "'" + value
    return value


def skip_invisible(text: str) -> str:
    """text without its leading whitespace and invisible characters (spaces of every kind,
    zero-width and format characters such as a BOM, control characters): what a spreadsheet
    may look past before it decides whether a cell is a formula."""
    start = 0
    while start < len(text) and (text[start].isspace() or unicodedata.category(text[start]) in ("Zs", "Cf", "Cc")):
        start += 1
    return text[start:]


def csv_text(frame: pd.DataFrame, guard: bool = True) -> str:
    """The frame as CSV ("\n" between rows): booleans as true and false, every cell that holds
    a line break quoted, and with `guard` (the spreadsheet guard, kept unless the user turns it
    off) formula starts neutralised. Every CSV kratom-ae writes is made here. Python's csv
    module quotes only the characters of its own line terminator, so a cell's lone "\r" would
    end the row in a spreadsheet; the cells are formatted by pandas, then quoted here."""
    safe = frame.copy()
    for column in safe.columns:
        if pd.api.types.is_bool_dtype(safe[column]):
            safe[column] = safe[column].map(BOOLEAN_TEXT, na_action="ignore")
        elif safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(lambda value: csv_cell(value, guard))
    safe.columns = [csv_cell(str(column), guard) for column in safe.columns]
    cells = csv.reader(io.StringIO(safe.to_csv(index=False, quoting=csv.QUOTE_ALL, lineterminator="\n"), newline=""))
    return "".join(csv_row(row) for row in cells)


def csv_cell(value, guard: bool):
    if isinstance(value, (bool, np.bool_)):  # in a column of mixed values (`sql`'s results)
        return BOOLEAN_TEXT[bool(value)]
    return neutralise(value) if guard else value


def written_as(file_format: str, guard: bool = True) -> dict:
    """How the cells of the files that a provenance describes were written."""
    if file_format == "parquet":
        return {"format": "parquet", "spreadsheet_guard": False, "cells": PARQUET_CELLS}
    return {"format": "csv", "spreadsheet_guard": guard, "cells": GUARDED_CELLS if guard else UNGUARDED_CELLS}


GUARDED_CELLS = (
    "CSV with the spreadsheet guard: a text cell that starts with an apostrophe, a tab or a carriage return, or whose first "
    "character after blanks and invisible characters is = + - or @ (also full-width), has one apostrophe added in front, "
    "which spreadsheets hide and which stops them running the cell as a formula; remove one leading apostrophe from every "
    "cell that has one to get the values exactly (--no-spreadsheet-guard writes them as they are). Booleans are true and "
    "false; an empty cell is a missing value or an empty text."
)
UNGUARDED_CELLS = (
    "CSV without the spreadsheet guard (--no-spreadsheet-guard): every cell is the value as it is, so a leading apostrophe "
    "is part of the data; a spreadsheet may run a cell that starts with = + - or @ as a formula. Booleans are true and "
    "false; an empty cell is a missing value or an empty text."
)
PARQUET_CELLS = (
    "Parquet: each column has the type DuckDB computed (integers, dates, booleans, doubles, text); text is as it is, since "
    "Parquet needs no spreadsheet guard (spreadsheets do not open it); a missing value is null."
)


def csv_row(cells: list[str]) -> str:
    if cells == [""]:
        return '""\n'  # a lone empty cell, not an empty line
    return ",".join(f'"{c.replace(chr(34), chr(34) * 2)}"' if any(ch in c for ch in ',"\r\n') else c for c in cells) + "\n"


def json_text(frame: pd.DataFrame) -> str:
    return frame.to_json(orient="records", date_format="iso", force_ascii=False, indent=1)


def counting_rules() -> list[str]:
    """The counting rules as written in queries/_scope.sql's header (the one place they live)."""
    from kratom_ae.queries.library import BUNDLED

    text = (BUNDLED / "_scope.sql").read_text(encoding="utf-8")
    block = text.split("-- Counting rules", 1)[1].split("\n--\n", 1)[0]
    rules, current = [], ""
    for line in block.splitlines()[1:]:
        line = line.removeprefix("--").strip()
        if line.startswith("* "):
            if current:
                rules.append(current)
            current = line[2:]
        elif line:
            current += " " + line
    if current:
        rules.append(current)
    return [re.sub(r";$", "", rule).strip() for rule in rules]


def provenance(con: duckdb.DuckDBPyConnection, db: Path, filters: Filters, tables: dict[str, Query], listing=None) -> dict:
    from kratom_ae.ingest.sqlfiles import sql
    from kratom_ae.ingest.store import synthetic_sources, synthetic_warning
    from kratom_ae.queries.library import has_meddra

    runs = con.execute(sql("provenance")).df()
    synthetic = synthetic_sources(con)
    sources = []
    for source, group in runs.groupby("source", sort=True):
        # A bulk load (ingest/bulk_load.py) has a run per partition, each with its own URL.
        from_bulk = bool((group["term"] == "(bulk file)").all())
        sources.append(
            {
                "source": source,
                "endpoint": group["endpoint"].iloc[0],
                "from_bulk": from_bulk,
                "base_url": group["base_url"].iloc[0].rsplit("/", 2)[0] + "/" if from_bulk else group["base_url"].iloc[0],
                "fetched_at": group["finished_at"].max(),
                "synthetic": source in synthetic,
                "server_disclaimer": next(iter(group["disclaimer"].dropna()), None),
                "openfda_last_updated": sorted(set(group["last_updated"].dropna())),
                "queries": group[["term", "search", "base_url", "total_reported", "records_received", "last_updated"]].astype(object).where(group.notna(), None).to_dict("records"),
            }
        )
    meddra = None
    if has_meddra(con):
        info = con.execute("SELECT folder, version, loaded_at FROM meddra_info").df().iloc[0]
        meddra = {"folder": info["folder"], "version": info["version"], "loaded_at": str(info["loaded_at"])}
    return {
        "data_warning": synthetic_warning(synthetic),
        "synthetic": bool(synthetic),
        "tool": "kratom-ae",
        "tool_version": __version__,
        "generated_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "database": str(Path(db).resolve()),
        "filters": filters.describe() | ({"listing": {"terms": list(listing.terms), "skin": listing.skin, "pigmentation": listing.pigmentation, "soc": listing.soc}} if listing else {}),
        # The denominator of every pct_of_kratom_reports (pct_of_kratom_cases) written with this provenance.
        **in_scope(con, filters),
        "sources": sources,
        "meddra": meddra,
        "skin_terms": "MedDRA primary SOC 'Skin and subcutaneous tissue disorders' of the loaded release" if meddra else "the curated list queries/skin_terms.csv",
        "counting_rules": counting_rules(),
        "tables": {
            name: {"description": q.description, "row": q.row, "counts": q.counts, "columns": q.columns, "filters_applied": [p for p in q.parameters if p in filters.given]}
            | unit_entry(q, filters)
            for name, q in tables.items()
        },
        "disclaimer": DISCLAIMER,
        "citation": CITATION,
    }


def unit_entry(query: Query, filters: Filters) -> dict:
    """What a table counts when --unit case renamed its columns (library.unit_names)."""
    if filters.unit != "case" or "unit" not in query.parameters:
        return {}
    return {"unit": "probable cases: where the counts and columns above say reports, the file's columns say cases (reports -> cases, pct_of_kratom_reports -> pct_of_kratom_cases)"
            + ("; summary's count column holds the report count in its first row and cases in the others" if query.name == "summary" else "")}


def in_scope(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict:
    """The kratom units in scope, each key named by what it counts: reports, and with --unit case
    the probable cases too (their reports are still every in-scope report)."""
    reports = con.execute("SELECT count(*) FROM scope_members").fetchone()[0]
    if filters.unit != "case":
        return {"kratom_reports_in_scope": reports}
    return {"kratom_cases_in_scope": con.execute("SELECT reports FROM scope_total").fetchone()[0], "kratom_reports_in_scope": reports}


def provenance_text(con, db, filters, tables, listing=None, guard: bool = True) -> str:
    """The FILE.provenance.json of a --csv FILE."""
    return json_document(provenance(con, db, filters, tables, listing) | {"written_as": written_as("csv", guard)})


def json_document(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"


def export_tables(con: duckdb.DuckDBPyConnection, db: Path, folder: Path, filters: Filters, tables: dict[str, Query], file_format: str = "csv", guard: bool = True) -> tuple[Written, list[str]]:
    """Every table as <name>.csv (or .parquet) in folder, plus provenance.json, written as one
    set (see queries/outputs.py); the tables an earlier export there made and this one does not
    are removed (if they are still as it wrote them). Tables that need a MedDRA release are
    skipped while none is loaded, and the signals table while no complete background is cached
    (provenance.json lists what was written). Returns what was written and what to tell the
    user (the scope is left prepared for the signals)."""
    from kratom_ae.queries.library import run
    from kratom_ae.queries.outputs import write_folder

    chosen = chosen_tables(con, tables)
    described = provenance(con, db, filters, chosen) | {"written_as": written_as(file_format, guard)}
    typed = TypedTables(described) if file_format == "parquet" else None
    if typed:
        contents = {name: run(con, query, filters, check=False, fetch=typed.keep) for name, query in chosen.items()}
    else:
        contents = {name: csv_text(run(con, query, filters, check=False), guard) for name, query in chosen.items()}
    signals, messages = cached_signals(con, filters)
    if signals is not None:
        frame, described["tables"]["signals"], described["signals"] = signals
        contents["signals"] = typed.keep(frame) if typed else csv_text(frame, guard)
    files = [(f"{name}.{file_format}", content) for name, content in contents.items()]
    return write_folder(folder, db, "export", files, described), messages


def chosen_tables(con: duckdb.DuckDBPyConnection, tables: dict[str, Query]) -> dict[str, Query]:
    """The tables an export writes: all but those that need a MedDRA release while none is loaded."""
    from kratom_ae.queries.library import has_meddra

    meddra = has_meddra(con)
    chosen = {name: q for name, q in tables.items() if meddra or "meddra" not in q.requires}
    if "signals" in chosen:
        raise KratomAEError(f"Your table {chosen['signals'].path} is called signals, the name of the export's signals table; rename it.")
    return chosen


def export_names(con: duckdb.DuckDBPyConnection, tables: dict[str, Query], file_format: str) -> list[str]:
    """The files an export may write into its folder, known before any of its queries runs, so
    that a folder or file it will not write is refused first (outputs.check_folder), not after
    minutes of queries: every table chosen, and the signals table's when a background is
    cached at all (a complete one, which export_tables writes the table from, is one)."""
    from kratom_ae.ingest.store import has_table

    names = [f"{name}.{file_format}" for name in chosen_tables(con, tables)]
    if has_table(con, "background_totals") and con.execute("SELECT count(*) FROM background_totals").fetchall()[0][0]:
        names.append(f"signals.{file_format}")
    return names


class ArrowStream:
    """A result of one DuckDB connection as another reads it, through the Arrow PyCapsule
    interface (no pyarrow needed); its types stay DuckDB's."""

    def __init__(self, relation):
        self.relation = relation

    def __arrow_c_stream__(self, requested_schema=None):
        return self.relation.__arrow_c_stream__(requested_schema)


class TypedTables:
    """The tables of a Parquet export, held with their types in an in-memory DuckDB database
    of their own until queries/outputs.py names the file each goes to. The user's database is
    read with file access off (ingest/store.py); the connection that writes a file may write
    only into the export's temporary folder."""

    def __init__(self, described: dict):
        import duckdb

        self.con = duckdb.connect(":memory:", config={"enable_external_access": False})
        self.kept = 0
        self.metadata = {
            "synthetic": str(described["synthetic"]).lower(),
            "data_warning": described["data_warning"] or "",
            "provenance": "see provenance.json beside this file (kratom-ae export): sources, filters, counting rules",
        }

    def keep(self, result) -> Callable[[Path], None]:
        """Hold `result` (a relation of another connection, or a DataFrame) here; returns the
        function that writes it as Parquet."""
        table = f"t{self.kept}"  # a name of its own: a user's table may be called anything
        self.kept += 1
        source = self.con.from_df(result) if isinstance(result, pd.DataFrame) else self.con.from_arrow(ArrowStream(result))
        source.to_table(table)
        return lambda path: self.write(table, path)

    def write(self, table: str, path: Path) -> None:
        import duckdb

        from kratom_ae.ingest.store import allow_only
        from kratom_ae.queries.library import internal_sql

        copier = duckdb.connect(":memory:")
        try:
            allow_only(copier, [path.parent])
            copier.register("incoming", ArrowStream(self.con.table(table)))
            copier.execute(internal_sql("parquet"), {"path": str(path.parent.resolve() / path.name), **self.metadata})
        finally:
            copier.close()


# `export` writes the signals table as `kratom-ae signals` shows it by default.
SIGNALS_MIN_REPORTS = 3
SIGNALS_SORT = "prr"
SIGNALS_LEFT_OUT = (
    "Signals left out: this database holds no complete signals background for these filters (export never asks openFDA); "
    "`kratom-ae signals` with the same --source, --role and --unit fetches and caches it, and the next export includes the signals table."
)


def cached_signals(con: duckdb.DuckDBPyConnection, filters: Filters):
    """The signals table from the background cached in the database, with its entry for
    provenance.json's tables and its part of provenance.json, and the warnings to show; or
    None and the sentence saying why not. Sends no request: the scope is prepared for the
    signals filters (only --source, --role and --unit narrow them)."""
    from kratom_ae.ingest import background
    from kratom_ae.queries import library
    from kratom_ae.queries import signals as signal_lib

    scoped = signal_lib.signal_filters(filters)
    library.prepare_scope(con, scoped)
    if not background.is_complete(con):
        return None, [SIGNALS_LEFT_OUT]
    # The Mantel-Haenszel columns too when `signals --adjusted` cached the strata (reports only).
    adjusted = scoped.unit != "case" and background.strata_is_complete(con)
    frame = signal_lib.signal_table(con, SIGNALS_MIN_REPORTS, SIGNALS_SORT, adjusted=adjusted)
    info = signal_lib.background_info(con)
    warnings = signal_lib.release_warnings(info)
    entry = {
        "description": f"Disproportionality of every reaction term against all other reports of the same openFDA database, as `kratom-ae signals --min-reports {SIGNALS_MIN_REPORTS} --sort {SIGNALS_SORT}` computes it (see signals in this file).",
        "row": "a reaction term of a source",
        "counts": signal_lib.honesty(scoped),
        "columns": ", ".join(frame.columns),
        "filters_applied": [name for name in ("source", "role", "unit") if name in scoped.given],
    }
    part = signals_part(scoped, info, warnings, 0, SIGNALS_MIN_REPORTS, SIGNALS_SORT)
    part["strata"] = strata_part(signal_lib.strata_outside(con)) if adjusted else None
    return (frame, entry, part), [f"Warning: {w}" for w in warnings]


def signals_provenance(con, db, filters, info, warnings, requests, min_reports, sort, counts_file=None, guard: bool = True, comparator=None, frame=None, outside=None,
                       ebgm_priors=None, local=None) -> str:
    """Provenance of a signals table: the usual one, plus the background and its requests (and
    with the local background, local_background.Counts.provenance: the stores, exports and
    partitions it was counted from, and the empirical-Bayes prior of each source)."""
    base = provenance(con, db, filters, {}) if con is not None else {
        "tool": "kratom-ae", "tool_version": __version__, "generated_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "counts_file": str(Path(counts_file).resolve()),
    }
    base.pop("tables", None)
    base["signals"] = signals_part(filters, info, warnings, requests, min_reports, sort)
    base["signals"]["comparator"] = None if comparator is None else ingredient_comparator_part(comparator, frame) if local is not None else comparator_part(comparator, frame)
    if local is not None:
        base["signals"]["local_background"] = local
    base["signals"]["strata"] = None if outside is None else strata_part(outside)
    local_cases = frame is not None and "cd_unit" in frame.columns and bool((frame["cd_unit"] == "probable cases").any())
    if local_cases:
        from kratom_ae.queries.signals import honesty

        base["signals"]["caution"] = honesty(filters, local_cases=True)
        base["signals"]["unit"] = ("a and b count probable cases; c and d count probable cases of the local background (kratom-ae bulk background --cases), with every "
                                   "such case holding a kratom report in scope taken out (background_kratom_units, background_kratom_units_naming_term)")
    if ebgm_priors is not None:  # not in the API background's provenance, which stays as it was
        base["signals"]["ebgm"] = ebgm_part(ebgm_priors, "probable cases" if local_cases else "reports")
    if comparator is not None:
        from kratom_ae.queries.signals import for_comparator

        base["signals"]["caution"] = for_comparator(base["signals"]["caution"], comparator)
        base["signals"]["unit"] = (("a and b count probable cases; " if filters.unit == "case" else "a and b count kratom reports; ")
                                   + f"c and d count {'probable cases' if local_cases else 'reports'} of the comparator ({comparator.names}), "
                                   + ("with every such case holding a kratom report in scope taken out" if local_cases else comparator.taken_out))
    return json_document(base | {"written_as": written_as("csv", guard)})


def ebgm_part(priors, unit: str = "reports") -> dict:
    """What the ebgm, eb05 and eb95 columns are, and each source's prior."""
    from kratom_ae.queries.ebgm import PARAM_LIMIT

    return {
        "method": "DuMouchel's (1999) gamma-Poisson shrinker: EBGM = exp(E[log lambda | N]), EB05 and EB95 the 5th and 95th percentiles of the posterior of lambda, "
                  "lambda ~ P Gamma(alpha1, beta1) + (1 - P) Gamma(alpha2, beta2) (beta a rate); the prior fitted by maximum likelihood on all pairs of the source's "
                  "drug-by-event table (N >= n_star), the best optimum inside the parameter limit reached from any start (queries/ebgm.py)",
        "reference": "DuMouchel W. Bayesian data mining in large frequency tables, with an application to the FDA spontaneous reporting system. "
                     "The American Statistician 1999; 53(3): 177-190",
        "pair": "the pair of kratom (any kratom product, any role) and the term in the local background's drug-by-event table (queries/_local_drug_events.sql): "
                f"ebgm_n = its {unit} (latest version) naming a kratom product and the term, ebgm_expected = kratom's {unit} x the term's {unit} / all {unit}, "
                f"each among the {unit} naming some drug and some term; not a, b, c or d",
        "parameter_limit": PARAM_LIMIT,
        "priors": priors,
    }


def strata_part(outside) -> dict:
    """The strata of the Mantel-Haenszel estimates, and the kratom reports outside all of them."""
    from kratom_ae.ingest import background

    return {
        "sources": list(background.STRATA_SOURCES),
        "sex": [f"{name} (patient.patientsex:{code})" for name, code in background.SEXES],
        "age_bands_years": [f"{band}: onset age in years (unit 801) from {low:g} to {high:g}, both included" for band, low, high in background.AGE_BANDS],
        "report_periods": [f"{name}: receivedate {first} to {last}" for name, first, last in background.PERIODS],
        "strata": len(background.STRATA),
        "min_kratom_reports_for_mh": background.MH_MIN_REPORTS,
        "zero_cells": "a stratum without kratom reports or without other reports adds nothing; no continuity correction otherwise",
        "outside_every_stratum": outside.astype(object).where(outside.notna(), None).to_dict("records"),
    }


def ingredient_comparator_part(comparator, frame) -> dict:
    """What a comparator of the local background is (local_background.IngredientComparator)."""
    firsts = frame.drop_duplicates("source").sort_values("source") if frame is not None and len(frame) else frame
    return {
        "ingredients": list(comparator.ingredients),
        "background": "the reports (latest version) of each source's local background with a product, not kratom, of one of these ingredients "
                      "(product_ingredients.ingredient, normalized: upper case, punctuation as spaces)",
        "both_named_rule": "a report naming kratom and a comparator ingredient is a kratom report (a or b), and is not in c or d: the kratom reports in scope that "
                           "the comparator's reports hold are taken out of its counts",
        "kratom_reports_in_scope_in_comparator": {} if firsts is None else {r.source: int(r.kratom_reports_in_background) for r in firsts.itertuples()},
    }


def comparator_part(comparator, frame) -> dict:
    """What an active comparator is, and how reports naming kratom and it are counted."""
    firsts = frame.drop_duplicates("source").sort_values("source") if frame is not None and len(frame) else frame
    return {
        "file": str(Path(comparator.path).resolve()),
        "terms": [{"term": t.term, "match": t.match, "note": t.note} for t in comparator.terms],
        "background": "the reports of each source's openFDA endpoint that the search for the comparator's terms finds (background[].comparator_search)",
        "both_named_rule": "a report naming kratom and a comparator drug is a kratom report (a or b), and is not in c or d: the kratom reports in scope that "
                           "the comparator's search finds (openFDA asked by report id) are taken out of the comparator's counts",
        "kratom_reports_in_scope_in_comparator": {} if firsts is None else {r.source: int(r.kratom_reports_in_background) for r in firsts.itertuples()},
    }


def signals_part(filters, info, warnings, requests, min_reports, sort) -> dict:
    """What a signals table's provenance says of it: what it counts, the background and the formulas."""
    from kratom_ae.queries.signals import honesty
    from kratom_ae.queries.disproportionality import __doc__ as formulas

    return {
        "unit": ("a and b count probable cases; c and d count reports: openFDA's background with every kratom report in scope taken out"
                 if filters is not None and filters.unit == "case" else
                 "reports (2x2 tables: a kratom reports naming the term, b kratom reports not naming it, c other reports naming it, d other reports not naming it)"
                 if filters else "as counted in the counts file (kratom-ae did not count them)"),
        "role_basis": filters.role if filters else "as given in the counts file",
        "min_reports": min_reports,
        "sort": sort,
        "background": [] if info is None else info.astype(object).where(info.notna(), None).to_dict("records"),
        "background_requests_this_run": requests,
        "warnings": warnings,
        "formulas": formulas.strip(),
        "caution": honesty(filters),
    }
