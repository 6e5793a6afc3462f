"""`kratom-ae profile`: every figure of the clinical profile against the oracle's own count
from the raw records (report and case units, groups and terms, filters), the Wilson intervals
against statsmodels, the dechallenge and rechallenge rules on hand-made reports (several kratom
products with different actions), the listing's per-report columns, and user errors."""

import csv
import io
import json
import random

import duckdb
import pytest
from statsmodels.stats.proportion import proportion_confint
from typer.testing import CliRunner

import oracle
import synthetic
from fake_openfda import FakeOpenFDA
from kratom_ae.cli.main import app
from kratom_ae.ingest import store
from kratom_ae.ingest.fetch import SOURCES, fetch_source
from kratom_ae.ingest.openfda import OpenFDAClient, Pacer
from kratom_ae.ingest.terms import load_terms
from test_cases import KRATOM_ONLY

runner = CliRunner()
GROUPS = {"--hyperpigmentation": "(any hyperpigmentation term)", "--pigmentation": "(any pigmentation term)", "--skin": "(any skin term)"}
COMBOS = {"all": ([], {}), "faers suspect": (["--source", "faers", "--role", "suspect"], {"source": "faers", "role": "suspect"}),
          "caers": (["--source", "caers"], {"source": "caers"})}


@pytest.fixture(scope="module")
def reports():
    return oracle.all_reports()


@pytest.fixture(scope="module")
def case_of(reports):
    return oracle.cases(reports)


def profile_rows(db, *args):
    result = runner.invoke(app, ["profile", *args, "--db", str(db), "--format", "csv"])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def figures(rows, label, unit="report"):
    """(section, measure) -> count, or ("days", value), as oracle.profile gives them; and every
    row's percentage and interval checked against the oracle's own arithmetic on the way."""
    count, denominator = ("reports", "term_reports") if unit == "report" else ("cases", "term_cases")
    pct = "pct_of_term_reports" if unit == "report" else "pct_of_term_cases"
    out = {}
    for row in (r for r in rows if r["profile"] == label):
        key = (row["section"], row["measure"])
        assert key not in out, key
        if row[count] == "" and row["days"] != "":
            out[key] = ("days", float(row["days"]))
        elif row[count] == "":
            out[key] = ("days", None) if row["measure"] in ("median", "lower quartile", "upper quartile") else None
        else:
            n, total = int(row[count]), int(row[denominator])
            low, high = oracle.wilson(n, total)
            assert (float(row[pct]), float(row["ci95_low"]), float(row["ci95_high"])) == (oracle.pct(n, total), oracle.rounded(100 * low), oracle.rounded(100 * high)), key
            out[key] = n
    return out


@pytest.mark.parametrize("unit", ["report", "case"])
@pytest.mark.parametrize("combo", sorted(COMBOS))
def test_every_figure_of_the_profile_equals_the_oracle(fetched_db, reports, case_of, unit, combo):
    args, filters = COMBOS[combo]
    unit_list = oracle.units(reports, case_of if unit == "case" else None, **filters)
    rows = profile_rows(fetched_db, *GROUPS, "Hyperpigmentation", "skin discolouration", "NAUSEA", *args, "--unit", unit)
    assert [r["profile"] for r in rows][0] == "(any hyperpigmentation term)" and rows[-1]["profile"] == "NAUSEA"
    for label, (terms, applies) in oracle.profile_groups().items():
        assert figures(rows, label, unit) == oracle.profile(unit_list, terms, applies), label
    for label, applies in (("HYPERPIGMENTATION", True), ("SKIN DISCOLOURATION", True), ("NAUSEA", False)):
        assert figures(rows, label, unit) == oracle.profile(unit_list, {label}, applies), label


def test_the_profile_reads_what_the_fixture_planted(fetched_db, reports):
    """Numbers the fixture's clinical reports (11700001-9) make known, so that the comparison
    above cannot pass on a profile that reads nothing: brands of pigmenting drugs found by
    ingredient, onsets and durations, and a non-zero count in every section."""
    got = figures(profile_rows(fetched_db, "--hyperpigmentation"), "(any hyperpigmentation term)")
    section = "co-reported pigmenting drug"
    # MINOCIN (11700001, 11700009), CORDARONE (11700002), PLAQUENIL (11700004) by openFDA's
    # mapping; the AERS-era MINOCIN (11700006) is unmapped and not found.
    assert (got[(section, "MINOCYCLINE")], got[(section, "AMIODARONE")], got[(section, "HYDROXYCHLOROQUINE")]) == (2, 1, 1)
    assert got[(section, "present")] == 4
    for key, value in got.items():
        if isinstance(value, int) and key[0] != "reports":
            assert value <= got[("reports", "naming the term")]
    assert all(got[(s, "median")][1] is not None for s in ("time to onset (event date minus kratom start date)", "duration of kratom use (drugtreatmentduration)"))
    assert got[("dechallenge (kratom stopped or reduced)", "positive")] > 0 and got[("rechallenge (kratom given again)", "positive")] > 0


