"""SYNTHETIC openFDA-shaped kratom reports, and a model of how openFDA answers a search.

Nothing here is a real adverse-event report. The records are made up, deterministically from
a seed, to look like openFDA drug/event (FAERS) and food/event (CAERS) records: the same
fields, code lists and value formats as openFDA's field definitions, with kratom written
under the many names people use. They exist because no real kratom report was available
offline; see tests/README.md.

`respond()` models one openFDA search request (search emulation on analysed fields, limit,
skip <= 25000, search_after cursors and the Link header as FDA/openfda's traversal.js builds
it, 404 "No matches found!"). The fake server in tests/fake_openfda.py serves it over HTTP.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import random
import re
from pathlib import Path
from urllib.parse import urlencode

SEED = 20261125
LAST_UPDATED = "2026-11-18"
REAL = Path(__file__).parent / "fixtures" / "real"

# Names under which kratom is written, with how often they occur (weights).
FAERS_KRATOM_NAMES = [
    ("KRATOM", 40), ("Kratom", 10), ("KRATOM POWDER", 6), ("Kratom powder", 4),
    ("KRATOM (MITRAGYNA SPECIOSA)", 8), ("MITRAGYNA SPECIOSA LEAF", 3), ("MITRAGYNA SPECIOSA KORTHALS", 2),
    ("MITRAGYNINE", 5), ("7-HYDROXYMITRAGYNINE", 2), ("MAENG DA KRATOM", 3), ("O.P.M.S. KRATOM", 2),
    ("KRATOM CAPSULES", 3), ("RED VEIN KRATOM", 2), ("KRATOM EXTRACT", 2),
]
CAERS_KRATOM_NAMES = [
    ("KRATOM", 30), ("KRATOM POWDER", 8), ("MAENG DA KRATOM", 4), ("O.P.M.S. KRATOM LIQUID KRATOM", 2),
    ("RED BALI KRATOM CAPSULES", 3), ("MITRAGYNA SPECIOSA", 2), ("GREEN MALAY KRATOM", 2),
]
OTHER_DRUGS = [
    "FENTANYL", "HEROIN", "ALPRAZOLAM", "GABAPENTIN", "ETHANOL", "METHAMPHETAMINE", "BUPRENORPHINE",
    "COCAINE", "DIPHENHYDRAMINE", "MIRTAZAPINE", "OXYCODONE", "CANNABIS", "TRAMADOL", "LOPERAMIDE",
    "QUETIAPINE", "SERTRALINE", "=HYPERLINK(\"X\") TEA",
]
OTHER_SUPPLEMENTS = ["KAVA", "CBD OIL", "PHENIBUT", "GREEN TEA EXTRACT", "ASHWAGANDHA", "KETO DIET PILLS"]
# MedDRA preferred terms in MedDRA's own spelling (sentence case, apostrophes as '), with how
# often they occur. Reports spell them as openFDA does (spell() below), so one term arrives in
# several spellings: "Drug dependence", "DRUG DEPENDENCE", "Drug Dependence", "BEAU^S LINES".
REACTIONS = [
    ("Drug dependence", 14), ("Withdrawal syndrome", 10), ("Drug withdrawal syndrome", 6), ("Seizure", 8),
    ("Toxicity to various agents", 12), ("Death", 6), ("Overdose", 8), ("Drug abuse", 7), ("Vomiting", 9),
    ("Nausea", 9), ("Drug-induced liver injury", 4), ("Hepatotoxicity", 3), ("Jaundice", 3),
    ("Cholestasis", 2), ("Constipation", 4), ("Anxiety", 5), ("Insomnia", 4), ("Cardiac arrest", 4),
    ("Respiratory depression", 3), ("Tachycardia", 4), ("Agitation", 3), ("Hallucination", 2),
    ("Hyperpigmentation", 2), ("Skin hyperpigmentation", 1), ("Skin discolouration", 2),
    ("Pigmentation disorder", 1), ("Pruritus", 3), ("Rash", 3), ("Urticaria", 1), ("Erythema", 1),
    ("Hyperhidrosis", 2), ("Injection site rash", 1), ("Cellulitis", 1), ("Crohn's disease", 1), ("Beau's lines", 1),
]
# The end of the legacy AERS: reports received before it are AERS-era (API-NOTES section 9):
# upper-case terms, legacy "NNNNNNN-C" ids, country names, none of the FAERS-only fields.
FAERS_START = "20121101"
AERS_COUNTRIES = [("UNITED STATES", 70), ("United States", 12), ("CANADA", 5), ("THAILAND", 3), ("UNITED KINGDOM", 3), ("Malaysia", 2)]
FAERS_COUNTRIES = [("US", 88), ("CA", 4), ("GB", 3), ("TH", 3), ("MY", 2)]
# Kratom look-alikes: research chemicals and metabolites that the 7-OH search term finds but
# that are not kratom (the bundled terms exclude them).
LOOK_ALIKES = ["7-OH-DPAT", "7-OH-DPAT HYDROBROMIDE", "7-OH-CHLORPROMAZINE", "7-oh-methotrexate"]


def spell(rng: random.Random, term: str, era: str) -> str:
    """A MedDRA term as openFDA's records spell it: upper case with ^ for an apostrophe in
    AERS; in FAERS mostly sentence case with ^, sometimes with the apostrophe, in upper case
    or in title case (messier than the notes say, on purpose)."""
    caret = term.replace("'", "^")
    if era == "aers":
        return caret.upper()
    roll = rng.random()
    if roll < 0.78:
        return caret
    if roll < 0.86:
        return term
    if roll < 0.94:
        return caret.upper()
    return " ".join(w[:1].upper() + w[1:] for w in caret.split(" "))


COMPANIES = ["ACME", "GLOBEX", "INITECH", "UMBRELLA", "STARK"]


def add_case_fields(record: dict, day: str) -> None:
    """The fields that help find duplicate cases (companynumb, reporttype, drug start dates),
    drawn from a generator of the record's own so the rest of the dataset stays as it was."""
    rng = random.Random(f"{SEED}-{record['safetyreportid']}")
    record["reporttype"] = rng.choice(["1", "1", "1", "2"])
    if rng.random() < 0.6:
        record["companynumb"] = f"{record.get('occurcountry', 'US')}-{rng.choice(COMPANIES)}-{day[:4]}-{record['safetyreportid'].replace('-', '')}"
    for drug in record["patient"]["drug"]:
        if rng.random() < 0.3:
            start = dt.date(int(day[:4]), int(day[4:6]), int(day[6:])) - dt.timedelta(days=rng.randint(30, 900))
            drug.update(drugstartdateformat="102", drugstartdate=f"{start:%Y%m%d}")


