"""Run the main job offline: `kratom-ae fetch`, `kratom-ae status` and `kratom-ae profile --hyperpigmentation`, with every openFDA
request answered from the recorded SYNTHETIC cassette tests/cassettes/synthetic_fetch_all.json;
with --report DIR, also `kratom-ae signals` (its background replayed from
tests/cassettes/synthetic_signals_background.json: crude estimates, Fisher's mid-p with
Benjamini-Hochberg q-values), `kratom-ae signals --adjusted` (Mantel-Haenszel estimates by sex,
age band and report year, from tests/cassettes/synthetic_signals_adjusted.json),
`kratom-ae signals --comparator tests/fixtures/terms_opioids.csv`
(kratom against the reports of five opioids, replayed from
tests/cassettes/synthetic_signals_comparator.json) and `kratom-ae report DIR`.

    python tests/demo.py --db demo.duckdb --report demo-report     (or: make demo)

The reports are made up (tests/synthetic.py); the point is to see the tool work end to end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from vcr_setup import make_vcr  # noqa: E402

from kratom_ae.cli.main import app  # noqa: E402
from kratom_ae.ingest import openfda  # noqa: E402

# Every answer comes from a recorded cassette: pacing the requests (240 a minute, as for the
# real openFDA) would only wait, about 40 s of the demo's minute (tests/conftest.py's `sleeps`
# does the same for the tests). The option --requests-per-minute and what is stored are unchanged.
openfda.wait = lambda seconds: None


def run(args: list[str]) -> int:
    try:
        app(args, prog_name="kratom-ae")
    except SystemExit as exit:
        return int(exit.code or 0)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description="kratom-ae offline demo on SYNTHETIC recorded data")
    parser.add_argument("--db", default="demo.duckdb")
    parser.add_argument("--report", help="also run signals and write the report into this folder")
    options = parser.parse_args()
    db = options.db
    print("kratom-ae demo: openFDA is replayed from tests/cassettes/synthetic_fetch_all.json (SYNTHETIC reports, not real ones).", file=sys.stderr)
    with make_vcr("none").use_cassette("synthetic_fetch_all.json"):
        code = run(["fetch", "--db", db])
    if code == 0:
        code = run(["status", "--db", db])
    if code == 0:
        # The clinical profile of issue 20: is hyperpigmentation "rare and typically mild"?
        code = run(["profile", "--hyperpigmentation", "--db", db])
    if code == 0 and options.report:
        code = signals_and_report(db, options.report)
    sys.exit(code)


def signals_and_report(db: str, folder: str) -> int:
    print("kratom-ae demo: the signals background is replayed from tests/cassettes/synthetic_signals_background.json (SYNTHETIC).", file=sys.stderr)
    with make_vcr("none").use_cassette("synthetic_signals_background.json"):
        code = run(["signals", "--db", db, "--quiet"])
    if code == 0:
        print("kratom-ae demo: Mantel-Haenszel estimates by sex, age band and report year beside the crude ones; the strata replayed from "
              "tests/cassettes/synthetic_signals_adjusted.json (SYNTHETIC).", file=sys.stderr)
        with make_vcr("none").use_cassette("synthetic_signals_adjusted.json"):
            code = run(["signals", "--db", db, "--quiet", "--source", "faers", "--adjusted", "--sort", "reports"])
    if code == 0:
        print("kratom-ae demo: an active comparator, five opioids (tests/fixtures/terms_opioids.csv), replayed from "
              "tests/cassettes/synthetic_signals_comparator.json (SYNTHETIC).", file=sys.stderr)
        with make_vcr("none").use_cassette("synthetic_signals_comparator.json"):
            code = run(["signals", "--db", db, "--quiet", "--source", "faers", "--comparator", str(HERE / "fixtures" / "terms_opioids.csv")])
    if code == 0:
        # No cassette: the report reads the background just cached and sends no request.
        code = run(["report", folder, "--db", db])
    if code == 0:
        print(f"kratom-ae demo: open {Path(folder) / 'report.html'} in a browser.", file=sys.stderr)
    return code


if __name__ == "__main__":
    main()
