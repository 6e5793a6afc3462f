"""Writing tables for other tools: CSV (safe for spreadsheets), JSON, and the provenance
that makes a number citable."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pandas as pd

from ingest.errors import KratomAEError
from ingest.fetch import tool_version
from ingest.store import sql
from queries.library import BUNDLED, Filters, Query, has_meddra

# A spreadsheet runs a cell that starts with one of these as a formula (product names come
# from the public: "=HYPERLINK(...)" is a real risk). Such cells get a leading apostrophe,
# which spreadsheets show as text and hide (OWASP's advice for CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

DISCLAIMER = (
    "Submission of an adverse event report does not constitute an admission that a product caused or contributed "
    "to an event. The information in these reports has not been scientifically or otherwise verified as to a cause "
    "and effect relationship and cannot be used to estimate incidence (occurrence rate) or to estimate risk. (openFDA)"
)
CITATION = "Data provided by the U.S. Food and Drug Administration (https://open.fda.gov), retrieved with kratom-ae."


def neutralise(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_text(frame: pd.DataFrame) -> str:
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise)
    return safe.to_csv(index=False, lineterminator="\n")


def json_text(frame: pd.DataFrame) -> str:
    return frame.to_json(orient="records", date_format="iso", force_ascii=False, indent=1)


def write_text(path: Path, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise KratomAEError(f"Cannot write {path}: {exc.strerror}.") from None


def counting_rules() -> list[str]:
    """The counting rules as written in queries/_scope.sql's header (the one place they live)."""
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


def provenance(con: duckdb.DuckDBPyConnection, db: Path, filters: Filters, tables: dict[str, Query]) -> dict:
    runs = con.execute(sql("provenance")).df()
    sources = []
    for source, group in runs.groupby("source", sort=True):
        sources.append(
            {
                "source": source,
                "endpoint": group["endpoint"].iloc[0],
                "base_url": group["base_url"].iloc[0],
                "fetched_at": group["finished_at"].max(),
                "openfda_last_updated": sorted(set(group["last_updated"].dropna())),
                "queries": group[["term", "search", "total_reported", "records_received", "last_updated"]].astype(object).where(group.notna(), None).to_dict("records"),
            }
        )
    meddra = None
    if has_meddra(con):
        info = con.execute("SELECT folder, version, loaded_at FROM meddra_info").df().iloc[0]
        meddra = {"folder": info["folder"], "version": info["version"], "loaded_at": str(info["loaded_at"])}
    return {
        "tool": "kratom-ae",
        "tool_version": tool_version(),
        "generated_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "database": str(Path(db).resolve()),
        "filters": filters.describe(),
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


def provenance_text(con, db, filters, tables) -> str:
    return json.dumps(provenance(con, db, filters, tables), indent=2, ensure_ascii=False, default=str) + "\n"


def export_tables(con: duckdb.DuckDBPyConnection, db: Path, folder: Path, filters: Filters, tables: dict[str, Query], on_remove=None) -> list[Path]:
    """Every table as <name>.csv in folder, plus provenance.json. Tables that need a MedDRA
    release are skipped while none is loaded (provenance.json lists what was written)."""
    from queries.library import run

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KratomAEError(f"Cannot create the folder {folder}: {exc.strerror}.") from None
    meddra = has_meddra(con)
    chosen = {name: q for name, q in tables.items() if meddra or "meddra" not in q.requires}
    for path in remove_previous_export(folder, keep=set(chosen)):
        if on_remove:
            on_remove(path)
    written = []
    for name, query in chosen.items():
        path = folder / f"{name}.csv"
        write_text(path, csv_text(run(con, query, filters, check=False)))
        written.append(path)
    path = folder / "provenance.json"
    write_text(path, provenance_text(con, db, filters, chosen))
    written.append(path)
    return written


def remove_previous_export(folder: Path, keep: set[str]) -> list[Path]:
    """Remove the CSVs that an earlier export into `folder` listed in its provenance.json and
    that this one does not write again (a table of a --queries-dir not given now, the SOC table
    without MedDRA), so that no stale table sits beside the new ones unlisted. Only files
    named <table>.csv directly in the folder are touched; other files are left alone."""
    try:
        earlier = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(earlier, dict) or earlier.get("tool") != "kratom-ae" or not isinstance(earlier.get("tables"), dict):
        return []
    removed = []
    for name in earlier["tables"]:
        path = folder / f"{name}.csv"
        if name in keep or Path(name).name != name or name in ("", ".", "..") or path.parent != folder:
            continue
        try:
            if path.is_file() or path.is_symlink():
                path.unlink()
                removed.append(path)
        except OSError as exc:
            raise KratomAEError(f"Cannot remove {path}, a table of the earlier export in {folder}: {exc.strerror}.") from None
    return removed


def signals_provenance(con, db, filters, info, warnings, requests, min_reports, sort, counts_file=None) -> str:
    """Provenance of a signals table: the usual one, plus the background and its requests."""
    from queries.signals import HONESTY, HONESTY_COUNTS
    from queries.disproportionality import __doc__ as formulas

    base = provenance(con, db, filters, {}) if con is not None else {
        "tool": "kratom-ae", "tool_version": tool_version(), "generated_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "counts_file": str(Path(counts_file).resolve()),
    }
    base.pop("tables", None)
    base["signals"] = {
        "unit": "reports (2x2 tables: a kratom reports naming the term, b kratom reports not naming it, c other reports naming it, d other reports not naming it)"
        if filters else "as counted in the counts file (kratom-ae did not count them)",
        "role_basis": filters.role if filters else "as given in the counts file",
        "min_reports": min_reports,
        "sort": sort,
        "background": [] if info is None else info.astype(object).where(info.notna(), None).to_dict("records"),
        "background_requests_this_run": requests,
        "warnings": warnings,
        "formulas": formulas.strip(),
        "caution": HONESTY if filters else HONESTY_COUNTS,
    }
    return json.dumps(base, indent=2, ensure_ascii=False, default=str) + "\n"
