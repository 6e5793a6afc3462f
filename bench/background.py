"""kratom-ae local background benchmark (issue 22, items 3 and 4): `kratom-ae bulk background` of
SYNTHETIC partitions of openFDA's bulk format (the partitions bench/bulk.py makes, by
bench/bulk_data.py), then `--cases`, at two partition counts (peak memory against the number of
partitions), all of FAERS extrapolated; the count queries of `signals --background local`
(queries/local_background.count_source) on the store; and ebgm.fit on SYNTHETIC drug-by-event
tables, extrapolated to the size all of FAERS would give. Writes its section of BENCHMARKS.md
(between BEGIN and END below).

    python bench/background.py                 (`make bench-background`: 1,000,000 reports in 100 and 25 partitions; ~30 minutes, data made once under bench/.data)
    python bench/background.py --quick         (`make bench-background-quick`: 100,000 reports in 10 and 5 partitions, printed, BENCHMARKS.md untouched)
    python bench/background.py --before DIR    (also the kratom-ae source in DIR on the subset, e.g. `git archive 35b66e4 | tar -x -C DIR`)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import bulk as bulk_bench  # noqa: E402
import bulk_data  # noqa: E402
import kratom_ae_from  # noqa: E402

PYTHON = sys.executable
KRATOM_AE = str(Path(PYTHON).with_name("kratom-ae"))
BEGIN, END = "<!-- background: written by bench/background.py -->", "<!-- /background -->"
FAERS_REPORTS, FAERS_ZIPPED_GB, HOUR = bulk_bench.FAERS_REPORTS, bulk_bench.FAERS_ZIPPED_GB, bulk_bench.HOUR
# Drug-event pairs with N >= 1 in FAERS: Xu and Wang (BMC Bioinformatics 2014, 15:17) extracted
# 2,787,797 drug-side effect pairs from 4,285,097 FAERS records. All of openFDA's FAERS holds
# 20.7 million: at least as many pairs as theirs, at most as many more as there are more reports
# (pairs grow more slowly than reports: a new report mostly names pairs seen before).
PAIRS_PAPER, PAIRS_PAPER_REPORTS = 2_787_797, 4_285_097
PAIRS_LOW, PAIRS_HIGH = PAIRS_PAPER, round(PAIRS_PAPER * FAERS_REPORTS / PAIRS_PAPER_REPORTS)
# The prior the SYNTHETIC tables are drawn from: openEBGM's estimate on its CAERS example
# (docs/methods.md), which ebgm.fit recovers; E log-normal, median 0.1, N drawn given E and kept
# when N >= 1, as a table lists only pairs reported together.
PRIOR = (3.26, 0.400, 2.02, 1.91, 0.0653)


def linked(cache: Path, into: Path) -> Path:
    """A copy of a bulk cache whose partitions are hard links (the store is written beside the
    export, so each run gets a cache of its own without copying gigabytes)."""
    shutil.rmtree(into, ignore_errors=True)
    for path in cache.rglob("*"):
        target = into / path.relative_to(cache)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.name.endswith(".zip"):
                os.link(path, target)
            else:
                shutil.copy2(path, target)
    return into


def background(cache: Path, *extra: str, code: Path | None = None) -> tuple[float, float, float]:
    program = kratom_ae_from.command(PYTHON, code) if code else [KRATOM_AE]
    return bulk_bench.measure([*program, "bulk", "background", str(cache), "--source", "faers", "--quiet", *extra])


def check(cache: Path, reports: int, cases: bool = False) -> None:
    """The store holds every record read, one report each, the kratom reports flagged."""
    import duckdb

    from kratom_ae.ingest import bulk_background

    store = bulk_background.opened(cache, "faers")
    provenance = store.provenance()
    con = duckdb.connect()
    kratom, held, ids = con.execute("SELECT count(*) FILTER (WHERE is_kratom_report), count(*), count(DISTINCT report_id) FROM read_parquet($f)", {"f": store.files("reports")}).fetchone()
    got = (sum(p["records_read"] for p in provenance), sum(p["reports_stored"] for p in provenance), held, ids, kratom)
    want = (reports, reports, reports, reports, bulk_data.expected(reports)["kratom"])
    if got != want:
        raise SystemExit(f"the store of {reports:,} reports holds (read, stored, rows, ids, kratom) {got}, not {want}")
    if cases and not bulk_background.cases_built(store):
        raise SystemExit("--cases grouped no cases")


COUNTS = {
    "reports: totals and terms": {"unit": "report"},
    "reports, with strata": {"unit": "report", "strata": True},
    "reports, with the drug-by-event table": {"unit": "report", "drug_events": True},
    "probable cases: totals and terms": {"unit": "case"},
    "probable cases, with strata": {"unit": "case", "strata": True},
    "probable cases, with the drug-by-event table": {"unit": "case", "drug_events": True},
}


def counts_child(cache: str, repeats: int) -> None:
    """In a process of its own: seconds of each count_source variant (least and greatest of the
    repeats), and the pairs of the drug-by-event table; JSON on stdout."""
    from kratom_ae.ingest import bulk_background
    from kratom_ae.queries.local_background import count_source

    store = bulk_background.opened(Path(cache), "faers")
    out: dict = {"seconds": {}}
    for name, options in COUNTS.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            frames = count_source(store, **options)
            times.append(time.perf_counter() - start)
        out["seconds"][name] = times
        if "drug_events" in options:
            table = frames["drug_events"]
            out.setdefault("pairs", {})[options["unit"]] = {"pairs": len(table), "drugs": int(table["drug"].nunique()), "terms": int(table["term"].nunique())}
    print(json.dumps(out))


def table(pairs: int, seed: int = 1):
    """(N, E) of a SYNTHETIC drug-by-event table of `pairs` pairs with N >= 1 (see PRIOR)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    a1, b1, a2, b2, p = PRIOR
    ns, es, have = [], [], 0
    while have < pairs:
        m = 2_000_000
        e = 10 ** rng.normal(-1.0, 1.0, m)
        lam = np.where(rng.random(m) < p, rng.gamma(a1, 1 / b1, m), rng.gamma(a2, 1 / b2, m))
        n = rng.poisson(lam * e)
        kept = n >= 1
        ns.append(n[kept])
        es.append(e[kept])
        have += int(kept.sum())
    return np.concatenate(ns)[:pairs].astype(float), np.concatenate(es)[:pairs]


