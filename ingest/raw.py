"""The raw openFDA records: every stored report's JSON text as received, compressed with
zstd (staging.py's reader compresses them, publish keeps the winners; schema.sql raw_reports
and raw_dictionaries). Reading one back takes one lookup (a scan of report_id: the table has
no index, see schema.sql) and one decompression."""

from __future__ import annotations

import duckdb
import zstandard

from kratom_ae.ingest.errors import KratomAEError


def record(con: duckdb.DuckDBPyConnection, source: str, report_id: str) -> str | None:
    """The JSON text of one stored report as openFDA sent it, or None if it is not stored."""
    row = con.execute(
        "SELECT r.record_zstd, d.dictionary FROM raw_reports AS r LEFT JOIN raw_dictionaries AS d USING (source) WHERE r.source = $source AND r.report_id = $id",
        {"source": source, "id": report_id},
    ).fetchone()
    if row is None:
        return None
    compressed, dictionary = row
    decompressor = zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(dictionary) if dictionary else None)
    try:
        return decompressor.decompress(compressed).decode("utf-8")
    except zstandard.ZstdError as exc:
        raise KratomAEError(f"The raw record of {source} report {report_id} cannot be read back ({exc}); fetch the source again.") from None
