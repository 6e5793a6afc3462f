"""`kratom-ae report`: the tables and figures of one filtered scope as one self-contained HTML
page, with every figure beside it as PNG (300 dpi), SVG and the CSV of the rows it draws.

Every number comes from the bundled tables (queries/*.sql) and from the signals table
(queries/signals.py) run exactly as `kratom-ae query` and `kratom-ae signals` run them.
"""

from __future__ import annotations

import base64
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from kratom_ae.ingest.text import printable
from kratom_ae.queries import export, library
from kratom_ae.queries import signals as signal_lib
from kratom_ae.queries.library import Filters
from kratom_ae.report import figures

DEFAULT_TOP = 20
# The tables shown on the page or drawn, by name in the query library.
# Short names of the figures, for the page's contents.
LABELS = {"trend": "Reports per year, with skin and pigmentation", "reactions": "Most reported reactions", "skin_outcomes": "Skin disorders by outcome",
          "skin_profile": "Skin disorders: clinical profile",
          "signals_forest": "Signals (forest plot)", "age_by_sex": "Age group by sex", "seriousness": "Seriousness criteria", "drugs": "Co-reported drugs (by ingredient)"}
# Decimals of a statistic on the page, where not 2 (cli/output.py prints them so).
STAT_DECIMALS = {"chi2_yates": 1, "expected": 1}
TABLES = ("summary", "trend", "reactions", "skin", "skin_outcomes", "age_by_sex", "drugs")


@dataclass
class Signals:
    """What the forest plot needs: the signals rows it draws, or why there are none."""

    rows: pd.DataFrame  # the rows of signal_table drawn, in its order
    all_rows: pd.DataFrame  # every row of signal_table
    background: pd.DataFrame  # background_info of the sources with a cached background
    kratom: dict  # kratom reports per source in the signals scope (a + b)
    notes: list[str] = field(default_factory=list)
    missing: str | None = None  # set when no background is cached at all


@dataclass
class Report:
    filters: Filters
    n: int  # kratom reports in scope: the denominator of every percent
    tables: dict[str, pd.DataFrame]
    figures: list[figures.Drawn]
    signals: Signals
    provenance: dict

    def shown(self, name: str) -> pd.DataFrame:
        """A table as the page shows it: its columns named for the unit (library.unit_names)."""
        frame = self.tables[name]
        return frame.rename(columns=library.case_columns(frame.columns, self.filters.unit, library.CASE_COLUMNS.get(name)))


def collect_signals(con: duckdb.DuckDBPyConnection, filters: Filters, measure: str, min_reports: int, top: int) -> Signals:
    """The signals of the scope from the cached background (background.ensure must have run
    if a fetch was asked for). The scope is left prepared for the signals filters."""
    library.prepare_scope(con, signal_lib.signal_filters(filters))
    kratom = dict(con.execute("SELECT source, count(*) FROM scope_reports GROUP BY source ORDER BY source").fetchall())
    info = signal_lib.background_info(con)
    info = info[info["source"].isin(kratom)]
    if info.empty:
        empty = pd.DataFrame()
        return Signals(empty, empty, info, kratom, missing=(
            "No disproportionality background is cached in this database, so there is no forest plot: run `kratom-ae signals` once "
            "(it asks openFDA for the background counts and caches them), or `kratom-ae report --fetch-background`."
        ))
    table = signal_lib.signal_table(con, min_reports, measure)
    notes = [f"{w[0].upper()}{w[1:]}" for w in signal_lib.release_warnings(info)]
    for source in sorted(set(kratom) - set(info["source"])):
        notes.append(f"{source.upper()} has no cached background and is not drawn.")
    unknown = table[table["c"].isna() & table["source"].isin(info["source"])]
    if len(unknown):
        notes.append(f"{len(unknown):,} term(s) have no cached background count (run `kratom-ae signals` with these filters) and are not drawn.")
    infinite = {"prr": signal_lib.infinite_prr, "ror": signal_lib.infinite_ror}[measure](table)
    drawable = table[(table["a"] >= min_reports) & (table[measure].notna() | infinite)]
    drawn = drawable.head(top)
    drawn_infinite = int(infinite[drawn.index].sum())
    if drawn_infinite:
        notes.append(
            f"{drawn_infinite:,} drawn term(s) have an infinite {measure.upper()} ({INFINITE_WHY[measure]}): "
            "each is drawn as a triangle at the right edge of the axis, its line starting at the lower end of its Haldane-Anscombe 95% CI "
            "(0.5 added to every cell)."
        )
    notes += left_out(table, drawn, drawable, measure, top)
    return Signals(drawn.reset_index(drop=True), table, info, kratom, notes)


