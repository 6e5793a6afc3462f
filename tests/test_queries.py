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
from kratom_ae.cli.main import app

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
    hyper = {t for t, k in oracle.pigmentation_kinds().items() if k == "hyper"}
    assert (rows[2]["reaction_pt"], int(rows[2]["reports"]), rows[2]["pigmentation"]) == ("(any hyperpigmentation term)", sum(bool(r.reactions & hyper) for r in scoped), "hyper")
    assert 0 < int(rows[2]["reports"]) < with_pigment or "caers" in args
    assert {r["reaction_pt"]: int(r["reports"]) for r in rows[3:]} == per_term
    terms = oracle.skin_terms()
    assert all((r["is_pigmentation"] == "true") == terms[r["reaction_pt"]] for r in rows[3:])
    assert {r["skin_basis"] for r in rows} == {"curated list"}
    # Skin-looking terms that MedDRA files elsewhere are not counted as skin.
    assert not {"INJECTION SITE RASH", "CELLULITIS"} & {r["reaction_pt"] for r in rows}


@pytest.mark.parametrize("combo", COMBOS)
def test_trend(fetched, reports, combo):
    args, filters = COMBOS[combo]
    rows = table(fetched, "trend", args)
    got = {(int(r["received_year"]), r["source"]): (int(r["reports"]), int(r["skin_reports"])) for r in rows}
    assert got == oracle.trend(oracle.scope(reports, **filters))
    pigmentation = {(int(r["received_year"]), r["source"]): int(r["pigmentation_reports"]) for r in rows}
    assert pigmentation == oracle.trend_pigmentation(oracle.scope(reports, **filters))
    assert sum(pigmentation.values()) > 0 or "caers" in args


@pytest.fixture(scope="module")
def records():
    return oracle.latest_records()


@pytest.mark.parametrize("combo", COMBOS)
def test_skin_outcomes(fetched, reports, records, combo):
    args, filters = COMBOS[combo]
    scoped = oracle.scope(reports, **filters)
    rows = table(fetched, "skin_outcomes", args)
    got = {(r["reaction_pt"], r["outcome"]): (int(r["reports"]), int(r["reports_only_this_outcome"]), int(r["term_reports"]), int(r["reports_several_outcomes"]))
           for r in rows}
    assert got == oracle.skin_outcome_counts(scoped, records)
    assert {(r["reaction_pt"], r["is_group"]) for r in rows} <= {(t, "true" if t.startswith("(any ") else "false") for t, _ in got}
    # The reports with one outcome and those with several partition each row's reports (the figure's bars).
    for term in {t for t, _ in got}:
        mine = [r for r in rows if r["reaction_pt"] == term]
        assert sum(int(r["reports_only_this_outcome"]) for r in mine) + int(mine[0]["reports_several_outcomes"]) == int(mine[0]["term_reports"])
    if not args:
        assert any(int(r["reports_several_outcomes"]) for r in rows)  # the fixture has such reports
    # A term's reports are the skin table's: the outcomes split the same reports.
    skin = {r["reaction_pt"]: int(r["reports"]) for r in table(fetched, "skin", args)}
    assert {r["reaction_pt"]: int(r["term_reports"]) for r in rows if r["reaction_pt"] in skin} == {t: n for t, n in skin.items() if n}
    assert all(r["pigmentation"] == "hyper" for r in rows if r["reaction_pt"] in ("(any hyperpigmentation term)", "HYPERPIGMENTATION", "SKIN HYPERPIGMENTATION"))


def test_skin_outcomes_top_keeps_the_group_rows(fetched):
    rows = table(fetched, "skin_outcomes", [], "--top", "2")
    assert list(dict.fromkeys(r["reaction_pt"] for r in rows)) == ["(any skin term)", "(any pigmentation term)", "(any hyperpigmentation term)", "PRURITUS", "RASH"]


@pytest.mark.parametrize("combo", COMBOS)
def test_age_by_sex(fetched, reports, combo):
    args, filters = COMBOS[combo]
    scoped = oracle.scope(reports, **filters)
    rows = table(fetched, "age_by_sex", args)
    assert {(r["age_group"], r["sex"]): int(r["reports"]) for r in rows} == oracle.age_by_sex(scoped)
    assert sum(int(r["reports"]) for r in rows) == len(scoped)


