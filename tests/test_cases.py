"""Probable duplicate cases: each grouping rule and its negatives on hand-made reports, the
synthetic fixture's cases against the oracle's own grouping, --unit case tables against the
oracle, and the line listing (`kratom-ae cases`)."""

import csv
import datetime as dt
import io
import json
import random
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import oracle
import synthetic
from kratom_ae.cli.main import app
from fake_openfda import FakeOpenFDA
from kratom_ae.ingest import sqlfiles, store
from kratom_ae.ingest.cases import Facts, contradictions, group
from kratom_ae.ingest.fetch import SOURCES, fetch_source
from kratom_ae.ingest.openfda import OpenFDAClient, Pacer
from kratom_ae.ingest.terms import load_terms

runner = CliRunner()
KRATOM_ONLY = Path(__file__).parent / "fixtures" / "terms_kratom.csv"
MEDDRA = Path(__file__).parent / "fixtures" / "meddra_synthetic"


def fetched_cases(tmp_path, faers=(), caers=()) -> dict[str, tuple[str, str]]:
    """Fetch hand-made records from the fake openFDA; report_id -> (case_id, case_rule)."""
    db = tmp_path / "cases.duckdb"
    with FakeOpenFDA(list(faers), list(caers)) as server, store.writing(db) as con:
        client = OpenFDAClient(server.url, pacer=Pacer(0))
        for source in [s for s, records in (("faers", faers), ("caers", caers)) if records]:
            fetch_source(con, client, SOURCES[source], load_terms(KRATOM_ONLY))
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {i: (c, r) for i, c, r in con.execute("SELECT report_id, case_id, case_rule FROM reports").fetchall()}
    finally:
        con.close()


def report(report_id, **fields):
    return synthetic.case_report(random.Random(report_id), report_id, **fields)


def together(found, *ids):
    return len({found[i][0] for i in ids}) == 1


def test_same_company_number(tmp_path):
    found = fetched_cases(tmp_path, [report("1", reactions=("Nausea",), companynumb="US-X-1"), report("2", sex=None, reactions=("Rash",), companynumb="US-X-1"),
                                     report("3", companynumb="US-X-2")])
    assert together(found, "1", "2") and found["1"][0] == "faers:1"
    assert found["2"][1] == "same company number with 1 (US-X-1)"
    assert found["3"] == ("faers:3", "single report")


def test_one_company_number_on_two_patients_makes_two_cases(tmp_path):
    # 5 is a woman, 6 and 7 men: 6 and 7 share the number with each other too, so they are one
    # case although each is linked to 5 first; 8 (no sex) joins the first case it can, 5's.
    found = fetched_cases(tmp_path, [report("5", reactions=("Nausea",), companynumb="US-X-5"), report("6", sex="1", reactions=("Rash",), companynumb="US-X-5"),
                                     report("7", sex="1", reactions=("Acne",), companynumb="US-X-5"), report("8", sex=None, reactions=("Alopecia",), companynumb="US-X-5")])
    assert {i: case for i, (case, _) in found.items()} == {"5": "faers:5", "6": "faers:6", "7": "faers:6", "8": "faers:5"}
    assert found["6"][1] == "same company number with 7 (US-X-5); not joined with 5 (same company number): 5 and 6 differ in sex"
    assert found["7"][1] == "same company number with 6 (US-X-5); not joined with 5 (same company number): 5 and 7 differ in sex"
    assert found["8"][1] == "same company number with 5 (US-X-5); not joined with 6 (same company number): 5 and 6 differ in sex"


def test_duplicate_number_naming_a_company_number(tmp_path):
    found = fetched_cases(tmp_path, [report("1", reactions=("Nausea",), companynumb="US-X-1"),
                                     report("2", reactions=("Rash",), reportduplicate={"duplicatesource": "X", "duplicatenumb": "US-X-1"}),
                                     report("3", reactions=("Rash",), sex="1", country="CA", reportduplicate={"duplicatesource": "X", "duplicatenumb": "US-X-9"})])
    assert together(found, "1", "2") and found["2"][1] == "duplicate number names the company number with 1 (US-X-1)"
    assert found["3"][1] == "single report"  # names no report's company number


def test_a_duplicate_number_naming_another_patient_links_nothing(tmp_path):
    found = fetched_cases(tmp_path, [report("1", age="45", reactions=("Nausea",), companynumb="US-X-1"),
                                     report("2", age="46", reactions=("Rash",), reportduplicate={"duplicatesource": "X", "duplicatenumb": "US-X-1"})])
    assert found["2"] == ("faers:2", "single report; not joined with 1 (duplicate number names the company number): 1 and 2 differ in age")


def literature(report_id, reference, **fields):
    return report(report_id, primarysource={"qualification": "1", "reportercountry": "US", "literaturereference": reference}, **fields)


