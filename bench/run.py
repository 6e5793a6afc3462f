"""kratom-ae benchmark: ingest throughput and peak memory against a naive baseline, growth
from 10k to 300k reports, and the time of every summary and of signals on 100k and 1M reports.
Writes BENCHMARKS.md. Run with `make bench` (about half an hour on a 2-core machine).

    python bench/run.py [--sizes 10000,100000,300000] [--repeats 3] [--naive-repeats 1] [--out BENCHMARKS.md]
    python bench/run.py --naive-only 300000      (the naive baseline alone: about 80 minutes)
    python bench/run.py --quick                  (`make bench-quick`: a 100k fetch, then again into its database, checked and printed; BENCHMARKS.md untouched)
    python bench/run.py --code DIR ...           (the ingest figures of the kratom-ae source in DIR, printed)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import big_pages  # noqa: E402
import kratom_ae_from  # noqa: E402
from data import ensure_pages  # noqa: E402

PYTHON = sys.executable
KRATOM_AE = str(Path(PYTHON).with_name("kratom-ae"))


# BENCHMARKS.md below this line is the reading of the figures, written by hand: kept as it
# is when the measurements above it are rewritten (so check it against them).
ANALYSIS = "<!-- Below: the reading of these figures, written by hand and kept by bench/run.py when it rewrites the measurements above. -->"

CODE: Path | None = None  # --code: measure the kratom-ae source in that folder instead (e.g. an older commit)


def kratom_ae() -> list[str]:
    """The command that runs kratom-ae: this venv's, or with --code DIR's source (with this
    venv's packages, bench/kratom_ae_from.py)."""
    return kratom_ae_from.command(PYTHON, CODE) if CODE else [KRATOM_AE]


def measure(command: list[str]) -> tuple[float, float]:
    """(seconds, peak resident memory in MB) of one child process, which must succeed."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed: {child.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


class Server:
    def __enter__(self):
        self.folder = tempfile.TemporaryDirectory()
        port_file = Path(self.folder.name) / "port"
        self.process = subprocess.Popen([PYTHON, str(HERE / "server.py"), str(port_file)], cwd=HERE)
        for _ in range(100):
            if port_file.exists() and port_file.read_text():
                break
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port_file.read_text()}"
        return self

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()
        self.folder.cleanup()


def ours(url: str, reports: int, db: Path) -> list[str]:
    return [*kratom_ae(), "fetch", "--source", "faers", "--terms", str(HERE / "terms.csv"), "--db", str(db), "--base-url", f"{url}/n{reports}", "--requests-per-minute", "0", "--quiet"]


def naive(url: str, reports: int, db: Path) -> list[str]:
    return [PYTHON, str(HERE / "naive.py"), f"{url}/n{reports}", str(db)]


def held(db: Path) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM reports").fetchone()[0]
    finally:
        con.close()


def runs(command, reports: int, repeats: int, db: Path, check: bool) -> list[tuple[float, float]]:
    results = []
    for _ in range(repeats):
        for leftover in (db, db.with_name(db.name + ".wal")):
            leftover.unlink(missing_ok=True)
        results.append(measure(command(db)))
        if check and held(db) != reports:
            raise SystemExit(f"kratom-ae held {held(db)} reports, not {reports}")
    return results


def spread(values: list[float], fmt: str = "{:,.1f}") -> str:
    """median (min-max)."""
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def grow_to(db_from: Path, db_to: Path, factor: int) -> None:
    """A database `factor` times larger: every report copied under new ids (raw JSON is not
    copied: no summary reads it)."""
    import duckdb

    shutil.copy(db_from, db_to)
    con = duckdb.connect(str(db_to))
    con.execute("SET enable_progress_bar = false")
    span = con.execute("SELECT 2 * (max(report_key) + 1) FROM reports").fetchone()[0]  # even: keys keep their parity (FAERS even)
    for table in ("reports", "products", "reactions"):
        con.execute(
            f"INSERT INTO {table} SELECT {table}.* REPLACE (report_id || '-' || k AS report_id, report_key + k * $span AS report_key) FROM {table}, range(1, $f) AS copies(k)",
            {"f": factor, "span": span},
        )
    con.execute("CHECKPOINT")
    con.close()


def time_queries(db: Path, repeats: int) -> dict[str, list[float]]:
    """Seconds per summary (scope set-up included, as a command pays it) and for signals with
    the background cached (made up here: no request may be sent)."""
    import duckdb

    from kratom_ae.ingest import background
    from kratom_ae.ingest.openfda import OpenFDAClient
    from kratom_ae.queries import library
    from kratom_ae.queries import signals as signal_lib

    con = duckdb.connect(str(db))
    con.execute(
        "CREATE OR REPLACE TABLE background_totals AS SELECT 'faers' AS source, 'drug/event' AS endpoint, 20000000::BIGINT AS total_reports, "
        "(SELECT max(last_updated) FROM fetch_runs) AS last_updated, (SELECT max(last_updated) FROM fetch_runs) AS kratom_last_updated, now()::TIMESTAMP AS fetched_at, 0 AS requests"
    )
    con.execute("CREATE OR REPLACE TABLE background_terms AS SELECT 'faers' AS source, reaction_pt AS term, count(*) * 20 + 100 AS reports, 'count' AS method FROM reactions GROUP BY reaction_pt")
    con.close()
    timings: dict[str, list[float]] = {}
    tables = {name: q for name, q in library.discover().items() if not q.requires}
    for _ in range(repeats):
        con = duckdb.connect(str(db), read_only=True)
        for name, query in tables.items():
            start = time.perf_counter()
            library.prepare_scope(con, library.Filters())
            library.run(con, query, library.Filters())
            timings.setdefault(name, []).append(time.perf_counter() - start)
        con.close()
        con = duckdb.connect(str(db))
        start = time.perf_counter()
        library.prepare_scope(con, library.Filters())
        client = OpenFDAClient("http://127.0.0.1:9", max_retries=0)
        background.ensure(con, client)
        assert client.requests_sent == 0
        signal_lib.signal_table(con, 3, "prr")
        timings.setdefault("signals (background cached)", []).append(time.perf_counter() - start)
        con.close()
    return timings


def bounds(pages: list[Path], repeats: int) -> dict[str, list[float]]:
    """Reports per second of the steps no ingest can skip, one page of 1000 at a time: fetching
    the bytes over HTTP from the local server, parsing them (as the fetch does, and with
    Python's json.loads for comparison), the fetch's whole per-page DuckDB step, and storing
    each record's JSON text in DuckDB."""
    import json

    import requests

    sample = pages[:20]
    rates: dict[str, list[float]] = {}
    with Server() as server, tempfile.TemporaryDirectory() as tmp:
        session = requests.Session()
        for _ in range(repeats):
            start, bodies = time.perf_counter(), []
            url, params = f"{server.url}/n{len(sample) * 1000}/drug/event.json", {"search": "x", "limit": 1000}
            while url:
                response = session.get(url, params=params)
                bodies.append(response.content)
                link = response.links.get("next")
                url, params = (link["url"], None) if link else (None, None)
            rates.setdefault("HTTP transfer only (requests)", []).append(len(sample) * 1000 / (time.perf_counter() - start))
            start = time.perf_counter()
            for body in bodies:
                json.loads(body)
            rates.setdefault("parse only: Python json.loads", []).append(len(sample) * 1000 / (time.perf_counter() - start))
            read, shaped = staged_seconds(bodies, Path(tmp))
            rates.setdefault("the reader's step alone (staging.Reader: read the records, count them, compress the raw records, parse them typed)", []).append(len(sample) * 1000 / read)
            rates.setdefault("the shaper's step alone (staging.shape_batch: check and shape the parsed records, in batches)", []).append(len(sample) * 1000 / shaped)
            rates.setdefault("store only, the design before issue 12: every record's JSON text into a DuckDB table, compressed by DuckDB and checkpointed", []).append(
                len(sample) * 1000 / stored_seconds(sample, Path(tmp) / "raw.duckdb")
            )
            for step, seconds in alternative_seconds(sample, Path(tmp)).items():
                rates.setdefault(step, []).append(len(sample) * 1000 / seconds)
    return rates


def alternative_seconds(pages: list[Path], folder: Path) -> dict[str, float]:
    """Seconds over these pages (the cached results arrays, one at a time, DuckDB on one thread
    as in the fetch) of the steps of a reader that would read each page once, typed, instead of
    as records and then typed (faers_parse.sql): what such a design could save. Not taken:
    read_json stops at a field of another JSON kind, which the fetch must read and name."""
    import json
    import re

    import duckdb
    import zstandard

    from kratom_ae.ingest.sqlfiles import sql

    parse = sql("faers_parse")
    shape = json.loads(re.search(r"from_json\(record, '(.*?)'\) AS r", parse, re.S).group(1))
    columns = {field: duck_type(kind) for field, kind in shape.items()}
    con = duckdb.connect(config={"memory_limit": "256MB"})
    con.execute("SET threads = 1")
    con.execute(sql("shaping_macros"))
    steps = {
        "alternative: one typed pass over the page (read_json with the parse's columns) to Parquet": lambda page: con.execute(
            "COPY (SELECT * FROM read_json($f, format = 'array', columns = $c)) TO $out (FORMAT parquet, COMPRESSION uncompressed)",
            {"f": str(page), "c": columns, "out": str(folder / "typed.parquet")},
        ),
        "alternative: the records' lengths and hashes only (read_json_objects), which that design still needs for the raw records and repeats": lambda page: con.execute(
            "SELECT length(json::VARCHAR), hash(json) FROM read_json_objects($f, format = 'array')", {"f": str(page)}
        ).fetchall(),
        "the reader's read and typed parse as built (read_records.sql, then faers_parse.sql), without the raw records": lambda page: (
            con.execute("SET VARIABLE page_file = $f", {"f": str(page)}),
            con.execute(sql("read_records")),
            con.execute("SET VARIABLE first_seq = 0; SET VARIABLE low = 1; SET VARIABLE high = 9223372036854775807"),
            con.execute("SET VARIABLE records_file = $f", {"f": str(folder / "parsed.parquet")}),
            con.execute(parse),
        ),
        "zstd level 1 of each whole page (one value a page, not one a record)": lambda page: zstandard.ZstdCompressor(level=1).compress(page.read_bytes()),
    }
    seconds = {}
    for step, run in steps.items():
        start = time.perf_counter()
        for page in pages:
            run(page)
        seconds[step] = time.perf_counter() - start
    con.close()
    return seconds


def duck_type(kind) -> str:
    """A from_json shape ('VARCHAR', [..], {..}) as a DuckDB type for read_json's columns."""
    if isinstance(kind, str):
        return kind
    if isinstance(kind, list):
        return duck_type(kind[0]) + "[]"
    return "STRUCT(" + ", ".join(f'"{field}" {duck_type(inner)}' for field, inner in kind.items()) + ")"


def staged_seconds(bodies: list[bytes], folder: Path) -> tuple[float, float]:
    """Seconds for the fetch's two per-page steps (ingest/staging.py) over these pages, one
    after the other in one thread (a fetch runs them side by side): the reader's, then the
    shaper's."""
    from kratom_ae.ingest.staging import Staging
    from kratom_ae.ingest.terms import load_terms

    with Staging(folder / "bench.duckdb", load_terms(HERE / "terms.csv"), "faers", "safetyreportid") as staging:
        start = time.perf_counter()
        for body in bodies:
            staging.read_page(body)
        read = time.perf_counter() - start
        start = time.perf_counter()
        staging.finish()
        shaped = time.perf_counter() - start
        staging.cleanup()
    return read, shaped


def stored_seconds(pages: list[Path], db: Path) -> float:
    """Seconds to store the records' JSON text (read from the cached pages, which are plain
    arrays, in parallel) in a DuckDB file with the fetch's memory limit: the least any design
    that keeps the raw JSON of every report in DuckDB must pay."""
    import duckdb

    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db), config={"memory_limit": "256MB"})
    con.execute("SET enable_progress_bar = false")
    start = time.perf_counter()
    con.execute("CREATE TABLE raw AS SELECT json AS record FROM read_json_objects($files, format = 'array')", {"files": [str(p) for p in pages]})
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - start
    con.close()
    db.unlink()
    return seconds


