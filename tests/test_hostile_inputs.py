"""Inputs that ended in a message the user could not act on (issue 18, items 7 and 9): numbers
too large for the machine, files too odd for the csv module or UTF-8, a damaged block met by
the listing commands, DuckDB's own error wrapped in another, a server's valid JSON of the wrong
shape, a second source refused; and CSV on stdout that must stay the data as it is. Each ends
in one sentence with the right exit code, and no database changes."""

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import synthetic
from kratom_ae.cli.main import app
from fake_openfda import FakeOpenFDA
from kratom_ae.ingest import failures

runner = CliRunner()
KRATOM_ONLY = str(Path(__file__).parent / "fixtures" / "terms_kratom.csv")


# The same fixtures: no pacing (autouse), and `db`, a copy of the fetched database.
from test_no_traceback import db, no_pacing  # noqa: E402, F401


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def one_sentence(result, code: int = 1) -> str:
    """The error line (after click's usage lines for an exit code of 2)."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.strip().splitlines()
    if code == 2:
        lines = lines[3:] if lines and lines[0].startswith("Usage:") else lines
    assert len(lines) == 1 and lines[0].startswith("Error: ") and lines[0].endswith("."), result.stderr
    assert "problem it does not know" not in lines[0]
    return lines[0]


# ---- numbers too large -----------------------------------------------------------------------


@pytest.mark.parametrize("command", [["query", "reactions"], ["export", "{OUT}"]])
def test_a_top_beyond_any_table_is_a_usage_error_and_writes_nothing(db, tmp_path, command):
    before = digest(db)
    args = [a.replace("{OUT}", str(tmp_path / "out")) for a in command]
    message = one_sentence(runner.invoke(app, [*args, "--db", str(db), "--top", "99999999999999999999999"]), code=2)
    assert message == "Error: Invalid value for '--top': give a number of rows from 1 to 1,000,000, not 99999999999999999999999."
    assert not (tmp_path / "out").exists()
    assert digest(db) == before


def test_the_largest_top_is_accepted(db):
    result = runner.invoke(app, ["query", "reactions", "--db", str(db), "--top", "1000000", "--format", "csv"])
    assert result.exit_code == 0, result.output
    every = runner.invoke(app, ["query", "reactions", "--db", str(db), "--format", "csv"])
    assert result.stdout == every.stdout


@pytest.mark.parametrize("value", ["1e-300", "0.001", "inf", "nan"])
def test_pacing_too_slow_to_wait_for_is_a_usage_error(tmp_path, value):
    result = runner.invoke(app, ["fetch", "--db", str(tmp_path / "new.duckdb"), "--requests-per-minute", value, "--base-url", "http://127.0.0.1:9"])
    message = one_sentence(result, code=2)
    assert message.startswith("Error: Invalid value for '--requests-per-minute':"), message
    assert not (tmp_path / "new.duckdb").exists()


def test_the_slowest_pacing_is_accepted(tmp_path, monkeypatch):
    waited = []
    monkeypatch.undo()  # the real pacer, with its sleep recorded (conftest's `sleeps`)
    monkeypatch.setattr("kratom_ae.ingest.openfda.wait", waited.append)
    faers, caers = [synthetic.faers_record(random.Random(1), "1", "KRATOM")], []
    with FakeOpenFDA(faers, caers) as server:
        result = runner.invoke(app, ["fetch", "--db", str(tmp_path / "new.duckdb"), "--source", "faers", "--terms", KRATOM_ONLY, "--base-url", server.url, "--requests-per-minute", "0.01", "--quiet"])
    assert result.exit_code == 0, result.output
    assert waited == []  # one request: the pacer waits only between requests


@pytest.mark.parametrize(
    "cell, shown",
    [("12345678901234567890123456", "'12345678901234567890123456'"), ("1000000000001", "'1000000000001'"), ("9" * 100_000, "'" + "9" * 37 + "...'")],
)
def test_a_count_no_database_holds_is_refused(tmp_path, cell, shown):
    counts = tmp_path / "counts.csv"
    counts.write_text(f"term,a,b,c,d\nNAUSEA,5,95,100,9800\nVOMITING,{cell},95,100,9800\n")
    message = one_sentence(runner.invoke(app, ["signals", "--counts", str(counts)]))
    assert message == f"Error: {counts}, line 3: a is {shown}, more reports than any database holds (at most 1,000,000,000,000)."


def test_the_largest_count_is_accepted(tmp_path):
    counts = tmp_path / "counts.csv"
    counts.write_text("term,a,b,c,d\nNAUSEA,5,95,100,1000000000000\n")
    result = runner.invoke(app, ["signals", "--counts", str(counts), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("NAUSEA,5,95,100,1000000000000,")


def count_page(counts: list[tuple[str, object]]) -> bytes:
    return json.dumps({"meta": {"last_updated": synthetic.LAST_UPDATED, "disclaimer": "SYNTHETIC"}, "results": [{"term": t, "count": n} for t, n in counts]}).encode()


def total_page(total: object) -> bytes:
    return json.dumps({"meta": {"last_updated": synthetic.LAST_UPDATED, "results": {"skip": 0, "limit": 1, "total": total}}, "results": []}).encode()


@pytest.mark.parametrize(
    "faults, said",
    [
        ([None, ("status", 200, count_page([("NAUSEA", 1e20)]), {})], "counted 1e+20 reports of 'NAUSEA' on drug/event, not a count of reports"),
        ([None, ("status", 200, count_page([("NAUSEA", 10**20)]), {})], "counted 100,000,000,000,000,000,000 reports of 'NAUSEA' on drug/event, not a count of reports"),
        ([None, ("status", 200, count_page([("NAUSEA", "12")]), {})], "counted \"12\" reports of 'NAUSEA' on drug/event, not a count of reports"),
        ([("status", 200, total_page(1e20), {})], "sent a meta.results.total of 1e+20 for drug/event, not a count of reports"),
        ([("status", 200, total_page(-1), {})], "sent a meta.results.total of -1 for drug/event, not a count of reports"),
    ],
)
def test_a_background_count_no_database_holds_is_refused(db, faults, said):
    before = digest(db)
    with FakeOpenFDA([]) as server:
        server.faults = list(faults)
        result = runner.invoke(app, ["signals", "--db", str(db), "--source", "faers", "--base-url", server.url, "--quiet"])
    message = one_sentence(result)
    assert message == f"Error: The server at {server.url} {said}; the background was not counted."
    assert digest(db) == before


# ---- files too odd -----------------------------------------------------------------------------


def test_a_terms_file_with_a_2_mb_term(tmp_path):
    terms = tmp_path / "terms.csv"
    terms.write_text("term,match\n" + "K" * 2_000_000 + ",substring\n")
    message = one_sentence(runner.invoke(app, ["fetch", "--db", str(tmp_path / "new.duckdb"), "--terms", str(terms), "--base-url", "http://127.0.0.1:9"]))
    assert message == f"Error: {terms} cannot be read as CSV (field larger than field limit (131072)); a terms file holds short names, one per line."
    assert not (tmp_path / "new.duckdb").exists()


def test_a_terms_file_with_a_term_longer_than_any_name(tmp_path):
    terms = tmp_path / "terms.csv"
    terms.write_text("term,match\nKRATOM,substring\n" + "K" * 100_000 + ",substring\n")
    message = one_sentence(runner.invoke(app, ["fetch", "--db", str(tmp_path / "new.duckdb"), "--terms", str(terms), "--base-url", "http://127.0.0.1:9"]))
    assert message == f"Error: {terms}, line 3: the term has 100,000 characters; a term is a product's name or part of it, of at most 200."


@pytest.mark.parametrize("command", [["query"], ["query", "mine"], ["query", "summary"], ["export", "{OUT}"]])
def test_a_table_file_that_is_not_utf8(db, tmp_path, command):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "mine.sql").write_bytes(b"-- description: \xff\xfe latin-1 caf\xe9\nSELECT 1 AS one\n")
    args = [a.replace("{OUT}", str(tmp_path / "out")) for a in command]
    message = one_sentence(runner.invoke(app, [*args, "--db", str(db), "--queries-dir", str(folder)]))
    assert message == f"Error: The table file {folder / 'mine.sql'} is not UTF-8 text (byte 0xff at position 16); save it as UTF-8."
    assert not (tmp_path / "out").exists()


def test_a_table_file_with_a_byte_order_mark_is_read(db, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "mine.sql").write_bytes("\ufeff-- description: one row\nSELECT 1 AS one\n".encode())
    listed = runner.invoke(app, ["query", "--db", str(db), "--queries-dir", str(folder)])
    assert listed.exit_code == 0, listed.output
    assert "one row" in listed.stdout


# ---- a damaged block, met by every command that reads the database ---------------------------


def corrupt(db: Path, table: str, column: str) -> None:
    """Overwrite bytes inside a block holding table.column: its checksum no longer matches."""
    con = duckdb.connect(str(db), read_only=True)
    block_size = con.execute("SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()").fetchone()[0]
    block = con.execute(f"SELECT max(block_id) FROM pragma_storage_info('{table}') WHERE persistent AND block_id >= 0 AND column_name = '{column}'").fetchone()[0]
    con.close()
    with open(db, "r+b") as f:
        f.seek(3 * 4096 + block * block_size + 64)
        f.write(b"\xff" * 64)


@pytest.mark.parametrize(
    "command, damaged",
    [
        # Each command with a column it must read: cases and raw said "a problem it does not
        # know (Corrupt database file...)" before.
        (["cases"], ("reports", "source")),
        (["raw", "faers", "{ID}"], ("raw_reports", "record_zstd")),
        (["terms"], ("products", "product_name")),
        (["query", "summary"], ("reports", "source")),
        (["export", "{OUT}"], ("reports", "source")),
        (["report", "{OUT}"], ("reports", "source")),
        (["sql", "SELECT max(octet_length(record_zstd)) FROM raw_reports"], ("raw_reports", "record_zstd")),
        (["status"], ("reports", "source")),
    ],
    ids=lambda value: value[0] if isinstance(value, list) else ".".join(value),
)
def test_a_damaged_block_is_called_damage_by_every_command(db, tmp_path, command, damaged):
    report_id = duckdb.connect(str(db), read_only=True).execute("SELECT max(report_id) FROM reports WHERE source = 'faers'").fetchone()[0]
    corrupt(db, *damaged)
    before = digest(db)
    args = [a.replace("{OUT}", str(tmp_path / "out")).replace("{ID}", report_id) for a in command]
    message = one_sentence(runner.invoke(app, [*args, "--db", str(db)]))
    assert message.startswith(f"Error: The database {db} is damaged (") and message.endswith("; restore it from a backup, or fetch into a new file with --db."), message
    assert digest(db) == before
    assert not (tmp_path / "out").exists()


# ---- DuckDB's errors as DuckDB words them --------------------------------------------------------


@pytest.mark.parametrize("form", ["parquet", "csv"])
def test_a_full_disk_in_duckdbs_own_write_names_the_file(form):
    """DuckDB wraps the error of its writing thread in another, as JSON whose first quoted text
    is "exception_type"; that was named as the file."""
    con = duckdb.connect()
    with pytest.raises(duckdb.Error) as caught:
        con.execute(f"COPY (SELECT range AS x FROM range(1000000)) TO '/dev/full' (FORMAT {form})")
    assert '{"exception_type"' in str(caught.value)  # the wrapping this test is about
    assert failures.write_failure(caught.value) == "Cannot write /dev/full: No space left on device; free some disk space and run it again."


def test_a_plain_duckdb_write_error_still_names_its_file():
    error = duckdb.IOException('IO Error: Could not write file "/data/x.parquet": No space left on device')
    assert failures.write_failure(error) == "Cannot write /data/x.parquet: No space left on device; free some disk space and run it again."


# ---- a server's valid JSON of the wrong shape -----------------------------------------------------


@pytest.mark.parametrize(
    "body, problem",
    [
        ({"meta": {"results": {"total": 1}}, "results": {"safetyreportid": "1"}}, "its results are a JSON object, not a list"),
        ({"meta": {"results": {"total": 1}}, "results": "KRATOM"}, "its results are a JSON string, not a list"),
        ({"meta": "2026-04-28", "results": []}, "its meta is a JSON string, not an object"),
        ({"results": [], "meta": "2026-04-28"}, "its meta is a JSON string, not an object"),
        ("KRATOM", "a JSON string, not an object"),
        # DuckDB reads these two without complaint, and finds no results list or no total in them.
        ({"meta": {"results": 5}, "results": []}, None),
        ([{"safetyreportid": "1"}], None),
    ],
)
def test_valid_json_of_another_shape_is_a_wrong_answer_not_retried(tmp_path, body, problem, sleeps):
    with FakeOpenFDA([]) as server:
        server.faults = [("status", 200, json.dumps(body).encode(), {"Content-Type": "application/json"})] * 6
        result = runner.invoke(app, ["fetch", "--db", str(tmp_path / "new.duckdb"), "--source", "faers", "--terms", KRATOM_ONLY, "--base-url", server.url])
        assert len(server.requests) == 1
    message = one_sentence(result)
    if problem:
        assert message == f"Error: The server at {server.url} sent JSON that is not an openFDA response to drug/event ({problem}); the fetch was abandoned."
    else:
        assert message == f"Error: The server at {server.url} did not send an openFDA search response (no results list or meta.results.total)."
    assert sleeps == []
    assert not (tmp_path / "new.duckdb").exists()


def test_a_page_cut_short_is_still_retried(tmp_path, sleeps):
    records = [synthetic.faers_record(random.Random(1), "1", "KRATOM")]
    with FakeOpenFDA(records) as server:
        server.faults = [("badjson",)]
        result = runner.invoke(app, ["fetch", "--db", str(tmp_path / "new.duckdb"), "--source", "faers", "--terms", KRATOM_ONLY, "--base-url", server.url, "--quiet"])
        assert len(server.requests) == 2
    assert result.exit_code == 0, result.output
    assert sleeps == [1.0]


# ---- a second source refused ------------------------------------------------------------------------


@pytest.mark.parametrize("existed", [False, True])
def test_source_all_says_which_source_was_kept_when_the_other_is_refused(tmp_path, existed, fetched_db):
    db = tmp_path / "kratom.duckdb"
    if existed:
        shutil.copy(fetched_db, db)
    rng = random.Random(3)
    faers = [synthetic.faers_record(rng, str(50_000_000 + i), "KRATOM") for i in range(3)]
    bad_request = json.dumps({"error": {"code": "BAD_REQUEST", "message": "Syntax error in search"}}).encode()
    with FakeOpenFDA(faers, []) as server:
        # FAERS: one query (the kratom term); then CAERS's first query is refused.
        server.faults = [None, ("status", 400, bad_request, {})]
        result = runner.invoke(app, ["fetch", "--db", str(db), "--terms", KRATOM_ONLY, "--base-url", server.url, "--quiet"])
    message = one_sentence(result)
    assert message == "Error: openFDA rejected the request to food/event (HTTP 400): Syntax error in search; faers was fetched in full and kept, caers is as it was before this fetch."
    con = duckdb.connect(str(db), read_only=True)
    held = dict(con.execute("SELECT source, count(*) FROM reports GROUP BY source").fetchall())
    con.close()
    assert held["faers"] == 3
    assert held.get("caers", 0) == (duckdb.connect(str(fetched_db), read_only=True).execute("SELECT count(*) FROM reports WHERE source = 'caers'").fetchone()[0] if existed else 0)


# ---- CSV and JSON on stdout are the data as it is --------------------------------------------------


HOSTILE_NAME = "KRATOM \x1b[31mRED\x1b[0m \x07BEL"


@pytest.fixture(scope="module")
def escapes_db(tmp_path_factory):
    """A database whose reaction terms and product names hold escape sequences and BEL."""
    db = tmp_path_factory.mktemp("escapes") / "escapes.duckdb"
    records = [
        {
            "safetyreportid": str(800 + i), "safetyreportversion": "1", "receivedate": "20240102", "serious": "2",
            "patient": {"drug": [{"medicinalproduct": HOSTILE_NAME, "drugcharacterization": "1"}], "reaction": [{"reactionmeddrapt": "NAUSEA \x1b[2J"}]},
        }
        for i in range(3)
    ]
    with FakeOpenFDA(records) as server:
        result = CliRunner().invoke(app, ["fetch", "--db", str(db), "--source", "faers", "--terms", KRATOM_ONLY, "--base-url", server.url, "--requests-per-minute", "0", "--quiet"])
    assert result.exit_code == 0, result.output
    return db


def kratom_ae(*args: str) -> subprocess.CompletedProcess:
    """The command in a process of its own, its stdout a pipe (as `kratom-ae ... > file`)."""
    code = "import sys; from kratom_ae.cli.main import main; sys.argv[0] = 'kratom-ae'; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, cwd=Path(__file__).parents[1], env={**os.environ, "COLUMNS": "120"})


@pytest.mark.parametrize(
    "command",
    [["query", "reactions"], ["cases"], ["terms"], ["sql", "SELECT product_name FROM products ORDER BY ALL"]],
)
def test_csv_on_a_pipe_is_byte_for_byte_the_csv_file(escapes_db, tmp_path, command):
    piped = kratom_ae(*command, "--db", str(escapes_db), "--format", "csv", "--csv", str(tmp_path / "out.csv"))
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == (tmp_path / "out.csv").read_bytes()
    assert b"\x1b[" in piped.stdout and (b"\x07" in piped.stdout or command[0] == "query")


def test_json_on_a_pipe_keeps_the_data(escapes_db):
    piped = kratom_ae("sql", "SELECT DISTINCT product_name FROM products", "--db", str(escapes_db), "--format", "json")
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout) == [{"product_name": HOSTILE_NAME}]


def test_csv_on_a_terminal_is_escaped(escapes_db):
    """On a terminal the data must not drive it: escaped line by line (script gives the command
    a terminal of its own)."""
    if not shutil.which("script"):
        pytest.skip("needs script(1) for a terminal")
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parents[1])!r}); from kratom_ae.cli.main import main; sys.argv[0] = 'kratom-ae'; main()"
    shell = " ".join(["'" + a.replace("'", "'\\''") + "'" for a in [sys.executable, "-c", code, "sql", "SELECT DISTINCT product_name FROM products", "--db", str(escapes_db), "--format", "csv"]])
    seen = subprocess.run(["script", "-qec", shell, "/dev/null"], capture_output=True)
    assert seen.returncode == 0, seen.stdout
    assert b"\x1b[31m" not in seen.stdout and b"\x07" not in seen.stdout
    assert b"KRATOM \\x1b[31mRED\\x1b[0m \\x07BEL" in seen.stdout
