"""The local background (issue 22, item 3): `kratom-ae bulk background` shapes every record of
a bulk export into its store (ingest/bulk_background.py), and queries/local_background.py
counts it as the API background counts openFDA. The synthetic background the API background
cassette was recorded from (synthetic.background_dataset) is served as bulk files (fake_bulk),
and its counts are checked against an independent count in plain Python (oracle.background)
and against the cassette itself."""

from __future__ import annotations

import csv
import io
import json
import random
import re
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import oracle
from conftest import made_once
import synthetic
from fake_bulk import UNKEYABLE, FakeBulk, unkeyable_partitions
from kratom_ae.cli.main import app
from kratom_ae.ingest import bulk_background
from kratom_ae.queries.local_background import count_source, local_background

runner = CliRunner()
CASSETTE = Path(__file__).parent / "cassettes" / "synthetic_signals_background.json"


def thirds(records: list[dict]) -> list[list[dict]]:
    size = -(-len(records) // 3)
    return [records[i:i + size] for i in range(0, len(records), size)]


def built(folder: Path, parts: dict, *args: str) -> Path:
    cache = folder / "cache"
    source = ["--source", next(iter(parts))] if len(parts) == 1 else []
    with FakeBulk(parts) as server:
        result = runner.invoke(app, ["bulk", "download", str(cache), "--listing-url", server.listing_url, "--quiet", *source])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["bulk", "background", str(cache), "--quiet", *source, *args])
    assert result.exit_code == 0, result.output
    return cache


@pytest.fixture(scope="module")
def background(tmp_path_factory):
    """(the cache with the store of the synthetic background, its FAERS and CAERS records)."""
    faers, caers = synthetic.background_dataset()
    # Built once for the run (each worker gets a copy: tests here write priors beside it).
    folder = made_once(tmp_path_factory, "local-background", lambda into: built(into, {"faers": thirds(faers), "caers": [caers]}, "--cases"))
    return folder / "cache", faers, caers


def cassette_counts() -> dict:
    """source -> (total, {term key: reports}) as the API background cassette answered them."""
    from kratom_ae.ingest.background import FIELDS  # noqa: F401 (the fields the cassette asked for)

    out: dict = {}
    for interaction in json.loads(CASSETTE.read_text(encoding="utf-8"))["interactions"]:
        uri, body = interaction["request"]["uri"], json.loads(interaction["response"]["body"]["string"])
        source = "faers" if "/drug/event" in uri else "caers"
        total, terms = out.setdefault(source, [None, Counter()])
        if "count=" in uri:
            for row in body["results"]:
                terms[oracle.term(row["term"])] += row["count"]
        elif "search=" in uri:
            stored = uri.split("exact%3A%22", 1)[1].rsplit("%22", 1)[0]
            from urllib.parse import unquote_plus

            terms[oracle.term(unquote_plus(stored))] = body["meta"]["results"]["total"]
        else:
            out[source][0] = body["meta"]["results"]["total"]
    return {source: (total, terms) for source, (total, terms) in out.items()}


@pytest.mark.parametrize("source", ["faers", "caers"])
def test_totals_and_term_counts_are_an_independent_count_of_the_latest_versions(background, source):
    cache, faers, caers = background
    counts = local_background(cache, [source])
    total, terms, _, _ = oracle.background(source, faers if source == "faers" else caers)
    assert counts.totals[["source", "total_reports", "unit"]].values.tolist() == [[source, total, "reports"]]
    assert dict(zip(counts.terms["term"], counts.terms["reports"])) == dict(terms)
    assert set(counts.terms["method"]) == {"local"}
    # The fixture's numbers, worked out once: 16,237 FAERS records of 16,236 reports (one in two versions).
    assert total == {"faers": 16_236, "caers": 3_145}[source]


@pytest.mark.parametrize("source", ["faers", "caers"])
def test_the_api_cassette_counts_the_same_records_and_every_superseded_version_too(background, source):
    """The fake openFDA that recorded the cassette does not collapse versions (a mirror that did
    not would serve them so; openFDA itself keeps the latest only): its counts are the local
    ones plus the one superseded FAERS version, term by term. CAERS has no versions."""
    cache, faers, caers = background
    records = faers if source == "faers" else caers
    counts = local_background(cache, [source])
    local_terms = dict(zip(counts.terms["term"], counts.terms["reports"]))
    latest = {id(r) for r in oracle.latest_of(records, "safetyreportid" if source == "faers" else "report_number")}
    superseded = [r for r in records if id(r) not in latest]
    assert len(superseded) == {"faers": 1, "caers": 0}[source]
    extra = Counter(t for r in superseded for t in oracle.faers_report(r).reactions)
    api_total, api_terms = cassette_counts()[source]
    assert api_total == int(counts.totals["total_reports"][0]) + len(superseded)
    assert len(api_terms) == {"faers": 1006, "caers": 35}[source]  # FAERS: count= top 1,000 and 6 searched one by one
    for term, reports in api_terms.items():
        assert local_terms.get(term, 0) + extra[term] == reports, term


def test_strata_add_up_and_are_an_independent_count(background):
    cache, faers, _ = background
    counts = local_background(cache, ["faers"], strata=True)
    total, terms, strata, stratum_terms = oracle.background("faers", faers)
    got = {(r.sex, r.age_band, None if r.received_year != r.received_year else int(r.received_year)): r.total_reports for r in counts.strata.itertuples()}
    assert got == dict(strata)
    assert sum(got.values()) == total
    got_terms = {(r.sex, r.age_band, None if r.received_year != r.received_year else int(r.received_year), r.term): r.reports for r in counts.stratum_terms.itertuples()}
    assert got_terms == dict(stratum_terms)
    # Every band of the tables occurs, the decades spanning two groups too.
    assert {"under 18", "65 and over", "unknown"} <= set(counts.strata["age_band"])


def test_a_comparator_counts_the_reports_of_its_ingredients(background):
    cache, faers, _ = background
    counts = local_background(cache, ["faers"], comparator=["gabapentin", " Oxycodone "])
    total, terms, _, _ = oracle.background("faers", faers, comparator={"GABAPENTIN", "OXYCODONE"})
    assert 100 < total < 16_233
    assert int(counts.totals["total_reports"][0]) == total
    assert dict(zip(counts.terms["term"], counts.terms["reports"])) == dict(terms)
    # Without the reports the store flags as kratom: the comparator's own reports only.
    without = local_background(cache, ["faers"], comparator=["GABAPENTIN", "OXYCODONE"], exclude_kratom=True)
    total, terms, _, _ = oracle.background("faers", faers, comparator={"GABAPENTIN", "OXYCODONE"}, exclude_kratom=True)
    assert 100 < total < int(counts.totals["total_reports"][0])
    assert int(without.totals["total_reports"][0]) == total
    assert dict(zip(without.terms["term"], without.terms["reports"])) == dict(terms)


