"""The whole fetch into DuckDB, replayed from cassettes: counts, versions, atomicity, idempotence."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import synthetic
from fake_openfda import FakeOpenFDA
from kratom_ae.ingest import publish, raw, sqlfiles, store
from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest.fetch import SOURCES, fetch_source
from kratom_ae.ingest.openfda import OpenFDAClient, OpenFDAError, Pacer
from kratom_ae.ingest.terms import load_terms, search_query
from vcr_setup import make_vcr

KRATOM_ONLY = Path(__file__).parent / "fixtures" / "terms_kratom.csv"
DATA_TABLES = ["reports", "products", "reactions", "raw_reports"]


def expected(source: str) -> dict:
    """What the database must hold, worked out from the synthetic dataset in plain Python,
    without the shaping code or SQL: the union of every term's hits, latest version each."""
    faers_records, caers_records = synthetic.fixture_dataset()
    records, fields, id_field = {"faers": (faers_records, SOURCES["faers"].search_fields, "safetyreportid"), "caers": (caers_records, SOURCES["caers"].search_fields, "report_number")}[source]
    hits = [r for term in load_terms() if term.searched for r in synthetic.search_hits(records, search_query(term, fields))]
    latest: dict = {}
    for record in hits:
        current = latest.get(record[id_field])
        if current is None or int(record.get("safetyreportversion", 0)) > int(current.get("safetyreportversion", 0)):
            latest[record[id_field]] = record
    kept = list(latest.values())
    if source == "faers":
        products = sum(len(r["patient"]["drug"]) for r in kept)
        reactions = sum(len(r["patient"]["reaction"]) for r in kept)
    else:
        products = sum(len(r["products"]) for r in kept)
        reactions = sum(len(r["reactions"]) for r in kept)
    return {"received": len(hits), "reports": len(kept), "products": products, "reactions": reactions}


def fetch(db, replay, cassette="synthetic_fetch_all", sources=("faers", "caers"), terms=None, on_page=None, api_key=None):
    client = OpenFDAClient(api_key=api_key, pacer=Pacer(0))
    with replay(cassette), store.writing(db) as con:
        for name in sources:
            fetch_source(con, client, SOURCES[name], load_terms(terms), on_page=on_page)


def replay_cassette(name):
    """The `replay` fixture's context (tests/conftest.py), for the fixtures below that outlive a test."""
    return make_vcr("none").use_cassette(f"{name}.json", allow_playback_repeats=False)


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    """The whole synthetic cassette fetched once, as fetch(db, replay) fetches it, for the tests
    that only read what a fetch stored; a test that changes it works on a copy (copied)."""
    db = tmp_path_factory.mktemp("fetched") / "test.duckdb"
    fetch(db, replay_cassette)
    assert not Path(f"{db}.wal").exists()  # the fetch closed it: the file alone is the database
    return db


@pytest.fixture(scope="module")
def fetched_faers(tmp_path_factory):
    """FAERS alone fetched once from the same cassette, as fetch(db, replay, sources=("faers",))."""
    db = tmp_path_factory.mktemp("fetched-faers") / "test.duckdb"
    fetch(db, replay_cassette, sources=("faers",))
    return db


def copied(fetched, db):
    """db, a copy of the fetched database (byte for byte what that fetch left in its file)."""
    shutil.copy(fetched, db)
    return db


def dump(db) -> dict:
    con = store.connect(db, read_only=True)
    try:
        tables = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in DATA_TABLES}
        tables["fetch_runs"] = con.execute("SELECT * EXCLUDE (started_at, finished_at) FROM fetch_runs ORDER BY ALL").fetchall()
        return tables
    finally:
        con.close()


def scalar(db, query):
    con = store.connect(db, read_only=True)
    try:
        return con.execute(query).fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize("source", ["faers", "caers"])
