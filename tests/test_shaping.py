"""FAERS and CAERS records -> rows (the page SQL in ingest/sql/*_page.sql), on real archived
records (verbatim) and tiny made-up ones."""

import datetime as dt
import json

import pytest

from shaping import rows_of
from synthetic import REAL


def faers_with(**patient_and_record) -> dict:
    patient = {k: v for k, v in patient_and_record.items() if k.startswith("patient")}
    record = {k: v for k, v in patient_and_record.items() if not k.startswith("patient")}
    return {"safetyreportid": "1", **record, "patient": {**patient, "drug": [{"medicinalproduct": "KRATOM"}]}}


def caers_with(**fields) -> dict:
    return {"report_number": "1", "products": [{"name_brand": "KRATOM", "role": "SUSPECT"}], **fields}


@pytest.mark.parametrize(
    "age,unit,years,decade",
    [
        ("2", "800", None, 20),  # decades: 20-29 years, never the exact age 20
        ("4", "800", None, 40),
        ("0", "800", None, 0),
        ("4.5", "800", None, None),  # not a whole decade: no age
        ("12", "800", None, None),  # 120-129 years: implausible
        ("26", "801", 26.0, None),  # years
        ("18", "802", 1.5, None),  # months
        ("26", "803", 0.498, None),  # weeks: 26*7/365.25 = 0.49829
        ("100", "804", 0.274, None),  # days: 100/365.25 = 0.27379
        ("36", "805", 0.004, None),  # hours: 36/8766 = 0.00411
        ("45.5", "801", 45.5, None),
        ("1999", "801", None, None),  # implausible, kept only as reported
        ("-3", "801", None, None),
        ("abc", "801", None, None),
        ("30", "899", None, None),  # unknown unit
        ("30", None, None, None),
        (None, "801", None, None),
    ],
)
def test_faers_age_units_to_years(age, unit, years, decade):
    report = rows_of('faers', faers_with(patientonsetage=age, patientonsetageunit=unit))["report"]
    assert (report["age_years"], report["age_decade"], report["age_reported"]) == (years, decade, age)


@pytest.mark.parametrize(
    "narrative,event_date,reported",
    [
        ("CASE EVENT DATE: 20190412", dt.date(2019, 4, 12), "20190412"),
        ("CASE EVENT DATE:20190412", dt.date(2019, 4, 12), "20190412"),
        ("CASE EVENT DATE: 201904", None, "201904"),  # partial: kept as written, no date
        ("CASE EVENT DATE: 2019", None, "2019"),
        ("CASE EVENT DATE: 20191345", None, "20191345"),  # no such day
        ("Some other text", None, None),
        (None, None, None),
    ],
)
def test_faers_event_date_from_the_narrative_field(narrative, event_date, reported):
    record = faers_with()
    if narrative is not None:
        record["patient"]["summary"] = {"narrativeincludeclinical": narrative}
    report = rows_of("faers", record)["report"]
    assert (report["event_date"], report["event_date_reported"]) == (event_date, reported)


@pytest.mark.parametrize(
    "occur,reporter,code,name",
    [
        ("US", "US", "US", "United States"),
        (None, "US", "US", "United States"),
        (None, "United States", "US", "United States"),
        (None, "UNITED STATES", "US", "United States"),
        (None, " united  states ", "US", "United States"),
        (None, "USA", "US", "United States"),
        ("GB", "US", "GB", "United Kingdom"),  # where it happened wins over the reporter's country
        (None, "CANADA", "CA", "Canada"),
        (None, "KOREA, REPUBLIC OF", "KR", "South Korea"),
        (None, "COUNTRY NOT SPECIFIED", None, "COUNTRY NOT SPECIFIED"),  # shown as reported, never dropped
        (None, None, None, None),
    ],
)
def test_faers_countries_are_one_iso_country(occur, reporter, code, name):
    record = faers_with()
    if occur:
        record["occurcountry"] = occur
    if reporter:
        record["primarysource"] = {"reportercountry": reporter}
    report = rows_of("faers", record)["report"]
    assert (report["country_code"], report["country_name"], report["occur_country"], report["reporter_country"]) == (code, name, occur, reporter and reporter.strip())


