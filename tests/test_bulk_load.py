"""`kratom-ae bulk load` (ingest/bulk_load.py): the reports of the bulk files through the same
shaping as fetched ones. The synthetic fixture, served both as search API pages (fake_openfda)
and as bulk partitions (fake_bulk), gives the same rows both ways; the bulk files also give the
reports no search finds (a kratom name whose words are not KRATOM), and leave out every record
naming no term."""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
import zipfile
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import synthetic
from fake_bulk import UNKEYABLE, FakeBulk, unkeyable_partitions
from fake_openfda import FakeOpenFDA
from kratom_ae.cli.main import app

runner = CliRunner()
# Kratom names no openFDA search of the bundled terms finds: its wildcards match words, and
# these split kratom into words of its own (KRA, TOM) or glue it to a brand (the API's word is
# then HERBKRATOMS, which *kratom* does find: kept as a control).
BULK_ONLY = {"13000001": "KRA-TOM POWDER", "13000002": "Kra tom capsules", "13000003": "K.R.A.T.O.M."}
FOUND_BOTH_WAYS = {"13000004": "HERBKRATOMS"}
# Names one edit from a term, kratom by no term: kept from the bulk files as not kratom, for
# `kratom-ae terms --judged near-miss` to list (a 0 for an O, an accented letter).
NEAR_MISSES = {"13000005": "KRAT0M TEA", "13000006": "Krátom extract"}
FILLERS = 60  # reports naming no kratom at all: read from the bulk files and left out


def universe() -> tuple[list[dict], list[dict]]:
    faers, caers = synthetic.fixture_dataset()
    # A bulk file holds the latest version of each report only, as openFDA's search does.
    latest = {}
    for record in faers:
        key = record["safetyreportid"]
        if key not in latest or int(record.get("safetyreportversion") or 0) >= int(latest[key].get("safetyreportversion") or 0):
            latest[key] = record
    faers = list(latest.values())
    rng = random.Random(synthetic.SEED + 22)
    faers += [synthetic.faers_record(rng, report_id, name, era="faers") for report_id, name in {**BULK_ONLY, **FOUND_BOTH_WAYS}.items()]
    for report_id, name in NEAR_MISSES.items():
        record = synthetic.faers_record(rng, report_id, None, era="faers")
        record["patient"]["drug"].append({"drugcharacterization": "1", "medicinalproduct": name})
        faers.append(record)
    faers += [synthetic.faers_record(rng, str(13_100_000 + i), None, era="faers") for i in range(FILLERS)]
    return faers, caers


