"""The naive baseline: what a first notebook would do. requests for each page (following the
Link header), pandas.json_normalize per page, and row-by-row inserts into DuckDB (reports,
their drugs, their reactions).

    python bench/naive.py BASE_URL DB
"""

from __future__ import annotations

import sys

import duckdb
import pandas as pd
import requests

REPORT_COLUMNS = ["safetyreportid", "safetyreportversion", "receivedate", "serious", "seriousnessdeath", "patient.patientsex", "patient.patientonsetage", "patient.patientonsetageunit"]


def main() -> None:
    base, db = sys.argv[1], sys.argv[2]
    con = duckdb.connect(db)
    con.execute("CREATE TABLE reports (id VARCHAR, version VARCHAR, received VARCHAR, serious VARCHAR, death VARCHAR, sex VARCHAR, age VARCHAR, age_unit VARCHAR)")
    con.execute("CREATE TABLE drugs (id VARCHAR, medicinalproduct VARCHAR, drugcharacterization VARCHAR)")
    con.execute("CREATE TABLE reactions (id VARCHAR, reactionmeddrapt VARCHAR)")
    url, params = f"{base}/drug/event.json", {"search": "patient.drug.medicinalproduct:*kratom*", "limit": 1000}
    session = requests.Session()
    while url:
        response = session.get(url, params=params, timeout=120)
        response.raise_for_status()
        results = response.json()["results"]
        frame = pd.json_normalize(results)
        for column in REPORT_COLUMNS:
            if column not in frame:
                frame[column] = None
        drugs = pd.json_normalize(results, record_path=["patient", "drug"], meta=["safetyreportid"])
        reactions = pd.json_normalize(results, record_path=["patient", "reaction"], meta=["safetyreportid"])
        for row in frame[REPORT_COLUMNS].itertuples(index=False):
            con.execute("INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [None if pd.isna(v) else str(v) for v in row])
        for row in drugs[["safetyreportid", "medicinalproduct", "drugcharacterization"]].itertuples(index=False):
            con.execute("INSERT INTO drugs VALUES (?, ?, ?)", list(row))
        for row in reactions[["safetyreportid", "reactionmeddrapt"]].itertuples(index=False):
            con.execute("INSERT INTO reactions VALUES (?, ?)", list(row))
        link = response.links.get("next")
        url, params = (link["url"], None) if link else (None, None)
    con.close()


if __name__ == "__main__":
    main()
