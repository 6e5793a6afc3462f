"""A hostile or broken server, played by the fake openFDA (fake_openfda.py): huge pages, a gzip
bomb, a server that drips bytes, Links that loop, totals that lie, 404s cut short, malformed
records. Each case fails in one sentence with the database as it was, or goes through."""

import gzip
import json
import random
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import synthetic
from kratom_ae.cli.main import app
from fake_openfda import FakeOpenFDA
from kratom_ae.ingest import raw, staging, store
from kratom_ae.ingest.fetch import SOURCES, fetch_source
from kratom_ae.ingest.openfda import OpenFDAClient, OpenFDAError, Pacer
from kratom_ae.ingest.terms import load_terms, search_query

KRATOM_ONLY = Path(__file__).parent / "fixtures" / "terms_kratom.csv"
FAERS_SEARCH = search_query(load_terms(KRATOM_ONLY)[0], SOURCES["faers"].search_fields)
MiB = 2**20


def faers_records(n: int, first_id: int = 40_000_000) -> list[dict]:
    rng = random.Random(7)
    return [synthetic.faers_record(rng, str(first_id + i), "KRATOM", extra_drugs=0) for i in range(n)]


def big_record(rng: random.Random, i: int, size: int) -> dict:
    """A kratom report of about `size` bytes: real ones average ~72 KB for some drugs, most
    of it products with their openfda blocks."""
    record = synthetic.faers_record(rng, str(70_000_000 + i), "KRATOM", extra_drugs=0)
    product = {
        "drugcharacterization": "2",
        "medicinalproduct": "OTHER PRODUCT",
        "openfda": {"package_ndc": [f"{rng.randint(10000, 99999)}-{rng.randint(100, 999)}-{rng.randint(10, 99)}" for _ in range(60)]},
    }
    record["patient"]["drug"] += [product] * (size // len(json.dumps(product)))
    return record


def page_body(records: list[dict], total: int | None = None) -> bytes:
    return json.dumps(synthetic.envelope(records, len(records) if total is None else total, 0, 1000, "SYNTHETIC")).encode()


def client_for(server, **options) -> OpenFDAClient:
    return OpenFDAClient(server.url, pacer=Pacer(0), **options)


def fetch_into(db, client, terms=KRATOM_ONLY, source="faers") -> None:
    with store.writing(db) as con:
        fetch_source(con, client, SOURCES[source], load_terms(terms))


def fetch_fails(db, client, terms=KRATOM_ONLY, source="faers") -> str:
    """The one sentence a fetch fails with; the new database it was fetching into is gone."""
    with pytest.raises(OpenFDAError) as caught:
        fetch_into(db, client, terms, source)
    assert not db.exists()
    return str(caught.value)


def cli(*args: str):
    return CliRunner().invoke(app, [*args, "--requests-per-minute", "0"] if args[0] == "fetch" else list(args))


def scalar(db, query: str):
    con = store.connect(db, read_only=True)
    try:
        return con.execute(query).fetchone()[0]
    finally:
        con.close()


def raw_texts(db) -> list[str]:
    """Every stored raw record, decompressed (ingest/raw.py)."""
    con = store.connect(db, read_only=True)
    try:
        ids = con.execute("SELECT source, report_id FROM raw_reports ORDER BY ALL").fetchall()
        return [raw.record(con, source, report_id) for source, report_id in ids]
    finally:
        con.close()


# ---- big pages ----------------------------------------------------------------------------

def test_a_page_of_48_mb_is_fetched(db):
    """Pages from about 40 MB on failed as "not valid JSON" (DuckDB ran out of its memory
    reading the page as one value); the records are now read one by one, and shaped in slices."""
    rng = random.Random(5)
    records = [big_record(rng, i, 48_000) for i in range(1000)]
    with FakeOpenFDA(records) as server:
        fetch_into(db, client_for(server))
        assert len(server.requests) == 1
    assert scalar(db, "SELECT [count(*), count(*) FILTER (WHERE is_kratom_report)] FROM reports") == [1000, 1000]
    assert scalar(db, "SELECT count(*) FROM products") == sum(len(r["patient"]["drug"]) for r in records)
    texts = raw_texts(db)
    assert sum(map(len, texts)) > 48 * 1000 * 1000
    assert sorted(json.loads(t)["safetyreportid"] for t in texts) == sorted(r["safetyreportid"] for r in records)


def test_more_raw_json_than_duckdbs_memory_is_published(db, monkeypatch):
    """40 MB of reports through 64 MB of memory (production: 256 MB, and pages of 70 MB).
    Publishing built a hash table of every raw record (DuckDB took the raw files, which it
    cannot size, for the small side of a join) and ran out of memory."""
    monkeypatch.setattr(store, "WRITE_MEMORY_LIMIT", "64MB")
    rng = random.Random(5)
    with FakeOpenFDA([big_record(rng, i, 40_000) for i in range(1000)]) as server:
        fetch_into(db, client_for(server, page_size=250))
    texts = raw_texts(db)
    assert [len(texts), round(sum(map(len, texts)) / 1e6)] == [1000, 40]


def test_running_out_of_memory_is_not_called_invalid_json(db, monkeypatch):
    monkeypatch.setattr(staging, "MEMORY_LIMIT", "16MB")
    rng = random.Random(5)
    with FakeOpenFDA([big_record(rng, i, 20_000) for i in range(200)]) as server:
        message = fetch_fails(db, client_for(server))
        assert len(server.requests) == 1  # asking again would run out again
    assert message == "A page of 4 MiB from openFDA needed more than the 16MB of memory kratom-ae gives DuckDB; the fetch was abandoned."


def test_a_gzip_bomb_is_refused_before_it_fills_the_memory(db):
    bomb = gzip.compress(b" " * (64 * MiB), compresslevel=9)  # 64 KB on the wire
    with FakeOpenFDA(faers_records(5)) as server:
        server.faults = [("gzip", bomb)]
        message = fetch_fails(db, client_for(server, max_page_bytes=8 * MiB))
        assert len(server.requests) == 1
    assert message == (
        f"openFDA at {server.url} sent a response larger than 8 MiB once decompressed, more than kratom-ae accepts for one page; the fetch was abandoned."
    )


def test_a_gzip_bomb_ends_the_command_in_one_sentence(db, monkeypatch):
    monkeypatch.setattr("kratom_ae.ingest.openfda.MAX_PAGE_BYTES", 4 * MiB)
    with FakeOpenFDA(faers_records(5)) as server:
        server.faults = [("gzip", gzip.compress(b"0" * (16 * MiB)))]
        result = cli("fetch", "--db", str(db), "--source", "faers", "--terms", str(KRATOM_ONLY), "--base-url", server.url)
    assert result.exit_code == 1
    assert result.stderr == f"Error: openFDA at {server.url} sent a response larger than 4 MiB once decompressed, more than kratom-ae accepts for one page; the fetch was abandoned.\n"
    assert not db.exists()


def test_a_gzip_page_of_normal_size_is_read():
    records = faers_records(5)
    with FakeOpenFDA(records) as server:
        server.faults = [("gzip", gzip.compress(page_body(records)))]
        pages = list(client_for(server, max_page_bytes=8 * MiB).search("drug/event", FAERS_SEARCH))
    assert [r["safetyreportid"] for r in pages[0].results] == [r["safetyreportid"] for r in records]


# ---- Links that loop, totals that lie -------------------------------------------------------

def test_a_link_back_to_a_page_already_fetched_fails(db):
    """Page 2 links back to page 1: before, page 1 was fetched again and its records counted
    towards the total, so 20 of 25 reports were stored as a complete result."""
    with FakeOpenFDA(faers_records(25)) as server:
        server.faults = [None, ("link", {"search": FAERS_SEARCH, "limit": 10})]
        message = fetch_fails(db, client_for(server, page_size=10))
        assert len(server.requests) == 2
    assert message == f"The server at {server.url} sent a Link on page 2 of a query on drug/event back to a page it had already sent; the fetch was abandoned."


def test_a_link_with_a_new_cursor_that_brings_back_old_records_fails(db):
    """A cursor never seen before that points back at the start: page 3 repeats page 1, so the
    records received reach meta.results.total while the distinct ones stay short of it."""
    with FakeOpenFDA(faers_records(25)) as server:
        server.faults = [None, ("link", {"search": FAERS_SEARCH, "limit": 10, "skip": 0, "search_after": "0=0;1=0"})]
        message = fetch_fails(db, client_for(server, page_size=10))
        assert len(server.requests) == 3
    assert message == f"The server at {server.url} sent 10 records on page 3 of a query on drug/event that it had already sent in that query; the fetch was abandoned."


def test_more_records_than_the_total_fail(db):
    with FakeOpenFDA(faers_records(5)) as server:
        server.faults = [("total", 3)]
        message = fetch_fails(db, client_for(server))
    assert message == f"The server at {server.url} sent 5 records for a query on drug/event whose meta.results.total is 3; the fetch was abandoned."


def test_a_total_that_changes_between_pages_fails(db):
    """Page 2 says 15 in all: before, the 20 records received by then passed for complete."""
    with FakeOpenFDA(faers_records(25)) as server:
        server.faults = [None, ("total", 15)]
        message = fetch_fails(db, client_for(server, page_size=10))
    assert message == f"The server at {server.url} changed meta.results.total of a query on drug/event from 25 to 15 on page 2; the fetch was abandoned."


def test_paging_with_skip_and_no_matches_still_work(db, monkeypatch):
    """The checks leave openFDA's own answers alone: skip paging without Link headers, and the
    404 "No matches found!" of a term with no reports."""
    monkeypatch.setattr("kratom_ae.ingest.openfda.next_params", lambda response: None)
    terms = db.parent / "terms.csv"
    terms.write_text("term,match\nKRATOM,substring\nNOTHINGLIKEIT,substring\n")
    with FakeOpenFDA(faers_records(25)) as server:
        fetch_into(db, client_for(server, page_size=10), terms)
        assert [r["params"].get("skip") for r in server.requests] == [None, "10", "20", None]
    assert scalar(db, "SELECT list([term, records_received::VARCHAR, total_reported::VARCHAR] ORDER BY term) FROM fetch_runs") == [
        ["KRATOM", "25", "25"],
        ["NOTHINGLIKEIT", "0", "0"],
    ]


# ---- a server that drips ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["drip", "drip_headers"])
def test_a_server_that_drips_is_cut_off_at_the_deadline(db, kind):
    """A byte every 0.2 s never trips the 1.5 s read timeout; before, each attempt took as long
    as the server kept dripping (6 s here, forever in the wild)."""
    with FakeOpenFDA(faers_records(5)) as server:
        server.faults = [(kind, 0.2, 6.0)] * 2
        started = time.monotonic()
        message = fetch_fails(db, client_for(server, timeout=(2.0, 1.5), deadline=1.0, max_retries=1))
        elapsed = time.monotonic() - started
    assert message == f"openFDA at {server.url} took longer than 1 s to send a response, and still did after 2 attempts; the fetch was abandoned."
    assert elapsed < 5.0


def test_a_drip_is_retried_like_a_timeout():
    records = faers_records(5)
    with FakeOpenFDA(records) as server:
        server.faults = [("drip", 0.2, 4.0)]
        client = client_for(server, timeout=(2.0, 1.5), deadline=1.0)
        pages = list(client.search("drug/event", FAERS_SEARCH))
        assert len(server.requests) == 2
    assert len(pages[0].results) == 5


# ---- a 404 cut short ------------------------------------------------------------------------

def test_a_404_cut_short_is_asked_for_again():
    """A 404 whose JSON is cut off is not "no matches" (that needs the NOT_FOUND body), nor a
    wrong --base-url: it is retried like any body that is not valid JSON."""
    cut = synthetic.real_body(synthetic.NO_MATCHES)[:25]
    with FakeOpenFDA(faers_records(5)) as server:
        server.faults = [("status", 404, cut, {})]
        pages = list(client_for(server).search("drug/event", FAERS_SEARCH))
        assert len(server.requests) == 2
    assert [(p.total, p.count) for p in pages] == [(5, 5)]


def test_a_404_always_cut_short_fails_in_one_sentence(db):
    cut = synthetic.real_body(synthetic.NO_MATCHES)[:25]
    with FakeOpenFDA(faers_records(5)) as server:
        server.faults = [("status", 404, cut, {})] * 3
        message = fetch_fails(db, client_for(server, max_retries=2))
    assert message == f"openFDA at {server.url} sent a 404 whose body is not valid JSON, and still did after 3 attempts; the fetch was abandoned."


def test_a_404_from_another_kind_of_server_still_blames_the_base_url(db):
    with FakeOpenFDA(faers_records(5)) as server:
        server.faults = [("status", 404, b'{"detail": "Not Found"}', {})]
        message = fetch_fails(db, client_for(server))
        assert len(server.requests) == 1
    assert message == f"{server.url} has no openFDA endpoint drug/event (HTTP 404); check --base-url."


# ---- malformed records ----------------------------------------------------------------------

def malformed_faers() -> list[dict]:
    good, as_string, as_object, id_list, version_abc, version_huge, version_one = faers_records(7, first_id=45_000_000)
    as_string["patient"]["drug"] = "KRATOM"
    as_object["patient"]["drug"] = {"medicinalproduct": "KRATOM", "drugcharacterization": "1"}
    id_list["safetyreportid"] = ["45000003", "45000099"]
    version_abc["safetyreportversion"] = "abc"
    version_huge["safetyreportversion"] = "3000000000"
    version_one["safetyreportid"], version_one["safetyreportversion"] = version_huge["safetyreportid"], "1"
    return [good, as_string, as_object, id_list, version_abc, version_huge, version_one]


def test_malformed_faers_records_are_kept_or_left_out_and_named(db):
    """A version above 2^31 aborted the fetch; patient.drug as a string or an object made a
    kratom report silently a report without products; an id that is a list was stored as its
    JSON text; version "abc" became no version without a word."""
    with FakeOpenFDA([]) as server:
        server.faults = [("status", 200, page_body(malformed_faers()), {})]
        result = cli("fetch", "--db", str(db), "--source", "faers", "--terms", str(KRATOM_ONLY), "--base-url", server.url)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[1:] == [
        'faers: 5 records broke a rule for malformed records (1 not stored); all are listed in the table fetch_problems (docs/schema.md, "Malformed records"):',
        "  45000001: patient.drug is a string, not a list (read as no products)",
        "  45000002: patient.drug is an object, not a list (read as no products)",
        "  45000004: safetyreportversion \"abc\" is not a whole number from 0 to 2147483647 (stored as no version)",
        "  45000005: safetyreportversion \"3000000000\" is not a whole number from 0 to 2147483647 (stored as no version)",
        '  ["45000003","45000099"]: safetyreportid is a list, not one value (record not stored)',
    ]
    con = store.connect(db, read_only=True)
    try:
        reports = con.execute("SELECT report_id, report_version, is_kratom_report FROM reports ORDER BY report_id").fetchall()
        raw = con.execute("SELECT report_id, report_version FROM raw_reports ORDER BY report_id").fetchall()
    finally:
        con.close()
    # The report whose version could not be read ranks below its version 1.
    assert reports == [
        ("45000000", 1, True),
        ("45000001", 1, False),
        ("45000002", 1, False),
        ("45000004", None, True),
        ("45000005", 1, True),
    ]
    assert raw == [(r, v) for r, v, _ in reports]
    status = cli("status", "--db", str(db))
    assert "│ malformed records    │ 5, 1 not stored (table fetch_problems)" in status.stdout


def test_malformed_caers_records_are_named(db):
    rng = random.Random(8)
    good, as_object, id_list = (synthetic.caers_record(rng, str(200 + i), "KRATOM POWDER") for i in range(3))
    as_object["products"] = as_object["products"][0]
    id_list["report_number"] = {"number": "202"}
    with FakeOpenFDA() as server:
        server.faults = [("status", 200, page_body([good, as_object, id_list]), {})]
        fetch_into(db, client_for(server), source="caers")
    assert scalar(db, "SELECT list([report_id, problem, stored::VARCHAR] ORDER BY report_id) FROM fetch_problems") == [
        ["201", "products is an object, not a list (read as no products)", "true"],
        ['{"number":"202"}', "report_number is an object, not one value (record not stored)", "false"],
    ]
    assert scalar(db, "SELECT list([report_id, is_kratom_report::VARCHAR] ORDER BY report_id) FROM reports") == [["200", "true"], ["201", "false"]]


def test_well_formed_records_leave_no_problems(fetched_db):
    assert scalar(fetched_db, "SELECT count(*) FROM fetch_problems") == 0
    assert "│ malformed records    │ none" in cli("status", "--db", str(fetched_db)).stdout


def test_status_of_a_database_fetched_before_records_were_checked(fetched_db, tmp_path):
    import shutil

    import duckdb

    old = tmp_path / "old.duckdb"
    shutil.copy(fetched_db, old)
    con = duckdb.connect(str(old))
    con.execute("DROP TABLE fetch_problems")
    con.close()
    assert "│ malformed records    │ not checked (fetched by an older kratom-ae)" in cli("status", "--db", str(old)).stdout


@pytest.mark.parametrize(
    "layout",
    [
        lambda meta, results: json.dumps({"meta": meta, "results": results}),
        lambda meta, results: json.dumps({"meta": meta, "results": results}, indent=2) + "\n\n",
        lambda meta, results: json.dumps({"meta": {**meta, "disclaimer": "Données « SYNTHETIC » ✓"}, "results": results}, ensure_ascii=False),
        lambda meta, results: json.dumps({"results": results, "meta": meta}),
        lambda meta, results: json.dumps({"meta": meta, "results": results, "after": [1]}),
    ],
    ids=["openfda", "indented", "non-ascii-meta", "results-first", "key-after-results"],
)
def test_a_page_in_any_layout_is_read_the_same(layout):
    """Only openFDA's own layout is read record by record; any other is read whole, the same."""
    records = faers_records(3)
    meta = {"last_updated": "2026-11-18", "results": {"skip": 0, "limit": 1000, "total": 3}}
    scratch = staging.Staging(None, load_terms(KRATOM_ONLY), "faers", "safetyreportid")
    try:
        page = scratch.read_page(layout(meta, records).encode())
        staged = scratch.finish()
        got = scratch.con.execute("SELECT list(report_id ORDER BY stage_seq) FROM read_parquet($f)", {"f": staged.reports}).fetchone()[0]
    finally:
        scratch.cleanup()
    assert (page.last_updated, page.total, page.count, page.repeated) == ("2026-11-18", 3, 3, 0)
    assert got == [r["safetyreportid"] for r in records]


@pytest.mark.parametrize("body", [b'{"meta": {"results": {"total": 3}}, "results": [{"a": 1}, ', b'{"meta": {}, "results": [1, 2]} trailing', b"not json"])
def test_a_page_that_is_not_valid_json_is_asked_for_again(body):
    from kratom_ae.ingest.openfda import InvalidPage

    scratch = staging.Staging(None, load_terms(KRATOM_ONLY), "faers", "safetyreportid")
    try:
        with pytest.raises(InvalidPage):
            scratch.read_page(body)
    finally:
        scratch.cleanup()