def test_probable_cases_are_grouped_by_the_fetch_s_rules(background):
    """--cases groups the store's reports by ingest/cases.py; the oracle groups every pair of
    reports itself (oracle.cases). Compared on the kratom fixture's reports, whose pairs the
    oracle can afford, the grouping of the reports of the whole store restricted to them agrees
    wherever a case holds only fixture reports."""
    cache, faers, _ = background
    store = bulk_background.opened(cache, "faers")
    con = duckdb.connect()
    grouped = dict(con.execute(f"SELECT report_id, case_id FROM read_parquet('{store.folder / bulk_background.CASES_FILE}')").fetchall())
    reports = [oracle.faers_report(r) for r in oracle.latest_of(faers, "safetyreportid")]
    assert len(grouped) == len(reports)
    expected = oracle.cases(reports)
    assert {report_id: case_id for (_, report_id), case_id in expected.items()} == grouped
    cases = local_background(cache, ["faers"], unit="case")
    assert cases.totals[["total_reports", "unit"]].values.tolist() == [[len(set(grouped.values())), "probable cases"]]
    # A case names a term when any of its reports does.
    by_case: dict = {}
    for r in reports:
        by_case.setdefault(grouped[r.report_id], set()).update(r.reactions)
    assert dict(zip(cases.terms["term"], cases.terms["reports"])) == dict(Counter(t for ts in by_case.values() for t in ts))


def test_the_store_holds_what_the_fetched_reports_table_holds(background, fetched_db):
    """The same shaping: for every report both hold, the store's columns are the reports
    table's (ages of every unit in years or a decade, sex, country, seriousness, kratom flags),
    and its term keys and ingredients those of reactions and product_ingredients."""
    cache, _, _ = background
    store = bulk_background.opened(cache, "faers")
    con = duckdb.connect(str(fetched_db), read_only=True)
    columns = "report_id, report_version, received_date, sex, age_years, age_decade, country_code, country_name, is_serious, serious_death, serious_other, is_kratom_report, is_kratom_suspect_report, company_number, event_date_reported"
    fetched = {row[0]: row for row in con.execute(f"SELECT {columns} FROM reports WHERE source = 'faers'").fetchall()}
    fetched_terms = dict(con.execute("SELECT r.report_id, list(DISTINCT x.reaction_pt ORDER BY x.reaction_pt) FROM reactions x JOIN reports r USING (report_key) WHERE x.is_first_mention AND r.source = 'faers' GROUP BY 1").fetchall())
    fetched_ingredients = dict(con.execute("SELECT r.report_id, list(DISTINCT (i.ingredient, i.is_kratom) ORDER BY (i.ingredient, i.is_kratom)) FROM product_ingredients i JOIN reports r USING (report_key) WHERE r.source = 'faers' GROUP BY 1").fetchall())
    con.close()
    files = store.files("reports")
    mem = duckdb.connect()
    latest = f"(SELECT * FROM read_parquet({files}) QUALIFY row_number() OVER (PARTITION BY report_id ORDER BY report_version DESC NULLS LAST, part_seq DESC, record_seq DESC) = 1)"
    stored = {row[0]: row for row in mem.execute(f"SELECT {columns} FROM {latest}").fetchall()}
    stored_terms = dict(mem.execute(f"SELECT l.report_id, list(DISTINCT x.reaction_pt ORDER BY x.reaction_pt) FROM {latest} l JOIN read_parquet({store.files('reactions')}) x USING (part_seq, record_seq) GROUP BY 1").fetchall())
    stored_ingredients = dict(mem.execute(f"SELECT l.report_id, list(DISTINCT (i.ingredient, i.is_kratom) ORDER BY (i.ingredient, i.is_kratom)) FROM {latest} l JOIN read_parquet({store.files('ingredients')}) i USING (part_seq, record_seq) GROUP BY 1").fetchall())
    # No id of the synthetic background is given to two unrelated records (its filler reports
    # start at id 35,000,000), so every report both hold is compared, 12000001's second version too.
    _, faers, _ = background
    twice = {k for k, n in Counter(r["safetyreportid"] for r in faers).items() if n > 1}
    assert twice == {"12000001"}
    assert len(fetched) > 2000 and set(fetched) <= set(stored)
    assert {k: stored[k] for k in fetched} == fetched
    assert {k: stored_terms.get(k) for k in fetched_terms} == fetched_terms
    assert {k: stored_ingredients.get(k) for k in fetched_ingredients} == fetched_ingredients
    # Ages in every openFDA unit were there to convert.
    assert {r[5] is not None for r in fetched.values()} == {True, False}


def record(rng, report_id: str, version: str | None, term: str, **patient) -> dict:
    r = synthetic.faers_record(rng, report_id, None, era="faers")
    if version is None:
        r.pop("safetyreportversion", None)
    else:
        r["safetyreportversion"] = version
    r["patient"]["reaction"] = [{"reactionmeddrapt": term}]
    r["patient"].update(patient)
    return r


def test_the_latest_version_is_chosen_across_partitions(tmp_path):
    """The highest version wins wherever it lies; among equal versions (or none) the last
    received; a version is higher than none. Terms in any spelling are one term key."""
    rng = random.Random(5)
    first = [record(rng, "16000001", "2", "nausea"), record(rng, "16000002", "1", "Rash"), record(rng, "16000003", "1", "Crohn^s  disease"),
             record(rng, "16000004", None, "Headache")]
    second = [record(rng, "16000002", "1", "PRURITUS"), record(rng, "16000003", None, "Dizziness"), record(rng, "16000004", None, "CROHN'S DISEASE ")]
    third = [record(rng, "16000001", "1", "Headache")]
    cache = built(tmp_path, {"faers": [first, second, third]})
    counts = local_background(cache, ["faers"])
    assert int(counts.totals["total_reports"][0]) == 4
    assert dict(zip(counts.terms["term"], counts.terms["reports"])) == {"NAUSEA": 1, "PRURITUS": 1, "CROHN'S DISEASE": 2}
    assert dict(zip(counts.terms["term"], counts.terms["reports"])) == dict(oracle.background("faers", first + second + third)[1])


def test_a_run_resumes_and_converges(tmp_path):
    """A partition left half-built (its .part folder) is built again, one built is kept, and
    a second run changes nothing: the same counts, the same files."""
    rng = random.Random(6)
    parts = [[record(rng, f"1610000{i}", "1", "Nausea") for i in range(3)], [record(rng, f"1620000{i}", "1", "Vomiting") for i in range(2)]]
    cache = built(tmp_path, {"faers": parts})
    store = bulk_background.opened(cache, "faers")
    first_folder, second_folder = store.partitions
    before = (first_folder / "reports.parquet").read_bytes()
    # As a run killed (kill -9) in the second partition leaves it: its folder not yet renamed,
    # and the scratch folder of its shaping.
    second_folder.rename(second_folder.with_name(second_folder.name + ".part"))
    (second_folder.parent / ".scratch-killed").mkdir()
    with pytest.raises(Exception, match=r"not whole \(1 of 2 partitions built\)"):
        bulk_background.opened(cache, "faers")
    result = runner.invoke(app, ["bulk", "background", str(cache), "--source", "faers"])
    assert result.exit_code == 0, result.output
    assert "drug-event-0001-of-0002.json.zip (2026-11-18): built before, kept." in result.stderr
    assert "drug-event-0002-of-0002.json.zip (2026-11-18): 2 records shaped, 2 stored." in result.stderr
    assert "local background of 5 reports (latest version of each) in 2 partitions" in result.stderr
    assert (first_folder / "reports.parquet").read_bytes() == before
    assert not second_folder.with_name(second_folder.name + ".part").exists() and not (second_folder.parent / ".scratch-killed").exists()
    counts = count_source(bulk_background.opened(cache, "faers"))
    assert dict(zip(counts["terms"]["term"], counts["terms"]["reports"])) == {"NAUSEA": 3, "VOMITING": 2}
    files = {path: path.read_bytes() for path in store.folder.rglob("*") if path.is_file()}
    again = runner.invoke(app, ["bulk", "background", str(cache), "--source", "faers", "--quiet"])
    assert again.exit_code == 0, again.output
    assert {path: path.read_bytes() for path in store.folder.rglob("*") if path.is_file()} == files
    provenance = bulk_background.opened(cache, "faers").provenance()
    assert [(p["url"].rsplit("/", 1)[-1], p["export_date"], p["records_read"]) for p in provenance] == [
        ("drug-event-0001-of-0002.json.zip", "2026-11-18", 3), ("drug-event-0002-of-0002.json.zip", "2026-11-18", 2)]


