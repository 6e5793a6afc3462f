"""Right on real openFDA data: one MedDRA term in any spelling, one country in any spelling,
ages in decades, event dates and kratom look-alikes, through every table, export and signals.

The synthetic cassette spells terms and countries the ways real openFDA records do (see
tests/README.md); each test first checks that the messy spellings are really in it, so that
it cannot pass on tidy data."""

import csv
import io
import json
import shutil
from collections import Counter

import pytest
from typer.testing import CliRunner

import oracle
from kratom_ae.cli.main import app
from vcr_setup import make_vcr

runner = CliRunner()


@pytest.fixture(scope="module")
def raw():
    """Every record of the synthetic cassette, by source."""
    records = {"faers": [], "caers": []}
    for interaction in json.loads(oracle.CASSETTE.read_text(encoding="utf-8"))["interactions"]:
        if interaction["response"]["status"]["code"] == 200:
            source = "faers" if "/drug/event" in interaction["request"]["uri"] else "caers"
            records[source] += json.loads(interaction["response"]["body"]["string"])["results"]
    return records


@pytest.fixture(scope="module")
def spellings(raw):
    """Every spelling of every term in the cassette."""
    seen = Counter()
    for record in raw["faers"]:
        seen.update(x["reactionmeddrapt"] for x in record["patient"]["reaction"])
    for record in raw["caers"]:
        seen.update(record["reactions"])
    return seen


def table(db, *args):
    result = runner.invoke(app, ["query", *map(str, args), "--db", str(db), "--format", "csv"])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_the_fixture_spells_one_term_three_ways(spellings):
    assert {"Drug dependence", "DRUG DEPENDENCE", "Drug Dependence"} <= set(spellings)
    assert {"BEAU^S LINES", "Beau^s lines", "Beau's lines"} <= set(spellings)


def test_every_table_shows_a_term_once_with_the_summed_count(fetched_db):
    scoped = oracle.scope(oracle.all_reports())
    want = sum("DRUG DEPENDENCE" in r.reactions for r in scoped)
    reactions = [r for r in table(fetched_db, "reactions") if r["reaction_pt"].upper() == "DRUG DEPENDENCE"]
    assert [(r["reaction_pt"], int(r["reports"])) for r in reactions] == [("DRUG DEPENDENCE", want)]
    top = [r for r in table(fetched_db, "summary") if r["section"] == "top reactions" and r["measure"].upper() == "DRUG DEPENDENCE"]
    assert [int(r["reports"]) for r in top] == [want]


def test_a_report_naming_a_term_in_three_spellings_counts_once(fetched_db):
    result = runner.invoke(app, ["sql", "SELECT reaction_pt, count(*) AS rows, count(*) FILTER (WHERE is_first_mention) AS counted FROM reactions "
                                 "WHERE report_id = '11300001' GROUP BY ALL ORDER BY ALL", "--db", str(fetched_db), "--format", "csv"])
    assert result.stdout.splitlines() == ["reaction_pt,rows,counted", "BEAU'S LINES,2,1", "DRUG DEPENDENCE,3,1"]


def test_skin_counts_sentence_case_and_caret_spellings_without_meddra(fetched_db):
    scoped = oracle.scope(oracle.all_reports())
    rows = {r["reaction_pt"]: int(r["reports"]) for r in table(fetched_db, "skin")}
    assert rows["BEAU'S LINES"] == sum("BEAU'S LINES" in r.reactions for r in scoped) > 0
    assert rows["SKIN HYPERPIGMENTATION"] == sum("SKIN HYPERPIGMENTATION" in r.reactions for r in scoped) > 0
    assert "Skin hyperpigmentation" not in rows and "BEAU^S LINES" not in rows


def test_export_shows_a_term_once(fetched_db, tmp_path):
    assert runner.invoke(app, ["export", str(tmp_path / "out"), "--db", str(fetched_db)]).exit_code == 0
    with (tmp_path / "out" / "reactions.csv").open(encoding="utf-8", newline="") as f:
        terms = [r["reaction_pt"] for r in csv.DictReader(f)]
    assert len(terms) == len(set(terms)) and terms.count("DRUG DEPENDENCE") == 1
    assert not [t for t in terms if t != t.upper() or "^" in t]


def test_signals_show_a_term_once_on_both_sides(fetched_db, tmp_path, monkeypatch):
    from kratom_ae.ingest import openfda

    db = tmp_path / "kratom.duckdb"
    shutil.copy(fetched_db, db)
    monkeypatch.setattr(openfda, "wait", lambda s: None)
    with make_vcr("none").use_cassette("synthetic_signals_background.json", allow_playback_repeats=False):
        result = runner.invoke(app, ["signals", "--db", str(db), "--format", "csv", "--source", "faers"])
    assert result.exit_code == 0, result.output
    rows = [r for r in csv.DictReader(io.StringIO(result.stdout)) if r["term"].upper() in ("DRUG DEPENDENCE", "BEAU'S LINES")]
    scoped = oracle.scope(oracle.all_reports(), source="faers")
    assert sorted((r["term"], int(r["a"])) for r in rows) == [("BEAU'S LINES", sum("BEAU'S LINES" in r.reactions for r in scoped)),
                                                             ("DRUG DEPENDENCE", sum("DRUG DEPENDENCE" in r.reactions for r in scoped))]
    # The background's count= terms are upper case with a caret: matched by key, never negative.
    assert all(int(r["c"]) >= 0 for r in rows)


