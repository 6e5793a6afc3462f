"""SYNTHETIC bulk files for the bulk benchmark (bench/bulk.py): openFDA's drug/event bulk
format (docs/openfda-api-notes.md section 6: zips of one JSON document {"meta": ..., "results":
[...]}), in a cache folder laid out as `kratom-ae bulk download` leaves it (export.json, each
partition with its .verified record, made by ingest/bulk.py's own functions).

The records are bench/data.py's (7 KB of JSON on average, 1-40 drugs, full openfda blocks),
but few name kratom, as in FAERS: report i names a kratom product when i % KRATOM_EVERY ==
17 (1 in 5,000), a near miss (KRAT0M, Krátom, ...: one edit from a term, judged not kratom)
when i % NEAR_EVERY == 2517, and one in ACCENTED_EVERY names a drug with an accented letter
(written as a \\u escape, as Python's json writes it).

    python bench/bulk_data.py REPORTS PARTITIONS     (makes them if missing, says where)

Made once under bench/.data/ (gitignored) and kept: a folder is whole once its made.json is
written, and made again when this generator's code changes (its hash is in made.json).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import data  # noqa: E402

DATA = HERE / ".data"
EXPORT_DATE = "2026-11-18"
KRATOM_EVERY, NEAR_EVERY, ACCENTED_EVERY = 5_000, 20_000, 100
KRATOM_NAMES = [*data.NAMES, "KRA-TOM POWDER"]  # the last: a name no openFDA search finds
NEAR_NAMES = ["KRAT0M", "Kratm caps", "KRATOOM", "Krátom", "KETUN", "MlTRAGYN", "CRATUM"]
ACCENTED = ["PARACÉTAMOL", "MÉTFORMINE", "ÁCIDO ACETILSALICÍLICO"]
DISCLAIMER = "SYNTHETIC bulk data made by kratom-ae's benchmark (bench/bulk_data.py); not from openFDA."
MEMBER_CHUNK = 1000  # records serialised and written to the zip at a time


def name_of(i: int) -> str | None:
    if i % KRATOM_EVERY == 17:
        return KRATOM_NAMES[(i // KRATOM_EVERY) % len(KRATOM_NAMES)]
    if i % NEAR_EVERY == 2517:
        return NEAR_NAMES[(i // NEAR_EVERY) % len(NEAR_NAMES)]
    return None


def record(i: int) -> dict:
    report = data.record(i, name_of)
    if i % ACCENTED_EVERY == 3:
        report["patient"]["drug"].append({"drugcharacterization": "2", "medicinalproduct": ACCENTED[i % len(ACCENTED)]})
    return report


def expected(reports: int) -> dict:
    """What a load of the first `reports` must hold: the kratom reports and the near misses."""
    kratom = sum(1 for i in range(reports) if i % KRATOM_EVERY == 17)
    near = sum(1 for i in range(reports) if i % NEAR_EVERY == 2517 and i % KRATOM_EVERY != 17)
    return {"kratom": kratom, "near_misses": near, "held": kratom + near}


def code_hash() -> str:
    """Of this file and of the generators it draws on: a change makes the data again."""
    files = [Path(__file__), HERE / "data.py", ROOT / "tests" / "synthetic.py"]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]


def folder_of(reports: int, partitions: int) -> Path:
    return DATA / f"bulk-{reports}-{partitions}"


def bounds(reports: int, partitions: int) -> list[tuple[int, int]]:
    size = -(-reports // partitions)
    return [(start, min(start + size, reports)) for start in range(0, reports, size)]


def part_name(number: int, partitions: int) -> str:
    return f"drug-event-{number:04d}-of-{partitions:04d}.json.zip"


def period(number: int) -> str:
    return f"{2004 + (number - 1) // 4}q{(number - 1) % 4 + 1}"


def head(records: int) -> str:
    meta = {"disclaimer": DISCLAIMER, "terms": "https://open.fda.gov/terms/", "license": "https://open.fda.gov/license/", "last_updated": EXPORT_DATE,
            "results": {"skip": 0, "limit": records, "total": records}}
    return f'{{"meta": {json.dumps(meta)}, "results": ['


def write_partition(path: Path, chunks, records: int) -> None:
    """A zip of one JSON document, written as a stream from `chunks` (the results array's
    text, piece by piece, commas included)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive, archive.open(path.name.removesuffix(".zip"), "w", force_zip64=True) as out:
        out.write(head(records).encode())
        for chunk in chunks:
            out.write(chunk.encode())
        out.write(b"]}")
    os.replace(tmp, path)


