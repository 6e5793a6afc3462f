"""Exports a data scientist expects (issue 21): `export --format parquet` with the provenance of
the CSV export, the signals table in the export when its background is cached, booleans as
true/false, and the spreadsheet guard that --no-spreadsheet-guard turns off."""

import datetime as dt
import hashlib
import json
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from kratom_ae.cli.main import app
from kratom_ae.queries.export import SIGNALS_LEFT_OUT, csv_text
from vcr_setup import make_vcr

runner = CliRunner()


def export(folder: Path, db: Path, *options: str):
    """`kratom-ae export`, with every request to openFDA failing (export must send none)."""
    with make_vcr("none").use_cassette("empty_never_recorded.json"):
        result = runner.invoke(app, ["export", str(folder), "--db", str(db), *options])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def exports(signals_db, tmp_path_factory):
    """The same database (its signals background cached) exported as Parquet, as CSV with
    the spreadsheet guard (the default) and as CSV without it."""
    base = tmp_path_factory.mktemp("exports")
    export(base / "parquet", signals_db, "--format", "parquet")
    export(base / "csv", signals_db)
    export(base / "plain", signals_db, "--no-spreadsheet-guard")
    return base


def tables(folder: Path, suffix: str) -> list[str]:
    return sorted(p.stem for p in folder.glob(f"*.{suffix}"))


def typed_csv(path: Path, types: dict[str, str]) -> list[tuple]:
    """The rows of a CSV read with the column types of its Parquet twin."""
    con = duckdb.connect()
    return con.execute("SELECT * FROM read_csv($p, header = true, auto_detect = false, columns = $c)", {"p": str(path), "c": types}).fetchall()


def parquet_types(path: Path) -> dict[str, str]:
    return dict(duckdb.connect().execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet($p))", {"p": str(path)}).fetchall())


def blank(rows: list[tuple]) -> list[tuple]:
    """Rows as CSV can tell them: an empty text and a missing value are both an empty cell."""
    return [tuple(None if v == "" else v for v in row) for row in rows]


