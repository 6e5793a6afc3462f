"""Every summary table against the independent count in tests/oracle.py, for several filter
combinations, through the command line (terminal, CSV and export)."""

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import oracle
from cli.main import app

runner = CliRunner()
COMBOS = {
    "everything": ([], {}),
    "faers suspect 2018-2023": (["--source", "faers", "--role", "suspect", "--since", "2018-01-01", "--until", "2023-12-31"], {"source": "faers", "role": "suspect", "since": dt.date(2018, 1, 1), "until": dt.date(2023, 12, 31)}),
    "serious caers": (["--source", "caers", "--serious"], {"source": "caers", "serious": True}),
    "serious, since 2020": (["--serious", "--since", "2020-01-01"], {"serious": True, "since": dt.date(2020, 1, 1)}),
}


@pytest.fixture
def fetched(fetched_db):
    return fetched_db


@pytest.fixture(scope="module")
def reports():
    return oracle.all_reports()


def table(db, name, args, *extra):
    result = runner.invoke(app, ["query", name, "--db", str(db), "--format", "csv", *args, *extra])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def num(value):
    return None if value == "" else float(value)


@pytest.mark.parametrize("combo", COMBOS)
def test_reactions(fetched, reports, combo):
    args, filters = COMBOS[combo]
    scoped = oracle.scope(reports, **filters)
    rows = table(fetched, "reactions", args)
    got = {r["reaction_pt"]: (int(r["reports"]), num(r["pct_of_kratom_reports"]), int(r["serious_reports"]), int(r["fatal_reports"])) for r in rows}
    assert got == oracle.reactions(scoped)
    assert [r["reaction_pt"] for r in rows] == sorted(got, key=lambda t: (-got[t][0], t))


def test_reactions_top(fetched, reports):
    rows = table(fetched, "reactions", ["--top", "3"])
    want = sorted(oracle.reactions(oracle.scope(reports)).items(), key=lambda kv: (-kv[1][0], kv[0]))[:3]
    assert [(r["reaction_pt"], int(r["reports"])) for r in rows] == [(t, v[0]) for t, v in want]


@pytest.mark.parametrize("combo", COMBOS)
def test_skin(fetched, reports, combo):
    args, filters = COMBOS[combo]
    scoped = oracle.scope(reports, **filters)
    with_skin, with_pigment, per_term = oracle.skin(scoped)
    rows = table(fetched, "skin", args)
    assert (rows[0]["reaction_pt"], int(rows[0]["reports"])) == ("(any skin term)", with_skin)
    assert (rows[1]["reaction_pt"], int(rows[1]["reports"])) == ("(any pigmentation term)", with_pigment)
    assert {r["reaction_pt"]: int(r["reports"]) for r in rows[2:]} == per_term
    terms = oracle.skin_terms()
    assert all((r["is_pigmentation"] == "True") == terms[r["reaction_pt"]] for r in rows[2:])
    assert {r["skin_basis"] for r in rows} == {"curated list"}
    # Skin-looking terms that MedDRA files elsewhere are not counted as skin.
    assert not {"INJECTION SITE RASH", "CELLULITIS"} & {r["reaction_pt"] for r in rows}


@pytest.mark.parametrize("combo", COMBOS)
def test_trend(fetched, reports, combo):
    args, filters = COMBOS[combo]
    rows = table(fetched, "trend", args)
    got = {(int(r["received_year"]), r["source"]): (int(r["reports"]), int(r["skin_reports"])) for r in rows}
    assert got == oracle.trend(oracle.scope(reports, **filters))


@pytest.mark.parametrize("combo", COMBOS)
def test_demographics(fetched, reports, combo):
    args, filters = COMBOS[combo]
    scoped = oracle.scope(reports, **filters)
    rows = table(fetched, "demographics", args)
    assert {(r["characteristic"], r["category"]): int(r["reports"]) for r in rows} == oracle.demographics(scoped)
    for characteristic in ("sex", "age group", "reporter qualification", "country"):
        assert sum(int(r["reports"]) for r in rows if r["characteristic"] == characteristic) == len(scoped)