def ebgm_child(pairs: int) -> None:
    """In a process of its own: ebgm.fit (every start, as signals fits it) on a table of `pairs`
    pairs, and the scores of 1,000 pairs; JSON on stdout."""
    import numpy as np

    from kratom_ae.queries import ebgm, prior_cache

    n, e = table(pairs)
    distinct = int(np.unique(np.stack([n, e]), axis=1).shape[1])
    start = time.perf_counter()
    prior = ebgm.fit(n, e, starts=ebgm.STARTS)
    fitted = time.perf_counter() - start
    start = time.perf_counter()
    ebgm.scores(prior, n[:1000], e[:1000])
    scored = time.perf_counter() - start
    # What a later signals run pays instead of the fit: the digest that finds the kept prior.
    start = time.perf_counter()
    prior_cache.key(n, e, prior.n_star, ebgm.STARTS, ebgm.PARAM_LIMIT)
    print(json.dumps({"pairs": pairs, "distinct": distinct, "n1": float(np.mean(n == 1)), "fit": fitted, "scores_1000": scored,
                      "key": time.perf_counter() - start,
                      "theta": prior.theta, "optima": len(prior.optima)}))


def measured_child(*args: str) -> tuple[dict, float]:
    start = time.perf_counter()
    child_process = subprocess.Popen([PYTHON, __file__, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child_process.pid, 0)
    out, err = child_process.stdout.read(), child_process.stderr.read()
    if status != 0:
        raise SystemExit(f"{' '.join(args)} failed after {time.perf_counter() - start:.0f} s: {err.decode()[-3000:]}")
    return json.loads(out), usage.ru_maxrss / 1024


def median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2] if len(values) % 2 else (values[len(values) // 2 - 1] + values[len(values) // 2]) / 2


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("--counts-child", "--ebgm-child"):
        counts_child(sys.argv[2], int(sys.argv[3])) if sys.argv[1] == "--counts-child" else ebgm_child(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--partitions", default="100,25", help="two partition counts for the same reports (the second divides the first)")
    parser.add_argument("--subset", type=int, default=10, help="partitions of the first layout the code --before is measured on (10: 100,000 reports)")
    parser.add_argument("--before", help="the kratom-ae source of the code before (a git archive of it), measured on the subset")
    parser.add_argument("--pairs", help="sizes of the SYNTHETIC drug-by-event tables ebgm.fit is timed on (default 30000,100000,1000000; --quick 30000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each count query")
    parser.add_argument("--quick", action="store_true", help="100,000 reports in 10 and 5 partitions, a table of 30,000 pairs, printed; BENCHMARKS.md untouched")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()
    if args.quick:
        args.reports, args.partitions = 100_000, "10,5"
    args.pairs = args.pairs or ("30000" if args.quick else "30000,100000,1000000")
    counts = [int(n) for n in args.partitions.split(",")]
    header = [line.replace("bench/bulk.py", "bench/background.py") for line in bulk_bench.machine()]
    print(f"making the bulk files ({args.reports:,} reports in {' and '.join(map(str, counts))} partitions, cached in bench/.data) ...", flush=True)
    first = bulk_data.ensure(args.reports, counts[0])
    layouts = {counts[0]: first, **{n: bulk_data.ensure(args.reports, n, from_folder=first / "cache") for n in counts[1:]}}
    subset_reports = sum(end - begin for begin, end in bulk_data.bounds(args.reports, counts[0])[: args.subset])
    subset = bulk_data.ensure(subset_reports, args.subset)
    zipped = sum(p.stat().st_size for p in (first / "cache").rglob("*.json.zip"))

    with tempfile.TemporaryDirectory(prefix="kratom-ae-background-bench-", dir=HERE / ".data") as tmp:
        work = Path(tmp)
        built, grouped = {}, {}
        for n, folder in layouts.items():
            cache = linked(folder / "cache", work / f"cache-{n}")
            print(f"kratom-ae bulk background: {args.reports:,} reports in {n} partitions ...", flush=True)
            built[n] = background(cache)
            check(cache, args.reports)
            print(f"  {args.reports / built[n][0]:,.0f} reports/s, {built[n][0]:,.1f} s, CPU {built[n][1]:,.1f} s, peak {built[n][2]:,.0f} MB", flush=True)
            print("  --cases on the store just built ...", flush=True)
            grouped[n] = background(cache, "--cases")
            check(cache, args.reports, cases=True)
            print(f"  {grouped[n][0]:,.1f} s, CPU {grouped[n][1]:,.1f} s, peak {grouped[n][2]:,.0f} MB", flush=True)
        subset_cache = linked(subset / "cache", work / "subset")
        subset_run = background(subset_cache)
        check(subset_cache, subset_reports)
        before = None
        if args.before:
            print(f"the code in {args.before} on {subset_reports:,} reports ...", flush=True)
            shutil.rmtree(subset_cache / "drug-event" / bulk_data.EXPORT_DATE / "background")
            before = background(subset_cache, code=Path(args.before).resolve())
            check(subset_cache, subset_reports)
            print(f"  before {subset_reports / before[0]:,.0f} reports/s, peak {before[2]:,.0f} MB; after {subset_reports / subset_run[0]:,.0f}", flush=True)
        print(f"count queries on the store of {args.reports:,} reports ({args.repeats} runs each) ...", flush=True)
        queried, query_peak = measured_child("--counts-child", str(work / f"cache-{counts[0]}"), str(args.repeats))
    fits = []
    for pairs in [int(p) for p in args.pairs.split(",")]:
        print(f"ebgm.fit on {pairs:,} SYNTHETIC pairs ...", flush=True)
        fitted, peak = measured_child("--ebgm-child", str(pairs))
        fits.append((fitted, peak))
        print(f"  {fitted['fit']:,.1f} s, peak {peak:,.0f} MB ({fitted['distinct']:,} distinct (N, E))", flush=True)

    main_n = counts[0]
    seconds, cpu, peak = built[main_n]
    by_reports = FAERS_REPORTS * seconds / args.reports
    by_bytes = FAERS_ZIPPED_GB * 1e9 * seconds / zipped
    cases_by_reports = FAERS_REPORTS * grouped[main_n][0] / args.reports
    # ebgm.fit's time per distinct (N, E), from the largest table timed: each evaluation of the
    # likelihood is a pass over them, and the evaluations are about as many at any size.
    largest = fits[-1][0]
    per_pair = largest["fit"] / largest["distinct"]
    pairs_table = queried.get("pairs", {})
    lines = [
        BEGIN,
        "## Local background: `bulk background` and what `signals --background local` counts (issue 22)",
        "",
        *header,
        f"- data: SYNTHETIC drug/event partitions of openFDA's bulk format, the ones bench/bulk.py loads (`bench/bulk_data.py`: {args.reports:,} reports, "
        f"{zipped / args.reports:,.0f} zipped bytes each, {bulk_data.expected(args.reports)['kratom']:,} of them kratom); every store checked: every record read and "
        "stored once under its id, the kratom reports flagged",
        "- `kratom-ae bulk background CACHE --source faers` in a fresh process (its last step counts the store once, for its closing line), then "
        "`--cases` on the store just built (partitions kept; the reports grouped into probable cases, counted twice for the closing line); "
        "peak memory: the process's maximum resident set size (getrusage)",
        "",
        "| what | reports | partitions | seconds | reports/s | CPU seconds | peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n in layouts:
        s, c, m = built[n]
        lines.append(f"| `bulk background` | {args.reports:,} | {n} | {s:,.1f} | {args.reports / s:,.0f} | {c:,.1f} | {m:,.0f} |")
        s, c, m = grouped[n]
        lines.append(f"| `bulk background --cases` on the built store | {args.reports:,} | {n} | {s:,.1f} | {args.reports / s:,.0f} | {c:,.1f} | {m:,.0f} |")
    lines.append(f"| `bulk background` | {subset_reports:,} | {args.subset} | {subset_run[0]:,.1f} | {subset_reports / subset_run[0]:,.0f} | {subset_run[1]:,.1f} | {subset_run[2]:,.0f} |")
    if before:
        lines.append(f"| before: the code of `{Path(args.before).name}` | {subset_reports:,} | {args.subset} | {before[0]:,.1f} | {subset_reports / before[0]:,.0f} | {before[1]:,.1f} | {before[2]:,.0f} |")
    peaks = ", ".join(f"{built[n][2]:,.0f} MB with {n} partitions" for n in layouts)
    lines += [
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| all of FAERS ({FAERS_REPORTS:,} reports, {FAERS_ZIPPED_GB:.0f} GB zipped) in under an hour on this machine | "
        f"{by_reports / 60:,.0f} minutes at this run's reports per second; {by_bytes / 60:,.0f} minutes at its zipped bytes per second "
        f"(real partitions hold {FAERS_ZIPPED_GB * 1e9 / FAERS_REPORTS:,.0f} zipped bytes a report, these {zipped / args.reports:,.0f}) | "
        f"{'met' if max(by_reports, by_bytes) < HOUR else 'not met' if min(by_reports, by_bytes) >= HOUR else 'met by reports, not by bytes'} |",
        f"| peak memory under 2 GB, independent of the number of partitions | {peaks}; `--cases`: " + ", ".join(f"{grouped[n][2]:,.0f} MB" for n in layouts)
        + f" | {'met' if max(m for *_, m in [*built.values(), *grouped.values()]) < 2048 else 'not met'} (`--cases` grows with the reports: see below) |",
        f"| `--cases` on all of FAERS | {cases_by_reports / 60:,.0f} minutes if it grew as the reports do (it compares reports that share drugs and reactions, which grows faster) | not measured at that size |",
        "",
        f"### Count queries on the store of {args.reports:,} reports ({main_n} partitions)",
        "",
        f"`queries/local_background.count_source` in one process (DuckDB, 1 GB memory limit, every core), {args.repeats} runs each: median (least-greatest) seconds; "
        f"the process peaked at {query_peak:,.0f} MB.",
        "",
        "| count | seconds |",
        "|---|---:|",
        *[f"| {name} | {median(t):,.2f} ({min(t):,.2f}-{max(t):,.2f}) |" for name, t in queried["seconds"].items()],
        "",
        "The drug-by-event table of this store: " + "; ".join(f"{unit}s: {v['pairs']:,} pairs of {v['drugs']:,} drugs and {v['terms']:,} terms" for unit, v in pairs_table.items())
        + ". bench/data.py draws its drug names and terms from short lists, so the pairs stop growing long before the reports do: no basis for FAERS's.",
        "",
        "### EBGM's prior (queries/ebgm.py) at the size of all of FAERS",
        "",
        f"Pairs with N >= 1 in all of FAERS, estimated from the literature: Xu and Wang (BMC Bioinformatics 2014, 15:17) extracted {PAIRS_PAPER:,} drug-side effect "
        f"pairs from {PAIRS_PAPER_REPORTS:,} FAERS records; openFDA's FAERS holds {FAERS_REPORTS:,}, so between {PAIRS_LOW:,} (as many) and {PAIRS_HIGH:,} "
        "(as many more as there are more reports; pairs grow more slowly than reports). kratom-ae's drugs are ingredients, falling back to the product's name "
        "where openFDA maps none, which lengthens the tail towards the upper end.",
        "",
        f"`ebgm.fit` (all {len(PRIOR)} starts, as `signals` fits it) on SYNTHETIC tables: N drawn given E from openEBGM's CAERS prior {PRIOR}, E log-normal (median 0.1), "
        "kept when N >= 1; every (N, E) distinct, the worst case for the fit, which takes a pass over the distinct (N, E) per evaluation of the likelihood "
        "(a real table repeats many: E is a product of integer margins). Each in a process of its own.",
        "",
        "| pairs | distinct (N, E) | N = 1 | fit seconds | peak MB | optima | scores of 1,000 pairs, seconds | digest of the kept prior, seconds |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        *[f"| {f['pairs']:,} | {f['distinct']:,} | {f['n1']:.0%} | {f['fit']:,.1f} | {m:,.0f} | {f['optima']} | {f['scores_1000']:.3f} | {f['key']:.3f} |" for f, m in fits],
        "",
        f"At the largest table's {per_pair * 1e6:,.0f} microseconds per distinct (N, E): {PAIRS_LOW * per_pair / 60:,.0f} minutes for {PAIRS_LOW:,} pairs, "
        f"{PAIRS_HIGH * per_pair / 60:,.0f} minutes for {PAIRS_HIGH:,}, at most (fewer distinct (N, E) take less); memory grows with the pairs as well "
        "(a few arrays of 8 bytes per pair). The prior is fitted once per table: a later `signals` run on the same store reads it from `priors/` "
        "beside it (queries/prior_cache.py) and pays only the digest that names it (last column).",
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