def test_a_store_of_an_earlier_format_is_built_again(tmp_path):
    """A store of format 1 (no onset age as reported) is not read: signals says to build it
    again, and bulk background does, so that the ages the strata need are there."""
    rng = random.Random(8)
    cache = built(tmp_path, {"faers": [[record(rng, "16400001", "1", "Nausea", patientonsetage="45.5", patientonsetageunit="801")]]})
    store = bulk_background.opened(cache, "faers")
    meta = store.partitions[0] / "partition.json"
    meta.write_text(meta.read_text(encoding="utf-8").replace('"format": 2', '"format": 1'), encoding="utf-8")
    with pytest.raises(Exception, match=r"was built by an earlier kratom-ae \(store format 1; this one reads 2\); build it again: kratom-ae bulk background .* --source faers\.$"):
        bulk_background.opened(cache, "faers")
    result = runner.invoke(app, ["bulk", "background", str(cache), "--source", "faers"])
    assert result.exit_code == 0, result.output
    assert "(2026-11-18): 1 record" in result.stderr and "built before, kept" not in result.stderr
    ages = duckdb.sql(f"SELECT age_reported, age_unit_reported FROM read_parquet('{store.partitions[0] / 'reports.parquet'}')").fetchall()
    assert ages == [("45.5", "year")]


# Records as openFDA's files could hold them, given as text: numbers where strings are usual
# (a version, an age of 45.50, a weight of 7e1, an integer too long for 64 bits), a key given
# twice (the first is read), \u escapes (an accented kratom name, a caret), an escaped slash,
# and a record laid out over lines and tabs.
ODD_RECORDS = [
    '{"safetyreportid": "19000001", "safetyreportversion": 2, "receivedate": "20240105", "patient": {"patientonsetage": 45.50, "patientonsetageunit": "801", '
    '"patientweight": 7e1, "patientsex": 2, "drug": [{"medicinalproduct": "KRATOM", "medicinalproduct": "ASPIRIN", "drugcharacterization": "1"}], '
    '"reaction": [{"reactionmeddrapt": "Nausea"}, {"reactionmeddrapt": "nausea "}]}}',
    '{"safetyreportid": "19000002", "receivedate": "20240106", "occurcountry": "D\\u00e9", "patient": {"patientonsetage": 1234567890123456789012345, '
    '"patientonsetageunit": "801", "drug": [{"medicinalproduct": "Kr\\u00c1tom caps", "drugcharacterization": "2", "activesubstance": {"activesubstancename": "MITRAGYNINE"}}, '
    '{"medicinalproduct": "PARAC\\u00c9TAMOL", "drugindication": "PAIN\\/FEVER"}], "reaction": [{"reactionmeddrapt": "Crohn\\u005es  disease"}, {"reactionmeddrapt": "Dizziness\\/vertigo"}]}}',
    '{\n\t"safetyreportid" : "19000003",\n\t"safetyreportversion" : "1",\n\t"receivedate" : "20240107",\n\t"patient" : {\n\t\t"drug" : [ { "medicinalproduct" : "OXYCODONE" ,'
    ' "openfda" : { "generic_name" : [ "OXYCODONE HYDROCHLORIDE" ] } } ],\n\t\t"reaction" : [ { "reactionmeddrapt" : "RESPIRATORY DEPRESSION" } ]\n\t}\n}',
]


def test_the_store_is_the_same_split_by_duckdb_or_read_record_by_record(tmp_path, monkeypatch):
    """`bulk background` splits each partition's records with DuckDB (bulk_background.split)
    and shapes their own text; a partition DuckDB cannot split is read record by record with
    ijson and written out again (the route every partition took before). Both give the same
    files, row for row, on the fixture's messiest records and on ODD_RECORDS."""
    faers, _ = synthetic.background_dataset()
    parts = {"faers": [faers[:400] + ODD_RECORDS[:2], [ODD_RECORDS[2], *faers[400:700]]]}
    calls = []
    real_split = bulk_background.split
    monkeypatch.setattr(bulk_background, "split", lambda *args: calls.append(args) or real_split(*args))
    split_cache = built(tmp_path / "split", parts)
    assert len(calls) == 2
    monkeypatch.setattr(bulk_background.bulk, "unzip_results", lambda *args: None)
    read_cache = built(tmp_path / "read", parts)
    assert len(calls) == 2
    split_store, read_store = bulk_background.opened(split_cache, "faers"), bulk_background.opened(read_cache, "faers")
    mem = duckdb.connect()
    for table in bulk_background.TABLES:
        for one, other in zip(split_store.files(table), read_store.files(table)):
            rows = mem.execute(f"SELECT * FROM read_parquet('{one}')").fetchall()
            assert rows == mem.execute(f"SELECT * FROM read_parquet('{other}')").fetchall()
            assert len(rows) > 300
    odd = {row[0]: row[1:] for row in mem.execute(f"SELECT report_id, report_version, age_years, sex, country_name, is_kratom_report FROM read_parquet({split_store.files('reports')}) "
                                                   "WHERE report_id LIKE '1900000_' ORDER BY 1").fetchall()}
    # The first ASPIRIN is not read (its key comes second); an age of 10^24 years is no age.
    assert odd == {"19000001": (2, 45.5, "female", None, True), "19000002": (None, None, None, "Dé", True), "19000003": (1, None, None, None, False)}
    terms = dict(mem.execute(f"SELECT report_id, list(reaction_pt ORDER BY reaction_pt) FROM read_parquet({split_store.files('reports')}) JOIN read_parquet({split_store.files('reactions')}) "
                             "USING (part_seq, record_seq) WHERE report_id LIKE '1900000_' GROUP BY 1").fetchall())
    assert terms == {"19000001": ["NAUSEA"], "19000002": ["CROHN'S DISEASE", "DIZZINESS/VERTIGO"], "19000003": ["RESPIRATORY DEPRESSION"]}

    def provenance(store):  # each build had a fake server of its own (the URL's port)
        return [{k: v.split("/", 3)[-1] if k == "url" else v for k, v in p.items() if k not in ("built_at", "tool_version")} for p in store.provenance()]

    assert provenance(split_store) == provenance(read_store)
    assert [p["records_read"] for p in provenance(split_store)] == [402, 301]


