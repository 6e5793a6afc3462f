"""A normal install, as `pip install .` or pipx makes it: the wheel, installed into a fresh
virtual environment in a temporary folder outside the repository, fetches from the fake
openFDA server and runs every table, status and export. An editable install (make test's)
reads files from the source tree, so it cannot notice a file left out of the package, as
queries/skin_terms.csv once was.

Needs PyPI (pip downloads setuptools to build, and the dependencies); takes about a minute.
"""

from __future__ import annotations

import json
import os
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
from kratom_ae.queries.library import discover

pytestmark = pytest.mark.install

ROOT = Path(__file__).parents[1]
MEDDRA = ROOT / "tests" / "fixtures" / "meddra_synthetic"
# What a source checkout holds besides the project (a build from it must not see them).
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "*.duckdb*", "bench")


# Run by the installed Python: `query NAME --format csv` for every table the installed package
# discovers, as {name: [exit code, stdout]}.
EVERY_TABLE = """
import json, sys
from typer.testing import CliRunner
from kratom_ae.cli.main import app
from kratom_ae.queries.library import discover
shown = {}
for name in discover():
    result = CliRunner().invoke(app, ["query", name, "--db", sys.argv[1], "--format", "csv"])
    shown[name] = [result.exit_code, result.stdout]
print(json.dumps(shown))
"""


def run(args: list, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin folder of a fresh virtual environment with the wheel installed."""
    work = tmp_path_factory.mktemp("install")
    assert ROOT not in work.parents
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    run([sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--quiet", "--disable-pip-version-check", "-w", work / "wheels"], cwd=work)
    (wheel,) = (work / "wheels").glob("kratom_ae-*.whl")
    shutil.rmtree(source)  # nothing of the source is left to import by accident
    run([sys.executable, "-m", "venv", work / "venv"], cwd=work)
    bin_dir = work / "venv" / ("Scripts" if os.name == "nt" else "bin")
    # --no-compile: pip would compile every module of every dependency (half its time); Python
    # compiles what the commands below import, as they import it.
    run([bin_dir / "python", "-m", "pip", "install", "--no-compile", "--quiet", "--disable-pip-version-check", wheel], cwd=work)
    return bin_dir


def test_the_wheel_claims_one_name_in_site_packages(installed, tmp_path):
    """kratom-ae's folders install as kratom_ae.cli, kratom_ae.ingest, ...: a package of
    another project called cli, ingest, queries or report is neither overwritten nor shadowed."""
    for generic in ("cli", "ingest", "queries", "report"):
        done = subprocess.run([installed / "python", "-c", f"import {generic}"], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 1 and f"No module named '{generic}'" in done.stderr, (generic, done.stderr)
    site = Path(run([installed / "python", "-c", "import kratom_ae, pathlib; print(pathlib.Path(kratom_ae.__file__).parents[1])"], cwd=tmp_path).stdout.strip())
    ours = {p.name for p in site.iterdir() if p.name.lower().startswith("kratom")}
    assert ours == {"kratom_ae", "kratom_ae-0.1.0.dist-info"}, ours
    assert sorted(p.name for p in (site / "kratom_ae").iterdir() if p.is_dir() and p.name != "__pycache__") == ["cli", "ingest", "queries", "report"]
    version = run([installed / "kratom-ae", "--version"], cwd=tmp_path)
    assert version.stdout == "kratom-ae 0.1.0\n"
    module = run([installed / "python", "-m", "kratom_ae", "--help"], cwd=tmp_path)
    assert module.stdout.startswith("Usage: kratom-ae [OPTIONS] COMMAND [ARGS]...") and "fetch" in module.stdout


def test_the_installed_wheel_fetches_and_runs_every_table(installed, tmp_path):
    """Every table, run by the installed command, gives what the development code gives on
    the same database."""
    here = tmp_path
    located = run([installed / "python", "-c", "import kratom_ae.cli, kratom_ae.ingest, kratom_ae.queries, kratom_ae.report as r; print(r.__file__)"], cwd=here)
    assert str(installed.parent) in located.stdout, located.stdout
    tool = installed / "kratom-ae"
    db = here / "kratom.duckdb"
    faers, caers = synthetic.fixture_dataset()
    with FakeOpenFDA(faers, caers) as server:
        fetched = run([tool, "fetch", "--db", db, "--base-url", server.url, "--requests-per-minute", "0"], cwd=here)
        assert fetched.stderr.splitlines()[0].startswith("faers: 2,421 records received in 13 queries;"), fetched.stderr
        run([tool, "meddra", "load", MEDDRA, "--db", db], cwd=here)
        signals = run([tool, "signals", "--db", db, "--base-url", server.url, "--quiet", "--format", "csv"], cwd=here)
    assert signals.stdout.startswith("source,term,a,b,c,d,")
    status = run([tool, "status", "--db", db], cwd=here)
    assert "reports held" in status.stdout and "2,236" in status.stdout
    tables = discover()
    assert {"summary", "reactions", "reactions_by_soc", "skin", "trend", "demographics", "outcomes", "drugs"} <= set(tables)
    runner = CliRunner()
    shown = run([tool, "query", "skin", "--db", db], cwd=here)
    assert shown.stdout.startswith("skin: ") and "(any skin term)" in shown.stdout, shown.stdout
    # Every table, by the installed package in one process (a process per table would start
    # Python, pandas and DuckDB a dozen times over): the wheel must hold every query's .sql.
    installed_tables = json.loads(run([installed / "python", "-c", EVERY_TABLE, db], cwd=here).stdout)
    assert sorted(installed_tables) == sorted(tables)
    for name in tables:
        expected = runner.invoke(app, ["query", name, "--db", str(db), "--format", "csv"])
        assert expected.exit_code == 0, expected.output
        assert installed_tables[name] == [0, expected.stdout], name
    # The profile reads its bundled SQL and the cited list of pigmenting drugs from the wheel.
    profiled = run([tool, "profile", "--hyperpigmentation", "--db", db, "--format", "csv"], cwd=here)
    expected = runner.invoke(app, ["profile", "--hyperpigmentation", "--db", str(db), "--format", "csv"])
    assert profiled.stdout == expected.stdout and ",co-reported pigmenting drug,MINOCYCLINE," in profiled.stdout
    exported = run([tool, "export", here / "out", "--db", db], cwd=here)
    assert sorted(Path(line).name for line in exported.stdout.split()) == sorted([f"{name}.csv" for name in tables] + ["signals.csv", "provenance.json"])
    provenance = json.loads((here / "out" / "provenance.json").read_text(encoding="utf-8"))
    assert sorted(provenance["tables"]) == sorted([*tables, "signals"])
    # Without pyarrow (not a dependency; the tests' environment has it): DuckDB hands the
    # tables over by the Arrow PyCapsule interface alone.
    assert run([installed / "python", "-c", "import importlib.util; print(importlib.util.find_spec('pyarrow'))"], cwd=here).stdout == "None\n"
    run([tool, "export", here / "parquet", "--db", db, "--format", "parquet"], cwd=here)
    assert runner.invoke(app, ["export", str(here / "expected"), "--db", str(db), "--format", "parquet"]).exit_code == 0
    read = lambda path: duckdb.connect().execute("SELECT * FROM read_parquet($p)", {"p": str(path)}).fetchall()  # noqa: E731
    assert len(list((here / "expected").glob("*.parquet"))) == len(tables) + 1
    for expected in (here / "expected").glob("*.parquet"):
        assert read(here / "parquet" / expected.name) == read(expected), expected.name
    assert provenance["skin_terms"].startswith("MedDRA primary SOC")
    assert provenance["tool_version"] == "0.1.0"
