"""A local server of openFDA's bulk files, for tests: a download.json listing zipped partitions
made from the records given (SYNTHETIC: their meta.disclaimer says so), shaped as
docs/openfda-api-notes.md section 6 describes the real ones. Binds to 127.0.0.1 only.

Faults, queued per partition file name (each request of that file takes the next one):
    ("cut", n)       send the Content-Length of the whole zip, then only n bytes, then close
    ("short", n)     send only the first n bytes, as if they were the whole file
    ("drip", s, n)   send the zip n bytes at a time, s seconds apart
`on_partition` (if set) is called with the file name before each partition is sent: a test
changes `export_date` there to publish a new export in the middle of a download.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from http.server import BaseHTTPRequestHandler

from fake_openfda import LocalServer

DISCLAIMER = "SYNTHETIC bulk data made by kratom-ae's tests (tests/fake_bulk.py); not from openFDA."
ENDPOINTS = {"faers": ("drug", "event"), "caers": ("food", "event")}


def partition_zip(name: str, records: list, export_date: str) -> bytes:
    """A record given as text goes in as it is (a key twice, an integer of 25 digits); any
    other value as its JSON (an item that is not an object: null, 7, [...])."""
    meta = {"disclaimer": DISCLAIMER, "last_updated": export_date, "results": {"skip": 0, "limit": len(records), "total": len(records)}}
    results = ",".join(r if isinstance(r, str) else json.dumps(r) for r in records)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name.removesuffix(".zip"), f'{{"meta":{json.dumps(meta)},"results":[{results}]}}')
    return buffer.getvalue()


def unkeyable_partitions(source: str) -> list[list]:
    """Partitions of SYNTHETIC records among items that cannot be reports (ingest/bulk.py
    unkeyable): no id, a null, empty or list id, and items that are not JSON objects. The
    expected outcome, worked by hand, is UNKEYABLE[source]."""
    import random

    import synthetic

    rng = random.Random(31)
    if source == "caers":
        def record(report_number, name="KRATOM POWDER"):
            r = synthetic.caers_record(rng, "0", name)
            r["report_number"] = report_number
            return r

        def without(name="KRATOM POWDER"):
            r = record("0", name)
            del r["report_number"]
            return r

        return [[record("2024-CFS-000300"), without(), '"KRATOM POWDER"', record("\u00a0 "), record("2024-CFS-000301"), record({"number": "302"}), without("FISH OIL")]]

    def record(report_id, name="KRATOM", version="1"):
        r = synthetic.faers_record(rng, "0", name, era="faers")
        r["safetyreportid"], r["safetyreportversion"] = report_id, version
        return r

    def without(name="KRATOM"):
        r = record("0", name)
        del r["safetyreportid"]
        return r

    # 19000003 is in both: its version 1, naming no kratom, is read again for the later
    # version's sake (bulk_load.add_records), among the items that cannot be reports.
    return [
        [record("19000001"), without(), '"KRATOM POWDER"', record(None), 7, without(None), record("\u3000 "), record("19000002"), record("19000003", None)],
        # A no-break space is trimmed away as the shaping's clean() trims it (19000006); a number is an id (19000007).
        [None, record(["19000003", "19000004"]), [{"safetyreportid": "19000005"}], record(""), record("19000003", version="2"), record("\u00a019000006 "), record(19000007)],
    ]


# What unkeyable_partitions give, worked by hand: per partition (records, the positions that
# cannot be reports, with the problem of each; the ids of kratom reports held). A bulk load
# sets aside those that are not objects, and those that name kratom; it passes by the others
# (FAERS 1/6, CAERS 1/7: no kratom, like any record naming no term), which bulk background
# leaves out too, as every item that cannot be a report.
UNKEYABLE = {
    "faers": {
        "records": [9, 7],
        "problems": [
            {2: "safetyreportid is missing", 3: "the record is a string, not an object", 4: "safetyreportid is null", 5: "the record is a number, not an object",
             6: "safetyreportid is missing", 7: "safetyreportid is empty"},
            {1: "the record is null, not an object", 2: "safetyreportid is a list, not one value", 3: "the record is a list, not an object", 4: "safetyreportid is empty"},
        ],
        "passed_by": {(1, 6)},
        "held": {"19000001", "19000002", "19000003", "19000006", "19000007"},
    },
    "caers": {
        "records": [7],
        "problems": [{2: "report_number is missing", 3: "the record is a string, not an object", 4: "report_number is empty", 6: "report_number is an object, not one value",
                      7: "report_number is missing"}],
        "passed_by": {(1, 7)},
        "held": {"2024-CFS-000300", "2024-CFS-000301"},
    },
}


class FakeBulk(LocalServer):
    def __init__(self, parts: dict[str, list[list[dict]]], export_date: str = "2026-11-18"):
        """parts: per source (faers, caers), the records of each partition."""
        self.parts = parts
        self.export_date = export_date
        self.faults: dict[str, list[tuple]] = {}
        self.requests: list[str] = []
        self.on_partition = None
        self.listing_overrides: dict[str, dict] = {}  # file name -> fields to list instead (size_mb, records)
        self._listen()
        self.listing_url = f"{self.url}/download.json"

    def files(self) -> dict[str, tuple[str, list[dict]]]:
        """URL path -> (source, records) of every partition of the current export."""
        out = {}
        for source, partitions in self.parts.items():
            category, endpoint = ENDPOINTS[source]
            for i, records in enumerate(partitions, 1):
                period = "all_other" if source == "caers" else f"2024q{i}"
                name = f"{category}-{endpoint}-{i:04d}-of-{len(partitions):04d}.json.zip"
                out[f"/{category}/{endpoint}/{period}/{name}"] = (source, records)
        return out

    def zip_of(self, path: str) -> bytes:
        return partition_zip(path.rsplit("/", 1)[-1], self.files()[path][1], self.export_date)

    def listing(self) -> dict:
        results: dict = {}
        for source, partitions in self.parts.items():
            category, endpoint = ENDPOINTS[source]
            listed = []
            for path, (of, records) in self.files().items():
                if of != source:
                    continue
                name = path.rsplit("/", 1)[-1]
                entry = {"display_name": f"{name} ({self.export_date})", "file": f"{self.url}{path}", "size_mb": f"{len(self.zip_of(path)) / 1e6:.2f}", "records": len(records)}
                entry.update(self.listing_overrides.get(name, {}))
                listed.append(entry)
            total = sum(len(r) for r in partitions)
            results.setdefault(category, {})[endpoint] = {"export_date": self.export_date, "total_records": total, "partitions": listed}
        return {"meta": {"disclaimer": DISCLAIMER, "last_updated": self.export_date}, "results": results}

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                server.requests.append(path)
                if path == "/download.json":
                    return self._send(json.dumps(server.listing()).encode("utf-8"))
                if path not in server.files():
                    return self._send(b'{"error": {"code": "NOT_FOUND"}}', status=404)
                name = path.rsplit("/", 1)[-1]
                if server.on_partition:
                    server.on_partition(name)
                body = server.zip_of(path)
                fault = server.faults.get(name, []).pop(0) if server.faults.get(name) else None
                if fault and fault[0] == "short":
                    return self._send(body[: fault[1]])
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if fault and fault[0] == "cut":
                    self.wfile.write(body[: fault[1]])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if fault and fault[0] == "drip":
                    for start in range(0, len(body), fault[2]):
                        self.wfile.write(body[start:start + fault[2]])
                        self.wfile.flush()
                        time.sleep(fault[1])
                    return
                self.wfile.write(body)

            def _send(self, body: bytes, status: int = 200):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