def test_case_unit_counts_fewer_units_than_reports(fetched_db):
    by_report = figures(profile_rows(fetched_db, "--pigmentation"), "(any pigmentation term)")
    by_case = figures(profile_rows(fetched_db, "--pigmentation", "--unit", "case"), "(any pigmentation term)", "case")
    assert by_case[("reports", "naming the term")] < by_report[("reports", "naming the term")]


@pytest.mark.parametrize("k,n", [(0, 1), (1, 1), (0, 114), (14, 114), (55, 114), (114, 114), (1, 3), (7, 9), (250, 1000)])
def test_wilson_interval_equals_statsmodels(fetched_db, k, n):
    """The SQL macros (queries/_clinical.sql) against statsmodels' proportion_confint(method='wilson')."""
    con = store.connect(fetched_db, read_only=True)
    try:
        from kratom_ae.queries import library

        library.prepare_scope(con, library.Filters())
        low, high = con.execute("SELECT wilson_low($k, $n), wilson_high($k, $n)", {"k": k, "n": n}).fetchone()
    finally:
        con.close()
    want = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert low == pytest.approx(want[0], abs=1e-12) and high == pytest.approx(want[1], abs=1e-12)


def test_the_profiles_intervals_equal_statsmodels(fetched_db):
    for row in profile_rows(fetched_db, "--pigmentation"):
        if row["reports"]:
            low, high = proportion_confint(int(row["reports"]), int(row["term_reports"]), method="wilson")
            assert (float(row["ci95_low"]), float(row["ci95_high"])) == (oracle.rounded(100 * low), oracle.rounded(100 * high)), row


# ---- the dechallenge and rechallenge rules, on hand-made reports -------------------------------

def hand_made(report_id, drugs, outcomes, event="20210601"):
    record = synthetic.case_report(random.Random(report_id), report_id, event=event, reactions=())
    record["patient"]["drug"] = drugs
    record["patient"]["reaction"] = [{"reactionmeddrapt": "Skin hyperpigmentation", **({"reactionoutcome": o} if o else {})} for o in outcomes]
    record.pop("companynumb", None)
    return record


def kratom(action=None, role="1", name="KRATOM", **fields):
    return {"drugcharacterization": role, "medicinalproduct": name, **({"actiondrug": action} if action else {}), **fields}


# report id -> (kratom products, outcomes of its one term, dechallenge, rechallenge)
RULES = {
    "11900001": ([kratom("1")], ["1"], "positive", "not reported"),  # withdrawn, recovered
    "11900002": ([kratom("2")], ["2"], "positive", "not reported"),  # dose reduced, recovering
    "11900003": ([kratom("1")], ["4"], "positive", "not reported"),  # recovered with sequelae
    "11900004": ([kratom("1")], ["3"], "negative", "not reported"),  # withdrawn, not recovered
    "11900005": ([kratom("1")], ["6"], "unknown", "not reported"),  # outcome unknown
    "11900006": ([kratom("1")], [None], "unknown", "not reported"),  # outcome not reported
    "11900007": ([kratom("1")], ["5"], "unknown", "not reported"),  # fatal: nothing to observe after stopping
    "11900008": ([kratom("1")], ["1", "3"], "unknown", "not reported"),  # two rows, both kinds of outcome
    "11900009": ([kratom("4")], ["1"], "not applicable", "not reported"),  # dose not changed
    "11900010": ([kratom("3")], ["3"], "not applicable", "not reported"),  # dose increased
    "11900011": ([kratom("6")], ["1"], "not applicable", "not reported"),  # not applicable
    "11900012": ([kratom("5")], ["1"], "unknown", "not reported"),  # action unknown
    "11900013": ([kratom()], ["1"], "unknown", "not reported"),  # no action given
    # Several kratom products: one withdrawn and one continued is no dechallenge of kratom.
    "11900014": ([kratom("1"), kratom("4", name="MAENG DA KRATOM")], ["1"], "unknown", "not reported"),
    "11900015": ([kratom("1"), kratom("3", name="RED VEIN KRATOM")], ["3"], "unknown", "not reported"),
    # One withdrawn, another with an unknown or not applicable action: the withdrawal counts.
    "11900016": ([kratom("1"), kratom("5", name="KRATOM CAPSULES")], ["1"], "positive", "not reported"),
    "11900017": ([kratom("2"), kratom("6", name="KRATOM TEA")], ["3"], "negative", "not reported"),
    "11900018": ([kratom(6), kratom(4, name="KRATOM TEA")], ["1"], "not applicable", "not reported"),  # codes as numbers
    # Rechallenge: yes wins over no; no over unknown.
    "11900019": ([kratom("1", drugrecurreadministration="1"), kratom("1", name="KRATOM TEA", drugrecurreadministration="2")], ["1"], "positive", "positive"),
    "11900020": ([kratom("1", drugrecurreadministration="2"), kratom("1", name="KRATOM TEA", drugrecurreadministration="3")], ["1"], "positive", "negative"),
    "11900021": ([kratom("1", drugrecurreadministration=3)], ["1"], "positive", "unknown"),
}


