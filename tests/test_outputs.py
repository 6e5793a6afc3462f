"""Never destroy the user's database (issue 18): every option and argument that names a file
or folder a command writes, found by walking the command line, is pointed at the database, its
write-ahead log, links to them, another database and a folder laid with traps; each attempt
ends in one sentence, and the database is left byte for byte as it was."""

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from kratom_ae.cli.main import app, cache_folder, input_path, output_file, output_path
from kratom_ae.queries.export import SIGNALS_LEFT_OUT

runner = CliRunner()

# Every Path a command takes that it only reads, by (command, parameter). Each other Path must
# be parsed by cli.main.output_path, which sends it through queries/outputs.py.
READ_ONLY_PATHS = {
    ("fetch", "terms"),
    ("query", "queries_dir"),
    ("export", "queries_dir"),
    ("signals", "counts"),
    ("signals", "comparator"),
    ("meddra load", "folder"),
    ("bulk load", "cache"),
    ("bulk load", "terms"),
    ("bulk background", "terms"),
    ("signals", "bulk_cache"),
}
# How to run each command that writes a file, with the least it needs besides the output.
# {COUNTS} is a counts file for signals: with it, signals reads no background from openFDA.
WRITERS = {
    ("query", "csv_file"): ["query", "summary", "--csv", "{OUT}"],
    ("sql", "csv_file"): ["sql", "SELECT 1 AS one", "--csv", "{OUT}"],
    ("signals", "csv_file"): ["signals", "--counts", "{COUNTS}", "--csv", "{OUT}"],
    ("cases", "csv_file"): ["cases", "--csv", "{OUT}"],
    ("terms", "csv_file"): ["terms", "--csv", "{OUT}"],
    ("ingredients", "csv_file"): ["ingredients", "--csv", "{OUT}"],
    ("profile", "csv_file"): ["profile", "--hyperpigmentation", "--csv", "{OUT}"],
    ("export", "folder"): ["export", "{OUT}"],
    ("report", "folder"): ["report", "{OUT}"],
}
WITH_PROVENANCE = {"query", "signals", "cases", "profile"}
FOLDERS = {"export", "report"}


def commands(group: typer.Typer, prefix: str = ""):
    """(command name, its function) for every command, sub-commands (meddra load) included."""
    for command in group.registered_commands:
        yield (prefix + (command.name or command.callback.__name__)).strip(), command.callback
    for sub in group.registered_groups:
        yield from commands(sub.typer_instance, f"{prefix}{sub.name} ")


def path_parameters():
    """(command, parameter, its typer info) for every parameter typed Path."""
    for name, callback in commands(app):
        for parameter, hint in typing.get_type_hints(callback, include_extras=True).items():
            if typing.get_origin(hint) is not typing.Annotated:
                continue
            kind, *info = typing.get_args(hint)
            if Path in (kind, *typing.get_args(kind)):
                yield name, parameter, info[0]


def test_every_path_a_command_takes_is_the_database_an_input_or_checked_as_an_output():
    outputs, caches, unclassified = set(), set(), set()
    for command, parameter, info in path_parameters():
        if parameter == "db" or (command, parameter) in READ_ONLY_PATHS:
            assert info.parser is input_path, (command, parameter)  # no empty name
        elif info.parser is cache_folder:  # adds files of its own names only: tests/test_bulk.py attacks it
            caches.add((command, parameter))
        elif info.parser in (output_path, output_file):
            outputs.add((command, parameter))
            assert (info.parser is output_path) == (command in FOLDERS), (command, parameter)
        else:
            unclassified.add((command, parameter))
    assert unclassified == set(), "a new Path option: parse it with output_path or output_file if the command writes it (cache_folder if it keeps files there across runs), or list it in READ_ONLY_PATHS"
    assert outputs == set(WRITERS)  # and every output is attacked below
    # bulk background adds its folder beside each export that bulk download made there
    # (tests/test_local_background.py refuses a file in its place).
    assert caches == {("bulk download", "cache"), ("bulk background", "cache")}


# ---- the database and the traps ------------------------------------------------------------


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


@pytest.fixture(scope="module")
def journalled(fetched_db, tmp_path_factory) -> Path:
    """A copy of the fetched database, D, whose write-ahead log D.wal holds a table of the
    user's notes that was committed just before the process was killed (as after a kill -9:
    DuckDB applies the log when it next opens the file). Made once: each test gets a copy of
    both files (a process per test to make them took a third of this file's time)."""
    db = tmp_path_factory.mktemp("journalled") / "D"
    shutil.copy(fetched_db, db)
    killed = "import duckdb, os, sys; con = duckdb.connect(sys.argv[1]); con.execute(\"SET checkpoint_threshold = '10GB'\"); con.execute(\"CREATE TABLE notes AS SELECT 'my note' AS note\"); os._exit(0)"
    subprocess.run([sys.executable, "-c", killed, str(db)], check=True)
    return db


@pytest.fixture
def place(journalled, tmp_path):
    """tmp/D and tmp/D.wal, copies of `journalled` (the fetched database and a log holding the
    user's notes, not yet applied), and a counts file for signals."""
    db = tmp_path / "D"
    shutil.copy(journalled, db)
    shutil.copy(f"{journalled}.wal", f"{db}.wal")
    assert Path(f"{db}.wal").stat().st_size > 0
    (tmp_path / "counts.csv").write_text("term,a,b,c,d\nNAUSEA,5,95,100,9800\n")
    return tmp_path


