"""openFDA code lists, copied from openFDA's field definitions.

Source: FDA/open.fda.gov `src/constants/fields/drugevent.yaml` and `foodevent.yaml`
(commit 42bf8813c94c35d58c6e7d9bc59184a3e34e8d15), CC0. Labels are lower-cased where the
project stores them as categories (sex, role) so that FAERS and CAERS agree.
"""

# patient.patientonsetageunit: how many years one unit is. A week is 7 days and a year
# 365.25 days, so 52 weeks is slightly under a year (0.996), as it should be.
AGE_UNIT_YEARS = {
    "800": 10.0,  # decade
    "801": 1.0,  # year
    "802": 1.0 / 12.0,  # month
    "803": 7.0 / 365.25,  # week
    "804": 1.0 / 365.25,  # day
    "805": 1.0 / (365.25 * 24.0),  # hour
}
AGE_UNIT_NAME = {"800": "decade", "801": "year", "802": "month", "803": "week", "804": "day", "805": "hour"}

# food/event consumer.age_unit: documented as "Year(s)" but served as "year(s)"; matched
# case-insensitively on the word before "(s)".
CAERS_AGE_UNIT_YEARS = {
    "decade": 10.0,
    "year": 1.0,
    "month": 1.0 / 12.0,
    "week": 7.0 / 365.25,
    "day": 1.0 / 365.25,
    "hour": 1.0 / (365.25 * 24.0),
}

SEX = {"0": "unknown", "1": "male", "2": "female"}
CAERS_GENDER = {"female": "female", "male": "male", "not available": "unknown"}

AGE_GROUP = {"1": "neonate", "2": "infant", "3": "child", "4": "adolescent", "5": "adult", "6": "elderly"}

QUALIFICATION = {
    "1": "physician",
    "2": "pharmacist",
    "3": "other health professional",
    "4": "lawyer",
    "5": "consumer or non-health professional",
}

DRUG_ROLE = {"1": "suspect", "2": "concomitant", "3": "interacting"}
CAERS_ROLE = {"suspect": "suspect", "concomitant": "concomitant", "not available": None}

REACTION_OUTCOME = {
    "1": "recovered/resolved",
    "2": "recovering/resolving",
    "3": "not recovered/not resolved",
    "4": "recovered/resolved with sequelae",
    "5": "fatal",
    "6": "unknown",
}

# patient.drug.drugadministrationroute (E2B route codes).
ROUTE = {
    '001': 'Auricular (otic)',
    '002': 'Buccal',
    '003': 'Cutaneous',
    '004': 'Dental',
    '005': 'Endocervical',
    '006': 'Endosinusial',
    '007': 'Endotracheal',
    '008': 'Epidural',
    '009': 'Extra-amniotic',
    '010': 'Hemodialysis',
    '011': 'Intra corpus cavernosum',
    '012': 'Intra-amniotic',
    '013': 'Intra-arterial',
    '014': 'Intra-articular',
    '015': 'Intra-uterine',
    '016': 'Intracardiac',
    '017': 'Intracavernous',
    '018': 'Intracerebral',
    '019': 'Intracervical',
    '020': 'Intracisternal',
    '021': 'Intracorneal',
    '022': 'Intracoronary',
    '023': 'Intradermal',
    '024': 'Intradiscal (intraspinal)',
    '025': 'Intrahepatic',
    '026': 'Intralesional',
    '027': 'Intralymphatic',
    '028': 'Intramedullar (bone marrow)',
    '029': 'Intrameningeal',
    '030': 'Intramuscular',
    '031': 'Intraocular',
    '032': 'Intrapericardial',
    '033': 'Intraperitoneal',
    '034': 'Intrapleural',
    '035': 'Intrasynovial',
    '036': 'Intratumor',
    '037': 'Intrathecal',
    '038': 'Intrathoracic',
    '039': 'Intratracheal',
    '040': 'Intravenous bolus',
    '041': 'Intravenous drip',
    '042': 'Intravenous (not otherwise specified)',
    '043': 'Intravesical',
    '044': 'Iontophoresis',
    '045': 'Nasal',
    '046': 'Occlusive dressing technique',
    '047': 'Ophthalmic',
    '048': 'Oral',
    '049': 'Oropharingeal',
    '050': 'Other',
    '051': 'Parenteral',
    '052': 'Periarticular',
    '053': 'Perineural',
    '054': 'Rectal',
    '055': 'Respiratory (inhalation)',
    '056': 'Retrobulbar',
    '057': 'Sunconjunctival',
    '058': 'Subcutaneous',
    '059': 'Subdermal',
    '060': 'Sublingual',
    '061': 'Topical',
    '062': 'Transdermal',
    '063': 'Transmammary',
    '064': 'Transplacental',
    '065': 'Unknown',
    '066': 'Urethral',
    '067': 'Vaginal',
}
