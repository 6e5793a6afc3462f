"""Tables for people: at 80 columns or wider no word or number is ever split across lines,
counts have thousands separators and years none, and the number of rows is printed."""

import csv
import io
import re
import shutil

import pytest
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from kratom_ae.cli import output as cli_output
from kratom_ae.cli.main import app
from kratom_ae.queries.export import SIGNALS_LEFT_OUT
from test_meddra import FIXTURE
from vcr_setup import make_vcr

runner = CliRunner()
WIDTHS = [80, 100, 120]
TABLES = ["summary", "reactions", "skin", "trend", "demographics", "outcomes", "drugs", "reactions_by_soc"]


@pytest.fixture(scope="module")
def meddra_db(fetched_db, tmp_path_factory):
    db = tmp_path_factory.mktemp("output") / "kratom.duckdb"
    shutil.copy(fetched_db, db)
    assert runner.invoke(app, ["meddra", "load", str(FIXTURE), "--db", str(db)]).exit_code == 0
    return db


class Recording(Console):
    """A terminal that also keeps every table printed on it, to be read cell by cell."""

    def __init__(self, **options):
        super().__init__(**options)
        self.tables: list[Table] = []

    def print(self, *objects, **options):
        self.tables += [o for o in objects if isinstance(o, Table)]
        super().print(*objects, **options)


def rendered(monkeypatch, width, *args, cassette=None):
    """What a terminal `width` columns wide shows for the command."""
    return printed(monkeypatch, width, *args, cassette=cassette)[0]


def printed(monkeypatch, width, *args, cassette=None) -> tuple[str, list[Table]]:
    """What a terminal `width` columns wide shows for the command, and the tables in it."""
    out = io.StringIO()
    console = Recording(file=out, width=width, force_terminal=True, color_system=None)
    monkeypatch.setattr(cli_output, "stdout_console", lambda: console)
    monkeypatch.setattr("kratom_ae.ingest.openfda.Pacer.wait", lambda self: None)
    if cassette:
        with make_vcr("none").use_cassette(f"{cassette}.json", allow_playback_repeats=True):
            result = runner.invoke(app, list(map(str, args)))
    else:
        result = runner.invoke(app, list(map(str, args)))
    assert result.exit_code == 0, result.output
    return out.getvalue(), console.tables


def csv_rows(*args, cassette=None):
    if cassette:
        with make_vcr("none").use_cassette(f"{cassette}.json", allow_playback_repeats=True):
            result = runner.invoke(app, [*map(str, args), "--format", "csv"])
    else:
        result = runner.invoke(app, [*map(str, args), "--format", "csv"])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def shown(column: str, value: str) -> str:
    """How a CSV value reads in the terminal table: counts with separators, years without,
    booleans (true and false in CSV) as Python writes them."""
    if re.fullmatch(r"-?\d+", value):
        return value if column.endswith("year") else f"{int(value):,}"
    return {"true": "True", "false": "False"}.get(value, value)


def assert_whole(text: str, width: int, tokens: set[str]) -> None:
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    words = {w for line in lines for w in line.split()}
    broken = sorted(t for t in tokens if t not in words)
    assert not broken, f"split or cut at {width} columns: {broken[:10]}\n{text}"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("table", TABLES)
def test_no_word_or_number_is_split(meddra_db, monkeypatch, table, width):
    args = ["query", "reactions", "--by", "soc"] if table == "reactions_by_soc" else ["query", table]
    rows = csv_rows(*args, "--db", meddra_db)
    text = rendered(monkeypatch, width, *args, "--db", meddra_db)
    tokens = {t for row in rows for column, value in row.items() for t in shown(column, value).split()}
    assert_whole(text, width, tokens)
    assert f"({len(rows):,} rows)" in text


@pytest.fixture(scope="module")
def signals_db(fetched_db, tmp_path_factory):
    db = tmp_path_factory.mktemp("signals") / "kratom.duckdb"
    shutil.copy(fetched_db, db)
    return db


@pytest.mark.parametrize("width", WIDTHS)
def test_no_number_of_signals_is_split(signals_db, monkeypatch, width):
    rows = csv_rows("signals", "--db", signals_db, cassette="synthetic_signals_background")
    text = rendered(monkeypatch, width, "signals", "--db", signals_db, cassette="synthetic_signals_background")
    tokens = set()
    for row in rows:
        tokens |= set(row["term"].split()) | {f"{int(row[c]):,}" for c in "abcd"}
        if row["prr975"]:
            tokens |= {f"{float(row['prr']):.2f}", f"({float(row['prr025']):.2f}-{float(row['prr975']):.2f})"}
        if row["ror975"]:
            tokens |= {f"{float(row['ror']):.2f}", f"({float(row['ror025']):.2f}-{float(row['ror975']):.2f})"}
    assert_whole(text, width, tokens)
    assert f"({len(rows):,} rows)" in text


