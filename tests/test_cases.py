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
from kratom_ae.ingest import store
from kratom_ae.ingest.cases import group
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
    found = fetched_cases(tmp_path, [report("1", reactions=("Nausea",), companynumb="US-X-1"), report("2", sex="1", reactions=("Rash",), companynumb="US-X-1"),
                                     report("3", companynumb="US-X-2")])
    assert together(found, "1", "2") and found["1"][0] == "faers:1"
    assert found["2"][1] == "same company number with 1 (US-X-1)"
    assert found["3"] == ("faers:3", "single report")


def test_duplicate_number_naming_a_company_number(tmp_path):
    found = fetched_cases(tmp_path, [report("1", reactions=("Nausea",), companynumb="US-X-1"),
                                     report("2", reactions=("Rash",), reportduplicate={"duplicatesource": "X", "duplicatenumb": "US-X-1"}),
                                     report("3", reactions=("Rash",), sex="1", country="CA", reportduplicate={"duplicatesource": "X", "duplicatenumb": "US-X-9"})])
    assert together(found, "1", "2") and found["2"][1] == "duplicate number names the company number with 1 (US-X-1)"
    assert found["3"][1] == "single report"  # names no report's company number


def literature(report_id, reference, **fields):
    return report(report_id, primarysource={"qualification": "1", "reportercountry": "US", "literaturereference": reference}, **fields)


def test_literature_reference_in_three_spellings(tmp_path):
    article = synthetic.ARTICLE
    found = fetched_cases(tmp_path, [
        literature("1", article[0], reactions=("Rash",)),
        literature("2", article[1], reactions=("Nausea",), sex=None),  # missing: no contradiction
        literature("3", article[2], reactions=("Pruritus",), event=None),
    ])
    assert together(found, "1", "2", "3") and found["3"][1].startswith("same literature reference with 1 (smith j doe a skin")


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
    assert [found[i] for i in ("1", "4", "5", "6", "7")] == [(f"faers:{i}", "single report") for i in ("1", "4", "5", "6", "7")]


def test_a_missing_value_can_bridge_two_patients(tmp_path):
    # The method's known limit (docs/methods.md "Probable cases"): pairs are judged one by one and groups are
    # transitive, so a report that leaves sex out agrees with both a woman and a man.
    article = synthetic.ARTICLE[0]
    found = fetched_cases(tmp_path, [literature("1", article, reactions=("Rash",)), literature("2", article, reactions=("Nausea",), sex=None),
                                     literature("4", article, reactions=("Rash", "Erythema"), sex="1")])
    assert together(found, "1", "2", "4")


def test_demographic_clinical_rule_and_its_negatives(tmp_path):
    found = fetched_cases(tmp_path, [
        report("10"),
        report("11", reactions=("VOMITING", "seizure")),  # same sets, spelled otherwise: six fields agree
        report("12", sex="1"),  # five of six agree
        report("20", age="50", reactions=("Rash",)),
        report("21", age="51", sex="1", reactions=("Rash",)),  # two fields differ
        report("30", reactions=("Nausea",), sex=None, country=None, primarysource={"qualification": "1"}),
        report("31", reactions=("Nausea",), sex=None, country=None, primarysource={"qualification": "1"}),  # two missing: missing never agrees
        report("40", reactions=("Seizure",)),  # other reactions than 10 (near twin)
        report("50", reactions=("Jaundice",), drugs=[{"drugcharacterization": "1", "medicinalproduct": "KRATOM"}]),
        report("51", reactions=("Jaundice",)),  # other drugs
    ])
    assert together(found, "10", "11", "12")
    assert found["11"][1] == "demographic-clinical with 10 (same drugs and reactions; agree on sex, age, country, event date, drug start dates, indications)"
    assert found["12"][1] == "demographic-clinical with 10 (same drugs and reactions; agree on age, country, event date, drug start dates, indications)"
    for alone in ("20", "21", "30", "31", "40", "50", "51"):
        assert found[alone] == (f"faers:{alone}", "single report"), alone


def test_groups_are_transitive_and_no_report_is_lost(tmp_path):
    # 1-2 by company number, 2-3 demographic-clinical, 3-4 by literature: one case of four.
    records = [
        report("1", reactions=("Overdose",), companynumb="US-X-1"),
        report("2", reactions=("Death",), companynumb="US-X-1"),
        report("3", reactions=("DEATH",), primarysource={"qualification": "1", "literaturereference": "A case. J X 2021"}),
        report("4", reactions=("Rash",), sex=None, primarysource={"qualification": "1", "literaturereference": "a case, j. x 2021"}),
        report("5"),
    ]
    found = fetched_cases(tmp_path, records)
    assert together(found, "1", "2", "3", "4") and found["4"][0] == "faers:1"
    assert sorted(found) == ["1", "2", "3", "4", "5"]  # every report is there, in exactly one case


def test_caers_reports_by_the_same_rule_on_their_fields(tmp_path):
    def caers(number, age="41.00", started="20200601", gender="Female", reactions=("VOMITING",)):
        return {"report_number": number, "date_created": "20200701", "date_started": started, "reactions": list(reactions), "outcomes": ["HOSPITALIZATION"],
                "products": [{"role": "SUSPECT", "name_brand": "KRATOM"}], "consumer": {"gender": gender, "age": age, "age_unit": "year(s)"}}
    found = fetched_cases(tmp_path, caers=[caers("1"), caers("2", gender="Male"), caers("3", age="50.00", started="20190101"), caers("4", reactions=("Vomiting", "NAUSEA"))])
    assert together(found, "1", "2") and found["2"][1] == "demographic-clinical with 1 (same drugs and reactions; agree on age, event date)"
    assert found["3"][1] == found["4"][1] == "single report"


