"""An independent count of every summary table, for the tests: a plain-Python pass over the
raw openFDA JSON in the recorded cassette, sharing no code with ingest/ or queries/.

It re-implements the documented rules (README "Counting rules") in the simplest way, so a
mistake in the SQL or the shaping code shows up as a disagreement.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).parent
CASSETTE = HERE / "cassettes" / "synthetic_fetch_all.json"
SKIN_FILE = HERE.parent / "queries" / "skin_terms.csv"
KRATOM_WORDS = ["KRATOM", "KRATUM", "MITRAGYN", "KETUM", "BIAKBIAK"]
AGE_YEARS = {"800": 10, "801": 1, "802": 1 / 12, "803": 7 / 365.25, "804": 1 / 365.25, "805": 1 / 8766}
SERIOUS_CAERS = ["DEATH", "LIFE THREATENING", "HOSPITALIZATION", "DISABILITY", "CONGENITAL", "OTHER SERIOUS", "REQ. INTERVENTION"]


LOOK_ALIKES = ["7OHDPAT", "7OHCHLORPROMAZINE", "7OHMETHOTREXATE", "7OHCOUMARIN"]
# Countries of the synthetic fixture, typed out here (not from the tool's country library).
COUNTRIES = {"US": "United States (US)", "UNITED STATES": "United States (US)", "CA": "Canada (CA)", "CANADA": "Canada (CA)",
             "GB": "United Kingdom (GB)", "UNITED KINGDOM": "United Kingdom (GB)", "TH": "Thailand (TH)", "THAILAND": "Thailand (TH)",
             "MY": "Malaysia (MY)", "MALAYSIA": "Malaysia (MY)"}


def is_kratom(name: str | None) -> bool:
    if not name:
        return False
    squeezed = re.sub(r"[^A-Z0-9]", "", name.upper())
    words = re.sub(r"[^A-Z0-9]+", " ", name.upper()).split()
    seven_oh = "7OH" in words or any(a == "7" and b == "OH" for a, b in zip(words, words[1:]))
    return any(w in squeezed for w in KRATOM_WORDS) or (seven_oh and not any(x in squeezed for x in LOOK_ALIKES))


def term(spelling: str) -> str:
    """One MedDRA term whatever its spelling (README counting rules): case, ^ or ', spaces."""
    return " ".join(spelling.replace("^", "'").upper().split())


def country(value: str | None) -> str:
    if not value or not value.strip():
        return "not reported"
    return COUNTRIES.get(value.strip().upper(), value.strip())


def normalized(name: str) -> str:
    return " ".join(re.sub(r"[^A-Z0-9]+", " ", re.sub(r"[.'’`]", "", name.upper())).split())


@dataclass
class Report:
    source: str
    report_id: str
    received: dt.date | None
    serious: bool | None
    death: bool
    hospital: bool
    sex: str | None
    age: float | None
    decade: int | None
    country: str | None
    qualification: str | None
    reactions: set = field(default_factory=set)
    reaction_outcomes: set = field(default_factory=set)
    outcomes: list = field(default_factory=list)
    products: list = field(default_factory=list)  # (name, role, is_kratom)
    flags: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False)
    ingredients: list = field(default_factory=list)  # (set of ingredients, role, is_kratom) per product


def day(text):
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date() if text and len(text) == 8 else None
    except ValueError:
        return None


def faers_report(r: dict) -> Report:
    p = r.get("patient", {})
    age = decade = None
    if p.get("patientonsetage") and p.get("patientonsetageunit") == "800":
        decade = 10 * int(p["patientonsetage"])
    elif p.get("patientonsetage") and p.get("patientonsetageunit") in AGE_YEARS:
        age = round(float(p["patientonsetage"]) * AGE_YEARS[p["patientonsetageunit"]], 3)
        age = age if 0 <= age <= 120 else None
    roles = {"1": "suspect", "2": "concomitant", "3": "interacting"}
    products = []
    for d in p.get("drug", []):
        names = [d.get("medicinalproduct"), (d.get("activesubstance") or {}).get("activesubstancename")]
        products.append((d.get("medicinalproduct"), roles.get(code(d.get("drugcharacterization"))), any(is_kratom(n) for n in names)))
    outcome_names = {"1": "recovered/resolved", "2": "recovering/resolving", "3": "not recovered/not resolved", "4": "recovered/resolved with sequelae", "5": "fatal", "6": "unknown"}
    flags = {k: r.get(f"seriousness{v}") == "1" for k, v in [("death", "death"), ("life threatening", "lifethreatening"), ("hospitalisation", "hospitalization"), ("disabling", "disabling"), ("congenital anomaly", "congenitalanomali"), ("other serious", "other")]}
    report = Report(
        "faers", r["safetyreportid"], day(r.get("receivedate")), {"1": True, "2": False}.get(r.get("serious")), flags["death"], flags["hospitalisation"],
        {"1": "male", "2": "female", "0": "unknown"}.get(p.get("patientsex")), age, decade,
        country(r.get("occurcountry") or (r.get("primarysource") or {}).get("reportercountry")),
        {"1": "physician", "2": "pharmacist", "3": "other health professional", "4": "lawyer", "5": "consumer or non-health professional"}.get((r.get("primarysource") or {}).get("qualification")),
        {term(x["reactionmeddrapt"]) for x in p.get("reaction", [])},
        {outcome_names.get(x.get("reactionoutcome"), "not reported") for x in p.get("reaction", [])},
        [], products, flags, r,
    )
    report.ingredients = [(ingredients_of(d), role, k) for d, (_, role, k) in zip(p.get("drug", []), products)]
    return report