@pytest.mark.parametrize("width", [80, 120])
def test_no_value_of_your_own_query_is_split(fetched_db, monkeypatch, width):
    statement = "SELECT source, report_id, received_date, outcomes, age_years, sex, reporter_country FROM reports ORDER BY report_key LIMIT 30"
    rows = csv_rows("sql", statement, "--db", fetched_db)
    text = rendered(monkeypatch, width, "sql", statement, "--db", fetched_db)
    tokens = {t for row in rows for value in row.values() for t in value.split()} | {"reporter_country", "received_date"}
    assert_whole(text, width, tokens)


def test_a_word_wider_than_the_terminal_is_cut_with_an_ellipsis(fetched_db, monkeypatch):
    text = rendered(monkeypatch, 40, "sql", f"SELECT 12345 AS n, '{'X' * 60}' AS long_word", "--db", fetched_db)
    assert max(len(line) for line in text.splitlines()) <= 40
    assert "12345" in text.split() and "…" in text


def test_years_have_no_separator_and_counts_have_one(fetched_db, monkeypatch):
    trend = rendered(monkeypatch, 120, "query", "trend", "--db", fetched_db)
    years = {line.split()[0] for line in trend.splitlines() if re.match(r"\s+\d", line)}
    assert years and all(re.fullmatch(r"20\d\d", y) for y in years), years
    summary = rendered(monkeypatch, 120, "query", "summary", "--db", fetched_db)
    rows = csv_rows("query", "summary", "--db", fetched_db)
    total = int(next(r["reports"] for r in rows if r["measure"] == "kratom reports"))
    assert total >= 1000
    assert re.search(rf"kratom reports\s+{total:,}\s", summary), summary


# ---- the views for your own queries, from plain DuckDB --------------------------------------

def test_scope_views_exist_in_plain_duckdb(fetched_db):
    """scope_reports, scope_reactions and scope_total are in the file itself (no session
    variable needed) and hold what `kratom-ae sql` shows: the kratom reports, no filter."""
    import duckdb

    from kratom_ae.ingest import store
    from kratom_ae.queries.library import Filters, prepare_scope

    # One process may not hold two connections to a file with different settings: ours first.
    ours = store.connect(fetched_db, read_only=True)
    prepare_scope(ours, Filters())
    want = {view: ours.execute(f"SELECT * FROM temp.{view} ORDER BY ALL").fetchall() for view in ("scope_reports", "scope_reactions", "scope_total")}
    ours.close()
    plain = duckdb.connect(str(fetched_db), read_only=True)
    try:
        for view, rows in want.items():
            assert plain.execute(f"SELECT * FROM {view} ORDER BY ALL").fetchall() == rows, view
        kratom = plain.execute("SELECT count(*) FROM reports WHERE is_kratom_report").fetchone()[0]
        assert plain.execute("SELECT reports FROM scope_total").fetchone()[0] == kratom > 0
        assert plain.execute("SELECT count(*) FROM scope_reactions JOIN scope_reports USING (report_key)").fetchone()[0] > 0
    finally:
        plain.close()


def test_filters_still_apply_to_your_own_tables(fetched_db, tmp_path):
    """Inside kratom-ae the filtered scope of the same name takes the file's place."""
    (tmp_path / "mine.sql").write_text("-- name: mine\n-- parameters: source\nSELECT count(*) AS reports FROM scope_reports;\n")
    counts = {}
    for source in ("caers", "faers"):
        rows = csv_rows("query", "mine", "--db", fetched_db, "--queries-dir", tmp_path, "--source", source)
        counts[source] = int(rows[0]["reports"])
    everything = int(csv_rows("sql", "SELECT count(*) AS reports FROM scope_reports", "--db", fetched_db)[0]["reports"])
    assert 0 < counts["caers"] < counts["faers"] and counts["caers"] + counts["faers"] == everything


# ---- export into a folder holding an earlier export -----------------------------------------

