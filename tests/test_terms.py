import pytest

from ingest.errors import KratomAEError
from ingest.terms import Term, load_terms, normalize_name, search_query
from shaping import rows_of


def match(*names, active_substance=None):
    """(matched_term, matched_field) the page SQL decides for each FAERS product named so."""
    drugs = [{"medicinalproduct": name} for name in names]
    if active_substance:
        drugs[0]["activesubstance"] = {"activesubstancename": active_substance}
    products = rows_of("faers", {"safetyreportid": "1", "patient": {"drug": drugs}})["products"]
    return [(p["matched_term"], p["matched_field"]) if p["is_kratom"] else None for p in products]

KRATOM_NAMES = [
    ("KRATOM", "KRATOM"),
    ("Kratom powder", "KRATOM"),
    ("kratom", "KRATOM"),
    ("KRATOM (MITRAGYNA SPECIOSA)", "KRATOM"),
    ("MITRAGYNA SPECIOSA LEAF", "MITRAGYN"),
    ("MITRAGYNA SPECIOSA KORTHALS", "MITRAGYN"),
    ("MITRAGYNINE", "MITRAGYN"),
    ("7-HYDROXYMITRAGYNINE", "MITRAGYN"),
    ("MAENG DA KRATOM", "KRATOM"),
    ("O.P.M.S. KRATOM", "KRATOM"),
    ("KRATOMPOWDER", "KRATOM"),
    ("Kra-tom", "KRATOM"),
    ("  kratom  extract ", "KRATOM"),
    ("KRATUM", "KRATUM"),
    ("KRAYTOM CAPSULES", "KRAYTOM"),
    ("MITRAGINA SPECIOSA", "MITRAGIN"),
    ("KETUM LEAF", "KETUM"),
    ("Krat.om", "KRATOM"),
    ("BIAK-BIAK", "BIAK BIAK"),
    ("7-OH TABLETS", "7-OH"),
    ("7OH", "7OH"),
]
NOT_KRATOM = [
    "MIRTAZAPINE",
    "MITRAZAPINE",
    "REMERON",
    "MITOMYCIN",
    "KETAMINE",
    "KETOROLAC",
    "LAGERSTROEMIA SPECIOSA",
    "UNCARIA TOMENTOSA",
    "KAVA",
    "17-OH PROGESTERONE",
    "CRATAEGUS",
    "BUCKETUMBRELLA",
    "",
]


@pytest.mark.parametrize("name,term", KRATOM_NAMES)
def test_kratom_names_match_by_their_term(name, term):
    assert match(name) == [(term, "medicinalproduct")]


@pytest.mark.parametrize("name", NOT_KRATOM)
def test_look_alikes_do_not_match(name):
    assert match(name) == [None]


def test_all_names_in_one_page():
    # The same table at once: one page, every product decided on its own.
    names = [name for name, _ in KRATOM_NAMES] + NOT_KRATOM
    assert match(*names) == [(term, "medicinalproduct") for _, term in KRATOM_NAMES] + [None] * len(NOT_KRATOM)


def test_first_matching_field_is_named():
    assert match("HERBAL SUPPLEMENT", active_substance="MITRAGYNINE") == [("MITRAGYN", "activesubstancename")]
    # The product name is checked before the active substance, and terms in their file order.
    assert match("KRATUM", active_substance="MITRAGYNINE") == [("KRATUM", "medicinalproduct")]
    assert match("KRATOM KRATUM") == [("KRATOM", "medicinalproduct")]


def test_openfda_names_are_checked_too():
    record = {"safetyreportid": "1", "patient": {"drug": [{"medicinalproduct": "SUPPLEMENT X", "openfda": {"brand_name": ["A", "MAENG DA KRATOM"]}}]}}
    assert rows_of("faers", record)["products"][0]["matched_field"] == "openfda.brand_name"


def test_user_terms_decide(tmp_path):
    path = tmp_path / "terms.csv"
    path.write_text("term,match\nKAVA,word\n", encoding="utf-8")
    record = {"safetyreportid": "1", "patient": {"drug": [{"medicinalproduct": "KAVA ROOT"}, {"medicinalproduct": "KRATOM"}, {"medicinalproduct": "KAVALACTONE"}]}}
    products = rows_of("faers", record, terms=load_terms(path))["products"]
    assert [p["matched_term"] for p in products] == ["KAVA", None, None]


def test_normalize_name():
    assert normalize_name("O.P.M.S. Kratom") == "OPMS KRATOM"
    assert normalize_name("Kratom (Mitragyna speciosa)") == "KRATOM MITRAGYNA SPECIOSA"
    assert normalize_name("PHILLIPS' COLON-HEALTH") == "PHILLIPS COLON HEALTH"
    assert normalize_name("  ") is None


def test_search_queries_cover_every_field_with_spaces_not_plus():
    fields = ["patient.drug.medicinalproduct", "patient.drug.openfda.brand_name"]
    assert search_query(Term("KRATOM", "substring"), fields) == "patient.drug.medicinalproduct:*kratom* OR patient.drug.openfda.brand_name:*kratom*"
    assert search_query(Term("BIAK BIAK", "word"), fields[:1]) == 'patient.drug.medicinalproduct:"biak biak"'
    assert search_query(Term("7-OH", "word"), fields[:1]) == 'patient.drug.medicinalproduct:"7 oh"'
    assert search_query(Term("KETUM", "word"), fields[:1]) == "patient.drug.medicinalproduct:ketum"


def test_bundled_terms_load():
    terms = load_terms()
    assert [t.term for t in terms][:2] == ["KRATOM", "KRATUM"]
    assert {t.match for t in terms} == {"substring", "word"}


def test_user_terms_file(tmp_path):
    path = tmp_path / "terms.csv"
    path.write_text("term,match\nKAVA,word\n", encoding="utf-8")
    assert load_terms(path) == [Term("KAVA", "word")]


@pytest.mark.parametrize(
    "content,message",
    [
        ("name\nKAVA\n", "needs a header line with the columns term and match"),
        ("term,match\nKAVA,fuzzy\n", "line 2: match must be substring or word, not 'fuzzy'"),
        ("term,match\n--,word\n", "line 2: the term has no letters or digits"),
    ],
)
def test_bad_terms_files_are_explained(tmp_path, content, message):
    path = tmp_path / "terms.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KratomAEError, match=message):
        load_terms(path)


def test_missing_terms_file(tmp_path):
    with pytest.raises(KratomAEError, match="Cannot read the terms file .*nope.csv"):
        load_terms(tmp_path / "nope.csv")