def run(writer, place: Path, out: str, db: Path | None = None):
    args = [a.replace("{OUT}", out).replace("{COUNTS}", str(place / "counts.csv")) for a in WRITERS[writer]]
    return runner.invoke(app, [*args, "--db", str(db or place / "D")])


def state(place: Path) -> dict[str, str | None]:
    """Every file in the place, by name, with its digest (links by where they point; a pipe or
    a device by its kind: reading one would wait for ever)."""

    def seen(p: Path) -> str | None:
        if p.is_symlink():
            return f"-> {os.readlink(p)}"
        return digest(p) if p.is_file() else f"special {stat.S_IFMT(p.stat().st_mode):o}"

    return {str(p.relative_to(place)): seen(p) for p in sorted(place.rglob("*")) if not p.is_dir() or p.is_symlink()}


def refused(result, exit_code: int = 1) -> str:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    if exit_code == 2:  # click's usage lines, then the sentence
        lines = [line for line in lines if line.startswith("Error") or line.startswith("Invalid value")]
    assert len(lines) == 1 and lines[0].endswith("."), result.stderr
    return lines[0]


def assert_database_intact(place: Path) -> None:
    """The user's notes (in the write-ahead log) and the reports are all there."""
    notes = runner.invoke(app, ["sql", "SELECT note FROM notes", "--db", str(place / "D"), "--format", "csv"])
    assert notes.stdout == "note\nmy note\n", notes.output
    assert runner.invoke(app, ["status", "--db", str(place / "D")]).exit_code == 0


FILE_TRAPS = {
    # name of the trap: (how to lay it, the name given as the output)
    "the database": (lambda p: None, "D"),
    "the database by another path": (lambda p: (p / "sub").mkdir(), "sub/../D"),
    "its write-ahead log": (lambda p: None, "D.wal"),
    "a symbolic link to the database": (lambda p: (p / "link.csv").symlink_to(p / "D"), "link.csv"),
    "a link to a link to the database": (lambda p: ((p / "link1").symlink_to(p / "D"), (p / "link2.csv").symlink_to(p / "link1")), "link2.csv"),
    "a symbolic link to its write-ahead log": (lambda p: (p / "wal.csv").symlink_to(p / "D.wal"), "wal.csv"),
    "a hard link to the database": (lambda p: os.link(p / "D", p / "hard.csv"), "hard.csv"),
    "another DuckDB database": (lambda p: shutil.copy(p / "D", p / "other.duckdb"), "other.duckdb"),
    "a folder": (lambda p: (p / "folder.csv").mkdir(), "folder.csv"),
}
PROVENANCE_TRAPS = {
    "a provenance link to the database": (lambda p: (p / "x.csv.provenance.json").symlink_to(p / "D"), "x.csv"),
    "a provenance link elsewhere": (lambda p: ((p / "mine.txt").write_text("mine\n"), (p / "x.csv.provenance.json").symlink_to(p / "mine.txt")), "x.csv"),
    "a provenance that is a database": (lambda p: shutil.copy(p / "D", p / "x.csv.provenance.json"), "x.csv"),
}


@pytest.mark.parametrize(
    "writer, trap",
    [
        pytest.param(w, t, id=f"{w[0]} --csv: {t}")
        for w in WRITERS
        if w[0] not in FOLDERS
        for t in [*FILE_TRAPS, *PROVENANCE_TRAPS]
        if t in FILE_TRAPS or w[0] in WITH_PROVENANCE
    ],
)
def test_a_csv_is_never_written_over_the_database(place, writer, trap):
    lay, out = {**FILE_TRAPS, **PROVENANCE_TRAPS}[trap]
    lay(place)
    before = state(place)
    message = refused(run(writer, place, str(place / out)))
    assert "kratom-ae will not write output over it" in message or "does not write through links" in message, message
    assert state(place) == before
    assert_database_intact(place)


def test_the_messages_say_what_the_path_is(place):
    for trap, end in [
        ("the database", "is the database; "),
        ("its write-ahead log", "is the database's write-ahead log; "),
        ("a symbolic link to the database", f"is the database {place / 'D'} (through a symbolic link); "),
        ("a hard link to the database", f"is the database {place / 'D'} (another name of the same file); "),
        ("another DuckDB database", "is a DuckDB database; "),
        ("a folder", "is a folder; "),
    ]:
        lay, out = FILE_TRAPS[trap]
        lay(place)
        assert refused(run(("cases", "csv_file"), place, str(place / out))) == f"Error: {place / out} {end}kratom-ae will not write output over it, so choose another file name."


def test_the_counts_file_is_not_written_over_by_its_own_table(place):
    counts = place / "counts.csv"
    before = counts.read_bytes()
    message = refused(runner.invoke(app, ["signals", "--counts", str(counts), "--csv", str(counts)]))
    assert message == f"Error: {counts} is the --counts file this command reads; kratom-ae will not write output over it, so choose another file name."
    assert counts.read_bytes() == before


