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
REACTIONS = [
    ("DRUG DEPENDENCE", 14), ("WITHDRAWAL SYNDROME", 10), ("DRUG WITHDRAWAL SYNDROME", 6), ("SEIZURE", 8),
    ("TOXICITY TO VARIOUS AGENTS", 12), ("DEATH", 6), ("OVERDOSE", 8), ("DRUG ABUSE", 7), ("VOMITING", 9),
    ("NAUSEA", 9), ("DRUG-INDUCED LIVER INJURY", 4), ("HEPATOTOXICITY", 3), ("JAUNDICE", 3),
    ("CHOLESTASIS", 2), ("CONSTIPATION", 4), ("ANXIETY", 5), ("INSOMNIA", 4), ("CARDIAC ARREST", 4),
    ("RESPIRATORY DEPRESSION", 3), ("TACHYCARDIA", 4), ("AGITATION", 3), ("HALLUCINATION", 2),
    ("HYPERPIGMENTATION", 2), ("SKIN HYPERPIGMENTATION", 1), ("SKIN DISCOLOURATION", 2),
    ("PIGMENTATION DISORDER", 1), ("PRURITUS", 3), ("RASH", 3), ("URTICARIA", 1), ("ERYTHEMA", 1),
    ("HYPERHIDROSIS", 2), ("INJECTION SITE RASH", 1), ("CELLULITIS", 1), ("CROHN^S DISEASE", 1),
]
CAERS_OUTCOMES = [
    ["VISITED AN ER"], ["HOSPITALIZATION"], ["DEATH"], ["NON-SERIOUS INJURIES/ ILLNESS"],
    ["Other Serious or Important Medical Event", "Other Serious Outcome"], ["LIFE THREATENING", "HOSPITALIZATION"],
    ["VISITED A HEALTH CARE PROVIDER"], ["SERIOUS INJURIES/ ILLNESS"], ["DISABILITY"],
]


def weighted(rng: random.Random, items):
    names, weights = zip(*items)
    return rng.choices(names, weights=weights, k=1)[0]


def received(rng: random.Random) -> str:
    # Reports grow over the years, as kratom reports did.
    year = rng.choices(range(2012, 2026), weights=[1, 1, 2, 3, 4, 6, 9, 11, 12, 13, 14, 15, 16, 17], k=1)[0]
    return f"{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"


def faers_record(rng: random.Random, report_id: str, kratom_name: str | None, *, version: int = 1, extra_drugs: int | None = None, openfda_blocks: bool = False) -> dict:
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
        reaction = {"reactionmeddrapt": pt}
        if rng.random() < 0.6:
            reaction["reactionoutcome"] = "5" if pt == "DEATH" else rng.choice(["1", "2", "3", "4", "6"])
        reactions.append(reaction)
    patient: dict = {"reaction": reactions, "drug": drugs}
    unit = rng.choices(["801", "802", "800", "804", None], weights=[80, 3, 3, 2, 12])[0]
    if unit:
        patient["patientonsetageunit"] = unit
        patient["patientonsetage"] = {"801": str(rng.randint(16, 78)), "802": str(rng.randint(1, 30)), "800": str(rng.randint(2, 6)), "804": str(rng.randint(1, 300))}[unit]
    sex = rng.choices(["1", "2", "0", None], weights=[60, 33, 3, 4])[0]
    if sex:
        patient["patientsex"] = sex
    if rng.random() < 0.3:
        patient["patientweight"] = f"{rng.uniform(45, 130):.1f}"
    if rng.random() < 0.4:
        patient["patientagegroup"] = rng.choice(["4", "5", "5", "5", "6"])
    death = any(r["reactionmeddrapt"] == "DEATH" for r in reactions) or rng.random() < 0.08
    serious = death or rng.random() < 0.7
    record = {
        "safetyreportid": report_id,
        "safetyreportversion": str(version),
        "receivedate": received(rng),
        "receivedateformat": "102",
        "serious": "1" if serious else "2",
        "primarysource": {"qualification": rng.choice(["1", "2", "3", "5", "5"]), "reportercountry": "US"},
        "occurcountry": rng.choices(["US", "CA", "GB", "TH"], weights=[90, 4, 3, 3])[0],
        "patient": patient,
    }
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
        "reactions": list(dict.fromkeys(weighted(rng, REACTIONS) for _ in range(rng.randint(1, 4)))),
        "products": products,
    }
    if rng.random() < 0.8:
        record["date_started"] = created[:6] + "01"
    consumer = {"gender": rng.choice(["Female", "Male", "Not Available"])}
    if rng.random() < 0.75:
        consumer.update(age=f"{rng.randint(18, 70)}.00", age_unit="year(s)")
    record["consumer"] = consumer
    return record