def caers_report(r: dict) -> Report:
    outcomes = [o.upper() for o in r.get("outcomes", [])]
    # "NON-SERIOUS INJURIES/ ILLNESS" contains "SERIOUS INJURIES": only the outcome that starts so is serious.
    serious = any(any(word in o for word in SERIOUS_CAERS) or o.startswith("SERIOUS INJURIES") for o in outcomes) if [o for o in outcomes if o != "NONE"] else None
    consumer = r.get("consumer", {})
    age = decade = None
    if consumer.get("age") and (consumer.get("age_unit") or "").lower().startswith("year"):
        age = float(consumer["age"])
    elif consumer.get("age") and (consumer.get("age_unit") or "").lower().startswith("decade"):
        decade = 10 * int(float(consumer["age"]))
    sex = {"Female": "female", "Male": "male", "Not Available": "unknown"}.get(consumer.get("gender"))
    products = [(p.get("name_brand"), {"SUSPECT": "suspect", "CONCOMITANT": "concomitant"}.get(p.get("role")), is_kratom(p.get("name_brand"))) for p in r.get("products", [])]
    report = Report("caers", r["report_number"], day(r.get("date_created")), serious, any("DEATH" in o for o in outcomes), any("HOSPITALIZATION" in o for o in outcomes),
                    sex, age, decade, "not reported", None, {term(t) for t in r.get("reactions", [])}, set(), outcomes, products, {}, r)
    report.ingredients = [({normalized(name)} if name and normalized(name) else set(), role, k) for name, role, k in products]
    return report


def all_reports() -> list[Report]:
    """Every report in the cassette's responses, the highest version of each."""
    return [faers_report(rec) if src == "faers" else caers_report(rec) for (src, _), rec in latest_records().items()]


def scope(reports, source="all", since=None, until=None, role="any", serious=False) -> list[Report]:
    chosen = []
    for r in reports:
        if source != "all" and r.source != source:
            continue
        if since and (r.received is None or r.received < since):
            continue
        if until and (r.received is None or r.received > until):
            continue
        if serious and r.serious is not True:
            continue
        kratom_roles = [role_ for _, role_, k in r.products if k]
        if not kratom_roles or (role == "suspect" and not any(x in ("suspect", "interacting") for x in kratom_roles)):
            continue
        chosen.append(r)
    return chosen


def skin_terms() -> dict[str, bool]:
    with SKIN_FILE.open(encoding="utf-8") as f:
        return {term(row["reaction_pt"]): row["is_pigmentation"] == "yes" for row in csv.DictReader(f)}


def pct(n, d):
    """Percent to one decimal, halves rounded away from zero (as DuckDB's round does)."""
    from decimal import ROUND_HALF_UP, Decimal

    return float(Decimal(repr(100.0 * n / d)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)) if d else None


def reactions(scoped):
    counts = Counter(t for r in scoped for t in r.reactions)
    serious = Counter(t for r in scoped if r.serious for t in r.reactions)
    fatal = Counter(t for r in scoped if r.death for t in r.reactions)
    return {t: (n, pct(n, len(scoped)), serious[t], fatal[t]) for t, n in counts.items()}


def skin(scoped):
    terms = skin_terms()
    with_skin = [r for r in scoped if r.reactions & terms.keys()]
    with_pigment = [r for r in with_skin if any(terms.get(t) for t in r.reactions)]
    per_term = Counter(t for r in scoped for t in r.reactions if t in terms)
    return len(with_skin), len(with_pigment), dict(per_term)


def trend(scoped):
    terms = skin_terms()
    out = Counter()
    skin_out = Counter()
    for r in scoped:
        key = (r.received.year if r.received else None, r.source)
        out[key] += 1
        skin_out[key] += bool(r.reactions & terms.keys())
    return {k: (n, skin_out[k]) for k, n in out.items()}