def test_literature_reference_in_three_spellings(tmp_path):
    article = synthetic.ARTICLE
    found = fetched_cases(tmp_path, [
        literature("1", article[0], reactions=("Rash",)),
        literature("2", article[1], reactions=("Nausea",), sex=None),  # missing: no contradiction
        literature("3", article[2], reactions=("Pruritus",), event=None),
    ])
    assert together(found, "1", "2", "3") and found["3"][1] == f"same literature reference with 1 ({article[2][:100]}...)"


def test_a_second_patient_of_the_same_article_is_another_case(tmp_path):
    # One of sex, age, country, event date contradicts; other reactions, so that the
    # demographic-clinical rule does not join them either.
    article = synthetic.ARTICLE[0]
    found = fetched_cases(tmp_path, [
        literature("1", article, reactions=("Rash",)),
        literature("4", article, reactions=("Rash", "Erythema"), sex="1"),
        literature("5", article, reactions=("Rash", "Urticaria"), age="70"),
        literature("6", article, reactions=("Rash", "Acne"), country="GB"),
        literature("7", article, reactions=("Rash", "Alopecia"), event="20200101"),
    ])
    assert {i: case for i, (case, _) in found.items()} == {i: f"faers:{i}" for i in ("1", "4", "5", "6", "7")}
    assert [found[i][1].split("; ")[1] for i in ("4", "5", "6", "7")] == [
        "not joined with 1 (same literature reference): 1 and 4 differ in sex", "not joined with 1 (same literature reference): 1 and 5 differ in age",
        "not joined with 1 (same literature reference): 1 and 6 differ in country", "not joined with 1 (same literature reference): 1 and 7 differ in event date"]


def test_a_missing_value_never_bridges_two_patients(tmp_path):
    # 2 leaves sex out, so it agrees with the woman 1 and the man 4; a case holds no two
    # reports that contradict, so 4 stays apart, whichever report has the lowest id.
    article = synthetic.ARTICLE[0]
    found = fetched_cases(tmp_path, [literature("1", article, reactions=("Rash",)), literature("2", article, reactions=("Nausea",), sex=None),
                                     literature("4", article, reactions=("Rash", "Erythema"), sex="1")])
    assert {i: case for i, (case, _) in found.items()} == {"1": "faers:1", "2": "faers:1", "4": "faers:4"}
    assert found["4"][1] == "single report; not joined with 1 (same literature reference): 1 and 4 differ in sex"
    assert found["2"][1].endswith("; not joined with 4 (same literature reference): 1 and 4 differ in sex")
    # The bridge first: it joins the first report it is linked to (2), and the man stays apart.
    (tmp_path / "again").mkdir()
    found = fetched_cases(tmp_path / "again", [literature("1", article, reactions=("Nausea",), sex=None), literature("2", article, reactions=("Rash",)),
                                               literature("3", article, reactions=("Rash", "Erythema"), sex="1")])
    assert {i: case for i, (case, _) in found.items()} == {"1": "faers:1", "2": "faers:1", "3": "faers:3"}
    assert found["3"][1] == "single report; not joined with 1 (same literature reference): 2 and 3 differ in sex"


def test_what_contradicts_ages_in_other_units_dates_at_other_precision_countries_spelt_otherwise(tmp_path):
    """Each pair cites an article of its own and differs in the one field named: same case or not."""
    def pair(n, first: dict, second: dict, patient_first=None, patient_second=None, reporter_first=None):
        article = f"Doe A. Kratom case {n}. J Clin Case Rep. 2020;10:{n}."
        a, b = literature(str(n), article, reactions=("Rash",), **first), literature(str(n + 1), article, reactions=("Acne",), **second)
        a["patient"].update(patient_first or {})
        b["patient"].update(patient_second or {})
        a["primarysource"].update(reportercountry=reporter_first) if reporter_first else None
        return [a, b]

    def event(written):
        return {"summary": {"narrativeincludeclinical": f"CASE EVENT DATE: {written}"}}

    same = [
        pair(10, {"age": "35"}, {"age": None}, patient_second={"patientonsetage": "426", "patientonsetageunit": "802"}),  # 35.5 years
        pair(20, {"age": "35"}, {"age": None}, patient_second={"patientonsetage": "3", "patientonsetageunit": "800"}),  # the 30s
        pair(30, {"event": "20200315"}, {"event": None}, patient_second=event("2020")),
        pair(40, {"event": "20200315"}, {"event": None}, patient_second=event("202003")),
        pair(50, {"event": "20200315"}, {"event": None}, patient_second=event("20201345")),  # no date: contradicts nothing
        pair(60, {"sex": "2"}, {"sex": "0"}),  # unknown is no value
        pair(70, {"country": None}, {"country": "US"}, reporter_first="UNITED STATES"),  # as AERS names it
        pair(80, {"country": None}, {"country": "US"}, reporter_first="COUNTRY NOT SPECIFIED"),  # no known country
    ]
    apart = [
        pair(110, {"age": "35"}, {"age": "36"}),
        pair(120, {"age": "27"}, {"age": None}, patient_second={"patientonsetage": "4", "patientonsetageunit": "800"}),  # the 40s
        pair(130, {"age": None}, {"age": None}, {"patientonsetage": "2", "patientonsetageunit": "800"}, {"patientonsetage": "3", "patientonsetageunit": "800"}),
        pair(140, {"event": "20200315"}, {"event": None}, patient_second=event("2021")),
        pair(150, {"event": "20200315"}, {"event": None}, patient_second=event("202004")),
        pair(160, {"country": "US"}, {"country": "CA"}),
    ]
    found = fetched_cases(tmp_path, [r for p in same + apart for r in p])
    assert [together(found, p[0]["safetyreportid"], p[1]["safetyreportid"]) for p in same] == [True] * len(same)
    assert [together(found, p[0]["safetyreportid"], p[1]["safetyreportid"]) for p in apart] == [False] * len(apart)
    assert [found[p[1]["safetyreportid"]][1].rsplit(" differ in ", 1)[1] for p in apart] == ["age", "age", "age", "event date", "event date", "country"]


