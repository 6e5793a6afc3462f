"""signals --adjusted: Mantel-Haenszel ROR and PRR over strata of sex, age band and report year.
Every term's estimates on the fixture against an independent count of each stratum's 2x2 table
(the strata typed out again here, the cells counted in plain Python from the synthetic data)
and statsmodels' StratifiedTable; the kratom reports outside every stratum; terms missing from
a stratum's count= list, counted by onset age, on hand-made reports; user errors."""

import csv
import io
import json
import math
import shutil
from collections import Counter, defaultdict

import duckdb
import numpy as np
import pytest
from statsmodels.stats.contingency_tables import StratifiedTable
from typer.testing import CliRunner

import oracle
import synthetic
from fake_openfda import FakeOpenFDA
from kratom_ae.cli.main import app
from test_mantel_haenszel import greenland_robins_se
from test_meddra import base_db  # noqa: F401 (a fetched database, shared)
from vcr_setup import make_vcr

runner = CliRunner()
Z = 1.959963984540054
# docs/methods.md "Adjusted estimates", typed out: sex code, onset age in years (unit 801) with
# both bounds included, receivedate's year.
SEX = {"1": "male", "2": "female"}
BANDS = [(0, 17.99), (18, 34.99), (35, 49.99), (50, 64.99), (65, 150)]
PERIODS = [(1900, 2014), (2015, 2017), (2018, 2020), (2021, 2023), (2024, 2099)]


def stratum(record: dict):
    p = record.get("patient", {})
    sex = SEX.get(p.get("patientsex"))
    try:
        age = float(p.get("patientonsetage")) if p.get("patientonsetageunit") == "801" else None
    except (TypeError, ValueError):
        age = None
    band = next((i for i, (low, high) in enumerate(BANDS) if age is not None and low <= age <= high), None)
    year = int(record["receivedate"][:4]) if record.get("receivedate") else None
    period = next((i for i, (first, last) in enumerate(PERIODS) if year is not None and first <= year <= last), None)
    return None if None in (sex, band, period) else (sex, band, period)


def terms_of(record):
    return {oracle.term(x["reactionmeddrapt"]) for x in record["patient"]["reaction"]}


def expected_tables(background, kratom, min_reports=3):
    """{term: [(a, b, c, d) per stratum holding a kratom report]}: c and d are the stratum's
    background with the kratom reports in scope of the stratum taken out."""
    bg_total, bg_term = Counter(), Counter()
    for r in background:
        s = stratum(r)
        if s:
            bg_total[s] += 1
            bg_term.update((s, t) for t in terms_of(r))
    k_total, k_term = Counter(), Counter()
    for r in kratom:
        s = stratum(r)
        if s:
            k_total[s] += 1
            k_term.update((s, t) for t in terms_of(r))
    a_all = Counter(t for r in kratom for t in terms_of(r))
    tables = defaultdict(list)
    for term in (t for t, n in a_all.items() if n >= min_reports):
        for s in sorted(k_total):
            a = k_term[(s, term)]
            c = bg_term[(s, term)] - a
            tables[term].append((a, k_total[s] - a, c, bg_total[s] - k_total[s] - c))
    return tables


def check_against_statsmodels(row, tables):
    st = StratifiedTable(np.array([[[a, b], [c, d]] for a, b, c, d in tables], dtype=float).transpose(1, 2, 0))
    R = sum(a * d / (a + b + c + d) for a, b, c, d in tables)
    S = sum(b * c / (a + b + c + d) for a, b, c, d in tables)
    if R > 0 and S > 0:
        low, high = st.oddsratio_pooled_confint()
        assert (float(row["mh_ror"]), float(row["mh_ror025"]), float(row["mh_ror975"])) == pytest.approx((st.oddsratio_pooled, low, high), rel=1e-9), row["term"]
    else:
        assert row["mh_ror"] == "" and "MH ROR infinite" in row["mh_note"], row["term"]
    den = sum(c * (a + b) / (a + b + c + d) for a, b, c, d in tables)
    if den > 0:
        se = greenland_robins_se(tables)
        rr = st.riskratio_pooled
        assert (float(row["mh_prr"]), float(row["mh_prr025"]), float(row["mh_prr975"])) == pytest.approx((rr, rr * math.exp(-Z * se), rr * math.exp(Z * se)), rel=1e-9), row["term"]
    else:
        assert row["mh_prr"] == "" and "MH PRR infinite" in row["mh_note"], row["term"]
    assert int(row["mh_strata"]) == len(tables)