@pytest.mark.parametrize("combo", COMBOS)
def test_outcomes(fetched, reports, combo):
    args, filters = COMBOS[combo]
    rows = table(fetched, "outcomes", args)
    got = {(r["source"], r["kind"], r["outcome"]): int(r["reports"]) for r in rows}
    want = oracle.outcomes(oracle.scope(reports, **filters))
    assert got == {k: v for k, v in want.items() if k[1] != "seriousness criterion" or k in got}
    assert all(got[k] == v for k, v in want.items() if k[1] == "seriousness criterion")


@pytest.mark.parametrize("combo", COMBOS)
def test_drugs(fetched, reports, combo):
    args, filters = COMBOS[combo]
    rows = table(fetched, "drugs", args)
    assert {r["product"]: (int(r["reports"]), int(r["as_suspect_reports"])) for r in rows} == oracle.drugs(oracle.scope(reports, **filters))
    assert "MIRTAZAPINE" in {r["product"] for r in table(fetched, "drugs", [])}


@pytest.mark.parametrize("combo", COMBOS)
def test_summary(fetched, reports, combo):
    args, filters = COMBOS[combo]
    rows = table(fetched, "summary", args)
    want = oracle.summary(oracle.scope(reports, **filters))
    by_measure = {r["measure"]: r for r in rows if r["section"] != "top reactions"}
    for measure, value in want.items():
        if measure == "top reactions":
            assert [(r["measure"], int(r["reports"])) for r in rows if r["section"] == "top reactions"] == value
        elif measure.endswith("(years)"):
            assert num(by_measure[measure]["value"]) == value, measure
        else:
            assert int(by_measure[measure]["reports"]) == value, measure
    assert sum(int(r["reports"]) for r in rows if r["section"] == "age group") == want["kratom reports"]