@pytest.mark.parametrize(
    "spelling,key",
    [
        ("DRUG DEPENDENCE", "DRUG DEPENDENCE"),
        ("Drug dependence", "DRUG DEPENDENCE"),
        ("Drug Dependence", "DRUG DEPENDENCE"),
        (" Drug  dependence ", "DRUG DEPENDENCE"),
        ("BEAU^S LINES", "BEAU'S LINES"),
        ("Beau's lines", "BEAU'S LINES"),
        ("Beau’s lines", "BEAU'S LINES"),
        ("Crohn^s disease", "CROHN'S DISEASE"),
        ("", None),
    ],
)
def test_a_term_in_any_spelling_has_one_key(spelling, key):
    record = faers_with()
    record["patient"]["reaction"] = [{"reactionmeddrapt": spelling}]
    faers = rows_of("faers", record)["reactions"][0]
    caers = rows_of("caers", caers_with(reactions=[spelling]))["reactions"][0]
    assert (faers["reaction_pt"], faers["reaction_pt_reported"]) == (key, spelling.strip() or None)
    assert (caers["reaction_pt"], caers["reaction_pt_reported"]) == (key, spelling.strip() or None)


@pytest.mark.parametrize("code,sex", [("0", "unknown"), ("1", "male"), ("2", "female"), (None, None), ("9", None)])
def test_faers_sex_codes(code, sex):
    assert rows_of('faers', faers_with(patientsex=code))["report"]["sex"] == sex


def test_faers_seriousness_codes():
    row = rows_of('faers', faers_with(serious="1", seriousnesshospitalization="1", seriousnessother="1"))["report"]
    assert row["is_serious"] is True
    assert (row["serious_death"], row["serious_hospitalization"], row["serious_other"], row["serious_life_threatening"]) == (False, True, True, False)
    assert rows_of('faers', faers_with(serious="2"))["report"]["is_serious"] is False
    assert rows_of('faers', faers_with())["report"]["is_serious"] is None


def test_real_faers_record_verbatim():
    record = json.loads((REAL / "drug-event_limit1_qodex-2023.json").read_text())["results"][0]
    rows = rows_of('faers', record)
    report = rows["report"]
    assert report["report_id"] == "5801206-7"
    assert report["report_version"] is None  # this old record has no safetyreportversion
    assert report["received_date"] == dt.date(2008, 7, 7)
    assert (report["age_years"], report["age_unit_reported"], report["sex"]) == (26.0, "year", "male")
    assert (report["is_serious"], report["serious_death"]) == (True, True)
    assert report["reporter_qualification"] == "other health professional"
    assert report["reporter_country"] == "CANADA"
    assert report["is_kratom_report"] is False
    assert [(p["product_name"], p["role"], p["route"], p["indication"]) for p in rows["products"]] == [("DURAGESIC-100", "suspect", "Intravenous drip", "DRUG ABUSE")]
    assert [r["reaction_pt"] for r in rows["reactions"]] == ["DRUG ADMINISTRATION ERROR", "OVERDOSE"]
    assert json.loads(rows["raw"]["record"]) == record


def test_real_caers_record_verbatim():
    record = json.loads((REAL / "food-event_limit1_apievangelist.json").read_text())["results"][0]
    rows = rows_of('caers', record)
    report = rows["report"]
    assert (report["report_id"], report["received_date"], report["event_date"]) == ("108592", dt.date(2008, 12, 17), dt.date(2008, 12, 3))
    assert (report["age_years"], report["sex"]) == (73.0, "female")
    # "Other Serious or Important Medical Event" is served although the docs list other wording.
    assert (report["is_serious"], report["serious_other"], report["serious_death"]) == (True, True, False)
    assert report["outcomes"] == ["Other Serious or Important Medical Event", "Other Serious Outcome"]
    assert rows["products"][0]["role"] == "suspect"
    assert [r["reaction_pt"] for r in rows["reactions"]] == ["ABDOMINAL DISTENSION", "FAECES DISCOLOURED", "HAEMATOCHEZIA"]


