"""Big openFDA pages: time and peak memory of `kratom-ae fetch` on pages of 1000 reports of
about 70 KB each (70 MB pages, as openFDA serves for some drugs), and of a fetch refused
because the server sends a gzip bomb. The SYNTHETIC pages are served by the tests' fake
openFDA in a separate process, so only the fetch's own memory is measured.

    python bench/big_pages.py [--pages 3] [--record-kb 70] [--bomb-gb 2] [--code DIR]

--code DIR measures the kratom-ae source in DIR instead (e.g. `git archive` of an older commit).
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

KRATOM_AE = str(Path(sys.executable).with_name("kratom-ae"))
TERMS = ROOT / "tests" / "fixtures" / "terms_kratom.csv"
UNPACED = "import sys; from cli.main import app; app(sys.argv[1:], prog_name='kratom-ae')"


def serve(pages: int, record_kb: int, bomb_gb: float) -> None:
    """Child process: serve the pages (or, with bomb_gb, a gzip bomb) until killed."""
    from fake_openfda import FakeOpenFDA
    from test_hostile import big_record

    rng = random.Random(11)
    records = [big_record(rng, i, record_kb * 1000) for i in range(pages * 1000)]
    with FakeOpenFDA(records) as server:
        if bomb_gb:
            server.faults = [("gzip", bomb(bomb_gb))] * 10
        print(server.url, flush=True)
        while True:
            time.sleep(3600)


def bomb(gigabytes: float) -> bytes:
    """Spaces that expand to `gigabytes` GB, compressed once in 64 MB blocks."""
    block = gzip.compress(b" " * (64 << 20), compresslevel=9)
    return block * int(gigabytes * 1024 / 64)  # concatenated gzip members are one stream


CODE = ROOT


def fetch(url: str, db: Path) -> tuple[float, float, int, str]:
    """(seconds, peak RSS in MB, exit code, stderr) of one `kratom-ae fetch` child."""
    command = [sys.executable, "-c", UNPACED, "fetch", "--source", "faers", "--terms", str(TERMS), "--base-url", url,
               "--db", str(db), "--requests-per-minute", "0"]
    start = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(CODE)}
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=CODE, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    return seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), child.stderr.read().decode()


def measure(pages: int, record_kb: int, bomb_gb: float) -> None:
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(pages), str(record_kb), str(bomb_gb)], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as folder:
            seconds, peak, code, stderr = fetch(url, Path(folder) / "big.duckdb")
    finally:
        server.kill()
        server.wait()
    what = f"gzip bomb of {bomb_gb:g} GB" if bomb_gb else f"{pages} pages of 1000 reports of ~{record_kb} KB"
    print(f"{what}: exit {code}, {seconds:.1f} s, peak RSS {peak:.0f} MB")
    print("  " + stderr.strip().replace("\n", "\n  "))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--record-kb", type=int, default=70)
    parser.add_argument("--bomb-gb", type=float, default=2.0)
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global CODE
    CODE = args.code.resolve()
    if args.serve:
        return serve(int(args.serve[0]), int(args.serve[1]), float(args.serve[2]))
    measure(args.pages, args.record_kb, 0)
    if args.bomb_gb:
        measure(1, 1, args.bomb_gb)


if __name__ == "__main__":
    main()