def test_export_writes_every_table_with_provenance(fetched, reports, tmp_path):
    args, filters = COMBOS["faers suspect 2018-2023"]
    out = tmp_path / "results"
    result = runner.invoke(app, ["export", str(out), "--db", str(fetched), *args, "--top", "5"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["cases.csv", "demographics.csv", "drugs.csv", "outcomes.csv", "provenance.json", "reactions.csv", "skin.csv", "summary.csv", "trend.csv"]
    scoped = oracle.scope(reports, **filters)
    with (out / "reactions.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    want = sorted(oracle.reactions(scoped).items(), key=lambda kv: (-kv[1][0], kv[0]))[:5]
    assert [(r["reaction_pt"], int(r["reports"])) for r in rows] == [(t, v[0]) for t, v in want]
    with (out / "trend.csv").open(encoding="utf-8", newline="") as f:
        assert {(int(r["received_year"]), r["source"]): (int(r["reports"]), int(r["skin_reports"])) for r in csv.DictReader(f)} == oracle.trend(scoped)
    with (out / "skin.csv").open(encoding="utf-8", newline="") as f:
        first = next(csv.DictReader(f))
    assert int(first["reports"]) == oracle.skin(scoped)[0]
    header = (out / "summary.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "section,measure,reports,value,detail,pct_of_kratom_reports"
    provenance = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert provenance["filters"] == {"source": "faers", "since": "2018-01-01", "until": "2023-12-31", "role": "suspect", "serious_only": False, "top": 5, "unit": "report"}
    assert [s["source"] for s in provenance["sources"]] == ["caers", "faers"]
    faers_prov = provenance["sources"][1]
    assert faers_prov["openfda_last_updated"] == ["2026-11-18"] and faers_prov["base_url"] == "https://api.fda.gov"
    assert {q["term"] for q in faers_prov["queries"]} >= {"KRATOM", "MITRAGYN"}
    assert any("latest version" in rule for rule in provenance["counting_rules"])
    assert provenance["tables"]["trend"]["filters_applied"] == ["source", "since", "until", "role"]
    assert "top" in provenance["tables"]["reactions"]["filters_applied"]
    assert provenance["tool_version"] and provenance["meddra"] is None


def test_csv_file_and_its_provenance(fetched, tmp_path):
    path = tmp_path / "skin.csv"
    result = runner.invoke(app, ["query", "skin", "--db", str(fetched), "--csv", str(path)])
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8").startswith("reaction_pt,is_pigmentation,reports,")
    assert json.loads(Path(f"{path}.provenance.json").read_text())["tables"]["skin"]["row"].startswith("one skin term")
    assert "reaction pt" in result.stdout and "PRURITUS" in result.stdout  # the terminal table is printed too


def test_json_output(fetched, reports):
    result = runner.invoke(app, ["query", "trend", "--db", str(fetched), "--format", "json", "--source", "caers"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert sum(r["reports"] for r in rows) == len(oracle.scope(reports, source="caers"))


def test_formula_cells_are_neutralised_in_csv(fetched):
    result = runner.invoke(app, ["sql", "SELECT DISTINCT product_name FROM products WHERE product_name LIKE '=%'", "--db", str(fetched), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["product_name", "\"'=HYPERLINK(\"\"X\"\") TEA\""]


def test_neutralise_rules():
    from queries.export import csv_text
    import pandas as pd

    frame = pd.DataFrame({"name": ["=1+1", "+CMD", "-2", "@SUM(A1)", "KRATOM", None], "n": [-1, 2, 3, 4, 5, 6]})
    assert csv_text(frame).splitlines() == ["name,n", "'=1+1,-1", "'+CMD,2", "'-2,3", "'@SUM(A1),4", "KRATOM,5", ",6"]


def test_terminal_table_says_what_it_counts(fetched):
    result = runner.invoke(app, ["query", "reactions", "--db", str(fetched), "--top", "2", "--source", "faers"])
    assert result.exit_code == 0, result.output
    assert "Counts: reports (latest version) in scope naming the term" in result.stdout
    assert "Filters: source=faers, role=any, top=2" in result.stdout


def test_list_of_tables(fetched):
    result = runner.invoke(app, ["query", "--db", str(fetched)])
    assert result.exit_code == 0
    for name in ["summary", "reactions", "skin", "trend", "demographics", "outcomes", "drugs"]:
        assert name in result.stdout


def test_users_own_query(fetched, tmp_path):
    (tmp_path / "sexes.sql").write_text(
        "-- name: sexes\n-- description: Reports per sex.\n-- row: one sex\n-- counts: reports in scope\n-- parameters: source\n"
        "SELECT coalesce(sex, 'not reported') AS sex, count(*) AS reports FROM scope_reports GROUP BY ALL ORDER BY ALL;\n"
    )
    result = runner.invoke(app, ["query", "sexes", "--db", str(fetched), "--queries-dir", str(tmp_path), "--source", "caers", "--format", "csv"])
    assert result.exit_code == 0, result.output
    caers = oracle.scope(oracle.all_reports(), source="caers")
    assert sum(int(r["reports"]) for r in csv.DictReader(io.StringIO(result.stdout))) == len(caers)


def test_sql_is_read_only(fetched, tmp_path):
    count = runner.invoke(app, ["sql", "SELECT count(*) AS n FROM scope_reports", "--db", str(fetched), "--format", "csv"])
    assert count.stdout.splitlines() == ["n", str(len(oracle.scope(oracle.all_reports())))]
    for statement in ["DELETE FROM reports", f"COPY reports TO '{tmp_path / 'x.csv'}'", "CREATE TABLE x AS SELECT 1"]:
        result = runner.invoke(app, ["sql", statement, "--db", str(fetched)])
        assert result.exit_code == 1, statement
        assert result.stderr.startswith("Error: The query failed:")
        assert "Traceback" not in result.output
    assert not (tmp_path / "x.csv").exists()
    assert runner.invoke(app, ["sql", "SELECT count(*) FROM reports", "--db", str(fetched), "--format", "csv"]).stdout.splitlines()[1] == "2322"  # 4 look-alike reports too
