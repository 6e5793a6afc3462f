"""The code lists of ingest/sql/codes.sql are openFDA's own: each is checked against openFDA's
field definitions (tests/fixtures/openfda_schema/drugevent.yaml, verbatim)."""

from pathlib import Path

import duckdb
import pytest
import yaml

from kratom_ae.ingest.sqlfiles import sql

DEFINITIONS = Path(__file__).parent / "fixtures" / "openfda_schema" / "drugevent.yaml"
# codes.sql's kind -> the drug field whose possible values it names.
DRUG_LISTS = {
    "drug_role": "drugcharacterization", "route": "drugadministrationroute", "action": "actiondrug", "abated": "drugadditional",
    "recurred": "drugrecurreadministration", "dose_unit": "drugstructuredosageunit", "duration_unit": "drugtreatmentdurationunit",
    "interval_unit": "drugintervaldosagedefinition",
}


def openfda_values(field: str) -> dict[str, str]:
    definitions = yaml.safe_load(DEFINITIONS.read_text(encoding="utf-8"))
    return {str(code): label for code, label in definitions["properties"]["patient"]["properties"]["drug"]["items"]["properties"][field]["possible_values"]["value"].items()}


def codes_sql() -> dict[str, dict[str, str]]:
    con = duckdb.connect()
    con.execute(sql("codes"))
    out: dict[str, dict[str, str]] = {}
    for kind, code, label in con.execute("SELECT kind, code, label FROM code_labels").fetchall():
        out.setdefault(kind, {})[code] = label
    return out


def short(label: str) -> str:
    """openFDA's label as codes.sql writes it: the words before a parenthesis, lower case
    ("mg (milligrams)" is mg, "Suspect (the drug was ...)" suspect)."""
    return label.split(" (")[0].lower()


@pytest.mark.parametrize("kind", DRUG_LISTS)
def test_every_drug_code_list_is_openfdas(kind):
    ours, theirs = codes_sql()[kind], openfda_values(DRUG_LISTS[kind])
    assert set(ours) == set(theirs)
    for code, label in theirs.items():
        expected = label if kind == "route" else short(label)  # routes keep openFDA's own spelling
        assert ours[code] == expected, (kind, code)


def test_the_cumulative_dose_unit_is_the_same_list():
    assert openfda_values("drugcumulativedosageunit") == openfda_values("drugstructuredosageunit")


def test_the_date_formats_are_not_in_openfdas_definitions():
    """docs/methods.md says so: openFDA's definitions say 102 always; 610 and 602 are E2B's."""
    definitions = yaml.safe_load(DEFINITIONS.read_text(encoding="utf-8"))
    start = definitions["properties"]["patient"]["properties"]["drug"]["items"]["properties"]["drugstartdateformat"]
    assert start["possible_values"] is None and "Always set to `102`" in start["description"]