def test_fetch_holds_every_report_once(fetched, source):
    db = fetched
    want = expected(source)
    got = {t: scalar(db, f"SELECT count(*) FROM {t} WHERE source = '{source}'") for t in DATA_TABLES}
    assert got == {"reports": want["reports"], "products": want["products"], "reactions": want["reactions"], "raw_reports": want["reports"]}
    assert scalar(db, f"SELECT sum(records_received) FROM fetch_runs WHERE source = '{source}'") == want["received"]
    assert scalar(db, f"SELECT count(*) FROM fetch_runs WHERE source = '{source}'") == len([t for t in load_terms() if t.searched])


def test_fixture_counts_are_what_the_generator_made(fetched):
    # The same numbers, written out, so that a change to the generator is noticed.
    db = fetched
    assert scalar(db, "SELECT count(*) FROM reports WHERE source='faers'") == 2236
    assert scalar(db, "SELECT count(*) FROM reports WHERE source='caers'") == 145
    # The four look-alike reports (7-OH-DPAT and others) are held but are not kratom reports.
    assert scalar(db, "SELECT list(DISTINCT report_id ORDER BY report_id) FROM reports WHERE NOT is_kratom_report") == ["11200000", "11200001", "11200002", "11200003"]
    assert scalar(db, "SELECT count(*) FROM reports WHERE report_id LIKE '_______-_'") == 80  # AERS-era legacy ids
    assert scalar(db, "SELECT sum(records_received) FROM fetch_runs") == 2421 + 145


def test_latest_version_wins(fetched):
    db = fetched
    assert scalar(db, "SELECT list(report_version) FROM reports WHERE report_id = '12000001'") == [2]
    assert scalar(db, "SELECT list(product_name) FILTER (WHERE is_kratom) FROM products WHERE report_id = '12000001'") == ["KRATOM"]
    con = store.connect(db, read_only=True)
    try:
        assert json.loads(raw.record(con, "faers", "12000001"))["safetyreportversion"] == "2"
    finally:
        con.close()


def test_report_found_by_several_terms_is_stored_once(fetched_faers):
    db = fetched_faers
    both = scalar(db, "SELECT count(*) FROM products WHERE product_name = 'KRATOM (MITRAGYNA SPECIOSA)'")
    assert both > 0
    assert scalar(db, "SELECT count(DISTINCT report_id) FROM products WHERE product_name = 'KRATOM (MITRAGYNA SPECIOSA)'") == both
    assert scalar(db, "SELECT matched_term FROM products WHERE product_name = 'KRATOM (MITRAGYNA SPECIOSA)' LIMIT 1") == "KRATOM"


def test_kratom_only_in_active_substance(fetched_faers):
    db = fetched_faers
    row = scalar(db, "SELECT [product_name, matched_term, matched_field] FROM products WHERE report_id = '11100001' AND is_kratom")
    assert row == ["HERBAL SUPPLEMENT", "MITRAGYN", "activesubstancename"]


def test_fetch_runs_record_provenance(fetched):
    db = fetched
    run = scalar(db, "SELECT [endpoint, term, base_url, last_updated, total_reported::VARCHAR, pages::VARCHAR, status] FROM fetch_runs WHERE source='faers' AND term='KRATOM'")
    assert run == ["drug/event", "KRATOM", "https://api.fda.gov", synthetic.LAST_UPDATED, "1927", "2", "complete"]
    searched = [t for t in load_terms() if t.searched]
    assert scalar(db, "SELECT count(*) FROM fetch_runs WHERE total_reported = 0 AND last_updated IS NULL") == 2 * len(searched) - 6 - 2


def test_second_fetch_leaves_identical_contents(fetched, db, replay):
    copied(fetched, db)
    first = dump(db)
    fetch(db, replay)
    assert dump(db) == first


def primary_keys(db) -> int:
    return scalar(db, f"SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' AND list_contains({DATA_TABLES}, table_name)")