def test_a_csv_the_user_names_may_be_a_link_to_a_file_of_theirs(place):
    """The file behind it is written, and the link is left a link."""
    (place / "results").mkdir()
    (place / "latest.csv").symlink_to(place / "results" / "summary.csv")
    result = run(("query", "csv_file"), place, str(place / "latest.csv"))
    assert result.exit_code == 0, result.output
    assert (place / "latest.csv").is_symlink()
    assert (place / "results" / "summary.csv").read_text().startswith("section,measure,reports,")
    assert (place / "latest.csv.provenance.json").is_file() and not (place / "latest.csv.provenance.json").is_symlink()


# ---- folders ---------------------------------------------------------------------------------

FIRST_FILE = {"export": "summary.csv", "report": "report.html"}
FOLDER_TRAPS = {
    "the database as the folder": lambda p, c: "D",
    "a link to the database in the folder": lambda p, c: ((p / "out").mkdir(), (p / "out" / FIRST_FILE[c]).symlink_to(p / "D"), "out")[-1],
    "a link to the database as provenance.json": lambda p, c: ((p / "out").mkdir(), (p / "out" / "provenance.json").symlink_to(p / "D"), "out")[-1],
    "a link to a file elsewhere": lambda p, c: ((p / "mine.txt").write_text("mine\n"), (p / "out").mkdir(), (p / "out" / "trend.csv").symlink_to(p / "mine.txt"), "out")[-1],
    "a database stored as provenance.json": lambda p, c: ((p / "out").mkdir(), shutil.copy(p / "D", p / "out" / "provenance.json"), "out")[-1],
    "a database stored as a file it writes": lambda p, c: ((p / "out").mkdir(), shutil.copy(p / "D", p / "out" / FIRST_FILE[c]), "out")[-1],
    "a file of the user's with a name it writes": lambda p, c: ((p / "out").mkdir(), (p / "out" / "trend.csv").write_text("my own trend\n"), "out")[-1],
    "a file where the folder should be": lambda p, c: ((p / "out").write_text("mine\n"), "out")[-1],
}


@pytest.mark.parametrize("trap", FOLDER_TRAPS)
@pytest.mark.parametrize("command", sorted(FOLDERS))
def test_a_folder_is_never_written_over_the_database_or_through_a_link(place, command, trap):
    out = FOLDER_TRAPS[trap](place, command)
    before = state(place)
    refused(run((command, "folder"), place, str(place / out)))
    assert state(place) == before
    assert_database_intact(place)


@pytest.mark.parametrize("command", sorted(FOLDERS))
def test_the_database_inside_the_folder_under_a_name_it_writes(place, command):
    """--db out/summary.csv (export) or --db out/report.html (report): the database itself."""
    (place / "out").mkdir()
    db = place / "out" / FIRST_FILE[command]
    shutil.move(place / "D", db)
    shutil.move(place / "D.wal", f"{db}.wal")
    before = state(place)
    message = refused(run((command, "folder"), place, str(place / "out"), db=db))
    assert message == f"Error: {db} is the database; kratom-ae will not write output over it, so choose another file name."
    assert state(place) == before


@pytest.mark.parametrize("command", sorted(FOLDERS))
def test_an_empty_folder_name_is_refused_and_nothing_lands_in_the_current_folder(place, command, monkeypatch):
    monkeypatch.chdir(place)
    before = state(place)
    message = refused(run((command, "folder"), place, ""), exit_code=2)
    assert "an empty name is not a file or folder" in message
    assert state(place) == before


def test_a_report_is_not_written_into_an_export_nor_an_export_into_a_report(place, report_dir):
    export = run(("export", "folder"), place, str(place / "exported"))
    assert export.exit_code == 0, export.output
    before = state(place)
    message = refused(run(("report", "folder"), place, str(place / "exported")))
    assert message == f"Error: {place / 'exported'} holds a kratom-ae export (its provenance.json says so); write the report into another folder, so that no folder mixes the files of two runs."
    assert state(place) == before
    shutil.copytree(report_dir, place / "reported")
    before = state(place)
    message = refused(run(("export", "folder"), place, str(place / "reported")))
    assert message == f"Error: {place / 'reported'} holds a kratom-ae report (its provenance.json says so); write the export into another folder, so that no folder mixes the files of two runs."
    assert state(place) == before


def test_an_export_again_into_its_own_folder_replaces_its_files(place):
    first = run(("export", "folder"), place, str(place / "out"))
    assert first.exit_code == 0, first.output
    (place / "out" / "notes.txt").write_text("mine\n")  # a file of the user's, of a name no export writes
    again = runner.invoke(app, ["export", str(place / "out"), "--db", str(place / "D"), "--source", "faers"])
    assert again.exit_code == 0, again.output
    assert (place / "out" / "notes.txt").read_text() == "mine\n"
    assert '"source": "faers"' in (place / "out" / "provenance.json").read_text()
    assert not list(place.glob("out/.kratom-ae-partial-*"))


def test_a_folder_written_half_way_keeps_the_earlier_files(place, monkeypatch):
    """A write that fails on the third file (a full disk) leaves the earlier export's files as
    they were, and no new file and no temporary folder."""
    import errno

    from kratom_ae.queries import outputs

    assert run(("export", "folder"), place, str(place / "out")).exit_code == 0
    before = state(place)
    real, calls = outputs.write_new, []

    def third_fails(path, content, shown):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(shown))
        real(path, content, shown)

    monkeypatch.setattr(outputs, "write_new", third_fails)
    result = runner.invoke(app, ["export", str(place / "out"), "--db", str(place / "D"), "--source", "faers"])
    message = refused(result)
    assert message.startswith(f"Error: Cannot write {place / 'out'}/") and "No space left on device; free some disk space and run it again." in message
    assert state(place) == before