def test_skin_table_marks_hyper_and_hypo_pigmentation(fetched):
    rows = table(fetched, "skin", [])
    kinds = oracle.pigmentation_kinds()
    assert {r["reaction_pt"]: r["pigmentation"] for r in rows[3:] if r["pigmentation"]} == {t: k for t, k in kinds.items() if t in {r["reaction_pt"] for r in rows}}
    assert {r["reaction_pt"] for r in rows if r["pigmentation"] == "hyper"} == {"(any hyperpigmentation term)", "HYPERPIGMENTATION", "SKIN HYPERPIGMENTATION"}


def test_the_curated_list_says_which_way_pigmentation_goes():
    # Typed out here, not read from the file: the file must mark exactly these.
    assert oracle.pigmentation_kinds() == {"CHLOASMA": "hyper", "HYPERPIGMENTATION": "hyper", "SKIN HYPERPIGMENTATION": "hyper", "SKIN HYPOPIGMENTATION": "hypo", "VITILIGO": "hypo"}
    assert all(oracle.skin_terms()[t] for t in oracle.pigmentation_kinds())  # every hyper or hypo term is a pigmentation term


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
def test_drugs_by_ingredient(fetched, reports, combo):
    args, filters = COMBOS[combo]
    rows = table(fetched, "drugs", args)
    assert {r["ingredient"]: (int(r["reports"]), int(r["as_suspect_reports"])) for r in rows} == oracle.ingredients(oracle.scope(reports, **filters))


@pytest.mark.parametrize("combo", COMBOS)
def test_drugs_by_product(fetched, reports, combo):
    args, filters = COMBOS[combo]
    rows = table(fetched, "drugs", args, "--by", "product")
    assert {r["product"]: (int(r["reports"]), int(r["as_suspect_reports"])) for r in rows} == oracle.drugs(oracle.scope(reports, **filters))


def test_a_brand_counts_as_its_ingredient(fetched, reports):
    """NEURONTIN is counted as GABAPENTIN where openFDA maps it so: the ingredient row counts
    reports naming either (once each), more than the product rows do apiece."""
    by_ingredient = {r["ingredient"]: int(r["reports"]) for r in table(fetched, "drugs", [])}
    by_product = {r["product"]: int(r["reports"]) for r in table(fetched, "drugs", ["--by", "product"])}
    assert by_product["NEURONTIN"] > 0 and by_product["GABAPENTIN"] > 0
    assert max(by_product["NEURONTIN"], by_product["GABAPENTIN"]) < by_ingredient["GABAPENTIN"] <= by_product["NEURONTIN"] + by_product["GABAPENTIN"]
    # A brand no field maps (AERS-era, no openfda block, no active substance) stays its own row.
    assert by_ingredient["NEURONTIN"] == oracle.ingredients(oracle.scope(reports))["NEURONTIN"][0] > 0
    # The pigmenting drugs named by brand, under their generic names: CORDARONE and PACERONE
    # (generic names in other case) are one ingredient.
    assert by_ingredient["AMIODARONE HYDROCHLORIDE"] == 2 and "CORDARONE" not in by_ingredient and "PACERONE" not in by_ingredient
    assert by_ingredient["HYDROXYCHLOROQUINE SULFATE"] == 1
    assert by_ingredient["MINOCYCLINE HYDROCHLORIDE"] == 3 and by_ingredient["MINOCIN"] == 1  # 11500001, -07, -09; the AERS-era one unmapped


