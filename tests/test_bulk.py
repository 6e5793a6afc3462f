"""`kratom-ae bulk download` (ingest/bulk.py) against a fake server of openFDA's bulk files
(fake_bulk.py): every partition whole in the cache, nothing fetched twice, and a partition cut
short, damaged, killed half-way or replaced by a newer export never kept as if it were whole."""

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fake_bulk import FakeBulk
from kratom_ae.cli.main import app
from kratom_ae.ingest import bulk

runner = CliRunner()


def faers_record(i: int) -> dict:
    # Codes as strings and numbers, a kratom and an other report, as in the API's records.
    return {"safetyreportid": str(10_000_000 + i), "safetyreportversion": "1" if i % 2 else 2, "receivedate": "20240102",
            "patient": {"drug": [{"medicinalproduct": "KRATOM" if i % 3 == 0 else "ASPIRIN", "drugcharacterization": "1"}],
                        "reaction": [{"reactionmeddrapt": "Nausea" if i % 2 else "NAUSEA"}]}}


def caers_record(i: int) -> dict:
    return {"report_number": f"2024-CFS-{i:06d}", "date_created": "20240105", "outcomes": ["Other Outcome"], "reactions": ["NAUSEA"],
            "products": [{"role": "SUSPECT", "name_brand": "KRATOM POWDER" if i % 2 else "VITAMIN C"}]}


PARTS = {"faers": [[faers_record(i) for i in range(0, 40)], [faers_record(i) for i in range(40, 70)], [faers_record(i) for i in range(70, 75)]],
         "caers": [[caers_record(i) for i in range(12)]]}


@pytest.fixture
def server():
    with FakeBulk(PARTS) as fake:
        yield fake


def download(server, cache: Path, *args):
    return runner.invoke(app, ["bulk", "download", str(cache), "--listing-url", server.listing_url, *args])


def partition_requests(server) -> list[str]:
    return [path.rsplit("/", 1)[-1] for path in server.requests if path.endswith(".zip")]


def cached(cache: Path) -> dict[str, int]:
    """Each whole partition in the cache -> its records, counted here with json."""
    out = {}
    for path in sorted(cache.rglob("*.json.zip")):
        with zipfile.ZipFile(path) as archive:
            [member] = archive.namelist()
            out[str(path.relative_to(cache))] = len(json.loads(archive.read(member))["results"])
    return out


EXPECTED = {"drug-event/2026-11-18/2024q1/drug-event-0001-of-0003.json.zip": 40, "drug-event/2026-11-18/2024q2/drug-event-0002-of-0003.json.zip": 30,
            "drug-event/2026-11-18/2024q3/drug-event-0003-of-0003.json.zip": 5, "food-event/2026-11-18/all_other/food-event-0001-of-0001.json.zip": 12}


def test_every_partition_is_downloaded_verified_and_listed_once(server, tmp_path):
    cache = tmp_path / "cache"
    result = download(server, cache)
    assert result.exit_code == 0, result.output
    assert cached(cache) == EXPECTED
    assert not list(cache.rglob("*.part"))
    for name in EXPECTED:
        record = json.loads((cache / f"{name}.verified").read_text())
        assert record["records"] == EXPECTED[name] and record["bytes"] == (cache / name).stat().st_size and record["export_date"] == "2026-11-18"
    export = json.loads((cache / "drug-event/2026-11-18/export.json").read_text())
    assert export["export_date"] == "2026-11-18" and export["listing_url"] == server.listing_url and len(export["partitions"]) == 3
    assert "drug/event export 2026-11-18: 3 partitions listed, 0 already in the cache, 3 to download." in result.stderr
    assert "drug/event export 2026-11-18: 3 partitions in" in result.stderr and "(3 downloaded now, 0 there before)." in result.stderr
    assert sorted(partition_requests(server)) == sorted(Path(name).name for name in EXPECTED)
    # Again: nothing is fetched twice, and the cache is as it was.
    server.requests.clear()
    again = download(server, cache)
    assert again.exit_code == 0, again.output
    assert partition_requests(server) == [] and cached(cache) == EXPECTED
    assert "(0 downloaded now, 3 there before)." in again.stderr