@pytest.mark.parametrize(
    "outcomes,serious,flags",
    [
        (["DEATH"], True, {"serious_death"}),
        (["HOSPITALIZATION", "LIFE THREATENING"], True, {"serious_hospitalization", "serious_life_threatening"}),
        (["VISITED AN ER"], False, set()),
        (["NON-SERIOUS INJURIES/ ILLNESS"], False, set()),
        (["SERIOUS INJURIES/ ILLNESS"], True, {"serious_other"}),
        (["REQ. INTERVENTION TO PRVNT PERM. IMPRMNT."], True, {"serious_other"}),
        (["DISABILITY"], True, {"serious_disabling"}),
        (["CONGENITAL ANOMALY"], True, {"serious_congenital_anomaly"}),
        (["NONE"], None, set()),
        ([], None, set()),
    ],
)
def test_caers_outcomes_to_seriousness(outcomes, serious, flags):
    report = rows_of("caers", caers_with(outcomes=outcomes))["report"]
    assert report["is_serious"] is serious
    assert {name for name, value in report.items() if name.startswith("serious_") and value} == flags


@pytest.mark.parametrize(
    "age,unit,years,decade",
    [("73.00", "year(s)", 73.0, None), ("73", "Year(s)", 73.0, None), ("6", "Month(s)", 0.5, None), ("3", "Decade(s)", None, 30), ("3.00", "decade(s)", None, 30),
     ("14", "Day(s)", 0.038, None), ("40", "Not Available", None, None), ("40", None, None, None)],
)
def test_caers_age_units(age, unit, years, decade):
    report = rows_of("caers", caers_with(consumer={"age": age, "age_unit": unit}))["report"]
    assert (report["age_years"], report["age_decade"]) == (years, decade)


@pytest.mark.parametrize("gender,sex", [("Female", "female"), ("Male", "male"), ("Not Available", "unknown"), (None, None)])
def test_caers_gender(gender, sex):
    assert rows_of("caers", caers_with(consumer={"gender": gender}))["report"]["sex"] == sex


@pytest.mark.parametrize("value,date", [("20080707", dt.date(2008, 7, 7)), ("200807", None), ("20081340", None), (None, None), ("", None)])
def test_dates(value, date):
    assert rows_of("faers", faers_with(receivedate=value))["report"]["received_date"] == date


def test_kratom_role_and_match_are_per_product():
    record = {
        "safetyreportid": "9",
        "patient": {
            "drug": [
                {"medicinalproduct": "MIRTAZAPINE", "drugcharacterization": "1"},
                {"medicinalproduct": "O.P.M.S. KRATOM", "drugcharacterization": "2"},
            ]
        },
    }
    products = rows_of('faers', record)["products"]
    assert [(p["is_kratom"], p["role"], p["matched_term"], p["product_name_normalized"]) for p in products] == [
        (False, "suspect", None, "MIRTAZAPINE"),
        (True, "concomitant", "KRATOM", "OPMS KRATOM"),
    ]


# ---- what a clinician reads, per drug (issue 20) ------------------------------------------

def faers_drug(**drug) -> dict:
    """A FAERS record with one kratom product carrying these drug fields."""
    return {"safetyreportid": "1", "patient": {"reaction": [{"reactionmeddrapt": "Rash"}], "drug": [{"medicinalproduct": "KRATOM", **drug}]}}


DETAILS = ("start_date", "start_date_reported", "start_date_precision", "start_date_format", "end_date", "end_date_reported", "end_date_precision", "end_date_format",
           "duration_reported", "duration_unit", "duration_days", "dosage_text", "dosage_form", "dose_amount", "dose_unit", "separate_doses", "dose_interval",
           "dose_interval_unit", "cumulative_dose_amount", "cumulative_dose_unit", "route", "action_taken", "abated_after_action",
           "recurred_on_readministration", "recurred_reactions")