INFINITE_WHY = {"prr": "no other report names them, c = 0", "ror": "no other report names them, c = 0, or every kratom report does, b = 0"}


def left_out(table: pd.DataFrame, drawn: pd.DataFrame, drawable: pd.DataFrame, measure: str, top: int) -> list[str]:
    """Why each flagged term of the signals table is not drawn: no flagged term goes missing
    from the plot without a word (issue 19)."""
    flagged = table[table["flags"].fillna("") != ""]
    missing = flagged[~flagged.index.isin(drawn.index)]
    reasons = [
        (missing.index.isin(drawable.index), f"beyond the top {top:,} by {measure.upper()} (--top)"),
        (~missing.index.isin(drawable.index), f"with no {measure.upper()} (a zero cell leaves it undefined; see the note in signals)"),
    ]
    notes = []
    for mask, why in reasons:
        rows = missing[mask]
        if len(rows):
            names = ", ".join(f"{r.term} ({r.source.upper()})" for r in rows.head(10).itertuples())
            notes.append(f"{len(rows):,} flagged term(s) are not drawn, {why}: {names}{', ...' if len(rows) > 10 else ''}; `kratom-ae signals` lists them.")
    return notes


def run_tables(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, pd.DataFrame]:
    library.prepare_scope(con, filters)
    queries = library.discover()
    tables = {name: library.run(con, queries[name], filters, check=False, unit_names_columns=False) for name in TABLES}
    # The clinical profile of the pigmentation groups (issue 20): its own page section and figure.
    tables["skin_profile"] = library.profile(con, filters, (), ("hyperpigmentation", "pigmentation"), check=False, unit_names_columns=False)
    return tables


def footnote(provenance: dict, filters: Filters) -> str:
    releases = ", ".join(f"{s['source'].upper()} last_updated {', '.join(s['openfda_last_updated']) or '?'}" for s in provenance["sources"])
    given = ", ".join(f"{k}={v}" for k, v in filters.describe().items() if v not in (None, False))
    synthetic = "SYNTHETIC DATA, not from openFDA: " if provenance.get("synthetic") else ""
    unit = ("Unit: probable cases (duplicate reports grouped, not verified patients); the signals background counts reports. "
            if filters.unit == "case" else "")
    return f"{synthetic}{unit}openFDA ({releases}); filters: {given}; kratom-ae {provenance['tool_version']}. Reports do not show that kratom caused a reaction."


def collect(con: duckdb.DuckDBPyConnection, db: Path, filters: Filters, measure: str = "prr", min_reports: int = 3) -> Report:
    """Every table and figure of the report. filters.top must be set (the ranked figures'
    length); the connection needs no write access unless a background was fetched before."""
    signals = collect_signals(con, filters, measure, min_reports, filters.top)
    tables = run_tables(con, filters)
    n = figures.Count(con.execute("SELECT reports FROM scope_total").fetchone()[0], filters.unit)
    provenance = export.provenance(con, db, filters, {name: q for name, q in library.discover().items() if name in TABLES} | {"skin_profile": library.profile_query()})
    provenance["signals_background"] = signals.background.astype(object).where(signals.background.notna(), None).to_dict("records")
    note = footnote(provenance, filters)
    skin = tables["skin"]
    skin_reports = int(skin.loc[skin["reaction_pt"] == "(any skin term)", "reports"].iloc[0]) if len(skin) else 0
    summary = tables["summary"]
    drawn = [
        figures.trend(tables["trend"], n, note),
        figures.reactions(tables["reactions"], n, note),
        figures.skin_outcomes(tables["skin_outcomes"], n, skin_reports, note),
        figures.skin_profile(tables["skin_profile"], n, note),
        forest(signals, measure, min_reports, note, filters.unit),
        figures.age_by_sex(tables["age_by_sex"], n, note),
        figures.seriousness(summary[summary["section"] == "seriousness"].reset_index(drop=True), n, note),
        figures.drugs(tables["drugs"], n, note),
    ]
    if provenance.get("synthetic"):
        for drawn_figure in drawn:
            if drawn_figure.figure is not None:
                figures.mark_synthetic(drawn_figure.figure)
    return Report(filters, n, tables, drawn, signals, provenance)