# Brands of the other drugs, and openFDA's openfda block for them (its mapping of a product name to
# drug labels): generic names as the labels write them, salts included, one per ingredient of a
# combination product. A product is named by a brand or by its generic name; openFDA maps either.
BRANDS = {
    "GABAPENTIN": [("NEURONTIN", ["GABAPENTIN"])],
    "ALPRAZOLAM": [("XANAX", ["ALPRAZOLAM"])],
    "QUETIAPINE": [("SEROQUEL", ["QUETIAPINE FUMARATE"])],
    "SERTRALINE": [("ZOLOFT", ["SERTRALINE HYDROCHLORIDE"])],
    "MIRTAZAPINE": [("REMERON", ["MIRTAZAPINE"])],
    "OXYCODONE": [("OXYCONTIN", ["OXYCODONE HYDROCHLORIDE"]), ("PERCOCET", ["OXYCODONE HYDROCHLORIDE", "ACETAMINOPHEN"])],
    "TRAMADOL": [("ULTRAM", ["TRAMADOL HYDROCHLORIDE"])],
    "BUPRENORPHINE": [("SUBOXONE", ["BUPRENORPHINE HYDROCHLORIDE", "NALOXONE HYDROCHLORIDE"])],
    "DIPHENHYDRAMINE": [("BENADRYL", ["DIPHENHYDRAMINE HYDROCHLORIDE"])],
}
DOSAGE_TEXTS = ["UNK", "1 TSP DAILY", "4 G, 3X/DAY", "2 CAPSULES, QD", "Unknown dose", "15 GRAMS DAILY", "HALF A TEASPOON TWICE DAILY", "UNK UNK, PRN"]


def add_drug_details(record: dict, era: str) -> None:
    """What a clinician reads per drug (issue 20): dosage, duration (every unit), start dates in
    formats 102/610/602, end dates, action taken, rechallenge, and openFDA's openfda block with
    drugs renamed to brands; some codes as JSON numbers. Drawn from a generator of the record's
    own, so the rest of the dataset stays as it was. AERS-era records get none of the FAERS-only
    fields (API-NOTES section 9) and no openfda block: a brand there stays unmapped."""
    rng = random.Random(f"{SEED}-drugs-{record['safetyreportid']}")
    as_number = lambda code: int(code) if rng.random() < 0.2 else code  # noqa: E731 (codes as strings and numbers)
    for drug in record["patient"]["drug"]:
        generic = drug.get("medicinalproduct")
        if generic in BRANDS:
            brand, generics = rng.choice(BRANDS[generic])
            if rng.random() < 0.25:
                drug["medicinalproduct"] = brand
                if era == "aers":
                    drug.pop("activesubstance", None)
            if era == "faers" and rng.random() < 0.75:
                names = [rng.choice([g, g.title(), g.lower()]) if rng.random() < 0.15 else g for g in generics]
                if rng.random() < 0.1:
                    names.append(generics[0].title())  # one name twice, in two cases
                drug["openfda"] = {"brand_name": [brand], "generic_name": names, "substance_name": list(generics), "product_type": ["HUMAN PRESCRIPTION DRUG"]}
        if rng.random() < 0.25:
            drug["drugdosagetext"] = rng.choice(DOSAGE_TEXTS)
        if rng.random() < 0.2:
            unit = rng.choice(["801", "802", "803", "804", "805", "806"])
            drug.update(drugtreatmentduration=str(rng.randint(1, {"801": 6, "802": 24, "803": 52, "804": 400, "805": 72, "806": 90}[unit])), drugtreatmentdurationunit=as_number(unit))
        if "drugstartdate" not in drug and rng.random() < 0.15:  # a partial start date: month or year
            year, month = rng.randint(2012, 2024), rng.randint(1, 12)
            form = rng.choice(["610", "602"])
            drug.update(drugstartdateformat=as_number(form), drugstartdate=f"{year}{month:02d}" if form == "610" else str(year))
        if rng.random() < 0.1:
            drug.update(drugenddateformat="102", drugenddate=f"{rng.randint(2013, 2025)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}")
        if era == "aers":
            continue
        if rng.random() < 0.5:
            drug["actiondrug"] = as_number(rng.choices(["1", "2", "3", "4", "5", "6"], weights=[30, 5, 2, 15, 30, 18])[0])
        if rng.random() < 0.15:
            drug.update(drugstructuredosagenumb=rng.choice(["1", "2", "4.5", "15", "300"]), drugstructuredosageunit=as_number(rng.choice(["002", "003", "003", "004"])))
            if rng.random() < 0.6:
                drug.update(drugseparatedosagenumb="1", drugintervaldosageunitnumb=str(rng.randint(1, 3)), drugintervaldosagedefinition=as_number(rng.choice(["804", "804", "803", "812", "813"])))
        if rng.random() < 0.08:
            recurred = rng.choice(["1", "2", "3"])
            drug["drugrecurreadministration"] = as_number(recurred)
            if recurred == "1":
                drug["drugrecurrence"] = [{"drugrecuraction": record["patient"]["reaction"][0]["reactionmeddrapt"]}]
        if rng.random() < 0.06:
            drug["drugadditional"] = as_number(rng.choice(["1", "2", "3"]))


def legacy_id(number: str) -> str:
    """An AERS-era safetyreportid: seven digits, a dash and a check digit ("5801206-7")."""
    n = int(number) % 10_000_000
    return f"{n:07d}-{n % 9 + 1}"


CAERS_OUTCOMES = [
    ["VISITED AN ER"], ["HOSPITALIZATION"], ["DEATH"], ["NON-SERIOUS INJURIES/ ILLNESS"],
    ["Other Serious or Important Medical Event", "Other Serious Outcome"], ["LIFE THREATENING", "HOSPITALIZATION"],
    ["VISITED A HEALTH CARE PROVIDER"], ["SERIOUS INJURIES/ ILLNESS"], ["DISABILITY"],
]


def weighted(rng: random.Random, items):
    names, weights = zip(*items)
    return rng.choices(names, weights=weights, k=1)[0]


def received(rng: random.Random) -> str:
    # Reports grow over the years, as kratom reports did; a few are AERS-era (2008-2012).
    year = rng.choices(range(2008, 2026), weights=[1, 1, 1, 1, 2, 2, 3, 4, 6, 9, 11, 12, 13, 14, 15, 16, 17, 17], k=1)[0]
    return f"{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"