@pytest.mark.parametrize("route", ["split by DuckDB", "record by record"])
@pytest.mark.parametrize("source", ["faers", "caers"])
def test_what_cannot_be_a_report_is_left_out_of_the_background_and_said(tmp_path, source, route, monkeypatch):
    """A record without an id (or with a null, empty or list one) stopped the build ("openFDA
    sent a record without safetyreportid"), an item that is not an object too. Each is left
    out, with its position in partition.json, counted on the partition's line and the
    command's, and in the signals provenance; every other record is stored. The same whether
    DuckDB splits the partition (its suspects judged in Python) or it is read record by record."""
    cache = tmp_path / "cache"
    with FakeBulk({source: unkeyable_partitions(source)}) as server:
        assert runner.invoke(app, ["bulk", "download", str(cache), "--listing-url", server.listing_url, "--source", source, "--quiet"]).exit_code == 0
    splits = []
    real_split = bulk_background.split
    monkeypatch.setattr(bulk_background, "split", lambda *args: splits.append(args) or real_split(*args))
    readings = []
    real_records = bulk_background.bulk.partition_records
    monkeypatch.setattr(bulk_background.bulk, "partition_records", lambda *args: readings.append(args) or real_records(*args))
    if route == "record by record":
        monkeypatch.setattr(bulk_background.bulk, "unzip_results", lambda *args: None)
    result = runner.invoke(app, ["bulk", "background", str(cache), "--source", source])
    assert result.exit_code == 0, result.output
    partitions = len(UNKEYABLE[source]["records"])
    assert (len(splits), len(readings)) == ((partitions, 0) if route == "split by DuckDB" else (0, partitions))
    expected = UNKEYABLE[source]
    store = bulk_background.opened(cache, source)
    id_field = "safetyreportid" if source == "faers" else "report_number"
    endpoint, stem = ("drug/event", "drug-event") if source == "faers" else ("food/event", "food-event")
    # FAERS: 3 and 3 stored of 9 and 7 (19000003 in both, its version 2 the latest); CAERS: 2 of 7.
    stored, left_out = {"faers": ([3, 3], 10), "caers": ([2], 5)}[source]
    n = len(expected["records"])
    assert result.stderr.splitlines() == [
        *(f"{endpoint} {i}/{n}: {stem}-000{i}-of-000{n}.json.zip (2026-11-18): {records} records read, {len(problems)} left out as no report "
          f"(not a JSON object, or no usable {id_field}: partition.json lists each), {records - len(problems)} shaped, {kept} stored."
          for i, (records, problems, kept) in enumerate(zip(expected["records"], expected["problems"], stored), 1)),
        f"{endpoint} export 2026-11-18: local background of {len(expected['held'])} reports (latest version of each) in {n} partition{'s' if n > 1 else ''}, in {store.folder}. "
        f"{left_out} records of the bulk files were left out: not a JSON object, or no usable {id_field} "
        "(each partition's partition.json lists its own, with its position).",
    ]
    assert [(p["records_read"], p["records_left_out"], p["left_out"], p["reports_stored"]) for p in store.provenance()] == [
        (records, len(problems), [{"position": position, "problem": problem} for position, problem in problems.items()], kept)
        for records, problems, kept in zip(expected["records"], expected["problems"], stored)
    ]
    con = duckdb.connect()
    try:
        ids = {row[0] for row in con.execute("SELECT report_id FROM read_parquet($f)", {"f": store.files("reports")}).fetchall()}
    finally:
        con.close()
    assert ids == expected["held"]
    assert int(count_source(store)["totals"]["total_reports"][0]) == len(expected["held"])
    provenance = local_background(cache, [source]).provenance
    assert [p["records_left_out"] for p in provenance[0]["partitions"]] == [len(problems) for problems in expected["problems"]]


def test_a_background_without_a_store_says_how_to_build_it(background, tmp_path):
    cache, _, _ = background
    copy = tmp_path / "cache"
    for path in cache.rglob("*"):
        if path.is_file() and "background" not in path.parts:
            (copy / path.relative_to(cache)).parent.mkdir(parents=True, exist_ok=True)
            (copy / path.relative_to(cache)).write_bytes(path.read_bytes())
    with pytest.raises(Exception) as raised:
        local_background(copy, ["caers"])
    assert str(raised.value) == (f"The local background of the food/event export 2026-11-18 in {copy} is not whole (0 of 1 partition built); "
                                 f"build it first: kratom-ae bulk background {copy} --source caers.")


def test_the_drug_by_event_table_is_an_independent_count(background):
    """n, the margins and E of every (drug, term) pair: a drug is a non-kratom product's
    ingredient, or 'kratom' for a kratom product; margins count reports naming any drug and any term."""
    cache, faers, _ = background
    table = local_background(cache, ["faers"], drug_events=True).drug_events
    reports = [oracle.faers_report(r) for r in oracle.latest_of(faers, "safetyreportid")]
    rows = {}
    units = 0
    pair_counts, drug_units, term_units = Counter(), Counter(), Counter()
    for r in reports:
        drugs = set()
        for names, _, is_k in r.ingredients:
            drugs |= names if not is_k else set()
        if any(is_k for _, _, is_k in r.ingredients):
            drugs.add("kratom")
        if not drugs or not r.reactions:
            continue
        units += 1
        drug_units.update(drugs)
        term_units.update(r.reactions)
        pair_counts.update((d, t) for d in drugs for t in r.reactions)
    for (d, t), n in pair_counts.items():
        rows[(d, t)] = (n, drug_units[d], term_units[t], units)
    got = {(r.drug, r.term): (r.n, r.drug_units, r.term_units, r.units) for r in table.itertuples()}
    assert got == rows
    assert all(abs(r.expected - r.drug_units * r.term_units / r.units) < 1e-9 for r in table.itertuples())
    assert drug_units["kratom"] > 2000


def test_ebgm_of_the_local_table(background):
    """The prior is fitted on the whole FAERS table. In the synthetic background a drug names
    some terms more often than chance (synthetic.drugs_follow_reactions), and the terms only the
    fixture's kratom reports name come with kratom far more often than expected: every start
    reaches one optimum inside the parameter space, a broad component (mean 1.87) of weight 3%
    and a narrow one near 1; 19 of kratom's 35 pairs have EB05 >= 2, and the other drugs' pairs
    with EB05 >= 2 are ones their affinity makes common (N / E above 2). The pair seen once where
    least is expected (E = 0.0026) is shrunk from N / E = 378 to below 2."""
    from kratom_ae.queries import ebgm

    cache, _, _ = background
    table = local_background(cache, ["faers"], drug_events=True).drug_events
    scored, priors = ebgm.drug_event_scores(table)
    prior = priors["faers"]
    assert set(priors) == {"faers"} and prior.pairs == len(table) == 27_901
    assert [float(f"{x:.3g}") for x in prior.theta] == [2.06, 1.10, 71.5, 70.4, 0.0300]
    assert prior.neg_log_likelihood == pytest.approx(57056.530, abs=0.001)
    assert len(prior.optima) == 1
    flagged = scored[scored["eb05"] >= 2]
    kratom = flagged[flagged["drug"] == "kratom"]
    assert len(kratom) == 19 and (scored["drug"] == "kratom").sum() == 35
    others = flagged[flagged["drug"] != "kratom"]
    assert len(others) == 48 and (others["n"] / others["expected"] > 2).all()
    # EB05 and EB95 are the posterior's 5th and 95th percentiles, EBGM its geometric mean.
    assert ((scored["eb05"] < scored["ebgm"]) & (scored["ebgm"] < scored["eb95"])).all()
    once = scored[scored["n"] == 1].sort_values("expected").iloc[0]
    assert once["n"] / once["expected"] > 300 and once["ebgm"] < 2


