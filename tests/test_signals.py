"""Disproportionality: the statistics against hand-computed values, the 2x2 tables against an
independent count, the cached background, rate limits, and the signals command."""

import csv
import io
import json
import math
import shutil
from collections import Counter

import duckdb
import pytest
from typer.testing import CliRunner

import oracle
import synthetic
from kratom_ae.cli.main import app
from fake_openfda import FakeOpenFDA, real_error
from kratom_ae.ingest import background, sqlfiles
from kratom_ae.ingest.openfda import OpenFDAClient, Pacer
from kratom_ae.queries.disproportionality import statistics
from test_meddra import base_db  # noqa: F401 (a fetched database, shared)
from vcr_setup import make_vcr

runner = CliRunner()


# ---- the statistics, by hand from the published formulas ----------------------------------
# Each expected value below was worked out step by step (shown) from Evans et al. 2001 (PRR,
# chi-squared with Yates), Rothman et al. 2004 (ROR and its CI) and Noren et al. 2013 (IC).

def test_table_1_typical_signal():
    s = statistics(20, 180, 1000, 98800)  # N = 100,000
    # PRR = (20/200)/(1000/99800) = 0.1/0.01002004 = 9.98
    assert s.prr == pytest.approx(9.98, rel=1e-9)
    # s = sqrt(1/20 - 1/200 + 1/1000 - 1/99800) = sqrt(0.04598998) = 0.2144527; ln 9.98 = 2.3005831
    assert (s.prr025, s.prr975) == (pytest.approx(6.5552, abs=1e-4), pytest.approx(15.1940, abs=1e-4))
    # ROR = 20*98800/(180*1000) = 10.977778; s = sqrt(1/20+1/180+1/1000+1/98800) = 0.2378358
    assert s.ror == pytest.approx(10.977778, rel=1e-6)
    assert (s.ror025, s.ror975) == (pytest.approx(6.8876, abs=1e-4), pytest.approx(17.4969, abs=1e-4))
    # chi2 = 100000 (|1976000 - 180000| - 50000)^2 / (200*99800*1020*98980) = 151.2796
    assert s.chi2_yates == pytest.approx(151.2796, abs=1e-4)
    # E = 200*1020/100000 = 2.04; IC = log2(20.5/2.54) = 3.01272; IC025 = IC - 3.3/sqrt(20.5) - 2/20.5^1.5 = 2.26233
    assert (s.expected, s.ic, s.ic025) == (pytest.approx(2.04), pytest.approx(3.01272, abs=1e-5), pytest.approx(2.26233, abs=1e-5))
    assert (s.signal_evans, s.signal_ror, s.signal_ic, s.note) == (True, True, True, "")


def test_table_2_rare_term_in_a_large_database():
    s = statistics(3, 997, 50, 998950)  # N = 1,000,000
    # PRR = (3/1000)/(50/999000) = 59.94
    assert s.prr == pytest.approx(59.94, rel=1e-9)
    # chi2 = 1e6 (|2996850 - 49850| - 500000)^2 / (1000*999000*53*999947) = 113.0966
    assert s.chi2_yates == pytest.approx(113.0966, abs=1e-4)
    # ROR = 3*998950/(997*50) = 60.117352; s = sqrt(1/3+1/997+1/50+1/998950) = 0.5954
    assert s.ror == pytest.approx(60.117352, rel=1e-6)
    assert s.ror025 == pytest.approx(math.exp(math.log(60.117352) - 1.959964 * math.sqrt(1 / 3 + 1 / 997 + 1 / 50 + 1 / 998950)), rel=1e-5)
    # E = 1000*53/1e6 = 0.053; IC = log2(3.5/0.553) = 2.66200; IC025 = 2.66200 - 3.3/sqrt(3.5) - 2/3.5^1.5 = 0.59264
    assert (s.ic, s.ic025) == (pytest.approx(2.66200, abs=1e-5), pytest.approx(0.59264, abs=1e-5))
    assert (s.signal_evans, s.signal_ror, s.signal_ic) == (True, True, True)