def faers_record(rng: random.Random, report_id: str, kratom_name: str | None, *, version: int = 1, extra_drugs: int | None = None, openfda_blocks: bool = False, era: str | None = None) -> dict:
    """One FAERS record. Its era (AERS before FAERS_START, else FAERS) follows its received
    date unless given; an AERS-era record gets a legacy id in place of report_id."""
    day = received(rng)
    era = era or ("aers" if day < FAERS_START else "faers")
    drugs = []
    if kratom_name is not None:
        drug = {"drugcharacterization": rng.choices(["1", "2", "3"], weights=[85, 12, 3])[0], "medicinalproduct": kratom_name}
        if rng.random() < 0.5:
            drug["drugadministrationroute"] = rng.choice(["048", "065", "041"])
        if rng.random() < 0.3:
            drug["drugindication"] = rng.choice(["PAIN", "DRUG WITHDRAWAL SYNDROME", "PRODUCT USED FOR UNKNOWN INDICATION", "ANXIETY"])
        if "MITRAGYN" in kratom_name.upper():
            drug["activesubstance"] = {"activesubstancename": "MITRAGYNINE" if "INE" in kratom_name.upper() else "MITRAGYNA SPECIOSA LEAF"}
        drugs.append(drug)
    count = rng.choices([0, 1, 2, 3, 4], weights=[40, 25, 15, 12, 8])[0] if extra_drugs is None else extra_drugs
    for name in rng.sample(OTHER_DRUGS, k=min(count, len(OTHER_DRUGS))) + [rng.choice(OTHER_DRUGS) for _ in range(max(0, count - len(OTHER_DRUGS)))]:
        drug = {"drugcharacterization": rng.choice(["1", "2", "2"]), "medicinalproduct": name, "activesubstance": {"activesubstancename": name}}
        if openfda_blocks:
            drug["openfda"] = {"generic_name": [name], "brand_name": [name.title()], "route": ["ORAL"], "product_type": ["HUMAN PRESCRIPTION DRUG"], "unii": ["ABC123DEF4"], "rxcui": ["123456", "654321"], "manufacturer_name": ["Example Pharma Inc."]}
        drugs.append(drug)
    rng.shuffle(drugs)
    reactions = []
    for pt in dict.fromkeys(weighted(rng, REACTIONS) for _ in range(rng.choices([1, 2, 3, 4, 6], weights=[30, 30, 20, 12, 8])[0])):
        reaction = {"reactionmeddrapt": spell(rng, pt, era)}
        if era == "faers" and rng.random() < 0.6:  # reactionoutcome is FAERS-only
            reaction["reactionoutcome"] = "5" if pt == "Death" else rng.choice(["1", "2", "3", "4", "6"])
        reactions.append(reaction)
    patient: dict = {"reaction": reactions, "drug": drugs}
    unit = rng.choices(["801", "802", "800", "804", None], weights=[78, 3, 6, 2, 11])[0]
    if unit:
        patient["patientonsetageunit"] = unit
        patient["patientonsetage"] = {"801": str(rng.randint(16, 78)), "802": str(rng.randint(1, 30)), "800": str(rng.randint(0, 8)), "804": str(rng.randint(1, 300))}[unit]
    sex = rng.choices(["1", "2", "0", None], weights=[60, 33, 3, 4])[0]
    if sex:
        patient["patientsex"] = sex
    if rng.random() < 0.3:
        patient["patientweight"] = f"{rng.uniform(45, 130):.1f}"
    if rng.random() < 0.4:
        patient["patientagegroup"] = rng.choice(["4", "5", "5", "5", "6"])
    death = any(r["reactionmeddrapt"].upper() == "DEATH" for r in reactions) or rng.random() < 0.08
    serious = death or rng.random() < 0.7
    record = {
        "safetyreportid": report_id if era == "faers" else legacy_id(report_id),
        "receivedate": day,
        "receivedateformat": "102",
        "serious": "1" if serious else "2",
        "primarysource": {"qualification": rng.choice(["1", "2", "3", "5", "5"])},
        "patient": patient,
    }
    if era == "aers":
        record["primarysource"]["reportercountry"] = weighted(rng, AERS_COUNTRIES)
    else:
        record["safetyreportversion"] = str(version)
        country = weighted(rng, FAERS_COUNTRIES)
        roll = rng.random()
        if roll < 0.85:
            record["occurcountry"] = country
            record["primarysource"]["reportercountry"] = country if rng.random() < 0.9 else "US"
        elif roll < 0.95:  # no occurcountry: the reporter's country stands in
            record["primarysource"]["reportercountry"] = country
        else:  # a value that is no country
            record["primarysource"]["reportercountry"] = "COUNTRY NOT SPECIFIED"
        roll = rng.random()
        if roll < 0.5:  # the case event date, in the only place openFDA's FAERS records carry it
            onset = dt.date(int(day[:4]), int(day[4:6]), int(day[6:])) - dt.timedelta(days=rng.randint(0, 400))
            patient["summary"] = {"narrativeincludeclinical": f"CASE EVENT DATE: {onset:%Y%m%d}"}
        elif roll < 0.56:  # a partial date: kept as written, no event_date
            patient["summary"] = {"narrativeincludeclinical": f"CASE EVENT DATE: {day[:6]}"}
    add_case_fields(record, day)
    add_drug_details(record, era)
    if serious:
        if death:
            record["seriousnessdeath"] = "1"
        for name, p in [("seriousnesshospitalization", 0.45), ("seriousnesslifethreatening", 0.15), ("seriousnessdisabling", 0.05), ("seriousnessother", 0.6), ("seriousnesscongenitalanomali", 0.01)]:
            if rng.random() < p:
                record[name] = "1"
    return record


def caers_record(rng: random.Random, report_number: str, kratom_name: str) -> dict:
    products = [{"role": "SUSPECT", "name_brand": kratom_name, "industry_code": "54", "industry_name": "Vit/Min/Prot/Unconv Diet(Human/Animal)"}]
    for name in rng.sample(OTHER_SUPPLEMENTS, k=rng.choices([0, 1, 2], weights=[60, 30, 10])[0]):
        products.append({"role": rng.choice(["SUSPECT", "CONCOMITANT"]), "name_brand": name, "industry_code": "54", "industry_name": "Vit/Min/Prot/Unconv Diet(Human/Animal)"})
    created = received(rng)
    record = {
        "report_number": report_number,
        "outcomes": rng.choice(CAERS_OUTCOMES),
        "date_created": created,
        # CAERS spells terms in upper case (real records: "FAECES DISCOLOURED"), a few in MedDRA's case.
        "reactions": [t.upper() if rng.random() < 0.85 else t for t in dict.fromkeys(weighted(rng, REACTIONS) for _ in range(rng.randint(1, 4)))],
        "products": products,
    }
    if rng.random() < 0.8:
        record["date_started"] = created[:6] + "01"
    consumer = {"gender": rng.choice(["Female", "Male", "Not Available"])}
    roll = rng.random()
    if roll < 0.72:
        consumer.update(age=f"{rng.randint(18, 70)}.00", age_unit="year(s)")
    elif roll < 0.75:
        consumer.update(age=f"{rng.randint(1, 7)}.00", age_unit="decade(s)")
    record["consumer"] = consumer
    return record


