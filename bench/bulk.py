"""kratom-ae bulk benchmark (issue 22, item 4): `kratom-ae bulk load` of SYNTHETIC partitions of
openFDA's bulk format (bench/bulk_data.py: 1,000,000 reports, 1 in 5,000 kratom, some near
misses) against DuckDB's own read of the same records unzipped, its peak memory at two
partition counts, all of FAERS extrapolated, and what each step costs. Writes its section of
BENCHMARKS.md (between BEGIN and END below; bench/run.py keeps it, being below its ANALYSIS).

    python bench/bulk.py                       (`make bench-bulk`, part of `make bench`: about 25 minutes, data made once, ~16 GB under bench/.data)
    python bench/bulk.py --quick               (`make bench-bulk-quick`: 100,000 reports, printed, BENCHMARKS.md untouched)
    python bench/bulk.py --before DIR          (also measure the kratom-ae source in DIR, e.g. `git archive 61b49a3 | tar -x -C DIR`)
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import bulk_data  # noqa: E402
import kratom_ae_from  # noqa: E402

PYTHON = sys.executable
KRATOM_AE = str(Path(PYTHON).with_name("kratom-ae"))
BEGIN, END = "<!-- bulk: written by bench/bulk.py -->", "<!-- /bulk -->"
FAERS_REPORTS, FAERS_PARTITIONS, FAERS_ZIPPED_GB = 20_700_000, 1_767, 113.0  # docs/openfda-api-notes.md section 6
HOUR = 3600


def measure(command: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """(seconds, CPU seconds, peak resident memory in MB) of one child process, which must succeed."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed: {child.stderr.read().decode()[-3000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def load(cache: Path, db: Path, code: Path | None = None) -> tuple[float, float, float]:
    for leftover in (db, db.with_name(db.name + ".wal")):
        leftover.unlink(missing_ok=True)
    program = kratom_ae_from.command(PYTHON, code) if code else [KRATOM_AE]
    return measure([*program, "bulk", "load", str(cache), "--db", str(db), "--source", "faers", "--quiet"])


