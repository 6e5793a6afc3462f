"""Start-up: help and small commands import only what they use. Each command runs in a fresh
Python process (the modules a test process has loaded would hide an import), which then lists
the heavy modules it loaded. No timing is asserted (tests/startup_times.py measures it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
# Run as the installed command does, then say which of the watched modules were imported.
CHILD = """
import json, sys
watched, out = json.loads(sys.argv[1]), sys.argv[2]
sys.argv = ["kratom-ae", *sys.argv[3:]]
from kratom_ae.cli.main import main
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code
with open(out, "w") as file:
    json.dump({"code": code, "loaded": [name for name in watched if name in sys.modules]}, file)
"""
# The report's (matplotlib, jinja2), the HTTP client's (requests, urllib3), the shaping's
# (pycountry): a command that reads the database needs none of them.
REPORT_AND_FETCH = ["matplotlib", "jinja2", "requests", "urllib3", "pycountry"]
# What help needs even less: no data, no table.
EVERYTHING = [*REPORT_AND_FETCH, "pandas", "numpy", "duckdb", "rich"]
COUNTS = "term,a,b,c,d\nNausea,5,20,1000,100000\nDizziness,3,22,800,100200\n"


def loaded(tmp_path: Path, args: list, watched: list[str]) -> list[str]:
    """The watched modules that `kratom-ae ARGS` imported, in a fresh process."""
    out = tmp_path / "loaded.json"
    # Any request would fail at once instead of reaching for openFDA.
    env = {**os.environ, "OPENFDA_BASE_URL": "http://127.0.0.1:9"}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(watched), str(out), *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    child = json.loads(out.read_text())
    assert child["code"] == 0, result.stderr
    return child["loaded"]


@pytest.mark.parametrize("args", [["--help"], ["fetch", "--help"], ["report", "--help"], ["signals", "--help"], ["meddra", "--help"]], ids=" ".join)
def test_help_imports_no_library_for_data(tmp_path, args):
    assert loaded(tmp_path, args, EVERYTHING) == []


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["query", "summary"],
        ["query", "reactions", "--format", "csv"],
        ["terms"],
        ["sql", "SELECT count(*) FROM reports"],
        ["cases", "--skin"],
    ],
    ids=" ".join,
)
def test_commands_that_read_the_database_import_no_report_or_http_client(tmp_path, fetched_db, args):
    assert loaded(tmp_path, [*args, "--db", fetched_db], REPORT_AND_FETCH) == []


def test_query_csv_with_provenance_imports_no_report_or_http_client(tmp_path, fetched_db):
    """The provenance names the tool's version, which is looked up beside the fetch code."""
    assert loaded(tmp_path, ["query", "summary", "--db", fetched_db, "--csv", tmp_path / "summary.csv"], REPORT_AND_FETCH) == []
    assert (tmp_path / "summary.csv.provenance.json").exists()


def test_signals_with_a_cached_background_imports_no_http_client(tmp_path, signals_db):
    db = tmp_path / "signals.duckdb"
    shutil.copy(signals_db, db)  # signals opens its database for writing
    assert loaded(tmp_path, ["signals", "--db", db], REPORT_AND_FETCH) == []


@pytest.mark.parametrize("output", [[], ["--format", "csv"], ["--format", "json"]], ids=["table", "csv", "json"])
def test_signals_counts_imports_no_database(tmp_path, output):
    counts = tmp_path / "counts.csv"
    counts.write_text(COUNTS)
    assert loaded(tmp_path, ["signals", "--counts", counts, *output], [*REPORT_AND_FETCH, "duckdb"]) == []