@pytest.fixture(scope="module")
def local_signals(background, fetched_db, tmp_path_factory):
    """One `signals --background local --csv FILE` run on a copy of the fetched database, in a
    terminal 80 columns wide, no request allowed (no cassette): (the database, the text shown,
    its tables, the CSV rows, the provenance). FAERS's prior is test_ebgm_of_the_local_table's;
    CAERS's 244 pairs (one supplement a report) climb past the parameter limit from every start,
    so that source shows what signals says when no prior can be fitted."""
    import csv
    import shutil

    from kratom_ae.cli import output as cli_output
    from kratom_ae.queries import ebgm
    from test_output import Recording
    from vcr_setup import make_vcr

    cache, _, _ = background
    folder = tmp_path_factory.mktemp("local-signals")
    db = folder / "kratom.duckdb"
    shutil.copy(fetched_db, db)
    out = io.StringIO()
    console = Recording(file=out, width=80, force_terminal=True, color_system=None)
    with pytest.MonkeyPatch.context() as patch, make_vcr("none").use_cassette("empty_never_recorded.json"):
        patch.setattr(cli_output, "stdout_console", lambda: console)
        result = runner.invoke(app, ["signals", "--db", str(db), "--background", "local", "--bulk", str(cache), "--csv", str(folder / "signals.csv")])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((folder / "signals.csv").read_text(encoding="utf-8"))))
    provenance = json.loads((folder / "signals.csv.provenance.json").read_text(encoding="utf-8"))
    return db, out.getvalue(), console.tables, rows, provenance


def test_signals_with_the_local_background_agree_with_the_api_background(background, local_signals):
    """`signals --background local` on the fixture's kratom database: every row's a and b are the
    API run's, and c and d differ exactly by the records the fake openFDA counts beyond the
    latest version of each id (one in all), term by term. No request is sent (no cassette).
    The API run has none of the local run's EBGM columns."""
    import csv

    from vcr_setup import make_vcr

    _, faers, caers = background
    db, _, _, rows, _ = local_signals
    with make_vcr("none").use_cassette("synthetic_signals_background.json", allow_playback_repeats=False):
        api = runner.invoke(app, ["signals", "--db", str(db), "--format", "csv"])
    assert api.exit_code == 0, api.output
    local_rows = {(r["source"], r["term"]): r for r in rows}
    api_rows = {(r["source"], r["term"]): r for r in csv.DictReader(io.StringIO(api.stdout))}
    assert set(local_rows) == set(api_rows) and len(local_rows) == 69
    assert list(rows[0])[-5:] == ["ebgm_n", "ebgm_expected", "ebgm", "eb05", "eb95"]
    assert list(next(iter(api_rows.values()))) == list(rows[0])[:-5]
    extra = {}
    for source, records, id_field in (("faers", faers, "safetyreportid"), ("caers", caers, "report_number")):
        latest = {id(r) for r in oracle.latest_of(records, id_field)}
        report = oracle.faers_report if source == "faers" else oracle.caers_report
        extra[source] = (sum(id(r) not in latest for r in records), Counter(t for r in records if id(r) not in latest for t in report(r).reactions))
    assert {s: n for s, (n, _) in extra.items()} == {"faers": 1, "caers": 0}
    for key, row in local_rows.items():
        other, (superseded, naming) = api_rows[key], extra[key[0]]
        assert (row["a"], row["b"]) == (other["a"], other["b"]), key
        assert int(other["c"]) - int(row["c"]) == naming[key[1]], key
        assert int(other["d"]) - int(row["d"]) == superseded - naming[key[1]], key
        assert row["background_method"] == "local"
    # The database was only read: its cached API background is still the one fetched above.
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT list(total_reports ORDER BY source) FROM background_totals").fetchone()[0] == [3_145, 16_237]
    con.close()


def test_signals_local_scores_kratom_s_pair_of_each_term(background, local_signals):
    """EBGM, EB05 and EB95 of each row are those of the kratom-by-term pair of the whole FAERS
    drug-by-event table, scored here by ebgm.drug_event_scores on the table counted again; N and E
    are the pair's. CAERS gets no prior (from any start), so its rows keep N and E and no score."""
    from kratom_ae.queries import ebgm

    cache, _, _ = background
    db, _, _, rows, _ = local_signals
    table = local_background(cache, ["caers", "faers"], drug_events=True).drug_events
    scored, priors = ebgm.drug_event_scores(table[table["source"] == "faers"])
    with pytest.raises(ValueError, match="No starting point reached"):
        ebgm.drug_event_scores(table[table["source"] == "caers"])
    pairs = {(r.source, r.term): r for r in table[table["drug"] == "kratom"].itertuples()}
    scores = {("faers", r.term): r for r in scored[scored["drug"] == "kratom"].itertuples()}
    with_pair = [r for r in rows if (r["source"], r["term"]) in pairs]
    # Every term the kratom database counts is named by some kratom report of the bulk files too.
    assert len(with_pair) == len(rows) == 69
    for row in rows:
        pair = pairs[(row["source"], row["term"])]
        assert (int(row["ebgm_n"]), float(row["ebgm_expected"])) == (pair.n, pytest.approx(pair.expected, rel=1e-12))
        if row["source"] == "caers":
            assert (row["ebgm"], row["eb05"], row["eb95"]) == ("", "", "")
            continue
        score = scores[(row["source"], row["term"])]
        assert [float(row[k]) for k in ("ebgm", "eb05", "eb95")] == pytest.approx([score.ebgm, score.eb05, score.eb95], rel=1e-12)
    assert Counter(r["source"] for r in rows) == {"faers": 35, "caers": 34}
    # The fixture's kratom-only terms stand out: EB05 >= 2 for exactly test_ebgm_of_the_local_table's 19 pairs.
    assert sum(float(r["eb05"]) >= 2 for r in rows if r["eb05"]) == 19
    assert priors["faers"].pairs == 27_901


