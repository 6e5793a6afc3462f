"""Every table declares its key (the columns that tell its rows apart) where it is defined, and
every part of a table split to fit the terminal leads with those columns, row for row: no part
can be read only by counting rows. Walked over every command that prints a table."""

import json

import pytest
from typer.testing import CliRunner

from kratom_ae.cli.main import app
from kratom_ae.cli.terminal import printable
from kratom_ae.ingest import store
from kratom_ae.queries import library, signals
from test_output import assert_whole, meddra_db, printed  # noqa: F401 (meddra_db: a fixture)
from test_outputs import commands
from vcr_setup import make_vcr

runner = CliRunner()
WIDTHS = [80, 100, 120]
BACKGROUND = "synthetic_signals_background"
TABLES = sorted(library.discover())
# The listing of every report takes seconds a width: a few months of it have the same columns.
NARROWED = {"cases": ["--since", "2025-06-01"]}
# The commands that print a table for people, each with its key; {COUNTS}: a counts file.
WALK = {
    **{f"query {name}": (["query", name, *NARROWED.get(name, [])], library.find(name).key) for name in TABLES},
    "cases --pigmentation": (["cases", "--pigmentation"], library.find("cases").key),
    "signals": (["signals"], signals.table_key(counted_by_kratom_ae=True)),
    "signals --counts": (["signals", "--counts", "{COUNTS}"], signals.table_key(counted_by_kratom_ae=False)),
    "terms": (["terms"], library.internal_key("kratom_names")),
    "ingredients": (["ingredients"], library.internal_key("ingredient_names")),
    "profile": (["profile", "--hyperpigmentation", "HYPERPIGMENTATION"], library.profile_query().key),
    "sql --key": (["sql", "SELECT received_date, source, report_id, outcomes, age_years, sex, reporter_country FROM reports WHERE report_key % 19 = 0", "--key", "source,report_id"], ("source", "report_id")),
}
# The commands and tables that print no table that could be split, and why.
NO_SPLIT_TABLE = {
    "fetch": "progress and sentences",
    "status": "per source, a table of two columns: what, and its value",
    "query": "without NAME, the list of tables: one rich table that wraps its three columns",
    "export": "the paths it wrote",
    "report": "the paths it wrote",
    "raw": "one JSON record",
    "meddra load": "one sentence",
    "bulk download": "progress and sentences",
    "bulk background": "progress and sentences",
    "bulk load": "progress and sentences",
}


@pytest.fixture(scope="module")
def counts_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("counts") / "counts.csv"
    path.write_text("term,a,b,c,d\nHEPATOTOXICITY WITH A LONG NAME,20,180,1000,98800\nNEVER ELSEWHERE,5,195,0,99800\nRARE,3,197,40000,59800\n", encoding="utf-8")
    return path


def arguments(name, db, counts_file) -> tuple[list[str], str | None]:
    args = [str(counts_file) if a == "{COUNTS}" else a for a in WALK[name][0]]
    uses_background = name == "signals"
    return [*args, "--db", str(db)], BACKGROUND if uses_background else None


def labels(args, key, cassette) -> list[tuple[str, ...]]:
    """Each row's key values as the data holds them (--format json: CSV neutralises formulas)."""
    if cassette:
        with make_vcr("none").use_cassette(f"{cassette}.json", allow_playback_repeats=True):
            result = runner.invoke(app, [*args, "--format", "json"])
    else:
        result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return [tuple("" if row[k] is None else printable(str(row[k])) for k in key) for row in json.loads(result.stdout)]


def cells(table) -> tuple[list[str], list[tuple[str, ...]]]:
    """A printed table's headers and rows, as the terminal shows each cell."""
    headers = [str(column.header) for column in table.columns]
    return headers, list(zip(*([str(cell) for cell in column.cells] for column in table.columns)))


def test_every_command_that_prints_a_table_is_walked():
    walked = {name.split()[0] for name in WALK}
    assert {name for name, _ in commands(app)} == walked | set(NO_SPLIT_TABLE)
    assert {f"query {name}" for name in TABLES} <= set(WALK)


@pytest.mark.parametrize("name,unit", [(name, unit) for name in TABLES for unit in ("report", "case") if unit == "report" or "unit" in library.find(name).parameters])
def test_every_table_declares_a_key_of_its_columns_that_tells_its_rows_apart(meddra_db, name, unit):
    query = library.find(name)
    con = store.connect(meddra_db, read_only=True)
    try:
        filters = library.Filters(unit=unit)
        library.prepare_scope(con, filters)
        frame = library.run(con, query, filters, check=False)
    finally:
        con.close()
    assert query.key and set(query.key) <= set(frame.columns), (query.key, list(frame.columns))
    assert len(frame) > 1 and not frame.duplicated(list(query.key)).any(), frame[frame.duplicated(list(query.key), keep=False)]