def test_a_killed_runs_temporary_folder_is_removed_but_no_folder_of_the_users(place):
    """A temporary folder kratom-ae made holds its marker and plain files; a folder of the
    user's that only shares the prefix, or one holding the database, is left alone."""
    from kratom_ae.queries.outputs import MARKER

    out = place / "out"
    out.mkdir()
    killed = out / ".kratom-ae-partial-killed"
    killed.mkdir()
    (killed / MARKER).write_bytes(b"")
    (killed / "summary.csv").write_text("half\n")
    mine = out / ".kratom-ae-partial-mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("mine\n")
    (mine / "link").symlink_to(place / "D")
    nested = out / ".kratom-ae-partial-nested"
    nested.mkdir()
    (nested / MARKER).write_bytes(b"")
    (nested / "sub").mkdir()
    (nested / "sub" / "kept.txt").write_text("mine\n")
    forged = out / ".kratom-ae-partial-forged"  # a marker forged around files no run writes
    forged.mkdir()
    (forged / MARKER).write_bytes(b"")
    (forged / "thesis.docx").write_text("mine\n")
    shutil.copy(place / "D", forged / "research.csv")  # a database, whatever its name
    keeper = out / ".kratom-ae-partial-db"
    keeper.mkdir()
    (keeper / MARKER).write_bytes(b"")
    shutil.move(place / "D", keeper / "D")
    shutil.move(place / "D.wal", keeper / "D.wal")
    result = run(("export", "folder"), place, str(out), db=keeper / "D")
    assert result.exit_code == 0, result.output
    assert not killed.exists()
    assert (mine / "thesis.txt").read_text() == "mine\n" and (mine / "link").is_symlink()
    assert (nested / "sub" / "kept.txt").exists()
    assert (keeper / "D").exists() and (keeper / "D.wal").exists()
    assert (forged / "thesis.docx").exists() and (forged / "research.csv").exists()
    assert sorted(p.name for p in out.glob(".kratom-ae-partial-*")) == [
        ".kratom-ae-partial-db", ".kratom-ae-partial-forged", ".kratom-ae-partial-mine", ".kratom-ae-partial-nested"
    ]


def test_an_edited_provenance_cannot_remove_other_files(place):
    """Of the files an earlier export lists and this one does not write, only those still
    byte for byte as it recorded them (SHA-256 in provenance.json), of the kind an export
    writes, directly in the folder, are removed."""
    import hashlib
    import json

    out = place / "out"
    assert run(("export", "folder"), place, str(out)).exit_code == 0
    provenance = json.loads((out / "provenance.json").read_text())
    (place / "notes.csv").write_text("mine\n")
    (out / "notes.txt").write_text("mine\n")
    (out / "mypasswd.csv").write_text("mine\n")
    (out / "old_table.csv").write_text("stale\n")
    (out / "figure.png").write_bytes(b"png")
    sha = lambda text: hashlib.sha256(text).hexdigest()  # noqa: E731
    provenance["output"]["files"] |= {
        "notes.txt": sha(b"mine\n"), "../notes.csv": sha(b"mine\n"), "mypasswd.csv": sha(b"not what it holds"),
        "old_table.csv": sha(b"stale\n"), "figure.png": sha(b"png"), "../D": None,
    }
    (out / "provenance.json").write_text(json.dumps(provenance))
    result = run(("export", "folder"), place, str(out))
    assert result.exit_code == 0, result.output
    assert (place / "notes.csv").exists() and (out / "notes.txt").exists() and (out / "mypasswd.csv").read_text() == "mine\n"
    assert (out / "figure.png").exists()  # an export removes no figure, whatever provenance.json says
    assert not (out / "old_table.csv").exists()
    assert result.stderr.splitlines() == [
        f"Removed {out / 'old_table.csv'}, which the earlier export there wrote and this one does not.",
        f"Left {out / 'figure.png'} alone: the earlier export there lists it, but this export removes only files of its own kind that are still as kratom-ae wrote them; the new provenance.json does not list it.",
        f"Left {out / 'mypasswd.csv'} alone: the earlier export there lists it, but this export removes only files of its own kind that are still as kratom-ae wrote them; the new provenance.json does not list it.",
        SIGNALS_LEFT_OUT,
    ]
    assert_database_intact(place)


def test_a_file_changed_since_the_export_wrote_it_is_not_written_over(place):
    out = place / "out"
    assert run(("export", "folder"), place, str(out)).exit_code == 0
    with open(out / "summary.csv", "a") as f:
        f.write("my note,,,,\n")
    before = state(place)
    message = refused(run(("export", "folder"), place, str(out)))
    assert message == f"Error: {out / 'summary.csv'} has changed since the earlier kratom-ae export there wrote it; move it or choose another folder, so that your changes are not written over."
    assert state(place) == before