def test_signals_local_says_what_the_prior_is(local_signals):
    """The provenance holds each source's prior (or why there is none), the footer says it, and
    the terminal shows EBGM and EB05 (not EB95) without splitting a number at 80 columns, every
    part of the table led by its key."""
    from kratom_ae.queries import ebgm
    from test_output import assert_whole

    _, text, tables, rows, provenance = local_signals
    part = provenance["signals"]["ebgm"]
    assert "DuMouchel W. Bayesian data mining in large frequency tables" in part["reference"]
    faers, caers = sorted(part["priors"], key=lambda p: p["source"] != "faers")
    assert faers["fitted"] and faers["pairs"] == 27_901 and faers["starts"] == [list(start) for start in ebgm.STARTS]
    assert [float(f"{faers[k]:.3g}") for k in ("alpha1", "beta1", "alpha2", "beta2", "p")] == [2.06, 1.10, 71.5, 70.4, 0.0300]
    assert faers["neg_log_likelihood"] == pytest.approx(57056.530, abs=0.001)
    assert caers == {"source": "caers", "pairs": 244, "fitted": False,
                     "why_not": "No starting point reached a maximum of the likelihood with every shape and rate below 10000: the table gives no empirical-Bayes prior."}
    said = " ".join(text.split())
    assert ("EBGM, EB05 (faers): DuMouchel's (1999) gamma-Poisson shrinker of the pair of kratom and the term in the local background's drug-by-event table "
            "(N = its reports naming a kratom product, in any role, and the term: not a), the prior fitted by maximum likelihood on all 27,901 pairs of that table: "
            f"alpha1 {faers['alpha1']:.4g}, beta1 {faers['beta1']:.4g}, alpha2 {faers['alpha2']:.4g}, beta2 {faers['beta2']:.4g}, P {faers['p']:.4g}.") in said
    assert ("EBGM, EB05 (caers): none; no prior could be fitted by maximum likelihood on the 244 pairs of the local background's drug-by-event table "
            "(No starting point reached a maximum of the likelihood with every shape and rate below 10000: the table gives no empirical-Bayes prior).") in said
    headers = [[str(c.header) for c in table.columns] for table in tables]
    assert len(headers) > 1 and all(h[:2] == ["source", "term"] for h in headers)
    shown = {h for hs in headers for h in hs}
    assert {"ebgm", "eb05"} <= shown and not {"eb95", "ebgm_n"} & shown
    tokens = {f"{float(r[k]):.2f}" for r in rows for k in ("ebgm", "eb05") if r[k]}
    assert len(tokens) > 30
    assert_whole(text, 80, tokens | {t for r in rows for t in r["term"].split()})


ADJUSTED_REFUSAL = ("--adjusted stratifies reports against all of FAERS, so it takes neither --comparator nor --unit case "
                    "(a probable case's reports may fall in different strata); leave one out.")


def test_a_second_signals_run_reuses_the_prior_the_first_fitted(background, fetched_db, tmp_path, monkeypatch):
    """signals --background local keeps each source's prior beside its store (queries/prior_cache.py):
    on a copy of the fixture's cache, the first run fits FAERS's prior and keeps it, the second
    reads it (ebgm.fit would fail) and gives every row and every figure of the prior unchanged,
    saying so in provenance and under the table. CAERS, which gets no prior, keeps nothing."""
    import shutil

    from kratom_ae.queries import ebgm, prior_cache

    cache = shutil.copytree(background[0], tmp_path / "cache", ignore=shutil.ignore_patterns(prior_cache.FOLDER))  # other tests keep theirs
    db = shutil.copy(fetched_db, tmp_path / "kratom.duckdb")

    def run(name):
        result = runner.invoke(app, ["signals", "--db", str(db), "--background", "local", "--bulk", str(cache), "--csv", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        provenance = json.loads((tmp_path / f"{name}.provenance.json").read_text(encoding="utf-8"))
        return result.output, (tmp_path / name).read_text(encoding="utf-8"), {p["source"]: p for p in provenance["signals"]["ebgm"]["priors"]}

    said, rows, priors = run("first.csv")
    kept = list(cache.rglob("priors/*.json"))
    assert len(kept) == 1 and kept[0].parent.parent.name == "background" and "drug-event" in kept[0].parts
    assert priors["faers"]["kept_prior"] is None and "kept_prior" not in priors["caers"]
    assert "kept beside the local background" not in " ".join(said.split())

    real_fit = ebgm.fit

    def fit_only_caers(n, e, **kwargs):
        assert len(n) < 1_000, "FAERS's prior fitted again"  # CAERS's 244 pairs, which keep nothing, are fitted (and fail) again
        return real_fit(n, e, **kwargs)

    monkeypatch.setattr(ebgm, "fit", fit_only_caers)
    said_again, rows_again, priors_again = run("second.csv")
    assert rows_again == rows
    assert priors_again["faers"].pop("kept_prior") == str(kept[0])
    priors["faers"].pop("kept_prior")
    assert priors_again == priors
    assert (f"P {priors['faers']['p']:.4g}. The prior is the one an earlier run fitted on this same table, kept beside the local background.") in " ".join(said_again.split())


@pytest.mark.parametrize("args, message", [
    (["--background", "local"], "--background local counts the background from a bulk cache; name it with --bulk DIR (the folder kratom-ae bulk background built)."),
    (["--bulk", "."], "--bulk names the local background; add --background local to use it."),
    (["--background", "local", "--bulk", ".", "--refresh"], "--refresh asks openFDA again, and --background local asks openFDA nothing; leave one out."),
    (["--comparator-ingredient", "OXYCODONE"], "--comparator-ingredient compares by ingredient in the local background; add --background local --bulk DIR, "
                                                "or give openFDA's background a terms file with --comparator FILE."),
    (["--background", "local", "--bulk", ".", "--adjusted", "--comparator-ingredient", "OXYCODONE"], ADJUSTED_REFUSAL),
    (["--background", "local", "--bulk", ".", "--adjusted", "--unit", "case"], ADJUSTED_REFUSAL),
])
def test_signals_background_options_that_do_not_fit_say_so(fetched_db, args, message):
    result = runner.invoke(app, ["signals", "--db", str(fetched_db), *args])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {message}\n"


def test_signals_background_local_compares_by_ingredient_not_by_a_terms_file(fetched_db, tmp_path):
    terms = tmp_path / "opioids.txt"
    terms.write_text("term,match\nOXYCODONE,substring\n", encoding="utf-8")
    result = runner.invoke(app, ["signals", "--db", str(fetched_db), "--background", "local", "--bulk", str(tmp_path), "--comparator", str(terms)])
    assert result.exit_code == 1
    assert result.stderr == ("Error: --background local compares by ingredient, not by openFDA's search of a terms file: "
                             "name the ingredients with --comparator-ingredient NAME.\n")


def test_a_file_in_place_of_the_cache_is_refused(tmp_path):
    path = tmp_path / "kratom.duckdb"
    path.write_bytes(b"not a folder")
    result = runner.invoke(app, ["bulk", "background", str(path)])
    assert result.exit_code == 2 and "is a file, not a folder" in result.stderr
    assert path.read_bytes() == b"not a folder"


@pytest.fixture(scope="module")
def local_case_signals(background, fetched_db, tmp_path_factory):
    """One `signals --background local --unit case --csv FILE` run on the fetched database, no
    request allowed: (the text shown, the CSV rows, the provenance)."""
    import csv

    from kratom_ae.cli import output as cli_output
    from kratom_ae.queries import ebgm
    from test_output import Recording
    from vcr_setup import make_vcr

    cache, _, _ = background
    folder = tmp_path_factory.mktemp("local-case-signals")
    out = io.StringIO()
    console = Recording(file=out, width=80, force_terminal=True, color_system=None)
    with pytest.MonkeyPatch.context() as patch, make_vcr("none").use_cassette("empty_never_recorded.json"):
        patch.setattr(cli_output, "stdout_console", lambda: console)
        result = runner.invoke(app, ["signals", "--db", str(fetched_db), "--background", "local", "--bulk", str(cache), "--unit", "case", "--csv", str(folder / "signals.csv")])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((folder / "signals.csv").read_text(encoding="utf-8"))))
    provenance = json.loads((folder / "signals.csv.provenance.json").read_text(encoding="utf-8"))
    return out.getvalue(), rows, provenance