def held(db: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        kratom, all_held = con.execute("SELECT count(*) FILTER (WHERE is_kratom_report), count(*) FROM reports").fetchone()
        return {"kratom": kratom, "held": all_held, "records_read": con.execute("SELECT sum(total_reported) FROM fetch_runs").fetchone()[0]}
    finally:
        con.close()


def check(db: Path, reports: int) -> None:
    want = bulk_data.expected(reports)
    got = held(db)
    if (got["kratom"], got["held"], got["records_read"]) != (want["kratom"], want["held"], reports):
        raise SystemExit(f"bulk load of {reports:,} reports held {got}, not {want} with {reports:,} read")


DUCKDB_READS = {
    "documents": ("read_json on the unzipped partitions (each one JSON document), its results unnested",
                  "SELECT count(*) FROM (SELECT unnest(results) FROM read_json($f, maximum_object_size = 2000000000))"),
    "arrays": ("read_json on the results arrays alone (format array: a row per record, typed)", "SELECT count(*) FROM read_json($f, format = 'array')"),
    "objects": ("read_json_objects on the results arrays (a row per record, its JSON text, not typed)", "SELECT count(*) FROM read_json_objects($f, format = 'array')"),
}


def duckdb_read(kind: str, files: list[str]) -> tuple[float, float, float]:
    """DuckDB's own read of the files, in a process of its own (for its peak memory), on every core."""
    script = f"import duckdb, json, sys; con = duckdb.connect(); con.execute('SET enable_progress_bar = false'); print(con.execute({DUCKDB_READS[kind][1]!r}, {{'f': json.load(sys.stdin)}}).fetchone()[0])"
    start = time.perf_counter()
    import json

    child = subprocess.Popen([PYTHON, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdin.write(json.dumps(files).encode())
    child.stdin.close()
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"DuckDB's read ({kind}) failed: {child.stderr.read().decode()[-2000:]}")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def arrays_of(documents: list[str], folder: Path) -> list[str]:
    """Each document's results array in a file of its own (bulk.unzip_results cuts it out the same way)."""
    from kratom_ae.ingest.bulk import envelope

    out = []
    for document in documents:
        path = folder / Path(document).name
        with open(document, "rb") as source:
            head = source.read(1 << 20)
            _, start = envelope(head)
            source.seek(start)
            with open(path, "wb") as target:
                while block := source.read(1 << 24):
                    target.write(block)
        with open(path, "rb+") as target:
            target.seek(-2, os.SEEK_END)
            if target.read(2) != b"]}":
                raise SystemExit(f"{document} does not end as bulk_data.py writes it")
            target.truncate(path.stat().st_size - 1)
        out.append(str(path))
    return out


def steps(zips: list[Path], work: Path) -> dict[str, tuple[float, str]]:
    """Seconds of each step of a bulk load over these partitions, one after the other in this
    process (DuckDB on one thread), and what it is: (seconds, how)."""
    import duckdb

    from kratom_ae.ingest import bulk, bulk_load
    from kratom_ae.ingest.sources import SOURCES
    from kratom_ae.ingest.sqlfiles import sql
    from kratom_ae.ingest.terms import could_match, load_terms, near_miss

    source, terms = SOURCES["faers"], load_terms()
    out: dict[str, tuple[float, str]] = {}
    start = time.perf_counter()
    unzipped = [bulk.unzip_results(z, work / f"step-{i}.json") for i, z in enumerate(zips)]
    out["unzip"] = (time.perf_counter() - start, "bulk.unzip_results: the zip's member inflated (ISA-L) and written to a file, CRC checked")
    start = time.perf_counter()
    parsed = 0
    for z in zips:
        for _ in bulk.partition_records(z):
            parsed += 1
    out["parse, before: ijson"] = (time.perf_counter() - start, "every record parsed into Python objects (bulk.read_items: unzip included)")
    records = [r for z in zips[:1] for r in bulk.partition_records(z)]
    share = len(records) / parsed
    start = time.perf_counter()
    for r in records:
        could_match(list(bulk_load.names(r, source.search_fields)), terms)
    out["name filter, before: could_match"] = ((time.perf_counter() - start) / share, "Python, every name field of every record (timed on the first partition)")
    start = time.perf_counter()
    for r in records:
        near_miss(list(bulk_load.names(r, source.search_fields[:1])), terms)
    out["near misses, before: near_miss"] = ((time.perf_counter() - start) / share, "Python, every product name (timed on the first partition)")
    del records
    con = duckdb.connect(config={"preserve_insertion_order": False})
    con.execute("SET threads = 1")
    con.execute("SET enable_progress_bar = false")
    files = [str(u.path) for u in unzipped]
    escapes, names = bulk_load.sieve_pattern(source, terms)

    def timed(query: str, **params) -> float:
        """The least of three runs: the steps are differences, and this machine is shared."""
        best = float("inf")
        for _ in range(3):
            begin = time.perf_counter()
            for f in files:
                con.execute(query, {"file": f, **params}).fetchall()
            best = min(best, time.perf_counter() - begin)
        return best

    read = timed("SELECT count(*) FROM read_json_objects($file, format = 'array')")
    out["parse, after: DuckDB splits"] = (read, "read_json_objects: each record's JSON text, not parsed into values (least of 3 runs, as the rows below)")
    out["name filter and near misses, after: the sieve"] = (timed("SELECT count(*) FILTER (WHERE regexp_matches(json, $e) OR regexp_matches(json, $n)) FROM read_json_objects($file, format = 'array')", e=escapes, n=names) - read,
                                                            "terms.bulk_sieve's two expressions (RE2) over each record's text, less the read")
    ids = timed("SELECT count(coalesce(nullif(regexp_extract(json, $first, 1), ''), json_extract(json, '$.safetyreportid')::VARCHAR)) FROM read_json_objects($file, format = 'array')",
                first=bulk_load.first_key("safetyreportid")) - read
    out["ids, after"] = (ids, "each record's id (bulk_load.first_key, json_extract when the id is not the first key), less the read")
    con.execute("CREATE TABLE other_ids (id VARCHAR, part INTEGER, key VARCHAR)")
    out["bulk_sieve.sql, after"] = (timed(sql("bulk_sieve"), escapes=escapes, names=names, id_path="$.safetyreportid", id_first=bulk_load.first_key("safetyreportid")),
                                     "the whole statement: read, sieve, ids, the records found kept as text")
    inserting, judging, found = 0.0, 0.0, 0
    for number, f in enumerate(files):
        con.execute(sql("bulk_sieve"), {"file": f, "escapes": escapes, "names": names, "id_path": "$.safetyreportid", "id_first": bulk_load.first_key("safetyreportid")})
        begin = time.perf_counter()
        con.execute("INSERT INTO other_ids SELECT id, $n, id FROM sieved WHERE record IS NULL", {"n": number})
        inserting += time.perf_counter() - begin
        texts = [row[0].encode() for row in con.execute("SELECT record FROM sieved WHERE record IS NOT NULL ORDER BY pos").fetchall()]
        begin = time.perf_counter()
        for text in texts:
            bulk_load.kept_by_name(bulk.parse_record(text), source, terms)
        judging += time.perf_counter() - begin
        found += len(texts)
    out["DuckDB insert, after"] = (inserting, "every id of a record not kept into other_ids (a later version under a kept id is looked for there)")
    out["judging what the sieve found, after"] = (judging, f"ijson and kept_by_name, as before, on the {found:,} records the sieve let through ({found / parsed:.2%})")
    con.close()
    for u in unzipped:
        u.path.unlink()
    return out


def machine() -> list[str]:
    import duckdb
    import ijson

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    load = os.getloadavg()
    return [
        f"- machine: {os.cpu_count()} cores ({cpu}), {memory:.0f} GiB memory, {platform.system()} {platform.release()}; load average {load[0]:.1f} when the run began (other work shares the cores)",
        f"- Python {platform.python_version()}, DuckDB {duckdb.__version__}, ijson {ijson.__version__} ({ijson.backend})",
        f"- run on {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC with `{' '.join(['python bench/bulk.py', *sys.argv[1:]])}`",
    ]


def rate(reports: int, seconds: float) -> str:
    return f"{reports / seconds:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--partitions", default="100,25", help="two partition counts for the same reports (the second divides the first)")
    parser.add_argument("--subset", type=int, default=10, help="partitions of the first layout for the steps and the code --before (10: 100,000 reports)")
    parser.add_argument("--before", help="the kratom-ae source of the code before (a git archive of it), measured on the subset")
    parser.add_argument("--quick", action="store_true", help="100,000 reports in 10 and 5 partitions, printed; BENCHMARKS.md untouched")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()
    if args.quick:
        args.reports, args.partitions, args.subset = 100_000, "10,5", 10
    counts = [int(n) for n in args.partitions.split(",")]
    header = machine()
    print(f"making the bulk files ({args.reports:,} reports in {' and '.join(map(str, counts))} partitions, cached in bench/.data) ...", flush=True)
    start = time.perf_counter()
    first = bulk_data.ensure(args.reports, counts[0], unzipped=True)
    layouts = {counts[0]: first, **{n: bulk_data.ensure(args.reports, n, from_folder=first / "cache") for n in counts[1:]}}
    subset_reports = sum(end - begin for begin, end in bulk_data.bounds(args.reports, counts[0])[: args.subset])
    subset = bulk_data.ensure(subset_reports, args.subset, unzipped=True)
    print(f"  ready in {time.perf_counter() - start:,.0f} s", flush=True)
    zipped = {n: sum(p.stat().st_size for p in folder.rglob("*.json.zip")) for n, folder in layouts.items()}
    documents = sorted(glob.glob(str(first / "json" / "*.json")))
    unzipped_bytes = sum(os.path.getsize(d) for d in documents)

    with tempfile.TemporaryDirectory(prefix="kratom-ae-bulk-bench-", dir=HERE / ".data") as tmp:
        work = Path(tmp)
        ours = {}
        for n, folder in layouts.items():
            print(f"kratom-ae bulk load: {args.reports:,} reports in {n} partitions ...", flush=True)
            ours[n] = load(folder / "cache", work / f"ours-{n}.duckdb")
            check(work / f"ours-{n}.duckdb", args.reports)
            print(f"  {rate(args.reports, ours[n][0])} reports/s, {ours[n][0]:,.1f} s, CPU {ours[n][1]:,.1f} s, peak {ours[n][2]:,.0f} MB", flush=True)
        print(f"DuckDB's own read of the {len(documents)} unzipped partitions ...", flush=True)
        theirs = {"documents": duckdb_read("documents", documents)}
        print(f"  {rate(args.reports, theirs['documents'][0])} reports/s, peak {theirs['documents'][2]:,.0f} MB", flush=True)
        subset_documents = sorted(glob.glob(str(subset / "json" / "*.json")))
        arrays = arrays_of(subset_documents, work)
        for kind in ("arrays", "objects"):
            theirs[kind] = duckdb_read(kind, arrays)
            print(f"  {kind} (on {subset_reports:,}): {rate(subset_reports, theirs[kind][0])} reports/s, peak {theirs[kind][2]:,.0f} MB", flush=True)
        for path in arrays:
            os.unlink(path)
        subset_ours = load(subset / "cache", work / "subset.duckdb")
        check(work / "subset.duckdb", subset_reports)
        before = None
        if args.before:
            print(f"the code in {args.before} on {subset_reports:,} reports ...", flush=True)
            before = load(subset / "cache", work / "before.duckdb", Path(args.before).resolve())
            check(work / "before.duckdb", subset_reports)
            print(f"  before {rate(subset_reports, before[0])} reports/s, peak {before[2]:,.0f} MB; after {rate(subset_reports, subset_ours[0])} reports/s", flush=True)
        print("steps ...", flush=True)
        step_times = steps(sorted((subset / "cache").rglob("*.json.zip")), work)

    main_n = counts[0]
    seconds, cpu, peak = ours[main_n]
    faers_by_reports = FAERS_REPORTS * seconds / args.reports
    faers_by_bytes = FAERS_ZIPPED_GB * 1e9 * seconds / zipped[main_n]
    ratio = {kind: (args.reports if kind == "documents" else subset_reports) / t[0] for kind, t in theirs.items()}
    ours_rate = args.reports / seconds
    lines = [
        BEGIN,
        "## Bulk load: openFDA's bulk files (issue 22)",
        "",
        *header,
        f"- data: SYNTHETIC drug/event partitions of openFDA's bulk format (`bench/bulk_data.py`: zips of one JSON document, meta then results), "
        f"{args.reports:,} reports of bench/data.py's records ({unzipped_bytes / args.reports:,.0f} bytes of JSON each on average, "
        f"{zipped[main_n] / args.reports:,.0f} zipped), {bulk_data.expected(args.reports)['kratom']:,} of them kratom (1 in {bulk_data.KRATOM_EVERY:,}), "
        f"{bulk_data.expected(args.reports)['near_misses']:,} near misses, 1 in {bulk_data.ACCENTED_EVERY} with an accented name written as a \\u escape; "
        f"every load checked: the kratom reports and near misses held, every record read",
        f"- ours: `kratom-ae bulk load CACHE --source faers` in a fresh process; DuckDB: its own read of the same records unzipped, in a process of its own, on every core; "
        "peak memory: the process's maximum resident set size (getrusage)",
        "",
        "| what | reports | partitions | seconds | reports/s | CPU seconds | peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n, (s, c, m) in ours.items():
        lines.append(f"| `kratom-ae bulk load` | {args.reports:,} | {n} | {s:,.1f} | {rate(args.reports, s)} | {c:,.1f} | {m:,.0f} |")
    lines.append(f"| `kratom-ae bulk load` | {subset_reports:,} | {args.subset} | {subset_ours[0]:,.1f} | {rate(subset_reports, subset_ours[0])} | {subset_ours[1]:,.1f} | {subset_ours[2]:,.0f} |")
    if before:
        lines.append(f"| before: the code of `{Path(args.before).name}` (ijson and Python for every record) | {subset_reports:,} | {args.subset} | {before[0]:,.1f} | {rate(subset_reports, before[0])} | {before[1]:,.1f} | {before[2]:,.0f} |")
    for kind, (s, c, m) in theirs.items():
        reports, parts = (args.reports, main_n) if kind == "documents" else (subset_reports, args.subset)
        lines.append(f"| DuckDB: {DUCKDB_READS[kind][0]} | {reports:,} | {parts} | {s:,.1f} | {rate(reports, s)} | {c:,.1f} | {m:,.0f} |")
    lines += [
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| ours / DuckDB's read_json of the same records unzipped, at least 0.4 | {ours_rate / ratio['documents']:.2f} ({ours_rate:,.0f} / {ratio['documents']:,.0f} reports/s); "
        f"against DuckDB at its fastest typed read (the arrays alone): {ours_rate / ratio['arrays']:.2f}; against its untyped split: {ours_rate / ratio['objects']:.2f} | "
        f"{'met' if ours_rate / ratio['documents'] >= 0.4 else 'not met'} |",
        f"| peak memory under 2 GB, independent of the number of partitions | " + ", ".join(f"{m:,.0f} MB with {n} partitions" for n, (_, _, m) in ours.items())
        + f"; {subset_ours[2]:,.0f} MB with {args.subset} partitions of {subset_reports:,} | {'met' if max(m for *_, m in ours.values()) < 2048 else 'not met'} |",
        f"| all of FAERS ({FAERS_REPORTS:,} reports, {FAERS_PARTITIONS:,} partitions, {FAERS_ZIPPED_GB:.0f} GB zipped) in under an hour, download excluded | "
        f"{faers_by_reports / 60:,.0f} minutes at this run's reports per second; {faers_by_bytes / 60:,.0f} minutes at its zipped bytes per second "
        f"(real partitions hold {FAERS_ZIPPED_GB * 1e9 / FAERS_REPORTS:,.0f} zipped bytes a report, these {zipped[main_n] / args.reports:,.0f}) | "
        f"{'met' if max(faers_by_reports, faers_by_bytes) < HOUR else 'not met' if min(faers_by_reports, faers_by_bytes) >= HOUR else 'met by reports, not by bytes'} |",
        "",
        f"### Steps, one after the other on {subset_reports:,} reports ({args.subset} partitions), DuckDB on one thread",
        "",
        "| step | seconds | reports/s | how |",
        "|---|---:|---:|---|",
        *[f"| {name} | {s:,.2f} | {rate(subset_reports, s) if s > 0 else '-'} | {how} |" for name, (s, how) in step_times.items()],
        END,
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.quick:
        return
    out = Path(args.out)
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    if BEGIN in old and END in old:
        head, _, rest = old.partition(BEGIN)
        _, _, tail = rest.partition(END)
        new = head + text.rstrip("\n") + tail
    else:
        new = old.rstrip("\n") + "\n\n" + text
    out.write_text(new, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