def test_table_3_tiny_a():
    s = statistics(1, 10, 3, 5000)
    # PRR = (1/11)/(3/5003) = 151.60606; a = 1 < 3, so no Evans or ROR flag whatever the values
    assert s.prr == pytest.approx(151.60606, rel=1e-6)
    # chi2 = 5014 (|5000 - 30| - 2507)^2 / (11*5003*4*5010) = 27.5799
    assert s.chi2_yates == pytest.approx(27.5799, abs=1e-4)
    # E = 11*4/5014 = 0.0087754; IC = log2(1.5/0.5087754) = 1.55986; IC025 = 1.55986 - 3.3/sqrt(1.5) - 2/1.5^1.5 = -2.22324
    assert (s.ic, s.ic025) == (pytest.approx(1.55986, abs=1e-5), pytest.approx(-2.22324, abs=1e-5))
    assert (s.signal_evans, s.signal_ror, s.signal_ic) == (False, False, False)


def test_table_4_a_is_zero():
    s = statistics(0, 100, 10, 9890)
    assert (s.prr, s.prr025, s.prr975, s.ror, s.ror025, s.ror975) == (0.0, None, None, 0.0, None, None)
    # |0 - 1000| - 5000 < 0, so Yates' corrected chi2 is 0; E = 100*10/10000 = 0.1, IC = log2(0.5/0.6) = -0.26303
    assert s.chi2_yates == 0.0
    assert s.ic == pytest.approx(-0.263034, abs=1e-6)
    assert s.note == "a=0: PRR is 0, its CI undefined; a=0: ROR is 0, its CI undefined"
    assert not (s.signal_evans or s.signal_ror or s.signal_ic)


def test_table_5_zero_background_and_zero_b():
    s = statistics(5, 0, 0, 100)
    assert (s.prr, s.ror, s.prr025, s.ror025) == (None, None, None, None)  # infinite: said, not printed
    assert "c=0 (no other report names the term): PRR and ROR infinite; Haldane-Anscombe estimates given" in s.note
    assert "b=0 (every kratom report names the term): ROR infinite; Haldane-Anscombe estimates given" in s.note
    # Haldane-Anscombe, 0.5 in every cell: (5.5, 0.5, 0.5, 100.5). PRR = (5.5/6)/(0.5/101) = 185.1667;
    # s = sqrt(1/5.5 - 1/6 + 1/0.5 - 1/101) = 1.416070, so PRR025 = 185.1667 exp(-1.959964 s) = 11.5399.
    assert (s.prr_ha, s.prr_ha025) == (pytest.approx(185.166667, rel=1e-6), pytest.approx(11.5399, abs=1e-4))
    # ROR = 5.5*100.5/(0.5*0.5) = 2211; s = sqrt(1/5.5 + 2 + 2 + 1/100.5) = 2.047381, ROR025 = 39.9811
    assert (s.ror_ha, s.ror_ha025) == (pytest.approx(2211.0), pytest.approx(39.9811, abs=1e-4))
    # chi2 = 105 (|500 - 0| - 52.5)^2 / (5*100*5*100) = 84.1076; E = 5*5/105; IC025 stays defined
    assert s.chi2_yates == pytest.approx(84.107625)
    assert s.ic025 == pytest.approx(math.log2(5.5 / (25 / 105 + 0.5)) - 3.3 / math.sqrt(5.5) - 2 / 5.5**1.5)
    # Fisher: the margins 5 and 5 of N = 105 allow X = 5 with P = 1/C(105,5) = 1/96,560,646; mid-p is half of it.
    assert s.fisher_midp == pytest.approx(0.5 / 96_560_646, rel=1e-9)
    # Evans reads the infinite PRR as >= 2; the ROR flag reads ROR_HA025 = 39.98 > 1.
    assert (s.signal_evans, s.signal_ror, s.signal_ic) == (True, True, True)