def forest(signals: Signals, measure: str, min_reports: int, note: str, unit: str = "report") -> figures.Drawn:
    if signals.missing:
        return figures.Drawn("signals_forest", "Disproportionality: signals forest plot", signals.missing, signals.rows, None, signals.missing)
    return figures.forest(signals.rows, measure, min_reports, signals.kratom, signals.background, signals.notes, note, unit)


def data_uri(drawn: figures.Drawn) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(drawn.svg).decode("ascii")


def render(report: Report) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    environment = Environment(
        loader=PackageLoader("kratom_ae.report", "templates"), autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, finalize=page_text
    )
    environment.filters["cell"] = cell
    environment.filters["page_table"] = page_table
    environment.filters["count"] = lambda n: f"{n:,}"
    template = environment.get_template("report.html.j2")
    images = {d.name: data_uri(d) for d in report.figures if d.figure is not None}
    return template.render(report=report, images=images, labels=LABELS, p=report.provenance, rules=report.provenance["counting_rules"])


def page_text(value):
    """Every value the page shows, escaped by the terminal's rule (ingest/text.py) before
    Jinja escapes it for HTML: autoescape leaves NUL, ESC and U+FFFF alone, which HTML calls
    parse errors (a NUL is dropped or replaced). What the template already made HTML (a macro's
    table) is left as it is."""
    from markupsafe import Markup

    return value if isinstance(value, Markup) else printable(value)


def cell(value, column: str = "") -> str:
    """A table cell for people: counts with thousands separators; years, percents and summary
    values as the SQL rounded them; statistics to the decimals `kratom-ae signals` prints
    (chi-squared and expected counts 1, the rest 2), where str() gave 605.2735632183908."""
    if value is None or (not isinstance(value, (str, list)) and pd.isna(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if column.endswith("year"):
        return str(int(value))
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, float) and not column.startswith("pct") and column != "value":
        if value.is_integer() and column not in signal_lib.STAT_COLUMNS:
            return f"{int(value):,}"
        return f"{value:,.{STAT_DECIMALS.get(column, 2)}f}"
    return str(value)


def page_table(drawn) -> pd.DataFrame:
    """The rows of a figure as its table on the page: an infinite PRR or ROR (no other report
    names the term, c = 0) reads "inf", as `signals` prints it, not an empty cell (its CSV
    leaves it empty, as the signals CSV does)."""
    if drawn.name != "signals_forest" or drawn.data.empty or not {"a", "b", "c", "d", "prr", "ror"} <= set(drawn.data.columns):
        return drawn.data
    data = drawn.data.copy()
    for measure, infinite in (("prr", signal_lib.infinite_prr), ("ror", signal_lib.infinite_ror)):
        data[measure] = data[measure].astype(float).mask(infinite(data), math.inf)
    return data


def write(report: Report, folder: Path, db: Path):
    """report.html, provenance.json, and each drawn figure as NAME.png, NAME.svg and NAME.csv
    (the rows it draws), written as one set (queries/outputs.py): a figure with nothing to
    draw writes only its CSV, and its PNG and SVG of an earlier report there are removed.
    Returns queries.outputs.Written."""
    from kratom_ae.queries.outputs import write_folder

    files: list[tuple[str, str | bytes]] = []
    for drawn in report.figures:
        if drawn.figure is not None:
            files += [(f"{drawn.name}.png", drawn.png()), (f"{drawn.name}.svg", drawn.svg)]
        data = drawn.data if drawn.name == "signals_forest" else drawn.data.rename(columns=library.case_columns(drawn.data.columns, report.filters.unit))
        files.append((f"{drawn.name}.csv", export.csv_text(data)))
    files.append(("report.html", render(report)))
    return write_folder(folder, db, "report", files, report.provenance)


# Every file a report may write: checked before the figures are drawn (queries/outputs.py).
REPORT_FILES = [f"{name}.{suffix}" for name in LABELS for suffix in ("png", "svg", "csv")] + ["report.html", "provenance.json"]
