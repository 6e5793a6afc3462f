"""No traceback, ever: interruptions, full disks, unwritable folders, damaged databases and
input that cannot be sent each end in one sentence on stderr and a non-zero exit, with the
database as it was. Failures that cannot be caused on purpose in a test are simulated at the
exact point, with the exact exception, where DuckDB, the kernel or requests raise them; the
full disk and the file-size limit are also caused for real (a small tmpfs, RLIMIT_FSIZE), and
the read-only folder by running as another user."""

import ctypes
import errno
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from kratom_ae.cli.main import app
from kratom_ae.ingest import publish, sqlfiles, store
from kratom_ae.ingest.openfda import public_url
from test_fetch_database import dump
from vcr_setup import make_vcr

runner = CliRunner()
ROOT = Path(__file__).parents[1]
KRATOM_ONLY = Path(__file__).parent / "fixtures" / "terms_kratom.csv"
UNCHANGED = "the database is as it was before this fetch."


@pytest.fixture(autouse=True)
def no_pacing(monkeypatch):
    monkeypatch.setattr("kratom_ae.ingest.openfda.Pacer.wait", lambda self: None)


@pytest.fixture
def db(fetched_db, tmp_path):
    copy = tmp_path / "kratom.duckdb"
    shutil.copy(fetched_db, copy)
    return copy


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def one_sentence(result, code=1) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and lines[0].endswith("."), result.stderr
    return lines[0]


def fetch_replayed(db, *extra):
    with make_vcr("none").use_cassette("synthetic_fetch_all.json", allow_playback_repeats=True):
        return run("fetch", "--db", db, "--quiet", *extra)