def made_records(start: int, end: int):
    for first in range(start, end, MEMBER_CHUNK):
        text = ", ".join(json.dumps(record(i)) for i in range(first, min(first + MEMBER_CHUNK, end)))
        yield text if first == start else ", " + text


def make_partition(job: tuple[Path, int, int, int]) -> None:
    path, start, end, _ = job
    write_partition(path, made_records(start, end), end - start)


def results_text(path: Path):
    """The results array's text of a partition written by write_partition, piece by piece."""
    with zipfile.ZipFile(path) as archive, archive.open(archive.namelist()[0]) as stream:
        first = stream.read(1 << 20).decode()
        start = first.index('"results": [') + len('"results": [')
        pending = first[start:]
        while block := stream.read(1 << 20):
            yield pending
            pending = block.decode()
        yield pending[: pending.rindex("]}")]


def merge_partition(job: tuple[Path, list[Path], int]) -> None:
    """A partition made of several smaller ones' records (the same records, fewer partitions)."""
    path, sources, records = job

    def chunks():
        for n, source in enumerate(sources):
            if n:
                yield ", "
            yield from results_text(source)

    write_partition(path, chunks(), records)


def export_of(folder: Path, reports: int, partitions: int):
    from kratom_ae.ingest import bulk

    listed = []
    for number, (start, end) in enumerate(bounds(reports, partitions), 1):
        name = part_name(number, partitions)
        path = folder / "cache" / "drug-event" / EXPORT_DATE / period(number) / name
        listed.append({"display_name": f"{name} (SYNTHETIC)", "file": f"https://download.open.fda.gov/drug/event/{period(number)}/{name}",
                       "size_mb": f"{path.stat().st_size / 1e6:.2f}" if path.exists() else None, "records": end - start})
    entry = {"export_date": EXPORT_DATE, "total_records": reports, "partitions": listed}
    return bulk.Export("faers", "drug/event", EXPORT_DATE, reports, [bulk.partition(item, "drug/event") for item in entry["partitions"]], entry)


def pool(jobs, function) -> None:
    if not jobs:
        return
    with ProcessPoolExecutor(min(len(jobs), os.cpu_count() or 1), mp_context=multiprocessing.get_context("spawn")) as executor:
        list(executor.map(function, jobs))


def ensure(reports: int, partitions: int, *, unzipped: bool = False, from_folder: Path | None = None) -> Path:
    """The folder of `reports` reports in `partitions` partitions (its cache/ is a bulk cache;
    with `unzipped`, json/ holds each partition's document unzipped, for DuckDB's own read),
    made if missing or stale. `from_folder`: a folder of the same reports in more partitions,
    whose records are copied instead of made again."""
    from kratom_ae.ingest import bulk

    folder = folder_of(reports, partitions)
    made = folder / "made.json"
    want = {"reports": reports, "partitions": partitions, "code": code_hash(), **expected(reports)}
    if made.exists():
        have = json.loads(made.read_text())
        if {k: v for k, v in have.items() if k != "unzipped"} == want and (have["unzipped"] or not unzipped):
            return folder
    shutil.rmtree(folder, ignore_errors=True)
    export = export_of(folder, reports, partitions)
    paths = [folder / "cache" / export.folder / part.path for part in export.partitions]
    if from_folder is None:
        pool([(path, start, end, reports) for path, (start, end) in zip(paths, bounds(reports, partitions))], make_partition)
    else:
        small = sorted(from_folder.rglob("*.json.zip"))
        per = len(small) // partitions
        if per * partitions != len(small):
            raise SystemExit(f"{from_folder} has {len(small)} partitions: not a multiple of {partitions}")
        pool([(path, small[i * per:(i + 1) * per], end - start) for i, (path, (start, end)) in enumerate(zip(paths, bounds(reports, partitions)))], merge_partition)
    export = export_of(folder, reports, partitions)  # now with the sizes
    bulk.write_export(folder / "cache", export, "https://api.fda.gov/download.json")
    for path, part in zip(paths, export.partitions):
        bulk.mark_verified(path, part, export)
    if unzipped:
        (folder / "json").mkdir()
        for path in paths:
            with zipfile.ZipFile(path) as archive, archive.open(archive.namelist()[0]) as stream, open(folder / "json" / path.name.removesuffix(".zip"), "wb") as out:
                shutil.copyfileobj(stream, out, 1 << 20)
    made.write_text(json.dumps({**want, "unzipped": unzipped}))
    return folder


if __name__ == "__main__":
    start = time.perf_counter()
    where = ensure(int(sys.argv[1]), int(sys.argv[2]), unzipped="--unzipped" in sys.argv)
    print(f"{where} ready in {time.perf_counter() - start:.1f} s")