def fixture_dataset(faers_count: int = 2150, caers_count: int = 140) -> tuple[list[dict], list[dict]]:
    """The synthetic kratom dataset recorded into tests/cassettes/synthetic_fetch_*.json."""
    rng = random.Random(SEED)
    faers = [faers_record(rng, str(10_000_000 + i), weighted(rng, FAERS_KRATOM_NAMES), version=rng.choice([1, 1, 1, 2, 3])) for i in range(faers_count)]
    # Products named only in rarer ways, so that several search terms find something.
    faers += [faers_record(rng, str(11_000_000 + i), name, era="faers") for i, name in enumerate(["KRATUM", "Kratum capsules", "7-OH TABLETS", "7-OH", "KETUM LEAF", "BIAK-BIAK", "Mitragynine HCl"])]
    # Kratom only in the active substance; the product name is generic.
    herbal = faers_record(rng, "11100001", None, era="faers")
    herbal["patient"]["drug"].append({"drugcharacterization": "1", "medicinalproduct": "HERBAL SUPPLEMENT", "activesubstance": {"activesubstancename": "MITRAGYNINE"}})
    faers.append(herbal)
    # One report in two versions, as a mirror that does not collapse versions would serve it:
    # version 1 misspelt the product, the follow-up (version 2) corrected it.
    faers.append(faers_record(rng, "12000001", "KRATUM", version=1, era="faers"))
    faers.append(faers_record(rng, "12000001", "KRATOM", version=2, era="faers"))
    # Look-alikes the 7-OH search finds that are not kratom: each report names one and no kratom.
    faers += [faers_record(rng, str(11_200_000 + i), None, era="faers") for i in range(len(LOOK_ALIKES))]
    for record, name in zip(faers[-len(LOOK_ALIKES):], LOOK_ALIKES):
        record["patient"]["drug"].append({"drugcharacterization": "1", "medicinalproduct": name})
    # One report naming one term in three spellings, and a caret and an apostrophe spelling of
    # another: each term counts once for the report.
    spelled = faers_record(rng, "11300001", "KRATOM", era="faers")
    spelled["patient"]["reaction"] = [{"reactionmeddrapt": t} for t in ["Drug dependence", "DRUG DEPENDENCE", "Drug Dependence", "Beau^s lines", "Beau's lines"]]
    faers.append(spelled)
    faers += duplicate_cases(rng)
    caers = [caers_record(rng, str(200_000 + i), weighted(rng, CAERS_KRATOM_NAMES)) for i in range(caers_count)]
    caers += caers_duplicates(rng)
    faers += case_series()
    caers += caers_lookalikes()
    faers += clinical_reports()
    return faers, caers


def case_report(rng: random.Random, report_id: str, *, sex="2", age="34", country="US", event="20210305", drugs=None, reactions=("Seizure", "Vomiting"),
                received_on="20210412", **fields) -> dict:
    """A FAERS report of one made-up patient, for the duplicate-case fixtures: every field the
    case rules compare is set here, so that which of them agree is the test's choice."""
    record = faers_record(rng, report_id, None, era="faers")
    record.pop("companynumb", None)
    record["receivedate"] = received_on
    record["patient"] = {"reaction": [{"reactionmeddrapt": t} for t in reactions], "drug": drugs or [
        {"drugcharacterization": "1", "medicinalproduct": "KRATOM", "drugindication": "Pain", "drugstartdateformat": "102", "drugstartdate": "20210101"},
        {"drugcharacterization": "2", "medicinalproduct": "GABAPENTIN", "drugindication": "Neuralgia"},
    ]}
    for key, value in (("patientsex", sex), ("patientonsetage", age)):
        if value is not None:
            record["patient"][key] = value
    if age is not None:
        record["patient"]["patientonsetageunit"] = "801"
    if event is not None:
        record["patient"]["summary"] = {"narrativeincludeclinical": f"CASE EVENT DATE: {event}"}
    record.pop("occurcountry", None)
    if country is not None:
        record["occurcountry"] = country
        record["primarysource"]["reportercountry"] = country
    record.update(fields)
    return record


ARTICLE = [
    "Smith J, Doe A. Skin hyperpigmentation after long-term kratom use. J Clin Case Rep. 2020;10(3):123.",
    "SMITH J, DOE A: SKIN HYPERPIGMENTATION AFTER LONG-TERM KRATOM USE. J CLIN CASE REP 2020;10(3):123",
    "Smith J,  Doe A.  Skin hyperpigmentation after long term kratom use.  J Clin Case Rep. 2020; 10(3): 123.",
]


def duplicate_cases(rng: random.Random) -> list[dict]:
    """SYNTHETIC duplicate cases of each kind the case rules know, and look-alikes that are
    not one case (tests/README.md lists them; the oracle groups them on its own)."""
    company = {"primarysource": {"qualification": "1", "reportercountry": "US"}}
    hyper = ("Skin hyperpigmentation", "Pruritus")
    return [
        # A consumer and a company report of one event: the same drugs and reactions (spelled
        # otherwise), every field agreeing but the indications the company left out.
        case_report(rng, "11400001", primarysource={"qualification": "5", "reportercountry": "US"}),
        case_report(rng, "11400002", reactions=("SEIZURE", "Vomiting"), received_on="20210420", companynumb="US-ACME-2021-000777", **company,
                    drugs=[{"drugcharacterization": "1", "medicinalproduct": "Kratom", "drugstartdateformat": "102", "drugstartdate": "20210101"},
                           {"drugcharacterization": "2", "medicinalproduct": "GABAPENTIN"}]),
        # Near-twins that are not the same case: other reactions; the same sets but two fields differ.
        case_report(rng, "11400003", reactions=("Seizure", "Nausea")),
        case_report(rng, "11400004", sex="1", country="CA"),
        # A literature case reported by three companies, the reference spelled three ways (the
        # third gives no age: missing is no contradiction), and a second patient of the article.
        case_report(rng, "11400011", sex="1", age="43", event=None, reactions=hyper, companynumb="US-GLOBEX-2020-000011",
                    primarysource={"qualification": "1", "reportercountry": "US", "literaturereference": ARTICLE[0]}),
        case_report(rng, "11400012", sex="1", age="43", event=None, reactions=hyper, companynumb="US-INITECH-2020-000012",
                    drugs=[{"drugcharacterization": "1", "medicinalproduct": "MITRAGYNA SPECIOSA"}, {"drugcharacterization": "2", "medicinalproduct": "QUETIAPINE"}],
                    primarysource={"qualification": "3", "reportercountry": "US", "literaturereference": ARTICLE[1]}),
        case_report(rng, "11400013", sex="1", age=None, event=None, reactions=("Hyperpigmentation",), companynumb="US-UMBRELLA-2020-000013",
                    primarysource={"qualification": "1", "reportercountry": "US", "literaturereference": ARTICLE[2]}),
        case_report(rng, "11400014", sex="2", age="51", event=None, reactions=hyper, companynumb="US-STARK-2020-000014",
                    primarysource={"qualification": "1", "reportercountry": "US", "literaturereference": ARTICLE[0]}),
        # An explicit link: the second report names the first one's company number as its duplicate.
        case_report(rng, "11400021", sex="1", age="29", country="TH", event="20190101", reactions=("Drug dependence",), companynumb="TH-GLOBEX-2019-055501"),
        case_report(rng, "11400022", sex=None, age=None, country="TH", event=None, reactions=("Withdrawal syndrome",),
                    reportduplicate={"duplicatesource": "GLOBEX", "duplicatenumb": "TH-GLOBEX-2019-055501"}),
        # One company number on two reports, and a chain: 11400052 shares 11400051's company
        # number and is a demographic-clinical twin of 11400053, so the three are one case.
        case_report(rng, "11400041", sex="1", age="60", event="20220202", reactions=("Jaundice",), companynumb="US-ACME-2022-004242"),
        case_report(rng, "11400042", sex="1", age="60", event="20220202", reactions=("Cholestasis",), companynumb="US-ACME-2022-004242"),
        case_report(rng, "11400051", sex="2", age="25", event="20230515", reactions=("Overdose",), companynumb="US-STARK-2023-000051"),
        case_report(rng, "11400052", sex="2", age="25", event="20230515", reactions=("Death", "Overdose"), companynumb="US-STARK-2023-000051"),
        case_report(rng, "11400053", sex="2", age="25", event="20230515", reactions=("DEATH", "OVERDOSE"), country=None),
    ]


