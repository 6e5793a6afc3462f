"""FAERS (openFDA drug/event): one openFDA record -> rows for reports, products, reactions.

Pure functions: no I/O. Field names and code lists are openFDA's (see ingest/codes.py).
"""

from __future__ import annotations

from ingest import codes
from ingest.shape import age_in_years, flag, parse_date, parse_float, raw_json, text
from ingest.terms import KratomMatcher, normalize_name

SOURCE = "faers"
ENDPOINT = "drug/event"
# Name fields searched on openFDA and checked locally, product by product.
SEARCH_FIELDS = [
    "patient.drug.medicinalproduct",
    "patient.drug.activesubstance.activesubstancename",
    "patient.drug.openfda.brand_name",
    "patient.drug.openfda.generic_name",
    "patient.drug.openfda.substance_name",
]


def product_names(drug: dict) -> list[tuple[str, str | None]]:
    """(field, name) pairs of one drug, in the order they are checked for kratom."""
    names = [
        ("medicinalproduct", drug.get("medicinalproduct")),
        ("activesubstancename", (drug.get("activesubstance") or {}).get("activesubstancename")),
    ]
    openfda = drug.get("openfda") or {}
    for field in ("brand_name", "generic_name", "substance_name"):
        names += [(f"openfda.{field}", name) for name in openfda.get(field) or []]
    return names


def report_rows(record: dict, matcher: KratomMatcher) -> dict:
    """Rows for one FAERS report: {'report': {...}, 'products': [...], 'reactions': [...], 'raw': {...}}."""
    report_id = text(record.get("safetyreportid"))
    version = record.get("safetyreportversion")
    patient = record.get("patient") or {}
    primary = record.get("primarysource") or {}

    products = []
    for seq, drug in enumerate(patient.get("drug") or [], start=1):
        matched = matcher.match(product_names(drug))
        route_code = text(drug.get("drugadministrationroute"))
        products.append(
            {
                "source": SOURCE,
                "report_id": report_id,
                "product_seq": seq,
                "product_name": text(drug.get("medicinalproduct")),
                "product_name_normalized": normalize_name(text(drug.get("medicinalproduct"))),
                "active_substance": text((drug.get("activesubstance") or {}).get("activesubstancename")),
                "role": codes.DRUG_ROLE.get(text(drug.get("drugcharacterization"))),
                "indication": text(drug.get("drugindication")),
                "route": codes.ROUTE.get(route_code, route_code),
                "industry_name": None,
                "is_kratom": matched is not None,
                "matched_term": matched[0] if matched else None,
                "matched_field": matched[1] if matched else None,
            }
        )

    reactions = [
        {
            "source": SOURCE,
            "report_id": report_id,
            "reaction_seq": seq,
            "reaction_pt": text(reaction.get("reactionmeddrapt")),
            "reaction_outcome": codes.REACTION_OUTCOME.get(text(reaction.get("reactionoutcome"))),
        }
        for seq, reaction in enumerate(patient.get("reaction") or [], start=1)
    ]

    serious = text(record.get("serious"))
    age_unit = text(patient.get("patientonsetageunit"))
    report = {
        "source": SOURCE,
        "report_id": report_id,
        "report_version": int(version) if text(version) and str(version).strip().isdigit() else None,
        "received_date": parse_date(record.get("receivedate")),
        "event_date": None,  # openFDA's FAERS records carry no event (onset) date
        "is_serious": {"1": True, "2": False}.get(serious),
        "serious_death": flag(record.get("seriousnessdeath")),
        "serious_life_threatening": flag(record.get("seriousnesslifethreatening")),
        "serious_hospitalization": flag(record.get("seriousnesshospitalization")),
        "serious_disabling": flag(record.get("seriousnessdisabling")),
        "serious_congenital_anomaly": flag(record.get("seriousnesscongenitalanomali")),
        "serious_other": flag(record.get("seriousnessother")),
        "outcomes": None,
        "age_years": age_in_years(patient.get("patientonsetage"), codes.AGE_UNIT_YEARS.get(age_unit)),
        "age_reported": text(patient.get("patientonsetage")),
        "age_unit_reported": codes.AGE_UNIT_NAME.get(age_unit, age_unit),
        "age_group": codes.AGE_GROUP.get(text(patient.get("patientagegroup"))),
        "sex": codes.SEX.get(text(patient.get("patientsex"))),
        "weight_kg": parse_float(patient.get("patientweight")),
        "occur_country": text(record.get("occurcountry")),
        "reporter_country": text(primary.get("reportercountry")),
        "reporter_qualification": codes.QUALIFICATION.get(text(primary.get("qualification"))),
        "is_kratom_report": any(p["is_kratom"] for p in products),
    }
    raw = {"source": SOURCE, "report_id": report_id, "report_version": report["report_version"], "record": raw_json(record)}
    return {"report": report, "products": products, "reactions": reactions, "raw": raw}