BANDS = [(18, "under 18"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64"), (999, "65 and over")]


def band(age, decade=None):
    """Age group; a decade [d, d+10) only when both its ends fall in one group."""
    def of(years):
        return next(name for limit, name in BANDS if years < limit)

    if age is not None:
        return of(age)
    if decade is None:
        return "unknown"
    return of(decade) if of(decade) == of(decade + 9) else "decade spanning two groups"


def demographics(scoped):
    out = Counter()
    for r in scoped:
        out[("sex", r.sex or "not reported")] += 1
        out[("age group", band(r.age, r.decade))] += 1
        out[("reporter qualification", r.qualification or "not reported")] += 1
        out[("country", r.country)] += 1
    return dict(out)


def outcomes(scoped):
    out = Counter()
    for r in scoped:
        if r.source == "faers":
            out[("faers", "seriousness criterion", "serious")] += r.serious is True
            for name, present in r.flags.items():
                out[("faers", "seriousness criterion", name)] += present
            for o in r.reaction_outcomes:
                out[("faers", "reaction outcome", o)] += 1
        else:
            for o in set(r.outcomes) or {"NOT REPORTED"}:
                out[("caers", "CAERS outcome", o)] += 1
    return dict(out)


def drugs(scoped):
    reports, suspect = Counter(), Counter()
    for r in scoped:
        names = {}
        for name, role, k in r.products:
            if not k and name and normalized(name):
                names[normalized(name)] = names.get(normalized(name), False) or role in ("suspect", "interacting")
        for name, as_suspect in names.items():
            reports[name] += 1
            suspect[name] += as_suspect
    return {n: (c, suspect[n]) for n, c in reports.items()}


def code(value, width=1):
    """A code as openFDA's lists write it, from a string or a JSON number (48 -> "048")."""
    if value is None:
        return None
    text = str(value).strip()
    return text.zfill(width) if text.isdigit() else text or None


def ingredients_of(drug: dict) -> set:
    """A FAERS product's active ingredients (docs/methods.md "Ingredients"): its openfda generic
    names, else its openfda substance names, else its active substance, else its own name."""
    openfda = drug.get("openfda") or {}
    for names in (openfda.get("generic_name") or [], openfda.get("substance_name") or [], [(drug.get("activesubstance") or {}).get("activesubstancename")], [drug.get("medicinalproduct")]):
        found = {normalized(n) for n in names if n and normalized(n)}
        if found:
            return found
    return set()


def ingredients(scoped):
    """The drugs table by ingredient: ingredient -> (reports, as_suspect_reports), products that are not kratom."""
    reports, suspect = Counter(), Counter()
    for r in scoped:
        found = {}
        for names, role, k in r.ingredients:
            for name in names if not k else ():
                found[name] = found.get(name, False) or role in ("suspect", "interacting")
        for name, as_suspect in found.items():
            reports[name] += 1
            suspect[name] += as_suspect
    return {n: (c, suspect[n]) for n, c in reports.items()}


def generic_name_counts(scoped):
    """Reports naming each openfda.generic_name (normalized) on a product that is not kratom:
    the count of approved drugs, by openFDA's own mapping."""
    out = Counter()
    for r in scoped:
        if r.source != "faers":
            continue
        names = set()
        for d in r.raw["patient"].get("drug", []):
            if not any(is_kratom(n) for n in (d.get("medicinalproduct"), (d.get("activesubstance") or {}).get("activesubstancename"))):
                names |= {normalized(g) for g in (d.get("openfda") or {}).get("generic_name") or [] if g and normalized(g)}
        out.update(names)
    return dict(out)


# The code lists of the drug details, typed out from openFDA's field definitions (drugevent.yaml).
ACTIONS = {"1": "drug withdrawn", "2": "dose reduced", "3": "dose increased", "4": "dose not changed", "5": "unknown", "6": "not applicable"}
YES_NO_UNKNOWN = {"1": "yes", "2": "no", "3": "unknown"}
ABATED = {"1": "yes", "2": "no", "3": "does not apply"}
DOSE_UNITS = {"001": "kg", "002": "g", "003": "mg", "004": "µg"}
DURATION_DAYS = {"801": ("year", 365.25, 1), "802": ("month", 365.25, 12), "803": ("week", 7, 1), "804": ("day", 1, 1), "805": ("hour", 1, 24), "806": ("minute", 1, 1440)}
INTERVALS = {"801": "year", "802": "month", "803": "week", "804": "day", "805": "hour", "806": "minute", "807": "trimester", "810": "cyclical",
             "811": "trimester", "812": "as necessary", "813": "total"}


def as_float(value):
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def precision(value):
    text = (value or "").strip() if isinstance(value, str) else value
    if not text or not str(text).isdigit():
        return None
    text = str(text)
    if len(text) == 8 and day(text):
        return "day"
    if len(text) == 6 and 1 <= int(text[4:]) <= 12:
        return "month"
    if len(text) == 4 and text >= "1900":
        return "year"
    return None


def drug_details(drug: dict) -> dict:
    """The stored clinical columns of one FAERS product, worked out here from the raw record."""
    labelled = lambda table, value, width: table.get(code(value, width), code(value, width))  # noqa: E731 (a code outside the list is kept)
    number = as_float(drug.get("drugtreatmentduration"))
    unit = DURATION_DAYS.get(code(drug.get("drugtreatmentdurationunit"), 3))
    text = lambda key: (str(drug[key]).strip() or None) if drug.get(key) is not None else None  # noqa: E731
    return {
        "start_date": day(text("drugstartdate")), "start_date_reported": text("drugstartdate"), "start_date_precision": precision(text("drugstartdate")),
        "start_date_format": code(drug.get("drugstartdateformat"), 3),
        "end_date": day(text("drugenddate")), "end_date_reported": text("drugenddate"), "end_date_precision": precision(text("drugenddate")),
        "end_date_format": code(drug.get("drugenddateformat"), 3),
        "duration_reported": text("drugtreatmentduration"),
        "duration_unit": unit[0] if unit else code(drug.get("drugtreatmentdurationunit"), 3),
        "duration_days": number * unit[1] / unit[2] if number is not None and number >= 0 and unit else None,
        "dosage_text": text("drugdosagetext"), "dosage_form": text("drugdosageform"),
        "dose_amount": as_float(drug.get("drugstructuredosagenumb")), "dose_unit": labelled(DOSE_UNITS, drug.get("drugstructuredosageunit"), 3),
        "separate_doses": as_float(drug.get("drugseparatedosagenumb")), "dose_interval": as_float(drug.get("drugintervaldosageunitnumb")),
        "dose_interval_unit": labelled(INTERVALS, drug.get("drugintervaldosagedefinition"), 3),
        "cumulative_dose_amount": as_float(drug.get("drugcumulativedosagenumb")), "cumulative_dose_unit": labelled(DOSE_UNITS, drug.get("drugcumulativedosageunit"), 3),
        "action_taken": labelled(ACTIONS, drug.get("actiondrug"), 1), "abated_after_action": labelled(ABATED, drug.get("drugadditional"), 1),
        "recurred_on_readministration": labelled(YES_NO_UNKNOWN, drug.get("drugrecurreadministration"), 1),
        "recurred_reactions": [term(x["drugrecuraction"]) for x in drug.get("drugrecurrence") or [] if (x.get("drugrecuraction") or "").strip()] or None,
    }


def summary(scoped):
    ages = [r.age for r in scoped if r.age is not None]
    top = sorted(reactions(scoped).items(), key=lambda kv: (-kv[1][0], kv[0]))[:10]
    with_skin, with_pigment, _ = skin(scoped)
    return {
        "kratom reports": len(scoped),
        "kratom reports, FAERS": sum(r.source == "faers" for r in scoped),
        "kratom reports, CAERS": sum(r.source == "caers" for r in scoped),
        "female": sum(r.sex == "female" for r in scoped),
        "male": sum(r.sex == "male" for r in scoped),
        "unknown or not reported": sum(r.sex in (None, "unknown") for r in scoped),
        "reports with an exact age": len(ages),
        "ages given only as a decade": sum(r.decade is not None for r in scoped),
        "mean age (years)": round(statistics.mean(ages), 1) if ages else None,
        "median age (years)": round(statistics.median(ages), 1) if ages else None,
        "serious reports": sum(r.serious is True for r in scoped),
        "death": sum(r.death for r in scoped),
        "hospitalisation": sum(r.hospital for r in scoped),
        "kratom the only product": sum(getattr(r, "kratom_only", all(k for _, _, k in r.products)) for r in scoped),
        "top reactions": [(t, v[0]) for t, v in top],
        "reports with a skin disorder": with_skin,
        "reports with a pigmentation term": with_pigment,
    }


# ---- probable cases (docs/methods.md "Probable cases"), grouped here by their own plain-Python rules ---------

def reference_key(text: str | None) -> str | None:
    """The documented key of a literature reference (docs/methods.md "Probable cases"), step by
    step in Python: accents off, lower case, DOI/URL/PubMed id out, & as "and", words run
    together but numbers kept apart; None unless 20 letters and digits and a year remain."""
    if not text:
        return None
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()
    plain = re.sub(r"(https?://|www\.)\S*|\bdoi\b\s*:?\s*10\.\S*|\b10\.[0-9]{4,9}/\S*|\bpmc?id\b\s*:?\s*(pmc)?[0-9]+", " ", plain)
    words = re.findall(r"[^\W_]+", plain.replace("&", " and "))
    key = ""
    for before, word in zip([None] + words, words):
        key += " " if before is not None and (before[-1].isdigit() or word[0].isdigit()) else ""
        key += word
    has_year = any(re.fullmatch(r"(19|20)[0-9]{2}", w) for w in key.split())
    return key if len(key.replace(" ", "")) >= 20 and has_year else None


def written_span(text: str | None) -> tuple | None:
    """An event date as written (YYYYMMDD, YYYYMM or YYYY) as the days it may be."""
    text = (text or "").strip()
    try:
        if re.fullmatch(r"[0-9]{8}", text):
            d = dt.datetime.strptime(text, "%Y%m%d").date()
            return d, d
        if re.fullmatch(r"[0-9]{6}", text):
            first = dt.date(int(text[:4]), int(text[4:]), 1)
            return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        if re.fullmatch(r"[0-9]{4}", text) and int(text) >= 1:
            return dt.date(int(text), 1, 1), dt.date(int(text), 12, 31)
    except ValueError:
        return None
    return None


def facts(r: Report) -> dict:
    """What the case rules compare, from the raw record."""
    raw = r.raw
    if r.source == "faers":
        drugs = raw["patient"].get("drug", [])
        names = {normalized(d["medicinalproduct"]) for d in drugs if d.get("medicinalproduct") and normalized(d["medicinalproduct"])}
        starts = {d["drugstartdate"] for d in drugs if day(d.get("drugstartdate"))}
        indications = {term(d["drugindication"]) for d in drugs if (d.get("drugindication") or "").strip()}
        narrative = (raw["patient"].get("summary") or {}).get("narrativeincludeclinical", "")
        written = narrative.removeprefix("CASE EVENT DATE: ") if narrative.startswith("CASE EVENT DATE: ") else None
        reference = (raw.get("primarysource") or {}).get("literaturereference")
        company, duplicate = raw.get("companynumb"), (raw.get("reportduplicate") or {}).get("duplicatenumb")
    else:
        names = {normalized(p["name_brand"]) for p in raw.get("products", []) if p.get("name_brand") and normalized(p["name_brand"])}
        starts, indications, reference, company, duplicate = set(), set(), None, None, None
        written = raw.get("date_started")
    age = f"y{round(r.age, 1)}" if r.age is not None else f"d{r.decade}" if r.decade is not None else None
    years = (int(r.age // 1), int(r.age // 1)) if r.age is not None else (r.decade, r.decade + 9) if r.decade is not None else None
    return {
        "sex": r.sex if r.sex in ("female", "male") else None, "age": age, "country": None if r.country == "not reported" else r.country,
        "event": day(written), "starts": frozenset(starts) or None, "indications": frozenset(indications) or None,
        "drugs": frozenset(names) or None, "reactions": frozenset(r.reactions) or None,
        "reference": reference_key(reference), "company": company, "duplicate": duplicate,
        # What can contradict: a known country only, ages as whole years, event dates as days.
        "iso": r.country if r.country in COUNTRIES.values() else None, "years": years, "span": written_span(written),
    }


def contradict(a: dict, b: dict) -> bool:
    """Can two reports not be one patient? Sex, country, ages, event dates: both given and apart."""
    if a["sex"] and b["sex"] and a["sex"] != b["sex"]:
        return True
    if a["iso"] and b["iso"] and a["iso"] != b["iso"]:
        return True
    for field in ("years", "span"):
        if a[field] and b[field] and (a[field][1] < b[field][0] or b[field][1] < a[field][0]):
            return True
    return False


def link_rule(a: dict, b: dict, source: str) -> int | None:
    """The strongest rule that links two reports' facts (1-4), or None."""
    if a["company"] and a["company"] == b["company"]:
        return 1
    if (a["duplicate"] and a["duplicate"] == b["company"]) or (b["duplicate"] and b["duplicate"] == a["company"]):
        return 2
    if a["reference"] and a["reference"] == b["reference"]:
        return 3
    if a["drugs"] and a["drugs"] == b["drugs"] and a["reactions"] and a["reactions"] == b["reactions"]:
        fields = ("sex", "age", "event") if source == "caers" else ("sex", "age", "country", "event", "starts", "indications")
        agree = sum(a[f] is not None and a[f] == b[f] for f in fields)
        if agree >= (3 if source == "caers" else 5):
            return 4
    return None


def candidate_pairs(chosen: dict) -> set[tuple[str, str]]:
    """Every pair (earlier id, later id) that link_rule could link: no rule links two reports
    that share none of a company number, a duplicate number naming a company number, a
    reference, or both the drug and the reaction sets. Comparing only these pairs is comparing
    all pairs, in time for a background of thousands of reports."""
    blocks: dict = {}
    for report_id, f in chosen.items():
        for key in (("company", f["company"]), ("named", f["company"]), ("reference", f["reference"]), ("sets", f["drugs"], f["reactions"])):
            if all(part is not None for part in key[1:]):
                blocks.setdefault(key, []).append(report_id)
        if f["duplicate"]:
            blocks.setdefault(("named", f["duplicate"]), []).append(report_id)
    pairs = set()
    for members in blocks.values():
        members = sorted(set(members))
        pairs |= {(a, b) for i, a in enumerate(members) for b in members[i + 1:]}
    return pairs


def cases(reports: list[Report]) -> dict[tuple[str, str], str]:
    """(source, report_id) -> case id ('<source>:<first report_id>'): every pair compared; the
    links taken strongest rule first, then by the later id and the earlier; a link joins two
    groups only when no report of one contradicts any report of the other."""
    out = {}
    for source in ("faers", "caers"):
        chosen = {r.report_id: facts(r) for r in reports if r.source == source}
        ids = sorted(chosen)
        links = []
        for id_a, id_b in candidate_pairs(chosen):
            rule = link_rule(chosen[id_a], chosen[id_b], source)
            if rule:
                links.append((rule, id_b, id_a))
        group = {i: {i} for i in ids}
        for _, later, earlier in sorted(links):
            if group[later] is group[earlier]:
                continue
            if any(contradict(chosen[x], chosen[y]) for x in group[later] for y in group[earlier]):
                continue
            joined = group[later] | group[earlier]
            for member in joined:
                group[member] = joined
        for report_id, members in group.items():
            out[(source, report_id)] = f"{source}:{min(members)}"
    return out


def case_scope(reports: list[Report], case_of: dict, **filters) -> list[Report]:
    """The scope counted in probable cases: one Report per case with a report in scope, made
    from its representative (the in-scope report received last; ties: the highest id) with the
    seriousness, terms, outcomes and products of all its in-scope reports."""
    groups: dict[str, list[Report]] = {}
    for r in scope(reports, **filters):
        groups.setdefault(case_of[(r.source, r.report_id)], []).append(r)
    out = []
    for members in groups.values():
        lead = max(members, key=lambda r: (r.received or dt.date.min, r.report_id))
        known = [r.serious for r in members if r.serious is not None]
        merged = Report(
            lead.source, lead.report_id, lead.received, (True in known) if known else None, any(r.death for r in members), any(r.hospital for r in members),
            lead.sex, lead.age, lead.decade, lead.country, lead.qualification,
            set().union(*(r.reactions for r in members)), set().union(*(r.reaction_outcomes for r in members)),
            sorted({o for r in members for o in r.outcomes}), [p for r in members for p in r.products],
            {k: any(r.flags.get(k) for r in members) for k in lead.flags}, lead.raw,
        )
        merged.kratom_only = all(all(k for _, _, k in r.products) for r in members)
        merged.ingredients = [i for r in members for i in r.ingredients]
        out.append(merged)
    return out


# ---- The report's extra tables: pigmentation by year, age group by sex, per-term outcomes ----

FAERS_OUTCOMES = {"1": "recovered/resolved", "2": "recovering/resolving", "3": "not recovered/not resolved", "4": "recovered/resolved with sequelae", "5": "fatal", "6": "unknown"}


def pigmentation_kinds() -> dict[str, str]:
    """Skin term -> 'hyper' or 'hypo', as the curated file marks which way a pigmentation term goes."""
    with SKIN_FILE.open(encoding="utf-8") as f:
        return {term(row["reaction_pt"]): row["pigmentation"].strip().lower() for row in csv.DictReader(f) if row["pigmentation"].strip()}


def trend_pigmentation(scoped) -> dict:
    """(received year, source) -> reports naming a pigmentation term."""
    pigment = {t for t, is_pigment in skin_terms().items() if is_pigment}
    out = Counter()
    for r in scoped:
        out[(r.received.year if r.received else None, r.source)] += bool(r.reactions & pigment)
    return dict(out)


def age_by_sex(scoped) -> dict:
    return dict(Counter((band(r.age, r.decade), r.sex if r.sex in ("female", "male") else "unknown or not reported") for r in scoped))


def latest_records() -> dict:
    """(source, report id) -> the raw record of the highest version, read afresh from the cassette."""
    latest: dict = {}
    for interaction in json.loads(CASSETTE.read_text(encoding="utf-8"))["interactions"]:
        if interaction["response"]["status"]["code"] != 200:
            continue
        source = "faers" if "/drug/event" in interaction["request"]["uri"] else "caers"
        for record in json.loads(interaction["response"]["body"]["string"])["results"]:
            key = (source, record.get("safetyreportid") or record.get("report_number"))
            version = int(record.get("safetyreportversion", 0))
            if key not in latest or version > latest[key][0]:
                latest[key] = (version, record)
    return {key: record for key, (_, record) in latest.items()}


def term_outcomes(source: str, record: dict) -> dict[str, set]:
    """Each term of a report -> the outcomes its own rows carry (CAERS has none per reaction)."""
    out: dict[str, set] = {}
    if source == "faers":
        for x in record.get("patient", {}).get("reaction", []):
            out.setdefault(term(x["reactionmeddrapt"]), set()).add(FAERS_OUTCOMES.get(x.get("reactionoutcome"), "not reported"))
    else:
        for t in record.get("reactions", []):
            out.setdefault(term(t), set()).add("not reported")
    return out


def skin_outcomes(scoped, records) -> dict:
    """(row, outcome) -> (reports with that outcome on a term of the row, reports naming a term of the row);
    rows are the four groups and each skin term."""
    return {key: (n, naming) for key, (n, _, naming, _) in skin_outcome_counts(scoped, records).items()}


def skin_outcome_rows() -> dict[str, set]:
    terms = skin_terms()
    kinds = pigmentation_kinds()
    rows = {"(any skin term)": set(terms), "(any pigmentation term)": {t for t, p in terms.items() if p},
            "(any hyperpigmentation term)": {t for t, k in kinds.items() if k == "hyper"}, "(any hypopigmentation term)": {t for t, k in kinds.items() if k == "hypo"}}
    rows.update({t: {t} for t in terms})
    return rows


def skin_outcome_counts(scoped, records, rows: dict | None = None) -> dict:
    """(row, outcome) -> (reports with that outcome on a term of the row, reports with that
    outcome and no other on the row's terms, reports naming a term of the row, of those the
    reports whose rows for the row's terms carry two or more outcomes)."""
    rows = rows or skin_outcome_rows()
    with_outcome, only, naming, several = Counter(), Counter(), Counter(), Counter()
    for r in scoped:
        outcomes = term_outcomes(r.source, records[(r.source, r.report_id)])
        for row, members in rows.items():
            named = members & outcomes.keys()
            if named:
                naming[row] += 1
                carried = set().union(*(outcomes[t] for t in named))
                several[row] += len(carried) > 1
                for outcome in carried:
                    with_outcome[(row, outcome)] += 1
                    only[(row, outcome)] += len(carried) == 1
    return {key: (n, only[key], naming[key[0]], several[key[0]]) for key, n in with_outcome.items()}


# ---- The clinical profile (issue 20, item 3), from the raw records by rules of its own ----------

PIGMENTING_FILE = HERE.parent / "queries" / "pigmenting_drugs.csv"
# The routes the fixture gives kratom, typed out from openFDA's list (drugevent.yaml); another
# code raises KeyError, so that a new one is typed here before it is counted.
ROUTES = {"048": "Oral", "065": "Unknown", "041": "Intravenous drip"}
RECOVERING = {"recovered/resolved", "recovering/resolving", "recovered/resolved with sequelae"}


def pigmenting_names() -> list[str]:
    with PIGMENTING_FILE.open(encoding="utf-8") as f:
        return [normalized(row["ingredient"]) for row in csv.DictReader(f)]


def is_kratom_drug(d: dict) -> bool:
    return any(is_kratom(n) for n in (d.get("medicinalproduct"), (d.get("activesubstance") or {}).get("activesubstancename")))


def per_report(r: Report) -> dict:
    """What the profile reads of one report: onset and duration in days, and the kratom
    products' actions, rechallenge answers, roles, routes and doses, and the pigmenting drugs of
    its other products."""
    raw = r.raw
    names = pigmenting_names()
    out = {"onset": None, "duration": None, "actions": set(), "answers": set(), "roles": set(), "routes": set(), "doses": set(), "pigmenting": set()}
    if r.source == "caers":
        for p in raw.get("products", []):
            if is_kratom(p.get("name_brand")):
                out["roles"].add({"SUSPECT": "suspect", "CONCOMITANT": "concomitant"}.get(p.get("role"), "role not reported"))
            else:
                found = {normalized(p["name_brand"])} if p.get("name_brand") and normalized(p["name_brand"]) else set()
                out["pigmenting"] |= {n for n in names for i in found if i == n or i.startswith(n + " ")}
        return out
    roles = {"1": "suspect", "2": "concomitant", "3": "interacting"}
    starts, durations = [], []
    for d in raw["patient"].get("drug", []):
        if not is_kratom_drug(d):
            out["pigmenting"] |= {n for n in names for i in ingredients_of(d) if i == n or i.startswith(n + " ")}
            continue
        details = drug_details(d)
        out["roles"].add(roles.get(code(d.get("drugcharacterization")), "role not reported"))
        if code(d.get("drugadministrationroute"), 3):
            out["routes"].add(ROUTES[code(d.get("drugadministrationroute"), 3)])
        if details["dosage_text"]:
            out["doses"].add(details["dosage_text"])
        elif details["dose_amount"] is not None:
            out["doses"].add(f"{details['dose_amount']:g}" + (f" {details['dose_unit']}" if details["dose_unit"] else ""))
        for key, field_ in (("actions", "action_taken"), ("answers", "recurred_on_readministration")):
            if details[field_]:
                out[key].add(details[field_])
        if details["start_date"]:
            starts.append(details["start_date"])
        if details["duration_days"] is not None:
            durations.append(details["duration_days"])
    narrative = (raw["patient"].get("summary") or {}).get("narrativeincludeclinical", "")
    event = day(narrative.removeprefix("CASE EVENT DATE: ")) if narrative.startswith("CASE EVENT DATE: ") else None
    out["onset"] = (event - min(starts)).days if event and starts else None
    out["duration"] = max(durations) if durations else None
    return out


def dechallenge(actions: set, outcomes: set) -> str:
    stopped = bool(actions & {"drug withdrawn", "dose reduced"})
    continued = bool(actions & {"dose not changed", "dose increased"})
    if stopped and continued:
        return "unknown"
    if stopped:
        better, worse = bool(outcomes & RECOVERING), "not recovered/not resolved" in outcomes
        return "positive" if better and not worse else "negative" if worse and not better else "unknown"
    return "not applicable" if continued or "not applicable" in actions else "unknown"


def rechallenge(answers: set) -> str:
    return next((name for answer, name in (("yes", "positive"), ("no", "negative"), ("unknown", "unknown")) if answer in answers), "not reported")


def units(reports, case_of: dict | None = None, **filters) -> list[list[Report]]:
    """The units in scope, each as its reports in scope: one report, or a probable case's."""
    scoped = scope(reports, **filters)
    if case_of is None:
        return [[r] for r in scoped]
    groups: dict[str, list[Report]] = {}
    for r in scoped:
        groups.setdefault(case_of[(r.source, r.report_id)], []).append(r)
    return list(groups.values())


def rounded(x, places="0.1"):
    from decimal import ROUND_HALF_UP, Decimal

    return None if x is None else float(Decimal(repr(x)).quantize(Decimal(places), rounding=ROUND_HALF_UP))


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple:
    """Wilson's score interval, written from his 1927 formula: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    if not n:
        return None, None
    p = k / n
    middle, half = p + z * z / (2 * n), z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5
    return (middle - half) / (1 + z * z / n), (middle + half) / (1 + z * z / n)


def quartiles(values: list) -> list:
    """Median, lower and upper quartile, by linear interpolation between order statistics (R's type 7)."""
    if not values:
        return [None, None, None]
    v = sorted(values)

    def at(q):
        h = (len(v) - 1) * q
        low = int(h)
        return v[low] + (h - low) * (v[min(low + 1, len(v) - 1)] - v[low])

    return [at(0.5), at(0.25), at(0.75)]


def profile(unit_list: list[list[Report]], terms: set, pigmenting_applies: bool) -> dict:
    """(section, measure) -> (count or None, days or None) for one term or group (its term keys)."""
    rows: list[dict] = []
    for members in unit_list:
        outcomes_by_term = [term_outcomes(r.source, r.raw) for r in members]
        named = [set().union(*(o[t] for t in terms & o.keys())) for o in outcomes_by_term if terms & o.keys()]
        if not named:
            continue
        details = [per_report(r) for r in members]
        latest = lambda key: next((d[key] for r, d in sorted(zip(members, details), key=lambda x: (x[0].received or dt.date.min, x[0].report_id), reverse=True) if d[key] is not None), None)  # noqa: E731
        union = lambda key: set().union(*(d[key] for d in details))  # noqa: E731
        known = [r.serious for r in members if r.serious is not None]
        flags = {k: any(r.flags.get(k) for r in members) for k in members[0].flags} if members[0].source == "faers" else {}
        if members[0].source == "caers":
            flags = {"death": any(r.death for r in members), "hospitalisation": any(r.hospital for r in members)}
            outcomes = {o for r in members for o in r.outcomes}
            flags |= {"life threatening": any("LIFE THREATENING" in o for o in outcomes), "disabling": any("DISABILITY" in o for o in outcomes),
                      "congenital anomaly": any("CONGENITAL" in o for o in outcomes),
                      "other serious": any(("OTHER SERIOUS" in o or o.startswith("SERIOUS INJURIES") or "REQ. INTERVENTION" in o) for o in outcomes)}
        outcomes = set().union(*named)
        all_terms = {t for o in outcomes_by_term for t in o if t}
        actions = union("actions")
        rows.append({
            "outcomes": outcomes, "with_others": bool(all_terms - terms), "serious": (True in known) if known else None, "flags": flags,
            "onset": latest("onset"), "duration": latest("duration"), "roles": union("roles"), "routes": union("routes"), "doses": union("doses"),
            "dechallenge": dechallenge(actions, outcomes), "rechallenge": rechallenge(union("answers")), "pigmenting": union("pigmenting"),
        })
    n = len(rows)
    count = lambda pred: sum(1 for x in rows if pred(x))  # noqa: E731
    out = {("reports", "naming the term"): n,
           ("reactions", "only this term (or terms of the group)"): count(lambda x: not x["with_others"]),
           ("reactions", "with other reactions"): count(lambda x: x["with_others"])}
    section = "reaction outcome (of this reaction)"
    for outcome in [*FAERS_OUTCOMES.values(), "not reported"]:
        out[(section, outcome)] = count(lambda x: outcome in x["outcomes"])
    out[(section, "two or more outcomes")] = count(lambda x: len(x["outcomes"]) > 1)
    section = "seriousness (report-level: any reaction)"
    out[(section, "serious")] = count(lambda x: x["serious"] is True)
    out[(section, "not serious")] = count(lambda x: x["serious"] is False)
    out[(section, "seriousness not reported")] = count(lambda x: x["serious"] is None)
    for flag in ("death", "life threatening", "hospitalisation", "disabling", "congenital anomaly", "other serious"):
        out[(section, flag)] = count(lambda x: x["flags"].get(flag, False))
    for section, key, allowed, missing in (("time to onset (event date minus kratom start date)", "onset", lambda v: v is not None and v >= 0, "no whole event date or kratom start date"),
                                           ("duration of kratom use (drugtreatmentduration)", "duration", lambda v: v is not None, "not reported")):
        values = [x[key] for x in rows if allowed(x[key])]
        out[(section, "allowing it")] = len(values)
        for name, value in zip(("median", "lower quartile", "upper quartile"), quartiles(values)):
            out[(section, name)] = ("days", rounded(value))
        out[(section, missing)] = count(lambda x: x[key] is None)
        if key == "onset":
            out[(section, "kratom start after the event date (left out)")] = count(lambda x: x["onset"] is not None and x["onset"] < 0)
    for role in ("suspect", "concomitant", "interacting", "role not reported"):
        out[("kratom role", role)] = count(lambda x: role in x["roles"])
    for route in {r for x in rows for r in x["routes"]}:
        out[("kratom route", route)] = count(lambda x: route in x["routes"])
    out[("kratom route", "not reported")] = count(lambda x: not x["routes"])
    out[("kratom dose", "given")] = count(lambda x: x["doses"])
    out[("kratom dose", "not reported")] = count(lambda x: not x["doses"])
    for dose in {d for x in rows for d in x["doses"]}:
        out[("kratom dose as reported", dose)] = count(lambda x: dose in x["doses"])
    for measure in ("positive", "negative", "not applicable", "unknown"):
        out[("dechallenge (kratom stopped or reduced)", measure)] = count(lambda x: x["dechallenge"] == measure)
    for measure in ("positive", "negative", "unknown", "not reported"):
        out[("rechallenge (kratom given again)", measure)] = count(lambda x: x["rechallenge"] == measure)
    section = "co-reported pigmenting drug"
    if pigmenting_applies:
        out[(section, "present")] = count(lambda x: x["pigmenting"])
        out[(section, "absent")] = count(lambda x: not x["pigmenting"])
        for drug in {d for x in rows for d in x["pigmenting"]}:
            out[(section, drug)] = count(lambda x: drug in x["pigmenting"])
    else:
        out[(section, "not assessed: no list of drugs known to cause this reaction")] = None
    return out


def profile_groups() -> dict[str, tuple[set, bool]]:
    """The profile's groups: label -> (term keys, whether the pigmenting drugs apply)."""
    terms = skin_terms()
    kinds = pigmentation_kinds()
    groups = {"(any hyperpigmentation term)": {t for t, k in kinds.items() if k == "hyper"},
              "(any pigmentation term)": {t for t, p in terms.items() if p}, "(any skin term)": set(terms)}
    return {label: (members, any(terms.get(t) and kinds.get(t) != "hypo" for t in members)) for label, members in groups.items()}


# ---- an active comparator (signals --comparator) --------------------------------------------
# The name fields openFDA is searched in, typed out here (not from ingest/sources.py).
COMPARATOR_FIELDS = {
    "faers": [("patient", "drug", "medicinalproduct"), ("patient", "drug", "activesubstance", "activesubstancename"),
              ("patient", "drug", "openfda", "brand_name"), ("patient", "drug", "openfda", "generic_name"), ("patient", "drug", "openfda", "substance_name")],
    "caers": [("products", "name_brand")],
}


def names_in(value, path) -> list[str]:
    """Every text at a dotted path, through lists at any level."""
    if isinstance(value, list):
        return [n for item in value for n in names_in(item, path)]
    if not path:
        return [value] if isinstance(value, str) else []
    return names_in(value.get(path[0]), path[1:]) if isinstance(value, dict) else []


def in_comparator(record: dict, source: str, substrings: list[str], words: list[str]) -> bool:
    """Whether openFDA's search for a comparator finds a record: a substring term's *x*
    wildcard matches within one token of a name (letters and digits, any case); a word term
    matches its words as consecutive tokens."""
    for path in COMPARATOR_FIELDS[source]:
        for name in names_in(record, path):
            tokens = re.findall(r"[a-z0-9]+", name.lower())
            if any(s.lower() in t for s in substrings for t in tokens):
                return True
            for w in words:
                want = re.findall(r"[a-z0-9]+", w.lower())
                if any(tokens[i:i + len(want)] == want for i in range(len(tokens))):
                    return True
    return False


# ---- The local background (issue 22, item 3): all of a source counted from its records ----

def latest_of(records: list[dict], id_field: str) -> list[dict]:
    """The latest version of each report among records in the order received: the highest
    safetyreportversion (a missing or non-numeric one is lower than any), and among equal
    versions the one received last."""
    def version(r):
        v = str(r.get("safetyreportversion") or "").strip()
        return int(v) if v.isdigit() else -1

    latest: dict = {}
    for r in records:
        key = r[id_field]
        if key not in latest or version(r) >= version(latest[key]):
            latest[key] = r
    return list(latest.values())


def background(source: str, records: list[dict], comparator: set | None = None, exclude_kratom: bool = False):
    """(total reports, Counter of reports per term, Counter of reports per (sex, age band, year),
    Counter per (sex, age band, year, term)) of the latest versions, over every report or those
    with a product, not kratom, of an ingredient in `comparator`."""
    id_field = "safetyreportid" if source == "faers" else "report_number"
    reports = [faers_report(r) if source == "faers" else caers_report(r) for r in latest_of(records, id_field)]
    if comparator is not None:
        reports = [r for r in reports if any(names & comparator for names, _, k in r.ingredients if not k)]
    if exclude_kratom:
        reports = [r for r in reports if not any(k for _, _, k in r.products)]
    terms, strata, stratum_terms = Counter(), Counter(), Counter()
    for r in reports:
        stratum = (r.sex or "not reported", band(r.age, r.decade), r.received.year if r.received else None)
        strata[stratum] += 1
        for t in r.reactions:
            terms[t] += 1
            stratum_terms[(*stratum, t)] += 1
    return len(reports), terms, strata, stratum_terms