def drug(name: str, role="1", **fields) -> dict:
    return {"drugcharacterization": role, "medicinalproduct": name, **fields}


def clinical_reports() -> list[dict]:
    """SYNTHETIC skin reports a clinical profile must read right (issue 20): several kratom
    products of one report with different actions taken (dechallenge), pigmenting drugs named by
    brand (mapped by openFDA, in other case, or not mapped at all), a combination product, start
    dates in formats 102/610/602, durations in hours and minutes, rechallenge, codes as numbers and
    missing fields. A generator of their own: the rest of the dataset stays as it was."""
    rng = random.Random(SEED + 20)

    def report(report_id, reactions, drugs, *, event=None, era="faers", **fields):
        record = faers_record(rng, report_id, None, era=era)
        record["patient"]["drug"] = drugs
        record["patient"]["reaction"] = [{"reactionmeddrapt": t, **({"reactionoutcome": o} if o else {})} for t, o in reactions]
        record["patient"].pop("summary", None)
        if event:
            record["patient"]["summary"] = {"narrativeincludeclinical": f"CASE EVENT DATE: {event}"}
        record.update(fields)
        return record

    minocin = {"brand_name": ["MINOCIN"], "generic_name": ["MINOCYCLINE HYDROCHLORIDE"], "substance_name": ["MINOCYCLINE HYDROCHLORIDE"]}
    return [
        # Two kratom products, one stopped (the reaction resolved), one not changed; minocycline by brand.
        report("11700001", [("Skin hyperpigmentation", "1"), ("Pruritus", "2")], [
            drug("KRATOM POWDER", "1", actiondrug="1", drugstartdateformat="102", drugstartdate="20200110", drugenddateformat="102", drugenddate="20210301",
                 drugdosagetext="15 G DAILY", drugstructuredosagenumb="15", drugstructuredosageunit="002", drugseparatedosagenumb="1", drugintervaldosageunitnumb="1",
                 drugintervaldosagedefinition="804", drugadministrationroute="048", drugtreatmentduration="14", drugtreatmentdurationunit="802",
                 drugdosageform="Powder", drugcumulativedosagenumb="6300", drugcumulativedosageunit="002"),
            drug("MAENG DA KRATOM", "2", actiondrug="4", drugstartdateformat="610", drugstartdate="202006"),
            drug("MINOCIN", "2", openfda=minocin, activesubstance={"activesubstancename": "MINOCYCLINE HYDROCHLORIDE"}, drugindication="Acne"),
        ], event="20210215"),
        # Amiodarone by brand, its generic names in another case; kratom withdrawn, codes as numbers, a rechallenge.
        report("11700002", [("Hyperpigmentation", "3")], [
            drug("KRATOM", 1, actiondrug=1, drugrecurreadministration=1, drugrecurrence=[{"drugrecuraction": "Hyperpigmentation"}], drugstartdateformat=602, drugstartdate="2018",
                 drugtreatmentduration="3", drugtreatmentdurationunit=801),
            drug("CORDARONE", 2, openfda={"brand_name": ["CORDARONE"], "generic_name": ["Amiodarone hydrochloride", "AMIODARONE HYDROCHLORIDE"]}),
        ], event="20210601"),
        report("11700003", [("Pigmentation disorder", None), ("Skin discolouration", "6")], [
            drug("Kratom capsules", "1", actiondrug="6"),
            drug("PACERONE", "2", openfda={"brand_name": ["PACERONE"], "generic_name": ["amiodarone hydrochloride"]}),
        ]),
        # Hydroxychloroquine by brand; kratom dose reduced, the reaction not recovered.
        report("11700004", [("Hyperpigmentation", "3")], [
            drug("KRATOM", "1", actiondrug="2", drugstartdateformat="102", drugstartdate="20190301", drugdosagetext="2 TSP TWICE A DAY"),
            drug("PLAQUENIL", "2", openfda={"brand_name": ["PLAQUENIL"], "generic_name": ["HYDROXYCHLOROQUINE SULFATE"], "substance_name": ["HYDROXYCHLOROQUINE SULFATE"]}),
        ], event="20200901"),
        # Kratom alone, almost nothing filled in.
        report("11700005", [("Skin hyperpigmentation", None)], [drug("KRATOM", "1")]),
        # An AERS-era report: MINOCIN with no openfda block and no active substance stays MINOCIN.
        report("11700006", [("HYPERPIGMENTATION", None)], [drug("KRATOM", "1", drugstartdateformat="102", drugstartdate="20100505"), drug("MINOCIN", "2"), drug("NEURONTIN", "2")],
               era="aers", receivedate="20110620"),
        # Minocycline named generically, its active substance given but no openfda block.
        report("11700007", [("Skin discolouration", "2")], [
            drug("KRATOM EXTRACT", "1", actiondrug="1", drugadditional="1"),
            drug("MINOCYCLINE", "2", activesubstance={"activesubstancename": "MINOCYCLINE HYDROCHLORIDE"}),
            drug("ADVIL", "2", openfda={"brand_name": ["ADVIL"], "substance_name": ["IBUPROFEN"]}),  # substance names only
        ], event="20220110"),
        # A combination product (two generic names) and a one-time use: durations in hours and minutes.
        report("11700008", [("Vomiting", "1"), ("Tachycardia", "1")], [
            drug("KRATOM", "1", actiondrug="6", drugtreatmentduration="6", drugtreatmentdurationunit="805"),
            drug("7-HYDROXYMITRAGYNINE", "1", actiondrug="6", drugtreatmentduration="45", drugtreatmentdurationunit=806),
            drug("SUBOXONE", "2", openfda={"brand_name": ["SUBOXONE"], "generic_name": ["BUPRENORPHINE HYDROCHLORIDE", "NALOXONE HYDROCHLORIDE"]}),
            drug("NEURONTIN", "2", openfda={"brand_name": ["NEURONTIN"], "generic_name": ["GABAPENTIN"]}),
            drug("GABAPENTIN", "1", activesubstance={"activesubstancename": "GABAPENTIN"}),
        ], event="20230303"),
        # Three kratom products with three different actions taken, and a rechallenge that did not recur.
        report("11700009", [("Hyperpigmentation", "4"), ("Drug dependence", "3")], [
            drug("KRATOM", "1", actiondrug="1", drugrecurreadministration="2", drugstartdateformat="102", drugstartdate="20170101"),
            drug("RED VEIN KRATOM", "1", actiondrug="3"),
            drug("MITRAGYNINE", "3", actiondrug="5", activesubstance={"activesubstancename": "MITRAGYNINE"}),
            drug("MINOCIN", "2", openfda={"brand_name": ["Minocin"], "generic_name": ["Minocycline Hydrochloride"]}),
        ], event="20190815"),
    ]


