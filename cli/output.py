"""Printing tables for people (rich) on stdout."""

from __future__ import annotations

import pandas as pd

from cli.terminal import cell_text, printable


def print_status(frame: pd.DataFrame, db, synthetic: list[str] = ()) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if frame.empty:
        console.print(f"The database {printable(db)} holds no fetched data yet; run `kratom-ae fetch`.", markup=False, soft_wrap=True)
        return
    from ingest.store import synthetic_warning

    console.print(f"kratom-ae database {printable(db)}", markup=False, highlight=False)
    print_warning(console, synthetic_warning(list(synthetic)))
    for row in frame.itertuples(index=False):
        table = Table(show_header=False, title=cell_text(f"{row.source} (openFDA {row.endpoint})"), title_justify="left")
        table.add_column("what")
        table.add_column("value")
        for label, value in [
            ("reports held", f"{row.reports:,}"),
            ("kratom reports", f"{row.kratom_reports:,}"),
            ("received dates", f"{fmt(row.first_received)} to {fmt(row.last_received)}"),
            ("fetched (UTC)", fmt(row.fetched_at)[:19]),
            ("openFDA last_updated", fmt(row.openfda_last_updated)),
            ("records received", f"{row.records_received:,} from {row.queries} queries"),
            ("server", f"{row.base_url}/{row.endpoint}.json"),
            ("search terms", row.terms),
        ] + ([("data", "SYNTHETIC: not from openFDA")] if row.source in synthetic else []):
            table.add_row(label, cell_text(value))
        console.print(table)
    console.print(
        "A report is counted once (latest version); a kratom report has at least one product matched as kratom. "
        "Reports do not show that kratom caused the reaction.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


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
        table.add_row(cell_text(name), cell_text(query.description), ", ".join(query.parameters))
    Console().print(table)


def print_warning(console, warning: str | None) -> None:
    if warning:
        console.print(warning, markup=False, highlight=False, soft_wrap=True)


def stdout_console():
    """Rich console for stdout. Piped output is not cut to 80 columns (rich's default)."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200)


def print_table(frame: pd.DataFrame, query, filters, in_scope: dict | None = None, warning: str | None = None) -> None:
    console = stdout_console()
    console.print(printable(f"{query.name}: {query.description}"), markup=False, highlight=False, soft_wrap=True)
    print_frame(frame, console)
    if in_scope is not None:
        console.print(denominator_line(in_scope, getattr(filters, "unit", "report")), markup=False, highlight=False, soft_wrap=True)
    given = {k: v for k, v in filters.describe().items() if v not in (None, False)}
    console.print(printable(f"Counts: {query.counts}"), markup=False, highlight=False, soft_wrap=True)
    if getattr(filters, "unit", "report") == "case":
        console.print("Unit: probable cases, not reports: read \"reports\" in the counts above as cases (duplicate reports of one event counted once; README \"Cases\").", markup=False, highlight=False, soft_wrap=True)
    console.print(f"Filters: {', '.join(f'{k}={v}' for k, v in given.items())}", markup=False, highlight=False, soft_wrap=True)
    print_warning(console, warning)


def denominator_line(in_scope: dict, unit: str = "report") -> str:
    """The number the percentages divide by, per source too (outcomes divides by a source's)."""
    sources = ", ".join(f"{source} {n:,}" for source, n in in_scope.items() if source != "all")
    what = "Probable cases" if unit == "case" else "Kratom reports"
    return f"{what} in scope (the denominator of the percentages): {in_scope['all']:,}" + (f" ({sources})." if len(in_scope) > 2 else ".")


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
        table.add_column(cell_text(str(column).replace("_", " ")), justify="right" if numeric else "left", overflow="fold")
    for row in frame[shown].itertuples(index=False):
        table.add_row(*(cell_text(cell(value)) for value in row))
    console.print(table)
    for column in constant:
        console.print(f"{printable(column)}: {cell(frame[column].iloc[0])} (every row)", markup=False, highlight=False, soft_wrap=True)


def cell(value) -> str:
    if value is None or (not isinstance(value, (str, list)) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return printable(value)


def print_signals(frame: pd.DataFrame, filters, min_reports: int, info, requests: int, warning: str | None = None) -> None:
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
    if filters is not None and "source" in frame.columns:
        firsts = frame.drop_duplicates("source").sort_values("source")
        console.print(f"Kratom reports in scope (a + b): {', '.join(f'{r.source} {int(r.a) + int(r.b):,}' for r in firsts.itertuples())}.", markup=False, highlight=False, soft_wrap=True)
    basis = f"kratom in role: {filters.role}" if filters else "2x2 tables from the counts file"
    if filters and filters.unit == "case":
        console.print("Unit: a and b count probable cases (duplicate reports grouped, README \"Cases\"); c and d are still openFDA's counts of reports in the background.", markup=False, highlight=False, soft_wrap=True)
    console.print(f"Counts: reports; a = kratom reports naming the term, b = kratom reports not naming it, c = other reports naming it, d = other reports not naming it ({basis}).", markup=False, highlight=False, soft_wrap=True)
    console.print(f"Flags: Evans (PRR >= 2, chi2 >= 4, a >= 3), ROR (ROR025 > 1, a >= 3), IC (IC025 > 0); terms with fewer than {min_reports} reports are listed but not flagged.", markup=False, highlight=False, soft_wrap=True)
    if info is not None:
        for row in info.itertuples(index=False):
            console.print(
                printable(f"Background {row.source}: {row.total_reports:,} reports in openFDA {row.endpoint} (last_updated {row.background_last_updated}, fetched {row.background_fetched_at}); "
                f"{requests} requests to openFDA in this run."),
                markup=False, highlight=False, soft_wrap=True,
            )
    console.print(HONESTY, markup=False, highlight=False, soft_wrap=True)
    print_warning(console, warning)


def interval(value, low, high) -> str:
    if value is None or pd.isna(value):
        return ""
    if low is None or pd.isna(low):
        return f"{value:.2f}"
    return f"{value:.2f} ({low:.2f}-{high:.2f})"


def print_kratom_names(frame: pd.DataFrame) -> None:
    console = stdout_console()
    console.print("terms: every product name of the fetched reports and how it was judged.", markup=False, highlight=False, soft_wrap=True)
    print_frame(frame, console)
    counts = frame.groupby("judged")["product_name"].count().to_dict() if not frame.empty else {}
    console.print(
        "Counts: reports (latest version) naming the product name, once per report. "
        + ", ".join(f"{n:,} names {judged}" for judged, n in counts.items())
        + ". A name is kratom when a search term matches it (matched_term, in matched_field); an exclude term keeps look-alikes out.",
        markup=False, highlight=False, soft_wrap=True,
    )