def test_export_replaces_the_earlier_exports_tables(fetched_db, tmp_path):
    import json

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "mine.sql").write_text("-- name: mine\nSELECT count(*) AS reports FROM scope_reports;\n")
    out = tmp_path / "results"
    assert runner.invoke(app, ["export", str(out), "--db", str(fetched_db), "--queries-dir", str(mine)]).exit_code == 0
    assert (out / "mine.csv").exists()
    (out / "notes.csv").write_text("my own notes\n")
    result = runner.invoke(app, ["export", str(out), "--db", str(fetched_db)])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"Removed {out / 'mine.csv'}, which the earlier export there wrote and this one does not.\n{SIGNALS_LEFT_OUT}\n"
    listed = set(json.loads((out / "provenance.json").read_text())["tables"])
    assert {p.stem for p in out.glob("*.csv")} == listed | {"notes"}
    assert (out / "notes.csv").read_text() == "my own notes\n"


def test_export_removes_nothing_outside_its_folder(fetched_db, tmp_path):
    import json

    out = tmp_path / "results"
    (out / "sub").mkdir(parents=True)
    outside, inside = tmp_path / "outside.csv", out / "sub" / "x.csv"
    outside.write_text("keep\n")
    inside.write_text("keep\n")
    (out / "provenance.json").write_text(json.dumps({"tool": "kratom-ae", "tables": {"../outside": {}, "sub/x": {}, "": {}}}))
    result = runner.invoke(app, ["export", str(out), "--db", str(fetched_db)])
    assert result.exit_code == 0 and result.stderr == f"{SIGNALS_LEFT_OUT}\n"
    assert outside.read_text() == inside.read_text() == "keep\n"


# ---- --top and the row of terms MedDRA does not know ----------------------------------------

def test_top_keeps_the_not_found_row(meddra_db):
    every = csv_rows("query", "reactions", "--by", "soc", "--db", meddra_db)
    assert every[-1]["soc_name"] == "(not found in loaded MedDRA)" and len(every) > 2
    top = csv_rows("query", "reactions", "--by", "soc", "--top", "1", "--db", meddra_db)
    assert top == [every[0], every[-1]]


# ---- signals --counts -----------------------------------------------------------------------