def plain(value):
    """A value pandas read, as DuckDB's Python client gives it (missing values as None)."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value.item() if hasattr(value, "item") else value


def test_parquet_holds_the_rows_and_values_of_the_csv_export(exports):
    assert tables(exports / "parquet", "parquet") == tables(exports / "plain", "csv") == tables(exports / "csv", "csv")
    assert "signals" in tables(exports / "parquet", "parquet") and "cases" in tables(exports / "parquet", "parquet")
    guarded_cells = 0
    for name in tables(exports / "parquet", "parquet"):
        parquet = exports / "parquet" / f"{name}.parquet"
        types = parquet_types(parquet)
        rows = duckdb.connect().execute("SELECT * FROM read_parquet($p)", {"p": str(parquet)}).fetchall()
        assert blank(rows) == typed_csv(exports / "plain" / f"{name}.csv", types), name
        # The guarded CSV gives the same values back once one leading apostrophe is removed
        # from every text cell that has one (what provenance.json tells a reader to do).
        guarded = typed_csv(exports / "csv" / f"{name}.csv", types)
        unguarded = [tuple(v[1:] if isinstance(v, str) and v.startswith("'") else v for v in row) for row in guarded]
        assert unguarded == blank(rows), name
        guarded_cells += sum(a != b for row, other in zip(guarded, blank(rows)) for a, b in zip(row, other))
        frame = pd.read_parquet(parquet)
        assert list(frame.columns) == list(types)
        assert [tuple(plain(v) for v in row) for row in frame.itertuples(index=False)] == rows, name
    assert guarded_cells > 0  # the fixture's "=HYPERLINK(...)" product


def test_parquet_columns_keep_their_types(exports):
    cases = parquet_types(exports / "parquet" / "cases.parquet")
    assert (cases["report_version"], cases["received_date"], cases["age_years"], cases["case_reports"]) == ("INTEGER", "DATE", "DOUBLE", "BIGINT")
    assert parquet_types(exports / "parquet" / "skin.parquet")["is_pigmentation"] == "BOOLEAN"
    signals = parquet_types(exports / "parquet" / "signals.parquet")
    assert (signals["a"], signals["prr"], signals["signal_evans"], signals["note"]) == ("BIGINT", "DOUBLE", "BOOLEAN", "VARCHAR")
    first = pd.read_parquet(exports / "parquet" / "cases.parquet")["received_date"].dropna().iloc[0]
    assert isinstance(first, dt.date)


def test_parquet_provenance_is_the_csv_exports_and_says_how_cells_were_written(exports):
    parquet = json.loads((exports / "parquet" / "provenance.json").read_text(encoding="utf-8"))
    csv = json.loads((exports / "csv" / "provenance.json").read_text(encoding="utf-8"))
    for key in ("filters", "kratom_reports_in_scope", "sources", "counting_rules", "tables", "signals", "data_warning", "synthetic"):
        assert parquet[key] == csv[key], key
    assert parquet["synthetic"] is True and parquet["data_warning"].startswith("SYNTHETIC DATA")
    assert (parquet["written_as"]["format"], parquet["written_as"]["spreadsheet_guard"]) == ("parquet", False)
    assert "no spreadsheet guard" in parquet["written_as"]["cells"]
    assert (csv["written_as"]["format"], csv["written_as"]["spreadsheet_guard"]) == ("csv", True)
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (exports / "parquet").glob("*.parquet")}
    assert parquet["output"] == {"command": "export", "files": files}
    metadata = dict(duckdb.connect().execute("SELECT decode(key), decode(value) FROM parquet_kv_metadata($p)", {"p": str(exports / "parquet" / "trend.parquet")}).fetchall())
    assert metadata["synthetic"] == "true" and metadata["data_warning"] == parquet["data_warning"]


def test_a_parquet_export_again_converges(exports, signals_db):
    folder = exports / "parquet"
    before = {p.name: p.read_bytes() for p in folder.glob("*.parquet")}
    result = export(folder, signals_db, "--format", "parquet")
    assert result.stderr == ""
    assert {p.name: p.read_bytes() for p in folder.glob("*.parquet")} == before
    assert sorted(p.name for p in folder.iterdir()) == sorted([*before, "provenance.json"])


def test_an_export_in_the_other_format_replaces_only_kratom_aes_files(signals_db, tmp_path):
    out = tmp_path / "out"
    export(out, signals_db)
    (out / "notes.csv").write_text("my own notes\n")
    with (out / "trend.csv").open("a") as f:
        f.write("my edit\n")
    result = export(out, signals_db, "--format", "parquet")
    csvs = [name for name in tables(out, "parquet") if name != "trend"]
    assert sorted(p.name for p in out.glob("*.csv")) == ["notes.csv", "trend.csv"]
    assert (out / "notes.csv").read_text() == "my own notes\n"
    assert result.stderr.splitlines() == [f"Removed {out / f'{name}.csv'}, which the earlier export there wrote and this one does not." for name in csvs] + [
        f"Left {out / 'trend.csv'} alone: the earlier export there lists it, but this export removes only files of its own kind that are still as kratom-ae wrote them; the new provenance.json does not list it."
    ]
    # Back to CSV: the edited trend.csv would be written over, so the export refuses it.
    result = runner.invoke(app, ["export", str(out), "--db", str(signals_db)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {out / 'trend.csv'} was not written by an earlier kratom-ae export there; choose an empty or new folder, so that your files are not mixed with the export's.\n"
    assert len(tables(out, "parquet")) == len(csvs) + 1


def test_the_export_holds_the_signals_table_of_the_cached_background(exports, signals_db):
    with make_vcr("none").use_cassette("empty_never_recorded.json"):
        shown = runner.invoke(app, ["signals", "--db", str(signals_db), "--format", "csv", "--no-spreadsheet-guard"])
    assert shown.exit_code == 0, shown.output
    assert (exports / "plain" / "signals.csv").read_text(encoding="utf-8") == shown.stdout
    provenance = json.loads((exports / "csv" / "provenance.json").read_text(encoding="utf-8"))
    part = provenance["signals"]
    assert (part["min_reports"], part["sort"], part["background_requests_this_run"]) == (3, "prr", 0)
    assert {row["source"]: row["background_last_updated"] for row in part["background"]} == {"caers": "2026-11-18", "faers": "2026-11-18"}
    assert provenance["tables"]["signals"]["filters_applied"] == []


def test_without_a_cached_background_the_export_says_signals_were_left_out(fetched_db, tmp_path):
    result = export(tmp_path / "out", fetched_db, "--source", "faers", "--since", "2019-01-01")
    assert result.stderr == SIGNALS_LEFT_OUT + "\n"
    assert "kratom-ae signals" in SIGNALS_LEFT_OUT and len(SIGNALS_LEFT_OUT.split(". ")) == 1
    assert not (tmp_path / "out" / "signals.csv").exists()
    assert "signals" not in json.loads((tmp_path / "out" / "provenance.json").read_text())["tables"]


def test_signals_in_the_export_take_only_the_signals_filters(signals_db, tmp_path):
    export(tmp_path / "out", signals_db, "--source", "faers", "--since", "2019-01-01", "--role", "suspect")
    with make_vcr("none").use_cassette("empty_never_recorded.json"):
        shown = runner.invoke(app, ["signals", "--db", str(signals_db), "--format", "csv", "--source", "faers", "--role", "suspect"])
    assert shown.exit_code == 0, shown.output
    assert (tmp_path / "out" / "signals.csv").read_text(encoding="utf-8") == shown.stdout
    provenance = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert provenance["tables"]["signals"]["filters_applied"] == ["source", "role"]


def test_no_spreadsheet_guard_is_for_csv_only(signals_db, tmp_path):
    result = runner.invoke(app, ["export", str(tmp_path / "out"), "--db", str(signals_db), "--format", "parquet", "--no-spreadsheet-guard"])
    assert result.exit_code == 1
    assert result.stderr == "Error: --no-spreadsheet-guard is for CSV: Parquet cells are written as they are, with no guard; leave it out.\n"
    assert not (tmp_path / "out").exists()


# ---- the spreadsheet guard and booleans, in the one place every CSV goes through -----------

def test_the_guard_and_booleans_in_csv():
    frame = pd.DataFrame({
        "text": ["=1+1", "'quoted", "-2", " @SUM(A1)", "kratom", None],
        "n": [-1, 2, 3, 4, 5, 6],
        "x": [-2.5, 0.1, 3.0, -0.0, 1e-9, float("nan")],
        "flag": [True, False, True, False, True, False],
        "maybe": pd.array([True, None, False, True, None, False], dtype="boolean"),
    })
    assert csv_text(frame).splitlines() == [
        "text,n,x,flag,maybe",
        "'=1+1,-1,-2.5,true,true",
        "''quoted,2,0.1,false,",
        "'-2,3,3.0,true,false",
        "' @SUM(A1),4,-0.0,false,true",
        "kratom,5,1e-09,true,",
        ",6,,false,false",
    ]
    assert csv_text(frame, guard=False).splitlines()[1:4] == ["=1+1,-1,-2.5,true,true", "'quoted,2,0.1,false,", "-2,3,3.0,true,false"]
    assert csv_text(pd.DataFrame({"=x": [1]}), guard=False) == "=x\n1\n"


def test_sql_and_cases_write_booleans_and_the_guard_as_asked(fetched_db, tmp_path):
    statement = "SELECT '=1+1' AS formula, -1 AS n, -2.5 AS x, b FROM (VALUES (true), (false), (NULL)) AS t(b)"
    guarded = runner.invoke(app, ["sql", statement, "--db", str(fetched_db), "--format", "csv"])
    assert guarded.exit_code == 0, guarded.output
    assert guarded.stdout == "formula,n,x,b\n'=1+1,-1,-2.5,true\n'=1+1,-1,-2.5,false\n'=1+1,-1,-2.5,\n"
    path = tmp_path / "sql.csv"
    plain_csv = runner.invoke(app, ["sql", statement, "--db", str(fetched_db), "--csv", str(path), "--no-spreadsheet-guard"])
    assert plain_csv.exit_code == 0, plain_csv.output
    assert path.read_text() == "formula,n,x,b\n=1+1,-1,-2.5,true\n=1+1,-1,-2.5,false\n=1+1,-1,-2.5,\n"
    listing = tmp_path / "cases.csv"
    result = runner.invoke(app, ["cases", "--db", str(fetched_db), "--csv", str(listing), "--no-spreadsheet-guard", "--source", "caers"])
    assert result.exit_code == 0, result.output
    written = json.loads(Path(f"{listing}.provenance.json").read_text())["written_as"]
    assert (written["format"], written["spreadsheet_guard"]) == ("csv", False)
    assert "a leading apostrophe is part of the data" in written["cells"]


def test_the_skin_tables_boolean_reads_true_and_false(fetched_db):
    result = runner.invoke(app, ["query", "skin", "--db", str(fetched_db), "--format", "csv"])
    assert result.exit_code == 0, result.output
    flags = {line.split(",")[1] for line in result.stdout.splitlines()[3:]}
    assert flags == {"true", "false"}
