import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from vcr_setup import make_vcr  # noqa: E402

import ingest.openfda  # noqa: E402


@pytest.fixture(autouse=True)
def sleeps(monkeypatch):
    """No test waits for real: every sleep of the client (pacing, backoff) is recorded here."""
    slept: list[float] = []
    monkeypatch.setattr(ingest.openfda, "wait", slept.append)
    return slept


@pytest.fixture
def replay():
    """replay("synthetic_fetch_all") -> a vcrpy context that serves that cassette only."""
    return lambda name: make_vcr("none").use_cassette(f"{name}.json", allow_playback_repeats=False)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "test.duckdb"