def test_a_database_with_the_old_primary_keys_loses_them_at_the_next_fetch(fetched, db, replay):
    # Databases made before issue 12 have a PRIMARY KEY on each of these tables; their indexes
    # ran the publish of a fetch of 300,000 reports into such a database out of memory.
    copied(fetched, db)
    fresh = dump(db)
    assert primary_keys(db) == 0
    con = store.connect(db)
    try:
        for table, key in (("reports", "source, report_id"), ("products", "source, report_id, product_seq"), ("reactions", "source, report_id, reaction_seq"), ("raw_reports", "source, report_id")):
            con.execute(f"ALTER TABLE {table} ADD PRIMARY KEY ({key})")
    finally:
        con.close()
    assert primary_keys(db) == 4
    fetch(db, replay, sources=("faers",))  # caers' rows are carried over, faers' are replaced
    assert primary_keys(db) == 0
    assert dump(db) == fresh


def test_a_publish_that_would_store_a_key_twice_changes_nothing(fetched, db, replay, monkeypatch):
    copied(fetched, db)
    before = dump(db)
    sql = sqlfiles.sql
    doubled = sql("publish") + "\nINSERT INTO reactions SELECT * FROM reactions WHERE source = getvariable('source') LIMIT 3;\n"
    monkeypatch.setattr(publish, "sql", lambda name: doubled if name == "publish" else sql(name))
    with pytest.raises(KratomAEError, match=r"^kratom-ae would have stored faers rows twice \(repeated keys: 3 in reactions\), so it left the faers rows as they were; please report this bug\.$"):
        fetch(db, replay, sources=("faers",))
    assert dump(db) == before


def test_the_publish_gives_the_connection_its_memory_limit_back(db, replay):
    with replay("synthetic_fetch_all"), store.writing(db) as con:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        fetch_source(con, OpenFDAClient(pacer=Pacer(0)), SOURCES["caers"], load_terms())
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == limit


def test_interrupted_fetch_leaves_the_database_as_it_was(db, replay):
    fetch(db, replay, cassette="synthetic_429_then_ok", sources=("faers",), terms=KRATOM_ONLY)
    before = dump(db)
    assert len(before["reports"]) == 5

    def interrupt(source, term, page, received):
        if page.number == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(db, replay, on_page=interrupt)
    assert dump(db) == before


def test_failed_fetch_leaves_the_database_as_it_was(fetched, db, replay):
    copied(fetched, db)
    before = dump(db)
    with pytest.raises(OpenFDAError, match="still did after 6 attempts"):
        fetch(db, replay, cassette="synthetic_429_exhausted", sources=("faers",), terms=KRATOM_ONLY)
    assert dump(db) == before


def test_failed_first_fetch_leaves_no_file(db, replay):
    with pytest.raises(OpenFDAError):
        fetch(db, replay, cassette="synthetic_429_exhausted", sources=("faers",), terms=KRATOM_ONLY)
    assert not db.exists()


def test_openfda_update_during_fetch_is_refused(db):
    # Two queries of one source that see different openFDA releases would mix two snapshots.
    faers_records, _ = synthetic.fixture_dataset(faers_count=20, caers_count=0)
    with FakeOpenFDA(faers_records) as server:
        client = OpenFDAClient(server.url, pacer=Pacer(0))
        with store.writing(db) as con:
            original = synthetic.LAST_UPDATED

            def bump(source, term, page, received):
                synthetic.LAST_UPDATED = "2026-11-25"

            try:
                with pytest.raises(Exception, match="openFDA updated drug/event during the fetch"):
                    fetch_source(con, client, SOURCES["faers"], load_terms(), on_page=bump)
            finally:
                synthetic.LAST_UPDATED = original


