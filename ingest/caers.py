"""CAERS (openFDA food/event): one openFDA record -> rows for reports, products, reactions.

Pure functions: no I/O. CAERS reports have no versions, no seriousness flags and no
reporter fields; the seriousness flags are derived from the reported outcomes (below).
"""

from __future__ import annotations

import re

from ingest import codes
from ingest.shape import age_in_years, parse_date, parse_float, raw_json, text
from ingest.terms import KratomMatcher, normalize_name

SOURCE = "caers"
ENDPOINT = "food/event"
SEARCH_FIELDS = ["products.name_brand"]

# CAERS outcome text -> the FAERS-style seriousness criterion it amounts to. openFDA
# documents upper-case values ("OTHER SERIOUS (IMPORTANT MEDICAL EVENTS)") but serves others
# too ("Other Serious or Important Medical Event"), so outcomes are matched on keywords, case
# ignored. "Visited an ER" and "visited a health care provider" are not serious criteria.
OUTCOME_CRITERIA = [
    ("serious_death", r"\bDEATH\b"),
    ("serious_life_threatening", r"LIFE.THREATENING"),
    ("serious_hospitalization", r"HOSPITALI[SZ]"),
    ("serious_disabling", r"DISABILITY"),
    ("serious_congenital_anomaly", r"CONGENITAL"),
    ("serious_other", r"OTHER SERIOUS|^SERIOUS INJUR|REQ.* INTERVENTION|REQUIRED INTERVENTION"),
]


def seriousness(outcomes: list[str]) -> dict:
    """Seriousness flags from CAERS outcomes; is_serious is None when no outcome was reported."""
    upper = [o.upper().strip() for o in outcomes if o]
    flags = {name: any(re.search(pattern, o) for o in upper) for name, pattern in OUTCOME_CRITERIA}
    reported = [o for o in upper if o not in ("NONE", "")]
    flags["is_serious"] = any(flags.values()) if reported else None
    return flags


def age_unit_years(unit: str | None) -> float | None:
    """'year(s)', 'Year(s)', 'Month(s)' ... -> years per unit; 'Not Available' -> None."""
    if not unit:
        return None
    word = unit.lower().split("(")[0].strip()
    return codes.CAERS_AGE_UNIT_YEARS.get(word.rstrip("s"))


def report_rows(record: dict, matcher: KratomMatcher) -> dict:
    """Rows for one CAERS report, in the same shape as ingest.faers.report_rows."""
    report_id = text(record.get("report_number"))
    consumer = record.get("consumer") or {}

    products = []
    for seq, product in enumerate(record.get("products") or [], start=1):
        name = text(product.get("name_brand"))
        matched = matcher.match([("name_brand", name)])
        role = text(product.get("role"))
        products.append(
            {
                "source": SOURCE,
                "report_id": report_id,
                "product_seq": seq,
                "product_name": name,
                "product_name_normalized": normalize_name(name),
                "active_substance": None,
                "role": codes.CAERS_ROLE.get(role.lower(), role.lower()) if role else None,
                "indication": None,
                "route": None,
                "industry_name": text(product.get("industry_name")),
                "is_kratom": matched is not None,
                "matched_term": matched[0] if matched else None,
                "matched_field": matched[1] if matched else None,
            }
        )

    reactions = [
        {"source": SOURCE, "report_id": report_id, "reaction_seq": seq, "reaction_pt": text(pt), "reaction_outcome": None}
        for seq, pt in enumerate(record.get("reactions") or [], start=1)
    ]

    outcomes = [o for o in (text(o) for o in record.get("outcomes") or []) if o]
    gender = text(consumer.get("gender"))
    unit = text(consumer.get("age_unit"))
    report = {
        "source": SOURCE,
        "report_id": report_id,
        "report_version": None,
        "received_date": parse_date(record.get("date_created")),
        "event_date": parse_date(record.get("date_started")),
        **seriousness(outcomes),
        "outcomes": outcomes,
        "age_years": age_in_years(consumer.get("age"), age_unit_years(unit)),
        "age_reported": text(consumer.get("age")),
        "age_unit_reported": unit,
        "age_group": None,
        "sex": sex(gender),
        "weight_kg": None,
        "occur_country": None,
        "reporter_country": None,
        "reporter_qualification": None,
        "is_kratom_report": any(p["is_kratom"] for p in products),
    }
    raw = {"source": SOURCE, "report_id": report_id, "report_version": None, "record": raw_json(record)}
    return {"report": report, "products": products, "reactions": reactions, "raw": raw}


def sex(gender: str | None) -> str | None:
    """Female, Male, Not Available -> female, male, unknown."""
    return codes.CAERS_GENDER.get(gender.lower(), gender.lower()) if gender else None