def no_requests(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a request was sent")

    monkeypatch.setattr("requests.Session.get", refuse)


class Connection:
    """A DuckDB connection whose chosen calls fail the way DuckDB fails them (a connection
    object's methods cannot be replaced, so it is wrapped)."""

    def __init__(self, con, *, execute_fails=None, commit_fails=None):
        self._con, self._execute_fails, self._commit_fails = con, execute_fails, commit_fails

    def __getattr__(self, name):
        return getattr(self._con, name)

    def execute(self, query, *args):
        if self._execute_fails and self._execute_fails[0](query):
            raise self._execute_fails[1]
        # DuckDB finds a caller's DataFrames by name in the calling frame, which is now this
        # one: hand them over explicitly.
        frames = {k: v for k, v in sys._getframe(1).f_locals.items() if isinstance(v, pd.DataFrame)}
        for name, frame in frames.items():
            self._con.register(name, frame)
        try:
            return self._con.execute(query, *args)
        finally:
            for name in frames:
                self._con.unregister(name)

    def commit(self):
        if self._commit_fails:
            self._con.rollback()  # DuckDB ends the transaction itself when a commit fails
            raise self._commit_fails
        return self._con.commit()


# ---- Ctrl-C ---------------------------------------------------------------------------------

def test_ctrl_c_inside_duckdb_during_download(db, monkeypatch):
    """A Ctrl-C that arrives while DuckDB shapes a page comes back as RuntimeError("Query
    interrupted"), not as KeyboardInterrupt (checked for real in test_duckdb_reports_ctrl_c_so)."""
    before = dump(db)

    def interrupted(*args):
        raise RuntimeError("Query interrupted")

    monkeypatch.setattr("kratom_ae.ingest.staging.shape_batch", interrupted)
    result = fetch_replayed(db)
    assert one_sentence(result, 130) == f"Error: Interrupted; {UNCHANGED}"
    assert dump(db) == before


def test_ctrl_c_during_publish(db, monkeypatch):
    """Interrupted in the commit, DuckDB has already rolled back: rolling back again ("cannot
    rollback - no transaction is active") must not replace the interruption."""
    before = dump(db)
    connect = store.connect
    monkeypatch.setattr(store, "connect", lambda *a, **k: Connection(connect(*a, **k), commit_fails=RuntimeError("Query interrupted")))
    result = fetch_replayed(db)
    assert one_sentence(result, 130) == f"Error: Interrupted; {UNCHANGED}"
    assert dump(db) == before


def test_ctrl_c_after_one_source_was_published(db, monkeypatch):
    before = dump(db)
    calls = []
    connect = store.connect

    def second_commit_interrupted(*a, **k):
        con = connect(*a, **k)
        wrapped = Connection(con)
        original = con.commit

        def commit():
            calls.append(1)
            if len(calls) == 2:
                con.rollback()
                raise RuntimeError("Query interrupted")
            return original()

        wrapped.commit = commit
        return wrapped

    monkeypatch.setattr(store, "connect", second_commit_interrupted)
    result = fetch_replayed(db)
    assert one_sentence(result, 130) == "Error: Interrupted; faers was fetched in full and kept, caers is as it was before this fetch."
    after = dump(db)
    assert after["reports"] == before["reports"]  # the same openFDA data, fetched again


def test_duckdb_reports_ctrl_c_so():
    """The real thing the tests above simulate: SIGINT during a DuckDB query. (DuckDB notices
    it at some point of the query, at the latest when the query ends: a few seconds here.)"""
    code = (
        "import duckdb, os, signal, threading\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored\n"
        "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # or blocked\n"
        "con = duckdb.connect()  # first: on a busy machine connecting alone can take 0.1 s\n"
        "threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
        "try:\n"
        "    con.execute('SELECT count(*) FROM range(500000000) t(x) WHERE x % 7 = 3').fetchall()\n"
        "except BaseException as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "RuntimeError Query interrupted"


def test_ctrl_c_in_a_table_command(fetched_db, monkeypatch):
    def interrupted(*args, **kwargs):
        raise RuntimeError("Query interrupted")

    monkeypatch.setattr("kratom_ae.queries.library.run", interrupted)
    assert one_sentence(run("query", "summary", "--db", fetched_db), 130) == "Error: Interrupted."


# ---- full disks, file-size limits -----------------------------------------------------------

def test_disk_full_while_saving_a_page(db, monkeypatch):
    before = dump(db)

    def full(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_bytes", full)
    message = one_sentence(fetch_replayed(db))
    assert re.fullmatch(
        rf"Error: Cannot write {re.escape(str(db.parent))}/\.kratom-ae-staging-\w+/source-\w+/page-\d+\.json: No space left on device; "
        rf"free some disk space and run it again; {UNCHANGED}",
        message,
    ), message
    assert dump(db) == before


@pytest.mark.parametrize("step", ["read_records", "faers_page"])
def test_disk_full_in_duckdb_is_not_called_a_bad_page(db, monkeypatch, step):
    """A write that fails inside DuckDB while a page is read or shaped is the disk's fault:
    not "openFDA sent a page kratom-ae cannot read", and not "not valid JSON" after retries."""
    before = dump(db)
    failure = duckdb.IOException(f'IO Error: Could not write file "{db.parent}/scratch.tmp": No space left on device')
    real_connect = duckdb.connect

    def connect(path=":memory:", *a, **k):
        con = real_connect(path, *a, **k)
        return Connection(con, execute_fails=(lambda q: q == sqlfiles.sql(step), failure))

    monkeypatch.setattr("kratom_ae.ingest.staging.duckdb.connect", connect)
    result = fetch_replayed(db)
    assert one_sentence(result) == f"Error: Cannot write {db.parent}/scratch.tmp: No space left on device; free some disk space and run it again; {UNCHANGED}"
    assert dump(db) == before


def test_disk_full_at_publish(db, monkeypatch):
    before = dump(db)
    failure = duckdb.TransactionException(f'TransactionContext Error: Failed to commit: Could not write file "{db}.wal": No space left on device')
    connect = store.connect
    monkeypatch.setattr(store, "connect", lambda *a, **k: Connection(connect(*a, **k), commit_fails=failure))
    result = fetch_replayed(db)
    assert one_sentence(result) == f"Error: Cannot write {db}.wal: No space left on device; free some disk space and run it again; {UNCHANGED}"
    assert dump(db) == before


FSIZE_FETCH = """
import resource, sys
sys.path[:0] = [{tests!r}, {root!r}]
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
from vcr_setup import make_vcr
from kratom_ae.cli.main import app
with make_vcr("none").use_cassette("synthetic_fetch_all.json", allow_playback_repeats=True):
    app(["fetch", "--db", {db!r}, "--quiet", "--requests-per-minute", "0"], prog_name="kratom-ae")
"""


# With today's fixture, 100 kB stops the first page file, 1 MB the scratch database and 2 MB
# the database's own journal at publish; whichever file it is, the answer is the same.
@pytest.mark.parametrize("limit", [100_000, 1_000_000, 2_000_000])
def test_file_too_large_for_real(db, limit):
    """A real per-file size limit (RLIMIT_FSIZE; Python ignores SIGXFSZ, so writes fail with
    EFBIG "File too large"), wherever in the fetch it strikes."""
    before = dump(db)
    code = FSIZE_FETCH.format(tests=str(ROOT / "tests"), root=str(ROOT), limit=limit, db=str(db))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert re.fullmatch(
        r"Error: Cannot write \S+: File too large; a limit on the size of one file \(ulimit -f, or the file system's own\) stopped it; "
        rf"lift the limit or use another disk; {UNCHANGED}\n",
        out.stderr,
    ), out.stderr
    assert dump(db) == before


def can_mount_tmpfs() -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    probe = Path(tempfile.mkdtemp())
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True).returncode == 0
        if mounted:
            subprocess.run(["umount", str(probe)], check=True)
        return mounted
    finally:
        probe.rmdir()


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs root and permission to mount a tmpfs")
@pytest.mark.parametrize("spare_kb", [20, 300, 2500])
def test_disk_full_for_real(fetched_db, tmp_path, spare_kb):
    """The database on a small tmpfs with a little room to spare: the fetch runs out of space
    (in the scratch folder's Parquet files or pages, or at publish) and says so, naming a file
    on that disk (DuckDB's own write errors once named "exception_type")."""
    disk = tmp_path / "disk"
    disk.mkdir()
    size_kb = fetched_db.stat().st_size // 1024 + spare_kb
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(disk)], check=True)
    try:
        db = disk / "kratom.duckdb"
        shutil.copy(fetched_db, db)
        before = dump(db)
        message = one_sentence(fetch_replayed(db))
        assert re.fullmatch(rf"Error: Cannot write {re.escape(str(disk))}/\S+: No space left on device; free some disk space and run it again; {UNCHANGED}", message), message
        assert dump(db) == before
    finally:
        subprocess.run(["umount", str(disk)], check=True)


