"""SYNTHETIC benchmark reports, written once as openFDA pages of 1000 records each.

Record i is made from its own seed, so any size is a prefix of the largest. Sizes are meant
to look like real FAERS records: most name 1-4 drugs, a fifth 5-8 drugs with openfda
blocks, one in ten 20-40 drugs with openfda blocks (real reports of up to ~70 KB exist).

    python bench/data.py REPORTS     (makes the pages for REPORTS reports, and says how long it took)

It prints a first line once every page left is current (stale ones deleted): from then on a
page is either absent or complete, so bench/server.py, which waits for absent pages, can serve
while the rest are made (tests/test_at_scale.py does).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "tests"))

import synthetic  # noqa: E402

CACHE = HERE / ".cache"
PAGE = 1000
NAMES = [name for name, _ in synthetic.FAERS_KRATOM_NAMES if "KRATOM" in name.upper()]
CHECKED = 5  # records at the start of a cached page made again to tell a stale page (tests/synthetic.py changed)


def randint_of(rng: random.Random):
    """rng.randint without its argument checks: the same numbers from the same draws, as
    random.py makes them (a+r, r drawn with getrandbits(n.bit_length()) until r < n); a
    third of the time a page takes, not two thirds. _SAME_AS_RANDINT checks it on this Python."""
    getrandbits = rng.getrandbits

    def randint(a: int, b: int) -> int:
        n = b - a + 1
        k = n.bit_length()
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return a + r

    return randint


def _same_as_randint() -> bool:
    ours, theirs = random.Random(7), random.Random(7)
    randint = randint_of(ours)
    return all(randint(a, b) == theirs.randint(a, b) for a, b in [(10, 99), (100, 999), (10000, 99999), (100000, 999999), (0, 1), (5, 5)] * 500)


_SAME_AS_RANDINT = _same_as_randint()


def record(i: int, name=NAMES) -> dict:
    """Report i: naming a kratom product (one of NAMES), or, with `name` a function, the name
    name(i) gives (None: no product of the kratom's; bench/bulk_data.py, where few are kratom)."""
    rng = random.Random(synthetic.SEED * 1_000_003 + i)
    randint = randint_of(rng) if _SAME_AS_RANDINT else rng.randint
    shape = rng.random()
    drugs = rng.randint(0, 3) if shape < 0.7 else rng.randint(4, 7) if shape < 0.9 else rng.randint(19, 39)
    kratom = rng.choice(NAMES)  # drawn whatever `name` says, so that the draws after it are the same
    report = synthetic.faers_record(rng, str(100_000_000 + i), kratom if name is NAMES else name(i), extra_drugs=drugs, openfda_blocks=shape >= 0.7)
    for drug in report["patient"]["drug"]:
        # The dosage fields and full openfda blocks of real records (NDC lists, SPL ids, classes).
        drug.update(drugdosagetext="1 DF, QD", drugstructuredosagenumb="1", drugstructuredosageunit="032", drugstartdateformat="102", drugstartdate="20190101", actiondrug="5")
        if "openfda" in drug:
            drug["openfda"].update(
                application_number=[f"ANDA{randint(100000, 999999)}" for _ in range(3)],
                product_ndc=[f"{randint(10000, 99999)}-{randint(100, 999)}" for _ in range(12)],
                package_ndc=[f"{randint(10000, 99999)}-{randint(100, 999)}-{randint(10, 99)}" for _ in range(20)],
                spl_id=[f"{rng.getrandbits(128):032x}" for _ in range(4)],
                spl_set_id=[f"{rng.getrandbits(128):032x}" for _ in range(4)],
                pharm_class_epc=["Opioid Agonist [EPC]"], pharm_class_moa=["Opioid Agonists [MoA]"], nui=["N0000175690", "N0000000174"],
            )
    return report


def page_path(number: int) -> Path:
    return CACHE / f"page-{number:04d}.json"


def page_text(records: list[dict]) -> str:
    return json.dumps(records, separators=(",", ":"))


def is_current(number: int) -> bool:
    """Whether the cached page starts as this generator would write it: pages made before
    tests/synthetic.py changed are made again, not served as today's data."""
    path = page_path(number)
    if not path.exists():
        return False
    head = page_text([record(i) for i in range(number * PAGE, number * PAGE + CHECKED)])[:-1] + ","
    with path.open("rb") as file:
        return file.read(len(head.encode())) == head.encode()


def write_page(number: int) -> None:
    """Page `number`, written under a name of its own first: other processes (a test and
    `make bench-quick`, say) may be making the same page at the same time."""
    path = page_path(number)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(page_text([record(i) for i in range(number * PAGE, (number + 1) * PAGE)]), encoding="utf-8")
    os.replace(tmp, path)


def pages_to_make(reports: int) -> list[int]:
    """The numbers of the pages for `reports` that are missing or stale; stale ones are deleted."""
    CACHE.mkdir(exist_ok=True)
    missing = [n for n in range((reports + PAGE - 1) // PAGE) if not is_current(n)]
    for number in missing:
        page_path(number).unlink(missing_ok=True)
    return missing


def make_pages(numbers: list[int]) -> None:
    """On every core: a page takes about half a second."""
    if len(numbers) > 1:
        # spawn, not fork: the caller may be a pytest-xdist worker with threads of its own.
        with ProcessPoolExecutor(min(len(numbers), os.cpu_count() or 1), mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(write_page, numbers))
    elif numbers:
        write_page(numbers[0])


def ensure_pages(reports: int) -> list[Path]:
    """The result arrays (JSON text) of the first reports/1000 pages, made if missing or stale."""
    make_pages(pages_to_make(reports))
    return [page_path(n) for n in range((reports + PAGE - 1) // PAGE)]


if __name__ == "__main__":
    start, reports = time.perf_counter(), int(sys.argv[1])
    missing = pages_to_make(reports)
    print(f"{len(missing)} of {(reports + PAGE - 1) // PAGE} pages to make", flush=True)
    make_pages(missing)
    print(f"pages for {reports:,} reports ready in {time.perf_counter() - start:.1f} s ({CACHE})")
