"""Run the main job offline: `kratom-ae fetch` then `kratom-ae status`, with every openFDA
request answered from the recorded SYNTHETIC cassette tests/cassettes/synthetic_fetch_all.json.

    python tests/demo.py --db demo.duckdb      (or: make demo)

The reports are made up (tests/synthetic.py); the point is to see the tool work end to end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from vcr_setup import make_vcr  # noqa: E402

from cli.main import app  # noqa: E402


def run(args: list[str]) -> int:
    try:
        app(args, prog_name="kratom-ae")
    except SystemExit as exit:
        return int(exit.code or 0)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description="kratom-ae offline demo on SYNTHETIC recorded data")
    parser.add_argument("--db", default="demo.duckdb")
    db = parser.parse_args().db
    print("kratom-ae demo: openFDA is replayed from tests/cassettes/synthetic_fetch_all.json (SYNTHETIC reports, not real ones).", file=sys.stderr)
    with make_vcr("none").use_cassette("synthetic_fetch_all.json"):
        code = run(["fetch", "--db", db])
    if code == 0:
        code = run(["status", "--db", db])
    sys.exit(code)


if __name__ == "__main__":
    main()
