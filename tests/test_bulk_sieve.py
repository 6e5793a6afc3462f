"""The sieve of `kratom-ae bulk load` (terms.bulk_sieve, run by DuckDB in ingest/bulk_load.py):
two regular expressions over each record's JSON text that must never turn down a record the
name filter (bulk_load.kept_by_name: terms.could_match and near_miss) would keep. Tried on the
hostile records of test_bulk_load.py and on thousands of made-up names written the ways JSON
can write them; and a load read by the sieve gives the same rows as one read record by record."""

from __future__ import annotations

import json
import random
import zipfile

import duckdb
import pytest

import synthetic
from test_bulk_load import ROWS, held, hostile_partitions, kratom_reports, load_unkeyable, loaded, problems_of, rows, set_aside
from kratom_ae.ingest import bulk, bulk_load
from kratom_ae.ingest.sources import SOURCES
from kratom_ae.ingest.terms import AS_DUCKDB_UPPER, could_match, load_terms

FAERS, CAERS = SOURCES["faers"], SOURCES["caers"]


@pytest.fixture(scope="module")
def terms():
    return load_terms()


def sieved(texts: list[str], source, terms) -> list[bool]:
    """What DuckDB's regexp_matches (the load's own engine) makes of each text."""
    escapes, names = bulk_load.sieve_pattern(source, terms)
    con = duckdb.connect()
    try:
        return [row[0] for row in con.execute("SELECT regexp_matches(t, $e) OR regexp_matches(t, $n) FROM unnest($t::VARCHAR[]) WITH ORDINALITY AS u(t, i) ORDER BY i",
                                               {"t": texts, "e": escapes, "n": names}).fetchall()]
    finally:
        con.close()


def writings(record: dict) -> list[str]:
    """The ways a JSON writer may give the record: \\u escapes or UTF-8, spaces or none, indented."""
    return [json.dumps(record), json.dumps(record, ensure_ascii=False), json.dumps(record, separators=(",", ":"), ensure_ascii=False), json.dumps(record, indent=2)]


def test_duckdb_upper_makes_ascii_letters_of_dotless_i_and_long_s_only():
    """Asked of every character: the Python name filter reads these two as the SQL does."""
    chars = [chr(c) for c in range(128, 0x30000) if not 0xD800 <= c < 0xE000]
    con = duckdb.connect()
    try:
        made = dict(con.execute("SELECT c, upper(c) FROM unnest($c::VARCHAR[]) AS u(c) WHERE regexp_matches(upper(c), '[A-Za-z0-9]')", {"c": chars}).fetchall())
    finally:
        con.close()
    assert made == {"ı": "I", "ſ": "S"}
    assert {chr(k): v for k, v in AS_DUCKDB_UPPER.items()} == made


def test_could_match_agrees_with_the_sql_squeeze(terms):
    names = ["MıTRAGYNINE", "KRAßTOM", "KRATOﬁM", "BıAK BıAK", "kRaToM", "K-R-A-T-O-M", "KRA\u200bTOM", "ſMITRAGYN", "KRATM", "7-ΟH", "Mitragyna", "KETUM"]
    con = duckdb.connect()
    try:
        from kratom_ae.ingest.sqlfiles import sql

        con.execute(sql("shaping_macros"))
        squeezed = [row[0] for row in con.execute("SELECT squeeze(n) FROM unnest($n::VARCHAR[]) WITH ORDINALITY AS u(n, i) ORDER BY i", {"n": names}).fetchall()]
    finally:
        con.close()
    searched = [t.squeezed for t in terms if t.searched]
    assert [could_match([name], terms) for name in names] == [any(term in s for term in searched) for s in squeezed]
    assert [could_match([name], terms) for name in names] == [True, True, True, True, True, True, True, True, False, False, True, True]


def test_every_hostile_record_kept_by_name_passes_the_sieve(terms):
    records = [record for part in hostile_partitions() for record in part]
    texts, kept = [], []
    for record in records:
        for text in ([record] if isinstance(record, str) else writings(record)):
            texts.append(text)
            kept.append(bulk_load.kept_by_name(bulk.parse_record(text.encode()), FAERS, terms))
    passed = sieved(texts, FAERS, terms)
    # Kept by name: 15000001-08, 10, 11 (its first version) and 13; 08 and 10 are given as text, the 9 others written 4 ways.
    assert sum(kept) == 9 * 4 + 2
    assert [t for t, k, p in zip(texts, kept, passed) if k and not p] == []
    # ASPIRIN alone (15000012) is turned down by the sieve itself, written any way.
    assert not any(p for t, p in zip(texts, passed) if '"15000012"' in t)


