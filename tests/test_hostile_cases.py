"""Free-text fields of hostile length through the case rules (issue 18): a 5 MB product name or
reaction term, 1,000 reports with indications of 12 KB or 40 KB, 5 MB company numbers,
duplicate numbers and literature references. Each is a real fetch from the fake openFDA with
the production memory limits; the case step compares digests of these values, so its memory
does not grow with their length, and the grouping must be what it is for short values."""

import random

import duckdb

import synthetic
from fake_openfda import FakeOpenFDA
from test_hostile import client_for, fetch_into

AGREE_ALL_BUT_SEX = "(same drugs and reactions; agree on age, country, event date, drug start dates, indications)"


def long_text(rng: random.Random, size: int) -> str:
    """`size` random hex digits in upper case, ending in "A", so that a near twin can end in
    "B" (a change of case alone would not count: names and terms are compared in upper case)."""
    return rng.randbytes(size // 2).hex().upper()[: size - 1] + "A"


def last_changed(text: str) -> str:
    return text[:-1] + "B"


def patient(report_id: str, *, long_field: str, value: str, day: int, indications: int = 3, sex: str | None = "2", **fields) -> dict:
    """A FAERS report of one made-up patient (synthetic.case_report) with `value` in
    `long_field`: a fourth product's name, a third reaction, or the indication of the first
    `indications` of its three drugs (after the drug's name, so that they are values of their
    own). `day` (0-335) makes its event date its group's own; the age is every report's, so the
    demographic-clinical rule compares every pair of reports with the same drugs and reactions."""
    drugs = [{"drugcharacterization": "1", "medicinalproduct": "KRATOM", "drugindication": "Pain", "drugstartdateformat": "102", "drugstartdate": "20210101"},
             {"drugcharacterization": "2", "medicinalproduct": "GABAPENTIN", "drugindication": "Neuralgia"},
             {"drugcharacterization": "2", "medicinalproduct": "QUETIAPINE", "drugindication": "Insomnia"}]
    reactions = ["Seizure", "Vomiting"]
    if long_field == "medicinalproduct":
        drugs.append({"drugcharacterization": "2", "medicinalproduct": value})
    elif long_field == "reactionmeddrapt":
        reactions.append(value)
    else:
        for drug in drugs[:indications]:
            drug["drugindication"] = f"{drug['medicinalproduct']} {value}"
    event = f"2021{1 + day // 28:02d}{1 + day % 28:02d}"
    return synthetic.case_report(random.Random(report_id), report_id, sex=sex, event=event, drugs=drugs, reactions=tuple(reactions), **fields)


def group_of_three(number: int, long_field: str, value: str, indications: int = 3) -> list[dict]:
    """A report; its twin but for the sex it leaves out, which the demographic-clinical rule
    links to it (five of six fields agree; a sex that differed would contradict); and a near
    twin whose long value differs in its last character and whose sex is missing, which
    nothing links (other drugs or reactions, or only four fields agreeing)."""
    first = 80_000_000 + 10 * number
    return [patient(str(first), long_field=long_field, value=value, day=number, indications=indications),
            patient(str(first + 1), long_field=long_field, value=value, day=number, indications=indications, sex=None),
            patient(str(first + 2), long_field=long_field, value=last_changed(value), day=number, indications=indications, sex=None)]


def fetched_rows(db, records: list[dict], page_size: int = 1000) -> dict[str, tuple[str, str]]:
    """Fetch the records with the production memory limits; report_id -> (case_id, case_rule).
    Records of 5 MB come a page or two at a time: the page reader (not the case step) runs out
    of its 256 MB on a page of six of them."""
    with FakeOpenFDA(records) as server:
        fetch_into(db, client_for(server, page_size=page_size))
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {i: (c, r) for i, c, r in con.execute("SELECT report_id, case_id, case_rule FROM reports WHERE is_kratom_report").fetchall()}
    finally:
        con.close()


def assert_groups(found: dict[str, tuple[str, str]], groups: int) -> None:
    for number in range(groups):
        first = 80_000_000 + 10 * number
        assert found[str(first)] == (f"faers:{first}", "demographic-clinical with " + str(first + 1) + " " + AGREE_ALL_BUT_SEX)
        assert found[str(first + 1)] == (f"faers:{first}", f"demographic-clinical with {first} {AGREE_ALL_BUT_SEX}")
        assert found[str(first + 2)] == (f"faers:{first + 2}", "single report")


def test_a_5_mb_product_name(db):
    records = group_of_three(0, "medicinalproduct", long_text(random.Random(1), 5_000_000))
    found = fetched_rows(db, records, page_size=1)
    assert len(found) == 3
    assert_groups(found, 1)


def test_a_5_mb_reaction_term(db):
    records = group_of_three(0, "reactionmeddrapt", long_text(random.Random(2), 5_000_000))
    found = fetched_rows(db, records, page_size=1)
    assert len(found) == 3
    assert_groups(found, 1)


def indication_reports(size: int, indications: int) -> list[dict]:
    """1,000 reports, `indications` of whose drugs have an indication of about `size`
    characters: 333 groups of three, each with indications of its own, and one report alone."""
    rng = random.Random(size)
    records = [r for number in range(333) for r in group_of_three(number, "drugindication", long_text(rng, size - 11), indications)]
    return records + [patient("89999999", long_field="drugindication", value=long_text(rng, size - 11), day=333, indications=indications)]


def test_1000_reports_with_12_kb_indications(db):
    """Three a report (36 KB): with one of 12 KB a report, the case step needed about 67 MB of
    its 122 MiB and went through."""
    found = fetched_rows(db, indication_reports(12_000, indications=3))
    assert len(found) == 1000
    assert_groups(found, 333)
    assert found["89999999"] == ("faers:89999999", "single report")
    assert len({case for case, _ in found.values()}) == 667


def test_1000_reports_with_40_kb_indications(db):
    """One a report. Three of 40 KB a report (120 MB of indications) run out of memory before
    the case step, in publish.sql's INSERT INTO products."""
    found = fetched_rows(db, indication_reports(40_000, indications=1))
    assert len(found) == 1000
    assert_groups(found, 333)
    assert len({case for case, _ in found.values()}) == 667


def citing(reference: str) -> dict:
    return {"primarysource": {"qualification": "1", "reportercountry": "US", "literaturereference": reference}}


def test_5_mb_company_numbers_duplicate_numbers_and_literature_references(db):
    """Rules 1-3 on 5 MB values: linked as short ones would be, a value differing in its last
    character links nothing, and case_rule quotes a value shortened."""
    rng = random.Random(3)
    # The reference names a year, as a citation does (a value without one names no article).
    number, reference = long_text(rng, 5_000_000), "Doe A. 2020. " + long_text(rng, 5_000_000)
    # Each report has reactions of its own, so that the demographic-clinical rule links none.
    records = [
        synthetic.case_report(random.Random(1), "1", reactions=("Nausea",), companynumb=number),
        synthetic.case_report(random.Random(2), "2", reactions=("Rash",), companynumb=number),
        synthetic.case_report(random.Random(3), "3", reactions=("Pruritus",), companynumb=last_changed(number)),
        synthetic.case_report(random.Random(4), "4", reactions=("Acne",), reportduplicate={"duplicatesource": "X", "duplicatenumb": number}),
        synthetic.case_report(random.Random(5), "5", reactions=("Alopecia",), reportduplicate={"duplicatesource": "X", "duplicatenumb": number[:-1] + "C"}),  # names no company number
        synthetic.case_report(random.Random(6), "6", reactions=("Erythema",), **citing(reference)),
        synthetic.case_report(random.Random(7), "7", reactions=("Urticaria",), **citing(reference.lower() + ".")),  # the same reference, spelled otherwise
        synthetic.case_report(random.Random(8), "8", reactions=("Jaundice",), **citing(last_changed(reference))),
    ]
    found = fetched_rows(db, records, page_size=2)
    assert len(found) == 8
    assert {i: case for i, (case, _) in found.items()} == {"1": "faers:1", "2": "faers:1", "3": "faers:3", "4": "faers:1", "5": "faers:5", "6": "faers:6", "7": "faers:6", "8": "faers:8"}
    assert found["2"][1] == f"same company number with 1 ({number[:100]}...)"
    assert found["4"][1].startswith("duplicate number names the company number with ") and found["4"][1].endswith(f"({number[:100]}...)")
    assert found["7"][1] == f"same literature reference with 6 ({reference.lower()[:100]}...)"
    assert max(len(rule) for _, rule in found.values()) < 200