def fixture_dataset(faers_count: int = 2150, caers_count: int = 140) -> tuple[list[dict], list[dict]]:
    """The synthetic kratom dataset recorded into tests/cassettes/synthetic_fetch_*.json."""
    rng = random.Random(SEED)
    faers = [faers_record(rng, str(10_000_000 + i), weighted(rng, FAERS_KRATOM_NAMES), version=rng.choice([1, 1, 1, 2, 3])) for i in range(faers_count)]
    # Products named only in rarer ways, so that several search terms find something.
    faers += [faers_record(rng, str(11_000_000 + i), name) for i, name in enumerate(["KRATUM", "Kratum capsules", "7-OH TABLETS", "7-OH", "KETUM LEAF", "BIAK-BIAK", "Mitragynine HCl"])]
    # Kratom only in the active substance; the product name is generic.
    herbal = faers_record(rng, "11100001", None)
    herbal["patient"]["drug"].append({"drugcharacterization": "1", "medicinalproduct": "HERBAL SUPPLEMENT", "activesubstance": {"activesubstancename": "MITRAGYNINE"}})
    faers.append(herbal)
    # One report in two versions, as a mirror that does not collapse versions would serve it:
    # version 1 misspelt the product, the follow-up (version 2) corrected it.
    faers.append(faers_record(rng, "12000001", "KRATUM", version=1))
    faers.append(faers_record(rng, "12000001", "KRATOM", version=2))
    caers = [caers_record(rng, str(200_000 + i), weighted(rng, CAERS_KRATOM_NAMES)) for i in range(caers_count)]
    return faers, caers


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
    if field.endswith(".exact"):  # the whole value, case ignored (as openFDA does for reactionmeddrapt)
        wanted = value.strip('"').replace('\\"', '"').upper()
        return any(text.upper() == wanted for text in field_values(record, field[: -len(".exact")].split(".")))
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


def search_hits(records: list[dict], search: str) -> list[dict]:
    """Records matching an 'f:v OR f:v' search (the only form kratom-ae sends), in the
    order openFDA would sort them here: by received date, then id."""
    clauses = [c.strip().strip("()") for c in search.split(" OR ")]
    hits = [r for r in records if any(clause_matches(r, c) for c in clauses)]
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
            for value in set(field_values(record, field.removesuffix(".exact").split("."))):
                counts[value] = counts.get(value, 0) + 1
        cache[key] = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ranked = cache[key][:limit]
    if not ranked:
        return error(404, "NOT_FOUND", "Nothing to count")
    meta = {k: v for k, v in envelope([], 0, 0, limit, "SYNTHETIC data, not from openFDA.")["meta"].items() if k != "results"}
    return 200, {"Content-Type": "application/json"}, json.dumps({"meta": meta, "results": [{"term": t, "count": n} for t, n in ranked]}).encode()


BACKGROUND_TERMS = [f"SYNTHETIC BACKGROUND TERM {i:04d}" for i in range(1, 1101)]


def background_dataset() -> tuple[list[dict], list[dict]]:
    """The kratom fixture plus SYNTHETIC reports about other products, standing in for "all of
    FAERS / CAERS" in the disproportionality background. 1,100 made-up terms, each in about
    50 reports, push the rarer kratom terms out of the top 1,000 of count=, so that those are
    counted with one search each, as they would be in the real FAERS."""
    faers, caers = fixture_dataset()
    rng = random.Random(SEED + 2)
    common = [name for name, weight in REACTIONS if weight >= 4 for _ in range(weight)]  # rare terms only in kratom reports
    for i in range(14_000):
        record = faers_record(rng, str(30_000_000 + i), None, extra_drugs=2)
        terms = rng.sample(BACKGROUND_TERMS, 4) + [rng.choice(common)]
        record["patient"]["reaction"] = [{"reactionmeddrapt": t} for t in dict.fromkeys(terms)]
        faers.append(record)
    for i in range(3_000):
        record = caers_record(rng, str(400_000 + i), rng.choice(OTHER_SUPPLEMENTS))
        record["products"] = [p for p in record["products"] if "KRATOM" not in p["name_brand"]] or [{"role": "SUSPECT", "name_brand": "FISH OIL"}]
        caers.append(record)
    return faers, caers
