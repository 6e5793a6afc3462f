"""The raw records (docs/schema.md "The raw records"): every stored report's openFDA record is kept
compressed and comes back as the very bytes openFDA sent, through `kratom-ae raw` and
ingest.raw.record."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kratom_ae.cli.main import app
from kratom_ae.ingest import raw, store

CASSETTE = Path(__file__).parent / "cassettes" / "synthetic_fetch_all.json"


def cli(*args):
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def bodies() -> str:
    """Every response body of the recorded fetch, joined: the bytes openFDA sent."""
    return "\n".join(i["response"]["body"]["string"] for i in json.loads(CASSETTE.read_text(encoding="utf-8"))["interactions"])


def stored(db) -> list[tuple[str, str]]:
    con = store.connect(db, read_only=True)
    try:
        return con.execute("SELECT source, report_id FROM reports ORDER BY ALL").fetchall()
    finally:
        con.close()


def test_every_stored_report_comes_back_as_the_bytes_openfda_sent(fetched_db, bodies):
    reports = stored(fetched_db)
    assert len(reports) == 2381
    con = store.connect(fetched_db, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM raw_reports").fetchone()[0] == 2381
        for number, (source, report_id) in enumerate(reports):
            text = raw.record(con, source, report_id)
            if number % 25 == 0:  # (searching all of the bodies for every record takes long)
                assert text in bodies  # verbatim: spacing and escapes as sent
            record = json.loads(text)
            assert record["safetyreportid" if source == "faers" else "report_number"] == report_id
    finally:
        con.close()


def test_the_raw_record_is_the_latest_version(fetched_db):
    """12000001 came as version 1 and 2: the raw record is the version the tables hold."""
    result = cli("raw", "faers", "12000001", "--db", str(fetched_db))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["safetyreportversion"] == "2"


def test_raw_prints_one_record_for_caers_too(fetched_db, bodies):
    con = store.connect(fetched_db, read_only=True)
    try:
        report_id = con.execute("SELECT min(report_id) FROM reports WHERE source = 'caers'").fetchone()[0]
    finally:
        con.close()
    result = cli("raw", "caers", report_id, "--db", str(fetched_db))
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip("\n") in bodies
    assert json.loads(result.stdout)["report_number"] == report_id


def test_raw_of_a_report_not_stored_is_one_sentence(fetched_db):
    result = cli("raw", "faers", "99999999", "--db", str(fetched_db))
    assert result.exit_code == 1
    assert result.stderr == f"Error: No faers report 99999999 is stored in {fetched_db}; `kratom-ae cases` lists the reports.\n"


def test_the_records_are_compressed_with_the_sources_dictionary(fetched_db):
    """Compressed with a dictionary trained on the first page, the raw records take about a
    quarter of their text (plain zstd of one small record at a time would take a third)."""
    con = duckdb.connect(str(fetched_db), read_only=True)
    try:
        dictionaries = dict(con.execute("SELECT source, octet_length(dictionary) FROM raw_dictionaries").fetchall())
        compressed = con.execute("SELECT sum(octet_length(record_zstd)) FROM raw_reports").fetchone()[0]
    finally:
        con.close()
    assert set(dictionaries) == {"faers", "caers"} and all(size > 0 for size in dictionaries.values())
    con = store.connect(fetched_db, read_only=True)
    try:
        text = sum(len(raw.record(con, s, r).encode()) for s, r in stored(fetched_db))
    finally:
        con.close()
    assert compressed < text / 3
