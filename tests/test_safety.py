"""Data safety: hostile text in the data (CSV injection, terminal escapes), outputs that
would overwrite the database, databases crafted to read the user's files, what a failed or
killed fetch leaves, and synthetic data that must say so."""

import csv
import hashlib
import io
import json
import unicodedata
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

import synthetic
from kratom_ae.cli.main import app
from kratom_ae.cli.terminal import printable
from fake_openfda import FakeOpenFDA
from kratom_ae.ingest import sqlfiles, store
from kratom_ae.ingest.fetch import SOURCES
from kratom_ae.ingest.terms import load_terms, search_query
from kratom_ae.queries.export import csv_text

runner = CliRunner()
KRATOM_ONLY = str(Path(__file__).parent / "fixtures" / "terms_kratom.csv")
REAL_DISCLAIMER = json.loads((Path(__file__).parent / "fixtures" / "real" / "drug-event_limit1_qodex-2023.json").read_text())["meta"]["disclaimer"]

FORGED = "\x1b[31mRED\x1b[0m\nError: forged"
# Cells a spreadsheet would run as formulas, or split into rows, if written naively.
HOSTILE = [
    '=HYPERLINK("http://evil.example","click")', 'SAFE\r=HYPERLINK("http://cr.example")', "LINE\n@SUM(A1)", " =1+1", "\u00a0=1+2",
    "\u200b=1+3", "\u200d+1", "\ufeff=1+4", " \t=1+5", "\t=1+6", "\r=1+7", "\x0b=1+8", "\x0c=1+9", "\n=2+1", "\u3000-2+2",
    "\uff1d2+3", "\uff0b2+4", "\uff0d2+5", "\uff202+6", "\u2060@A1", "-3", "+3", "@A1", "KRATOM PLAIN", "COMMA, \"QUOTED\"",
]


