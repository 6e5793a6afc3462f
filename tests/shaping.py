"""Test helper: openFDA records -> the rows the page SQL stages for them, as dicts."""

from __future__ import annotations

import functools
import json

import zstandard

from kratom_ae.ingest.fetch import SOURCES
from kratom_ae.ingest.staging import Staging
from kratom_ae.ingest.terms import load_terms


@functools.cache
def bundled_terms() -> tuple:
    """The bundled kratom terms, read once (each read opens DuckDB for the terms' forms)."""
    return tuple(load_terms())


def rows_of(source: str, *records: dict, terms=None) -> list[dict] | dict:
    """Shape records as one openFDA page; returns, per record, {'report', 'products',
    'ingredients', 'reactions', 'raw'} (a single dict when one record is given)."""
    staging = Staging(None, terms or list(bundled_terms()), source, SOURCES[source].id_field)
    try:
        body = json.dumps({"meta": {"last_updated": "2026-11-18", "results": {"skip": 0, "limit": 1000, "total": len(records)}}, "results": list(records)}).encode()
        staging.read_page(body)
        staged = staging.finish()
        files = {"stage_reports": staged.reports, "stage_products": staged.products, "stage_ingredients": staged.ingredients, "stage_reactions": staged.reactions, "stage_raw": staged.raw}

        def table(name):
            relation = f"read_parquet({files[name]!r})"
            cursor = staging.con.execute(f"SELECT * EXCLUDE (stage_seq), stage_seq FROM {relation} ORDER BY ALL")
            columns = [d[0] for d in cursor.description]
            return [dict(zip(columns, row)) for row in cursor.fetchall()]

        reports, products, ingredients, reactions, raw = (table(t) for t in ("stage_reports", "stage_products", "stage_ingredients", "stage_reactions", "stage_raw"))
        # The raw records are stored compressed: shown here as the text they hold.
        dictionary = zstandard.ZstdCompressionDict(staging.dictionary) if staging.dictionary else None
        for row in raw:
            row["record"] = zstandard.ZstdDecompressor(dict_data=dictionary).decompress(row["record"]).decode()
    finally:
        staging.cleanup()
    result = []
    for seq in range(len(records)):
        pick = lambda rows: [{k: v for k, v in r.items() if k != "stage_seq"} for r in rows if r["stage_seq"] == seq]  # noqa: E731
        result.append({"report": pick(reports)[0], "products": pick(products), "ingredients": pick(ingredients), "reactions": pick(reactions), "raw": pick(raw)[0]})
    return result[0] if len(result) == 1 else result