@pytest.fixture
def db(base_db, tmp_path):
    copy = tmp_path / "kratom.duckdb"
    shutil.copy(base_db, copy)
    return copy


@pytest.fixture(autouse=True)
def no_pacing(monkeypatch):
    monkeypatch.setattr("kratom_ae.ingest.openfda.Pacer.wait", lambda self: None)


def signals(db, *args, cassette="synthetic_signals_adjusted", code=0):
    with make_vcr("none").use_cassette(f"{cassette}.json", allow_playback_repeats=False):
        result = runner.invoke(app, ["signals", "--db", str(db), "--quiet", *map(str, args)])
    assert result.exit_code == code, result.output
    return result


def as_rows(result):
    return list(csv.DictReader(io.StringIO(result.stdout)))


@pytest.mark.parametrize("role", ["any", "suspect"])
def test_mh_estimates_match_an_independent_count_and_statsmodels(db, role, tmp_path):
    path = tmp_path / "s.csv"
    result = signals(db, "--adjusted", "--role", role, "--csv", path)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    faers, _ = synthetic.background_dataset()
    scoped = oracle.scope(oracle.all_reports(), source="faers", role=role)
    tables = expected_tables(faers, [r.raw for r in scoped])
    assert len(tables) > 20
    faers_rows = {r["term"]: r for r in rows if r["source"] == "faers"}
    for term, stratified in tables.items():
        check_against_statsmodels(faers_rows[term], stratified)
    few = [r for r in faers_rows.values() if int(r["a"]) < 3]
    assert all(r["mh_prr"] == "" and r["mh_note"] == "fewer than 3 kratom reports: no MH estimate" for r in few)
    assert {r["mh_note"] for r in rows if r["source"] == "caers"} == {"no strata for caers (FAERS only)"}
    # The crude columns stay as they are, and the MH ones sit beside them.
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[header.index("ror_ha975") + 1:header.index("ror_ha975") + 9] == ["mh_ror", "mh_ror025", "mh_ror975", "mh_prr", "mh_prr025", "mh_prr975", "mh_strata", "mh_note"]
    # Outside every stratum, counted independently: the footer and provenance say how many.
    outside = [r for r in scoped if stratum(r.raw) is None]
    no_sex = sum(1 for r in scoped if r.raw["patient"].get("patientsex") not in SEX)
    no_age = sum(1 for r in scoped if stratum({**r.raw, "patient": {**r.raw["patient"], "patientsex": "1"}, "receivedate": "20200101"}) is None)
    assert 0 < len(outside) < len(scoped)
    text = " ".join(result.stdout.split())
    assert f"{len(outside):,} of the {len(scoped):,} kratom reports in scope fall outside every stratum" in text
    assert f"(sex not male or female {no_sex:,}, onset age not in years within the bands {no_age:,}, no report date in the periods 0;" in text
    strata = json.loads((tmp_path / "s.csv.provenance.json").read_text())["signals"]["strata"]
    faers_outside = strata["outside_every_stratum"][0]
    assert (faers_outside["source"], faers_outside["kratom_reports_outside_strata"], faers_outside["kratom_reports_in_scope"]) == ("faers", len(outside), len(scoped))
    assert strata["strata"] == 50 and faers_outside["background_reports_in_strata"] == sum(1 for r in faers if stratum(r))


def test_cached_strata_send_no_request(db):
    signals(db, "--adjusted", "--format", "csv")
    again = signals(db, "--adjusted", "--source", "faers", cassette="empty_never_recorded")
    assert "0 requests to openFDA in this run" in again.stdout and "MH prr (95% CI)" in again.stdout
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*), sum(requests) FROM stratum_totals").fetchone() == (50, 100)
    con.close()