def test_every_drug_detail_of_a_faers_record():
    product = rows_of("faers", faers_drug(
        drugstartdate="20210115", drugstartdateformat="102", drugenddate="202103", drugenddateformat="610",
        drugtreatmentduration="8", drugtreatmentdurationunit="803", drugdosagetext="2 TSP, TWICE A DAY", drugdosageform="Powder",
        drugstructuredosagenumb="4.5", drugstructuredosageunit="002", drugseparatedosagenumb="2", drugintervaldosageunitnumb="1",
        drugintervaldosagedefinition="804", drugcumulativedosagenumb="500", drugcumulativedosageunit="002", drugadministrationroute="048",
        actiondrug="1", drugadditional="1", drugrecurreadministration="1", drugrecurrence=[{"drugrecuraction": "Rash"}, {"drugrecuraction": "Pruritus"}],
    ))["products"][0]
    assert {k: product[k] for k in DETAILS} == {
        "start_date": dt.date(2021, 1, 15), "start_date_reported": "20210115", "start_date_precision": "day", "start_date_format": "102",
        "end_date": None, "end_date_reported": "202103", "end_date_precision": "month", "end_date_format": "610",
        "duration_reported": "8", "duration_unit": "week", "duration_days": 56.0, "dosage_text": "2 TSP, TWICE A DAY", "dosage_form": "Powder",
        "dose_amount": 4.5, "dose_unit": "g", "separate_doses": 2.0, "dose_interval": 1.0, "dose_interval_unit": "day",
        "cumulative_dose_amount": 500.0, "cumulative_dose_unit": "g", "route": "Oral", "action_taken": "drug withdrawn",
        "abated_after_action": "yes", "recurred_on_readministration": "yes", "recurred_reactions": ["RASH", "PRURITUS"],
    }


def test_a_drug_with_no_details_has_none():
    product = rows_of("faers", faers_drug())["products"][0]
    assert {k: product[k] for k in DETAILS} == dict.fromkeys(DETAILS)


def test_codes_sent_as_json_numbers_read_as_the_strings():
    """openFDA sends codes as strings; a number (48 for route "048", 1 for "1") means the same."""
    as_numbers = rows_of("faers", faers_drug(drugcharacterization=3, drugadministrationroute=48, actiondrug=2, drugrecurreadministration=2,
                                             drugadditional=2, drugtreatmentdurationunit=804, drugtreatmentduration=10, drugstartdateformat=602, drugstartdate=2019,
                                             drugstructuredosageunit=3, drugintervaldosagedefinition=812))
    product, report = as_numbers["products"][0], as_numbers["report"]
    assert (product["role"], product["route"], product["action_taken"], product["recurred_on_readministration"], product["abated_after_action"]) == (
        "interacting", "Oral", "dose reduced", "no", "no")
    assert (product["duration_days"], product["duration_unit"], product["start_date_format"], product["start_date_precision"], product["start_date_reported"]) == (
        10.0, "day", "602", "year", "2019")
    assert (product["dose_unit"], product["dose_interval_unit"]) == ("mg", "as necessary")
    assert report["is_kratom_suspect_report"] is True  # interacting, given as the number 3


@pytest.mark.parametrize(
    "number,unit,days,unit_name",
    [("2", "801", 730.5, "year"), ("3", "802", 91.3125, "month"), ("2", "803", 14.0, "week"), ("10", "804", 10.0, "day"),
     ("36", "805", 1.5, "hour"), ("90", "806", 0.0625, "minute"), ("1.5", "801", 547.875, "year"),
     ("3", "809", None, "809"),  # no such unit: shown as reported, no days
     ("-3", "804", None, "day"), ("several", "804", None, "day"), ("3", None, None, None), (None, "804", None, "day")],
)
def test_durations_in_every_unit_to_days(number, unit, days, unit_name):
    product = rows_of("faers", faers_drug(drugtreatmentduration=number, drugtreatmentdurationunit=unit))["products"][0]
    assert (product["duration_days"], product["duration_unit"], product["duration_reported"]) == (days, unit_name, number)


@pytest.mark.parametrize(
    "value,form,date,precision",
    [("20190412", "102", dt.date(2019, 4, 12), "day"), ("201904", "610", None, "month"), ("2019", "602", None, "year"),
     ("201913", "610", None, None),  # no 13th month
     ("20190431", "102", None, None),  # no 31 April
     ("2019", None, None, "year"),  # the precision follows what was written, format or not
     ("April 2019", "102", None, None)],
)
def test_start_dates_in_formats_102_610_602(value, form, date, precision):
    product = rows_of("faers", faers_drug(drugstartdate=value, drugstartdateformat=form))["products"][0]
    assert (product["start_date"], product["start_date_precision"], product["start_date_format"], product["start_date_reported"]) == (date, precision, form, value)


@pytest.mark.parametrize(
    "action,label",
    [("1", "drug withdrawn"), ("2", "dose reduced"), ("3", "dose increased"), ("4", "dose not changed"), ("5", "unknown"), ("6", "not applicable"), ("7", "7"), (None, None)],
)
def test_action_taken_codes(action, label):
    assert rows_of("faers", faers_drug(actiondrug=action))["products"][0]["action_taken"] == label