# ---- a folder that cannot be written --------------------------------------------------------

def without_dac_override() -> None:
    """In the child, before it runs: drop root's power to ignore file permissions (from the
    capability bounding set, so the program it runs never has it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def permissions_can_bind() -> bool:
    if os.geteuid() != 0:
        return True  # chmod alone protects the folder
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o555)
    try:
        probe = subprocess.run([sys.executable, "-c", f"open({str(folder / 'x')!r}, 'w')"], preexec_fn=without_dac_override, capture_output=True)
        return probe.returncode != 0
    except OSError:
        return False
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


@pytest.fixture
def read_only_folder(fetched_db, tmp_path):
    """A folder the user may not write, holding a database file they may write. Tests run as
    root, whom permissions do not stop: then the command runs without that power."""
    folder = tmp_path / "shared"
    folder.mkdir()
    db = folder / "kratom.duckdb"
    shutil.copy(fetched_db, db)
    folder.chmod(0o555)
    yield db
    folder.chmod(0o755)


def run_as_user(*args):
    if os.geteuid() != 0:
        result = run(*args)
        return result.exit_code, result.stderr
    out = subprocess.run([sys.executable, "-m", "kratom_ae.cli.main", *map(str, args)], preexec_fn=without_dac_override, capture_output=True, text=True, cwd=ROOT, timeout=120)
    return out.returncode, out.stderr


NEEDS_PERMISSIONS = pytest.mark.skipif(not permissions_can_bind(), reason="file permissions cannot be made to bind here")


@NEEDS_PERMISSIONS
def test_fetch_into_a_read_only_folder(read_only_folder):
    """Refused before anything is downloaded (the base URL has no server: a request would
    end in a different message, after retries)."""
    before = dump(read_only_folder)
    code, stderr = run_as_user("fetch", "--db", read_only_folder, "--base-url", "http://127.0.0.1:9", "--quiet")
    assert code == 1
    assert stderr == f"Error: Cannot write {read_only_folder.parent}: Permission denied; use a folder you can write, with --db; {UNCHANGED}\n"
    assert dump(read_only_folder) == before


@NEEDS_PERMISSIONS
def test_meddra_load_into_a_read_only_folder(read_only_folder):
    code, stderr = run_as_user("meddra", "load", ROOT / "tests" / "fixtures" / "meddra_synthetic", "--db", read_only_folder)
    assert code == 1
    assert stderr == f"Error: Cannot write {read_only_folder}.wal: Permission denied; use a folder you can write, with --db; the database is as it was before.\n"
    con = duckdb.connect(str(read_only_folder), read_only=True)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'meddra%'").fetchone()[0] == 0
    con.close()


# ---- damaged databases ----------------------------------------------------------------------

@pytest.fixture(params=["half", "last 4 KiB"])
def truncated(db, request):
    size = db.stat().st_size
    con = duckdb.connect(str(db), read_only=True)
    block_size, used = con.execute("SELECT block_size, used_blocks FROM pragma_database_size()").fetchone()
    con.close()
    cut = size // 2 if request.param == "half" else size - 4096
    with open(db, "r+b") as f:
        f.truncate(cut)
    return db, cut, block_size, used


@pytest.mark.parametrize("command", [("status",), ("query", "summary"), ("sql", "SELECT count(*) FROM raw_reports"), ("fetch", "--quiet")])
def test_truncated_database(truncated, command, monkeypatch):
    db, size, block_size, used = truncated
    no_requests(monkeypatch)
    message = one_sentence(run(*command, "--db", db))
    assert message == (
        f"Error: The database {db} is damaged (the file has {size:,} bytes, not 12,288 bytes of headers and whole blocks of {block_size:,} bytes, "
        f"at least the {used:,} in use: it was cut short); restore it from a backup, or fetch into a new file with --db."
    )


def test_a_database_whose_free_blocks_duckdb_cut_off_is_not_damaged(db):
    # DuckDB 2.0 cuts free blocks off the end of the file at a checkpoint, yet still counts
    # them in total_blocks: a database fetched into three times was refused as "cut short".
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE scratch AS SELECT range AS x, md5(range::VARCHAR) AS y FROM range(300000)")
    con.execute("CHECKPOINT")
    con.execute("DROP TABLE scratch")
    con.execute("CHECKPOINT")
    con.close()
    con = duckdb.connect(str(db), read_only=True)
    block_size, total = con.execute("SELECT block_size, total_blocks FROM pragma_database_size()").fetchone()
    con.close()
    assert db.stat().st_size < 12288 + total * block_size  # the situation this test is about
    result = run("status", "--db", db)
    assert (result.exit_code, result.stderr) == (0, "")
    assert "faers" in result.stdout


def corrupt(db, table, column=None):
    """Overwrite bytes inside a block holding `table` (`column`): DuckDB's checksum of that
    block no longer matches."""
    con = duckdb.connect(str(db), read_only=True)
    block_size = con.execute("SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()").fetchone()[0]
    block = con.execute(
        f"SELECT max(block_id) FROM pragma_storage_info('{table}') WHERE persistent AND block_id >= 0 AND ($column IS NULL OR column_name = $column)",
        {"column": column},
    ).fetchone()[0]
    con.close()
    with open(db, "r+b") as f:
        f.seek(3 * 4096 + block * block_size + 64)  # past the three file headers
        f.write(b"\xff" * 64)
    return db


@pytest.fixture
def corrupted(db):
    return corrupt(db, "raw_reports")


@pytest.mark.parametrize("command", [("status",), ("query", "summary"), ("fetch", "--quiet")])
def test_corrupted_database_in_status_query_and_fetch(db, command, monkeypatch):
    """Here DuckDB finds the damage inside a segment ("Corrupted DICT_FSST segment")."""
    corrupt(db, "reports", "source")
    no_requests(monkeypatch)
    message = one_sentence(run(*command, "--db", db))
    assert message.startswith(f"Error: The database {db} is damaged (Corrupt")
    assert message.endswith("; restore it from a backup, or fetch into a new file with --db.")


def test_corrupted_database_in_sql(corrupted):
    message = one_sentence(run("sql", "SELECT max(octet_length(record_zstd)) FROM raw_reports", "--db", corrupted))
    assert re.fullmatch(
        rf"Error: The database {re.escape(str(corrupted))} is damaged \(Corrupt database file: computed checksum \d+ does not match stored checksum \d+ in block at location \d+\); "
        r"restore it from a backup, or fetch into a new file with --db\.",
        message,
    ), message


def test_fetch_notices_a_corrupted_database_before_downloading(corrupted, monkeypatch):
    no_requests(monkeypatch)
    message = one_sentence(run("fetch", "--db", corrupted, "--quiet"))
    assert message.startswith(f"Error: The database {corrupted} is damaged (Corrupt database file: computed checksum ")


def test_question_mark_in_the_database_folder(tmp_path, monkeypatch):
    """DuckDB puts the journal of "a?b/x.duckdb" at "a.wal?b/x.duckdb": refused up front."""
    folder = tmp_path / "runs?2024"
    folder.mkdir()
    no_requests(monkeypatch)
    message = one_sentence(fetch_replayed(folder / "kratom.duckdb"))
    assert message == f"Error: DuckDB cannot write a database whose path contains '?' ({folder / 'kratom.duckdb'}); rename the folder or the file, or choose another --db."
    assert list(folder.iterdir()) == []


# ---- input that cannot be sent or read ------------------------------------------------------

@pytest.mark.parametrize("key", ["ключ-openfda", "key with spaces", "KEY\x07"])
def test_api_key_that_cannot_be_sent(tmp_path, key, monkeypatch):
    no_requests(monkeypatch)
    result = run("fetch", "--db", tmp_path / "k.duckdb", "--api-key", key)
    assert one_sentence(result) == (
        "Error: The API key holds characters openFDA keys never have (spaces, control characters or letters outside ASCII); check --api-key or OPENFDA_API_KEY."
    )
    assert key not in result.output


@pytest.mark.parametrize(
    "url,reason",
    [
        ("http://[::1", "Invalid IPv6 URL"),
        ("http://127.0.0.1:99999", "Port out of range 0-65535"),
        ("http://127.0.0.1:abc", "Port could not be cast to integer value as 'abc'"),
    ],
)
def test_base_url_that_cannot_be_parsed(tmp_path, url, reason):
    assert one_sentence(run("fetch", "--db", tmp_path / "u.duckdb", "--base-url", url)) == f"Error: The base URL '{url}' cannot be used: {reason}."
    assert one_sentence(run("signals", "--db", tmp_path / "u.duckdb", "--base-url", url)).startswith("Error: There is no database")


def test_base_url_with_a_space(tmp_path):
    assert one_sentence(run("fetch", "--db", tmp_path / "u.duckdb", "--base-url", "http://api.fda .gov")) == (
        "Error: The base URL must not contain spaces or control characters, not 'http://api.fda .gov'."
    )


def test_ipv6_base_url_is_shown_with_brackets():
    assert public_url("http://user:pw@[::1]:8080/openfda/") == "http://[::1]:8080/openfda"


def test_terms_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "terms.csv"
    path.write_bytes("term,match\nKRÄTOM,word\n".encode("latin-1"))
    assert one_sentence(run("fetch", "--db", tmp_path / "t.duckdb", "--terms", path)) == (
        f"Error: The terms file {path} is not UTF-8 text (byte 0xc4 at position 13); save it as UTF-8."
    )


def test_terms_file_with_a_byte_order_mark(tmp_path):
    from kratom_ae.ingest.terms import load_terms, make_terms

    path = tmp_path / "terms.csv"
    path.write_text("term,match\nKRATOM,substring\n", encoding="utf-8-sig")
    assert load_terms(path) == make_terms([("KRATOM", "substring", "")])


# ---- anything else --------------------------------------------------------------------------

def test_an_unknown_problem_is_one_sentence_too(fetched_db, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("kratom_ae.queries.library.run", broken)
    assert one_sentence(run("query", "summary", "--db", fetched_db)) == (
        "Error: kratom-ae stopped on a problem it does not know (ZeroDivisionError: division by zero); please report it (KRATOM_AE_TRACEBACK=1 shows where)."
    )
    result = run("query", "summary", "--db", fetched_db, env={"KRATOM_AE_TRACEBACK": "1"})
    assert isinstance(result.exception, ZeroDivisionError)


def test_ctrl_c_after_one_source_into_a_new_file_says_what_became_of_it(tmp_path, monkeypatch):
    """Whatever happens to a new file when the second source fails, the sentence says it."""
    db = tmp_path / "new.duckdb"
    calls = []
    original = publish.publish

    def second_publish_interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("Query interrupted")
        return original(*args, **kwargs)

    monkeypatch.setattr(publish, "publish", second_publish_interrupted)
    message = one_sentence(fetch_replayed(db), 130)
    if db.exists():
        assert message == "Error: Interrupted; faers was fetched in full and kept, caers is as it was before this fetch."
    else:
        assert message == "Error: Interrupted; faers was fetched in full, but the new database file was removed again."