def test_signals_local_in_cases_counts_c_and_d_in_the_background_s_probable_cases(background, fetched_db, local_case_signals):
    """c and d count the local background's probable cases (oracle.cases over every latest
    report of the bulk records), every case holding a kratom report of the database taken out:
    a case naming the term when any of its reports does. a and b are the API run's in cases."""
    _, faers, caers = background
    _, rows, provenance = local_case_signals
    con = duckdb.connect(str(fetched_db), read_only=True)
    kratom = {(s, r) for s, r in con.execute("SELECT source, report_id FROM reports WHERE is_kratom_report").fetchall()}
    con.close()
    expected, taken = {}, {}
    for source, records, id_field, shape in (("faers", faers, "safetyreportid", oracle.faers_report), ("caers", caers, "report_number", oracle.caers_report)):
        reports = [shape(r) for r in oracle.latest_of(records, id_field)]
        grouped = oracle.cases(reports)
        terms: dict = {}
        with_kratom = set()
        for r in reports:
            case = grouped[(source, r.report_id)]
            terms.setdefault(case, set()).update(r.reactions)
            if (source, r.report_id) in kratom:
                with_kratom.add(case)
        others = [ts for case, ts in terms.items() if case not in with_kratom]
        naming = Counter(t for ts in others for t in ts)
        expected[source] = (len(others), naming)
        taken[source] = len(with_kratom)
    assert taken["faers"] > 2000 and len(rows) == 69
    for row in rows:
        total, naming = expected[row["source"]]
        c = naming[oracle.term(row["term"])]
        assert (int(row["c"]), int(row["d"])) == (c, total - c), row["term"]
        assert (row["ab_unit"], row["cd_unit"]) == ("probable cases", "probable cases")
        assert int(row["background_kratom_units"]) == taken[row["source"]]
        assert int(row["background_term_reports"]) - int(row["background_kratom_units_naming_term"]) == c
    assert provenance["signals"]["unit"].startswith("a and b count probable cases; c and d count probable cases of the local background")
    assert "its probable cases (latest version)" in provenance["signals"]["ebgm"]["pair"]


def test_signals_local_in_cases_says_c_and_d_count_cases(local_case_signals):
    text, rows, _ = local_case_signals
    said = " ".join(text.split())
    assert "(2x2 tables of probable cases)" in said
    taken = {r["source"]: int(r["background_kratom_units"]) for r in rows}
    assert (f"taken out of c + d: caers {taken['caers']:,} cases holding a kratom report in scope, faers {taken['faers']:,} cases holding a kratom report in scope.") in said
    assert "c = other probable cases of the local background naming it" in said
    assert "(N = its probable cases naming a kratom product" in said
    # The background's total is of cases: the local store's 16,236 FAERS reports grouped.
    assert re.search(r"Background faers: [0-9,]+ probable cases in openFDA drug/event, the local background of the bulk export", said)
    assert "reports in openFDA" not in said


def test_signals_local_in_cases_needs_a_store_grouped_in_cases(fetched_db, tmp_path):
    rng = random.Random(7)
    cache = built(tmp_path, {"faers": [[record(rng, "16300001", "1", "Nausea")]]})
    result = runner.invoke(app, ["signals", "--db", str(fetched_db), "--source", "faers", "--background", "local", "--bulk", str(cache), "--unit", "case"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The local background of drug/event has no probable cases yet; group them first: kratom-ae bulk background ")
    assert result.stderr.endswith(" --source faers --cases.\n") and result.stderr.count("\n") == 1


def run_local(cache: Path, db: Path, folder: Path, *args: str):
    """`signals --background local --bulk CACHE --csv FILE ARGS` on db, in a terminal 80 columns
    wide, no request allowed (no cassette): (the text shown, the CSV rows, the provenance)."""
    import csv

    from kratom_ae.cli import output as cli_output
    from kratom_ae.queries import ebgm
    from test_output import Recording
    from vcr_setup import make_vcr

    out = io.StringIO()
    console = Recording(file=out, width=80, force_terminal=True, color_system=None)
    with pytest.MonkeyPatch.context() as patch, make_vcr("none").use_cassette("empty_never_recorded.json"):
        patch.setattr(cli_output, "stdout_console", lambda: console)
        result = runner.invoke(app, ["signals", "--db", str(db), "--background", "local", "--bulk", str(cache), "--csv", str(folder / "signals.csv"), *args])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((folder / "signals.csv").read_text(encoding="utf-8"))))
    provenance = json.loads((folder / "signals.csv.provenance.json").read_text(encoding="utf-8"))
    return out.getvalue(), rows, provenance


def kratom_ids(db: Path, role: str = "any") -> set:
    """(source, report_id) of the database's kratom reports in scope with --role ROLE (every
    source, every date)."""
    con = duckdb.connect(str(db), read_only=True)
    column = "is_kratom_suspect_report" if role == "suspect" else "is_kratom_report"
    ids = {(s, r) for s, r in con.execute(f"SELECT source, report_id FROM reports WHERE {column}").fetchall()}
    con.close()
    return ids


@pytest.mark.parametrize("role", ["any", "suspect"])
def test_signals_local_adjusted_match_an_independent_count_of_the_export_s_strata(background, fetched_db, tmp_path, role):
    """`signals --background local --adjusted`: Mantel-Haenszel estimates over the 50 strata of
    the API's --adjusted, the strata's background counted from the bulk records' latest versions
    by the rule typed out in test_adjusted (stratum) and checked against statsmodels there
    (check_against_statsmodels). The same estimates as the API run would give on a background
    without the one superseded version. No request is sent."""
    from test_adjusted import check_against_statsmodels, expected_tables, stratum

    cache, faers, _ = background
    text, rows, provenance = run_local(cache, fetched_db, tmp_path, "--adjusted", "--role", role)
    latest = oracle.latest_of(faers, "safetyreportid")
    kratom = {r for s, r in kratom_ids(fetched_db, role) if s == "faers"}
    scoped = [r for r in latest if r["safetyreportid"] in kratom]
    assert len(scoped) == len(kratom)  # the export holds every kratom report of the database
    tables = expected_tables(latest, scoped)
    assert len(tables) > 20
    faers_rows = {r["term"]: r for r in rows if r["source"] == "faers"}
    for term, stratified in tables.items():
        check_against_statsmodels(faers_rows[term], stratified)
    assert {r["mh_note"] for r in rows if r["source"] == "caers"} == {"no strata for caers (FAERS only)"}
    # The crude and EBGM columns stay beside the MH ones.
    assert {"mh_ror", "mh_prr", "ebgm", "eb05"} <= set(rows[0])
    outside = [r for r in scoped if stratum(r) is None]
    said = " ".join(text.split())
    assert f"{len(outside):,} of the {len(scoped):,} kratom reports in scope fall outside every stratum" in said
    inside = sum(1 for r in latest if stratum(r))
    assert f"as are the local background's reports outside the strata ({inside:,} are inside them)." in said
    assert "0 requests to openFDA in this run" in said
    strata = provenance["signals"]["strata"]
    assert strata["strata"] == 50 and strata["outside_every_stratum"][0]["background_reports_in_strata"] == inside
    assert [p["source"] for p in provenance["signals"]["local_background"]] == ["caers", "faers"]