@pytest.fixture(scope="module")
def rules_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("rules") / "rules.duckdb"
    records = [hand_made(i, drugs, outcomes) for i, (drugs, outcomes, _, _) in RULES.items()]
    # Onset: the earliest whole kratom start date; a month alone is not used; a start after the event is negative.
    records.append(hand_made("11900031", [kratom("1", drugstartdate="20210101", drugstartdateformat="102"), kratom("1", name="KRATOM TEA", drugstartdate="20201201", drugstartdateformat="102")], ["1"], event="20210301"))
    records.append(hand_made("11900032", [kratom("1", drugstartdate="202101", drugstartdateformat="610")], ["1"], event="20210301"))
    records.append(hand_made("11900033", [kratom("1", drugstartdate="20210401", drugstartdateformat="102")], ["1"], event="20210301"))
    # A pigmenting drug by brand: PACERONE mapped to amiodarone by openFDA; and an unmapped brand.
    records.append(hand_made("11900041", [kratom("1"), {"drugcharacterization": "2", "medicinalproduct": "PACERONE", "openfda": {"generic_name": ["Amiodarone Hydrochloride"]}}], ["1"]))
    records.append(hand_made("11900042", [kratom("1"), {"drugcharacterization": "2", "medicinalproduct": "MINOCIN"}], ["1"]))
    records.append(hand_made("11900043", [kratom("1"), {"drugcharacterization": "1", "medicinalproduct": "HYDROXYCHLOROQUINE SULFATE"}], ["1"]))
    with FakeOpenFDA(records, []) as server, store.writing(db) as con:
        fetch_source(con, OpenFDAClient(server.url, pacer=Pacer(0)), SOURCES["faers"], load_terms(KRATOM_ONLY))
    return db


def listing(db, *args):
    result = runner.invoke(app, ["cases", "--db", str(db), "--format", "csv", *args])
    assert result.exit_code == 0, result.output
    return {r["report_id"]: r for r in csv.DictReader(io.StringIO(result.stdout))}


def test_dechallenge_and_rechallenge_follow_the_written_rule(rules_db):
    rows = listing(rules_db)
    for report_id, (_, _, dechallenge, rechallenge) in RULES.items():
        assert (rows[report_id]["dechallenge"], rows[report_id]["rechallenge"]) == (dechallenge, rechallenge), report_id


def test_the_profile_counts_the_rules(rules_db):
    got = figures(profile_rows(rules_db, "SKIN HYPERPIGMENTATION"), "SKIN HYPERPIGMENTATION")
    want = {m: sum(d == m for _, _, d, _ in RULES.values()) for m in ("positive", "negative", "not applicable", "unknown")}
    want["positive"] += 6  # 11900031-3 and 11900041-3: withdrawn, recovered
    assert {m: got[("dechallenge (kratom stopped or reduced)", m)] for m in want} == want
    assert got[("rechallenge (kratom given again)", "positive")] == 1 and got[("rechallenge (kratom given again)", "negative")] == 1
    assert got[("reaction outcome (of this reaction)", "two or more outcomes")] == 1


def test_time_to_onset_uses_whole_dates_and_the_earliest_kratom_start(rules_db):
    rows = listing(rules_db)
    assert [rows[i]["time_to_onset_days"] for i in ("11900031", "11900032", "11900033", "11900001")] == ["90", "", "-31", ""]
    got = figures(profile_rows(rules_db, "SKIN HYPERPIGMENTATION"), "SKIN HYPERPIGMENTATION")
    section = "time to onset (event date minus kratom start date)"
    assert (got[(section, "allowing it")], got[(section, "median")], got[(section, "kratom start after the event date (left out)")]) == (1, ("days", 90.0), 1)


