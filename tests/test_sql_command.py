"""`kratom-ae sql`: one statement, every DuckDB type in table, CSV and JSON output, column
names as written, every column kept, and the number of rows."""

import json

import duckdb
import pytest
from typer.testing import CliRunner

from kratom_ae.cli.main import app

runner = CliRunner()

EXOTIC = (
    "SELECT '4a7b3c2d-1e0f-4a5b-8c9d-0e1f2a3b4c5d'::UUID AS u, '101'::BIT AS b, "
    "340282366920938463463374607431768211455::UHUGEINT AS uh, '12:00:00+02'::TIMETZ AS tz, "
    "INTERVAL 100000000 YEARS AS iv, 'infinity'::DATE AS d, "
    "123456789012345678901234.5::DECIMAL(38,1) AS dec, (-170141183460469231731687303715884105727)::HUGEINT AS h, "
    "'NaN'::DOUBLE AS nan, {'k': [1.5, 'inf'::DOUBLE]} AS s"
)


def sql(db, statement, *args):
    return runner.invoke(app, ["sql", statement, "--db", str(db), *args])


def ok(result):
    assert result.exit_code == 0, result.output
    return result.stdout


def error_of(result):
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.stderr.strip()


@pytest.mark.parametrize("statement", ["", "   ", ";", "/* only a comment */"])
def test_empty_statement(fetched_db, statement):
    assert error_of(sql(fetched_db, statement)) == 'Error: The query is empty; give one SQL statement, such as kratom-ae sql "SELECT count(*) FROM scope_reports".'


def test_several_statements(fetched_db):
    assert error_of(sql(fetched_db, "SELECT 1; SELECT 2")) == "Error: Give one SQL statement at a time, not 2; run each with its own kratom-ae sql."


def test_exotic_types_as_json(fetched_db):
    rows = json.loads(ok(sql(fetched_db, EXOTIC, "--format", "json")))
    assert rows == [
        {
            "u": "4a7b3c2d-1e0f-4a5b-8c9d-0e1f2a3b4c5d",
            "b": "101",
            "uh": 340282366920938463463374607431768211455,
            "tz": "12:00:00+02",
            "iv": "100000000 years",
            "d": "infinity",
            "dec": 123456789012345678901234.5,
            "h": -170141183460469231731687303715884105727,
            "nan": None,
            "s": {"k": [1.5, None]},
        }
    ]
    # every digit is kept in the text itself (a float would round the decimal)
    assert '"dec":123456789012345678901234.5,' in ok(sql(fetched_db, EXOTIC, "--format", "json"))


def test_exotic_types_as_csv(fetched_db):
    assert ok(sql(fetched_db, EXOTIC, "--format", "csv")) == (
        "u,b,uh,tz,iv,d,dec,h,nan,s\n"
        "4a7b3c2d-1e0f-4a5b-8c9d-0e1f2a3b4c5d,101,340282366920938463463374607431768211455,12:00:00+02,100000000 years,infinity,"
        "123456789012345678901234.5,-170141183460469231731687303715884105727,,\"{'k': [1.5, inf]}\"\n"
    )


def test_exotic_types_as_a_table(fetched_db):
    text = ok(sql(fetched_db, EXOTIC))
    for value in ["4a7b3c2d-1e0f-4a5b-8c9d-0e1f2a3b4c5d", "340282366920938463463374607431768211455", "12:00:00+02", "infinity", "123456789012345678901234.5", "-170141183460469231731687303715884105727"]:
        assert value in text.split()
    assert text.rstrip().endswith("(1 row)")


def test_list_columns(fetched_db):
    con = duckdb.connect(str(fetched_db), read_only=True)
    report_id, outcomes = con.execute("SELECT report_id, outcomes FROM reports WHERE source = 'caers' AND len(outcomes) > 1 ORDER BY report_id LIMIT 1").fetchone()
    count = con.execute("SELECT count(*) FROM reports WHERE source = 'caers'").fetchone()[0]
    con.close()
    statement = "SELECT * FROM reports WHERE source='caers' ORDER BY report_id"
    records = json.loads(ok(sql(fetched_db, statement, "--format", "json")))
    assert len(records) == count
    assert next(r["outcomes"] for r in records if r["report_id"] == report_id) == outcomes
    assert f'"[{", ".join(outcomes)}]"' in ok(sql(fetched_db, statement, "--format", "csv"))
    table = ok(sql(fetched_db, statement))
    assert table.rstrip().endswith(f"({count} rows)")
    assert json.loads(ok(sql(fetched_db, "SELECT [1,2] AS l", "--format", "json"))) == [{"l": [1, 2]}]
    assert ok(sql(fetched_db, "SELECT [1,2] AS l", "--format", "csv")) == 'l\n"[1, 2]"\n'
    assert "[1, 2]" in ok(sql(fetched_db, "SELECT [1,2] AS l"))


def test_names_as_written_every_column_and_the_row_count(fetched_db):
    """Underscores stay, a column with one value stays in the table, rows are counted."""
    text = ok(sql(fetched_db, "SELECT 'same' AS every_row, range AS n FROM range(3)", "--format", "table"))
    lines = text.splitlines()
    assert [line.split() for line in lines if "every_row" in line] == [["every_row", "n"]]
    assert [line.split() for line in lines if "same" in line] == [["same", "0"], ["same", "1"], ["same", "2"]]
    assert lines[-1] == "(3 rows)" or text.rstrip().endswith("(3 rows)")
    assert "(every row)" not in text


def test_numbers_as_duckdb_writes_them(fetched_db):
    text = ok(sql(fetched_db, "SELECT 2019 AS received_year, 123456 AS reports, 0.5 AS share"))
    assert [line.split() for line in text.splitlines() if "2019" in line] == [["2019", "123456", "0.5"]]


def test_a_name_used_twice(fetched_db):
    assert "a a" in " ".join(ok(sql(fetched_db, "SELECT 1 AS a, 2 AS a")).split())
    assert ok(sql(fetched_db, "SELECT 1 AS a, 2 AS a", "--format", "csv")) == "a,a_1\n1,2\n"
    assert json.loads(ok(sql(fetched_db, "SELECT 1 AS a, 2 AS a", "--format", "json"))) == [{"a": 1, "a_1": 2}]


def test_integers_with_nulls_stay_integers(fetched_db):
    assert ok(sql(fetched_db, "SELECT * FROM (VALUES (1), (NULL)) t(x)", "--format", "csv")) == 'x\n1\n""\n'  # a lone empty field is quoted, or readers would skip the line


def test_statement_without_rows(fetched_db):
    assert ok(sql(fetched_db, "SELECT 1 AS x WHERE false", "--format", "json")).strip() == "[]"
    assert "(0 rows)" in ok(sql(fetched_db, "SELECT 1 AS x WHERE false"))


def test_json_and_csv_file_show_the_same_run(fetched_db, tmp_path):
    """The statement runs once: a random value is the same on stdout and in the CSV file."""
    path = tmp_path / "out.csv"
    records = json.loads(ok(sql(fetched_db, "SELECT uuid() AS u, [random()] AS l", "--format", "json", "--csv", path)))
    header, row = path.read_text().splitlines()
    assert header == "u,l" and row.startswith(records[0]["u"] + ",")
    assert float(row.split(",", 1)[1].strip('"[]')) == float(records[0]["l"][0])