@pytest.mark.parametrize("name", ["signals", "signals --counts", "terms", "ingredients", "profile", "sql --key"])
def test_the_keys_of_the_other_tables_tell_their_rows_apart(meddra_db, counts_file, name):
    args, cassette = arguments(name, meddra_db, counts_file)
    key = WALK[name][1]
    rows = labels(args, key, cassette)
    assert len(rows) > 1 and len(set(rows)) == len(rows)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(set(WALK)))
def test_every_part_of_a_split_table_leads_with_the_whole_key(meddra_db, counts_file, monkeypatch, name, width):
    """Row for row, with the values of the data; and no word or number of any cell or header
    is split across lines (or cut)."""
    args, cassette = arguments(name, meddra_db, counts_file)
    key = WALK[name][1]
    want = labels(args, key, cassette)
    assert all(len(set(column)) > 1 for column in zip(*want)), "a key column with one value is shown under the table, not in it"
    text, tables = printed(monkeypatch, width, *args, cassette=cassette)
    headers = [k if name.startswith("sql") else k.replace("_", " ") for k in key]
    for table in tables:
        shown, table_rows = cells(table)
        assert shown[: len(key)] == headers, (width, shown)
        assert [row[: len(key)] for row in table_rows] == want
    words = {w for table in tables for header, table_rows in [cells(table)] for text_ in [*header, *(c for r in table_rows for c in r)] for w in text_.split()}
    assert_whole(text, width, words)


def test_the_tables_of_the_issue_split_at_80_columns(meddra_db, monkeypatch):
    """The tables issue 21 found unreadable at 80 and 120 columns do split there (so that the
    walk above checks parts, not one table), and every part names the row as the issue asks."""
    for width, args, key_headers in (
        (80, ["signals"], ["source", "term"]),
        (120, ["cases", "--pigmentation"], ["source", "report id"]),
        (80, ["query", "skin_outcomes"], ["reaction pt", "outcome"]),
    ):
        _, tables = printed(monkeypatch, width, *args, "--db", meddra_db, cassette=BACKGROUND if args == ["signals"] else None)
        assert len(tables) >= 2 and all(cells(t)[0][:2] == key_headers for t in tables), (args, [cells(t)[0] for t in tables])


def test_a_key_column_with_one_value_is_shown_under_the_table(fetched_db, monkeypatch):
    text, tables = printed(monkeypatch, 80, "cases", "--pigmentation", "--source", "caers", "--db", fetched_db)
    assert len(tables) >= 2 and all(cells(t)[0][0] == "report id" for t in tables)
    assert "source: caers (every row)" in text


def test_a_tables_key_must_be_among_its_columns(fetched_db, tmp_path):
    (tmp_path / "mine.sql").write_text("-- name: mine\n-- key: source, reprot_id\nSELECT source, report_id FROM scope_reports;\n")
    result = runner.invoke(app, ["query", "mine", "--db", str(fetched_db), "--queries-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: The `-- key:` line of {tmp_path / 'mine.sql'} names 'reprot_id', but the result has no such column "
        "(its columns: source, report_id); name the columns that tell its rows apart.\n"
    )


def test_sql_key_must_be_among_its_columns(fetched_db):
    result = runner.invoke(app, ["sql", "SELECT 1 AS a, 2 AS b", "--key", "a, c", "--db", str(fetched_db)])
    assert result.exit_code == 1
    assert result.stderr == "Error: --key names 'c', but the result has no such column (its columns: a, b); name the columns that tell its rows apart.\n"


def test_your_own_tables_key_leads_every_part(fetched_db, tmp_path, monkeypatch):
    """A key declared after other columns is moved to the front; without one, the first column leads."""
    (tmp_path / "mine.sql").write_text(
        "-- name: mine\n-- key: report_id\n"
        "SELECT 'report ' || report_id || ', described at some length' AS what, report_id, 1111111111 AS n1, 2222222222 AS n2, 3333333333 AS n3, 4444444444 AS n4 FROM scope_reports ORDER BY report_key LIMIT 3;\n"
    )
    (tmp_path / "plain.sql").write_text((tmp_path / "mine.sql").read_text().replace("-- name: mine\n-- key: report_id\n", "-- name: plain\n"))
    for name, first in (("mine", "report id"), ("plain", "what")):
        _, tables = printed(monkeypatch, 60, "query", name, "--db", fetched_db, "--queries-dir", tmp_path)
        assert len(tables) >= 2 and all(cells(t)[0][0] == first for t in tables), name