def caers_duplicates(rng: random.Random) -> list[dict]:
    """Two SYNTHETIC CAERS reports of one event (same products, reactions, sex, age and start
    date) and a third with another age and start date (not the same case)."""
    reports = []
    for number, age, started in (("299001", "41.00", "20200601"), ("299002", "41.00", "20200601"), ("299003", "63.00", "20200801")):
        record = caers_record(rng, number, "KRATOM POWDER")
        record.update(products=[{"role": "SUSPECT", "name_brand": "KRATOM POWDER", "industry_code": "54", "industry_name": "Vit/Min/Prot/Unconv Diet(Human/Animal)"}],
                      reactions=["VOMITING", "NAUSEA"], date_started=started, consumer={"gender": "Female", "age": age, "age_unit": "year(s)"})
        reports.append(record)
    return reports


# Case-series articles (issue 19): each describes two or three patients, each patient is
# reported by two companies citing the article in spellings of their own, and a report that
# leaves fields out could bridge two patients. Year, volume, pages kept apart by numbers.
SERIES = [
    ("Nguyễn T, Müller K. Kratom & hepatotoxicity: a case series of three patients. Clin Toxicol (Phila). 2019;57(6):412-418.", 2019),
    ("O’Connor P, Lee S. Seizures after kratom withdrawal - two cases. Epilepsy Behav Rep. 2021;15:100421.", 2021),
    ("Garcia-Lopez M, Chen W. Kratom-associated cardiac arrest in young adults: a case series. Am J Emerg Med. 2022;52:270.e1-270.e4.", 2022),
    ("Brown R, Adams T. Intrahepatic cholestasis after kratom use: case series. ACG Case Rep J. 2020;7(4):e00342.", 2020),
    ("Ahmad F, Ibrahim N. Kratom use & withdrawal in two adults. Addict Behav Rep. 2023;17:100482.", 2023),
    ("Kowalski J, Nowak A. Skin discolouration in long-term kratom users: three cases. JAAD Case Rep. 2024;44:15-18.", 2024),
]
# The authors' follow-up: the same names and title, another year, volume and pages (not the same article).
SERIES_FOLLOW_UP = "Nguyễn T, Müller K. Kratom & hepatotoxicity: a case series of three patients. Clin Toxicol (Phila). 2020;58(1):12-18."


def cited(reference: str, way: int, number: int) -> str:
    """One article as companies cite it: as published; in upper case without accents; with
    "and" for "&", hyphens as spaces and a DOI; with a straight apostrophe, spaces after
    punctuation and a PubMed id."""
    import unicodedata

    if way == 1:
        return "".join(c for c in unicodedata.normalize("NFKD", reference) if not unicodedata.combining(c)).upper()
    if way == 2:
        return reference.replace("&", "and").replace(" - ", ": ").replace("-", " ") + f" doi: 10.1080/1556365{number}.2019.1"
    if way == 3:
        return reference.replace("’", "'").replace(";", "; ").replace(":", ": ") + f" PMID: 3{number:07d}"
    return reference


def case_series() -> list[dict]:
    """SYNTHETIC case-series articles and the reports that cite them (SERIES), with a bridging
    report each: its missing or coarser fields agree with more than one patient of the article
    (all of them; only the second by an age in months; only the first by a decade; by a year
    of event; by a country named as AERS names it; by a value that is no country). Then a
    company number on two patients, a duplicate number naming another patient's report, a
    demographic-clinical bridge, and a placeholder literature reference."""
    rng = random.Random(f"{SEED}-series")
    out = []
    for i, (reference, year) in enumerate(SERIES):
        base = 11_500_000 + 100 * i
        patients = [dict(sex="2", age=str(40 + i), country="US", event=f"{year - 1}0510", reactions=("Hepatotoxicity", "Jaundice")),
                    dict(sex="1", age=str(50 + i), country="US", event=f"{year - 1}06", reactions=("Seizure", "Cardiac arrest"))]
        if i in (0, 2, 5):
            patients.append(dict(sex="2", age=str(25 + i), country="CA", event=f"{year - 1}", reactions=("Skin discolouration", "Pruritus")))
        n = 0
        for p, patient in enumerate(patients):
            for company in range(2):
                n += 1
                out.append(case_report(rng, str(base + n), received_on=f"{year}0{p + 2}1{company}", **patient,
                                       primarysource={"qualification": "1", "reportercountry": patient["country"], "literaturereference": cited(reference, (p + company) % 4, base + n)}))
        bridge = dict(sex=None, age=None, country=None, event=None, reactions=("Drug abuse",))
        primary = {"qualification": "1", "literaturereference": cited(reference, (i + 1) % 4, base + 99)}
        record = case_report(rng, str(base + 99), received_on=f"{year}0901", **bridge, primarysource=primary)
        if i == 1:  # 612 months: 51 years, the second patient's age only
            record["patient"].update(patientonsetage="612", patientonsetageunit="802")
        elif i == 2:  # the 40s: the first patient's age only
            record["patient"].update(patientonsetage="4", patientonsetageunit="800")
        elif i == 3:  # a year of event, every patient's; then a month, the second's only
            record["patient"]["summary"] = {"narrativeincludeclinical": f"CASE EVENT DATE: {year - 1}"}
            second = case_report(rng, str(base + 98), received_on=f"{year}0902", **{**bridge, "event": f"{year - 1}06"}, primarysource=primary)
            out.append(second)
        elif i == 4:  # the country as AERS names it, and the second patient's sex
            record["patient"]["patientsex"] = "1"
            record["primarysource"]["reportercountry"] = "UNITED STATES"
        elif i == 5:  # a value that is no country, and the first and third patients' sex
            record["patient"]["patientsex"] = "2"
            record["primarysource"]["reportercountry"] = "COUNTRY NOT SPECIFIED"
        out.append(record)
    out.append(case_report(rng, "11500999", sex="2", age="40", event="20180510", reactions=("Cholestasis",), received_on="20200601",
                           primarysource={"qualification": "1", "reportercountry": "US", "literaturereference": SERIES_FOLLOW_UP}))
    # One company number on two patients (a man of 30; a woman of 62 in two reports).
    number = "US-GLOBEX-2022-009999"
    out += [case_report(rng, "11600001", sex="1", age="30", reactions=("Overdose",), companynumb=number),
            case_report(rng, "11600002", sex="2", age="62", reactions=("Jaundice",), companynumb=number),
            case_report(rng, "11600003", sex="2", age="62", reactions=("Hepatotoxicity",), companynumb=number)]
    # A duplicate number naming the company number of another patient's report.
    out += [case_report(rng, "11600011", sex="2", age="45", reactions=("Anxiety",), companynumb="US-ACME-2023-001111"),
            case_report(rng, "11600012", sex="1", age="45", reactions=("Insomnia",), reportduplicate={"duplicatesource": "ACME", "duplicatenumb": "US-ACME-2023-001111"})]
    # The same drugs and reactions: a woman, a report without sex, a man (five fields agree each time).
    out += [case_report(rng, f"1160002{k}", sex=sex, event="20220707", reactions=("Tachycardia", "Agitation")) for k, sex in ((1, "2"), (2, None), (3, "1"))]
    # A placeholder for a reference, on two reports of different patients.
    out += [case_report(rng, "11600031", reactions=("Hallucination",), primarysource={"qualification": "1", "reportercountry": "US", "literaturereference": "Literature"}),
            case_report(rng, "11600032", sex="1", reactions=("Constipation",), primarysource={"qualification": "1", "reportercountry": "US", "literaturereference": "LITERATURE."})]
    return out


