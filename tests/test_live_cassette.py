"""Replays tests/cassettes/live/fetch_all.json, recorded against api.fda.gov by
`make cassettes-live`, when it exists. Real data has no known counts, so this checks what
must hold for any openFDA release: every record stored once, counts that add up."""

import json

import pytest

from kratom_ae.ingest import store
from kratom_ae.ingest.fetch import SOURCES, fetch_source
from kratom_ae.ingest.openfda import OpenFDAClient, Pacer
from kratom_ae.ingest.terms import load_terms
from vcr_setup import CASSETTES

LIVE = CASSETTES / "live" / "fetch_all.json"
pytestmark = pytest.mark.skipif(not LIVE.exists(), reason="no live cassette recorded (make cassettes-live)")


def test_live_cassette_replays_into_a_consistent_database(db, replay):
    client = OpenFDAClient(pacer=Pacer(0))
    with replay("live/fetch_all"), store.writing(db) as con:
        for source in SOURCES.values():
            fetch_source(con, client, source, load_terms())
        ids = {"faers": set(), "caers": set()}
        for interaction in json.loads(LIVE.read_text())["interactions"]:
            if interaction["response"]["status"]["code"] == 200:
                source = "faers" if "/drug/event" in interaction["request"]["uri"] else "caers"
                id_field = SOURCES[source].id_field
                ids[source] |= {r[id_field] for r in json.loads(interaction["response"]["body"]["string"])["results"]}
        for source in SOURCES:
            held = con.execute("SELECT count(*), count(DISTINCT report_id) FROM reports WHERE source = $s", {"s": source}).fetchone()
            assert held == (len(ids[source]), len(ids[source]))
            runs = con.execute("SELECT bool_and(records_received = total_reported) FROM fetch_runs WHERE source = $s", {"s": source}).fetchone()[0]
            assert runs
