"""signals --comparator FILE: kratom reports against the reports of other products (an active
comparator) instead of all of openFDA. The 2x2 cells on the fixture against an independent
count (tests/oracle.py), the rule for reports naming both on hand-made reports, what the CSV,
provenance and footer say, the cache, and user errors."""

import csv
import io
import json
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import oracle
import synthetic
from fake_openfda import FakeOpenFDA
from kratom_ae.cli.main import app
from test_meddra import base_db  # noqa: F401 (a fetched database, shared)
from vcr_setup import make_vcr

runner = CliRunner()
OPIOIDS = Path(__file__).parent / "fixtures" / "terms_opioids.csv"
# tests/fixtures/terms_opioids.csv, typed out: substring terms, and HEROIN as a word.
SUBSTRINGS, WORDS = ["FENTANYL", "OXYCODONE", "TRAMADOL", "BUPRENORPHINE"], ["HEROIN"]


@pytest.fixture
def db(base_db, tmp_path):
    copy = tmp_path / "kratom.duckdb"
    shutil.copy(base_db, copy)
    return copy


@pytest.fixture(autouse=True)
def no_pacing(monkeypatch):
    monkeypatch.setattr("kratom_ae.ingest.openfda.Pacer.wait", lambda self: None)


def signals(db, *args, cassette="synthetic_signals_comparator", code=0):
    with make_vcr("none").use_cassette(f"{cassette}.json", allow_playback_repeats=False):
        result = runner.invoke(app, ["signals", "--db", str(db), "--quiet", *map(str, args)])
    assert result.exit_code == code, result.output
    return result


def as_rows(result):
    return list(csv.DictReader(io.StringIO(result.stdout)))


def comparator_background():
    """What the fake openFDA that recorded the cassette holds of the comparator, in plain Python:
    the ids of the FAERS reports its search finds, and how many of them name each term."""
    faers, _ = synthetic.background_dataset()
    found = [r for r in faers if oracle.in_comparator(r, "faers", SUBSTRINGS, WORDS)]
    per_term = Counter(t for r in found for t in {oracle.term(x["reactionmeddrapt"]) for x in r["patient"]["reaction"]})
    return {r["safetyreportid"] for r in found}, per_term


@pytest.mark.parametrize("options", [[], ["--role", "suspect", "--unit", "case"]])
def test_cells_match_an_independent_count(db, options):
    """c = the comparator's reports naming the term less the kratom reports in scope among them
    that name it; d = the comparator's reports less every kratom report in scope among them, less
    c. With --unit case, a and b are cases and c and d the same reports as with --unit report."""
    rows = as_rows(signals(db, "--comparator", OPIOIDS, "--source", "faers", "--format", "csv", *options))
    ids, per_term = comparator_background()
    role = "suspect" if options else "any"
    scoped = oracle.scope(oracle.all_reports(), source="faers", role=role)
    both = [r for r in scoped if r.report_id in ids]
    # The fixture must exercise the rule: kratom reports naming an opioid too, and some that do not.
    assert 0 < len(both) < len(scoped)
    assert all(oracle.in_comparator(r.raw, "faers", SUBSTRINGS, WORDS) for r in both)
    naming = Counter(t for r in both for t in r.reactions)
    assert rows and {r["term"] for r in rows} == {t for r in scoped for t in r.reactions}
    for row in rows:
        c = per_term[row["term"]] - naming[row["term"]]
        assert (int(row["c"]), int(row["d"])) == (c, len(ids) - len(both) - c), row["term"]
        assert int(row["kratom_reports_in_background"]) == len(both) and int(row["background_total_reports"]) == len(ids)
    if not options:
        a = Counter(t for r in scoped for t in r.reactions)
        assert all((int(r["a"]), int(r["b"])) == (a[r["term"]], len(scoped) - a[r["term"]]) for r in rows)
    else:
        assert {r["ab_unit"] for r in rows} == {"probable cases"}


def test_csv_provenance_and_footer_name_the_comparator(db, tmp_path):
    path = tmp_path / "s.csv"
    result = signals(db, "--comparator", OPIOIDS, "--csv", path)
    ids, _ = comparator_background()
    both = [r for r in oracle.scope(oracle.all_reports(), source="faers") if r.report_id in ids]
    out = " ".join(result.stdout.split())
    assert "signals: reactions reported disproportionately often with kratom against the comparator FENTANYL, Oxycodone, TRAMADOL, BUPRENORPHINE, HEROIN" in out
    assert f"Comparator faers: {len(ids):,} reports in openFDA drug/event found by the search for FENTANYL, Oxycodone, TRAMADOL, BUPRENORPHINE, HEROIN" in out
    assert f"{len(both):,} kratom reports in scope also name a comparator drug: they count as kratom reports (a or b), not in c or d" in out
    assert "c = comparator reports naming it, d = comparator reports not naming it" in out
    # CAERS holds no opioid: its terms are left out, and the warning says why.
    assert "caers: openFDA food/event has no report that the search for the comparator" in " ".join(result.stderr.split())
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert {r["source"] for r in rows} == {"faers"}
    assert {r["background"] for r in rows} == {"comparator FENTANYL, Oxycodone, TRAMADOL, BUPRENORPHINE, HEROIN (reports of openFDA drug/event its search finds)"}
    provenance = json.loads((tmp_path / "s.csv.provenance.json").read_text())["signals"]
    assert provenance["comparator"]["file"] == str(OPIOIDS.resolve())
    assert [t["term"] for t in provenance["comparator"]["terms"]] == ["FENTANYL", "Oxycodone", "TRAMADOL", "BUPRENORPHINE", "HEROIN"]
    assert provenance["comparator"]["kratom_reports_in_scope_in_comparator"] == {"faers": len(both)}
    faers = next(b for b in provenance["background"] if b["source"] == "faers")
    assert faers["total_reports"] == len(ids) and "*fentanyl*" in faers["comparator_search"]
    assert "c and d count reports of the comparator" in provenance["unit"]