@pytest.mark.parametrize("trap", ["not-written-by-export", "the-database", "a-folder", "parquet", "signals"])
def test_export_refuses_a_file_it_will_not_write_before_any_query_runs(place, signals_db, monkeypatch, trap):
    """An export ran every table's query (minutes on a large database) and only then refused
    a file in its folder. Each refusal now comes first: the scope and the tables' queries
    would fail the test had they run."""
    from kratom_ae.queries import library

    def no_query(*args, **kwargs):
        raise AssertionError("a query ran before the refusal")

    out = place / "out"
    out.mkdir()
    db, args = place / "D", []
    if trap == "not-written-by-export":
        (out / "summary.csv").write_text("mine\n")
        expected = f"Error: {out / 'summary.csv'} was not written by an earlier kratom-ae export there; choose an empty or new folder, so that your files are not mixed with the export's."
    elif trap == "the-database":
        os.link(db, out / "reactions.csv")  # the same file as the database, by another name
        expected = f"Error: {out / 'reactions.csv'} is the database {db} (another name of the same file); kratom-ae will not write output over it, so choose another file name."
    elif trap == "a-folder":
        (out / "outcomes.csv").mkdir()
        expected = f"Error: {out / 'outcomes.csv'} is a folder; kratom-ae will not write output over it, so choose another file name."
    elif trap == "parquet":
        (out / "summary.parquet").write_bytes(b"PAR1")
        args = ["--format", "parquet"]
        expected = f"Error: {out / 'summary.parquet'} was not written by an earlier kratom-ae export there; choose an empty or new folder, so that your files are not mixed with the export's."
    else:  # the signals table is written from a cached background: its file is checked too
        db = place / "S"
        shutil.copy(signals_db, db)
        (out / "signals.csv").write_text("mine\n")
        expected = f"Error: {out / 'signals.csv'} was not written by an earlier kratom-ae export there; choose an empty or new folder, so that your files are not mixed with the export's."
    before = state(place)
    monkeypatch.setattr(library, "prepare_scope", no_query)
    monkeypatch.setattr(library, "run", no_query)
    assert refused(runner.invoke(app, ["export", str(out), "--db", str(db), *args])) == expected
    assert state(place) == before


# ---- sql cannot write files either -------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["COPY reports TO '{D}' (FORMAT csv)", "COPY (SELECT 1) TO '{D}.wal'", "COPY (SELECT 1) TO '{P}/elsewhere.csv'", "ATTACH '{P}/other.duckdb' AS other", "DELETE FROM reports", "CREATE TABLE x AS SELECT 1"],
)
def test_sql_cannot_write_the_database_or_any_file(place, statement):
    shutil.copy(place / "D", place / "other.duckdb")
    before = state(place)
    result = runner.invoke(app, ["sql", statement.replace("{D}", str(place / "D")).replace("{P}", str(place)), "--db", str(place / "D")])
    assert refused(result).startswith("Error: The query failed: ")
    assert state(place) == before
    assert_database_intact(place)


@pytest.mark.parametrize("statement", ["ATTACH '{D}' AS again", "CHECKPOINT", "FORCE CHECKPOINT"])
def test_sql_statements_duckdb_accepts_read_only_change_nothing(place, statement):
    """DuckDB takes the database it has open (read-only) for the one attached, and a
    checkpoint of a read-only database writes nothing (the log stays the log)."""
    before = state(place)
    result = runner.invoke(app, ["sql", statement.replace("{D}", str(place / "D")), "--db", str(place / "D")])
    assert result.exit_code in (0, 1) and "Traceback" not in result.output
    assert state(place) == before
    assert_database_intact(place)


# ---- the options that name a file the command reads, or the database -------------------------------

MEDDRA = Path(__file__).parent / "fixtures" / "meddra_synthetic"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["fetch", "--db", "{P}/D.wal", "--base-url", "http://127.0.0.1:9", "--quiet"], id="fetch --db D.wal"),
        pytest.param(["signals", "--db", "{P}/D.wal", "--quiet"], id="signals --db D.wal"),
        pytest.param(["meddra", "load", str(MEDDRA), "--db", "{P}/D.wal"], id="meddra load --db D.wal"),
        pytest.param(["status", "--db", "{P}/D.wal"], id="status --db D.wal"),
        pytest.param(["fetch", "--db", "{P}/D", "--terms", "{P}/D", "--base-url", "http://127.0.0.1:9", "--quiet"], id="fetch --terms D"),
        pytest.param(["signals", "--counts", "{P}/D"], id="signals --counts D"),
        pytest.param(["signals", "--counts", "{P}/D.wal", "--csv", "{P}/D.wal"], id="signals --counts D.wal --csv D.wal"),
        pytest.param(["meddra", "load", "{P}/D", "--db", "{P}/D"], id="meddra load D"),
        pytest.param(["meddra", "load", "{P}/med", "--db", "{P}/D"], id="meddra load (links to D as its files)"),
        pytest.param(["query", "evil", "--queries-dir", "{P}/q", "--db", "{P}/D"], id="query --queries-dir (COPY TO D)"),
        pytest.param(["export", "{P}/out", "--queries-dir", "{P}/q", "--db", "{P}/D"], id="export --queries-dir (COPY TO D)"),
        pytest.param(["query", "evil", "--queries-dir", "{P}/D", "--db", "{P}/D"], id="query --queries-dir D"),
    ],
)
def test_options_that_read_a_file_never_change_the_database(place, args):
    (place / "med").mkdir()
    for name in ("mdhier.asc", "pt.asc", "llt.asc", "soc.asc"):
        (place / "med" / name).symlink_to(place / "D")
    (place / "q").mkdir()
    (place / "q" / "evil.sql").write_text(f"-- description: tries to write the database\nCOPY reports TO '{place / 'D'}' (FORMAT csv)\n")
    before = state(place)
    result = runner.invoke(app, [a.replace("{P}", str(place)) for a in args])
    assert result.exit_code != 0, result.output
    refused(result, result.exit_code)
    assert state(place) == before
    assert_database_intact(place)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["meddra", "load", str(MEDDRA)], id="meddra load"),
        pytest.param(["fetch", "--base-url", "http://127.0.0.1:9", "--quiet"], id="fetch"),
        pytest.param(["signals", "--quiet"], id="signals"),
        pytest.param(["status"], id="status"),
    ],
)
def test_a_file_that_is_not_a_database_is_not_opened_as_one(tmp_path, args):
    """DuckDB 2.0 opens an existing CSV given as a database as an in-memory database over it:
    `meddra load --db notes.csv` said it had loaded MedDRA into notes.csv, and nothing was kept."""
    notes = tmp_path / "notes.csv"
    notes.write_text("my,own\nnotes,here\n")
    message = refused(runner.invoke(app, [*args, "--db", str(notes)]))
    assert message == f"Error: {notes} is not a DuckDB database, so kratom-ae neither reads it nor writes into it; give --db a database, or a new file name."
    assert notes.read_text() == "my,own\nnotes,here\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.csv"]