def caers_lookalikes() -> list[dict]:
    """Two SYNTHETIC CAERS reports of two men of 35 who took "KRATOM" and had nausea and
    anxiety, with other outcomes, one without a start date: two of CAERS's three fields agree
    and the third is missing, too little to call them one patient."""
    rng = random.Random(f"{SEED}-caers-lookalikes")
    reports = []
    for number, outcomes, started in (("299101", ["VISITED AN ER"], "20220301"), ("299102", ["HOSPITALIZATION"], None)):
        record = caers_record(rng, number, "KRATOM")
        record.update(products=[{"role": "SUSPECT", "name_brand": "KRATOM", "industry_code": "54", "industry_name": "Vit/Min/Prot/Unconv Diet(Human/Animal)"}],
                      reactions=["NAUSEA", "ANXIETY"], outcomes=outcomes, consumer={"gender": "Male", "age": "35.00", "age_unit": "year(s)"})
        record.pop("date_started", None)
        if started:
            record["date_started"] = started
        reports.append(record)
    return reports


# ---- how openFDA answers a search ------------------------------------------------------

def tokens(value: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", value.lower()) if t]


def field_values(record, path: list[str]) -> list[str]:
    if not path:
        if isinstance(record, list):
            return [str(v) for v in record]
        return [str(record)] if record is not None else []
    if isinstance(record, list):
        return [v for item in record for v in field_values(item, path)]
    if isinstance(record, dict):
        return field_values(record.get(path[0]), path[1:])
    return []


def clause_matches(record: dict, clause: str) -> bool:
    field, value = clause.split(":", 1)
    if value.startswith("[") and value.endswith("]") and " TO " in value:  # a range, bounds included
        low, high = (float(v) for v in value[1:-1].split(" TO "))
        for text in field_values(record, field.split(".")):
            try:
                if low <= float(text) <= high:
                    return True
            except ValueError:
                pass
        return False
    if field.endswith(".exact"):  # the whole value, as openFDA's upper-casing analyzer indexes it
        wanted = exact_index(value.strip('"').replace('\\"', '"'))
        return any(exact_index(text) == wanted for text in field_values(record, field[: -len(".exact")].split(".")))
    for text in field_values(record, field.split(".")):
        words = tokens(text)
        if value.startswith('"'):
            phrase = tokens(value.strip('"'))
            if any(words[i : i + len(phrase)] == phrase for i in range(len(words))):
                return True
        elif "*" in value:
            pattern = re.compile("^" + re.escape(value.lower()).replace(r"\*", ".*") + "$")
            if any(pattern.match(w) for w in words):
                return True
        elif value.lower() in words:
            return True
    return False


def exact_index(value: str) -> str:
    """A value as openFDA's .exact fields hold it: upper case (its upper_case_not_tokenized
    analyzer), an apostrophe as a caret (how openFDA stores it)."""
    return value.upper().replace("'", "^")


def split_outside(text: str, separator: str) -> list[str]:
    """text split at every separator outside double quotes and parentheses."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quoted:
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "()":
            depth += 1 if ch == "(" else -1
        elif not quoted and depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i])
            i = start = i + len(separator)
            continue
        i += 1
    return parts + [text[start:]]


def unwrap(text: str) -> str:
    """text without parentheses around the whole of it."""
    text = text.strip()
    while text.startswith("(") and closing(text) == len(text) - 1:
        text = text[1:-1].strip()
    return text


def closing(text: str) -> int:
    """Where the parenthesis opening text closes (outside double quotes)."""
    depth, quoted = 0, False
    for i, ch in enumerate(text):
        if ch == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and ch in "()":
            depth += 1 if ch == "(" else -1
            if depth == 0:
                return i
    return -1


def search_hits(records: list[dict], search: str) -> list[dict]:
    """Records matching a search of the forms kratom-ae sends: 'f:v OR f:v', or groups of them
    joined by AND ('(f:v OR f:v) AND (f:v OR f:v)', a comparator's counts), in the order
    openFDA would sort them here: by received date, then id."""
    groups = [[unwrap(c) for c in split_outside(unwrap(g), " OR ")] for g in split_outside(search, " AND ")]
    hits = [r for r in records if all(any(clause_matches(r, c) for c in clauses) for clauses in groups)]
    return sorted(hits, key=sort_key)


def sort_key(record: dict) -> tuple[int, str]:
    day = record.get("receivedate") or record.get("date_created") or "19700101"
    ms = int(dt.datetime.strptime(day, "%Y%m%d").replace(tzinfo=dt.timezone.utc).timestamp() * 1000)
    return ms, "safetyreport#" + str(record.get("safetyreportid") or record.get("report_number")) + "v" + str(record.get("safetyreportversion", ""))


def envelope(results: list[dict], total: int, skip: int, limit: int, disclaimer: str) -> dict:
    return {
        "meta": {
            "disclaimer": disclaimer,
            "terms": "https://open.fda.gov/terms/",
            "license": "https://open.fda.gov/license/",
            "last_updated": LAST_UPDATED,
            "results": {"skip": skip, "limit": limit, "total": total},
        },
        "results": results,
    }


def error(status: int, code: str, message: str) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps({"error": {"code": code, "message": message}}).encode()


def real_body(name: str) -> bytes:
    return (REAL / name).read_bytes()


NO_MATCHES = "error-404_NOT_FOUND_food-enforcement_FDA-openfda-issue58.json"


def respond(records: list[dict], path: str, params: dict, link_base: str, disclaimer: str = "SYNTHETIC data, not from openFDA.", cache: dict | None = None) -> tuple[int, dict, bytes]:
    """(status, headers, body) openFDA would send for a search request on `records`.
    `cache` (a dict kept by the caller) saves re-running the same search for every page."""
    allowed = {"search", "limit", "skip", "sort", "search_after", "count"}
    for name in params:
        if name not in allowed:
            return error(400, "BAD_REQUEST", f"Invalid parameter: {name}")
    if "count" in params:
        return count_response(records, params, cache if cache is not None else {})
    try:
        limit = int(params.get("limit", "1"))
        skip = int(params.get("skip", "0"))
    except ValueError:
        return error(400, "BAD_REQUEST", "Invalid limit parameter value.")
    if limit > 1000:
        return error(400, "BAD_REQUEST", "Limit cannot exceed 1000 results for search requests. Use the skip or search_after param to get additional results.")
    if skip > 25000:
        return error(400, "BAD_REQUEST", "Skip value must 25000 or less.")
    if skip and "search_after" in params:
        return error(400, "BAD_REQUEST", "The skip parameter is not supported when using search_after.")
    cache = {} if cache is None else cache
    key = (path, params.get("search", ""))
    if key not in cache:
        hits = search_hits(records, key[1]) if key[1] else sorted(records, key=sort_key)
        cache[key] = (hits, [sort_key(r) for r in hits])
    hits, keys = cache[key]
    total = len(hits)
    if "search_after" in params:
        cursor = dict(part.split("=", 1) for part in params["search_after"].split(";"))
        start = bisect.bisect_right(keys, (int(cursor["0"]), cursor["1"]))
    else:
        start = skip
    page = hits[start : start + limit]
    if not page:
        return 404, {"Content-Type": "application/json"}, real_body(NO_MATCHES)
    headers = {"Content-Type": "application/json"}
    # traversal.js BuildLinkRelNext: skip>0 -> next skip while total > skip+limit; otherwise a
    # full page that is not everything -> search_after with the last hit's sort values.
    base_params = {k: v for k, v in params.items() if k not in ("skip", "search_after")}
    next_query = None
    if skip > 0:
        if total > skip + limit:
            next_query = {**base_params, "skip": skip + limit}
    elif len(page) >= limit and total != len(page) and start + len(page) < total:
        ms, ident = sort_key(page[-1])
        next_query = {**base_params, "skip": 0, "search_after": f"0={ms};1={ident}"}
    if next_query:
        headers["Link"] = f'<{link_base}{path}?{urlencode(next_query)}>; rel="next"'
    return 200, headers, json.dumps(envelope(page, total, skip, limit, disclaimer)).encode()


def count_response(records: list[dict], params: dict, cache: dict) -> tuple[int, dict, bytes]:
    """openFDA's count=: the most frequent values of a field, by number of records."""
    field = params["count"]
    limit = int(params.get("limit", "100"))
    if limit > 1000:
        return error(400, "BAD_REQUEST", "Limit cannot exceed 1000 results for count requests.")
    if "skip" in params:
        return error(400, "BAD_REQUEST", "Should not use skip param when using count.")
    key = ("count", field, params.get("search", ""))
    if key not in cache:
        chosen = search_hits(records, params["search"]) if params.get("search") else records
        counts: dict[str, int] = {}
        for record in chosen:
            values = field_values(record, field.removesuffix(".exact").split("."))
            for value in {exact_index(v) for v in values} if field.endswith(".exact") else set(values):
                counts[value] = counts.get(value, 0) + 1
        cache[key] = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ranked = cache[key][:limit]
    if not ranked:
        return error(404, "NOT_FOUND", "Nothing to count")
    meta = {k: v for k, v in envelope([], 0, 0, limit, "SYNTHETIC data, not from openFDA.")["meta"].items() if k != "results"}
    return 200, {"Content-Type": "application/json"}, json.dumps({"meta": meta, "results": [{"term": t, "count": n} for t, n in ranked]}).encode()


BACKGROUND_TERMS = [f"SYNTHETIC BACKGROUND TERM {i:04d}" for i in range(1, 1101)]


# The comparator of the tests (tests/fixtures/terms_opioids.csv, recorded in
# synthetic_signals_comparator.json): drugs_follow_reactions leaves every report naming one of
# these as it was, and gives none to any other report.
AFFINITY_SHAPE = 0.05
COMPARATOR_OPIOIDS = ("FENTANYL", "OXYCODONE", "TRAMADOL", "BUPRENORPHINE", "HEROIN")


def drugs_follow_reactions(records: list[dict]) -> None:
    """Rename the drugs of background records so that which drug a report names depends on its
    reactions, as in real FAERS (a drug's own adverse effects, its indication). Drawn
    independently, every pair of drug and term would have lambda = 1: the drug-by-event table's
    empirical-Bayes prior would have a component that is a point mass, which no gamma is, and
    no GPS prior could be fitted (queries/ebgm.py). Each (drug, term) has an affinity drawn
    from a gamma of mean 1 and variance 1 / AFFINITY_SHAPE (20: a few pairs reported far more often than chance, most a little less, as in real FAERS); a report's drugs are drawn, without replacement,
    with weights the sum of their affinities for its terms. A generator of its own, so no
    other field of any record changes; reports naming a comparator opioid are left alone."""
    rng = random.Random(SEED + 3)
    pool = [name for name in OTHER_DRUGS if not any(opioid in name for opioid in COMPARATOR_OPIOIDS)]
    affinity: dict = {}
    for record in records:
        drugs = record["patient"]["drug"]
        # Every field of every drug looked at (a brand such as OXYCONTIN names its opioid only
        # in activesubstance or the openfda block).
        if any(opioid in json.dumps(drugs).upper() for opioid in COMPARATOR_OPIOIDS):
            continue
        # Only a drug named plainly by its generic name is renamed: a brand, its openfda block
        # and its active substances stay together as add_drug_details made them.
        plain = [drug for drug in drugs if drug.get("medicinalproduct") in pool and "openfda" not in drug
                 and drug.get("activesubstance", {}).get("activesubstancename", drug["medicinalproduct"]) == drug["medicinalproduct"]]
        terms = [reaction["reactionmeddrapt"] for reaction in record["patient"]["reaction"]]
        left = [name for name in pool if not any(name == drug.get("medicinalproduct") for drug in drugs if drug not in plain)]
        for drug in plain:
            weights = [sum(affinity.setdefault((name, term), rng.gammavariate(AFFINITY_SHAPE, 1 / AFFINITY_SHAPE)) for term in terms) for name in left]
            name = rng.choices(left, weights=weights, k=1)[0]
            left.remove(name)
            drug["medicinalproduct"] = name
            if "activesubstance" in drug:
                drug["activesubstance"] = {"activesubstancename": name}


def background_dataset() -> tuple[list[dict], list[dict]]:
    """The kratom fixture plus SYNTHETIC reports about other products, standing in for "all of
    FAERS / CAERS" in the disproportionality background. 1,100 made-up terms, each in about
    50 reports, push the rarer kratom terms out of the top 1,000 of count=, so that those are
    counted with one search each, as they would be in the real FAERS."""
    faers, caers = fixture_dataset()
    rng = random.Random(SEED + 2)
    common = [name for name, weight in REACTIONS if weight >= 4 for _ in range(weight)]  # rare terms only in kratom reports
    for i in range(14_000):
        # 35,000,000 on: an AERS-era record's legacy id (the number modulo 10,000,000) is then no
        # kratom report's, as no two openFDA reports share a safetyreportid.
        record = faers_record(rng, str(35_000_000 + i), None, extra_drugs=2)
        terms = rng.sample(BACKGROUND_TERMS, 4) + [rng.choice(common)]
        record["patient"]["reaction"] = [{"reactionmeddrapt": t} for t in dict.fromkeys(terms)]
        faers.append(record)
    drugs_follow_reactions(faers[-14_000:])
    for i in range(3_000):
        record = caers_record(rng, str(400_000 + i), rng.choice(OTHER_SUPPLEMENTS))
        record["products"] = [p for p in record["products"] if "KRATOM" not in p["name_brand"]] or [{"role": "SUSPECT", "name_brand": "FISH OIL"}]
        caers.append(record)
    return faers, caers