def test_ingredient_counts_equal_counts_by_openfda_generic_name(fetched, reports):
    """For approved drugs (those openFDA mapped to labels), the stored ingredients count each
    report once per generic name, as a count by openfda.generic_name does."""
    import duckdb

    con = duckdb.connect(str(fetched), read_only=True)
    try:
        got = dict(con.execute(
            "SELECT ingredient, count(DISTINCT report_key) FROM product_ingredients SEMI JOIN (SELECT report_key FROM reports WHERE is_kratom_report) USING (report_key) "
            "WHERE ingredient_field = 'openfda.generic_name' AND NOT is_kratom GROUP BY ingredient"
        ).fetchall())
    finally:
        con.close()
    want = oracle.generic_name_counts(oracle.scope(reports))
    assert got == want and len(want) >= 10
    assert want["BUPRENORPHINE HYDROCHLORIDE"] == want["NALOXONE HYDROCHLORIDE"] > 0  # SUBOXONE: a combination of two


def test_stored_drug_details_equal_the_oracle(fetched):
    """Every FAERS product's dose, duration, dates, action taken and rechallenge, as stored,
    against the oracle's reading of the raw records in the cassette."""
    import duckdb

    columns = list(oracle.drug_details({}))
    con = duckdb.connect(str(fetched), read_only=True)
    try:
        cursor = con.execute(f"SELECT report_id, product_seq, {', '.join(columns)} FROM products WHERE source = 'faers' ORDER BY report_id, product_seq")
        got = {(row[0], row[1]): dict(zip(columns, row[2:])) for row in cursor.fetchall()}
    finally:
        con.close()
    want = {(report_id, seq): oracle.drug_details(drug) for (source, report_id), record in oracle.latest_records().items() if source == "faers"
            for seq, drug in enumerate(record["patient"]["drug"], 1)}
    assert got == want
    filled = {c: sum(v[c] is not None for v in want.values()) for c in columns}
    assert all(n > 0 for n in filled.values()), filled  # the fixture has every detail somewhere
    assert {v["duration_unit"] for v in want.values()} >= {"year", "month", "week", "day", "hour", "minute"}
    assert {v["start_date_precision"] for v in want.values()} == {"day", "month", "year", None}
    assert {v["action_taken"] for v in want.values()} == {"drug withdrawn", "dose reduced", "dose increased", "dose not changed", "unknown", "not applicable", None}


def test_several_kratom_products_keep_their_own_actions(fetched):
    import duckdb

    con = duckdb.connect(str(fetched), read_only=True)
    try:
        rows = con.execute("SELECT product_name, is_kratom, role, action_taken, recurred_on_readministration FROM products WHERE source = 'faers' AND report_id = '11700009' ORDER BY product_seq").fetchall()
    finally:
        con.close()
    assert rows == [("KRATOM", True, "suspect", "drug withdrawn", "no"), ("RED VEIN KRATOM", True, "suspect", "dose increased", None),
                    ("MITRAGYNINE", True, "interacting", "unknown", None), ("MINOCIN", False, "concomitant", None, None)]