def test_no_other_report_names_the_term_and_a_is_3_is_decided():
    """c = 0, a >= 3: never left without a decision (issue 19). a = 3 of 1,000 kratom reports, and
    none of 998,950 others: HA table (3.5, 997.5, 0.5, 998950.5)."""
    s = statistics(3, 997, 0, 998950)
    assert (s.prr, s.ror) == (None, None)
    # PRR_HA = (3.5/1001)/(0.5/998951) = 6985.6713; s = sqrt(1/3.5 - 1/1001 + 2 - 1/998951) = 1.511527
    assert s.prr_ha == pytest.approx(6985.671329, rel=1e-9)
    assert s.prr_ha025 == pytest.approx(6985.671329 * math.exp(-1.959964 * 1.511527), rel=1e-5)
    assert s.ror_ha == pytest.approx(3.5 * 998950.5 / (997.5 * 0.5), rel=1e-12)
    assert (s.signal_evans, s.signal_ror) == (True, True)
    # Fisher's mid-p is checked against SciPy in tests/test_reference.py; here only its order
    assert 0 < s.fisher_midp < 1e-8
    # A tiny background (d = 10): PRR is still infinite, but Yates' chi2 is 0 (|3*10 - 0| < N/2), so
    # Evans does not flag, and the corrected ROR025 (0.0036) is below 1: decided, for stated reasons.
    small = statistics(3, 1000, 0, 10)
    assert small.chi2_yates == 0.0 and small.ror_ha025 == pytest.approx(0.003567, abs=1e-6)
    assert (small.signal_evans, small.signal_ror) == (False, False)


def test_no_infinity_or_nan_anywhere():
    for table in [(0, 0, 0, 0), (0, 5, 0, 5), (3, 0, 3, 0), (7, 3, 0, 0), (1, 1, 1, 1), (5, 0, 0, 100), (359, 20000, 0, 19_999_000)]:
        values = [v for v in statistics(*table).as_dict().values() if isinstance(v, float)]
        assert all(math.isfinite(v) for v in values), table


def test_bad_cells_are_refused():
    with pytest.raises(ValueError, match="c must be a whole number of reports"):
        statistics(1, 2, -3, 4)


# ---- the background and the signals command -----------------------------------------------

@pytest.fixture
def db(base_db, tmp_path):
    copy = tmp_path / "kratom.duckdb"
    shutil.copy(base_db, copy)
    return copy


def signals(db, *args, cassette="synthetic_signals_background"):
    with make_vcr("none").use_cassette(f"{cassette}.json", allow_playback_repeats=False):
        result = runner.invoke(app, ["signals", "--db", str(db), *map(str, args)])
    assert result.exit_code == 0, result.output
    return result


def as_rows(result):
    return list(csv.DictReader(io.StringIO(result.stdout)))


def background_counts():
    """What openFDA (the fake one that recorded the cassette) counts, in plain Python, per term
    in any spelling (openFDA's .exact fields are upper case, so its counts are by term too)."""
    faers, caers = synthetic.background_dataset()
    counted = {}
    for source, records, terms_of in [
        ("faers", faers, lambda r: {oracle.term(x["reactionmeddrapt"]) for x in r["patient"]["reaction"]}),
        ("caers", caers, lambda r: {oracle.term(t) for t in r["reactions"]}),
    ]:
        counted[source] = (len(records), Counter(t for r in records for t in terms_of(r)))
    return counted


def test_two_by_two_tables_match_an_independent_count(db, no_pacing):
    result = signals(db, "--format", "csv", "--sort", "reports")
    rows = as_rows(result)
    bg = background_counts()
    reports = oracle.all_reports()
    assert {(r["source"], r["term"]) for r in rows} == {(r.source, t) for r in oracle.scope(reports) for t in r.reactions}
    for source in ("faers", "caers"):
        scoped = oracle.scope(reports, source=source)
        a = Counter(t for r in scoped for t in r.reactions)
        total, per_term = bg[source]
        for row in (r for r in rows if r["source"] == source):
            term = row["term"]
            want = (a[term], len(scoped) - a[term], per_term[term] - a[term], total - len(scoped) - (per_term[term] - a[term]))
            assert tuple(int(row[k]) for k in "abcd") == want, term
    crohn = next(r for r in rows if r["term"] == "CROHN'S DISEASE")
    assert crohn["background_method"] == "search"
    assert next(r for r in rows if r["term"] == "NAUSEA" and r["source"] == "faers")["background_method"] == "count"