def test_caers_products_carry_no_drug_details():
    product = rows_of("caers", caers_with())["products"][0]
    assert {k: product[k] for k in DETAILS} == dict.fromkeys(DETAILS)


# ---- ingredients, not product names (issue 20) --------------------------------------------

def ingredients_of(*drugs: dict) -> list[tuple]:
    record = {"safetyreportid": "1", "patient": {"reaction": [{"reactionmeddrapt": "Rash"}], "drug": list(drugs)}}
    return [(i["product_seq"], i["ingredient"], i["ingredient_field"], i["is_first_mention"], i["named_as_suspect"]) for i in rows_of("faers", record)["ingredients"]]


def test_a_brand_counts_as_its_generic_name():
    assert ingredients_of(
        {"medicinalproduct": "NEURONTIN", "drugcharacterization": "2", "openfda": {"generic_name": ["GABAPENTIN"], "brand_name": ["NEURONTIN"], "substance_name": ["GABAPENTIN"]}},
        {"medicinalproduct": "Gabapentin.", "drugcharacterization": "1", "activesubstance": {"activesubstancename": "GABAPENTIN"}},
        {"medicinalproduct": "NEURONTIN", "drugcharacterization": "2"},  # no mapping at all: the name stands
    ) == [(1, "GABAPENTIN", "openfda.generic_name", True, True), (2, "GABAPENTIN", "activesubstancename", False, True), (3, "NEURONTIN", "medicinalproduct", True, False)]


def test_ingredient_fields_in_order_of_preference():
    assert ingredients_of(
        {"medicinalproduct": "SUBOXONE", "openfda": {"substance_name": ["BUPRENORPHINE HYDROCHLORIDE", "NALOXONE HYDROCHLORIDE"]}, "activesubstance": {"activesubstancename": "BUPRENORPHINE"}},
        {"medicinalproduct": "X", "openfda": {"generic_name": [], "substance_name": ["  "]}, "activesubstance": {"activesubstancename": "Minocycline hydrochloride"}},
        {"medicinalproduct": "", "activesubstance": {"activesubstancename": ""}},  # no name of any kind: no ingredient
    ) == [(1, "BUPRENORPHINE HYDROCHLORIDE", "openfda.substance_name", True, False), (1, "NALOXONE HYDROCHLORIDE", "openfda.substance_name", True, False),
          (2, "MINOCYCLINE HYDROCHLORIDE", "activesubstancename", True, False)]


def test_generic_name_lists_of_several_names_and_cases():
    """A combination product lists each generic name; one name in two cases is one ingredient."""
    assert ingredients_of(
        {"medicinalproduct": "PERCOCET", "drugcharacterization": "1", "openfda": {"generic_name": ["Oxycodone hydrochloride", "ACETAMINOPHEN", "OXYCODONE HYDROCHLORIDE"]}},
        {"medicinalproduct": "TYLENOL", "drugcharacterization": "2", "openfda": {"generic_name": ["ACETAMINOPHEN"]}},
    ) == [(1, "OXYCODONE HYDROCHLORIDE", "openfda.generic_name", True, True), (1, "ACETAMINOPHEN", "openfda.generic_name", True, True),
          (2, "ACETAMINOPHEN", "openfda.generic_name", False, True)]


def test_kratom_products_have_ingredients_of_their_own():
    rows = ingredients_of({"medicinalproduct": "KRATOM", "drugcharacterization": "1"}, {"medicinalproduct": "HERBAL SUPPLEMENT", "activesubstance": {"activesubstancename": "MITRAGYNINE"}})
    assert rows == [(1, "KRATOM", "medicinalproduct", True, True), (2, "MITRAGYNINE", "activesubstancename", True, False)]


def test_caers_products_are_their_own_ingredient():
    rows = rows_of("caers", caers_with(products=[{"name_brand": "O.P.M.S. Kratom", "role": "SUSPECT"}, {"name_brand": "KAVA", "role": "CONCOMITANT"}, {"role": "SUSPECT"}]))
    assert [(i["product_seq"], i["ingredient"], i["ingredient_field"], i["is_kratom"]) for i in rows["ingredients"]] == [(1, "OPMS KRATOM", "name_brand", True), (2, "KAVA", "name_brand", False)]
