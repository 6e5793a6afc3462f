import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from vcr_setup import make_vcr  # noqa: E402

from kratom_ae.ingest import openfda  # noqa: E402


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


@pytest.fixture(scope="session")
def fetched_db(tmp_path_factory):
    """A database filled by replaying synthetic_fetch_all through the command line, shared by
    the tests that only read it (tests that change a database copy it first)."""
    from typer.testing import CliRunner

    from kratom_ae.cli.main import app

    db = tmp_path_factory.mktemp("fetched") / "kratom.duckdb"
    with make_vcr("none").use_cassette("synthetic_fetch_all.json"):
        result = CliRunner().invoke(app, ["fetch", "--db", str(db), "--quiet", "--requests-per-minute", "0"])
    assert result.exit_code == 0, result.output
    return db


@pytest.fixture(scope="session")
def signals_db(fetched_db, tmp_path_factory):
    """A copy of fetched_db whose signals background is cached (replayed from the synthetic
    background cassette by `kratom-ae signals`), for the report."""
    import shutil

    from typer.testing import CliRunner

    from kratom_ae.cli.main import app

    db = tmp_path_factory.mktemp("signals") / "kratom.duckdb"
    shutil.copy(fetched_db, db)
    with make_vcr("none").use_cassette("synthetic_signals_background.json"):
        result = CliRunner().invoke(app, ["signals", "--db", str(db), "--quiet", "--format", "csv"])
    assert result.exit_code == 0, result.output
    return db


@pytest.fixture(scope="session")
def report_dir(signals_db, tmp_path_factory):
    """`kratom-ae report` of signals_db with no filter, written once for every report test
    (its figures at 300 dpi take a while). Any request to openFDA would fail it."""
    from typer.testing import CliRunner

    from kratom_ae.cli.main import app

    folder = tmp_path_factory.mktemp("report") / "out"
    with make_vcr("none").use_cassette("empty_never_recorded.json"):
        result = CliRunner().invoke(app, ["report", str(folder), "--db", str(signals_db)])
    assert result.exit_code == 0, result.output
    return folder
