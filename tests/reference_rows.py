"""The rows a fetch makes in reports, products and reactions (and fetch_problems), for fixed inputs: what
tests/test_ingest_paths.py compares between the ingest path of today and the rows the
previous path (commit 33d3205, before issue 12's redesign) made from the same pages, kept in
tests/fixtures/reference_rows/ (SYNTHETIC inputs, made by tests/record_reference_rows.py).

The inputs, each fetched into a database of its own:
- cassette: the recorded SYNTHETIC fetch of both sources with the bundled terms
  (tests/cassettes/synthetic_fetch_all.json): AERS- and FAERS-era spellings, look-alikes;
- bench: 2,500 of the benchmark's SYNTHETIC reports (bench/data.py), three pages, one short;
- malformed: the malformed FAERS and CAERS records of tests/test_hostile.py, one page each.

This module runs against whichever kratom-ae is importable, as `kratom_ae.ingest` (since issue
21) or as the older top-level `ingest`, so that record_reference_rows.py can run it with an older
commit's code.
"""

from __future__ import annotations

import importlib
import importlib.util
import random
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
FIXTURES = HERE / "fixtures" / "reference_rows"
TABLES = ("reports", "products", "reactions", "fetch_problems")
# report_key numbers reports by the order they were received, an internal key that the
# comparison leaves out: the rows are compared by (source, report_id, position).
ORDER = {"reports": "source, report_id", "products": "source, report_id, product_seq", "reactions": "source, report_id, reaction_seq", "fetch_problems": "source, report_id, problem"}
SCENARIOS = ("cassette", "bench", "malformed")
# Columns added after the reference's commit (issue 20: what a clinician reads per drug), which
# the comparison leaves out.
ADDED = {"products": {
    "start_date_reported", "start_date_precision", "start_date_format", "end_date", "end_date_reported", "end_date_precision", "end_date_format",
    "duration_reported", "duration_unit", "duration_days", "dosage_text", "dosage_form", "dose_amount", "dose_unit", "separate_doses", "dose_interval",
    "dose_interval_unit", "cumulative_dose_amount", "cumulative_dose_unit", "action_taken", "abated_after_action", "recurred_on_readministration",
    "recurred_reactions",
}}


# The package prefix of the code to run: None to take whichever kratom-ae is importable;
# record_reference_rows.py sets "" (an older commit's top-level ingest).
PREFIX: str | None = None


def kratom_ae(name: str):
    """The module ingest.NAME of whichever kratom-ae is importable (see the docstring)."""
    prefix = PREFIX if PREFIX is not None else "kratom_ae." if importlib.util.find_spec("kratom_ae") else ""
    return importlib.import_module(prefix + name)


def bench_records(count: int) -> list[dict]:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import data
    finally:
        sys.path.pop(0)
    return [data.record(i) for i in range(count)]


def malformed_pages() -> tuple[bytes, bytes]:
    import synthetic
    from test_hostile import malformed_faers, page_body

    rng = random.Random(8)
    good, as_object, id_list = (synthetic.caers_record(rng, str(200 + i), "KRATOM POWDER") for i in range(3))
    as_object["products"] = as_object["products"][0]
    id_list["report_number"] = {"number": "202"}
    return page_body(malformed_faers()), page_body([good, as_object, id_list])


def fetch(scenario: str, db: Path) -> None:
    """Fetch the scenario's inputs into db with the importable kratom-ae."""
    from fake_openfda import FakeOpenFDA
    from vcr_setup import make_vcr

    store = kratom_ae("ingest.store")
    SOURCES, fetch_source = kratom_ae("ingest.fetch").SOURCES, kratom_ae("ingest.fetch").fetch_source
    OpenFDAClient, Pacer = kratom_ae("ingest.openfda").OpenFDAClient, kratom_ae("ingest.openfda").Pacer
    load_terms = kratom_ae("ingest.terms").load_terms

    if scenario == "cassette":
        with make_vcr("none").use_cassette("synthetic_fetch_all.json"), store.writing(db) as con:
            client = OpenFDAClient(pacer=Pacer(0))
            for source in ("faers", "caers"):
                fetch_source(con, client, SOURCES[source], load_terms())
        return
    if scenario == "bench":
        with FakeOpenFDA(bench_records(2500)) as server, store.writing(db) as con:
            fetch_source(con, OpenFDAClient(server.url, pacer=Pacer(0)), SOURCES["faers"], load_terms(ROOT / "bench" / "terms.csv"))
        return
    faers_page, caers_page = malformed_pages()
    for source, page in (("faers", faers_page), ("caers", caers_page)):
        with FakeOpenFDA([]) as server, store.writing(db) as con:
            server.faults = [("status", 200, page, {})]
            fetch_source(con, OpenFDAClient(server.url, pacer=Pacer(0)), SOURCES[source], load_terms(HERE / "fixtures" / "terms_kratom.csv"))


def select(table: str) -> str:
    # The probable cases are left out: issue 19 changed the rule on purpose (test_cases.py
    # checks them against the oracle), and the older commit groups by the older rule.
    columns = "*" if table == "fetch_problems" else "* EXCLUDE (report_key, case_id, case_rule)" if table == "reports" else "* EXCLUDE (report_key)"
    return f"SELECT {columns} FROM {table} ORDER BY {ORDER[table]}"


def rows(db: Path, table: str):
    """The table's rows as a DataFrame, without report_key, in a fixed order."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(select(table)).df()
    finally:
        con.close()


def write(folder: Path, work: Path) -> None:
    """Fetch every scenario and write its tables as Parquet into folder."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    for scenario in SCENARIOS:
        db = work / f"{scenario}.duckdb"
        fetch(scenario, db)
        con = duckdb.connect(str(db), read_only=True)
        try:
            for table in TABLES:
                out = folder / f"{scenario}-{table}.parquet"
                con.execute(f"COPY ({select(table)}) TO '{out}' (FORMAT parquet)")
        finally:
            con.close()
