"""ISO 3166 countries, from pycountry (a maintained copy of the ISO 3166 database), as the
table the page SQL maps reported countries with.

openFDA's primarysource.reportercountry holds full names in AERS-era reports ("United
States", "UNITED STATES") and ISO two-letter codes in FAERS-era ones ("US"). Every spelling
pycountry knows for a country (its two- and three-letter codes, name, official name and
common name) is listed here; the SQL normalises both sides with country_key
(ingest/sql/shaping_macros.sql). A value no spelling matches is kept as reported.
"""

from __future__ import annotations

import pandas as pd


def country_names() -> pd.DataFrame:
    """One row per (spelling, ISO alpha-2 code, display name); the display name is the common
    name where ISO has one ("Iran"), else the ISO short name ("United States")."""
    import pycountry

    rows = []
    for country in pycountry.countries:
        display = getattr(country, "common_name", None) or country.name
        spellings = {country.alpha_2, country.alpha_3, country.name, getattr(country, "official_name", None), getattr(country, "common_name", None)}
        rows += [(spelling, country.alpha_2, display) for spelling in spellings if spelling]
    return pd.DataFrame(rows, columns=["spelling", "code", "name"])