def test_statistics_columns_are_the_pure_function(db, no_pacing):
    rows = as_rows(signals(db, "--format", "csv", "--source", "faers"))
    row = next(r for r in rows if r["term"] == "DRUG DEPENDENCE")
    s = statistics(*(int(row[k]) for k in "abcd"))
    assert float(row["prr"]) == pytest.approx(s.prr) and float(row["ror025"]) == pytest.approx(s.ror025)
    assert float(row["ic025"]) == pytest.approx(s.ic025) and float(row["chi2_yates"]) == pytest.approx(s.chi2_yates)
    assert row["signal_evans"] == str(s.signal_evans).lower()
    prrs = [float(r["prr"]) for r in rows if r["prr"]]
    assert prrs == sorted(prrs, reverse=True)  # --sort prr is the default


def test_one_source_names_only_its_own_background(db, no_pacing, tmp_path):
    """Both backgrounds are cached; a table of CAERS says, and cites, CAERS's alone."""
    both = signals(db).stdout
    assert "Background caers: " in both and "Background faers: " in both
    shown = signals(db, "--source", "caers", "--csv", tmp_path / "s.csv").stdout
    assert "Background caers: " in shown and "Background faers" not in shown
    provenance = json.loads((tmp_path / "s.csv.provenance.json").read_text())
    assert [b["source"] for b in provenance["signals"]["background"]] == ["caers"]


def test_min_reports_lists_but_does_not_flag(db, no_pacing):
    rows = as_rows(signals(db, "--format", "csv", "--source", "caers", "--min-reports", "40"))
    few = [r for r in rows if int(r["a"]) < 40]
    assert few and all(r["signal_evans"] == r["signal_ror"] == r["signal_ic"] == "false" for r in few)
    assert all(r["note"].startswith("fewer than 40 reports: not flagged") for r in few)


def test_second_run_uses_the_cache(db, no_pacing, tmp_path):
    signals(db, "--format", "csv")
    # An empty cassette in "none" mode fails on any request: the run must send none.
    result = signals(db, cassette="empty_never_recorded")
    assert "0 requests to openFDA in this run" in result.stdout
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT list(requests ORDER BY source) FROM background_totals").fetchone()[0] == [2, 8]
    con.close()


def test_refresh_asks_again(db, no_pacing):
    signals(db, "--format", "csv")
    result = signals(db, "--refresh")
    assert "10 requests to openFDA in this run" in result.stdout


def test_different_releases_are_pointed_out(db, no_pacing, tmp_path):
    signals(db, "--format", "csv")
    con = duckdb.connect(str(db))
    con.execute("UPDATE background_totals SET last_updated = '2026-12-01'")
    con.close()
    result = signals(db, "--source", "faers", cassette="empty_never_recorded")
    assert "Warning: faers: the kratom reports come from openFDA's release of 2026-11-18 but the background from 2026-12-01" in result.stderr