# ---- what a hostile review found (issue 18, after the first fixes) ---------------------------------


def pending_journal(db: Path) -> None:
    """A commit in db's write-ahead log, not yet in the file (as after a kill -9)."""
    killed = "import duckdb, os, sys; con = duckdb.connect(sys.argv[1]); con.execute(\"SET checkpoint_threshold = '10GB'\"); con.execute(\"CREATE TABLE IF NOT EXISTS notes2 AS SELECT 1 AS x\"); os._exit(0)"
    subprocess.run([sys.executable, "-c", killed, str(db)], check=True)


def test_the_journal_of_a_database_with_a_question_mark_is_known_by_duckdbs_name(place):
    """DuckDB puts ".wal" before the first "?" of a path: the log of k?x is k.wal?x."""
    other = place / "k?x"
    shutil.copy(place / "D", other)
    pending_journal(other)
    assert (place / "k.wal?x").exists() and not (place / "k?x.wal").exists()
    before = state(place)
    message = refused(run(("query", "csv_file"), place, str(place / "k.wal?x")))
    assert message == f"Error: {place / 'k.wal?x'} is the write-ahead log of a DuckDB database; kratom-ae will not write output over it, so choose another file name."
    assert state(place) == before


@pytest.mark.parametrize("special", ["/dev/null", "/dev/stdout", "//dev/stdout", "/proc/self/fd/1", "link to fd 1", "folder link to fds", "fifo", "device"])
def test_a_csv_is_never_written_over_a_device_or_a_pipe(place, special):
    """A rename would have replaced /dev/null (as root) with a regular file, and a pipe would
    have been waited on for ever; /dev/stdout resolved to the file stdout went to."""
    if special == "link to fd 1":
        (place / "out1.csv").symlink_to("/proc/self/fd/1")
        special = str(place / "out1.csv")
    elif special == "folder link to fds":
        (place / "fds").symlink_to("/proc/self/fd")
        special = str(place / "fds" / "1")
    elif special == "fifo":
        os.mkfifo(place / "fifo")
        special = str(place / "fifo")
    elif special == "device":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(place / "mynull", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        special = str(place / "mynull")
    before = state(place)
    dev_null = os.stat("/dev/null")
    message = refused(run(("query", "csv_file"), place, special))
    assert "kratom-ae will not write output over it" in message and ("a device" in message), message
    assert state(place) == before
    assert os.stat("/dev/null").st_ino == dev_null.st_ino and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not Path("/dev/null.provenance.json").exists()


def test_a_pipe_in_an_output_folder_is_refused_not_waited_on(place):
    (place / "out").mkdir()
    os.mkfifo(place / "out" / "provenance.json")
    message = refused(run(("export", "folder"), place, str(place / "out")))
    assert message == f"Error: {place / 'out' / 'provenance.json'} is a device, a pipe or a socket, not a file; kratom-ae will not write output over it, so choose another file name."


@pytest.mark.parametrize("name", ["../escaped", "{P}/absolute", "sub/table", "..", "bell\x07"])
def test_a_tables_name_cannot_send_an_export_outside_its_folder(place, name):
    (place / "q").mkdir()
    (place / "q" / "a.sql").write_text(f"-- name: {name.replace('{P}', str(place))}\nSELECT 1 AS x\n")
    before = state(place)
    message = refused(runner.invoke(app, ["export", str(place / "out"), "--db", str(place / "D"), "--queries-dir", str(place / "q")]))
    assert message.startswith(f"Error: {place / 'q' / 'a.sql'}: a table's name may hold only letters, digits, _ and - ")
    assert state(place) == before
    assert not (place / "out").exists()


def test_a_provenance_file_of_the_users_beside_the_csv_is_not_written_over(place):
    (place / "z.csv.provenance.json").write_text('{"my": "notes"}\n')
    before = state(place)
    message = refused(run(("query", "csv_file"), place, str(place / "z.csv")))
    assert message == f"Error: {place / 'z.csv.provenance.json'} was not written by kratom-ae, which writes FILE.provenance.json beside --csv FILE; move it, or choose another file name."
    assert state(place) == before
    (place / "z.csv.provenance.json").unlink()
    assert run(("query", "csv_file"), place, str(place / "z.csv")).exit_code == 0
    assert run(("query", "csv_file"), place, str(place / "z.csv")).exit_code == 0  # its own provenance is replaced


def test_a_csv_gets_the_mode_of_the_file_it_replaces_or_the_umask(place):
    new = run(("query", "csv_file"), place, str(place / "new.csv"))
    assert new.exit_code == 0, new.output
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((place / "new.csv").stat().st_mode) == 0o666 & ~mask  # not mkstemp's 0600
    (place / "shared.csv").write_text("old\n")
    (place / "shared.csv").chmod(0o664)
    assert run(("query", "csv_file"), place, str(place / "shared.csv")).exit_code == 0
    assert stat.S_IMODE((place / "shared.csv").stat().st_mode) == 0o664


@pytest.mark.parametrize(
    "args, said",
    [
        (["fetch", "--terms", "/dev/zero", "--base-url", "http://127.0.0.1:9"], "/dev/zero is a device, a pipe or a socket, not a file; give the terms file as a file."),
        (["signals", "--counts", "/dev/zero"], "/dev/zero is a device, a pipe or a socket, not a file; give the counts file as a file."),
        (["signals", "--counts", "{P}"], "{P} is a folder; give the counts file as a file."),
        (["signals", "--counts", "{P}/D"], "The counts file {P}/D is not UTF-8 text (byte ..."),  # the byte is the file's checksum
        (["query", "--queries-dir", "{P}/zero"], "{P}/zero/a.sql is a device, a pipe or a socket, not a file; give a table file as a file."),
        (["fetch", "--terms", "{P}/fifo", "--base-url", "http://127.0.0.1:9"], "{P}/fifo is a device, a pipe or a socket, not a file; give the terms file as a file."),
        (["meddra", "load", "{P}/med"], "{P}/med/pt.asc is not a regular file (a folder, a device or a pipe); a MedDRA release's files are text files."),
    ],
    ids=["terms /dev/zero", "counts /dev/zero", "counts a folder", "counts the database", "a table file linked to /dev/zero", "terms a pipe", "meddra a pipe"],
)
def test_a_file_to_read_that_is_a_device_a_pipe_or_a_folder_is_refused_not_read_for_ever(place, args, said):
    (place / "zero").mkdir()
    (place / "zero" / "a.sql").symlink_to("/dev/zero")
    os.mkfifo(place / "fifo")
    (place / "med").mkdir()
    for name in ("mdhier.asc", "llt.asc", "soc.asc"):
        (place / "med" / name).write_text("1$x$\n")
    os.mkfifo(place / "med" / "pt.asc")
    before = state(place)
    result = runner.invoke(app, [*[a.replace("{P}", str(place)) for a in args], "--db", str(place / "D")])
    message, said = refused(result), "Error: " + said.replace("{P}", str(place))
    assert message.startswith(said[:-3]) if said.endswith("...") else message == said, message
    assert state(place) == before


@pytest.mark.parametrize(
    "args",
    [["status", "--db", ""], ["query", "--queries-dir", "", "--db", "{P}/D"], ["fetch", "--terms", "", "--db", "{P}/new.duckdb"], ["signals", "--counts", ""]],
    ids=["--db ''", "--queries-dir ''", "--terms ''", "--counts ''"],
)
def test_an_empty_name_to_read_is_a_usage_error(place, args):
    message = refused(runner.invoke(app, [a.replace("{P}", str(place)) for a in args]), exit_code=2)
    assert message.endswith("an empty name is not a file or folder; name one.")


def test_a_csv_name_ending_in_a_slash_is_a_folder_not_a_file(place):
    before = state(place)
    message = refused(run(("query", "csv_file"), place, str(place / "newdir") + "/"), exit_code=2)
    assert message.endswith(f"{place / 'newdir'}/ ends with a slash or a dot, so it names a folder; give a file name, such as results/table.csv.")
    assert state(place) == before


def test_signals_from_its_cache_leaves_the_database_byte_for_byte(signals_db, tmp_path):
    """With the background cached, signals opens the database read-only: a journal waiting
    beside it stays a journal (it was written into the file, which changed its bytes)."""
    db = tmp_path / "D"
    shutil.copy(signals_db, db)
    pending_journal(db)
    before = state(tmp_path)
    result = runner.invoke(app, ["signals", "--db", str(db), "--quiet", "--format", "csv", "--base-url", "http://127.0.0.1:9"])
    assert result.exit_code == 0, result.output
    assert state(tmp_path) == before


def test_export_prints_the_paths_it_wrote_escaped(place):
    out = place / "o\nut\x1b[1m"
    result = run(("export", "folder"), place, str(out))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    assert f"{place}/o\\nut\\x1b[1m/summary.csv" in result.stdout.splitlines()


# ---- what the second hostile review found ------------------------------------------------------------


def test_a_folder_of_the_users_named_like_duckdbs_spill_folder_is_kept(fetched_db, tmp_path):
    """A fetch removes the spill folder DB.tmp a killed fetch left; a folder of that name that
    holds anything but DuckDB's files is the user's (it was removed whole, with a database in it)."""
    from vcr_setup import make_vcr

    db = tmp_path / "F"
    shutil.copy(fetched_db, db)
    mine = tmp_path / "F.tmp"
    mine.mkdir()
    (mine / "draft.txt").write_text("mine\n")
    shutil.copy(fetched_db, mine / "backup.duckdb")
    with make_vcr("none").use_cassette("synthetic_fetch_all.json", allow_playback_repeats=True):
        result = runner.invoke(app, ["fetch", "--db", str(db), "--quiet", "--requests-per-minute", "0"])
    assert result.exit_code == 0, result.output
    assert (mine / "draft.txt").read_text() == "mine\n" and (mine / "backup.duckdb").exists()


@pytest.mark.parametrize("how", ["relative", "through a link"])
def test_the_journal_of_a_database_in_a_folder_with_a_question_mark(place, how, monkeypatch):
    """DuckDB puts ".wal" before the first "?" of the whole path: the database p?q/W keeps its
    journal in the folder p.wal?q, as p.wal?q/W."""
    (place / "p?q").mkdir()
    (place / "p.wal?q").mkdir()
    shutil.copy(place / "D", place / "p?q" / "W")
    pending_journal(place / "p?q" / "W")
    assert (place / "p.wal?q" / "W").exists()
    if how == "relative":
        monkeypatch.chdir(place / "p.wal?q")
        out = "W"
    else:
        (place / "S").symlink_to(place / "p.wal?q")
        out = str(place / "S" / "W")
    before = state(place)
    message = refused(runner.invoke(app, ["terms", "--db", str(place / "D"), "--csv", out]))
    assert message.endswith("is the write-ahead log of a DuckDB database; kratom-ae will not write output over it, so choose another file name.")
    assert state(place) == before


KILLED_EXPORT = """
import os, sys
sys.path[:0] = [{tests!r}, {root!r}]
from kratom_ae.queries import outputs
renames, real = [], os.replace
def replace(a, b):
    renames.append(b)
    if len(renames) == {at}:
        os._exit(9)  # as a kill -9 between two renames
    real(a, b)
outputs.os.replace = replace
from kratom_ae.cli.main import app
app(["export", {out!r}, "--db", {db!r}, "--source", "faers"], prog_name="kratom-ae")
"""


@pytest.mark.parametrize("at", [1, 2, 5, 12])
def test_an_export_killed_between_its_renames_is_finished_by_the_next(place, at):
    """A kill -9 among the renames left new files under the earlier provenance.json, and every
    later export refused the folder ("has changed since")."""
    import json

    out = place / "out"
    assert run(("export", "folder"), place, str(out)).exit_code == 0
    root = Path(__file__).parents[1]
    code = KILLED_EXPORT.format(tests=str(root / "tests"), root=str(root), at=at, out=str(out), db=str(place / "D"))
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert killed.returncode == 9, killed.stderr
    again = runner.invoke(app, ["export", str(out), "--db", str(place / "D")])
    assert again.exit_code == 0, again.output
    files = json.loads((out / "provenance.json").read_text())["output"]["files"]
    assert {name: digest(out / name) for name in files} == files  # every file as listed
    assert sorted(p.name for p in out.iterdir()) == sorted([*files, "provenance.json"])  # nothing left over


def test_a_provenance_nested_past_pythons_limit_is_not_kratom_aes(place):
    (place / "deep.csv.provenance.json").write_text("[" * 200_000)
    message = refused(run(("query", "csv_file"), place, str(place / "deep.csv")))
    assert message.endswith("was not written by kratom-ae, which writes FILE.provenance.json beside --csv FILE; move it, or choose another file name.")


def test_tables_whose_names_differ_only_in_case_are_refused(place):
    (place / "q").mkdir()
    (place / "q" / "upper.sql").write_text("-- name: CASES\nSELECT 1 AS x\n")
    message = refused(runner.invoke(app, ["export", str(place / "out"), "--db", str(place / "D"), "--queries-dir", str(place / "q")]))
    assert message == f"Error: kratom-ae would write CASES.csv and cases.csv into {place / 'out'}, names that differ only in case; rename one of the tables."
    assert not (place / "out").exists()


def test_a_csv_name_ending_in_a_dot_is_a_folder_not_a_file(place):
    message = refused(run(("query", "csv_file"), place, str(place / "newname") + "/."), exit_code=2)
    assert message.endswith("ends with a slash or a dot, so it names a folder; give a file name, such as results/table.csv.")
    assert not (place / "newname").exists()


def test_a_huge_meddra_release_file_is_not_read_whole(place):
    shutil.copytree(MEDDRA, place / "release")
    release = next((place / "release").rglob("meddra_release.asc"), None) or place / "release" / "MedAscii" / "meddra_release.asc"
    with open(release, "ab") as f:
        f.truncate(8 * 2**30)  # 8 GB, sparse: reading it whole would need the memory
    result = runner.invoke(app, ["meddra", "load", str(place / "release"), "--db", str(place / "D")])
    assert result.exit_code == 0, result.output