# Characters a name may hold between or around a term's letters: ones DuckDB's upper() drops
# (ß, ﬁ, é, a zero-width space), ones it reads as letters (ı, ſ), separators, quotes,
# backslashes, control characters that JSON escapes, and the dots near_miss drops.
NOISE = ["", " ", "-", ".", "'", "’", "ß", "ﬁ", "é", "\u200b", "ı", "ſ", "\t", "\n", '"', "\\", "/", "\x01", "0", "X", "  "]


def made_name(rng: random.Random, terms) -> str:
    term = rng.choice([t.term for t in terms if t.searched] + ["KRATOM", "MITRAGYNINE", "KETUM", "KRATUM"])
    letters = list(term)
    roll = rng.random()
    if roll < 0.25 and len(letters) > 3:  # one edit
        i = rng.randrange(len(letters))
        edit = rng.choice(["drop", "change", "add"])
        if edit == "drop":
            del letters[i]
        elif edit == "change":
            letters[i] = rng.choice("A0ZQ7ıſé")
        else:
            letters.insert(i, rng.choice("A0ZQ7ıſé"))
    name = ""
    for char in letters:
        name += rng.choice(NOISE) if rng.random() < 0.3 else ""
        name += char.lower() if rng.random() < 0.3 else char
    return rng.choice(["", "RED ", "O.P.M.S. ", "X"]) + name + rng.choice(["", " POWDER", "S", "ZZ", " 7-OH"])


