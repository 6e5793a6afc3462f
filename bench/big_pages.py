"""Big openFDA pages: time and peak memory of `kratom-ae fetch` on pages of 1000 reports of
about 70 KB each (70 MB pages, as openFDA serves for some drugs), and of a fetch refused
because the server sends a gzip bomb. The SYNTHETIC pages are served by the tests' fake
openFDA in a separate process, so only the fetch's own memory is measured. `make bench`
(bench/run.py) runs the first measurement too, for BENCHMARKS.md.

    python bench/big_pages.py [--pages 3] [--record-kb 70] [--bomb-gb 2] [--code DIR]
    python bench/big_pages.py --quick        (one 70 MB page, no gzip bomb: about 15 s)

--code DIR measures the kratom-ae source in DIR instead (e.g. `git archive` of an older
commit), through bench/kratom_ae_from.py.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT), str(HERE)]

import kratom_ae_from  # noqa: E402

KRATOM_AE = str(Path(sys.executable).with_name("kratom-ae"))
TERMS = ROOT / "tests" / "fixtures" / "terms_kratom.csv"


@dataclass
class Fetched:
    what: str
    reports: int  # served
    seconds: float
    peak_mb: float
    exit_code: int
    stderr: str
    held: int | None  # reports in the database afterwards (None: no database)
    page_mb: float


def serve(pages: int, record_kb: int, bomb_gb: float) -> None:
    """Child process: serve the pages (or, with bomb_gb, a gzip bomb) until killed. Prints its
    URL and the size of its first page in MB."""
    from fake_openfda import FakeOpenFDA
    from test_hostile import big_record

    rng = random.Random(11)
    records = [big_record(rng, i, record_kb * 1000) for i in range(pages * 1000)]
    page_mb = sum(len(json.dumps(r)) for r in records[:1000]) / 1e6
    with FakeOpenFDA(records) as server:
        if bomb_gb:
            server.faults = [("gzip", bomb(bomb_gb))] * 10
        print(server.url, page_mb, flush=True)
        while True:
            time.sleep(3600)


def bomb(gigabytes: float) -> bytes:
    """Spaces that expand to `gigabytes` GB, compressed once in 64 MB blocks."""
    block = gzip.compress(b" " * (64 << 20), compresslevel=9)
    return block * int(gigabytes * 1024 / 64)  # concatenated gzip members are one stream


def kratom_ae(code: Path | None) -> list[str]:
    """The command that runs kratom-ae: this venv's, or DIR's source with this venv's packages."""
    return kratom_ae_from.command(sys.executable, code) if code else [KRATOM_AE]


def fetch(url: str, db: Path, code: Path | None) -> tuple[float, float, int, str]:
    """(seconds, peak RSS in MB, exit code, stderr) of one `kratom-ae fetch` child."""
    command = [*kratom_ae(code), "fetch", "--source", "faers", "--terms", str(TERMS), "--base-url", url, "--db", str(db), "--requests-per-minute", "0"]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    return seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), child.stderr.read().decode()


def held(db: Path) -> int | None:
    if not db.exists():
        return None
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT count(*) FROM reports").fetchone()[0]


def measure(pages: int, record_kb: int, bomb_gb: float = 0, code: Path | None = None) -> Fetched:
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(pages), str(record_kb), str(bomb_gb)], stdout=subprocess.PIPE, text=True)
    try:
        url, page_mb = server.stdout.readline().split()
        with tempfile.TemporaryDirectory() as folder:
            db = Path(folder) / "big.duckdb"
            seconds, peak, code_, stderr = fetch(url, db, code)
            count = held(db)
    finally:
        server.kill()
        server.wait()
    what = f"gzip bomb of {bomb_gb:g} GB" if bomb_gb else f"{pages} page{'s' * (pages != 1)} of 1000 reports of ~{record_kb} KB"
    return Fetched(what, pages * 1000, seconds, peak, code_, stderr.strip(), count, float(page_mb))


def show(result: Fetched) -> None:
    print(f"{result.what}: exit {result.exit_code}, {result.seconds:.1f} s, peak RSS {result.peak_mb:.0f} MB, {'no' if result.held is None else result.held} reports held")
    if result.stderr:
        print("  " + result.stderr.replace("\n", "\n  "))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--record-kb", type=int, default=70)
    parser.add_argument("--bomb-gb", type=float, default=2.0)
    parser.add_argument("--quick", action="store_true", help="one page, no gzip bomb (about 15 s)")
    parser.add_argument("--code", type=Path, help="measure the kratom-ae source in this folder")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(int(args.serve[0]), int(args.serve[1]), float(args.serve[2]))
    if args.quick:
        args.pages, args.bomb_gb = 1, 0
    code = args.code.resolve() if args.code else None
    if code:
        print(f"measuring the code in {code}: ingest imported from {kratom_ae_from.where(sys.executable, code)}")
    show(measure(args.pages, args.record_kb, 0, code))
    if args.bomb_gb:
        show(measure(1, 1, args.bomb_gb, code))


if __name__ == "__main__":
    main()