def test_the_comparator_is_cached_beside_the_all_faers_background(db):
    signals(db, "--comparator", OPIOIDS, "--format", "csv")
    again = signals(db, "--comparator", OPIOIDS, cassette="empty_never_recorded")  # any request would fail
    assert "0 requests to openFDA in this run" in again.stdout
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM background_totals").fetchone()[0] == 0  # the all-FAERS background was not needed
    assert con.execute("SELECT source, count(*) FILTER (WHERE in_comparator) FROM comparator_reports GROUP BY ALL ORDER BY source").fetchall()[-1][0] == "faers"
    con.close()
    # Without --comparator, the all-FAERS background is asked for and the comparator's left alone.
    plain = as_rows(signals(db, "--format", "csv", "--source", "faers", cassette="synthetic_signals_background"))
    assert {r["background"] for r in plain} == {"all reports of openFDA drug/event"}


def faers(report_id, drugs, reactions, day="20220105"):
    return {"safetyreportid": report_id, "safetyreportversion": "1", "receivedate": day, "receivedateformat": "102", "serious": "2",
            "patient": {"drug": drugs, "reaction": [{"reactionmeddrapt": t} for t in reactions]}}


def drug(name, role="1", **more):
    return {"medicinalproduct": name, "drugcharacterization": role, **more}


HAND_MADE = [
    faers("1", [drug("KRATOM")], ["Nausea"]),                                                   # kratom only
    faers("2", [drug("Kratom Powder"), drug("FENTANYL CITRATE", "2")], ["NAUSEA"]),            # both: a kratom report
    faers("3", [drug("KRATOM", "2"), drug("TRAMADOL")], ["nausea"]),                           # kratom concomitant only, and tramadol
    faers("4", [drug("DURAGESIC", openfda={"generic_name": ["Fentanyl"]})], ["Nausea"]),       # the comparator (by its generic name)
    faers("5", [drug("PAIN PILL", openfda={"generic_name": ["Oxycodone Hydrochloride"]})], ["Vomiting"]),
    faers("6", [drug("ASPIRIN")], ["Nausea"]),                                                  # neither
]


@pytest.mark.parametrize("role,want", [
    # any: a = 1, 2, 3; the comparator finds 2, 3, 4, 5, of which 2 and 3 are kratom reports: c = {4}, d = {5}
    ("any", {"NAUSEA": (3, 0, 1, 1)}),
    # suspect: a = 1, 2; report 3 (kratom concomitant) is a comparator report like any other: c = {3, 4}, d = {5}
    ("suspect", {"NAUSEA": (2, 0, 2, 1)}),
])
def test_a_report_naming_kratom_and_the_comparator_is_counted_once(tmp_path, role, want):
    db = tmp_path / "k.duckdb"
    with FakeOpenFDA(HAND_MADE, []) as server:
        fetched = runner.invoke(app, ["fetch", "--db", str(db), "--source", "faers", "--quiet", "--requests-per-minute", "0", "--base-url", server.url])
        assert fetched.exit_code == 0, fetched.output
        result = runner.invoke(app, ["signals", "--db", str(db), "--quiet", "--format", "csv", "--role", role, "--comparator", str(OPIOIDS), "--base-url", server.url])
    assert result.exit_code == 0, result.output
    rows = {r["term"]: tuple(int(r[k]) for k in "abcd") for r in as_rows(result)}
    assert rows == want


@pytest.mark.parametrize("content,message", [
    (None, "Error: Cannot read the terms file {path}: there is no such file."),
    ("", "Error: The terms file {path} needs a header line with the columns term and match."),
    ("term,match,note\n", "Error: The terms file {path} needs a header line with the columns term and match."),
    ("term,match,note\nFENTANYL,substring,\nFENTANYL PATCH X,exclude,a look-alike\n",
     "Error: The comparator file {path} has exclude terms (FENTANYL PATCH X); a comparator is the reports openFDA's search for its terms finds, which no exclusion can narrow, so leave them out."),
])
def test_bad_comparator_files(db, tmp_path, content, message):
    path = tmp_path / "opioids.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["signals", "--db", str(db), "--comparator", str(path)])
    assert result.exit_code == 1 and result.stderr.strip() == message.format(path=path) and "Traceback" not in result.output


def test_comparator_with_counts_is_refused(tmp_path):
    counts = tmp_path / "c.csv"
    counts.write_text("term,a,b,c,d\nX,1,2,3,4\n", encoding="utf-8")
    result = runner.invoke(app, ["signals", "--counts", str(counts), "--comparator", str(OPIOIDS)])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: --counts takes its 2x2 tables from your file as they are, so --comparator cannot apply; leave it out."


def test_refresh_asks_the_comparator_again(db):
    signals(db, "--comparator", OPIOIDS, "--format", "csv")
    # 2 a source (total, count=), FAERS's terms not in the comparator's top list, and one request
    # per 100 kratom reports of each source: every one of them again.
    con = duckdb.connect(str(db), read_only=True)
    first = con.execute("SELECT sum(requests) FROM comparator_totals").fetchone()[0]
    con.close()
    again = signals(db, "--comparator", OPIOIDS, "--refresh")
    assert f"{first} requests to openFDA in this run" in again.stdout and first == 73