def report(report_id, sex, age, day, drugs, reactions):
    return {"safetyreportid": report_id, "safetyreportversion": "1", "receivedate": day, "receivedateformat": "102", "serious": "2",
            "patient": {"patientsex": sex, "patientonsetage": age, "patientonsetageunit": "801",
                        "drug": [{"medicinalproduct": d, "drugcharacterization": "1"} for d in drugs], "reaction": [{"reactionmeddrapt": t} for t in reactions]}}


def test_terms_missing_from_a_strata_list_are_counted_by_onset_age(tmp_path, monkeypatch):
    """count= lists at most 2 terms here, so NAUSEA and RASH fall out of a stratum's list and are
    counted with one count= of the onset age per sex and period; the estimates still equal the
    independent count."""
    monkeypatch.setattr("kratom_ae.ingest.background.STRATUM_TOP", 2)
    records = []
    for i in range(12):  # kratom: two sexes, ages in two bands, two periods
        records.append(report(str(100 + i), "1" if i % 3 else "2", str(20 + 4 * i), "2016%02d10" % (1 + i % 12) if i < 7 else "20220110",
                              ["KRATOM"], ["Nausea", "RASH"] if i % 2 else ["nausea", "Vomiting"]))
    for i in range(60):  # the other reports, with filler terms that push NAUSEA and RASH off the lists
        records.append(report(str(500 + i), "1" if i % 2 else "2", str(18 + i % 40) + (".5" if i % 7 == 0 else ""), "2016%02d15" % (1 + i % 12) if i % 3 else "20220301",
                              ["ASPIRIN"], ["FILLER A", "FILLER B", "FILLER C"] + (["NAUSEA"] if i % 4 == 0 else []) + (["Rash"] if i % 5 == 0 else [])))
    db = tmp_path / "k.duckdb"
    with FakeOpenFDA(records, []) as server:
        fetched = runner.invoke(app, ["fetch", "--db", str(db), "--source", "faers", "--quiet", "--requests-per-minute", "0", "--base-url", server.url])
        assert fetched.exit_code == 0, fetched.output
        result = runner.invoke(app, ["signals", "--db", str(db), "--quiet", "--format", "csv", "--adjusted", "--base-url", server.url])
    assert result.exit_code == 0, result.output
    rows = {r["term"]: r for r in as_rows(result)}
    tables = expected_tables(records, records[:12])
    assert set(tables) == {"NAUSEA", "RASH", "VOMITING"}
    for term, stratified in tables.items():
        check_against_statsmodels(rows[term], stratified)
    con = duckdb.connect(str(db), read_only=True)
    methods = dict(con.execute("SELECT method, count(*) FROM stratum_terms WHERE term IN ('NAUSEA', 'RASH') GROUP BY ALL").fetchall())
    con.close()
    assert methods.get("age count", 0) > 0


@pytest.mark.parametrize("extra,message", [
    (["--unit", "case"], "--adjusted stratifies reports against all of FAERS, so it takes neither --comparator nor --unit case"),
    (["--comparator", "tests/fixtures/terms_opioids.csv"], "--adjusted stratifies reports against all of FAERS, so it takes neither --comparator nor --unit case"),
])
def test_adjusted_refuses_what_it_cannot_stratify(db, extra, message):
    result = runner.invoke(app, ["signals", "--db", str(db), "--adjusted", *extra])
    assert result.exit_code == 1 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_adjusted_with_counts_is_refused(tmp_path):
    counts = tmp_path / "c.csv"
    counts.write_text("term,a,b,c,d\nX,1,2,3,4\n", encoding="utf-8")
    result = runner.invoke(app, ["signals", "--counts", str(counts), "--adjusted"])
    assert result.exit_code == 1 and result.stderr.strip() == "Error: --counts takes its 2x2 tables from your file as they are, so --adjusted cannot apply; leave it out."


def test_json_carries_the_mh_columns(db):
    rows = json.loads(signals(db, "--adjusted", "--source", "faers", "--format", "json").stdout)
    dependence = next(r for r in rows if r["term"] == "DRUG DEPENDENCE")
    assert dependence["mh_strata"] == 50 and dependence["mh_prr025"] < dependence["mh_prr"] < dependence["mh_prr975"]
    assert dependence["mh_note"] == ""