def shaped(rng: random.Random, name: str, field: str):
    """The name as a field may hold it: text, or (hostile) a list, an object, a list of lists."""
    roll = rng.random()
    if field.endswith("_name"):  # openfda's list fields
        return [name] if roll < 0.5 else ["X", None, name] if roll < 0.7 else [[name]] if roll < 0.8 else [{"n": name}] if roll < 0.85 else {"n": name} if roll < 0.9 else name
    return name if roll < 0.7 else [name[: len(name) // 2], name[len(name) // 2:]] if roll < 0.85 else {"name": name}


def made_record(rng: random.Random, number: int, terms) -> dict:
    record = synthetic.faers_record(rng, str(16_000_000 + number), None, era="faers")
    name = made_name(rng, terms)
    field = rng.choice(["medicinalproduct", "medicinalproduct", "activesubstancename", "brand_name", "generic_name", "substance_name"])
    drug = {"drugcharacterization": "1", "medicinalproduct": "ASPIRIN"}
    if field == "medicinalproduct":
        drug["medicinalproduct"] = shaped(rng, name, field)
    elif field == "activesubstancename":
        drug["activesubstance"] = {"activesubstancename": shaped(rng, name, field)}
    else:
        drug["openfda"] = {field: shaped(rng, name, field)}
    record["patient"]["drug"].append(drug)
    return record


def test_no_made_up_name_the_filter_keeps_is_turned_down(terms):
    rng = random.Random(22)
    records = [made_record(rng, i, terms) for i in range(1500)]
    texts, kept = [], []
    for record in records:
        for text in writings(record):
            texts.append(text)
            kept.append(bulk_load.kept_by_name(bulk.parse_record(text.encode()), FAERS, terms))
    passed = sieved(texts, FAERS, terms)
    assert [t for t, k, p in zip(texts, kept, passed) if k and not p] == []
    assert 0.3 * len(texts) < sum(kept) < 0.95 * len(texts)  # names kept and names turned down both tried
    assert sum(passed) < len(texts)  # the sieve turns some down, written any way


def test_caers_names_pass_the_sieve_as_faers_names_do(terms):
    rng = random.Random(5)
    records = [{"report_number": f"2024-CFS-{i:06d}", "products": [{"role": "SUSPECT", "name_brand": shaped(rng, made_name(rng, terms), "name_brand")}]} for i in range(400)]
    texts = [text for record in records for text in writings(record)]
    kept = [bulk_load.kept_by_name(bulk.parse_record(text.encode()), CAERS, terms) for text in texts]
    passed = sieved(texts, CAERS, terms)
    assert [t for t, k, p in zip(texts, kept, passed) if k and not p] == []
    assert sum(kept) > 100


def test_the_sieve_reads_the_hostile_partitions_with_the_same_rows_as_record_by_record(tmp_path, monkeypatch):
    """The load read by the sieve (no record read by read_items) and the load read record by
    record (unzip_results refused) store the same rows."""
    def no_reading(path):
        raise AssertionError(f"read record by record: {path}")

    with monkeypatch.context() as patched:
        patched.setattr(bulk, "partition_records", no_reading)
        by_sieve = loaded(tmp_path, hostile_partitions(), "sieve")
    monkeypatch.setattr(bulk, "unzip_results", lambda *args: None)
    by_record = loaded(tmp_path, hostile_partitions(), "record")
    assert kratom_reports(by_sieve) == kratom_reports(by_record) == {("faers", f"150000{i:02d}") for i in (1, 2, 3, 4, 5, 6, 7, 8, 10, 13)}
    for table in ROWS:
        assert rows(by_sieve, table, kratom_reports(by_record) | {("faers", "15000011")}) == rows(by_record, table, kratom_reports(by_record) | {("faers", "15000011")}), table
    for db in (by_sieve, by_record):
        con = duckdb.connect(str(db), read_only=True)
        try:
            assert con.execute("SELECT report_version FROM reports WHERE report_id = '15000011'").fetchone()[0] == 2
            # 11 records kept by name, and the follow-up of 15000011 under its id.
            assert con.execute("SELECT list(total_reported ORDER BY base_url), sum(records_received) FROM fetch_runs").fetchone() == ([12, 2], 12)
        finally:
            con.close()


@pytest.mark.parametrize("source", ["faers", "caers"])
def test_the_sieve_and_record_by_record_set_aside_the_same_items(tmp_path, monkeypatch, source):
    """Items that cannot be reports (fake_bulk.unkeyable_partitions): the sieve hands them to
    Python (their id is no JSON text), which sets them aside as record by record does, at the
    same places, and both keep the same reports."""
    def no_reading(path):
        raise AssertionError(f"read record by record: {path}")

    with monkeypatch.context() as patched:
        patched.setattr(bulk, "partition_records", no_reading)
        by_sieve, _, sieve_url = load_unkeyable(tmp_path, source, "sieve", quiet=True)
    monkeypatch.setattr(bulk, "unzip_results", lambda *args: None)
    by_record, _, record_url = load_unkeyable(tmp_path, source, "record", quiet=True)
    assert problems_of(by_sieve) == set_aside(sieve_url, source)
    assert problems_of(by_record) == set_aside(record_url, source)
    assert held(by_sieve) == held(by_record) == kratom_reports(by_record)
    for table in ROWS:
        assert rows(by_sieve, table, held(by_record)) == rows(by_record, table, held(by_record)), table


def test_a_partition_in_another_layout_is_read_record_by_record(tmp_path):
    """results before meta: not the layout the sieve reads (unzip_results says None), read by
    read_items instead, with the same records kept."""
    part = tmp_path / "part.json.zip"
    records = hostile_partitions()[0]
    text = ",".join(r if isinstance(r, str) else json.dumps(r) for r in records)
    with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("part.json", f'{{"results": [{text}], "meta": {{"last_updated": "2026-11-18"}}}}')
    assert bulk.unzip_results(part, tmp_path / "out.json") is None
    assert sum(1 for _ in bulk.partition_records(part)) == 12
    with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("part.json", f'{{"meta": {{"last_updated": "2026-11-18", "last_updated": "x"}},\n "results": [{text}]\n}}\n')
    unzipped = bulk.unzip_results(part, tmp_path / "out.json")
    assert unzipped.meta == {"last_updated": "2026-11-18"}  # a key twice: the first, as read_items reads it
    assert json.loads(unzipped.path.read_text().replace("1234567890123456789012345", "0"))[0]["safetyreportid"] == "15000001"


def test_names_that_are_numbers_or_true_pass_the_sieve():
    """A terms file may hold digits only: a name given as a number is written out by as_json
    with other digits than the partition's (1E2 as 100.0), so such names always pass."""
    from kratom_ae.ingest.terms import make_terms

    terms = make_terms([("100", "substring", ""), ("TRUE", "word", ""), ("KRATOM", "substring", "")])
    texts = ['{"safetyreportid": "1", "patient": {"drug": [{"medicinalproduct": 1E2}]}}',
             '{"safetyreportid": "2", "patient": {"drug": [{"medicinalproduct": "X", "openfda": {"brand_name": ["A", 1E2]}}]}}',
             '{"safetyreportid": "3", "patient": {"drug": [{"activesubstance": {"activesubstancename": true}}]}}',
             '{"safetyreportid": "4", "patient": {"drug": [{"openfda": {"generic_name": [true]}}]}}',
             '{"safetyreportid": "5", "patient": {"drug": [{"medicinalproduct": "ASPIRIN 1E2"}]}}']
    kept = [bulk_load.kept_by_name(bulk.parse_record(t.encode()), FAERS, terms) for t in texts]
    assert kept == [True, True, True, True, False]
    assert sieved(texts, FAERS, terms) == [True, True, True, True, False]


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_unzip_results_gives_the_array_zipfile_reads_and_nothing_of_a_damaged_zip(tmp_path, compression):
    records = [synthetic.faers_record(random.Random(i), str(17_000_000 + i), "KRATOM" if i % 7 == 0 else None) for i in range(3000)]
    document = '{"meta": {"last_updated": "2026-11-18"}, "results": [' + ", ".join(json.dumps(r) for r in records) + "]}\n"
    part = tmp_path / "part.json.zip"
    with zipfile.ZipFile(part, "w", compression=compression) as archive:
        archive.writestr("part.json", document)
    unzipped = bulk.unzip_results(part, tmp_path / "out.json")
    assert unzipped.path.read_bytes() == document[document.index("[") : document.rindex("}")].encode()
    assert unzipped.meta == {"last_updated": "2026-11-18"}
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte of the member changed: the CRC (or the inflate) says so
    part.write_bytes(bytes(data))
    assert bulk.unzip_results(part, tmp_path / "out.json") is None
    part.write_bytes(bytes(data[: len(data) // 3]))
    assert bulk.unzip_results(part, tmp_path / "out.json") is None


def test_the_sieve_reads_each_id_as_json_extract_does_and_hands_python_the_rest(tmp_path, terms):
    drug = '"patient": {"drug": [{"medicinalproduct": "ASPIRIN"}]}'
    texts = ['{"safetyreportid": "A\\"1", ' + drug + "}",
             '{ "safetyreportid" : "B1", "safetyreportid": "B2", ' + drug + "}",  # a key twice: the first
             '{"x": 1, "safetyreportid": "C1", ' + drug + "}",  # not the first key: parsed
             '{"x": {"safetyreportid": "inner"}, "safetyreportid": "D1", ' + drug + "}",
             '{"safetyreportid": 5, ' + drug + "}",  # not text: Python reads it
             "{" + drug + "}",  # none
             '{"safetyreportid": "E1", "patient": {"drug": [{"medicinalproduct": "Kra-tom"}]}}']
    array = tmp_path / "array.json"
    array.write_text("[" + ",\n".join(texts) + "]")
    sieve = bulk_load.Sieve(tmp_path, FAERS, terms)
    try:
        records, found = sieve.sieve(array, 1)
        assert records == 7
        assert [(position, t.decode()) for position, t in found] == list(enumerate(texts, 1))[4:]
        assert sieve.con.execute("SELECT id, part, key FROM other_ids ORDER BY id").fetchall() == [('A"1', 1, 'A"1'), ("B1", 1, "B1"), ("C1", 1, "C1"), ("D1", 1, "D1")]
    finally:
        sieve.close()


def test_the_records_found_come_in_the_partition_s_order(tmp_path, terms):
    """Many megabytes, every record found: handed on in the order the partition holds them."""
    texts = [json.dumps({"safetyreportid": str(18_000_000 + i), "patient": {"drug": [{"medicinalproduct": "KRATOM", "drugindication": "X" * (i % 500)}]}}) for i in range(30_000)]
    array = tmp_path / "array.json"
    array.write_text("[" + ",".join(texts) + "]")
    sieve = bulk_load.Sieve(tmp_path, FAERS, terms)
    try:
        records, found = sieve.sieve(array, 1)
        assert records == 30_000 and [(p, json.loads(t)["safetyreportid"]) for p, t in found] == [(i + 1, str(18_000_000 + i)) for i in range(30_000)]
    finally:
        sieve.close()
