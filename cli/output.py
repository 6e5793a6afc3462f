"""Printing tables for people (rich) on stdout."""

from __future__ import annotations

import pandas as pd


def print_status(frame: pd.DataFrame, db) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if frame.empty:
        console.print(f"The database {db} holds no fetched data yet; run `kratom-ae fetch`.", markup=False, soft_wrap=True)
        return
    console.print(f"kratom-ae database {db}", markup=False, highlight=False)
    for row in frame.itertuples(index=False):
        table = Table(show_header=False, title=f"{row.source} (openFDA {row.endpoint})", title_justify="left")
        table.add_column("what")
        table.add_column("value")
        for label, value in [
            ("reports held", f"{row.reports:,}"),
            ("kratom reports", f"{row.kratom_reports:,}"),
            ("received dates", f"{fmt(row.first_received)} to {fmt(row.last_received)}"),
            ("fetched (UTC)", fmt(row.fetched_at)[:19]),
            ("openFDA last_updated", fmt(row.openfda_last_updated)),
            ("records received", f"{row.records_received:,} from {row.queries} queries"),
            ("malformed records", malformed(row)),
            ("server", f"{row.base_url}/{row.endpoint}.json"),
            ("search terms", row.terms),
        ]:
            table.add_row(label, value)
        console.print(table)
    console.print(
        "A report is counted once (latest version); a kratom report has at least one product matched as kratom. "
        "Reports do not show that kratom caused the reaction.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def malformed(row) -> str:
    """Records that broke a rule for malformed records (README), as the status shows them."""
    if row.malformed_records is None:
        return "not checked (fetched by an older kratom-ae)"
    if not row.malformed_records:
        return "none"
    not_stored = f", {row.not_stored:,} not stored" if row.not_stored else ""
    return f"{row.malformed_records:,}{not_stored} (table fetch_problems)"


def fmt(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S" if getattr(value, "hour", 0) or getattr(value, "minute", 0) else "%Y-%m-%d")
    return str(value)


def print_query_list(queries: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="kratom-ae tables (kratom-ae query NAME)", title_justify="left")
    table.add_column("name")
    table.add_column("what it shows")
    table.add_column("filters")
    for name, query in queries.items():
        table.add_row(name, query.description, ", ".join(query.parameters))
    Console().print(table)


def stdout_console():
    """Rich console for stdout. Piped output is not cut to 80 columns (rich's default)."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200)


def print_table(frame: pd.DataFrame, query, filters) -> None:
    console = stdout_console()
    console.print(f"{query.name}: {query.description}", markup=False, highlight=False, soft_wrap=True)
    print_frame(frame, console)
    given = {k: v for k, v in filters.describe().items() if v not in (None, False)}
    console.print(f"Counts: {query.counts}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"Filters: {', '.join(f'{k}={v}' for k, v in given.items())}", markup=False, highlight=False, soft_wrap=True)


def print_frame(frame: pd.DataFrame, console=None) -> None:
    """A DataFrame as a terminal table. Headers wrap at their underscores; a column with one
    value in every row is shown once under the table instead (CSV keeps every column)."""
    from rich import box
    from rich.table import Table

    console = console or stdout_console()
    if frame.empty:
        console.print("(no rows)", markup=False)
        return
    constant = [c for c in frame.columns if len(frame) > 1 and frame[c].astype(str).nunique(dropna=False) == 1 and not pd.api.types.is_numeric_dtype(frame[c])]
    shown = [c for c in frame.columns if c not in constant]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in shown:
        numeric = pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column])
        table.add_column(str(column).replace("_", " "), justify="right" if numeric else "left", overflow="fold")
    for row in frame[shown].itertuples(index=False):
        table.add_row(*(cell(value) for value in row))
    console.print(table)
    for column in constant:
        console.print(f"{column}: {cell(frame[column].iloc[0])} (every row)", markup=False, highlight=False, soft_wrap=True)


def cell(value) -> str:
    if value is None or (not isinstance(value, (str, list)) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_signals(frame: pd.DataFrame, filters, min_reports: int, info, requests: int) -> None:
    from queries.signals import HONESTY

    console = stdout_console()
    if frame.empty:
        console.print("(no reaction terms in scope)", markup=False)
        return
    shown = frame.copy()
    shown["prr (95% CI)"] = [interval(r.prr, r.prr025, r.prr975) for r in frame.itertuples()]
    shown["ror (95% CI)"] = [interval(r.ror, r.ror025, r.ror975) for r in frame.itertuples()]
    shown["ic025"] = frame["ic025"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    shown["chi2"] = frame["chi2_yates"].map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    shown["flags"] = [", ".join(n for n, f in (("Evans", r.signal_evans), ("ROR", r.signal_ror), ("IC", r.signal_ic)) if f) for r in frame.itertuples()]
    columns = (["source"] if "source" in frame.columns else []) + ["term", "a", "b", "c", "d", "prr (95% CI)", "chi2", "ror (95% CI)", "ic025", "flags", "note"]
    console.print("signals: reactions reported disproportionately often with kratom (2x2 tables of reports).", markup=False, highlight=False, soft_wrap=True)
    print_frame(shown[columns], console)
    basis = f"kratom in role: {filters.role}" if filters else "2x2 tables from the counts file"
    console.print(f"Counts: reports; a = kratom reports naming the term, b = kratom reports not naming it, c = other reports naming it, d = other reports not naming it ({basis}).", markup=False, highlight=False, soft_wrap=True)
    console.print(f"Flags: Evans (PRR >= 2, chi2 >= 4, a >= 3), ROR (ROR025 > 1, a >= 3), IC (IC025 > 0); terms with fewer than {min_reports} reports are listed but not flagged.", markup=False, highlight=False, soft_wrap=True)
    if info is not None:
        for row in info.itertuples(index=False):
            console.print(
                f"Background {row.source}: {row.total_reports:,} reports in openFDA {row.endpoint} (last_updated {row.background_last_updated}, fetched {row.background_fetched_at}); "
                f"{requests} requests to openFDA in this run.",
                markup=False, highlight=False, soft_wrap=True,
            )
    console.print(HONESTY, markup=False, highlight=False, soft_wrap=True)


def interval(value, low, high) -> str:
    if value is None or pd.isna(value):
        return ""
    if low is None or pd.isna(low):
        return f"{value:.2f}"
    return f"{value:.2f} ({low:.2f}-{high:.2f})"
