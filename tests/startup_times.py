"""How long small kratom-ae commands take, start-up included: each is run as a fresh process
(the installed `kratom-ae` beside this Python) and timed from start to exit.

    .venv/bin/python tests/startup_times.py [--db FILE] [--runs 5] [--code DIR]

Prints a markdown table: command, median seconds (wall clock), min-max, and the median CPU
seconds (user + system; less disturbed than the wall clock by other work on the machine).
Without --db the database is the offline demo's (tests/demo.py: the SYNTHETIC cassette,
signals background cached), made in a temporary folder first. --code DIR times the code in
DIR (another checkout, say of an older commit) with this Python and its packages, instead of
the installed command. Not a test (pytest does not collect it): timings belong in
BENCHMARKS.md, not in assertions.
"""

from __future__ import annotations

import argparse
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
KRATOM_AE = Path(sys.executable).parent / "kratom-ae"
COUNTS = "term,a,b,c,d\nNausea,5,20,1000,100000\nDizziness,3,22,800,100200\n"


def commands(db: Path, counts: Path) -> list[list[str]]:
    return [
        ["--help"],
        ["signals", "--counts", str(counts)],
        ["status", "--db", str(db)],
        ["query", "summary", "--db", str(db)],
        ["query", "--db", str(db)],
        ["terms", "--db", str(db)],
        ["sql", "SELECT count(*) AS reports FROM reports", "--db", str(db)],
        ["signals", "--db", str(db)],
    ]


def timed(command: list[str], cwd: Path | None) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of command in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def launcher(code: Path | None) -> list[str]:
    if code is None:
        return [str(KRATOM_AE)]
    # What the installed script does, with DIR first on the path (cwd is DIR).
    return [sys.executable, "-c", "import sys; sys.argv[0] = 'kratom-ae'; from kratom_ae.cli.main import main; main()"]


def make_demo_db(folder: Path) -> Path:
    db = folder / "demo.duckdb"
    # The demo's own output is not the table's: it goes to stderr.
    subprocess.run([sys.executable, str(HERE / "demo.py"), "--db", str(db), "--report", str(folder / "report")], check=True, stdout=sys.stderr)
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="database to query (default: the demo's, made afresh)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--code", type=Path, help="time the code of this checkout instead of the installed kratom-ae")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = options.db or make_demo_db(folder)
        counts = folder / "counts.csv"
        counts.write_text(COUNTS)
        start = launcher(options.code)
        print("| command (`kratom-ae ...`) | median s | min-max s | median CPU s |\n|---|---|---|---|")
        for args in commands(db.resolve(), counts):
            timed(start + args, options.code)  # once untimed, so that the timed runs find every file in the page cache
            walls, cpus = zip(*(timed(start + args, options.code) for _ in range(options.runs)))
            shown = shlex.join(Path(a).name if a in (str(db.resolve()), str(counts)) else a for a in args)
            print(f"| `{shown}` | {statistics.median(walls):.3f} | {min(walls):.3f}-{max(walls):.3f} | {statistics.median(cpus):.3f} |", flush=True)


if __name__ == "__main__":
    main()
