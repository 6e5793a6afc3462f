"""Re-record the vcrpy cassettes in tests/cassettes/.

    python tests/record_cassettes.py          # SYNTHETIC cassettes, from the local fake server
    python tests/record_cassettes.py --live   # real ones, from api.fda.gov (needs the network)

(`make cassettes` and `make cassettes-live` run these inside the project's .venv.)

Synthetic: starts tests/fake_openfda.py on 127.0.0.1 with the synthetic dataset of
tests/synthetic.py, runs the real fetch code through vcrpy in record mode, and stores every
request as if sent to https://api.fda.gov. Faults (429, 500, a cut-off JSON body) are served
with openFDA's real archived error bodies where one exists (tests/fixtures/real/).

Live: runs the default-terms fetch of both sources against https://api.fda.gov (key from
OPENFDA_API_KEY, optional) into tests/cassettes/live/fetch_all.json. The key is filtered out
(tests/vcr_setup.py) and the file is checked for it before this script ends.
tests/test_live_cassette.py replays that cassette when it exists.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import synthetic  # noqa: E402
from fake_openfda import FakeOpenFDA, real_error  # noqa: E402
from vcr_setup import CASSETTES, make_vcr  # noqa: E402

from kratom_ae.ingest import store  # noqa: E402
from kratom_ae.ingest.fetch import SOURCES, fetch_source  # noqa: E402
from kratom_ae.ingest.openfda import OpenFDAClient, Pacer  # noqa: E402
from kratom_ae.ingest.terms import load_terms  # noqa: E402

KRATOM_ONLY = HERE / "fixtures" / "terms_kratom.csv"
OPIOIDS = HERE / "fixtures" / "terms_opioids.csv"
RECORDING_KEY = "RECORDING-KEY-0000-MUST-NOT-APPEAR"
TOO_MANY_429 = 6  # one more than the client's default 5 retries
KEY_REJECTED = ("status", 403, b'{"error":{"code":"API_KEY_INVALID","message":"An invalid api_key was supplied. Get one at https://api.fda.gov:443/signup/"}}', {})
RATE_LIMITED = real_error("error-429_OVER_RATE_LIMIT_animalandveterinary-event_FDA-openfda-issue111.json", 429, {"Retry-After": "1"})

# name: (dataset, terms file, sources, faults)
SCENARIOS = {
    "synthetic_fetch_all": ("fixture", None, ["faers", "caers"], []),
    "synthetic_429_then_ok": ("small", KRATOM_ONLY, ["faers"], [RATE_LIMITED]),
    "synthetic_500_then_ok": ("small", KRATOM_ONLY, ["faers"], [real_error("error-500_SERVER_ERROR_drug-enforcement-lexical_FDA-openfda-issue192.json", 500)]),
    "synthetic_badjson_then_ok": ("small", KRATOM_ONLY, ["faers"], [("badjson",)]),
    "synthetic_429_exhausted": ("small", KRATOM_ONLY, ["faers"], [RATE_LIMITED] * TOO_MANY_429),
    "synthetic_403_key_rejected": ("small", KRATOM_ONLY, ["faers"], [KEY_REJECTED]),
}


def small_dataset() -> tuple[list[dict], list[dict]]:
    import random

    rng = random.Random(synthetic.SEED + 1)
    names = ["KRATOM", "Kratom powder", "MAENG DA KRATOM", "O.P.M.S. KRATOM", "KRATOM (MITRAGYNA SPECIOSA)"]
    return [synthetic.faers_record(rng, str(13_000_000 + i), name) for i, name in enumerate(names)], []


def record_synthetic(name: str) -> None:
    dataset, terms_file, sources, faults = SCENARIOS[name]
    faers, caers = synthetic.fixture_dataset() if dataset == "fixture" else small_dataset()
    path = CASSETTES / f"{name}.json"
    path.unlink(missing_ok=True)
    with FakeOpenFDA(faers, caers, gateway_links=True) as server, tempfile.TemporaryDirectory() as tmp:
        server.faults = list(faults)
        client = OpenFDAClient(server.url, RECORDING_KEY, pacer=Pacer(0), sleep=lambda s: None)
        with make_vcr("all", rewrite_from=server.url).use_cassette(path.name):
            with store.writing(Path(tmp) / "record.duckdb") as con:
                try:
                    for source in sources:
                        fetch_source(con, client, SOURCES[source], load_terms(terms_file))
                except Exception as exc:  # the failure scenarios end this way
                    print(f"  {name}: fetch ended with: {exc}")
    check_no_key(path, RECORDING_KEY)
    print(f"wrote {path.relative_to(HERE.parent)} ({path.stat().st_size:,} bytes, {len(server.requests)} requests)")


def record_background() -> None:
    """synthetic_signals_background.json: the background requests of `kratom-ae signals` for
    both sources (role any), against the synthetic background of tests/synthetic.py. The
    kratom fetch before it is not recorded (synthetic_fetch_all.json has the same answers)."""
    from kratom_ae.ingest import background
    from kratom_ae.queries.library import Filters, prepare_scope

    faers, caers = synthetic.background_dataset()
    path = CASSETTES / "synthetic_signals_background.json"
    path.unlink(missing_ok=True)
    with FakeOpenFDA(faers, caers, gateway_links=True) as server, tempfile.TemporaryDirectory() as tmp:
        client = OpenFDAClient(server.url, RECORDING_KEY, pacer=Pacer(0), sleep=lambda s: None)
        with store.writing(Path(tmp) / "record.duckdb") as con:
            for source in SOURCES.values():
                fetch_source(con, client, source, load_terms(None))
            prepare_scope(con, Filters())
            before = len(server.requests)
            # A client of its own, made inside the cassette: the fetch's client keeps connections
            # opened before vcr patched them, whose requests vcr would not see (nor record).
            with make_vcr("all", rewrite_from=server.url).use_cassette(path.name):
                background.ensure(con, OpenFDAClient(server.url, RECORDING_KEY, pacer=Pacer(0), sleep=lambda s: None))
    check_no_key(path, RECORDING_KEY)
    print(f"wrote {path.relative_to(HERE.parent)} ({path.stat().st_size:,} bytes, {len(server.requests) - before} requests)")


def record_comparator() -> None:
    """synthetic_signals_comparator.json: the requests of `kratom-ae signals --comparator
    tests/fixtures/terms_opioids.csv` for both sources (role any: the same cache serves every
    role and unit), against the synthetic background of tests/synthetic.py."""
    from kratom_ae.ingest import background
    from kratom_ae.queries.library import Filters, prepare_scope

    faers, caers = synthetic.background_dataset()
    path = CASSETTES / "synthetic_signals_comparator.json"
    path.unlink(missing_ok=True)
    with FakeOpenFDA(faers, caers, gateway_links=True) as server, tempfile.TemporaryDirectory() as tmp:
        client = OpenFDAClient(server.url, RECORDING_KEY, pacer=Pacer(0), sleep=lambda s: None)
        with store.writing(Path(tmp) / "record.duckdb") as con:
            for source in SOURCES.values():
                fetch_source(con, client, source, load_terms(None))
            prepare_scope(con, Filters())
            before = len(server.requests)
            with make_vcr("all", rewrite_from=server.url).use_cassette(path.name):
                background.comparator_ensure(con, OpenFDAClient(server.url, RECORDING_KEY, pacer=Pacer(0), sleep=lambda s: None), background.load_comparator(OPIOIDS))
    check_no_key(path, RECORDING_KEY)
    print(f"wrote {path.relative_to(HERE.parent)} ({path.stat().st_size:,} bytes, {len(server.requests) - before} requests)")


def record_adjusted() -> None:
    """synthetic_signals_adjusted.json: the requests of `kratom-ae signals --adjusted` for both
    sources (role any: its terms and strata hold those of --role suspect): the all-FAERS
    background, then FAERS's strata of sex, age band and report year."""
    from kratom_ae.ingest import background
    from kratom_ae.queries.library import Filters, prepare_scope

    faers, caers = synthetic.background_dataset()
    path = CASSETTES / "synthetic_signals_adjusted.json"
    path.unlink(missing_ok=True)
    with FakeOpenFDA(faers, caers, gateway_links=True) as server, tempfile.TemporaryDirectory() as tmp:
        client = OpenFDAClient(server.url, RECORDING_KEY, pacer=Pacer(0), sleep=lambda s: None)
        with store.writing(Path(tmp) / "record.duckdb") as con:
            for source in SOURCES.values():
                fetch_source(con, client, source, load_terms(None))
            prepare_scope(con, Filters())
            before = len(server.requests)
            with make_vcr("all", rewrite_from=server.url).use_cassette(path.name):
                recorder = OpenFDAClient(server.url, RECORDING_KEY, pacer=Pacer(0), sleep=lambda s: None)
                background.ensure(con, recorder)
                background.strata_ensure(con, recorder)
    check_no_key(path, RECORDING_KEY)
    print(f"wrote {path.relative_to(HERE.parent)} ({path.stat().st_size:,} bytes, {len(server.requests) - before} requests)")