def test_csv_and_provenance(db, no_pacing, tmp_path):
    path = tmp_path / "signals.csv"
    result = signals(db, "--csv", path, "--role", "suspect")
    assert "hypothesis-generating" in result.stdout and "kratom in role: suspect" in result.stdout
    faers, caers = (len(oracle.scope(oracle.all_reports(), source=s, role="suspect")) for s in ("faers", "caers"))
    assert f"Kratom reports in scope (a + b): caers {caers:,}, faers {faers:,}.\n" in result.stdout
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header == (
        "source,term,a,b,c,d,ab_unit,cd_unit,background,kratom_reports_naming_term,kratom_reports_in_scope,"
        "kratom_reports_in_background_naming_term,kratom_reports_in_background,background_term_reports,background_total_reports,background_method,prr,prr025,prr975,ror,ror025,ror975,prr_ha,prr_ha025,prr_ha975,ror_ha,ror_ha025,ror_ha975,"
        "chi2_yates,expected,ic,ic025,fisher_midp,fisher_q,signal_evans,signal_ror,signal_ic,signal_fisher,flags,note"
    )
    provenance = json.loads((tmp_path / "signals.csv.provenance.json").read_text())
    assert provenance["signals"]["role_basis"] == "suspect"
    assert provenance["kratom_reports_in_scope"] == faers + caers and "kratom_cases_in_scope" not in provenance
    assert provenance["signals"]["background_requests_this_run"] == 10
    assert {b["source"]: b["background_last_updated"] for b in provenance["signals"]["background"]} == {"caers": "2026-11-18", "faers": "2026-11-18"}
    assert "hypothesis-generating" in provenance["signals"]["caution"]