def test_demographic_clinical_rule_and_its_negatives(tmp_path):
    found = fetched_cases(tmp_path, [
        report("10"),
        report("11", reactions=("VOMITING", "seizure")),  # same sets, spelled otherwise: six fields agree
        report("12", sex="1"),  # five of six agree, but sex contradicts
        report("13", sex=None),  # five of six agree, sex missing
        report("20", age="50", reactions=("Rash",)),
        report("21", age="51", sex="1", reactions=("Rash",)),  # two fields differ
        report("30", reactions=("Nausea",), sex=None, country=None, primarysource={"qualification": "1"}),
        report("31", reactions=("Nausea",), sex=None, country=None, primarysource={"qualification": "1"}),  # two missing: missing never agrees
        report("40", reactions=("Seizure",)),  # other reactions than 10 (near twin)
        report("50", reactions=("Jaundice",), drugs=[{"drugcharacterization": "1", "medicinalproduct": "KRATOM"}]),
        report("51", reactions=("Jaundice",)),  # other drugs
    ])
    assert together(found, "10", "11", "13") and not together(found, "10", "12")
    assert found["11"][1] == ("demographic-clinical with 10 (same drugs and reactions; agree on sex, age, country, event date, drug start dates, indications); "
                              "not joined with 12 (demographic-clinical): 10 and 12 differ in sex")
    assert found["12"][1] == "single report; not joined with 10 (demographic-clinical): 10 and 12 differ in sex"
    assert found["13"][1] == ("demographic-clinical with 10 (same drugs and reactions; agree on age, country, event date, drug start dates, indications); "
                              "not joined with 12 (demographic-clinical): 10 and 12 differ in sex")
    for alone in ("20", "21", "30", "31", "40", "50", "51"):
        assert found[alone] == (f"faers:{alone}", "single report"), alone


def test_groups_are_transitive_and_no_report_is_lost(tmp_path):
    # 1-2 by company number, 2-3 demographic-clinical, 3-4 by literature: one case of four.
    records = [
        report("1", reactions=("Overdose",), companynumb="US-X-1"),
        report("2", reactions=("Death",), companynumb="US-X-1"),
        report("3", reactions=("DEATH",), primarysource={"qualification": "1", "literaturereference": "A case of kratom toxicity. J X 2021"}),
        report("4", reactions=("Rash",), sex=None, primarysource={"qualification": "1", "literaturereference": "a case of kratom toxicity, j. x 2021"}),
        report("5"),
    ]
    found = fetched_cases(tmp_path, records)
    assert together(found, "1", "2", "3", "4") and found["4"][0] == "faers:1"
    assert sorted(found) == ["1", "2", "3", "4", "5"]  # every report is there, in exactly one case


def test_caers_reports_by_the_same_rule_on_their_fields(tmp_path):
    def caers(number, age="41.00", started="20200601", gender="Female", reactions=("VOMITING",), outcomes=("HOSPITALIZATION",)):
        record = {"report_number": number, "date_created": "20200701", "reactions": list(reactions), "outcomes": list(outcomes),
                  "products": [{"role": "SUSPECT", "name_brand": "KRATOM"}], "consumer": {"gender": gender, "age": age, "age_unit": "year(s)"}}
        return record | ({"date_started": started} if started else {})
    found = fetched_cases(tmp_path, caers=[caers("1"), caers("2", outcomes=("VISITED AN ER",)), caers("3", gender="Male"), caers("4", age="50.00", started="20190101"),
                                           caers("5", reactions=("Vomiting", "NAUSEA")),
                                           # Two men of 35, one without a start date: two of three fields agree, too little.
                                           caers("6", gender="Male", age="35.00", reactions=("NAUSEA", "ABDOMINAL PAIN"), outcomes=("VISITED AN ER",)),
                                           caers("7", gender="Male", age="35.00", started=None, reactions=("NAUSEA", "ABDOMINAL PAIN"))])
    assert together(found, "1", "2") and found["2"][1] == "demographic-clinical with 1 (same drugs and reactions; agree on sex, age, event date)"
    assert [found[i][1] for i in ("3", "4", "5", "6", "7")] == ["single report"] * 5