def record_live() -> None:
    key = os.environ.get("OPENFDA_API_KEY")
    path = CASSETTES / "live" / "fetch_all.json"
    path.parent.mkdir(exist_ok=True)
    path.unlink(missing_ok=True)
    client = OpenFDAClient(None, key, on_retry=lambda problem, delay: print(f"  {problem}; retrying in {delay:.0f} s"))
    with tempfile.TemporaryDirectory() as tmp, make_vcr("all", rewrite_from=None).use_cassette("live/fetch_all.json"):
        with store.writing(Path(tmp) / "live.duckdb") as con:
            for source in SOURCES.values():
                fetch_source(con, client, source, load_terms(None), on_page=lambda s, t, page, n: print(f"  {s} {t.term}: {n:,}/{page.total:,}"))
    if key:
        check_no_key(path, key)
    print(f"wrote {path.relative_to(HERE.parent)} ({path.stat().st_size:,} bytes, {client.requests_sent} requests)")


def check_no_key(path: Path, key: str) -> None:
    if key in path.read_text(encoding="utf-8"):
        path.unlink()
        raise SystemExit(f"The API key was found in {path}; the file was deleted.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="record against api.fda.gov instead of the fake server")
    parser.add_argument("names", nargs="*", help=f"synthetic scenarios to record (default all): {', '.join(SCENARIOS)}, synthetic_signals_background, synthetic_signals_comparator, synthetic_signals_adjusted")
    args = parser.parse_args()
    if args.live:
        record_live()
        return
    for name in args.names or [*SCENARIOS, "synthetic_signals_background", "synthetic_signals_comparator", "synthetic_signals_adjusted"]:
        if name == "synthetic_signals_background":
            record_background()
        elif name == "synthetic_signals_comparator":
            record_comparator()
        elif name == "synthetic_signals_adjusted":
            record_adjusted()
        else:
            record_synthetic(name)


if __name__ == "__main__":
    main()