def test_ingredients_audit(fetched, reports):
    result = runner.invoke(app, ["ingredients", "--db", str(fetched), "--name", "Amiodarone", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert list(csv.DictReader(io.StringIO(result.stdout))) == [
        {"source": "faers", "product": "CORDARONE", "ingredient": "AMIODARONE HYDROCHLORIDE", "from_fields": "openfda.generic_name", "is_kratom": "false", "reports": "1"},
        {"source": "faers", "product": "PACERONE", "ingredient": "AMIODARONE HYDROCHLORIDE", "from_fields": "openfda.generic_name", "is_kratom": "false", "reports": "1"},
    ]
    result = runner.invoke(app, ["ingredients", "--db", str(fetched), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    neurontin = {(r["ingredient"], r["from_fields"]): int(r["reports"]) for r in rows if r["product"] == "NEURONTIN"}
    # Mapped by openFDA in some reports, by the sender's active substance in others: one row, both fields.
    assert set(neurontin) == {("GABAPENTIN", "openfda.generic_name, activesubstancename"), ("NEURONTIN", "medicinalproduct")}
    assert neurontin[("NEURONTIN", "medicinalproduct")] == oracle.ingredients(oracle.scope(reports))["NEURONTIN"][0]
    assert {f for r in rows for f in r["from_fields"].split(", ")} == {"openfda.generic_name", "openfda.substance_name", "activesubstancename", "medicinalproduct", "name_brand"}
    assert [(r["product"], r["ingredient"]) for r in rows if "openfda.substance_name" in r["from_fields"]] == [("ADVIL", "IBUPROFEN")]
    assert len({(r["source"], r["product"], r["ingredient"]) for r in rows}) == len(rows)
    refused = runner.invoke(app, ["ingredients", "--db", str(fetched), "--name", "*"])
    assert refused.exit_code == 1 and refused.stderr.strip() == "Error: --name '*' has no letter or digit to look for; give part of a product or ingredient name, such as gabapentin."


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
    assert names == ["age_by_sex.csv", "cases.csv", "demographics.csv", "drugs.csv", "drugs_by_product.csv", "outcomes.csv", "provenance.json", "reactions.csv", "skin.csv", "skin_outcomes.csv", "summary.csv", "trend.csv"]
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
    assert provenance["kratom_reports_in_scope"] == len(scoped)
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
    from kratom_ae.queries.export import csv_text
    import pandas as pd

    frame = pd.DataFrame({"name": ["=1+1", "+CMD", "-2", "@SUM(A1)", "KRATOM", None], "n": [-1, 2, 3, 4, 5, 6]})
    assert csv_text(frame).splitlines() == ["name,n", "'=1+1,-1", "'+CMD,2", "'-2,3", "'@SUM(A1),4", "KRATOM,5", ",6"]


def test_terminal_table_says_what_it_counts(fetched):
    result = runner.invoke(app, ["query", "reactions", "--db", str(fetched), "--top", "2", "--source", "faers"])
    assert result.exit_code == 0, result.output
    assert "Counts: reports (latest version) in scope naming the term" in result.stdout
    assert "Filters: source=faers, role=any, top=2" in result.stdout
    n = len(oracle.scope(oracle.all_reports(), source="faers"))
    assert f"Kratom reports in scope (the denominator of the percentages): {n:,}.\n" in result.stdout


def test_every_terminal_table_states_its_denominator(fetched, reports):
    faers, caers = (len(oracle.scope(reports, source=s, serious=True)) for s in ("faers", "caers"))
    for name in ["summary", "reactions", "skin", "skin_outcomes", "trend", "demographics", "age_by_sex", "outcomes", "drugs"]:
        result = runner.invoke(app, ["query", name, "--db", str(fetched), "--serious"])
        assert result.exit_code == 0, result.output
        assert f"Kratom reports in scope (the denominator of the percentages): {faers + caers:,} (caers {caers:,}, faers {faers:,}).\n" in result.stdout, name
    empty = runner.invoke(app, ["query", "reactions", "--db", str(fetched), "--since", "2099-01-01"])
    assert "(no rows)" in empty.stdout and "Kratom reports in scope (the denominator of the percentages): 0." in empty.stdout


def test_csv_provenance_states_the_denominator(fetched, reports, tmp_path):
    path = tmp_path / "reactions.csv"
    result = runner.invoke(app, ["query", "reactions", "--db", str(fetched), "--source", "caers", "--csv", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(Path(f"{path}.provenance.json").read_text())["kratom_reports_in_scope"] == len(oracle.scope(reports, source="caers"))


def test_list_of_tables(fetched):
    result = runner.invoke(app, ["query", "--db", str(fetched)])
    assert result.exit_code == 0
    for name in ["summary", "reactions", "skin", "skin_outcomes", "trend", "demographics", "age_by_sex", "outcomes", "drugs"]:
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
    assert runner.invoke(app, ["sql", "SELECT count(*) FROM reports", "--db", str(fetched), "--format", "csv"]).stdout.splitlines()[1] == "2381"  # 4 look-alike reports too


# ---- Skin outcomes on hand-made reports: each term's own outcome, hyper apart from hypo ----

def hand_made_faers(report_id, *reactions):
    return {"safetyreportid": report_id, "safetyreportversion": "1", "receivedate": "20200115", "serious": "2", "occurcountry": "US",
            "patient": {"drug": [{"drugcharacterization": "1", "medicinalproduct": "KRATOM POWDER"}],
                        "reaction": [{"reactionmeddrapt": pt, **({"reactionoutcome": code} if code else {})} for pt, code in reactions]}}


@pytest.fixture(scope="module")
def hand_made_db(tmp_path_factory):
    from fake_openfda import FakeOpenFDA

    faers = [
        hand_made_faers("90000001", ("Vitiligo", "1"), ("Skin hypopigmentation", "3")),
        # One term twice, with two outcomes: the report counts once under each.
        hand_made_faers("90000002", ("Hyperpigmentation", "1"), ("HYPERPIGMENTATION", "2"), ("Skin hyperpigmentation", "2")),
        hand_made_faers("90000003", ("Skin hyperpigmentation", None), ("Nausea", "5")),
        hand_made_faers("90000004", ("Skin discolouration", "6")),
    ]
    caers = [{"report_number": "2020-CFS-000001", "outcomes": ["Other Outcome"], "date_created": "20200301", "reactions": ["VITILIGO"],
              "products": [{"role": "SUSPECT", "name_brand": "KRATOM CAPSULES"}]}]
    db = tmp_path_factory.mktemp("hand") / "hand.duckdb"
    with FakeOpenFDA(faers, caers) as server:
        result = runner.invoke(app, ["fetch", "--db", str(db), "--base-url", server.url, "--quiet", "--requests-per-minute", "0"])
    assert result.exit_code == 0, result.output
    return db


def test_skin_outcomes_count_each_terms_own_outcome(hand_made_db):
    rows = table(hand_made_db, "skin_outcomes", [])
    got = [(r["reaction_pt"], r["pigmentation"], r["outcome"], int(r["reports"]), int(r["term_reports"]), num(r["pct_of_term_reports"])) for r in rows]
    assert got == [
        ("(any skin term)", "", "recovered/resolved", 2, 5, 40.0),
        ("(any skin term)", "", "recovering/resolving", 1, 5, 20.0),
        ("(any skin term)", "", "not recovered/not resolved", 1, 5, 20.0),
        ("(any skin term)", "", "unknown", 1, 5, 20.0),
        ("(any skin term)", "", "not reported", 2, 5, 40.0),
        ("(any pigmentation term)", "", "recovered/resolved", 2, 5, 40.0),
        ("(any pigmentation term)", "", "recovering/resolving", 1, 5, 20.0),
        ("(any pigmentation term)", "", "not recovered/not resolved", 1, 5, 20.0),
        ("(any pigmentation term)", "", "unknown", 1, 5, 20.0),
        ("(any pigmentation term)", "", "not reported", 2, 5, 40.0),
        ("(any hyperpigmentation term)", "hyper", "recovered/resolved", 1, 2, 50.0),
        ("(any hyperpigmentation term)", "hyper", "recovering/resolving", 1, 2, 50.0),
        ("(any hyperpigmentation term)", "hyper", "not reported", 1, 2, 50.0),
        ("(any hypopigmentation term)", "hypo", "recovered/resolved", 1, 2, 50.0),
        ("(any hypopigmentation term)", "hypo", "not recovered/not resolved", 1, 2, 50.0),
        ("(any hypopigmentation term)", "hypo", "not reported", 1, 2, 50.0),
        ("SKIN HYPERPIGMENTATION", "hyper", "recovering/resolving", 1, 2, 50.0),
        ("SKIN HYPERPIGMENTATION", "hyper", "not reported", 1, 2, 50.0),
        ("VITILIGO", "hypo", "recovered/resolved", 1, 2, 50.0),
        ("VITILIGO", "hypo", "not reported", 1, 2, 50.0),
        ("HYPERPIGMENTATION", "hyper", "recovered/resolved", 1, 1, 100.0),
        ("HYPERPIGMENTATION", "hyper", "recovering/resolving", 1, 1, 100.0),
        ("SKIN DISCOLOURATION", "", "unknown", 1, 1, 100.0),
        ("SKIN HYPOPIGMENTATION", "hypo", "not recovered/not resolved", 1, 1, 100.0),
    ]
    # Reports 90000001 (VITILIGO recovered, SKIN HYPOPIGMENTATION not recovered) and 90000002 (HYPERPIGMENTATION recovered and
    # recovering) carry two outcomes on skin terms; 90000003, 90000004 and the CAERS report one each.
    several = {r["reaction_pt"]: int(r["reports_several_outcomes"]) for r in rows}
    assert several == {"(any skin term)": 2, "(any pigmentation term)": 2, "(any hyperpigmentation term)": 1, "(any hypopigmentation term)": 1,
                       "SKIN HYPERPIGMENTATION": 0, "VITILIGO": 0, "HYPERPIGMENTATION": 1, "SKIN DISCOLOURATION": 0, "SKIN HYPOPIGMENTATION": 0}
    only = {(r["reaction_pt"], r["outcome"]): int(r["reports_only_this_outcome"]) for r in rows if int(r["reports_only_this_outcome"])}
    assert only == {("(any skin term)", "unknown"): 1, ("(any skin term)", "not reported"): 2, ("(any pigmentation term)", "unknown"): 1, ("(any pigmentation term)", "not reported"): 2,
                    ("(any hyperpigmentation term)", "not reported"): 1, ("(any hypopigmentation term)", "not reported"): 1,
                    ("SKIN HYPERPIGMENTATION", "recovering/resolving"): 1, ("SKIN HYPERPIGMENTATION", "not reported"): 1,
                    ("VITILIGO", "recovered/resolved"): 1, ("VITILIGO", "not reported"): 1, ("SKIN DISCOLOURATION", "unknown"): 1,
                    ("SKIN HYPOPIGMENTATION", "not recovered/not resolved"): 1}
    assert {r["reaction_pt"] for r in rows if r["is_group"] == "true"} == {t for t in several if t.startswith("(any ")}
    # 90000002 and 90000003 name a hyperpigmentation term; VITILIGO and SKIN DISCOLOURATION are not one.
    skin = {r["reaction_pt"]: (int(r["reports"]), r["pigmentation"]) for r in table(hand_made_db, "skin", [])}
    assert skin == {"(any skin term)": (5, ""), "(any pigmentation term)": (5, ""), "(any hyperpigmentation term)": (2, "hyper"), "SKIN HYPERPIGMENTATION": (2, "hyper"), "VITILIGO": (2, "hypo"),
                    "HYPERPIGMENTATION": (1, "hyper"), "SKIN DISCOLOURATION": (1, ""), "SKIN HYPOPIGMENTATION": (1, "hypo")}


@pytest.mark.parametrize("unit", ["report", "case"])
def test_the_scope_keeps_its_filters_when_a_session_variable_changes(fetched, reports, unit):
    """The scope is made once per command; a statement on the same connection that sets a
    filter's variable afterwards (a --queries-dir file may) must not move scope_reports away
    from scope_total and scope_reactions: every table's rows and denominator stay the ones of
    the filters the scope was made with."""
    import duckdb

    from kratom_ae.queries import library

    filters = library.Filters(source="faers", unit=unit)
    with duckdb.connect(str(fetched), read_only=True) as con:
        library.prepare_scope(con, filters)
        before = library.run(con, library.find("summary"), filters).to_csv(index=False)
        con.execute("SET VARIABLE source = 'caers'")
        con.execute("SET VARIABLE since = DATE '2030-01-01'")
        con.execute("SET VARIABLE role = 'suspect'")
        total, in_view = con.execute("SELECT (SELECT reports FROM scope_total), (SELECT count(*) FROM scope_reports)").fetchone()
        after = library.run(con, library.find("summary"), filters).to_csv(index=False)
    faers = oracle.scope(reports, source="faers")
    assert unit == "case" or total == len(faers)
    assert in_view == total > 0
    assert after == before


def test_the_filters_line_writes_booleans_as_provenance_does(fetched):
    """`--serious` showed as serious_only=True (Python's spelling); provenance.json says true."""
    result = runner.invoke(app, ["query", "summary", "--db", str(fetched), "--serious"])
    assert result.exit_code == 0, result.output
    assert "Filters: source=all, role=any, serious_only=true, unit=report" in result.stdout
    assert "True" not in result.stdout.split("Filters: ")[1]
