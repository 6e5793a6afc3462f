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


def fmt(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S" if getattr(value, "hour", 0) or getattr(value, "minute", 0) else "%Y-%m-%d")
    return str(value)