def machine() -> list[str]:
    import duckdb
    import pandas
    import requests

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    return [
        f"- machine: {os.cpu_count()} cores ({cpu}), {memory:.0f} GiB memory, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, DuckDB {duckdb.__version__}, pandas {pandas.__version__}, requests {requests.__version__}",
        f"- run on {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC with `{' '.join(['python bench/run.py', *sys.argv[1:]])}`",
    ]


def report_counts(text: str) -> list[int]:
    """--sizes and the like: report counts separated by commas (none for an empty text)."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        counts = [0]
    if any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of report counts separated by commas, such as 10000,100000")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=report_counts, default="10000,100000,300000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-repeats", type=int, default=1)
    parser.add_argument("--naive-sizes", type=report_counts, default="10000,100000", help="sizes to run the naive baseline at (it inserts row by row: 300k takes about an hour)")
    parser.add_argument("--query-sizes", type=report_counts, default="100000,1000000")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--code", help="measure the kratom-ae source in this folder (a git worktree of an older commit); ingest only, printed")
    parser.add_argument("--quick", action="store_true", help="a fetch of 100,000 reports, then the same again into its database, counts checked, speed and peak memory printed (make bench-quick); BENCHMARKS.md untouched")
    parser.add_argument("--big-pages", type=int, default=6, metavar="PAGES", help="pages of 1000 reports of ~70 KB to fetch (bench/big_pages.py); 0: none")
    parser.add_argument("--naive-only", type=int, metavar="REPORTS", help="run only the naive baseline, once, at this many reports, and print its figures (for a size too slow for the whole run)")
    args = parser.parse_args()
    if args.naive_only:
        ensure_pages(args.naive_only)
        with Server() as server, tempfile.TemporaryDirectory(dir=ROOT / "bench" / ".cache") as tmp:
            [(seconds, peak)] = runs(lambda db: naive(server.url, args.naive_only, db), args.naive_only, 1, Path(tmp) / "naive.duckdb", check=False)
        print(f"naive at {args.naive_only:,} reports: {args.naive_only / seconds:,.0f} reports/s ({seconds:,.0f} s), peak {peak:,.0f} MB")
        return
    if args.code:
        global CODE
        CODE = Path(args.code).resolve()
        print(f"measuring the code in {CODE}: ingest imported from {kratom_ae_from.where(PYTHON, CODE)}", flush=True)
    if args.quick:
        args.sizes, args.repeats, args.naive_sizes = [100000], 1, []
    sizes = args.sizes
    if not sizes:
        parser.error("--sizes needs at least one report count")
    naive_sizes = set(args.naive_sizes)
    print(f"making pages for {max(sizes):,} reports (cached in bench/.cache) ...", flush=True)
    start = time.perf_counter()
    pages = ensure_pages(max(sizes))
    print(f"  ready in {time.perf_counter() - start:.1f} s", flush=True)
    page_bytes = sum(p.stat().st_size for p in pages) / (len(pages) * 1000)

    work = Path(tempfile.mkdtemp(prefix="kratom-ae-bench-", dir=ROOT / "bench" / ".cache"))
    try:
        measure_all(args, sizes, naive_sizes, pages, page_bytes, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure_all(args, sizes: list[int], naive_sizes: set[int], pages: list[Path], page_bytes: float, work: Path) -> None:
    ingest: dict[int, dict] = {}
    with Server() as server:
        for reports in sizes:
            print(f"ingest {reports:,} ...", flush=True)
            mine = runs(lambda db: ours(server.url, reports, db), reports, args.repeats, work / f"ours-{reports}.duckdb", check=True)
            print(f"  ours {spread([reports / s for s, _ in mine], '{:,.0f}')} reports/s", flush=True)
            theirs = runs(lambda db: naive(server.url, reports, db), reports, args.naive_repeats, work / f"naive-{reports}.duckdb", check=False) if reports in naive_sizes else []
            ingest[reports] = {"ours": mine, "naive": theirs}
            if theirs:
                print(f"  naive {spread([reports / s for s, _ in theirs], '{:,.0f}')} reports/s", flush=True)
        # The largest fetch again, into the database its last run made: every row is replaced, and
        # the publish must not need memory that grows with what the database already holds.
        largest = max(sizes)
        print(f"ingest {largest:,} again into the same database ...", flush=True)
        again = measure(ours(server.url, largest, work / f"ours-{largest}.duckdb"))
        if held(work / f"ours-{largest}.duckdb") != largest:
            raise SystemExit(f"kratom-ae held {held(work / f'ours-{largest}.duckdb')} reports after fetching {largest:,} again")

    if CODE or args.quick:
        for reports, result in ingest.items():
            seconds = [s for s, _ in result["ours"]]
            print(
                f"{CODE or 'kratom-ae'} at {reports:,} reports (all held): {spread([reports / s for s in seconds], '{:,.0f}')} reports/s, "
                f"{spread(seconds)} s, peak RSS {spread([m for _, m in result['ours']], '{:,.0f}')} MB"
            )
        print(f"{CODE or 'kratom-ae'} at {largest:,} reports again into the same database (all held): {largest / again[0]:,.0f} reports/s, {again[0]:.1f} s, peak RSS {again[1]:,.0f} MB")
        return
    print("bounds ...", flush=True)
    bound_rates = bounds(pages, args.repeats)
    big = []
    for _ in range(args.repeats if args.big_pages else 0):
        print(f"big pages: {args.big_pages} of 1000 reports of ~70 KB ...", flush=True)
        big.append(big_pages.measure(args.big_pages, 70))
        big_pages.show(big[-1])

    query_sizes = args.query_sizes
    base = max((s for s in sizes if s <= min(query_sizes)), default=max(sizes))
    query_times = {}
    for reports in query_sizes:
        db = work / f"queries-{reports}.duckdb"
        grow_to(work / f"ours-{base}.duckdb", db, max(1, reports // base))
        print(f"queries on {held(db):,} reports ...", flush=True)
        query_times[held(db)] = time_queries(db, args.repeats)

    lines = ["# kratom-ae benchmarks", "", "Measured by `make bench` (`bench/run.py`); every figure is the median of the runs, with min-max in brackets.", ""]
    lines += machine()
    lines += [
        f"- data: SYNTHETIC openFDA drug/event reports from `bench/data.py`, {page_bytes:,.0f} bytes of JSON per report on average "
        "(70% with 1-4 drugs, 20% with 5-8 and 10% with 20-40 drugs, the last two with full openfda blocks), served 1000 a page "
        "by `bench/server.py` on 127.0.0.1 with a Link/search_after cursor on every page, as openFDA pages past 26,000",
        f"- ours: `kratom-ae fetch --source faers --requests-per-minute 0` in a fresh process (pacing off: with openFDA's 240 requests a minute "
        f"the fetch is capped at 4,000 reports a second whatever the code does), {args.repeats} runs per size; naive: `bench/naive.py`, {args.naive_repeats} run(s) at "
        f"{', '.join(f'{n:,}' for n in sorted(naive_sizes))} reports (it inserts row by row, so larger sizes take hours)",
        "- peak memory: the process's maximum resident set size (getrusage), Python, DuckDB and the page in flight together",
        "",
        "## Ingest: HTTP page to rows in DuckDB",
        "",
        "| reports | ours: reports/s | ours: seconds | ours: peak MB | naive: reports/s | naive: peak MB | ours / naive (speed) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for reports, result in ingest.items():
        mine_rate = [reports / s for s, _ in result["ours"]]
        naive_rate = [reports / s for s, _ in result["naive"]]
        naive_cells = (
            f"{spread(naive_rate, '{:,.0f}')} | {spread([m for _, m in result['naive']], '{:,.0f}')} | {statistics.median(mine_rate) / statistics.median(naive_rate):.1f}x"
            if naive_rate else "not run | not run | -"
        )
        lines.append(
            f"| {reports:,} | {spread(mine_rate, '{:,.0f}')} | {spread([s for s, _ in result['ours']])} | {spread([m for _, m in result['ours']], '{:,.0f}')} | {naive_cells} |"
        )
    first, last = sizes[0], sizes[-1]
    time_growth = statistics.median([s for s, _ in ingest[last]["ours"]]) / statistics.median([s for s, _ in ingest[first]["ours"]])
    memory_growth = statistics.median([m for _, m in ingest[last]["ours"]]) / statistics.median([m for _, m in ingest[first]["ours"]])
    lines += [
        "",
        "## Growth",
        "",
        f"From {first:,} to {last:,} reports ({last / first:.0f} times as many): ingest time grew {time_growth:.1f} times, peak memory {memory_growth:.2f} times "
        f"(target: at most 1.5 times). The {largest:,} fetched again into the database its last run made (every row replaced, one run): "
        f"{largest / again[0]:,.0f} reports/s, {again[0]:.1f} s, peak {again[1]:,.0f} MB.",
        "",
        "## What bounds ingest",
        "",
        "Reports per second of single steps every ingest must take, on the first 20 pages (`bounds()` in bench/run.py), "
        "in one process as the fetch runs them:",
        "",
        "| step | reports/s |",
        "|---|---:|",
        *[f"| {name} | {spread(values, '{:,.0f}')} |" for name, values in bound_rates.items()],
        "",
        "## Queries",
        "",
        "Seconds per command's work: the scope (queries/_scope.sql), then the table (`signals` with its background cached, so no request is sent). "
        f"The larger databases are the {base:,}-report fetch copied under new report ids.",
        "",
        "| table | " + " | ".join(f"{n:,} reports" for n in query_times) + " |",
        "|---|" + "---:|" * len(query_times),
    ]
    for name in next(iter(query_times.values())):
        lines.append(f"| {name} | " + " | ".join(spread(t[name], "{:.3f}") for t in query_times.values()) + " |")
    lines += big_pages_section(big)
    out = Path(args.out)
    kept = out.read_text(encoding="utf-8").partition(ANALYSIS)[2] if out.exists() else ""
    out.write_text("\n".join(lines) + "\n\n" + ANALYSIS + (kept or "\n"), encoding="utf-8")
    print(f"wrote {args.out}")


def big_pages_section(runs: list[big_pages.Fetched]) -> list[str]:
    """Real reports can average 70 KB, so pages 70 MB: the fetch of such pages, each run in
    the table (a failed one with its sentence: it must not pass unnoticed)."""
    if not runs:
        return []
    done = [r for r in runs if r.exit_code == 0 and r.held == r.reports]
    lines = [
        "",
        "## Big pages: reports of ~70 KB",
        "",
        f"`kratom-ae fetch` of {runs[0].what} ({runs[0].page_mb:,.0f} MB of JSON a page; `bench/big_pages.py`, served by the tests' fake openFDA "
        f"in a separate process), {len(runs)} run(s); {len(done)} completed with every report held.",
        "",
        "| reports | seconds | reports/s | peak MB |",
        "|---:|---:|---:|---:|",
    ]
    if done:
        lines.append(f"| {done[0].reports:,} | {spread([r.seconds for r in done])} | {spread([r.reports / r.seconds for r in done], '{:,.0f}')} | {spread([r.peak_mb for r in done], '{:,.0f}')} |")
    for failed in (r for r in runs if r not in done):
        sentence = failed.stderr.splitlines()[-1] if failed.stderr else "no message"
        lines.append(f"| {failed.reports:,} | failed (exit {failed.exit_code}, {failed.held} held): {sentence} | | |")
    return lines


if __name__ == "__main__":
    main()
