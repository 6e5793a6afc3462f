"""A fetch at scale, run after every change: 100,000 benchmark reports (bench/data.py, 6.9 KB
each, served by bench/server.py) through the installed `kratom-ae fetch` in a fresh process,
with the memory limits it has in production. A publish that runs out of memory at this size
(it did once, unnoticed) fails here. And `bench/run.py --code` / `bench/big_pages.py --code`
measure the folder they are given.

On a clean checkout the pages are made while the fetch runs (bench/server.py waits for a page
not made yet); later runs reuse bench/.cache. Nothing here is timed: the speed and peak memory
are printed (pytest -s) and kept as properties of the test's report.

The file's name sorts first so that its long test is collected first: pytest-xdist then starts
it at once on one worker, instead of handing it out near the end where it would run alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
KRATOM_AE = Path(sys.executable).with_name("kratom-ae")
REPORTS = 100_000
HANG = 900  # seconds after which a fetch is taken to hang and killed (a guard, not a timing check)


def page_files() -> list[Path]:
    """bench/data.py's page files for REPORTS, in order (bench/data.py: page_path)."""
    return [BENCH / ".cache" / f"page-{n:04d}.json" for n in range(REPORTS // 1000)]


def expected_counts(pages: list[Path]) -> dict[str, int]:
    """The rows a fetch must hold, counted with plain json over the pages served."""
    counts = {"records": 0, "reports": 0, "products": 0, "reactions": 0, "kratom_products": 0, "kratom_reports": 0}
    ids = set()
    for page in pages:
        for record in json.loads(page.read_bytes()):
            drugs = record["patient"]["drug"]
            kratom = sum("KRATOM" in drug["medicinalproduct"].upper() for drug in drugs)
            ids.add(record["safetyreportid"])
            counts["records"] += 1
            counts["products"] += len(drugs)
            counts["reactions"] += len(record["patient"]["reaction"])
            counts["kratom_products"] += kratom
            counts["kratom_reports"] += kratom > 0
    counts["reports"] = len(ids)
    return counts


def held_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    one = lambda query: con.execute(query).fetchone()[0]  # noqa: E731
    return {
        "records": raw_count(con),
        "reports": one("SELECT count(*) FROM reports"),
        "products": one("SELECT count(*) FROM products"),
        "reactions": one("SELECT count(*) FROM reactions"),
        "kratom_products": one("SELECT count(*) FROM products WHERE is_kratom"),
        "kratom_reports": one("SELECT count(*) FROM reports WHERE is_kratom_report"),
    }


# The raw JSON of every report, by source and id (docs/schema.md "The raw records").
def raw_count(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM raw_reports WHERE source = 'faers'").fetchone()[0]


def raw_record(con: duckdb.DuckDBPyConnection, report_id: str) -> dict:
    from kratom_ae.ingest import raw

    return json.loads(raw.record(con, "faers", report_id))


class BenchServer:
    """bench/server.py in a process of its own."""

    def __enter__(self):
        port_file = self.folder / "port"
        self.process = subprocess.Popen([sys.executable, str(BENCH / "server.py"), str(port_file)])
        while not (port_file.exists() and port_file.read_text()):
            assert self.process.poll() is None, "bench/server.py did not start"
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port_file.read_text()}"
        return self

    def __init__(self, folder: Path):
        self.folder = folder

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()


def finish(child: subprocess.Popen) -> tuple[int, float]:
    """(exit code, peak resident memory in MB) of a child, killed if it hangs."""
    guard = threading.Timer(HANG, child.kill)
    guard.start()
    try:
        _, status, usage = os.wait4(child.pid, 0)
    finally:
        guard.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, usage.ru_maxrss / 1024


@pytest.mark.scale
def test_fetch_of_100k_bench_reports_holds_every_report_product_reaction_and_raw_record(tmp_path, record_property):
    maker = subprocess.Popen([sys.executable, str(BENCH / "data.py"), str(REPORTS)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    fetch = None
    try:
        to_make = maker.stdout.readline().strip()  # "N of 100 pages to make": stale ones deleted, the rest absent or current
        db, errors = tmp_path / "scale.duckdb", tmp_path / "stderr"
        with BenchServer(tmp_path) as server, errors.open("w") as stderr:
            start = time.perf_counter()
            fetch = subprocess.Popen(
                [str(KRATOM_AE), "fetch", "--source", "faers", "--terms", str(BENCH / "terms.csv"), "--db", str(db),
                 "--base-url", f"{server.url}/n{REPORTS}", "--requests-per-minute", "0", "--quiet"],
                stdout=subprocess.DEVNULL, stderr=stderr,
            )
            maker_errors = maker.communicate(timeout=HANG)[1]
            assert maker.returncode == 0, maker_errors
            expected = expected_counts(page_files())  # while the fetch runs
            code, peak = finish(fetch)
            seconds = time.perf_counter() - start
        assert code == 0, errors.read_text()[-3000:]
        assert errors.read_text() == ""  # --quiet: not a warning either
        record_property("reports_per_second", round(REPORTS / seconds))
        record_property("peak_rss_mb", round(peak))
        print(f"\n100k fetch: {REPORTS / seconds:,.0f} reports/s ({seconds:.1f} s; {to_make} alongside), peak RSS {peak:,.0f} MB")

        assert expected["records"] == expected["reports"] == REPORTS
        with duckdb.connect(str(db), read_only=True) as con:
            assert held_counts(con) == expected
            pages = page_files()
            for page, index in [(pages[0], 0), (pages[len(pages) // 2], 517), (pages[-1], 999)]:
                record = json.loads(page.read_bytes())[index]
                assert raw_record(con, record["safetyreportid"]) == record
    finally:
        for child in (maker, fetch):
            if child and child.returncode is None:
                child.kill()
                child.wait()
        for leftover in tmp_path.glob("scale.duckdb*"):
            leftover.unlink()  # about 230 MB: pytest keeps the last three runs' folders


def copy_of_the_code(folder: Path) -> Path:
    """The kratom-ae source, copied, with a line in ingest/__init__.py that notes where it was
    imported from in the file $KRATOM_AE_IMPORTED: only a run of this copy writes there."""
    for package in ("kratom_ae", "ingest", "cli", "queries", "report"):
        shutil.copytree(ROOT / package, folder / package, ignore=shutil.ignore_patterns("__pycache__"))
    init = folder / "ingest" / "__init__.py"
    init.write_text(
        init.read_text(encoding="utf-8")
        + "\nimport os as _os\nif _os.environ.get('KRATOM_AE_IMPORTED'):\n    open(_os.environ['KRATOM_AE_IMPORTED'], 'a').write(__file__ + '\\n')\n",
        encoding="utf-8",
    )
    return folder


def imported_from(log: Path) -> set[str]:
    return set(log.read_text().split()) if log.exists() else set()


def test_bench_run_code_measures_the_folder_it_is_given_not_the_checkout(tmp_path):
    code = copy_of_the_code(tmp_path / "code")
    log = tmp_path / "imported"
    # From the checkout, as `make bench` runs it: its own ingest/ is in the working directory.
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--code", str(code), "--sizes", "1000", "--repeats", "1", "--naive-sizes", ""],
        cwd=ROOT, env={**os.environ, "KRATOM_AE_IMPORTED": str(log)}, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert imported_from(log) == {str(code / "ingest" / "__init__.py")}
    assert f"measuring the code in {code}: ingest imported from {code / 'ingest' / '__init__.py'}\n" in done.stdout
    assert f"{code} at 1,000 reports (all held): " in done.stdout


def big_pages_code(code: Path, log: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH / "big_pages.py"), "--code", str(code), "--pages", "1", "--record-kb", "2", "--bomb-gb", "0"],
        cwd=ROOT, env={**os.environ, "KRATOM_AE_IMPORTED": str(log)}, capture_output=True, text=True, timeout=600,
    )


def test_big_pages_code_measures_the_folder_it_is_given(tmp_path):
    code = copy_of_the_code(tmp_path / "code")
    log = tmp_path / "imported"
    done = big_pages_code(code, log)
    assert done.returncode == 0, done.stderr
    assert imported_from(log) == {str(code / "ingest" / "__init__.py")}
    assert f"measuring the code in {code}: ingest imported from {code / 'ingest' / '__init__.py'}\n" in done.stdout
    assert "1 page of 1000 reports of ~2 KB: exit 0, " in done.stdout
    assert ", 1000 reports held\n" in done.stdout


def test_big_pages_code_never_fills_a_module_the_folder_lacks_from_the_checkout(tmp_path):
    """The venv's editable install answers for any kratom-ae module not found on sys.path: a
    folder without ingest/deadline.py ran with the checkout's, a mix of two commits."""
    code = copy_of_the_code(tmp_path / "code")
    (code / "ingest" / "deadline.py").unlink()
    done = big_pages_code(code, tmp_path / "imported")
    assert done.returncode == 0, done.stderr
    assert "1 page of 1000 reports of ~2 KB: exit 1, " in done.stdout
    assert "ModuleNotFoundError: No module named 'kratom_ae.ingest.deadline'" in done.stdout
    assert ", no reports held\n" in done.stdout


def test_bench_code_refuses_a_folder_without_kratom_ae_rather_than_running_the_checkout(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH / "run.py"), "--code", str(tmp_path), "--sizes", "1000"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr == f"Error: --code {tmp_path} cannot run kratom-ae from that folder alone: ModuleNotFoundError: No module named 'cli'.\n"