def test_united_states_in_any_spelling_is_one_country(fetched_db, raw):
    reported = {r["primarysource"].get("reportercountry") for r in raw["faers"] if not r.get("occurcountry")}
    assert {"US", "United States", "UNITED STATES"} <= reported
    rows = [r for r in table(fetched_db, "demographics") if r["characteristic"] == "country"]
    united = [r for r in rows if "united states" in r["category"].lower() or r["category"] in ("US", "USA")]
    want = sum(r.country == "United States (US)" for r in oracle.scope(oracle.all_reports()))
    assert [(r["category"], int(r["reports"])) for r in united] == [("United States (US)", want)]
    assert "COUNTRY NOT SPECIFIED" in {r["category"] for r in rows}  # not a country: shown as reported


def test_decade_ages_stay_out_of_mean_median_and_wrong_bands(fetched_db):
    scoped = oracle.scope(oracle.all_reports())
    decades = [r for r in scoped if r.decade is not None]
    assert {r.decade for r in decades} >= {20, 40, 70}  # spanning and fitting decades are both there
    summary = {r["measure"]: r for r in table(fetched_db, "summary")}
    assert int(summary["ages given only as a decade"]["reports"]) == len(decades)
    fits = [r for r in decades if oracle.band(None, r.decade) != "decade spanning two groups"]
    assert summary["ages given only as a decade"]["detail"] == (
        f"not in the mean or median; in an age group when the whole decade lies in it ({len(fits)}), "
        f'else under "decade spanning two groups" ({len(decades) - len(fits)})'
    )
    exact = [r.age for r in scoped if r.age is not None]
    assert float(summary["mean age (years)"]["value"]) == round(sum(exact) / len(exact), 1)
    groups = {r["category"]: int(r["reports"]) for r in table(fetched_db, "demographics") if r["characteristic"] == "age group"}
    assert groups["decade spanning two groups"] == len(decades) - len(fits)


def test_event_dates_come_from_the_narrative_field(fetched_db, raw):
    narratives = {r["safetyreportid"]: r["patient"]["summary"]["narrativeincludeclinical"] for r in raw["faers"] if "summary" in r["patient"]}
    result = runner.invoke(app, ["sql", "SELECT report_id, strftime(event_date, '%Y%m%d') AS day, event_date_reported FROM reports WHERE source = 'faers' AND event_date_reported IS NOT NULL",
                                 "--db", str(fetched_db), "--format", "json"])
    rows = json.loads(result.stdout)
    assert len(rows) == len(narratives) > 100
    for row in rows:
        written = narratives[row["report_id"]].removeprefix("CASE EVENT DATE: ")
        assert row["event_date_reported"] == written
        assert row["day"] == (written if len(written) == 8 else None)


def test_terms_lists_kratom_look_alikes_and_other_names(fetched_db):
    result = runner.invoke(app, ["terms", "--db", str(fetched_db), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    look_alikes = [(r["product_name"], r["excluded_by"], r["reports"]) for r in rows if r["judged"] == "look-alike (excluded)"]
    assert sorted(look_alikes) == [("7-OH-CHLORPROMAZINE", "7-OH-CHLORPROMAZINE", "1"), ("7-OH-DPAT", "7-OH-DPAT", "1"),
                                   ("7-OH-DPAT HYDROBROMIDE", "7-OH-DPAT", "1"), ("7-oh-methotrexate", "7-OH-METHOTREXATE", "1")]
    assert all("not kratom" in r["reason"] for r in rows if r["judged"] == "look-alike (excluded)")
    herbal = next(r for r in rows if r["product_name"] == "HERBAL SUPPLEMENT" and r["judged"] == "kratom")
    assert (herbal["matched_name"], herbal["matched_field"], herbal["matched_term"]) == ("MITRAGYNINE", "activesubstancename", "MITRAGYN")
    assert herbal["reason"].startswith("MITRAGYNA SPECIOSA (the plant)")
    # Each report counts once under each kratom name it lists, as the oracle counts them.
    kratom_reports = Counter()
    for report in oracle.all_reports():
        kratom_reports.update({(report.source, name or "(no name)") for name, _, is_kratom in report.products if is_kratom})
    got = Counter()
    for r in rows:
        if r["judged"] == "kratom":
            got[(r["source"], r["product_name"])] += int(r["reports"])
    assert got == kratom_reports
    assert {"FENTANYL", "MIRTAZAPINE"} <= {r["product_name"] for r in rows if r["judged"] == "not kratom"}


def test_terms_filters_and_errors(fetched_db, tmp_path):
    result = runner.invoke(app, ["terms", "--db", str(fetched_db), "--judged", "look-alike", "--source", "caers", "--format", "csv"])
    assert result.exit_code == 0 and result.stdout.splitlines() == ["source,judged,product_name,matched_name,matched_field,matched_term,excluded_by,near_term,reason,reports"]
    result = runner.invoke(app, ["terms", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1 and result.stderr.startswith("Error: There is no database at")
    result = runner.invoke(app, ["terms", "--db", str(fetched_db), "--judged", "maybe"])
    assert result.exit_code == 2 and "Traceback" not in result.output
