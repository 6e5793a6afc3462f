"""The two openFDA sources kratom-ae reads, whichever way their reports come in (the search
API, ingest/fetch.py; the bulk files, ingest/bulk_load.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    name: str
    endpoint: str
    search_fields: list[str]  # name fields searched on openFDA (and checked locally, in the page SQL)
    id_field: str


SOURCES = {
    "faers": Source(
        "faers",
        "drug/event",
        [
            "patient.drug.medicinalproduct",
            "patient.drug.activesubstance.activesubstancename",
            "patient.drug.openfda.brand_name",
            "patient.drug.openfda.generic_name",
            "patient.drug.openfda.substance_name",
        ],
        "safetyreportid",
    ),
    "caers": Source("caers", "food/event", ["products.name_brand"], "report_number"),
}
