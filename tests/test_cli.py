"""The command line end to end: fetch and status on cassettes, and every user error as one
sentence on stderr with a non-zero exit."""

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kratom_ae.cli.main import app
from vcr_setup import CASSETTES

runner = CliRunner()
KRATOM_ONLY = str(Path(__file__).parent / "fixtures" / "terms_kratom.csv")
SECRET = "SECRET-KEY-123-DO-NOT-STORE"


@pytest.fixture(autouse=True)
def no_pacing(monkeypatch):
    monkeypatch.setattr("kratom_ae.ingest.openfda.Pacer.wait", lambda self: None)


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def one_sentence_error(result, code=1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and lines[0].endswith((".", "?).")), lines[0]
    return lines[0]


def test_fetch_then_status(db, replay):
    with replay("synthetic_fetch_all"):
        result = run("fetch", "--db", db)
    assert result.exit_code == 0, result.output
    assert "faers: 2,421 records received in 13 queries; 2,236 reports held, 2,232 of them kratom reports." in result.stderr
    assert "caers: 145 records received in 13 queries; 145 reports held, 145 of them kratom reports." in result.stderr
    status = run("status", "--db", db)
    assert status.exit_code == 0, status.output
    cells = [[c.strip() for c in line.split("│")[1:3]] for line in status.stdout.splitlines() if line.count("│") == 3]
    assert cells[:6] == [
        ["reports held", "145"], ["kratom reports", "145"], ["received dates", "2009-03-15 to 2025-12-15"],
        ["fetched (UTC)", cells[3][1]], ["openFDA last_updated", "2026-11-18"], ["records received", "145 from 13 queries"],
    ]
    assert ["reports held", "2,236"] in cells and ["received dates", "2008-01-09 to 2025-12-27"] in cells
    assert ["server", "https://api.fda.gov/drug/event.json"] in cells


def test_db_from_environment(tmp_path, replay):
    path = tmp_path / "env.duckdb"
    with replay("synthetic_429_then_ok"):
        result = run("fetch", "--source", "faers", "--terms", KRATOM_ONLY, env={"KRATOM_AE_DB": str(path)})
    assert result.exit_code == 0, result.output
    assert "openFDA at https://api.fda.gov answered HTTP 429 OVER_RATE_LIMIT; retrying in 1.0 s." in result.stderr
    assert path.exists()


def test_api_key_is_never_printed_stored_or_recorded(db, replay):
    with replay("synthetic_fetch_all"):
        result = run("fetch", "--db", db, "--api-key", SECRET)
    assert result.exit_code == 0, result.output
    status = run("status", "--db", db)
    assert SECRET not in result.output + status.output
    con = duckdb.connect(str(db), read_only=True)
    tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    for table in tables:
        assert SECRET not in str(con.execute(f"SELECT * FROM {table}").fetchall())
    con.close()
    assert SECRET.encode() not in db.read_bytes()
    for cassette in CASSETTES.rglob("*.json"):
        text = cassette.read_text(encoding="utf-8")
        assert "api_key=" not in text and "RECORDING-KEY" not in text
        assert not re.search(r'"authorization"', text, re.IGNORECASE), cassette


def test_api_key_from_environment_is_not_shown_in_help():
    result = run("fetch", "--help", env={"OPENFDA_API_KEY": SECRET})
    assert result.exit_code == 0
    assert SECRET not in result.output


def test_rejected_key(db, replay):
    with replay("synthetic_403_key_rejected"):
        result = run("fetch", "--db", db, "--source", "faers", "--terms", KRATOM_ONLY, "--api-key", "WRONG")
    assert one_sentence_error(result) == "Error: openFDA rejected the API key (HTTP 403 API_KEY_INVALID); check --api-key or OPENFDA_API_KEY."


def test_retries_exhausted(db, replay, monkeypatch):
    with replay("synthetic_429_exhausted"):
        result = run("fetch", "--db", db, "--source", "faers", "--terms", KRATOM_ONLY, "--quiet")
    assert result.stderr.strip() == "Error: openFDA at https://api.fda.gov answered HTTP 429 OVER_RATE_LIMIT, and still did after 6 attempts; the fetch was abandoned."
    assert result.exit_code == 1
    assert not db.exists()


def test_unreachable_server(db):
    result = run("fetch", "--db", db, "--base-url", "http://127.0.0.1:9", "--quiet")
    assert one_sentence_error(result) == "Error: Cannot reach openFDA at http://127.0.0.1:9: the connection failed, and still did after 6 attempts; the fetch was abandoned."


def test_offline_default_host(db, monkeypatch):
    import requests

    def offline(*args, **kwargs):
        raise requests.exceptions.ConnectionError("HTTPSConnectionPool: NameResolutionError: Failed to resolve 'api.fda.gov'")

    monkeypatch.setattr("requests.Session.get", offline)
    result = run("fetch", "--db", db)
    assert one_sentence_error(result) == "Error: Cannot reach openFDA at https://api.fda.gov: the host name could not be resolved (is this machine offline?)."


def test_bad_source_option(db):
    result = run("fetch", "--db", db, "--source", "vaers")
    assert result.exit_code == 2
    assert "Invalid value for '--source'" in result.output
    assert "Traceback" not in result.output


def test_bad_base_url(db):
    result = run("fetch", "--db", db, "--base-url", "api.fda.gov")
    assert one_sentence_error(result) == "Error: The base URL must start with http:// or https:// and name a host, not 'api.fda.gov'."


def test_bad_terms_file(db, tmp_path):
    result = run("fetch", "--db", db, "--terms", tmp_path / "missing.csv")
    assert "Cannot read the terms file" in one_sentence_error(result)


def test_missing_folder_for_database(tmp_path):
    result = run("fetch", "--db", tmp_path / "no" / "such" / "x.duckdb")
    assert "the folder" in one_sentence_error(result)


def test_status_without_database(tmp_path):
    result = run("status", "--db", tmp_path / "none.duckdb")
    assert one_sentence_error(result) == f"Error: There is no database at {tmp_path / 'none.duckdb'}; run `kratom-ae fetch` first or pass --db."


def test_status_of_empty_database(db):
    duckdb.connect(str(db)).close()
    result = run("status", "--db", db)
    assert result.exit_code == 0
    assert "holds no fetched data yet" in result.stdout


def test_not_a_database(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("these are my notes, not a database\n")
    result = run("status", "--db", path)
    assert one_sentence_error(result) == f"Error: {path} is not a DuckDB database, so kratom-ae neither reads it nor writes into it; give --db a database, or a new file name."


@pytest.mark.parametrize("command", [("status",), ("query", "summary"), ("fetch", "--source", "caers")])
def test_database_from_another_version_is_refused(db, command):
    """A reports table without this version's columns (here, an older one without report_key)
    is refused before anything reads or writes it."""
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE reports (source VARCHAR, report_id VARCHAR, is_kratom_report BOOLEAN)")
    con.execute("INSERT INTO reports VALUES ('faers', '1', true)")
    con.close()
    result = run(*command, "--db", db, "--base-url", "http://127.0.0.1:9") if command[0] == "fetch" else run(*command, "--db", db)
    assert one_sentence_error(result) == (
        f"Error: The database {db} was made by another version of kratom-ae and its tables differ from this one's; "
        "fetch into a new file with --db, or delete it and fetch again."
    )
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT * FROM reports").fetchall() == [("faers", "1", True)]
    con.close()


def test_locked_database(db, replay):
    with replay("synthetic_429_then_ok"):
        assert run("fetch", "--db", db, "--source", "faers", "--terms", KRATOM_ONLY).exit_code == 0
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb,sys,time; c=duckdb.connect({str(db)!r}); print('ready', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = run("fetch", "--db", db)
        assert one_sentence_error(result) == f"Error: The database {db} is in use by another program (process {holder.pid}); close it and try again."
        result = run("status", "--db", db)
        assert "is in use by another program" in one_sentence_error(result)
    finally:
        holder.kill()
        holder.wait()


def test_every_command_has_help_and_an_example():
    commands = ["fetch", "status", "query", "signals", "export", "sql", "meddra load"]
    for command in commands:
        result = run(*command.split(), "--help")
        assert result.exit_code == 0
        assert "Example: kratom-ae " + command in " ".join(result.output.split())
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for command in commands:
        assert f"### `kratom-ae {command}`" in readme


def every_command(group=None, prefix=()) -> list[str]:
    """Every command and group of the app, as typed after kratom-ae ("" is kratom-ae itself)."""
    import typer

    group = group or typer.main.get_command(app)
    found = [" ".join(prefix)]
    for name, command in group.commands.items():
        found += every_command(command, (*prefix, name)) if hasattr(command, "commands") else [" ".join((*prefix, name))]
    return found


COMMANDS = every_command()


def test_the_walk_finds_every_command():
    assert set(COMMANDS) >= {"", "fetch", "status", "query", "cases", "terms", "raw", "signals", "export", "report", "sql", "meddra", "meddra load"}


@pytest.mark.parametrize("width", ["80", "120"])
@pytest.mark.parametrize("command", COMMANDS)
def test_help_names_what_to_type_not_python_types(command, width):
    """Typer 0.29 shows `{DIR}` in the usage line, `DIR <Path>`, `--term <list[str]>` and
    `--top <int range>` (cli/help.py): the help shows metavars alone, and no word or number is
    split across lines (a help text's `(YYYY-MM-DD)` broke at its hyphens)."""
    result = run(*command.split(), "--help", env={"COLUMNS": width})
    assert result.exit_code == 0, result.output
    assert not re.search(r"<[^>\s]*>", result.output), result.output
    usage = result.output.splitlines()[0]
    assert "{" not in usage and "}" not in usage, usage
    arguments = result.output.split("\nArguments:\n")[1].split("\n\n")[0] if "\nArguments:\n" in result.output else ""
    for row in re.findall(r"^  (\S+)", arguments, re.M):
        assert re.fullmatch(r"[A-Z_]+", row), row
    for line in result.output.splitlines():
        assert not re.search(r"\w-$", line), line


def test_arguments_and_choices_show_as_a_user_types_them():
    result = run("raw", "--help", env={"COLUMNS": "100"})
    assert result.output.startswith("Usage: root raw [OPTIONS] SOURCE REPORT_ID\n")  # CliRunner names the program root
    assert re.search(r"^  SOURCE +faers or caers\.", result.output, re.M)
    cases = run("cases", "--help", env={"COLUMNS": "100"}).output
    assert re.search(r"^  --source faers\|caers\|all +Only faers", cases, re.M) and re.search(r"^  --term TERM +Only reports naming", cases, re.M)
    assert run("report", "--help", env={"COLUMNS": "100"}).output.startswith("Usage: root report [OPTIONS] DIR\n")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_wraps_paragraphs_and_shows_no_type_for_flags(command):
    """Help at 80 columns: paragraphs rewrapped to the width (a docstring's own line breaks
    would leave short lines mid-sentence), and flags such as --quiet or --help without the
    `<bool>` that typer's rich help prints beside them."""
    result = run(*command.split(), "--help", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "<bool>" not in result.output
    assert max(len(line) for line in lines) <= 80
    assert "  --help  " in result.output or re.search(r"^  --help\s+Show this message", result.output, re.M)
    # Each paragraph of the description fills its lines: only a paragraph's last line is short.
    description = result.output.split("\n\n", 1)[1].split("\nOptions:")[0].split("\nArguments:")[0]
    for paragraph in description.split("\n\n"):
        wrapped = paragraph.splitlines()
        for line, following in zip(wrapped, wrapped[1:]):
            assert len(line) + 1 + len(following.split()[0]) > 78, (line, following)


def test_docstrings_have_no_line_breaks_inside_paragraphs():
    import inspect

    from kratom_ae.cli.main import meddra_app

    for typer_app in (app, meddra_app):
        for command in typer_app.registered_commands:
            for paragraph in inspect.cleandoc(command.callback.__doc__).split("\n\n"):
                assert "\n" not in paragraph, (command.callback.__name__, paragraph)


def test_the_docs_name_arguments_as_the_help_does():
    """The help calls a command's folder DIR; the README called it OUT_DIR."""
    root = Path(__file__).parents[1]
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    assert "OUT_DIR" not in text
    for command in ("export", "report"):
        assert run(command, "--help").output.startswith(f"Usage: root {command} [OPTIONS] DIR\n")
        assert f"kratom-ae {command} DIR" in text, command