def test_union_find_takes_the_strongest_rule_first():
    roots, linked_by = group([1, 2, 3, 4], [(2, 1, "company"), (3, 2, "literature"), (3, 1, "demographic")])
    assert roots == {1: 1, 2: 1, 3: 1, 4: 4}
    assert linked_by[3] == ("literature", 2) and 4 not in linked_by


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
    sizes = Counter(case_of.values())
    # Each kind the generator made: consumer + company, literature x3, duplicatenumb, company
    # number, the chain of three, and CAERS; their look-alikes stay apart.
    assert {k: n for k, n in sizes.items() if n > 1} == {"faers:11400001": 2, "faers:11400011": 3, "faers:11400021": 2, "faers:11400041": 2, "faers:11400051": 3, "caers:299001": 2}
    assert all(sizes[case_of[("faers", i)]] == 1 for i in ("11400003", "11400004", "11400014"))
    assert all(sizes[case_of[("caers", "299003")]] == 1 for _ in [0])


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
    got = {r["reaction_pt"]: (int(r["reports"]), num(r["pct_of_kratom_reports"]), int(r["serious_reports"]), int(r["fatal_reports"])) for r in table(fetched_db, "reactions", args)}
    assert got == oracle.reactions(scoped)
    skin = table(fetched_db, "skin", args)
    with_skin, with_pigment, per_term = oracle.skin(scoped)
    assert [int(r["reports"]) for r in skin[:2]] == [with_skin, with_pigment]
    assert {r["reaction_pt"]: int(r["reports"]) for r in skin[2:]} == per_term
    assert {(int(r["received_year"]), r["source"]): (int(r["reports"]), int(r["skin_reports"])) for r in table(fetched_db, "trend", args)} == oracle.trend(scoped)
    assert {(r["characteristic"], r["category"]): int(r["reports"]) for r in table(fetched_db, "demographics", args)} == oracle.demographics(scoped)
    assert {r["ingredient"]: (int(r["reports"]), int(r["as_suspect_reports"])) for r in table(fetched_db, "drugs", args)} == oracle.ingredients(scoped)
    assert {r["product"]: (int(r["reports"]), int(r["as_suspect_reports"])) for r in table(fetched_db, "drugs", [*args, "--by", "product"])} == oracle.drugs(scoped)
    outcomes = {(r["source"], r["kind"], r["outcome"]): int(r["reports"]) for r in table(fetched_db, "outcomes", args)}
    want = oracle.outcomes(scoped)
    assert {k: v for k, v in outcomes.items() if k[1] != "seriousness criterion"} == {k: v for k, v in want.items() if k[1] != "seriousness criterion"}
    assert all(outcomes[k] == v for k, v in want.items() if k[1] == "seriousness criterion")
    summary = {r["measure"]: r for r in table(fetched_db, "summary", args)}
    expected = oracle.summary(scoped)
    assert int(summary["kratom reports"]["reports"]) == len(oracle.scope(reports, **filters))
    assert int(summary["probable cases"]["reports"]) == len(scoped)
    for measure in ("female", "male", "serious reports", "death", "kratom the only product", "reports with a skin disorder", "reports with a pigmentation term", "reports with an exact age"):
        assert int(summary[measure]["reports"]) == expected[measure], measure
    assert int(summary["probable cases, FAERS"]["reports"]) == expected["kratom reports, FAERS"]


def test_summary_shows_reports_and_cases_in_report_unit(fetched_db, reports, case_of):
    result = runner.invoke(app, ["query", "summary", "--db", str(fetched_db), "--format", "csv"])
    rows = {r["measure"]: int(r["reports"]) for r in csv.DictReader(io.StringIO(result.stdout)) if r["reports"]}
    scoped = oracle.scope(reports)
    assert (rows["kratom reports"], rows["probable cases"]) == (len(scoped), len({case_of[(r.source, r.report_id)] for r in scoped}))


def test_signals_count_cases_on_the_kratom_side(fetched_db, reports, case_of, tmp_path, monkeypatch):
    from kratom_ae.ingest import openfda
    from vcr_setup import make_vcr

    db = tmp_path / "kratom.duckdb"
    shutil.copy(fetched_db, db)
    monkeypatch.setattr(openfda, "wait", lambda s: None)
    with make_vcr("none").use_cassette("synthetic_signals_background.json", allow_playback_repeats=False):
        result = runner.invoke(app, ["signals", "--db", str(db), "--unit", "case", "--source", "faers"])
    assert result.exit_code == 0, result.output
    assert "probable cases" in result.stdout and "background" in result.stdout
    assert "Counts are reports (latest version)" not in result.stdout  # the caution says what a and b count
    assert "Kratom counts (a, b) are probable cases" in result.stdout
    result = runner.invoke(app, ["signals", "--db", str(db), "--unit", "case", "--source", "faers", "--format", "csv"])
    rows = {r["term"]: (int(r["a"]), int(r["b"])) for r in csv.DictReader(io.StringIO(result.stdout))}
    scoped = oracle.case_scope(reports, case_of, source="faers")
    assert rows["OVERDOSE"] == (sum("OVERDOSE" in r.reactions for r in scoped), len(scoped) - sum("OVERDOSE" in r.reactions for r in scoped))


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
    assert len({r["case_id"] for r in rows}) == len(rows) - 2  # the literature case's three reports are one case


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