@pytest.fixture
def counts_file(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("term,a,b,c,d\nHEPATOTOXICITY,20,180,1000,98800\nNEVER ELSEWHERE,5,195,0,99800\nRARE,3,197,40000,59800\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("extra,options", [(["--source", "faers"], "--source cannot apply; leave it out"), (["--role", "suspect", "--refresh"], "--role and --refresh cannot apply; leave them out")])
def test_counts_refuses_options_that_cannot_apply(counts_file, extra, options):
    result = runner.invoke(app, ["signals", "--counts", str(counts_file), *extra])
    assert result.exit_code == 1
    assert result.stderr == f"Error: --counts takes its 2x2 tables from your file as they are, so {options}.\n"


def test_counts_refuses_a_term_given_twice(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("term,a,b,c,d\nNAUSEA,20,180,1000,98800\nRASH,1,2,3,4\n nausea ,5,195,7,99800\n", encoding="utf-8")
    result = runner.invoke(app, ["signals", "--counts", str(path)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {path}, lines 2 and 4: the term 'nausea' is there twice; give each term one 2x2 table.\n"


@pytest.mark.parametrize("sort,first", [("prr", "NEVER ELSEWHERE"), ("ror", "NEVER ELSEWHERE"), ("reports", "HEPATOTOXICITY")])
def test_infinite_prr_sorts_first(counts_file, sort, first):
    """c = 0: no other report names the term, PRR and ROR are infinite (left empty): the
    strongest disproportion, so first, not last."""
    rows = csv_rows("signals", "--counts", counts_file, "--sort", sort)
    assert rows[0]["term"] == first
    assert [r["term"] for r in rows] == ([first, "HEPATOTOXICITY", "RARE"] if sort != "reports" else ["HEPATOTOXICITY", "NEVER ELSEWHERE", "RARE"])


def test_counts_do_not_claim_what_kratom_ae_did_not_count(counts_file, tmp_path, monkeypatch):
    import json

    text = rendered(monkeypatch, 200, "signals", "--counts", counts_file, "--csv", tmp_path / "s.csv")
    assert "latest version" not in text and "kratom-ae did not count them" in text
    caution = json.loads((tmp_path / "s.csv.provenance.json").read_text())["signals"]["caution"]
    assert "latest version" not in caution and "kratom-ae did not count them" in caution


# ---- meddra load --encoding -----------------------------------------------------------------

def test_encoding_duckdb_cannot_read(fetched_db, tmp_path):
    db = tmp_path / "m.duckdb"
    shutil.copy(fetched_db, db)
    result = runner.invoke(app, ["meddra", "load", str(FIXTURE), "--db", str(db), "--encoding", "cp1252"])
    assert result.exit_code == 1
    assert result.stderr == "Error: DuckDB cannot read files in the encoding 'cp1252'; it reads utf-16, latin-1, utf-8 (English MedDRA releases are latin-1).\n"


def test_release_not_in_the_encoding_given(fetched_db, tmp_path):
    db = tmp_path / "m.duckdb"
    shutil.copy(fetched_db, db)
    result = runner.invoke(app, ["meddra", "load", str(FIXTURE), "--db", str(db), "--encoding", "utf-8"])
    assert result.exit_code == 1
    assert result.stderr == f"Error: Cannot read the MedDRA release in {FIXTURE}: pt.asc line 17 is not utf-8 text (English MedDRA releases are latin-1: --encoding latin-1).\n"


def test_a_column_wider_than_the_terminal_is_cut_beside_the_key(fetched_db, monkeypatch):
    """A column too wide even beside the key still shares a table with it (the key is never
    left out): its word is cut to the room left; the columns after it are still fitted to
    the width (and no number is cut)."""
    statement = f"SELECT 'k' AS key, 0 AS n0, '{'W' * 100}' AS wide, 11111111 AS n1, 22222222 AS n2, 33333333 AS n3, 44444444 AS n4, 55555555 AS n5"
    text, tables = printed(monkeypatch, 40, "sql", statement, "--db", fetched_db)
    assert max(len(line) for line in text.splitlines()) <= 40
    words = text.split()
    assert all(str(n) * 8 in words for n in range(1, 6))
    # 40 less the key's 3 and 5 of spaces between and around: cut once, not again for n1.
    assert "W" * 31 + "…" in words
    assert len(tables) == 4 and all(str(t.columns[0].header) == "key" and [str(c) for c in t.columns[0].cells] == ["k"] for t in tables)


def test_a_table_whose_columns_all_have_one_value(fetched_db, tmp_path, monkeypatch):
    (tmp_path / "same.sql").write_text("-- name: same\nSELECT 'a' AS letter FROM range(3);\n")
    text = rendered(monkeypatch, 80, "query", "same", "--db", fetched_db, "--queries-dir", tmp_path)
    assert "letter: a (every row)" in text and "(3 rows)" in text


def test_a_column_empty_in_every_row_says_so(fetched_db, tmp_path, monkeypatch):
    """Not "note:  (every row)", which reads as a value lost."""
    (tmp_path / "empty.sql").write_text("-- name: empty\nSELECT range AS n, '' AS note, NULL::VARCHAR AS missing FROM range(3);\n")
    text = rendered(monkeypatch, 80, "query", "empty", "--db", fetched_db, "--queries-dir", tmp_path)
    assert "note: empty in every row" in text and "missing: empty in every row" in text and "(every row)" not in text


def test_dates_print_as_dates_and_times_keep_their_time(fetched_db, tmp_path, monkeypatch):
    """DuckDB's DATE reaches pandas as a timestamp at midnight; a column with a time of day
    keeps the time in every row, midnight too, so that its values read alike."""
    (tmp_path / "dates.sql").write_text(
        "-- name: dates\n"
        "SELECT n, day, midnight, timed, DATE '2020-01-01' AS same_day FROM (VALUES\n"
        "    (1, DATE '2022-07-09', TIMESTAMP '2022-07-09 00:00:00', TIMESTAMP '2022-07-09 13:45:00'),\n"
        "    (2, NULL, TIMESTAMP '2023-01-02 00:00:00', TIMESTAMP '2023-01-02 00:00:00'),\n"
        "    (3, DATE '2024-02-29', NULL, NULL)) AS t(n, day, midnight, timed) ORDER BY n;\n"
    )
    text, tables = printed(monkeypatch, 80, "query", "dates", "--db", fetched_db, "--queries-dir", tmp_path)
    columns = {str(c.header): [str(v) for v in c.cells] for t in tables for c in t.columns}
    assert columns == {
        "n": ["1", "2", "3"],
        "day": ["2022-07-09", "", "2024-02-29"],
        "midnight": ["2022-07-09", "2023-01-02", ""],
        "timed": ["2022-07-09 13:45:00", "2023-01-02 00:00:00", ""],
    }
    assert "same_day: 2020-01-01 (every row)" in text


def test_the_listings_dates_are_dates(fetched_db, monkeypatch):
    rows = csv_rows("cases", "--pigmentation", "--db", fetched_db)
    text, tables = printed(monkeypatch, 80, "cases", "--pigmentation", "--db", fetched_db)
    columns = {str(c.header): [str(v) for v in c.cells] for t in tables for c in t.columns}
    assert columns["received date"] == [r["received_date"] for r in rows] and rows[0]["received_date"] == "2022-07-09"
    assert columns["event date"] == [r["event_date"] for r in rows]
    assert "00:00:00" not in text
