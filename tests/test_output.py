"""Tables for people: at 80 columns or wider no word or number is ever split across lines,
counts have thousands separators and years none, and the number of rows is printed."""

import csv
import io
import re
import shutil

import pytest
from rich.console import Console
from typer.testing import CliRunner

import cli.output
from cli.main import app
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


def rendered(monkeypatch, width, *args, cassette=None):
    """What a terminal `width` columns wide shows for the command."""
    out = io.StringIO()
    monkeypatch.setattr(cli.output, "stdout_console", lambda: Console(file=out, width=width, force_terminal=True, color_system=None))
    monkeypatch.setattr("ingest.openfda.Pacer.wait", lambda self: None)
    if cassette:
        with make_vcr("none").use_cassette(f"{cassette}.json", allow_playback_repeats=True):
            result = runner.invoke(app, list(map(str, args)))
    else:
        result = runner.invoke(app, list(map(str, args)))
    assert result.exit_code == 0, result.output
    return out.getvalue()


def csv_rows(*args, cassette=None):
    if cassette:
        with make_vcr("none").use_cassette(f"{cassette}.json", allow_playback_repeats=True):
            result = runner.invoke(app, [*map(str, args), "--format", "csv"])
    else:
        result = runner.invoke(app, [*map(str, args), "--format", "csv"])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def shown(column: str, value: str) -> str:
    """How a CSV value reads in the terminal table: counts with separators, years without."""
    if re.fullmatch(r"-?\d+", value):
        return value if column.endswith("year") else f"{int(value):,}"
    return value


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

    from ingest import store
    from queries.library import Filters, prepare_scope

    plain = duckdb.connect(str(fetched_db), read_only=True)
    try:
        ours = store.connect(fetched_db, read_only=True)
        prepare_scope(ours, Filters())
        for view in ("scope_reports", "scope_reactions", "scope_total"):
            want = ours.execute(f"SELECT * FROM temp.{view} ORDER BY ALL").fetchall()
            assert plain.execute(f"SELECT * FROM {view} ORDER BY ALL").fetchall() == want, view
        ours.close()
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