def test_killed_fetch_leaves_the_database_as_it_was(db, replay):
    """SIGKILL in the middle of a fetch (no chance to roll back): DuckDB never committed it."""
    fetch(db, replay, cassette="synthetic_429_then_ok", sources=("faers",), terms=KRATOM_ONLY)
    before = dump(db)
    faers_records, caers_records = synthetic.fixture_dataset()
    with FakeOpenFDA(faers_records, caers_records) as server:
        server.faults = [("sleep", 0.0)] * 3 + [("sleep", 30.0)]  # the 4th request hangs
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
        child = subprocess.Popen(
            [sys.executable, "-m", "kratom_ae.cli.main", "fetch", "--db", str(db), "--base-url", server.url, "--quiet"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while len(server.requests) < 4 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        assert len(server.requests) >= 4, child.communicate()
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert dump(db) == before
    # The killed fetch left its scratch folder (with the raw Parquet files of the pages it
    # had); the next fetch into the same database removes it, and only it.
    assert len(list(db.parent.glob(".kratom-ae-staging-*"))) == 1
    # A fetch killed while DuckDB spilled to disk leaves its spill folder (DB.duckdb.tmp, which
    # DuckDB removes only if it made it in the same run); this small fetch never spills, so
    # the folder is made as DuckDB makes it. The next fetch removes it; one into another
    # database keeps it.
    spill = db.with_name(db.name + ".tmp")
    spill.mkdir()
    (spill / "duckdb_temp_4242_0_storage_DEFAULT-0.tmp").write_bytes(b"\0" * 4096)
    fetch(db.with_name("other.duckdb"), replay, cassette="synthetic_429_then_ok", sources=("faers",), terms=KRATOM_ONLY)
    assert spill.is_dir()
    other = db.parent / ".kratom-ae-staging-another-database"
    other.mkdir()
    (other / "database.txt").write_text(str(db.parent / "other.duckdb"))
    fetch(db, replay, cassette="synthetic_429_then_ok", sources=("faers",), terms=KRATOM_ONLY)
    assert dump(db) == before
    assert list(db.parent.glob(".kratom-ae-staging-*")) == [other]
    assert not spill.exists()


def test_fetch_past_26000_matches_into_the_database(db):
    """`kratom-ae fetch --base-url` against a local server that pages like openFDA: 27,500
    matches come back whole (search_after past the skip window) and are stored once each."""
    import random

    from typer.testing import CliRunner

    from kratom_ae.cli.main import app

    rng = random.Random(3)
    many = [synthetic.faers_record(rng, str(60_000_000 + i), "KRATOM", extra_drugs=0) for i in range(27_500)]
    terms = Path(__file__).parent / "fixtures" / "terms_kratom.csv"
    with FakeOpenFDA(many) as server:
        result = CliRunner().invoke(app, ["fetch", "--db", str(db), "--source", "faers", "--terms", str(terms), "--base-url", server.url, "--requests-per-minute", "0", "--quiet"])
        sent = [r["params"] for r in server.requests]
    assert result.exit_code == 0, result.output
    assert len(sent) == 28 and all(not ("skip" in p and "search_after" in p) for p in sent)
    assert scalar(db, "SELECT count(*) FROM reports") == 27_500
    assert scalar(db, "SELECT count(DISTINCT report_id) FROM raw_reports") == 27_500
    assert scalar(db, "SELECT [total_reported, records_received, pages] FROM fetch_runs") == [27_500, 27_500, 28]


def test_keys_first_mentions_and_kratom_only_reports(db):
    """report_key joins each product and reaction to its report; a term or product named
    twice on one report counts once (is_first_mention), as suspect if either row says so
    (named_as_suspect); a report with a non-kratom product is not a kratom-only report.
    Four hand-made FAERS records, fetched through the CLI."""
    from typer.testing import CliRunner

    from kratom_ae.cli.main import app

    def record(report_id, drugs, reactions):
        return {"safetyreportid": report_id, "safetyreportversion": "1", "receivedate": "20240102", "serious": "2",
                "patient": {"drug": [{"medicinalproduct": name, "drugcharacterization": role} for name, role in drugs],
                            "reaction": [{"reactionmeddrapt": pt} if pt else {} for pt in reactions]}}

    records = [
        record("1", [("KRATOM", "1")], ["NAUSEA", None, "NAUSEA", "VOMITING"]),
        record("2", [("KRATOM POWDER", "1"), ("MAENG DA KRATOM", "1")], ["NAUSEA"]),
        record("3", [("KRATOM", "1"), ("GABAPENTIN", "2"), ("gabapentin.", "1")], ["SEIZURE"]),
        record("4", [("KRATOM", "2"), ("GABAPENTIN", "2")], ["NAUSEA"]),
    ]
    with FakeOpenFDA(records) as server:
        runner = CliRunner()
        result = runner.invoke(app, ["fetch", "--db", str(db), "--source", "faers", "--terms", str(KRATOM_ONLY), "--base-url", server.url, "--requests-per-minute", "0", "--quiet"])
    assert result.exit_code == 0, result.output
    con = store.connect(db, read_only=True)
    try:
        assert con.execute("SELECT count(DISTINCT report_key), count(*) FROM reports").fetchone() == (4, 4)
        orphans = "SELECT count(*) FROM {} AS t ANTI JOIN reports AS r ON r.report_key = t.report_key AND r.report_id = t.report_id"
        assert con.execute(orphans.format("products")).fetchone()[0] == 0
        assert con.execute(orphans.format("reactions")).fetchone()[0] == 0
        flags = con.execute("SELECT reaction_pt, is_first_mention FROM reactions WHERE report_id = '1' ORDER BY reaction_seq").fetchall()
        assert flags == [("NAUSEA", True), (None, False), ("NAUSEA", False), ("VOMITING", True)]
        assert con.execute("SELECT list(is_first_outcome ORDER BY reaction_seq) FROM reactions WHERE report_id = '1'").fetchone()[0] == [True, False, False, False]
        products = con.execute("SELECT product_name_normalized, is_kratom, is_first_mention, named_as_suspect FROM products WHERE report_id = '3' ORDER BY product_seq").fetchall()
        assert products == [("KRATOM", True, True, True), ("GABAPENTIN", False, True, True), ("GABAPENTIN", False, False, True)]
        assert con.execute("SELECT report_id FROM reports WHERE is_kratom_only_report ORDER BY report_id").fetchall() == [("1",), ("2",)]
    finally:
        con.close()

    def csv_rows(table, *extra):
        out = runner.invoke(app, ["query", table, "--db", str(db), "--format", "csv", *extra])
        assert out.exit_code == 0, out.output
        return [line.split(",") for line in out.output.splitlines()]

    assert [row[:3] for row in csv_rows("reactions")] == [
        ["reaction_pt", "reports", "pct_of_kratom_reports"], ["NAUSEA", "3", "75.0"], ["SEIZURE", "1", "25.0"], ["VOMITING", "1", "25.0"]]
    assert csv_rows("drugs") == [["ingredient", "reports", "pct_of_kratom_reports", "as_suspect_reports", "faers_reports", "caers_reports"], ["GABAPENTIN", "2", "50.0", "1", "2", "0"]]
    assert csv_rows("drugs", "--by", "product")[1:] == csv_rows("drugs")[1:]  # no openfda block, no active substance: each product is its own ingredient
    ingredients = runner.invoke(app, ["sql", "SELECT report_id, product_seq, ingredient, is_first_mention, named_as_suspect FROM product_ingredients WHERE report_id = '3' ORDER BY product_seq", "--db", str(db), "--format", "csv"])
    assert ingredients.stdout.splitlines() == ["report_id,product_seq,ingredient,is_first_mention,named_as_suspect", "3,1,KRATOM,true,true", "3,2,GABAPENTIN,true,true", "3,3,GABAPENTIN,false,true"]
    assert ["products", "kratom the only product", "2", "", "", "50.0"] in csv_rows("summary")
    assert ["faers", "reaction outcome", "not reported", "4", "100.0"] in csv_rows("outcomes")  # 7 reactions, none with an outcome


def test_database_in_a_folder_with_glob_characters(tmp_path, replay):
    """The scratch folder sits beside the database, and DuckDB reads file names as globs: a
    folder called "study [2026] *draft*" must not lose the raw records."""
    db = tmp_path / "study [2026] *draft*" / "kratom.duckdb"
    db.parent.mkdir()
    fetch(db, replay)
    for source in ("faers", "caers"):
        assert scalar(db, f"SELECT count(*) FROM raw_reports WHERE source = '{source}'") == expected(source)["reports"]
