import fcntl
import os
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from vcr_setup import make_vcr  # noqa: E402

from kratom_ae.ingest import openfda  # noqa: E402

# The files whose tests take longest (a fetch of 100,000 reports, the docs' examples on the
# demo, a wheel installed in a fresh virtual environment), collected first and whole: with
# `--dist worksteal` (pyproject.toml) the first worker starts on them at once and the other
# takes work from the end of its queue, so no long test is left to run alone at the end, and
# a file's module fixtures are made once.
LONGEST_FIRST = ["test_at_scale.py", "test_docs.py", "test_install.py"]


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


@pytest.fixture(scope="session", autouse=True)
def no_waiting_in_fixtures():
    """Nor does a fixture of a module or the session (made before `sleeps` below is): a replayed
    cassette or a local fake server needs no pacing."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(openfda, "wait", lambda seconds: None)
        yield


@pytest.fixture(autouse=True)
def sleeps(monkeypatch):
    """No test waits for real: every sleep of the client (pacing, backoff) is recorded here."""
    slept: list[float] = []
    monkeypatch.setattr(openfda, "wait", slept.append)
    return slept


@pytest.fixture
def replay():
    """replay("synthetic_fetch_all") -> a vcrpy context that serves that cassette only."""
    return lambda name: make_vcr("none").use_cassette(f"{name}.json", allow_playback_repeats=False)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "test.duckdb"


def made_once(tmp_path_factory, name: str, make) -> Path:
    """make(folder) run once for the whole test run, and a copy of the folder it filled for this
    process. Under pytest-xdist every worker asks: the first makes it in the run's shared
    temporary folder while the others wait on a lock. Each worker gets a copy, so that no
    two processes ever open one database file (DuckDB would refuse the second writer)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # a worker's is the run's, pytest-N/popen-gwK
    made = shared / f"made-once-{name}"
    with open(shared / f"made-once-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (made / ".done").exists():
            shutil.rmtree(made, ignore_errors=True)  # a make that failed part way
            made.mkdir()
            make(made)
            (made / ".done").touch()
    mine = tmp_path_factory.mktemp(name)
    shutil.copytree(made, mine, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".done"))
    return mine


@pytest.fixture(scope="session")
def fetched_db(tmp_path_factory):
    """A database filled by replaying synthetic_fetch_all through the command line, shared by
    the tests that only read it (tests that change a database copy it first)."""
    from typer.testing import CliRunner

    from kratom_ae.cli.main import app

    def make(folder):
        with make_vcr("none").use_cassette("synthetic_fetch_all.json"):
            result = CliRunner().invoke(app, ["fetch", "--db", str(folder / "kratom.duckdb"), "--quiet", "--requests-per-minute", "0"])
        assert result.exit_code == 0, result.output

    return made_once(tmp_path_factory, "fetched", make) / "kratom.duckdb"


@pytest.fixture(scope="session")
def signals_db(fetched_db, tmp_path_factory):
    """A copy of fetched_db whose signals background is cached (replayed from the synthetic
    background cassette by `kratom-ae signals`), for the report."""
    from typer.testing import CliRunner

    from kratom_ae.cli.main import app

    def make(folder):
        db = folder / "kratom.duckdb"
        shutil.copy(fetched_db, db)
        with make_vcr("none").use_cassette("synthetic_signals_background.json"):
            result = CliRunner().invoke(app, ["signals", "--db", str(db), "--quiet", "--format", "csv"])
        assert result.exit_code == 0, result.output

    return made_once(tmp_path_factory, "signals", make) / "kratom.duckdb"


@pytest.fixture(scope="session")
def report_dir(signals_db, tmp_path_factory):
    """`kratom-ae report` of signals_db with no filter, written once for every report test
    (its figures at 300 dpi take a while). Any request to openFDA would fail it."""
    from typer.testing import CliRunner

    from kratom_ae.cli.main import app

    def make(folder):
        with make_vcr("none").use_cassette("empty_never_recorded.json"):
            result = CliRunner().invoke(app, ["report", str(folder / "out"), "--db", str(signals_db)])
        assert result.exit_code == 0, result.output

    return made_once(tmp_path_factory, "report", make) / "out"