def test_one_source(server, tmp_path):
    result = download(server, tmp_path / "cache", "--source", "caers", "--quiet")
    assert result.exit_code == 0, result.output
    assert list(cached(tmp_path / "cache")) == ["food-event/2026-11-18/all_other/food-event-0001-of-0001.json.zip"]
    assert partition_requests(server) == ["food-event-0001-of-0001.json.zip"]


@pytest.mark.parametrize("fault", [("cut", 200), ("short", 200), ("short", 0)])
def test_a_partition_cut_short_is_fetched_again(server, tmp_path, fault):
    server.faults["drug-event-0002-of-0003.json.zip"] = [fault]
    result = download(server, tmp_path / "cache")
    assert result.exit_code == 0, result.output
    assert cached(tmp_path / "cache") == EXPECTED
    assert partition_requests(server).count("drug-event-0002-of-0003.json.zip") == 2


def test_a_partition_damaged_every_time_stops_in_one_sentence_keeping_the_whole_ones(server, tmp_path):
    server.faults["drug-event-0002-of-0003.json.zip"] = [("short", 300)] * bulk.ATTEMPTS
    cache = tmp_path / "cache"
    result = download(server, cache)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"Error: The partition drug-event-0002-of-0003.json.zip (2026-11-18) ({server.url}/drug/event/2024q2/drug-event-0002-of-0003.json.zip) arrived damaged "
        f"3 times (not a whole zip: BadZipFile: File is not a zip file); the partitions already whole stay in the cache: run the download again later."
    )
    assert cached(cache) == {"drug-event/2026-11-18/2024q1/drug-event-0001-of-0003.json.zip": 40}
    assert not list(cache.rglob("*.part"))
    # The next run fetches only what is missing.
    server.requests.clear()
    assert download(server, cache).exit_code == 0
    assert cached(cache) == EXPECTED
    assert "drug-event-0001-of-0003.json.zip" not in partition_requests(server)


def test_a_partition_with_other_records_than_listed_is_not_kept(server, tmp_path):
    server.listing_overrides["drug-event-0003-of-0003.json.zip"] = {"records": 6}
    result = download(server, tmp_path / "cache", "--source", "faers")
    assert result.exit_code == 1
    assert "arrived damaged 3 times (5 records where download.json lists 6)" in result.stderr
    assert "drug-event/2026-11-18/2024q3/drug-event-0003-of-0003.json.zip" not in cached(tmp_path / "cache")


def test_a_partition_of_another_size_than_listed_is_not_kept(server, tmp_path):
    server.listing_overrides["food-event-0001-of-0001.json.zip"] = {"size_mb": "3.50"}
    result = download(server, tmp_path / "cache", "--source", "caers")
    assert result.exit_code == 1
    assert "bytes where download.json lists 3.50 MB" in result.stderr
    assert cached(tmp_path / "cache") == {}


def test_a_new_export_published_during_the_download_keeps_nothing_it_may_have_brought(server, tmp_path):
    """The URLs stay, the contents change: a partition fetched after openFDA's update is the
    new export's, and must not be filed under the old date."""
    cache = tmp_path / "cache"
    seen = []

    def publish_after_first(name):
        seen.append(name)
        if len(seen) == 2:
            server.export_date = "2026-12-01"

    server.on_partition = publish_after_first
    result = download(server, cache, "--source", "faers")
    assert result.exit_code == 1
    assert "openFDA published a new export of drug/event (from 2026-11-18 to 2026-12-01) during the download; the partitions fetched in this run were removed" in result.stderr
    assert cached(cache) == {}
    server.on_partition = None
    assert download(server, cache, "--source", "faers").exit_code == 0
    assert set(cached(cache)) == {name.replace("2026-11-18", "2026-12-01") for name in EXPECTED if name.startswith("drug-event")}


