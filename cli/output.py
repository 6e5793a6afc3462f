"""Printing tables for people (rich) on stdout."""

from __future__ import annotations

import pandas as pd


def print_status(frame: pd.DataFrame, db) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if frame.empty:
        console.print(f"The database {db} holds no fetched data yet; run `kratom-ae fetch`.", markup=False)
        return
    table = Table(title=f"kratom-ae database {db}", title_justify="left")
    for column, label in [
        ("source", "source"),
        ("reports", "reports held"),
        ("kratom_reports", "kratom reports"),
        ("first_received", "first received"),
        ("last_received", "last received"),
        ("fetched_at", "fetched (UTC)"),
        ("openfda_last_updated", "openFDA last_updated"),
        ("queries", "queries"),
    ]:
        table.add_column(label, justify="right" if column in ("reports", "kratom_reports", "queries") else "left")
    for row in frame.itertuples(index=False):
        table.add_row(
            f"{row.source} ({row.endpoint})",
            f"{row.reports:,}",
            f"{row.kratom_reports:,}",
            fmt(row.first_received),
            fmt(row.last_received),
            fmt(row.fetched_at)[:19],
            fmt(row.openfda_last_updated),
            str(row.queries),
        )
    console.print(table)
    for row in frame.itertuples(index=False):
        console.print(f"{row.source}: {row.base_url}/{row.endpoint}.json, terms: {row.terms}", markup=False, highlight=False)
    console.print(
        "A report is counted once (latest version); a kratom report has at least one product matched as kratom. "
        "Reports do not show that kratom caused the reaction.",
        markup=False,
        highlight=False,
    )


def fmt(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S" if getattr(value, "hour", 0) or getattr(value, "minute", 0) else "%Y-%m-%d")
    return str(value)
