"""Printing tables for people (rich) on stdout."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from rich.cells import cell_len

from kratom_ae.cli.terminal import cell_text, printable


def print_status(frame: pd.DataFrame, db, synthetic: list[str] = ()) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if frame.empty:
        console.print(f"The database {printable(db)} holds no fetched data yet; run `kratom-ae fetch`.", markup=False, soft_wrap=not console.is_terminal)
        return
    from kratom_ae.ingest.store import synthetic_warning

    console.print(f"kratom-ae database {printable(db)}", markup=False, highlight=False)
    print_warning(console, synthetic_warning(list(synthetic)))
    for row in frame.itertuples(index=False):
        table = Table(show_header=False, title=cell_text(f"{row.source} (openFDA {row.endpoint})"), title_justify="left")
        table.add_column("what")
        table.add_column("value")
        if row.from_bulk:  # kratom-ae bulk load: partitions read, not searches sent
            how = [
                ("records read", f"{row.records_read:,} in {row.queries:,} bulk partition{'' if row.queries == 1 else 's'}, {row.records_received:,} kept for the matcher"),
                ("bulk files", f"export {row.export_date} of {row.base_url.rsplit('/', 2)[0]}/"),
            ]
        else:
            how = [("records received", f"{row.records_received:,} from {row.queries} queries")]
        rows = [
            ("reports held", f"{row.reports:,}"),
            ("kratom reports", f"{row.kratom_reports:,}"),
            ("received dates", f"{fmt(row.first_received)} to {fmt(row.last_received)}"),
            ("fetched (UTC)" if not row.from_bulk else "loaded (UTC)", fmt(row.fetched_at)[:19]),
            ("openFDA last_updated", fmt(row.openfda_last_updated)),
            *how,
            ("malformed records", malformed(row)),
        ]
        if not row.from_bulk:
            rows += [("server", f"{row.base_url}/{row.endpoint}.json"), ("search terms", row.terms)]
        for label, value in rows + ([("data", "SYNTHETIC: not from openFDA")] if row.source in synthetic else []):
            table.add_row(label, cell_text(value))
        console.print(table)
    console.print(
        "A report is counted once (latest version); a kratom report has at least one product matched as kratom. "
        "Reports do not show that kratom caused the reaction.",
        markup=False,
        highlight=False,
        soft_wrap=not console.is_terminal,
    )


def malformed(row) -> str:
    """Records that broke a rule for malformed records (docs/schema.md), as the status shows them."""
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
        table.add_row(cell_text(name), cell_text(query.description), ", ".join(query.parameters))
    Console().print(table)


def print_warning(console, warning: str | None) -> None:
    if warning:
        console.print(warning, markup=False, highlight=False, soft_wrap=not console.is_terminal)


def stdout_console():
    """Rich console for stdout. Piped output is not cut to 80 columns (rich's default). On a
    terminal, sentences wrap between words at its width; piped, each stays on one line."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200)


def print_table(frame: pd.DataFrame, query, filters, in_scope: dict | None = None, warning: str | None = None) -> None:
    console = stdout_console()
    wrap = not console.is_terminal
    console.print(printable(f"{query.name}: {query.description}"), markup=False, highlight=False, soft_wrap=wrap)
    print_frame(frame, console, key=query.key)
    if in_scope is not None:
        console.print(denominator_line(in_scope, getattr(filters, "unit", "report")), markup=False, highlight=False, soft_wrap=wrap)
    given = {k: v for k, v in filters.describe().items() if v not in (None, False)}
    console.print(printable(f"Counts: {query.counts}"), markup=False, highlight=False, soft_wrap=wrap)
    if getattr(filters, "unit", "report") == "case":
        console.print("Unit: probable cases, not reports: read \"reports\" in the counts above as cases (duplicate reports of one event counted once; docs/methods.md \"Probable cases\").", markup=False, highlight=False, soft_wrap=wrap)
    # Written as provenance.json writes them (serious_only=true), not as Python's True.
    shown = {k: "true" if v is True else v for k, v in given.items()}
    console.print(f"Filters: {', '.join(f'{k}={v}' for k, v in shown.items())}", markup=False, highlight=False, soft_wrap=wrap)
    print_warning(console, warning)


def denominator_line(in_scope: dict, unit: str = "report") -> str:
    """The number the percentages divide by, per source too (outcomes divides by a source's)."""
    sources = ", ".join(f"{source} {n:,}" for source, n in in_scope.items() if source != "all")
    what = "Probable cases" if unit == "case" else "Kratom reports"
    return f"{what} in scope (the denominator of the percentages): {in_scope['all']:,}" + (f" ({sources})." if len(in_scope) > 2 else ".")


@dataclass
class Column:
    header: str
    cells: list[str]
    numeric: bool

    @cached_property
    def least(self) -> int:
        """The narrowest width that splits no word or number: lines break between words only."""
        words = [w for text in [self.header, *self.cells] for w in text.split()]
        return max((cell_len(w) for w in words), default=1)

    @cached_property
    def natural(self) -> int:
        """The width at which neither cells nor header wrap."""
        return max(self.body, max((cell_len(line) for line in self.header.splitlines()), default=1))

    @cached_property
    def body(self) -> int:
        """The width at which no cell wraps (the header may)."""
        return max([self.least] + [cell_len(line) for text in self.cells for line in text.splitlines()])


def print_frame(frame: pd.DataFrame, console=None, *, key: Sequence[str] = ()) -> None:
    """A table of the bundled tables' kind: headers with spaces for underscores (they wrap
    there), counts with thousands separators, dates as dates, a column with one value in every
    row shown once under the table (CSV keeps every column), and the number of rows. The key
    columns (the table's `-- key:`, else its first column) come first, and every part of a
    table split to fit the terminal repeats them, so that each row can be told apart there."""
    console = console or stdout_console()
    if frame.empty:
        console.print("(no rows)", markup=False)
        return
    constant = [c for c in frame.columns if len(frame) > 1 and frame[c].astype(str).nunique(dropna=False) == 1 and not pd.api.types.is_numeric_dtype(frame[c])]
    shown = [c for c in frame.columns if c not in constant]
    # A key column with one value tells no row apart: it is under the table with the others.
    leading = [c for c in key if c in shown] if key else shown[:1]
    shown = leading + [c for c in shown if c not in leading]
    columns = [frame_column(frame[c]) for c in shown]
    print_columns(columns, console, keys=len(leading))
    for column in constant:
        value = cells(frame[column])[0]
        said = f"{column}: {value} (every row)" if value.strip() else f"{column}: empty in every row"
        console.print(printable(said), markup=False, highlight=False, soft_wrap=not console.is_terminal)
    print_row_count(len(frame), console)


def frame_column(series: pd.Series) -> Column:
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    return Column(printable(str(series.name).replace("_", " ")), [printable(text) for text in cells(series)], numeric)


def cells(series: pd.Series) -> list[str]:
    """A column's values for people. DuckDB's DATE arrives in pandas as a timestamp at
    midnight: a column whose every time is midnight shows dates, any other keeps its times
    (all of them, so that the values of one column read alike)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        present = series.dropna()
        if (present == present.dt.normalize()).all():
            return series.dt.strftime("%Y-%m-%d").fillna("").tolist()
        return series.astype(str).where(series.notna(), "").tolist()
    year = str(series.name) == "year" or str(series.name).endswith("_year")
    return [cell(v, year=year) for v in series]


def print_result(result, console=None) -> None:
    """A `kratom-ae sql` result: every column, named as the query wrote it, values as DuckDB
    writes them, and the number of rows. The columns --key names (else the first) lead every
    part of a table split to fit the terminal."""
    console = console or stdout_console()
    if not result.names:
        console.print("(no result)", markup=False)
        return
    columns = [Column(printable(name), [printable(plain(row[i])) for row in result.rows], numeric) for i, (name, numeric) in enumerate(zip(result.names, result.numeric))]
    leading = [result.names.index(name) for name in result.key]  # a name used twice: its first column
    order = leading + [i for i in range(len(columns)) if i not in leading]
    print_columns([columns[i] for i in order], console, keys=max(len(leading), 1))
    print_row_count(len(result.rows), console)


def print_row_count(rows: int, console) -> None:
    console.print(f"({rows:,} row{'' if rows == 1 else 's'})", markup=False, highlight=False)


def print_columns(columns: list[Column], console, keys: int) -> None:
    """Print the columns within the console's width without ever splitting a word or a
    number across lines: cells wrap between words, and columns that do not fit beside the
    others go to a further table below, which repeats the first `keys` columns so that
    each row can still be recognised. Only when a column cannot fit beside the keys even
    so (a word wider than the console, or keys that fill it) are the longest words cut
    short, with an ellipsis: the keys are never left out."""
    from rich import box
    from rich.table import Table

    if not columns:  # every column had one value: they are all under the table
        return
    for block in column_blocks(columns, keys, console.width):
        widths = block_widths([columns[i] for i in block], console.width)
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for i, width in zip(block, widths):
            table.add_column(cell_text(columns[i].header), justify="right" if columns[i].numeric else "left", width=width, overflow="ellipsis")
        for row in zip(*(columns[i].cells for i in block)):
            table.add_row(*(cell_text(text) for text in row))  # Text: no [brackets] in the data read as markup
        console.print(table)


def table_width(widths: list[int]) -> int:
    """Width of a SIMPLE_HEAD table without outer padding: a space at each edge, one between
    columns, one of padding on each inner side."""
    return sum(widths) + 3 * len(widths) - 1


def column_blocks(columns: list[Column], keys: int, width: int) -> list[list[int]]:
    """Column indices per table: greedily as many as fit at their least width, every table
    beginning with the first `keys` columns."""
    key_indices = list(range(keys))
    blocks, current = [], list(key_indices)
    for i in range(keys, len(columns)):
        candidate = current + [i]
        holds_more_than_keys = any(j >= keys for j in current)
        if holds_more_than_keys and table_width([columns[j].least for j in candidate]) > width:
            blocks.append(current)
            candidate = key_indices + [i]  # if too wide even so, block_widths cuts words
        current = candidate
    blocks.append(current)
    return blocks


def block_widths(columns: list[Column], width: int) -> list[int]:
    """Each column's width: its least, then what is left shared out towards the natural
    widths. If even the least widths do not fit (one word wider than the console), text
    columns give way and that word is cut with an ellipsis; numbers never are."""
    widths = [c.least for c in columns]
    room = width - table_width(widths)
    if room < 0:
        text = [i for i, c in enumerate(columns) if not c.numeric]
        for i in sorted(text, key=lambda i: -widths[i]):
            cut = min(-room, widths[i] - 1)
            widths[i] -= cut
            room += cut
            if room >= 0:
                break
        return widths
    # Cells first (a wrapped cell makes every such row taller), then headers.
    for goal in ([c.body for c in columns], [c.natural for c in columns]):
        widths, room = share_out(widths, goal, room)
    return widths


def share_out(widths: list[int], goal: list[int], room: int) -> tuple[list[int], int]:
    """Widen columns towards their goal widths with `room` spare characters, in proportion to
    what each still lacks; returns the widths and the room left."""
    wants = [max(0, g - w) for w, g in zip(widths, goal)]
    if sum(wants) <= room:
        return [w + want for w, want in zip(widths, wants)], room - sum(wants)
    shares = [room * want // sum(wants) for want in wants]
    for i in sorted(range(len(widths)), key=lambda i: -(wants[i] - shares[i]))[: room - sum(shares)]:
        shares[i] += 1
    return [w + share for w, share in zip(widths, shares)], 0


def cell(value, year: bool = False) -> str:
    """A value of a bundled table for people: counts with thousands separators, years without."""
    if isinstance(value, np.ndarray):  # a list column of one of your own tables
        value = value.tolist()
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value)) if year else f"{int(value):,}"
    if isinstance(value, float):
        if year and value.is_integer():
            return str(int(value))
        return f"{int(value):,}" if value.is_integer() and abs(value) >= 10000 else f"{value:,}"
    return str(value)


def plain(value) -> str:
    """A value of a researcher's own query, as DuckDB would write it (no separators)."""
    return "" if value is None else str(value)


def print_signals(frame: pd.DataFrame, filters, min_reports: int, info, requests: int, warning: str | None = None, comparator=None, outside=None, ebgm_priors=None) -> None:
    from kratom_ae.queries import signals as signal_lib
    from kratom_ae.queries.signals import for_comparator, honesty, table_key

    console = stdout_console()
    if frame.empty:
        console.print("(no reaction terms in scope)", markup=False)
        return
    shown = frame.copy()
    infinite_prr, infinite_ror = signal_lib.infinite_prr(frame), signal_lib.infinite_ror(frame)
    shown["prr (95% CI)"] = [corrected(r.prr, r.prr025, r.prr975, r.prr_ha, r.prr_ha025, r.prr_ha975, inf) for r, inf in zip(frame.itertuples(), infinite_prr)]
    shown["ror (95% CI)"] = [corrected(r.ror, r.ror025, r.ror975, r.ror_ha, r.ror_ha025, r.ror_ha975, inf) for r, inf in zip(frame.itertuples(), infinite_ror)]
    shown["ic025"] = frame["ic025"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    shown["chi2"] = frame["chi2_yates"].map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    shown["fisher q"] = frame["fisher_q"].map(p_text)
    adjusted = "mh_prr" in frame.columns
    scored = "ebgm" in frame.columns  # --background local; EB95 is in CSV and JSON
    if scored:
        shown["ebgm"] = frame["ebgm"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
        shown["eb05"] = frame["eb05"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    if adjusted:
        shown["MH prr (95% CI)"] = [corrected(r.mh_prr, r.mh_prr025, r.mh_prr975, None, None, None, "MH PRR infinite" in (r.mh_note or "")) for r in frame.itertuples()]
        shown["MH ror (95% CI)"] = [corrected(r.mh_ror, r.mh_ror025, r.mh_ror975, None, None, None, "MH ROR infinite" in (r.mh_note or "")) for r in frame.itertuples()]
    columns = (["source"] if "source" in frame.columns else []) + ["term", "a", "b", "c", "d", "prr (95% CI)", *(["MH prr (95% CI)"] if adjusted else []),
                                                                   "chi2", "ror (95% CI)", *(["MH ror (95% CI)"] if adjusted else []), "ic025", "fisher q", *(["ebgm", "eb05"] if scored else []), "flags", "note"]
    cases = filters is not None and filters.unit == "case"
    # The local background counted in probable cases (signals --background local --unit case).
    local_cases = "cd_unit" in frame.columns and bool((frame["cd_unit"] == "probable cases").any())
    if filters and local_cases:
        title = "signals: reactions reported disproportionately often with kratom (2x2 tables of probable cases)."
        counted = (
            "Counts: a = probable cases (kratom) naming the term, b = probable cases not naming it; c = other probable cases of the local background naming it, "
            "d = other probable cases of the local background not naming it (every case of the local background holding a kratom report in scope taken out; "
            f"kratom in role: {filters.role})."
        )
    elif filters and cases:
        title = "signals: reactions reported disproportionately often with kratom (2x2 tables: a and b count probable cases, c and d count reports)."
        counted = (
            "Counts: a = probable cases (kratom) naming the term, b = probable cases not naming it; c = other reports naming it, d = other reports not naming it "
            f"(openFDA's counts of reports, with every kratom report in scope taken out; kratom in role: {filters.role})."
        )
    elif filters:  # counted by kratom-ae
        title = "signals: reactions reported disproportionately often with kratom (2x2 tables of reports)."
        counted = f"Counts: reports; a = kratom reports naming the term, b = kratom reports not naming it, c = other reports naming it, d = other reports not naming it (kratom in role: {filters.role})."
    else:  # --counts: the user's own 2x2 tables
        title = "signals: disproportionality of the 2x2 tables in your counts file."
        counted = "Counts: a, b, c and d as your counts file gives them (a = the product's reports naming the term, b = its reports not naming it, c = other reports naming it, d = other reports not naming it)."
    if comparator is not None:
        title = title.replace("often with kratom", f"often with kratom against the comparator {comparator.names}")
        counted = for_comparator(counted.replace("c = other reports naming it, d = other reports not naming it", "c = comparator reports naming it, d = comparator reports not naming it")
                                 .replace("c = other probable cases of the local background naming it", "c = comparator probable cases of the local background naming it")
                                 .replace("d = other probable cases of the local background not naming it", "d = comparator probable cases of the local background not naming it"), comparator)
    console.print(printable(title), markup=False, highlight=False, soft_wrap=not console.is_terminal)
    print_frame(shown[columns], console, key=table_key(counted_by_kratom_ae=filters is not None))
    if filters is not None and "source" in frame.columns:
        firsts = frame.drop_duplicates("source").sort_values("source")
        if local_cases:
            console.print(
                "Probable cases in scope (a + b): " + ", ".join(f"{r.source} {int(r.a) + int(r.b):,} (of {int(r.kratom_reports_in_scope):,} kratom reports)" for r in firsts.itertuples()) + ".",
                markup=False, highlight=False, soft_wrap=not console.is_terminal,
            )
            console.print(
                "Unit: a and b count probable cases of the database, c and d probable cases of the local background (kratom-ae bulk background --cases; "
                "docs/methods.md \"Probable cases\"); taken out of c + d: " + ", ".join(f"{r.source} {int(r.background_kratom_units):,} cases holding a kratom report in scope" for r in firsts.itertuples()) + ".",
                markup=False, highlight=False, soft_wrap=not console.is_terminal,
            )
        elif cases:
            console.print(
                "Probable cases in scope (a + b): " + ", ".join(f"{r.source} {int(r.a) + int(r.b):,} (of {int(r.kratom_reports_in_scope):,} kratom reports)" for r in firsts.itertuples()) + ".",
                markup=False, highlight=False, soft_wrap=not console.is_terminal,
            )
            console.print(
                for_comparator("Unit: a and b count probable cases (duplicate reports grouped, docs/methods.md \"Probable cases\"); c and d count reports: the background with every kratom report in scope taken out, "
                               "so c + d is the same as with --unit report.", comparator),
                markup=False, highlight=False, soft_wrap=not console.is_terminal,
            )
        else:
            console.print(f"Kratom reports in scope (a + b): {', '.join(f'{r.source} {int(r.a) + int(r.b):,}' for r in firsts.itertuples())}.", markup=False, highlight=False, soft_wrap=not console.is_terminal)
    console.print(counted, markup=False, highlight=False, soft_wrap=not console.is_terminal)
    flags_text = (
        f"Flags: Fisher (one-sided mid-p, Benjamini-Hochberg q <= 0.05 over the {int(frame['fisher_q'].notna().sum()):,} terms of this run, a >= 3; read it first), "
        "Evans (PRR >= 2, chi2 >= 4, a >= 3), ROR (ROR025 > 1, a >= 3), IC (IC025 > 0); "
        f"terms with fewer than {min_reports} reports are listed but not flagged. inf: no other report names the term (c = 0); "
        "HA: Haldane-Anscombe estimate (0.5 added to every cell), which the ROR flag reads when a cell is 0."
    )
    if comparator is not None:
        flags_text = flags_text.replace("inf: no other report names the term (c = 0)", "inf: no comparator report names the term (c = 0)")
    console.print(flags_text, markup=False, highlight=False, soft_wrap=not console.is_terminal)
    # Counted from a bulk export's store (signals --background local), not asked of openFDA.
    local = "background_method" in frame.columns and bool((frame["background_method"] == "local").any())
    if info is not None and comparator is not None and not local:
        removed = {r.source: int(r.kratom_reports_in_background) for r in frame.drop_duplicates("source").itertuples()}
        for row in info.itertuples(index=False):
            console.print(
                printable(f"Comparator {row.source}: {row.total_reports:,} reports in openFDA {row.endpoint} found by the search for {row.comparator_terms} "
                          f"(terms file {comparator.path}; last_updated {'not sent, nothing found' if pd.isna(row.background_last_updated) else row.background_last_updated}, "
                          f"fetched {row.background_fetched_at}); "
                          f"{removed.get(row.source, 0):,} kratom reports in scope also name a comparator drug: they count as kratom reports (a or b), not in c or d; "
                          f"{requests} requests to openFDA in this run."),
                markup=False, highlight=False, soft_wrap=not console.is_terminal,
            )
    elif info is not None:
        firsts = {r.source: r for r in frame.drop_duplicates("source").itertuples()}
        for row in info.itertuples(index=False):
            held = ""
            if local and not local_cases and row.source in firsts:
                # The export holds the kratom reports it was made from, not those received since.
                first = firsts[row.source]
                held = (f"; {int(first.kratom_reports_in_background):,} of the {int(first.kratom_reports_in_scope):,} kratom reports in scope are in it "
                        f"{'(with a comparator ingredient) ' if comparator is not None else ''}and taken out of c + d")
            console.print(
                printable(f"Background {row.source}: {row.total_reports:,} {'probable cases' if local_cases else 'reports'} in openFDA {row.endpoint} (last_updated {row.background_last_updated}, fetched {row.background_fetched_at}){held}; "
                          f"{requests} requests to openFDA in this run."),
                markup=False, highlight=False, soft_wrap=not console.is_terminal,
            )
    for prior in ebgm_priors or []:
        console.print(printable(ebgm_sentence(prior, frame)), markup=False, highlight=False, soft_wrap=not console.is_terminal)
    if outside is not None:
        from kratom_ae.ingest import background

        for row in outside.itertuples(index=False):
            console.print(
                printable(
                    f"Adjusted ({row.source}): Mantel-Haenszel PRR and ROR over {row.strata} strata of sex (male, female) x onset age in years "
                    f"({', '.join(b for b, _, _ in background.AGE_BANDS)}) x report year ({', '.join(p for p, _, _ in background.PERIODS)}), "
                    f"{row.strata_with_kratom_reports} of them holding kratom reports; terms with at least {background.MH_MIN_REPORTS} kratom reports. "
                    f"{row.kratom_reports_outside_strata:,} of the {row.kratom_reports_in_scope:,} kratom reports in scope fall outside every stratum and are left out of "
                    f"the MH estimates (sex not male or female {row.no_sex:,}, onset age not in years within the bands {row.no_age_in_years:,}, no report date in the periods "
                    f"{row.no_report_date:,}; a report may miss several), as are {'the local background' if local else 'openFDA'}'s reports outside the strata ({row.background_reports_in_strata:,} are inside them)."
                ),
                markup=False, highlight=False, soft_wrap=not console.is_terminal,
            )
    console.print(for_comparator(honesty(filters, local_cases), comparator), markup=False, highlight=False, soft_wrap=not console.is_terminal)
    print_warning(console, warning)


def ebgm_sentence(prior: dict, frame: pd.DataFrame) -> str:
    """The footer line of a source's EBGM and EB05: what pair they score and the prior, or why there is none."""
    source = prior["source"]
    if not prior["fitted"]:
        return (f"EBGM, EB05 ({source}): none; no prior could be fitted by maximum likelihood on the {prior['pairs']:,} pairs of the local background's "
                f"drug-by-event table ({prior['why_not'].rstrip('.')}).")
    rows = frame[frame["source"] == source]
    missing = int(rows["ebgm_n"].isna().sum())
    return (f"EBGM, EB05 ({source}): DuMouchel's (1999) gamma-Poisson shrinker of the pair of kratom and the term in the local background's drug-by-event table "
            f"(N = its {'probable cases' if (rows['cd_unit'] == 'probable cases').any() else 'reports'} naming a kratom product, in any role, and the term: not a), the prior fitted by maximum likelihood on all "
            f"{prior['pairs']:,} pairs of that table: alpha1 {prior['alpha1']:.4g}, beta1 {prior['beta1']:.4g}, alpha2 {prior['alpha2']:.4g}, "
            f"beta2 {prior['beta2']:.4g}, P {prior['p']:.4g}"
            + (f"; {missing:,} {'term has' if missing == 1 else 'terms have'} no such pair and no score." if missing else ".")
            + (" The prior is the one an earlier run fitted on this same table, kept beside the local background." if prior.get("kept_prior") else ""))


def corrected(value, low, high, ha, ha_low, ha_high, infinite: bool) -> str:
    """A crude estimate with its CI, or "inf" when it is infinite, with the Haldane-Anscombe
    estimate beside it when a cell is 0."""
    crude = "inf" if infinite else interval(value, low, high)
    if ha is None or pd.isna(ha):
        return crude
    return f"{crude}; HA {interval(ha, ha_low, ha_high)}".lstrip("; ")


def p_text(value) -> str:
    """A p- or q-value: 3 significant digits, and a very small one in powers of ten."""
    if value is None or pd.isna(value):
        return ""
    if value == 0:  # below the smallest double: the point probability underflowed
        return "<1e-300"
    return f"{value:.3g}" if value >= 0.001 else f"{value:.1e}"


def interval(value, low, high) -> str:
    if value is None or pd.isna(value):
        return ""
    if low is None or pd.isna(low):
        return f"{value:.2f}"
    return f"{value:.2f} ({low:.2f}-{high:.2f})"


def print_kratom_names(frame: pd.DataFrame) -> None:
    from kratom_ae.queries.library import internal_key

    console = stdout_console()
    console.print("terms: every product name of the fetched reports and how it was judged.", markup=False, highlight=False, soft_wrap=not console.is_terminal)
    print_frame(frame, console, key=internal_key("kratom_names"))
    counts = frame.groupby("judged")["product_name"].count().to_dict() if not frame.empty else {}
    console.print(
        "Counts: reports (latest version) naming the product name, once per report. "
        + ", ".join(f"{n:,} names {judged}" for judged, n in counts.items())
        + ". A name is kratom when a search term matches it (matched_term, in matched_field); an exclude term keeps look-alikes out.",
        markup=False, highlight=False, soft_wrap=not console.is_terminal,
    )


def print_ingredient_names(frame: pd.DataFrame) -> None:
    from kratom_ae.queries.library import internal_key

    console = stdout_console()
    console.print("ingredients: the product names of the kratom reports and the active ingredients they are counted under.", markup=False, highlight=False, soft_wrap=not console.is_terminal)
    print_frame(frame, console, key=internal_key("ingredient_names"))
    console.print(
        "Counts: kratom reports (latest version) naming the product mapped to this ingredient, once per report. "
        "from_fields says where the ingredient came from, in any of those reports: openFDA's openfda.generic_name, else openfda.substance_name, "
        "else the sender's activesubstancename, else the product's own name (docs/methods.md, Ingredients).",
        markup=False, highlight=False, soft_wrap=not console.is_terminal,
    )