def invisible(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in ("Zs", "Cf", "Cc")


def looks_like_formula(cell: str) -> bool:
    visible = cell.lstrip("".join({c for c in cell if invisible(c)}))
    return visible[:1] in ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20") or cell[:1] in ("\t", "\r")


def read_csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def file_text(path: Path) -> str:
    """The file as written (Path.read_text would turn a lone \r into \n)."""
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def assert_safe_csv(text: str, rows: int) -> list[list[str]]:
    parsed = read_csv_rows(text)
    assert len(parsed) == rows + 1, parsed  # the header and one line per row: no cell broke a row
    for row in parsed:
        for cell in row:
            assert not looks_like_formula(cell), repr(cell)
    return parsed


def hostile_records() -> list[dict]:
    return [
        {
            "safetyreportid": str(900 + i), "safetyreportversion": "1", "receivedate": "20240102", "serious": "2",
            "patient": {"drug": [{"medicinalproduct": "KRATOM", "drugcharacterization": "1"}, {"medicinalproduct": cell, "drugcharacterization": "2"}],
                        "reaction": [{"reactionmeddrapt": cell}]},
        }
        for i, cell in enumerate(HOSTILE + [FORGED, "[red]MARKUP[/red] [link=http://evil.example]LINK[/link]"])
    ]


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    """A database fetched from the fake server whose reports carry hostile names and terms,
    and whose last_updated holds an escape sequence and a line break."""
    db = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    original = synthetic.LAST_UPDATED
    synthetic.LAST_UPDATED = "2026-11-18" + FORGED
    try:
        with FakeOpenFDA(hostile_records()) as server:
            result = runner.invoke(app, ["fetch", "--db", str(db), "--source", "faers", "--terms", KRATOM_ONLY, "--base-url", server.url, "--requests-per-minute", "0", "--quiet"])
    finally:
        synthetic.LAST_UPDATED = original
    assert result.exit_code == 0, result.output
    return db


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_sentence_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and lines[0].endswith("."), lines[0]
    return lines[0]


# -- CSV injection -----------------------------------------------------------------------


def test_csv_quotes_line_breaks_and_neutralises_formulas_behind_invisible_characters():
    frame = pd.DataFrame({"name": HOSTILE, "n": range(len(HOSTILE))})
    parsed = assert_safe_csv(csv_text(frame), len(HOSTILE))
    # Nothing is lost: each formula-like cell is the original behind one apostrophe.
    assert [row[0] for row in parsed[1:]] == [("'" + cell) if looks_like_formula(cell) else cell for cell in HOSTILE]
    assert parsed[1 + HOSTILE.index("KRATOM PLAIN")] == ["KRATOM PLAIN", str(HOSTILE.index("KRATOM PLAIN"))]


def test_csv_outputs_of_every_command_are_safe(hostile_db, tmp_path):
    want = len(HOSTILE) + 2  # every hostile term, and the forged one and the markup one
    table = runner.invoke(app, ["query", "reactions", "--db", str(hostile_db), "--format", "csv"])
    assert table.exit_code == 0, table.output
    assert_safe_csv(table.stdout, want)
    written = runner.invoke(app, ["query", "reactions", "--db", str(hostile_db), "--csv", str(tmp_path / "r.csv")])
    assert written.exit_code == 0, written.output
    assert_safe_csv(file_text(tmp_path / "r.csv"), want)
    exported = runner.invoke(app, ["export", str(tmp_path / "out"), "--db", str(hostile_db)])
    assert exported.exit_code == 0, exported.output
    assert_safe_csv(file_text(tmp_path / "out" / "reactions.csv"), want)
    sql = runner.invoke(app, ["sql", "SELECT product_name FROM products WHERE NOT is_kratom ORDER BY report_id", "--db", str(hostile_db), "--csv", str(tmp_path / "s.csv")])
    assert sql.exit_code == 0, sql.output
    names = assert_safe_csv(file_text(tmp_path / "s.csv"), want - 1)  # KRATOM PLAIN is a kratom product
    assert names[1:3] == [["'" + HOSTILE[0]], [HOSTILE[1]]]  # the lone \r kept, inside quotes


# -- outputs over the database ---------------------------------------------------------------


CSV_COMMANDS = {"query": ["query", "summary"], "sql": ["sql", "SELECT 1 AS one"], "signals": ["signals", "--counts", "COUNTS"]}


@pytest.mark.parametrize(
    "command, target",
    [(c, t) for c in CSV_COMMANDS for t in ("db", "wal", "link", "provenance") if (c, t) != ("sql", "provenance")],  # sql --csv writes no provenance
)
def test_csv_over_the_database_is_refused(fetched_db, tmp_path, command, target):
    db = tmp_path / "copy.duckdb"
    db.write_bytes(fetched_db.read_bytes())
    counts = tmp_path / "counts.csv"
    counts.write_text("term,a,b,c,d\nNAUSEA,5,95,100,9800\n")
    (tmp_path / "link.csv").symlink_to(db)
    csv_file = {"db": db, "wal": Path(f"{db}.wal"), "link": tmp_path / "link.csv", "provenance": tmp_path / "copy"}[target]
    if target == "provenance":
        db = db.rename(tmp_path / "copy.provenance.json")
    before = digest(db)
    args = [str(counts) if a == "COUNTS" else a for a in CSV_COMMANDS[command]]
    result = runner.invoke(app, [*args, "--db", str(db), "--csv", str(csv_file)])
    message = one_sentence_error(result)
    assert message.startswith("Error: ") and "kratom-ae will not write output over it, so choose another file name." in message
    assert digest(db) == before
    assert not Path(f"{db}.wal").exists()
    assert runner.invoke(app, ["status", "--db", str(db)]).exit_code == 0


def test_export_over_the_database_is_refused(fetched_db, tmp_path):
    db = tmp_path / "summary.csv"  # a database whose name an export would write over
    db.write_bytes(fetched_db.read_bytes())
    before = digest(db)
    message = one_sentence_error(runner.invoke(app, ["export", str(tmp_path), "--db", str(db)]))
    assert message == f"Error: {db} is the database; kratom-ae will not write output over it, so choose another file name."
    assert digest(db) == before


def test_export_does_not_write_through_a_link_in_the_folder(fetched_db, tmp_path):
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not yours to overwrite\n")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "summary.csv").symlink_to(elsewhere)
    message = one_sentence_error(runner.invoke(app, ["export", str(folder), "--db", str(fetched_db)]))
    assert message == f"Error: {folder / 'summary.csv'} is a symbolic link; kratom-ae does not write through links it finds in an output folder, so remove it or choose another folder."
    assert elsewhere.read_text() == "not yours to overwrite\n"
    assert sorted(p.name for p in folder.iterdir()) == ["summary.csv"]  # nothing written before the refusal


# -- terminal escape sequences -------------------------------------------------------------


def test_printable_escapes_control_characters_only():
    assert printable(FORGED) == "\\x1b[31mRED\\x1b[0m\\nError: forged"
    assert printable("a\rb\tc\x00d\x7fe\x9bf\u2028g\u202eh") == "a\\rb\\tc\\x00d\\x7fe\\x9bf\\u2028g\\u202eh"
    assert printable("KRATOM (MITRAGYNA SPECIOSA) \u00e9 \u00a0 \u6f22 C:\\path") == "KRATOM (MITRAGYNA SPECIOSA) \u00e9 \u00a0 \u6f22 C:\\path"
    assert printable(12) == "12"


def assert_escaped(output: str, shown: str = "\\x1b[31mRED\\x1b[0m\\nError: forged") -> None:
    assert "\x1b" not in output and "\r" not in output
    assert not any(line.upper().startswith("ERROR: FORGED") for line in output.splitlines()), output
    assert shown in output


def test_terminal_views_escape_control_characters(hostile_db):
    status = runner.invoke(app, ["status", "--db", str(hostile_db)])
    assert status.exit_code == 0, status.output
    assert_escaped(status.stdout)  # last_updated, from the server
    reactions = runner.invoke(app, ["query", "reactions", "--db", str(hostile_db)])
    assert reactions.exit_code == 0, reactions.output
    # Terms are shown by their key (upper case, spaces collapsed): the ESC is still escaped.
    assert_escaped(reactions.stdout, "\\x1b[31MRED\\x1b[0M ERROR: FORGED")
    assert "[RED]MARKUP[/RED] [LINK=HTTP://EVIL.EXAMPLE]LINK[/LINK]" in reactions.stdout  # not read as rich markup
    sql = runner.invoke(app, ["sql", "SELECT product_name, report_id FROM products WHERE NOT is_kratom", "--db", str(hostile_db)])
    assert sql.exit_code == 0, sql.output
    assert_escaped(sql.stdout)
    # JSON keeps the data as it is.
    rows = json.loads(runner.invoke(app, ["sql", "SELECT DISTINCT last_updated FROM fetch_runs", "--db", str(hostile_db), "--format", "json"]).stdout)
    assert rows == [{"last_updated": "2026-11-18" + FORGED}]


def test_signals_table_escapes_control_characters(hostile_db, tmp_path):
    db = tmp_path / "copy.duckdb"
    db.write_bytes(hostile_db.read_bytes())
    with FakeOpenFDA(hostile_records()) as server:
        result = runner.invoke(app, ["signals", "--db", str(db), "--base-url", server.url, "--quiet"])
    assert result.exit_code == 0, result.output
    assert_escaped(result.stdout, "\\x1b[31MRED\\x1b[0M ERROR: FORGED")  # terms by their key


def test_error_messages_escape_control_characters(db):
    body = json.dumps({"error": {"code": "BAD_REQUEST", "message": "bad search" + FORGED}}).encode()
    with FakeOpenFDA(hostile_records()) as server:
        server.faults = [("status", 400, body, {})]
        result = runner.invoke(app, ["fetch", "--db", str(db), "--source", "faers", "--terms", KRATOM_ONLY, "--base-url", server.url, "--quiet"])
    message = one_sentence_error(result)
    assert message == "Error: openFDA rejected the request to drug/event (HTTP 400): bad search\\x1b[31mRED\\x1b[0m\\nError: forged."


def test_retry_notices_escape_control_characters(db):
    body = json.dumps({"error": {"code": "BUSY" + FORGED, "message": "try later"}}).encode()
    with FakeOpenFDA(hostile_records()) as server:
        server.faults = [("status", 503, body, {})]
        result = runner.invoke(app, ["fetch", "--db", str(db), "--source", "faers", "--terms", KRATOM_ONLY, "--base-url", server.url, "--requests-per-minute", "0"])
    assert result.exit_code == 0, result.output
    assert_escaped(result.stderr)
    notice = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert notice == [f"openFDA at {server.url} answered HTTP 503 BUSY\\x1b[31mRED\\x1b[0m\\nError: forged; retrying in 1.0 s."]


# -- databases crafted to read files ---------------------------------------------------------


def crafted(tmp_path, *statements) -> Path:
    """A database with kratom-ae's tables, changed by `statements` ({secret}: a file of the
    user's that it must never read)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE\n")
    db = tmp_path / "crafted.duckdb"
    con = duckdb.connect(str(db))
    con.execute(sqlfiles.sql("schema"))
    for statement in statements:
        con.execute(statement.format(secret=secret))
    con.close()
    return db


def secret_view(table: str) -> list[str]:
    columns = ", ".join(f"line AS {name}" for name in store.schema_columns()[table])
    return [f"DROP TABLE {table}", f"CREATE VIEW {table} AS SELECT {columns} FROM read_csv('{{secret}}', columns = {{{{'line': 'VARCHAR'}}}}, header = false)"]


COMMANDS = [["status"], ["query", "summary"], ["export", "OUT"], ["sql", "SELECT 1 AS one"], ["signals", "--quiet"], ["fetch", "--source", "faers", "--terms", KRATOM_ONLY, "--quiet"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("table", ["reports", "fetch_runs"])
def test_a_view_named_like_a_table_is_refused(tmp_path, command, table):
    db = crafted(tmp_path, *secret_view(table))
    before = digest(db)
    args = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    with FakeOpenFDA(hostile_records()) as server:
        result = runner.invoke(app, [*args, "--db", str(db), *(["--base-url", server.url] if command[0] in ("fetch", "signals") else [])])
    message = one_sentence_error(result)
    assert message == f"Error: The database {db} has a view called {table} where kratom-ae keeps a table, so it was not made by kratom-ae and is not opened."
    assert "TOP-SECRET" not in result.output
    assert digest(db) == before
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_function_standing_in_for_duckdbs_is_refused(tmp_path, command):
    # DuckDB calls a database's macro in place of its own function of the same name.
    db = crafted(tmp_path, "CREATE MACRO any_value(x) AS (SELECT max(line) FROM read_csv('{secret}', columns = {{'line': 'VARCHAR'}}, header = false))")
    args = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    with FakeOpenFDA(hostile_records()) as server:
        result = runner.invoke(app, [*args, "--db", str(db), *(["--base-url", server.url] if command[0] in ("fetch", "signals") else [])])
    message = one_sentence_error(result)
    assert message == f"Error: The database {db} has its own function any_value in place of DuckDB's, so it was not made by kratom-ae and is not opened."
    assert "TOP-SECRET" not in result.output


def test_connections_to_a_database_read_no_file(tmp_path):
    """Whatever a database holds, the connections kratom-ae opens on it read no file: read
    only, for signals, and a fetch's (which reads its own scratch folder only)."""
    db = crafted(tmp_path, "CREATE VIEW peek AS SELECT * FROM read_csv('{secret}', columns = {{'line': 'VARCHAR'}}, header = false)")
    for connection in (lambda: store.connect(db, read_only=True), lambda: store.connect(db)):
        con = connection()
        try:
            with pytest.raises(duckdb.PermissionException):
                con.execute("SELECT * FROM peek").fetchall()
        finally:
            con.close()
    with store.writing(db) as con:
        with pytest.raises(duckdb.PermissionException):
            con.execute("SELECT * FROM peek").fetchall()
        scratch = next(db.parent.glob(".kratom-ae-staging-*"))
        (scratch / "mine.csv").write_text("x\n1\n")
        assert con.execute("SELECT x FROM read_csv($f)", {"f": str(scratch / "mine.csv")}).fetchall() == [(1,)]


# -- what a failed fetch keeps ---------------------------------------------------------------


def test_source_all_into_a_new_file_keeps_the_finished_source(db):
    """CAERS fails after FAERS was published: the new file keeps FAERS, as docs/fetching.md says."""
    faers, caers = synthetic.fixture_dataset(faers_count=30, caers_count=10)
    with FakeOpenFDA(faers, caers) as server:
        del server.data["/food/event.json"]  # the server has no food/event: CAERS fails at once
        result = runner.invoke(app, ["fetch", "--db", str(db), "--terms", KRATOM_ONLY, "--base-url", server.url, "--requests-per-minute", "0", "--quiet"])
    assert one_sentence_error(result) == (
        f"Error: {server.url} has no openFDA endpoint food/event (HTTP 404); check --base-url; faers was fetched in full and kept, caers is as it was before this fetch."
    )
    kratom = {r["safetyreportid"] for t in load_terms(Path(KRATOM_ONLY)) for r in synthetic.search_hits(faers, search_query(t, SOURCES["faers"].search_fields))}
    con = store.connect(db, read_only=True)
    try:
        assert con.execute("SELECT source, count(*) FROM reports GROUP BY source").fetchall() == [("faers", len(kratom))]
        assert con.execute("SELECT DISTINCT source FROM fetch_runs").fetchall() == [("faers",)]
    finally:
        con.close()


# -- synthetic data says so -------------------------------------------------------------------

SYNTHETIC_LINE = (
    "SYNTHETIC DATA: the caers and faers reports in this database come from a server that calls them synthetic "
    "(kratom-ae's test fixtures, `make demo`), not from openFDA; no number made from them describes real reports."
)


def test_synthetic_data_says_so_everywhere(fetched_db, tmp_path):
    status = runner.invoke(app, ["status", "--db", str(fetched_db)])
    assert status.exit_code == 0, status.output
    assert SYNTHETIC_LINE in status.stdout
    assert sum(1 for line in status.stdout.splitlines() if "│ data " in line and "SYNTHETIC: not from openFDA" in line) == 2
    for name in ["summary", "reactions", "skin", "trend", "demographics", "outcomes", "drugs"]:
        table = runner.invoke(app, ["query", name, "--db", str(fetched_db)])
        assert table.exit_code == 0, table.output
        assert table.stdout.rstrip().endswith(SYNTHETIC_LINE), name
    written = runner.invoke(app, ["query", "trend", "--db", str(fetched_db), "--csv", str(tmp_path / "t.csv")])
    assert written.exit_code == 0, written.output
    exported = runner.invoke(app, ["export", str(tmp_path / "out"), "--db", str(fetched_db)])
    assert exported.exit_code == 0, exported.output
    for path in [tmp_path / "t.csv.provenance.json", tmp_path / "out" / "provenance.json"]:
        provenance = json.loads(path.read_text(encoding="utf-8"))
        assert (provenance["data_warning"], provenance["synthetic"]) == (SYNTHETIC_LINE, True)
        assert [(s["source"], s["synthetic"], s["server_disclaimer"]) for s in provenance["sources"]] == [
            ("caers", True, "SYNTHETIC data, not from openFDA."), ("faers", True, "SYNTHETIC data, not from openFDA.")]


def test_data_from_a_server_with_openfdas_disclaimer_is_not_called_synthetic(db, tmp_path):
    faers, _ = synthetic.fixture_dataset(faers_count=20, caers_count=0)
    with FakeOpenFDA(faers, disclaimer=REAL_DISCLAIMER) as server:
        result = runner.invoke(app, ["fetch", "--db", str(db), "--source", "faers", "--terms", KRATOM_ONLY, "--base-url", server.url, "--requests-per-minute", "0", "--quiet"])
    assert result.exit_code == 0, result.output
    status = runner.invoke(app, ["status", "--db", str(db)])
    table = runner.invoke(app, ["query", "summary", "--db", str(db), "--csv", str(tmp_path / "s.csv")])
    assert status.exit_code == 0 and table.exit_code == 0, status.output + table.output
    assert "SYNTHETIC" not in status.stdout and "SYNTHETIC" not in table.stdout
    provenance = json.loads((tmp_path / "s.csv.provenance.json").read_text(encoding="utf-8"))
    assert (provenance["data_warning"], provenance["synthetic"]) == (None, False)
    assert [(s["source"], s["synthetic"], s["server_disclaimer"]) for s in provenance["sources"]] == [("faers", False, REAL_DISCLAIMER)]