def comparator_expected(records: list[dict], source: str, kratom: set, comparator: set, unit: str):
    """(total, Counter per term, kratom units, Counter of kratom units per term) of the local
    background of a comparator, counted here: the latest reports with a product, not kratom, of
    one of its ingredients; in cases, the probable cases (oracle.cases over every latest report)
    with such a report, naming a term when one of those reports does; a kratom unit holds a
    kratom report in scope."""
    id_field, shape = ("safetyreportid", oracle.faers_report) if source == "faers" else ("report_number", oracle.caers_report)
    reports = [shape(r) for r in oracle.latest_of(records, id_field)]
    grouped = oracle.cases(reports) if unit == "case" else None
    terms: dict = {}
    with_kratom = set()
    for r in reports:
        if not any(names & comparator for names, _, k in r.ingredients if not k):
            continue
        key = grouped[(source, r.report_id)] if unit == "case" else r.report_id
        terms.setdefault(key, set()).update(r.reactions)
        if (source, r.report_id) in kratom:
            with_kratom.add(key)
    return (len(terms), Counter(t for ts in terms.values() for t in ts), len(with_kratom),
            Counter(t for key in with_kratom for t in terms[key]))


@pytest.mark.parametrize("unit", ["report", "case"])
def test_signals_local_against_a_comparator_by_ingredient(background, fetched_db, tmp_path, unit):
    """`--comparator-ingredient gabapentin --comparator-ingredient " Oxycodone "`: c and d count
    the reports (or probable cases) of the comparator's ingredients, the kratom reports in scope
    among them (a report naming kratom and a comparator drug is a kratom report) taken out,
    against comparator_expected; a and b as without a comparator."""
    cache, faers, caers = background
    text, rows, provenance = run_local(cache, fetched_db, tmp_path, "--comparator-ingredient", "gabapentin", "--comparator-ingredient", " Oxycodone ", "--unit", unit)
    _, plain, _ = run_local(cache, fetched_db, tmp_path, "--unit", unit) if unit == "case" else (None, None, None)
    kratom = kratom_ids(fetched_db)
    wanted = {"GABAPENTIN", "OXYCODONE"}
    expected = {"faers": comparator_expected(faers, "faers", kratom, wanted, unit), "caers": comparator_expected(caers, "caers", kratom, wanted, unit)}
    assert expected["faers"][0] > 100 and expected["faers"][2] > 10
    # CAERS products have no such ingredient: no 2x2 table, and a warning says so.
    assert expected["caers"][0] == 0 and {r["source"] for r in rows} == {"faers"}
    assert len(rows) == 35
    for row in rows:
        total, naming, held, held_naming = expected[row["source"]]
        term = oracle.term(row["term"])
        c = naming[term] - held_naming[term]
        assert (int(row["c"]), int(row["d"])) == (c, total - held - c), row["term"]
        assert int(row["background_total_reports"]) == total
    if plain is not None:
        same = {(r["term"]): (r["a"], r["b"]) for r in plain if r["source"] == "faers"}
        assert {r["term"]: (r["a"], r["b"]) for r in rows} == same
    # EBGM scores kratom's pair in the whole drug-by-event table, not the comparator's part of it.
    whole = local_background(cache, ["faers"], unit=unit, drug_events=True).drug_events
    pairs = {r.term: r for r in whole[whole["drug"] == "kratom"].itertuples()}
    assert all((int(r["ebgm_n"]), float(r["ebgm_expected"])) == (pairs[r["term"]].n, pytest.approx(pairs[r["term"]].expected, rel=1e-12)) for r in rows)
    said = " ".join(text.split())
    assert "against the comparator GABAPENTIN, OXYCODONE (by ingredient)" in said
    assert "its reports with a product, not kratom, of GABAPENTIN or OXYCODONE" in said
    if unit == "report":
        assert f"{expected['faers'][2]:,} of the " in said and "kratom reports in scope are in it (with a comparator ingredient) and taken out of c + d" in said
        assert "c = comparator reports naming it, d = comparator reports not naming it" in said
    else:
        assert "c = comparator probable cases of the local background naming it" in said
    part = provenance["signals"]["comparator"]
    assert part["ingredients"] == ["GABAPENTIN", "OXYCODONE"]
    assert part["kratom_reports_in_scope_in_comparator"]["faers"] == int(rows[0]["kratom_reports_in_background"])
    assert provenance["signals"]["unit"].endswith(
        "with every such case holding a kratom report in scope taken out" if unit == "case" else "with the kratom reports in scope that have one of its ingredients taken out")
    assert "caers: openFDA food/event, the local background of the bulk export" in " ".join(provenance["signals"]["warnings"])


def test_a_comparator_ingredient_nothing_has_is_said(background, fetched_db, tmp_path):
    cache, _, _ = background
    result = runner.invoke(app, ["signals", "--db", str(fetched_db), "--background", "local", "--bulk", str(cache), "--comparator-ingredient", " ,; "])
    assert result.exit_code == 1
    assert result.stderr == "Error: The comparator names no ingredient; give one or more ingredient names (such as OXYCODONE).\n"


def test_c_and_d_take_out_only_the_kratom_reports_the_export_holds(fetched_db, tmp_path):
    """A database fetched after the export holds kratom reports the export does not: they are in
    no count of the local background, so c and d take out only the two it holds. Counted by
    hand: 5 reports in the export, 2 of them kratom reports of the database (with its terms), 2
    others NAUSEA, 1 VOMITING: c is what the others name, d = 5 - 2 - c; a kratom term no other
    report of the export names has c = 0, not an unknown count."""
    con = duckdb.connect(str(fetched_db), read_only=True)
    held = [r for (r,) in con.execute("SELECT report_id FROM reports WHERE source = 'faers' AND is_kratom_report ORDER BY report_id LIMIT 2").fetchall()]
    in_scope = con.execute("SELECT count(*) FROM reports WHERE source = 'faers' AND is_kratom_report").fetchone()[0]
    terms = {r: [t for (t,) in con.execute("SELECT x.reaction_pt FROM reactions AS x JOIN reports AS p USING (report_key) WHERE p.source = 'faers' AND p.report_id = $r", {"r": r}).fetchall()]
             for r in held}
    con.close()
    rng = random.Random(9)
    records = [record(rng, r, "1", "Nausea") for r in held]
    for r in records:  # as the database has them, so that what c takes out of each term is in it
        r["patient"]["reaction"] = [{"reactionmeddrapt": t} for t in terms[r["safetyreportid"]]]
    records += [record(rng, "16500001", "1", "Nausea"), record(rng, "16500002", "1", "NAUSEA"), record(rng, "16500003", "1", "Vomiting")]
    cache = built(tmp_path, {"faers": [records]})
    result = runner.invoke(app, ["signals", "--db", str(fetched_db), "--source", "faers", "--background", "local", "--bulk", str(cache), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = {r["term"].upper(): r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert (rows["NAUSEA"]["c"], rows["NAUSEA"]["d"]) == ("2", "1")
    assert (rows["VOMITING"]["c"], rows["VOMITING"]["d"]) == ("1", "2")
    others = [r for r in rows if r not in ("NAUSEA", "VOMITING")]
    assert len(others) > 20 and {(rows[r]["c"], rows[r]["d"]) for r in others} == {("0", "3")}
    assert {r["kratom_reports_in_background"] for r in rows.values()} == {"2"} and {r["kratom_reports_in_scope"] for r in rows.values()} == {str(in_scope)}
    assert all(r["note"] != "no background count for this term" for r in rows.values())