def test_a_killed_download_resumes_without_its_half_written_partition(server, tmp_path):
    """kill -9 while a partition is half-written: it is left as NAME.part, which the next run
    fetches again (a partition big enough to arrive in several pieces: narratives that do not
    compress)."""
    cache = tmp_path / "cache"
    server.parts = {"faers": [PARTS["faers"][0], [{**faers_record(i), "narrative": os.urandom(4000).hex()} for i in range(40, 70)], PARTS["faers"][2]]}
    server.faults["drug-event-0002-of-0003.json.zip"] = [("drip", 0.3, 16_000)]
    command = [str(Path(sys.executable).parent / "kratom-ae"), "bulk", "download", str(cache), "--listing-url", server.listing_url, "--source", "faers"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    partial = cache / "drug-event/2026-11-18/2024q2/drug-event-0002-of-0003.json.zip.part"
    deadline = time.monotonic() + 60
    while not (partial.exists() and partial.stat().st_size > 0):
        assert process.poll() is None and time.monotonic() < deadline, "the download ended before its partition was half-written"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert cached(cache) == {"drug-event/2026-11-18/2024q1/drug-event-0001-of-0003.json.zip": 40}  # the half-written one is only a .part
    result = download(server, cache, "--source", "faers")
    assert result.exit_code == 0, result.output
    assert cached(cache) == {name: n for name, n in EXPECTED.items() if name.startswith("drug-event")} and not list(cache.rglob("*.part"))
    assert "(2 downloaded now, 1 there before)." in result.stderr


def test_the_disk_it_needs_is_said_and_checked_before_any_partition_is_fetched(server, tmp_path):
    server.listing_overrides["drug-event-0001-of-0003.json.zip"] = {"size_mb": "99000000.00"}
    result = download(server, tmp_path / "cache")
    assert result.exit_code == 1
    assert "To download: 99,000.0 GB" in result.stderr
    assert "Error: The partitions still to download need 99,000.0 GB (and 0.5 GB to spare), but the disk of" in result.stderr
    assert "free some space or name a cache folder on a larger disk" in result.stderr
    assert partition_requests(server) == []


@pytest.mark.parametrize("listing,message", [
    (b"not json", "openFDA's download.json is not the listing openFDA documents (no results object); check the listing URL."),
    (json.dumps({"results": {"drug": {}}}).encode(), "openFDA's download.json lists no partitions of drug/event."),
    (json.dumps({"results": {"drug": {"event": {"export_date": "../x", "partitions": []}}}}).encode(), "which is not a date"),
    (json.dumps({"results": {"drug": {"event": {"export_date": "2026-01-01", "partitions": [{"file": "http://h/drug/event/../x.zip"}]}}}}).encode(),
     "which is not a zip file kratom-ae can name in its cache"),
])
def test_a_listing_that_is_not_openfdas_is_one_sentence(tmp_path, listing, message):
    with pytest.raises(bulk.KratomAEError, match=None) as caught:
        bulk.read_listing(listing, ["faers"])
    assert message in str(caught.value)


def test_an_unreachable_listing_is_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "BACKOFF_SECONDS", 0.0)  # the five retries, without their half minute
    result = runner.invoke(app, ["bulk", "download", str(tmp_path / "cache"), "--listing-url", "http://127.0.0.1:9/download.json"])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("Error: Cannot reach openFDA's listing http://127.0.0.1:9/download.json: the connection failed.")
    assert "Traceback" not in result.output


def test_the_cache_may_hold_the_database_but_may_not_be_it(server, fetched_db, tmp_path):
    import shutil

    db = tmp_path / "kratom-ae.duckdb"
    shutil.copy(fetched_db, db)
    before = db.read_bytes()
    refused = download(server, db)
    assert refused.exit_code == 2 and "is a file, not a folder; name a folder for the cache" in refused.stderr
    link = tmp_path / "link"
    link.symlink_to(db)
    assert download(server, link).exit_code == 2
    assert download(server, tmp_path).exit_code == 0  # the folder that holds the database
    assert db.read_bytes() == before and cached(tmp_path) == EXPECTED