def test_grouping_takes_the_strongest_rule_first_and_refuses_contradicting_cases():
    ids = {1: "1", 2: "2", 3: "3", 4: "4", 5: "5"}
    grouping = group([1, 2, 3, 4], ids, [(2, 1, 1, "company"), (3, 2, 3, "literature"), (3, 1, 4, "demographic")])
    assert grouping.roots[1] == grouping.roots[2] == grouping.roots[3] != grouping.roots[4]
    assert grouping.linked_by[3] == ("literature", 2) and 4 not in grouping.linked_by
    # 5 (a man of 40-49) is linked to 3 (no sex, 44) first; 4 (a woman of 38) to 3 as well:
    # 4 is refused because 5 is in 3's case, though 4 and 3 alone agree.
    facts = {3: Facts(country="US"), 4: Facts(sex="female", age=(38, 38)), 5: Facts(sex="male", age=(40, 49))}
    grouping = group([3, 4, 5], ids, [(4, 3, 3, "literature"), (5, 3, 1, "company")], facts)
    assert grouping.roots[3] == grouping.roots[5] != grouping.roots[4]
    assert grouping.kept_apart[4] == ("literature", 3, (4, 5), ["sex", "age"])
    assert contradictions(Facts(event=(dt.date(2020, 1, 1), dt.date(2020, 12, 31))), Facts(event=(dt.date(2020, 3, 15),) * 2)) == []
    assert contradictions(Facts(country="US", age=(30, 39)), Facts(country="CA", age=(40, 40))) == ["age", "country"]


# ---- the synthetic fixture ------------------------------------------------------------------

@pytest.fixture(scope="module")
def reports():
    return oracle.all_reports()


@pytest.fixture(scope="module")
def case_of(reports):
    return oracle.cases(reports)