def test_counts_file(tmp_path):
    path = tmp_path / "faers_quarterly.csv"
    path.write_text("term,a,b,c,d\nHEPATOTOXICITY,20,180,1000,98800\nCROHN^S DISEASE,0,100,10,9890\n", encoding="utf-8")
    result = runner.invoke(app, ["signals", "--counts", str(path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = as_rows(result)
    assert [r["term"] for r in rows] == ["HEPATOTOXICITY", "CROHN^S DISEASE"]
    assert float(rows[0]["prr"]) == pytest.approx(9.98) and rows[0]["signal_evans"] == "true"
    assert rows[1]["ror025"] == "" and "a=0" in rows[1]["note"]


@pytest.mark.parametrize(
    "content,message",
    [
        ("term,a,b\nX,1,2\n", "lacks the column(s) c, d; it needs term,a,b,c,d."),
        ("term,a,b,c,d\nX,1,2,-3,4\n", "line 2: c must be a whole number of reports, not '-3'."),
        ("term,a,b,c,d\nX,1,2,3,4.5\n", "line 2: d must be a whole number of reports, not '4.5'."),
    ],
)
def test_bad_counts_files(tmp_path, content, message):
    path = tmp_path / "c.csv"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["signals", "--counts", str(path)])
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.output


def test_missing_counts_file(tmp_path):
    result = runner.invoke(app, ["signals", "--counts", str(tmp_path / "none.csv")])
    assert result.exit_code == 1 and result.stderr.strip() == f"Error: Cannot read the counts file {tmp_path / 'none.csv'}: there is no such file."


def test_signals_without_data(tmp_path):
    result = runner.invoke(app, ["signals", "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 1 and "run `kratom-ae fetch` first" in result.stderr
    assert not (tmp_path / "x.duckdb").exists()


# ---- rate limits ----------------------------------------------------------------------------

class RecordingPacer(Pacer):
    """The real pacer on a fake clock, remembering when each request left."""

    def __init__(self):
        self.now = 0.0
        super().__init__(clock=lambda: self.now, sleep=self.advance)
        self.sent = []

    def advance(self, seconds):
        self.now += seconds

    def wait(self):
        super().wait()
        self.sent.append(self.now)


def test_500_background_terms_stay_within_240_a_minute_and_survive_429():
    terms = [f"RARE TERM {i:03d}" for i in range(500)]
    records = [{"safetyreportid": str(i), "patient": {"reaction": [{"reactionmeddrapt": t}]}, "receivedate": "20200101"} for i, t in enumerate(terms)]
    con = duckdb.connect(":memory:")
    con.execute(sqlfiles.sql("schema"))
    pacer = RecordingPacer()
    with FakeOpenFDA(records) as server:
        server.faults = [("sleep", 0.0)] * 100 + [real_error("error-429_OVER_RATE_LIMIT_animalandveterinary-event_FDA-openfda-issue111.json", 429, {"Retry-After": "2"})]
        client = OpenFDAClient(server.url, pacer=pacer, sleep=pacer.advance)
        background.search_terms(con, client, "faers", "drug/event", terms, None)
    assert client.requests_sent == 501
    assert con.execute("SELECT count(*), sum(reports) FROM background_terms").fetchone() == (500, 500)
    sent = pacer.sent
    assert all(later - earlier >= 0.25 - 1e-9 for earlier, later in zip(sent, sent[1:]))  # no bursts
    assert all(sent[i + 240] - sent[i] >= 60 - 1e-9 for i in range(len(sent) - 240))  # never 241 in a minute
    assert sent[101] - sent[100] == pytest.approx(2.0)  # Retry-After honoured


@pytest.fixture
def no_pacing(monkeypatch):
    monkeypatch.setattr("kratom_ae.ingest.openfda.Pacer.wait", lambda self: None)


def test_no_term_with_c_zero_and_a_3_is_left_undecided(db, no_pacing):
    """Issue 19: 15 FAERS terms of the fixture are named by no other report (c = 0). Each has its
    crude PRR and ROR empty (infinite, said in the note), the Haldane-Anscombe estimates beside,
    and a decision by every rule; all of these are flagged by all four."""
    rows = as_rows(signals(db, "--format", "csv", "--source", "faers"))
    zero = [r for r in rows if r["c"] == "0" and int(r["a"]) >= 3]
    assert len(zero) == 15
    for row in zero:
        assert (row["prr"], row["ror"]) == ("", "") and "PRR and ROR infinite" in row["note"]
        s = statistics(*(int(row[k]) for k in "abcd"))
        assert float(row["prr_ha"]) == pytest.approx(s.prr_ha) and float(row["ror_ha025"]) == pytest.approx(s.ror_ha025)
        assert row["signal_evans"] == str(s.chi2_yates >= 4).lower() and row["signal_ror"] == str(s.ror_ha025 > 1).lower()
        assert row["flags"] == "Fisher, Evans, ROR, IC", row["term"]
    # Sorted by PRR, an infinite PRR comes first: the c = 0 terms head the table.
    assert [r["c"] for r in rows[: len(zero)]] == ["0"] * len(zero)


def test_fisher_q_values_are_over_every_term_of_the_run(db, no_pacing):
    rows = as_rows(signals(db, "--format", "csv"))
    from kratom_ae.queries.signals import bh_qvalues

    p = [float(r["fisher_midp"]) for r in rows]
    assert [float(r["fisher_q"]) for r in rows] == pytest.approx(bh_qvalues(p), rel=1e-12)
    for row in rows:
        fired = {"Fisher": float(row["fisher_q"]) <= 0.05 and int(row["a"]) >= 3, "Evans": row["signal_evans"] == "true",
                 "ROR": row["signal_ror"] == "true", "IC": row["signal_ic"] == "true"}
        assert row["flags"] == ", ".join(name for name, on in fired.items() if on), row["term"]
        assert row["signal_fisher"] == str(fired["Fisher"]).lower()
    few = [r for r in rows if int(r["a"]) < 3]
    assert few and all(r["flags"] == "" for r in few)


def test_statistics_columns_are_numbers_even_when_all_are_empty():
    """No table of this file has a zero cell, so every Haldane-Anscombe value is empty: the columns
    are still DOUBLE for DuckDB and Parquet (an all-None column was typed NULL)."""
    import pandas as pd

    from kratom_ae.queries.signals import add_statistics

    frame = pd.DataFrame({"term": ["X", "Y"], **{k: pd.array(v, dtype="Int64") for k, v in zip("abcd", ([20, 3], [180, 97], [1000, 50], [98800, 9850]))}})
    types = dict(zip(add_statistics(frame, 3).columns, duckdb.connect().from_df(add_statistics(frame, 3)).types))
    assert {str(types[c]) for c in ("prr_ha", "ror_ha025", "fisher_q", "prr")} == {"DOUBLE"}
