import pytest

from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest.terms import forms, load_terms, make_terms, search_query
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


# Real 7-OH research chemicals and metabolites that the word term 7-OH finds: the bundled
# exclude terms keep them out, and say which exclusion did; kratom beside them still counts.
LOOK_ALIKES = [
    ("7-OH-DPAT", "7-OH-DPAT"),
    ("7-OH-DPAT HYDROBROMIDE", "7-OH-DPAT"),
    ("(+/-)-7-OH-DPAT HBr", "7-OH-DPAT"),
    ("7OH-DPAT", "7-OH-DPAT"),
    ("7-OH-CHLORPROMAZINE", "7-OH-CHLORPROMAZINE"),
    ("7-oh-chlorpromazine", "7-OH-CHLORPROMAZINE"),
    ("7-OH-METHOTREXATE", "7-OH-METHOTREXATE"),
    ("7-OH COUMARIN", "7-OH-COUMARIN"),
]


@pytest.mark.parametrize("name,exclusion", LOOK_ALIKES)
def test_excluded_look_alikes_are_not_kratom(name, exclusion):
    product = rows_of("faers", {"safetyreportid": "1", "patient": {"drug": [{"medicinalproduct": name}]}})["products"][0]
    assert (product["is_kratom"], product["matched_term"], product["excluded_by"]) == (False, None, exclusion)


def test_an_exclusion_vetoes_only_the_terms_inside_the_look_alike():
    drugs = [{"medicinalproduct": "KRATOM WITH 7-OH-DPAT"}, {"medicinalproduct": "7-OH TABLETS"}, {"medicinalproduct": "7-OH-DPAT", "activesubstance": {"activesubstancename": "MITRAGYNINE"}}]
    products = rows_of("faers", {"safetyreportid": "1", "patient": {"drug": drugs}})["products"]
    assert [(p["matched_term"], p["matched_field"], p["matched_name"], p["excluded_by"]) for p in products] == [
        ("KRATOM", "medicinalproduct", "KRATOM WITH 7-OH-DPAT", None),
        ("7-OH", "medicinalproduct", "7-OH TABLETS", None),
        ("MITRAGYN", "activesubstancename", "MITRAGYNINE", None),
    ]


def test_without_the_exclusion_a_look_alike_matches(tmp_path):
    path = tmp_path / "terms.csv"
    path.write_text("term,match\n7-OH,word\n", encoding="utf-8")
    products = rows_of("faers", {"safetyreportid": "1", "patient": {"drug": [{"medicinalproduct": "7-OH-DPAT"}]}}, terms=load_terms(path))["products"]
    assert (products[0]["matched_term"], products[0]["excluded_by"]) == ("7-OH", None)


def test_caers_look_alikes_are_excluded_too():
    record = {"report_number": "1", "products": [{"role": "SUSPECT", "name_brand": "7-OH-DPAT"}, {"role": "SUSPECT", "name_brand": "7-OH KRATOM SHOT"}]}
    products = rows_of("caers", record)["products"]
    assert [(p["is_kratom"], p["matched_term"], p["excluded_by"]) for p in products] == [(False, None, "7-OH-DPAT"), (True, "KRATOM", None)]


def test_user_terms_decide(tmp_path):
    path = tmp_path / "terms.csv"
    path.write_text("term,match\nKAVA,word\n", encoding="utf-8")
    record = {"safetyreportid": "1", "patient": {"drug": [{"medicinalproduct": "KAVA ROOT"}, {"medicinalproduct": "KRATOM"}, {"medicinalproduct": "KAVALACTONE"}]}}
    products = rows_of("faers", record, terms=load_terms(path))["products"]
    assert [p["matched_term"] for p in products] == ["KAVA", None, None]


def test_names_are_normalised_by_the_sql_macros():
    # The one normalisation (ingest/sql/shaping_macros.sql): what is searched and what is matched.
    assert forms(["O.P.M.S. Kratom", "Kratom (Mitragyna speciosa)", "PHILLIPS' COLON-HEALTH", "  ", "7-OH"]) == [
        ("OPMSKRATOM", "OPMS KRATOM"),
        ("KRATOMMITRAGYNASPECIOSA", "KRATOM MITRAGYNA SPECIOSA"),
        ("PHILLIPSCOLONHEALTH", "PHILLIPS COLON HEALTH"),
        ("", ""),
        ("7OH", "7 OH"),
    ]


def term(text, match):
    return make_terms([(text, match, "")])[0]


def test_search_queries_cover_every_field_with_spaces_not_plus():
    fields = ["patient.drug.medicinalproduct", "patient.drug.openfda.brand_name"]
    assert search_query(term("KRATOM", "substring"), fields) == "patient.drug.medicinalproduct:*kratom* OR patient.drug.openfda.brand_name:*kratom*"
    assert search_query(term("BIAK BIAK", "word"), fields[:1]) == 'patient.drug.medicinalproduct:"biak biak"'
    assert search_query(term("7-OH", "word"), fields[:1]) == 'patient.drug.medicinalproduct:"7 oh"'
    assert search_query(term("KETUM", "word"), fields[:1]) == "patient.drug.medicinalproduct:ketum"


def test_bundled_terms_load():
    terms = load_terms()
    assert [t.term for t in terms][:2] == ["KRATOM", "KRATUM"]
    assert {t.match for t in terms} == {"substring", "word", "exclude"}
    # Every term keeps its reason; exclude terms are not searched.
    assert all(t.note for t in terms)
    assert [t.term for t in terms if not t.searched] == ["7-OH-DPAT", "7-OH-CHLORPROMAZINE", "7-OH-METHOTREXATE", "7-OH-COUMARIN"]


def test_user_terms_file(tmp_path):
    path = tmp_path / "terms.csv"
    path.write_text("term,match\nKAVA,word\n", encoding="utf-8")
    assert [(t.term, t.match, t.note, t.squeezed, t.words) for t in load_terms(path)] == [("KAVA", "word", "", "KAVA", "KAVA")]


@pytest.mark.parametrize(
    "content,message",
    [
        ("name\nKAVA\n", "needs a header line with the columns term and match"),
        ("term,match\nKAVA,fuzzy\n", "line 2: match must be substring, word or exclude, not 'fuzzy'"),
        ("term,match\n--,word\n", "line 2: the term has no letters or digits"),
        ("term,match,note\nKAVA,word,\nKAVALACTONE,exclude,\n", "line 3: an exclude term needs a note saying why 'KAVALACTONE' is not kratom"),
        ("term,match,note\nKAVALACTONE,exclude,a kava compound\n", "has no substring or word term to search for"),
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