def test_pigmenting_drugs_are_found_by_ingredient(rules_db):
    rows = listing(rules_db)
    assert [rows[i]["pigmenting_drugs"] for i in ("11900041", "11900042", "11900043", "11900001")] == ["AMIODARONE", "", "HYDROXYCHLOROQUINE", ""]


# ---- what a user gets wrong ---------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["NO SUCH TERM"], "Error: No kratom report in scope names 'NO SUCH TERM' (nor does any kratom report in the database; `kratom-ae query reactions` lists the terms reported).\n"),
    (["hyperpigmentaton"], "Error: No kratom report in scope names 'hyperpigmentaton' (the closest terms reported are 'HYPERPIGMENTATION', 'SKIN HYPERPIGMENTATION').\n"),
    ([], "Error: Name the reactions to profile: one or more MedDRA terms (kratom-ae profile HYPERPIGMENTATION), or --hyperpigmentation, --pigmentation or --skin.\n"),
    (["--skin", "--since", "2020-13-01"], "Error: --since must be a date written YYYY-MM-DD, such as 2019-01-31, not '2020-13-01'.\n"),
])
def test_user_errors_are_one_sentence(fetched_db, args, message):
    result = runner.invoke(app, ["profile", *args, "--db", str(fetched_db)])
    assert result.exit_code == 1 and result.stderr == message and result.stdout == ""


@pytest.mark.parametrize("args", [["--skin", "--top", "3"], ["--skin", "--unit", "patient"], ["--skin", "--format", "xml"]])
def test_bad_options_are_refused_without_a_traceback(fetched_db, args):
    result = runner.invoke(app, ["profile", *args, "--db", str(fetched_db)])
    assert result.exit_code == 2 and "Traceback" not in result.output and result.stdout == ""


def test_csv_has_provenance_and_says_synthetic(fetched_db, tmp_path):
    out = tmp_path / "hyper.csv"
    result = runner.invoke(app, ["profile", "--hyperpigmentation", "--unit", "case", "--db", str(fetched_db), "--csv", str(out)])
    assert result.exit_code == 0, result.output
    provenance = json.loads((tmp_path / "hyper.csv.provenance.json").read_text())
    assert provenance["synthetic"] is True and provenance["filters"]["unit"] == "case" and "profile" in provenance["tables"]
    assert list(csv.DictReader(io.StringIO(out.read_text())))[0]["cases"] != ""
    assert "SYNTHETIC DATA" in result.stdout


def test_the_reports_clinical_profile_draws_the_profiles_numbers(signals_db, reports):
    """The report's "Skin disorders: clinical profile" figure: each bar and interval is the
    profile's (and so the oracle's), for the hyperpigmentation and pigmentation groups, with
    the time to onset written on each group's row."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from kratom_ae.queries.library import Filters
    from kratom_ae.report import build

    con = store.connect(signals_db, read_only=True)
    try:
        drawn = next(d for d in build.collect(con, signals_db, Filters(top=20)).figures if d.name == "skin_profile")
    finally:
        con.close()
    assert drawn.figure is not None and "SYNTHETIC" in [t.get_text() for t in drawn.figure.axes[0].texts]
    FigureCanvasAgg(drawn.figure).draw()
    unit_list = oracle.units(reports)
    groups = oracle.profile_groups()
    bars = [p for p in drawn.figure.axes[0].patches]
    assert len(bars) == 2 * 8  # per group: seven outcomes and the pigmenting drugs
    texts = [t.get_text() for t in drawn.figure.axes[0].texts if t.get_text() != "SYNTHETIC"]
    want = []
    for label in ("(any hyperpigmentation term)", "(any pigmentation term)"):
        expected = oracle.profile(unit_list, *groups[label])
        n = expected[("reports", "naming the term")]
        onset = "time to onset (event date minus kratom start date)"
        want.append(f"n = {n:,}; time to onset: median {expected[(onset, 'median')][1]:,.0f} days (quartiles {expected[(onset, 'lower quartile')][1]:,.0f}-"
                    f"{expected[(onset, 'upper quartile')][1]:,.0f}), {expected[(onset, 'allowing it')]:,} of {n:,} allow it")
        for outcome in [*oracle.FAERS_OUTCOMES.values(), "not reported"]:
            k = expected[("reaction outcome (of this reaction)", outcome)]
            want.append(f"{k:,} ({oracle.pct(k, n):.1f}%)")
        k = expected[("co-reported pigmenting drug", "present")]
        want.append(f"{k:,} ({oracle.pct(k, n):.1f}%)")
    assert texts == want
    widths = [round(b.get_width(), 1) for b in bars]
    assert widths == [float(t.split("(")[1].rstrip("%)")) for t in want if not t.startswith("n = ")]
