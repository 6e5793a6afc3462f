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
from typing import TYPE_CHECKING

import pandas as pd

from kratom_ae import __version__


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
# spreadsheets show as text and hide (OWASP's advice for CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
CONTROL_START = ("\t", "\r")

DISCLAIMER = (
    "Submission of an adverse event report does not constitute an admission that a product caused or contributed "
    "to an event. The information in these reports has not been scientifically or otherwise verified as to a cause "
    "and effect relationship and cannot be used to estimate incidence (occurrence rate) or to estimate risk. (openFDA)"
)
CITATION = "Data provided by the U.S. Food and Drug Administration (https://open.fda.gov), retrieved with kratom-ae."


def neutralise(value):
    if isinstance(value, str) and (value.startswith(CONTROL_START) or skip_invisible(value).startswith(FORMULA_START)):
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


def csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV ("\n" between rows), safe for spreadsheets: formula starts
    neutralised, and every cell that holds a line break quoted. Python's csv module quotes
    only the characters of its own line terminator, so a cell's lone "\r" would end the row
    in a spreadsheet; the cells are formatted by pandas, then quoted here."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise)
    safe.columns = [neutralise(str(column)) for column in safe.columns]
    cells = csv.reader(io.StringIO(safe.to_csv(index=False, quoting=csv.QUOTE_ALL, lineterminator="\n"), newline=""))
    return "".join(csv_row(row) for row in cells)


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
    from kratom_ae.ingest.store import sql, synthetic_sources, synthetic_warning
    from kratom_ae.queries.library import has_meddra

    runs = con.execute(sql("provenance")).df()
    synthetic = synthetic_sources(con)
    sources = []
    for source, group in runs.groupby("source", sort=True):
        sources.append(
            {
                "source": source,
                "endpoint": group["endpoint"].iloc[0],
                "base_url": group["base_url"].iloc[0],
                "fetched_at": group["finished_at"].max(),
                "synthetic": source in synthetic,
                "server_disclaimer": next(iter(group["disclaimer"].dropna()), None),
                "openfda_last_updated": sorted(set(group["last_updated"].dropna())),
                "queries": group[["term", "search", "total_reported", "records_received", "last_updated"]].astype(object).where(group.notna(), None).to_dict("records"),
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
        # The denominator of every pct_of_kratom_reports written with this provenance.
        "kratom_reports_in_scope": con.execute("SELECT reports FROM scope_total").fetchone()[0],
        "sources": sources,
        "meddra": meddra,
        "skin_terms": "MedDRA primary SOC 'Skin and subcutaneous tissue disorders' of the loaded release" if meddra else "the curated list queries/skin_terms.csv",
        "counting_rules": counting_rules(),
        "tables": {
            name: {"description": q.description, "row": q.row, "counts": q.counts, "columns": q.columns, "filters_applied": [p for p in q.parameters if p in filters.given]}
            for name, q in tables.items()
        },
        "disclaimer": DISCLAIMER,
        "citation": CITATION,
    }


def provenance_text(con, db, filters, tables, listing=None) -> str:
    return json_document(provenance(con, db, filters, tables, listing))


def json_document(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"


def export_tables(con: duckdb.DuckDBPyConnection, db: Path, folder: Path, filters: Filters, tables: dict[str, Query]) -> Written:
    """Every table as <name>.csv in folder, plus provenance.json, written as one set (see
    queries/outputs.py); the tables an earlier export there made and this one does not are
    removed (if they are still as it wrote them). Tables that need a MedDRA release are
    skipped while none is loaded (provenance.json lists what was written)."""
    from kratom_ae.queries.library import has_meddra, run
    from kratom_ae.queries.outputs import write_folder

    meddra = has_meddra(con)
    chosen = {name: q for name, q in tables.items() if meddra or "meddra" not in q.requires}
    files = [(f"{name}.csv", csv_text(run(con, query, filters, check=False))) for name, query in chosen.items()]
    return write_folder(folder, db, "export", files, provenance(con, db, filters, chosen))


def signals_provenance(con, db, filters, info, warnings, requests, min_reports, sort, counts_file=None) -> str:
    """Provenance of a signals table: the usual one, plus the background and its requests."""
    from kratom_ae.queries.signals import honesty
    from kratom_ae.queries.disproportionality import __doc__ as formulas

    base = provenance(con, db, filters, {}) if con is not None else {
        "tool": "kratom-ae", "tool_version": __version__, "generated_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "counts_file": str(Path(counts_file).resolve()),
    }
    base.pop("tables", None)
    base["signals"] = {
        "unit": ("probable cases on the kratom side (a, b); the background (c, d) is openFDA's count of reports"
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
    return json_document(base)
