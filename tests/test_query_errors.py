"""Every user error of the table commands: one sentence on stderr, a non-zero exit."""

import duckdb
import pytest
from typer.testing import CliRunner

from kratom_ae.cli.main import app
from test_meddra import base_db  # noqa: F401 (a fetched database, shared)

runner = CliRunner()


def error_of(*args) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_empty_database(tmp_path):
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    assert error_of("query", "summary", "--db", db) == "Error: The database holds no reports yet; run `kratom-ae fetch` first."
    assert error_of("export", tmp_path / "out", "--db", db) == "Error: The database holds no reports yet; run `kratom-ae fetch` first."


def test_no_database(tmp_path):
    assert error_of("query", "summary", "--db", tmp_path / "x.duckdb") == f"Error: There is no database at {tmp_path / 'x.duckdb'}; run `kratom-ae fetch` first or pass --db."


def test_unknown_table(base_db):
    assert error_of("query", "reaktions", "--db", base_db) == (
        "Error: There is no table called 'reaktions'; the tables are: age_by_sex, cases, demographics, drugs, drugs_by_product, outcomes, reactions, reactions_by_soc, skin, skin_outcomes, summary, trend."
    )


@pytest.mark.parametrize("value", ["2019-31-01", "2019/01/31", "yesterday", "2019-1-31"])
def test_bad_date(base_db, value):
    assert error_of("query", "summary", "--db", base_db, "--since", value) == f"Error: --since must be a date written YYYY-MM-DD, such as 2019-01-31, not '{value}'."


def test_since_after_until(base_db):
    assert error_of("query", "trend", "--db", base_db, "--since", "2020-01-01", "--until", "2019-01-01") == (
        "Error: --since (2020-01-01) is after --until (2019-01-01); no report can be in between."
    )


def test_filter_a_table_does_not_take(base_db):
    assert error_of("query", "trend", "--db", base_db, "--top", "5") == "Error: The trend table does not take --top; it takes --source, --since, --until, --role, --serious, --unit."


def test_by_on_another_table(base_db):
    assert error_of("query", "skin", "--by", "soc", "--db", base_db) == (
        "Error: Only the reactions table (--by pt or soc) and the drugs table (--by ingredient or product) take --by; skin does not.")
    assert error_of("query", "reactions", "--by", "product", "--db", base_db) == "Error: The reactions table takes --by pt or soc, not product."
    assert error_of("query", "drugs", "--by", "soc", "--db", base_db) == "Error: The drugs table takes --by ingredient or product, not soc."


def test_unwritable_csv(base_db, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert error_of("query", "trend", "--db", base_db, "--csv", blocker / "trend.csv") == f"Error: Cannot write {blocker / 'trend.csv'}: Not a directory."


def test_unwritable_export_folder(base_db, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert error_of("export", blocker, "--db", base_db) == f"Error: Cannot write the export into {blocker}: it is a file, not a folder."


def test_missing_queries_dir(base_db, tmp_path):
    assert error_of("query", "summary", "--db", base_db, "--queries-dir", tmp_path / "mine") == f"Error: The queries folder {tmp_path / 'mine'} does not exist."


def test_broken_user_query(base_db, tmp_path):
    (tmp_path / "broken.sql").write_text("-- name: broken\nSELECT nonsense FROM nowhere;\n")
    message = error_of("query", "broken", "--db", base_db, "--queries-dir", tmp_path)
    assert message.startswith(f"Error: The broken query ({tmp_path / 'broken.sql'}) failed: Catalog Error")


def test_bad_sql(base_db):
    assert error_of("sql", "SELEC 1", "--db", base_db).startswith("Error: The query failed: Parser Error")


def test_bad_option_value(base_db):
    result = runner.invoke(app, ["query", "summary", "--db", str(base_db), "--role", "primary"])
    assert result.exit_code == 2 and "Invalid value for '--role'" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["query", "reactions", "--db", str(base_db), "--top", "0"])
    assert result.exit_code == 2 and "Invalid value for '--top'" in result.output