def partitions(records: list[dict], n: int) -> list[list[dict]]:
    size = -(-len(records) // n)
    return [records[i:i + size] for i in range(0, len(records), size)]


@pytest.fixture(scope="module")
def both_ways(tmp_path_factory):
    """(the database fetched from the search API, the one loaded from the bulk files, the cache)."""
    folder = tmp_path_factory.mktemp("bulk-load")
    faers, caers = universe()
    api_db, bulk_db, cache = folder / "api.duckdb", folder / "bulk.duckdb", folder / "cache"
    with FakeOpenFDA(faers, caers) as server:
        fetched = runner.invoke(app, ["fetch", "--db", str(api_db), "--base-url", server.url, "--requests-per-minute", "0", "--quiet"])
    assert fetched.exit_code == 0, fetched.output
    with FakeBulk({"faers": partitions(faers, 3), "caers": [caers]}) as server:
        downloaded = runner.invoke(app, ["bulk", "download", str(cache), "--listing-url", server.listing_url, "--quiet"])
    assert downloaded.exit_code == 0, downloaded.output
    loaded = runner.invoke(app, ["bulk", "load", str(cache), "--db", str(bulk_db)])
    assert loaded.exit_code == 0, loaded.output
    return api_db, bulk_db, cache, loaded


# Every stored column but the database's own join numbers (report_key), by report id.
ROWS = {
    "reports": "SELECT * EXCLUDE (report_key) FROM reports",
    "products": "SELECT r.source, r.report_id, p.* EXCLUDE (source, report_key) FROM products p JOIN reports r USING (source, report_key)",
    "product_ingredients": "SELECT r.source, r.report_id, i.* EXCLUDE (source, report_key) FROM product_ingredients i JOIN reports r USING (source, report_key)",
    "reactions": "SELECT r.source, r.report_id, x.* EXCLUDE (source, report_key) FROM reactions x JOIN reports r USING (source, report_key)",
}


def rows(db: Path, table: str, ids: set[tuple[str, str]]) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        got = con.execute(f"SELECT * FROM ({ROWS[table]}) ORDER BY ALL").fetchall()
        names = [d[0] for d in con.description]
    finally:
        con.close()
    source, report_id = names.index("source"), names.index("report_id")
    return [row for row in got if (row[source], row[report_id]) in ids]


def kratom_reports(db: Path) -> set[tuple[str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return set(con.execute("SELECT source, report_id FROM reports WHERE is_kratom_report").fetchall())
    finally:
        con.close()


def held(db: Path) -> set[tuple[str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return set(con.execute("SELECT source, report_id FROM reports").fetchall())
    finally:
        con.close()


def test_the_bulk_files_give_every_fetched_kratom_report_and_those_no_search_finds(both_ways):
    api_db, bulk_db, _, _ = both_ways
    fetched, loaded = kratom_reports(api_db), kratom_reports(bulk_db)
    only_bulk = {("faers", report_id) for report_id in BULK_ONLY}
    assert len(fetched) == 2232 + 145 + len(FOUND_BOTH_WAYS)  # the fixture's, and HERBKRATOMS
    assert ("faers", "13000004") in fetched
    assert not only_bulk & held(api_db)  # no search found them
    assert loaded == fetched | only_bulk
    # Reports naming no term are read but not kept; the look-alikes (7-OH-DPAT ...) are kept and judged not kratom, as fetched.
    assert not {r for r in held(bulk_db) if r[1].startswith("131")}
    look_alikes = {("faers", f"1120000{i}") for i in range(4)}
    near = {("faers", report_id) for report_id in NEAR_MISSES}
    assert held(api_db) - fetched == look_alikes
    assert held(bulk_db) - loaded == look_alikes | near


def test_the_near_misses_are_kept_for_the_audit(both_ways):
    _, bulk_db, _, _ = both_ways
    result = runner.invoke(app, ["terms", "--db", str(bulk_db), "--judged", "near-miss", "--format", "csv"])
    assert result.exit_code == 0, result.output
    listed = {(r["product_name"], r["judged"], r["near_term"], r["reports"]) for r in csv.DictReader(io.StringIO(result.stdout))}
    assert listed == {("KRAT0M TEA", "not kratom", "KRATOM", "1"), ("Krátom extract", "not kratom", "KRATOM", "1")}


NAMES = ["KRAT0M", "Kratm caps", "KRATOOM", "K RATOM", "Krátom", "KETUN", "KETUM LEAF X", "BIAK BIAC", "MITRAGYNE", "MlTRAGYN", "CRATUM", "KRA", "7-0H",
         "ASPIRIN", "KRAKEN", "RATOM", "KRATOMX Y", "ST. JOHN'S WORT", "ÉKRATOM", "KRAY TOM", "kraaatom", "(no name)"]


def test_near_miss_in_python_is_the_audit_s_rule(tmp_path):
    """The bulk files keep a record by terms.near_miss, `terms` lists a name by the SQL: the
    two must agree, or bulk load would drop a record the audit would have listed."""
    from kratom_ae.ingest.terms import load_terms, near_miss

    rng = random.Random(7)
    records = []
    for i, name in enumerate(NAMES):
        record = synthetic.faers_record(rng, str(14_000_000 + i), "KRATOM", era="faers")
        record["patient"]["drug"].append({"drugcharacterization": "2", "medicinalproduct": name})
        records.append(record)
    db = tmp_path / "names.duckdb"
    with FakeOpenFDA(records, []) as server:
        assert runner.invoke(app, ["fetch", "--db", str(db), "--source", "faers", "--base-url", server.url, "--requests-per-minute", "0", "--quiet"]).exit_code == 0
    result = runner.invoke(app, ["terms", "--db", str(db), "--format", "csv"])
    rows = {r["product_name"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    terms = load_terms()
    judged_not_kratom = [name for name in NAMES if rows[name]["judged"] == "not kratom"]
    assert {name: rows[name]["near_term"] != "" for name in judged_not_kratom} == {name: near_miss([name], terms) for name in judged_not_kratom}
    assert {name for name in judged_not_kratom if rows[name]["near_term"]} == {"KRAT0M", "Kratm caps", "KRATOOM", "Krátom", "KETUN", "BIAK BIAC", "MlTRAGYN", "CRATUM", "RATOM"}
    # Two edits away, or near only a term of fewer than five letters (7-OH): not listed.
    assert {"kraaatom", "7-0H", "KRAKEN"} <= set(judged_not_kratom) and not any(rows[name]["near_term"] for name in ("kraaatom", "7-0H", "KRAKEN"))


@pytest.mark.parametrize("table", sorted(ROWS))
def test_a_report_read_both_ways_gives_the_same_rows(both_ways, table):
    api_db, bulk_db, _, _ = both_ways
    both = held(api_db)
    fetched, loaded = rows(api_db, table, both), rows(bulk_db, table, both)
    assert len(fetched) > 100
    assert loaded == fetched


def test_the_reports_only_the_bulk_files_give_are_matched_by_name(both_ways):
    _, bulk_db, _, _ = both_ways
    con = duckdb.connect(str(bulk_db), read_only=True)
    try:
        matched = con.execute("SELECT r.report_id, p.product_name, p.matched_term, p.matched_field FROM products p JOIN reports r USING (source, report_key) "
                              "WHERE p.is_kratom AND r.report_id LIKE '1300000%' ORDER BY ALL").fetchall()
    finally:
        con.close()
    assert matched == [(report_id, name, "KRATOM", "medicinalproduct") for report_id, name in sorted({**BULK_ONLY, **FOUND_BOTH_WAYS}.items())]


def test_runs_name_each_partition_its_url_and_the_records_read(both_ways):
    _, bulk_db, _, loaded = both_ways
    con = duckdb.connect(str(bulk_db), read_only=True)
    try:
        runs = con.execute("SELECT source, term, base_url, last_updated, total_reported, records_received, disclaimer FROM fetch_runs ORDER BY source, base_url").fetchall()
    finally:
        con.close()
    faers, caers = universe()
    assert [(r[0], r[1], r[2].rsplit("/", 1)[-1], r[3], r[4]) for r in runs] == [
        ("caers", "(bulk file)", "food-event-0001-of-0001.json.zip", "2026-11-18", len(caers)),
        *[("faers", "(bulk file)", f"drug-event-000{i}-of-0003.json.zip", "2026-11-18", len(part)) for i, part in enumerate(partitions(faers, 3), 1)],
    ]
    assert sum(r[5] for r in runs if r[0] == "faers") == len(faers) - FILLERS
    assert all("SYNTHETIC" in r[6] for r in runs)
    assert f"faers: {len(faers) - FILLERS:,} records kept for the matcher from 3 partitions; {len(faers) - FILLERS:,} reports held, " in loaded.stderr


def test_a_second_load_converges_to_the_same_contents(both_ways, tmp_path):
    _, bulk_db, cache, _ = both_ways
    again = tmp_path / "again.duckdb"
    for _ in range(2):
        assert runner.invoke(app, ["bulk", "load", str(cache), "--db", str(again), "--quiet"]).exit_code == 0
    for table in ROWS:
        assert rows(again, table, held(bulk_db)) == rows(bulk_db, table, held(bulk_db)), table
    assert held(again) == held(bulk_db)


def copied(cache: Path, to: Path) -> Path:
    for path in cache.rglob("*"):
        if path.is_file():
            (to / path.relative_to(cache)).parent.mkdir(parents=True, exist_ok=True)
            (to / path.relative_to(cache)).write_bytes(path.read_bytes())
    return to


def test_a_partition_cut_short_is_refused_and_the_database_kept(both_ways, tmp_path):
    _, _, cache, _ = both_ways
    copy = copied(cache, tmp_path / "cache")
    db = tmp_path / "db.duckdb"
    assert runner.invoke(app, ["bulk", "load", str(copy), "--db", str(db), "--quiet"]).exit_code == 0
    before = {table: rows(db, table, held(db)) for table in ROWS}
    [part] = copy.rglob("drug-event-0002-of-0003.json.zip")
    part.write_bytes(part.read_bytes()[:1000])
    result = runner.invoke(app, ["bulk", "load", str(copy), "--db", str(db), "--source", "faers", "--quiet"])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: The drug/event export 2026-11-18 in {copy} is not whole (2 of 3 partitions); finish the download first: "
                             f"kratom-ae bulk download {copy} --source faers.\n")
    assert {table: rows(db, table, held(db)) for table in ROWS} == before


def test_a_partition_changed_after_it_was_verified_is_refused(both_ways, tmp_path):
    """One record fewer, its .verified record made to agree (by hand, or by another tool):
    the download's check cannot tell, the records read can."""
    _, _, cache, _ = both_ways
    copy = copied(cache, tmp_path / "cache")
    [part] = copy.rglob("food-event-0001-of-0001.json.zip")
    with zipfile.ZipFile(part) as archive:
        [member] = archive.namelist()
        document = json.loads(archive.read(member))
    listed = len(document["results"])
    document["results"] = document["results"][:-1]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, json.dumps(document))
    part.write_bytes(buffer.getvalue())
    verified = part.with_name(part.name + ".verified")
    record = json.loads(verified.read_text())
    verified.write_text(json.dumps({**record, "bytes": part.stat().st_size}))
    db = tmp_path / "db.duckdb"
    result = runner.invoke(app, ["bulk", "load", str(copy), "--db", str(db), "--source", "caers", "--quiet"])
    assert result.exit_code == 1, result.output
    assert result.stderr == (f"Error: The bulk partition {part} holds {listed - 1:,} records where download.json listed {listed:,}; it changed after it was "
                             f"downloaded: delete it and run kratom-ae bulk download again.\n")
    assert not db.exists()


def test_no_bulk_files_in_the_folder_says_how_to_get_them(tmp_path):
    result = runner.invoke(app, ["bulk", "load", str(tmp_path), "--db", str(tmp_path / "db.duckdb"), "--source", "caers"])
    assert result.exit_code == 1
    assert result.stderr == f"Error: The folder {tmp_path} holds no bulk files of food/event; download them first: kratom-ae bulk download {tmp_path} --source caers.\n"
    assert not (tmp_path / "db.duckdb").exists()


def test_status_says_the_partitions_read_not_queries(both_ways):
    _, bulk_db, _, _ = both_ways
    status = runner.invoke(app, ["status", "--db", str(bulk_db)])
    assert status.exit_code == 0, status.output
    cells = [[c.strip() for c in line.split("│")[1:3]] for line in status.stdout.splitlines() if line.count("│") == 3]
    faers, caers = universe()
    kept = len(faers) - FILLERS
    assert ["records read", f"{len(faers):,} in 3 bulk partitions, {kept:,} kept for the"] in cells
    assert ["records read", f"{len(caers):,} in 1 bulk partition, {len(caers):,} kept for the matcher"] in cells
    assert "loaded (UTC)" in status.stdout and "search terms" not in status.stdout and "drug/event.json" not in status.stdout
    assert status.stdout.count("bulk files") == 2


def hostile_partitions() -> list[list]:
    """Records on which a filter by name could judge otherwise than the page SQL, as openFDA
    could send them: letters Python upper-cases into two (ß, ﬁ), a name given as a list or an
    object, a key given twice (DuckDB reads the first), an integer of 25 digits, a name only in
    openfda's lists, and one report in two versions in two partitions, the later naming no
    kratom."""
    rng = random.Random(23)

    def record(report_id, *drugs, version="1"):
        r = synthetic.faers_record(rng, report_id, None, era="faers")
        r["safetyreportversion"] = version
        r["patient"]["drug"] = [{"drugcharacterization": "1", **d} for d in drugs]
        return r

    def raw(report_id, drugs_json):
        r = record(report_id, {"medicinalproduct": "PLACEHOLDER"})
        return json.dumps(r).replace('[{"drugcharacterization": "1", "medicinalproduct": "PLACEHOLDER"}]', drugs_json)

    first = [
        record("15000001", {"medicinalproduct": "KRAßTOM"}),
        record("15000002", {"medicinalproduct": "KRATOﬁM POWDER"}),
        record("15000003", {"medicinalproduct": "7ß-OH TABLETS"}),
        record("15000004", {"medicinalproduct": ["KRA", "TOM"]}),
        record("15000005", {"activesubstance": {"activesubstancename": ["MITRA", "GYNINE"]}}),
        record("15000006", {"medicinalproduct": {"name": "KRA\u200bTOM"}}),
        record("15000007", {"medicinalproduct": "ASPIRIN", "openfda": {"brand_name": ["X", "KRATOM LEAF"], "generic_name": [["KRA", "TOM"]]}}),
        raw("15000008", '[{"drugcharacterization": "1", "medicinalproduct": "KRATOM", "medicinalproduct": "ASPIRIN"}]'),
        raw("15000009", '[{"drugcharacterization": "1", "medicinalproduct": "ASPIRIN", "medicinalproduct": "KRATOM"}]'),
        raw("15000010", '[{"drugcharacterization": "1", "medicinalproduct": "KRATOM", "drugcumulativedosagenumb": 1234567890123456789012345}]'),
        record("15000011", {"medicinalproduct": "KRATOM"}, version="1"),
        record("15000012", {"medicinalproduct": "ASPIRIN"}),
    ]
    second = [
        record("15000011", {"medicinalproduct": "ASPIRIN"}, version="2"),  # the follow-up: no kratom any more
        record("15000013", {"medicinalproduct": "KRA-TOM"}),
    ]
    return [first, second]


def loaded(tmp_path: Path, parts, name: str, monkeypatch=None) -> Path:
    cache, db = tmp_path / f"cache-{name}", tmp_path / f"{name}.duckdb"
    with FakeBulk({"faers": parts}) as server:
        assert runner.invoke(app, ["bulk", "download", str(cache), "--listing-url", server.listing_url, "--source", "faers", "--quiet"]).exit_code == 0
    result = runner.invoke(app, ["bulk", "load", str(cache), "--db", str(db), "--source", "faers", "--quiet"])
    assert result.exit_code == 0, result.output
    return db


def test_the_name_filter_never_changes_what_is_stored(tmp_path, monkeypatch):
    """What the page SQL alone makes of every record (the filter let everything through) is
    what bulk load makes of the records it keeps: no report lost, none in another version."""
    from kratom_ae.ingest import bulk_load

    filtered = loaded(tmp_path, hostile_partitions(), "filtered")
    monkeypatch.setattr(bulk_load, "kept_by_name", lambda *args: True)
    monkeypatch.setattr(bulk_load, "sieve_pattern", lambda *args: ("", ""))  # the sieve lets every record through to kept_by_name
    everything = loaded(tmp_path, hostile_partitions(), "everything")
    assert kratom_reports(filtered) == kratom_reports(everything)
    for table in ROWS:
        assert rows(filtered, table, kratom_reports(everything)) == rows(everything, table, kratom_reports(everything)), table
    con = duckdb.connect(str(filtered), read_only=True)
    try:
        judged = dict(con.execute("SELECT report_id, is_kratom_report FROM reports").fetchall())
        version = con.execute("SELECT report_version FROM reports WHERE report_id = '15000011'").fetchone()[0]
    finally:
        con.close()
    assert {r for r, k in judged.items() if k} == {"15000001", "15000002", "15000003", "15000004", "15000005", "15000006", "15000007", "15000008", "15000010", "15000013"}
    assert version == 2 and judged["15000011"] is False  # the follow-up won, as the search API would serve it
    assert "15000009" not in judged and "15000012" not in judged  # ASPIRIN first (DuckDB reads the first), ASPIRIN alone


def test_a_damaged_partition_is_named_in_one_sentence(tmp_path):
    db = loaded(tmp_path, hostile_partitions(), "ok")
    [part] = (tmp_path / "cache-ok").rglob("drug-event-0002-of-0002.json.zip")
    data = bytearray(part.read_bytes())
    data[60:70] = b"\0" * 10  # inside the deflated member: the size is the same, the zip is not whole
    part.write_bytes(bytes(data))
    result = runner.invoke(app, ["bulk", "load", str(tmp_path / "cache-ok"), "--db", str(db), "--source", "faers", "--quiet"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith(f"Error: The bulk partition {part} is damaged (not a whole zip") or result.stderr.startswith(f"Error: The bulk partition {part} is damaged (not whole JSON"), result.stderr
    assert result.stderr.endswith("; delete it and run kratom-ae bulk download again.\n")


def test_what_is_not_a_whole_cache_is_refused_before_anything_is_replaced(both_ways, tmp_path):
    _, _, cache, _ = both_ways

    def load(folder, *args):
        return runner.invoke(app, ["bulk", "load", str(folder), "--db", str(tmp_path / "db.duckdb"), "--quiet", *args])

    assert load(tmp_path / "nowhere").stderr == f"Error: There is no folder {tmp_path / 'nowhere'}; download the bulk files into it first: kratom-ae bulk download {tmp_path / 'nowhere'} --source faers.\n"
    missing = load(tmp_path / "nowhere", "--source", "caers")
    assert missing.exit_code == 1 and missing.stderr == f"Error: There is no folder {tmp_path / 'nowhere'}; download the bulk files into it first: kratom-ae bulk download {tmp_path / 'nowhere'} --source caers.\n"
    (tmp_path / "a-file").write_text("x")
    a_file = load(tmp_path / "a-file", "--source", "caers")
    assert a_file.exit_code == 1 and a_file.stderr == f"Error: {tmp_path / 'a-file'} is a file, not a folder of bulk files; name the folder kratom-ae bulk download filled.\n"
    # Only CAERS downloaded: a load of both refuses before FAERS is touched, and says how to load CAERS.
    only_caers = copied(cache, tmp_path / "caers-only")
    shutil.rmtree(only_caers / "drug-event")
    both = load(only_caers)
    assert both.exit_code == 1 and both.stderr == (f"Error: The folder {only_caers} holds no bulk files of drug/event; download them first: "
                                                   f"kratom-ae bulk download {only_caers} --source faers; or load the other source alone: --source caers.\n")
    assert not (tmp_path / "db.duckdb").exists()
    # A newer export whose listing is missing is not passed over for the older one.
    newer = copied(cache, tmp_path / "newer")
    (newer / "food-event" / "2026-12-01" / "all_other").mkdir(parents=True)
    refused = load(newer, "--source", "caers")
    assert refused.exit_code == 1 and refused.stderr == (f"Error: The bulk cache's {newer / 'food-event' / '2026-12-01' / 'export.json'} is missing or not the listing "
                                                         f"kratom-ae wrote there; download again: kratom-ae bulk download {newer} --source caers.\n")
    # A listing whose partitions are not partitions, or none.
    listing = copied(cache, tmp_path / "listing") / "food-event" / "2026-11-18" / "export.json"
    for partitions in ([1], []):
        listing.write_text(json.dumps({**json.loads(listing.read_text()), "partitions": partitions}))
        damaged = load(listing.parent.parent.parent, "--source", "caers")
        assert damaged.exit_code == 1 and "is missing or not the listing kratom-ae wrote there" in damaged.stderr and "Traceback" not in damaged.output


def test_provenance_and_the_report_name_every_partition(both_ways, tmp_path):
    _, bulk_db, _, _ = both_ways
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(out), "--db", str(bulk_db)])
    assert result.exit_code == 0, result.output
    provenance = json.loads((out / "provenance.json").read_text())
    faers = next(s for s in provenance["sources"] if s["source"] == "faers")
    assert faers["from_bulk"] is True and faers["base_url"].endswith("/drug/event/")
    assert [q["base_url"].rsplit("/", 1)[-1] for q in faers["queries"]] == [f"drug-event-000{i}-of-0003.json.zip" for i in (1, 2, 3)]
    page = tmp_path / "page"
    assert runner.invoke(app, ["report", str(page), "--db", str(bulk_db), "--quiet"]).exit_code == 0
    html = (page / "report.html").read_text()
    assert "FAERS: openFDA drug/event bulk files from " in html and html.count("drug-event-000") >= 3 and "search sent" not in html


# ---- items that cannot be reports -----------------------------------------------------------

def load_unkeyable(tmp_path: Path, source: str, name: str = "unkeyable", quiet: bool = False):
    """(the database, the load's result, the fake server's URL) of a bulk load of
    fake_bulk.unkeyable_partitions."""
    cache, db = tmp_path / f"cache-{name}", tmp_path / f"{name}.duckdb"
    with FakeBulk({source: unkeyable_partitions(source)}) as server:
        assert runner.invoke(app, ["bulk", "download", str(cache), "--listing-url", server.listing_url, "--source", source, "--quiet"]).exit_code == 0
    result = runner.invoke(app, ["bulk", "load", str(cache), "--db", str(db), "--source", source, *(["--quiet"] if quiet else [])])
    assert result.exit_code == 0, result.output
    return db, result, server.url


def partition_urls(url: str, source: str) -> list[str]:
    if source == "caers":
        return [f"{url}/food/event/all_other/food-event-0001-of-0001.json.zip"]
    return [f"{url}/drug/event/2024q{i}/drug-event-000{i}-of-0002.json.zip" for i in (1, 2)]


def set_aside(url: str, source: str) -> list[tuple]:
    """fetch_problems as a bulk load of unkeyable_partitions must leave it, worked from UNKEYABLE."""
    expected = UNKEYABLE[source]
    ids = {"safetyreportid is a list, not one value": '["19000003","19000004"]', "report_number is an object, not one value": '{"number":"302"}'}
    return sorted(
        ((source, ids.get(problem), f"{problem} (record {position} of {part_url}, not stored)", False)
         for number, (part_url, problems) in enumerate(zip(partition_urls(url, source), expected["problems"]), 1)
         for position, problem in problems.items() if (number, position) not in expected["passed_by"]),
        key=by_id_and_problem,
    )


def by_id_and_problem(row: tuple) -> tuple:
    return row[1] or "", row[2]


def problems_of(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return sorted(con.execute("SELECT source, report_id, problem, stored FROM fetch_problems").fetchall(), key=by_id_and_problem)
    finally:
        con.close()


def test_a_faers_load_sets_aside_what_cannot_be_a_report_and_says_where_it_was(tmp_path):
    """A record without safetyreportid (or a null, empty or list one) stopped the load
    ("openFDA sent a record without safetyreportid"); an item of results that is not an object
    stopped it with a traceback's AttributeError. Now 9 are set aside, 5 reports held."""
    db, result, url = load_unkeyable(tmp_path, "faers")
    assert set(held(db)) == {("faers", r) for r in UNKEYABLE["faers"]["held"]} == kratom_reports(db)
    assert problems_of(db) == set_aside(url, "faers")
    assert len(set_aside(url, "faers")) == 9
    first, second = partition_urls(url, "faers")
    assert result.stderr.splitlines() == [
        "drug/event 1/2: drug-event-0001-of-0002.json.zip (2026-11-18): 9 records read, 2 kept for the matcher, 5 set aside as malformed (see below).",
        "drug/event 2/2: drug-event-0002-of-0002.json.zip (2026-11-18): 7 records read, 3 kept for the matcher, 4 set aside as malformed (see below).",
        "faers: 6 records kept for the matcher from 2 partitions; 5 reports held, 5 of them kratom reports.",
        'faers: 9 records broke a rule for malformed records (9 not stored); all are listed in the table fetch_problems (docs/schema.md, "Malformed records"):',
        f'  ["19000003","19000004"]: safetyreportid is a list, not one value (record 2 of {second}, not stored)',
        f"  no id: safetyreportid is empty (record 4 of {second}, not stored)",
        f"  no id: safetyreportid is empty (record 7 of {first}, not stored)",
        f"  no id: safetyreportid is missing (record 2 of {first}, not stored)",
        f"  no id: safetyreportid is null (record 4 of {first}, not stored)",
        f"  no id: the record is a list, not an object (record 3 of {second}, not stored)",
        f"  no id: the record is a number, not an object (record 5 of {first}, not stored)",
        f"  no id: the record is a string, not an object (record 3 of {first}, not stored)",
        f"  no id: the record is null, not an object (record 1 of {second}, not stored)",
    ]
    con = duckdb.connect(str(db), read_only=True)
    try:
        runs = con.execute("SELECT list(total_reported ORDER BY base_url), list(records_received ORDER BY base_url) FROM fetch_runs").fetchone()
        stored = con.execute("SELECT list(report_id ORDER BY report_id) FROM raw_reports").fetchone()[0]
        version = con.execute("SELECT report_version FROM reports WHERE report_id = '19000003'").fetchone()[0]
    finally:
        con.close()
    # Every item read; kept for the matcher: 2 and 3 by name, and version 1 of 19000003 for its version 2.
    assert runs == ([9, 7], [3, 3])
    assert stored == ["19000001", "19000002", "19000003", "19000006", "19000007"]  # \u00a019000006 trimmed by clean(), 19000007 a number
    assert version == 2
    status = runner.invoke(app, ["status", "--db", str(db)])
    assert "│ malformed records    │ 9, 9 not stored (table fetch_problems)" in status.stdout


def test_a_caers_load_sets_aside_what_cannot_be_a_report(tmp_path):
    db, result, url = load_unkeyable(tmp_path, "caers", quiet=True)
    assert set(held(db)) == {("caers", r) for r in UNKEYABLE["caers"]["held"]} == kratom_reports(db)
    assert problems_of(db) == set_aside(url, "caers")
    [part] = partition_urls(url, "caers")
    assert result.stderr.splitlines() == [
        "caers: 2 records kept for the matcher from 1 partition; 2 reports held, 2 of them kratom reports.",
        'caers: 4 records broke a rule for malformed records (4 not stored); all are listed in the table fetch_problems (docs/schema.md, "Malformed records"):',
        f'  {{"number":"302"}}: report_number is an object, not one value (record 6 of {part}, not stored)',
        f"  no id: report_number is empty (record 4 of {part}, not stored)",
        f"  no id: report_number is missing (record 2 of {part}, not stored)",
        f"  no id: the record is a string, not an object (record 3 of {part}, not stored)",
    ]


def test_an_empty_id_is_what_the_shaping_s_clean_trims_to_nothing():
    """bulk.unkeyable reads an id as empty exactly when DuckDB's trim() (clean() in
    shaping_macros.sql) leaves nothing of it: asked of every character."""
    from kratom_ae.ingest import bulk

    chars = [chr(c) for c in range(1, 0x30000) if not 0xD800 <= c < 0xE000]
    con = duckdb.connect()
    try:
        trimmed_away = {row[0] for row in con.execute("SELECT c FROM unnest($c::VARCHAR[]) AS u(c) WHERE trim(c || c) = ''", {"c": chars}).fetchall()}
    finally:
        con.close()
    assert {c for c in chars if bulk.unkeyable({"id": c + c}, "id") is not None} == trimmed_away
    assert len(trimmed_away) == 17 and "\t" not in trimmed_away and "\u00a0" in trimmed_away