def sql(db, statement):
    result = runner.invoke(app, ["sql", statement, "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_fixture_cases_equal_the_oracle(fetched_db, reports, case_of):
    got = {(r["source"], r["report_id"]): r["case_id"] for r in sql(fetched_db, "SELECT source, report_id, case_id FROM reports")}
    assert got == case_of
    assert (len(got), len(set(got.values()))) == (2381, 2349)  # with the nine clinical reports 11700001-9, each a case of its own
    sizes = Counter(case_of.values())
    # Each kind the generator made: consumer + company, literature x3, duplicatenumb, company
    # number, the chain of three, and CAERS; their look-alikes stay apart.
    assert {k: n for k, n in sizes.items() if n > 1 and k < "faers:115"} == {"faers:11400001": 2, "faers:11400011": 3, "faers:11400021": 2, "faers:11400041": 2, "faers:11400051": 3, "caers:299001": 2}
    assert all(sizes[case_of[("faers", i)]] == 1 for i in ("11400003", "11400004", "11400014"))
    assert sizes[case_of[("caers", "299003")]] == 1
    # The case series (synthetic.case_series): each patient one case, each bridge in the one
    # case it agrees with first (the first patient's, unless only the second's agrees), the
    # follow-up article and the placeholder references apart, one company number or a duplicate
    # number on two patients two cases, and the two CAERS men of 35 two cases.
    series = {k: sorted(i for (_, i), c in case_of.items() if c == k) for k, n in sizes.items() if n > 1 and k >= "faers:115"}
    assert series == {
        "faers:11500001": ["11500001", "11500002", "11500099"], "faers:11500003": ["11500003", "11500004"], "faers:11500005": ["11500005", "11500006"],
        "faers:11500101": ["11500101", "11500102"], "faers:11500103": ["11500103", "11500104", "11500199"],
        "faers:11500201": ["11500201", "11500202", "11500299"], "faers:11500203": ["11500203", "11500204"], "faers:11500205": ["11500205", "11500206"],
        "faers:11500301": ["11500301", "11500302", "11500399"], "faers:11500303": ["11500303", "11500304", "11500398"],
        "faers:11500401": ["11500401", "11500402"], "faers:11500403": ["11500403", "11500404", "11500499"],
        "faers:11500501": ["11500501", "11500502", "11500599"], "faers:11500503": ["11500503", "11500504"], "faers:11500505": ["11500505", "11500506"],
        "faers:11600002": ["11600002", "11600003"], "faers:11600021": ["11600021", "11600022"],
    }
    assert all(sizes[case_of[k]] == 1 for k in [("faers", "11500999"), ("faers", "11600001"), ("faers", "11600011"), ("faers", "11600012"), ("faers", "11600023"),
                                                ("faers", "11600031"), ("faers", "11600032"), ("caers", "299101"), ("caers", "299102")])


def test_no_case_holds_two_contradicting_reports(fetched_db, reports):
    """The database's cases, checked pair by pair with the oracle's own reading of the raw
    records; and the case rules did link reports that contradict (so the check is not empty)."""
    facts = {(r.source, r.report_id): oracle.facts(r) for r in reports}
    members: dict = {}
    for r in sql(fetched_db, "SELECT source, report_id, case_id FROM reports"):
        members.setdefault(r["case_id"], []).append((r["source"], r["report_id"]))
    clashes = [(a, b) for keys in members.values() for i, a in enumerate(keys) for b in keys[i + 1:] if oracle.contradict(facts[a], facts[b])]
    assert clashes == []
    # A report says it was kept apart exactly when a rule links it to a report of another case.
    case_of = {key: case for case, keys in members.items() for key in keys}
    apart = set()
    for source in ("faers", "caers"):
        keys = sorted(k for k in facts if k[0] == source)
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                if case_of[a] != case_of[b] and oracle.link_rule(facts[a], facts[b], source):
                    apart |= {a, b}
    noted = {(r["source"], r["report_id"]) for r in sql(fetched_db, "SELECT source, report_id FROM reports WHERE case_rule LIKE '%; not joined with %'")}
    assert noted == apart and len(apart) == 49


def reference_keys(values: list[str]) -> list[str | None]:
    con = duckdb.connect()
    con.execute(sqlfiles.sql("shaping_macros"))
    return [con.execute("SELECT reference_key($x)", {"x": v}).fetchone()[0] for v in values]


SAME_ARTICLE = [
    synthetic.ARTICLE,  # case, punctuation, spacing, "long-term" / "long term"
    ["Nguyễn T, Müller K. Kratom & hepatotoxicity. Clin Toxicol (Phila). 2019;57(6):412-418.",  # accents, &, DOI, URL, PubMed id
     "NGUYEN T, MULLER K. KRATOM AND HEPATOTOXICITY. CLIN TOXICOL (PHILA). 2019;57(6):412-418. DOI: 10.1080/15563650.2019.1234567",
     "Nguyen T, Muller K: Kratom and hepatotoxicity; Clin Toxicol (Phila) 2019; 57 (6): 412-418. https://doi.org/10.1080/15563650.2019.1234567",
     "Nguyen T., Muller K. Kratom & hepatotoxicity. Clin. Toxicol. (Phila.) 2019;57(6):412–418 PMID: 31234567"],
    ["O’Connor P, Lee S. Long-term kratom use. Epilepsy Behav Rep. 2021;15:100421.", "O'Connor P, Lee S. Longterm kratom use. Epilepsy Behav Rep 2021 15 100421",
     "OConnor P, Lee S. Long term kratom use. Epilepsy & Behav Rep. 2021;15:100421"[:0] + "OConnor P, Lee S. Long term kratom use. Epilepsy Behav. Rep. 2021;15:100421"],
]
OTHER_ARTICLES = [
    ["Smith J. Kratom and the liver. J Hepatol. 2019;10(3):123.", "Smith J. Kratom and the liver. J Hepatol. 2020;10(3):123.",  # year
     "Smith J. Kratom and the liver. J Hepatol. 2019;10(31):23.", "Smith J. Kratom and the liver. J Hepatol. 2019;11(3):123.",  # issue and page, volume
     "Smith J. Kratom and the liver. J Hepatol. 2019;10(3):124.", "Jones J. Kratom and the liver. J Hepatol. 2019;10(3):123."],  # page, author
]
PLACEHOLDERS = ["UNK", "Literature", "LITERATURE.", "Case report", "Not applicable", "See narrative 2019", "Published literature"]


def test_literature_references_match_in_the_spellings_reports_use_and_only_then():
    for spellings in SAME_ARTICLE:
        assert len(set(reference_keys(spellings))) == 1 and None not in reference_keys(spellings), spellings
    for articles in OTHER_ARTICLES:
        assert len(set(reference_keys(articles))) == len(articles) and None not in reference_keys(articles)
    assert reference_keys(PLACEHOLDERS) == [None] * len(PLACEHOLDERS)  # names no article: links nothing
    assert reference_keys([synthetic.ARTICLE[0]]) == ["smithjdoeaskinhyperpigmentationafterlongtermkratomusejclincaserep 2020 10 3 123"]
    # The oracle's key is written apart from the SQL one and gives the same keys.
    every = [v for group in SAME_ARTICLE + OTHER_ARTICLES for v in group] + PLACEHOLDERS + [r for r, _ in synthetic.SERIES] + [synthetic.SERIES_FOLLOW_UP]
    assert [oracle.reference_key(v) for v in every] == reference_keys(every)


CASE_COMBOS = {
    "everything": ([], {}),
    "faers suspect since 2019": (["--source", "faers", "--role", "suspect", "--since", "2019-01-01"], {"source": "faers", "role": "suspect", "since": dt.date(2019, 1, 1)}),
    "serious": (["--serious"], {"serious": True}),
}


def num(value):
    return None if value == "" else float(value)


def table(db, name, args):
    result = runner.invoke(app, ["query", name, "--db", str(db), "--format", "csv", "--unit", "case", *args])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


@pytest.mark.parametrize("combo", CASE_COMBOS)
def test_case_unit_tables_equal_the_oracle(fetched_db, reports, case_of, combo):
    args, filters = CASE_COMBOS[combo]
    scoped = oracle.case_scope(reports, case_of, **filters)
    assert len(scoped) < len(oracle.scope(reports, **filters))  # duplicates are in scope: the units differ
    got = {r["reaction_pt"]: (int(r["cases"]), num(r["pct_of_kratom_cases"]), int(r["serious_cases"]), int(r["fatal_cases"])) for r in table(fetched_db, "reactions", args)}
    assert got == oracle.reactions(scoped)
    skin = table(fetched_db, "skin", args)
    with_skin, with_pigment, per_term = oracle.skin(scoped)
    hyper = {t for t, k in oracle.pigmentation_kinds().items() if k == "hyper"}
    assert [int(r["cases"]) for r in skin[:3]] == [with_skin, with_pigment, sum(bool(r.reactions & hyper) for r in scoped)]
    assert {r["reaction_pt"]: int(r["cases"]) for r in skin[3:]} == per_term
    assert {(int(r["received_year"]), r["source"]): (int(r["cases"]), int(r["skin_cases"])) for r in table(fetched_db, "trend", args)} == oracle.trend(scoped)
    assert {(r["characteristic"], r["category"]): int(r["cases"]) for r in table(fetched_db, "demographics", args)} == oracle.demographics(scoped)
    assert {r["ingredient"]: (int(r["cases"]), int(r["as_suspect_cases"])) for r in table(fetched_db, "drugs", args)} == oracle.ingredients(scoped)
    assert {r["product"]: (int(r["cases"]), int(r["as_suspect_cases"])) for r in table(fetched_db, "drugs", [*args, "--by", "product"])} == oracle.drugs(scoped)
    outcomes = {(r["source"], r["kind"], r["outcome"]): int(r["cases"]) for r in table(fetched_db, "outcomes", args)}
    want = oracle.outcomes(scoped)
    assert {k: v for k, v in outcomes.items() if k[1] != "seriousness criterion"} == {k: v for k, v in want.items() if k[1] != "seriousness criterion"}
    assert all(outcomes[k] == v for k, v in want.items() if k[1] == "seriousness criterion")
    summary = {r["measure"]: r for r in table(fetched_db, "summary", args)}
    expected = oracle.summary(scoped)
    assert int(summary["kratom reports"]["count"]) == len(oracle.scope(reports, **filters))
    assert int(summary["probable cases"]["count"]) == len(scoped)
    for measure in ("female", "male", "serious reports", "death", "kratom the only product", "reports with a skin disorder", "reports with a pigmentation term", "reports with an exact age"):
        assert int(summary[measure]["count"]) == expected[measure], measure
    assert int(summary["probable cases, FAERS"]["count"]) == expected["kratom reports, FAERS"]


def test_case_unit_tables_name_their_columns_by_the_unit(fetched_db, tmp_path):
    """Issue 19: a table counting cases says so in its columns, CSV and Parquet alike, and in
    provenance.json; no column of a case-counting table is called reports."""
    from kratom_ae.queries import library

    for name, query in library.discover().items():
        if "unit" not in query.parameters or "meddra" in query.requires:  # reactions_by_soc needs a MedDRA release, which this database lacks
            continue
        header = table(fetched_db, name, [])[0].keys()
        assert not [c for c in header if "reports" in c], (name, list(header))
    assert list(table(fetched_db, "reactions", [])[0]) == ["reaction_pt", "cases", "pct_of_kratom_cases", "serious_cases", "fatal_cases", "faers_cases", "caers_cases"]
    assert list(table(fetched_db, "summary", [])[0])[2] == "count"
    result = runner.invoke(app, ["export", str(tmp_path / "out"), "--db", str(fetched_db), "--unit", "case", "--format", "parquet"])
    assert result.exit_code == 0, result.output
    import pandas as pd

    assert list(pd.read_parquet(tmp_path / "out" / "skin.parquet").columns)[2:6] == ["cases", "pct_of_kratom_cases", "serious_cases", "fatal_cases"]
    provenance = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert provenance["kratom_cases_in_scope"] < provenance["kratom_reports_in_scope"]
    assert provenance["tables"]["reactions"]["unit"].startswith("probable cases: where the counts and columns above say reports, the file's columns say cases")
    assert "unit" not in provenance["tables"]["cases"]


def test_summary_shows_reports_and_cases_in_report_unit(fetched_db, reports, case_of):
    result = runner.invoke(app, ["query", "summary", "--db", str(fetched_db), "--format", "csv"])
    rows = {r["measure"]: int(r["reports"]) for r in csv.DictReader(io.StringIO(result.stdout)) if r["reports"]}
    scoped = oracle.scope(reports)
    assert (rows["kratom reports"], rows["probable cases"]) == (len(scoped), len({case_of[(r.source, r.report_id)] for r in scoped}))


def test_signals_count_cases_on_the_kratom_side(fetched_db, reports, case_of, tmp_path, monkeypatch):
    """--unit case: a and b count the oracle's cases; c and d are the background with every kratom
    REPORT in scope taken out (issue 19: not a case count, which moved a case's duplicates into
    the comparator row), so c + d is the background total minus every kratom report, and c and d
    are the same in both units."""
    from kratom_ae.ingest import openfda
    from test_signals import background_counts
    from vcr_setup import make_vcr

    db = tmp_path / "kratom.duckdb"
    shutil.copy(fetched_db, db)
    monkeypatch.setattr(openfda, "wait", lambda s: None)
    csv_path = tmp_path / "signals.csv"
    with make_vcr("none").use_cassette("synthetic_signals_background.json", allow_playback_repeats=False):
        result = runner.invoke(app, ["signals", "--db", str(db), "--unit", "case", "--source", "faers", "--csv", str(csv_path)])
    assert result.exit_code == 0, result.output
    assert "a and b count probable cases, c and d count reports" in result.stdout
    assert "c and d count reports: the background with every kratom report in scope taken out" in result.stdout
    assert "Counts are reports (latest version)" not in result.stdout  # the caution says what a and b count
    assert "Kratom counts (a, b) are probable cases" in result.stdout and "a = kratom reports" not in result.stdout
    scoped_cases = oracle.case_scope(reports, case_of, source="faers")
    scoped_reports = oracle.scope(reports, source="faers")
    assert f"Probable cases in scope (a + b): faers {len(scoped_cases):,} (of {len(scoped_reports):,} kratom reports)." in result.stdout
    total, per_term = background_counts()["faers"]
    by_case = {r["term"]: r for r in csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8")))}
    result = runner.invoke(app, ["signals", "--db", str(db), "--source", "faers", "--format", "csv"])
    by_report = {r["term"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert by_case.keys() == by_report.keys() == {t for r in scoped_cases for t in r.reactions}
    for term, row in by_case.items():
        cases = sum(term in r.reactions for r in scoped_cases)
        kratom_reports = sum(term in r.reactions for r in scoped_reports)
        c = per_term[term] - kratom_reports
        want = (cases, len(scoped_cases) - cases, c, total - len(scoped_reports) - c)
        assert tuple(int(row[k]) for k in "abcd") == want, term
        assert int(row["c"]) + int(row["d"]) == total - len(scoped_reports)
        assert (row["c"], row["d"]) == (by_report[term]["c"], by_report[term]["d"]), term
        assert (row["ab_unit"], row["cd_unit"], by_report[term]["ab_unit"]) == ("probable cases", "reports", "reports")
        assert int(row["kratom_reports_naming_term"]) == kratom_reports
    # A term whose reports are partly duplicates: its a differs between the units, its c does not.
    assert any(int(by_case[t]["a"]) < int(by_report[t]["a"]) for t in by_case)
    provenance = json.loads(Path(f"{csv_path}.provenance.json").read_text())
    assert (provenance["kratom_cases_in_scope"], provenance["kratom_reports_in_scope"]) == (len(scoped_cases), len(scoped_reports))
    assert provenance["signals"]["unit"].startswith("a and b count probable cases; c and d count reports")


# ---- the line listing -------------------------------------------------------------------------

def listing(db, *args):
    result = runner.invoke(app, ["cases", "--db", str(db), "--format", "csv", *map(str, args)])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_listing_has_one_row_per_report_in_scope(fetched_db, reports, case_of):
    rows = listing(fetched_db, "--source", "faers", "--role", "suspect")
    scoped = oracle.scope(reports, source="faers", role="suspect")
    assert sorted(r["report_id"] for r in rows) == sorted(r.report_id for r in scoped)
    assert all(r["case_id"] == case_of[("faers", r["report_id"])] for r in rows)
    twin = next(r for r in rows if r["report_id"] == "11400002")
    assert twin["case_id"] == "faers:11400001" and twin["case_reports"] == "2" and twin["case_rule"].startswith("demographic-clinical with 11400001")
    assert twin["reactions"].startswith("SEIZURE (") and twin["kratom_products"] == "Kratom [suspect]" and twin["concomitant_products"] == "GABAPENTIN"
    assert (twin["sex"], twin["age_years"], twin["country"], twin["event_date"], twin["company_number"]) == ("female", "34.0", "United States (US)", "2021-03-05", "US-ACME-2021-000777")
    literature = next(r for r in rows if r["report_id"] == "11400012")
    assert literature["other_suspect_products"] == "" and literature["concomitant_products"] == "QUETIAPINE"
    assert literature["literature_reference"] == synthetic.ARTICLE[1]


def test_pigmentation_listing_equals_the_skin_tables_row(fetched_db, tmp_path):
    path = tmp_path / "pigmentation.csv"
    result = runner.invoke(app, ["cases", "--db", str(fetched_db), "--pigmentation", "--csv", str(path)])
    assert result.exit_code == 0, result.output
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    skin = runner.invoke(app, ["query", "skin", "--db", str(fetched_db), "--format", "csv"])
    pigment_row = next(r for r in csv.DictReader(io.StringIO(skin.stdout)) if r["reaction_pt"] == "(any pigmentation term)")
    assert len(rows) == int(pigment_row["reports"]) > 0
    assert json.loads(Path(f"{path}.provenance.json").read_text())["filters"]["listing"] == {"terms": [], "skin": False, "pigmentation": True, "soc": None}
    # A worked count: the listing's distinct cases are the pigmentation reports de-duplicated.
    # The literature case's three reports are one case, and each third patient of a case series (synthetic.case_series) is reported twice.
    assert len({r["case_id"] for r in rows}) == len(rows) - 2 - 3


def test_listing_by_term_in_any_spelling_and_by_skin(fetched_db, reports):
    rows = listing(fetched_db, "--term", "beau^s lines", "--term", "Crohn's Disease")
    assert sorted(r["report_id"] for r in rows) == sorted(r.report_id for r in oracle.scope(reports) if r.reactions & {"BEAU'S LINES", "CROHN'S DISEASE"})
    skin = listing(fetched_db, "--skin", "--serious")
    assert len(skin) == oracle.skin(oracle.scope(reports, serious=True))[0]



def test_a_term_no_report_in_scope_names_is_refused_with_the_closest_terms(fetched_db, reports, tmp_path):
    """An empty listing would read as "no such reports" when the term is misspelt or filtered
    out: cases says which, and writes nothing."""
    def refused(*args):
        path = tmp_path / "listing.csv"
        result = runner.invoke(app, ["cases", "--db", str(fetched_db), "--csv", str(path), *args])
        assert result.exit_code == 1 and result.stdout == "" and not path.exists(), result.output
        return result.stderr

    assert refused("--term", "beaus line") == "Error: No kratom report in scope names 'beaus line' (the closest terms reported are \"BEAU'S LINES\").\n"
    anywhere = sum(1 for r in oracle.scope(reports) if "BEAU'S LINES" in r.reactions)
    first = min(r.received for r in oracle.scope(reports) if "BEAU'S LINES" in r.reactions)
    assert anywhere > 1 and not any("BEAU'S LINES" in r.reactions for r in oracle.scope(reports, until=first - dt.timedelta(days=1)))
    assert refused("--term", "Beau's lines", "--until", str(first - dt.timedelta(days=1))) == (
        f"Error: No kratom report in scope names \"Beau's lines\" ({anywhere:,} kratom reports in the database do, outside the filters).\n"
    )
    # Of several terms, the one no report names is the one said; a control character is shown escaped.
    assert refused("--term", "Crohn's disease", "--term", "zz\x1b[2Jzz") == (
        "Error: No kratom report in scope names 'zz\\x1b[2Jzz' (nor does any kratom report in the database; `kratom-ae query reactions` lists the terms reported).\n"
    )

def test_listing_by_soc_needs_meddra(fetched_db, tmp_path, reports):
    result = runner.invoke(app, ["cases", "--db", str(fetched_db), "--soc", "Gastrointestinal disorders"])
    assert result.exit_code == 1 and result.stderr.strip() == "Error: --soc needs MedDRA; load your licensed release with `kratom-ae meddra load DIR` first."
    db = tmp_path / "kratom.duckdb"
    shutil.copy(fetched_db, db)
    assert runner.invoke(app, ["meddra", "load", str(MEDDRA), "--db", str(db)]).exit_code == 0
    rows = listing(db, "--soc", "gastrointestinal disorders")
    assert sorted(r["report_id"] for r in rows) == sorted(r.report_id for r in oracle.scope(reports) if r.reactions & {"NAUSEA", "VOMITING", "CROHN'S DISEASE"})
    result = runner.invoke(app, ["cases", "--db", str(db), "--soc", "Skin"])
    assert result.exit_code == 1 and result.stderr.startswith("Error: There is no primary SOC called 'Skin' in the loaded MedDRA; the SOCs are: ")


def test_export_writes_the_listing(fetched_db, reports, tmp_path):
    assert runner.invoke(app, ["export", str(tmp_path / "out"), "--db", str(fetched_db), "--source", "caers"]).exit_code == 0
    with (tmp_path / "out" / "cases.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(oracle.scope(reports, source="caers"))
