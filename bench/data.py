"""SYNTHETIC benchmark reports, written once as openFDA pages of 1000 records each.

Record i is made from its own seed, so any size is a prefix of the largest. Sizes are meant
to look like real FAERS records: most name 1-4 drugs, a fifth 5-8 drugs with openfda
blocks, one in ten 20-40 drugs with openfda blocks (real reports of up to ~70 KB exist).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "tests"))

import synthetic  # noqa: E402

CACHE = HERE / ".cache"
PAGE = 1000
NAMES = [name for name, _ in synthetic.FAERS_KRATOM_NAMES if "KRATOM" in name.upper()]


def record(i: int) -> dict:
    rng = random.Random(synthetic.SEED * 1_000_003 + i)
    shape = rng.random()
    drugs = rng.randint(0, 3) if shape < 0.7 else rng.randint(4, 7) if shape < 0.9 else rng.randint(19, 39)
    report = synthetic.faers_record(rng, str(100_000_000 + i), rng.choice(NAMES), extra_drugs=drugs, openfda_blocks=shape >= 0.7)
    for drug in report["patient"]["drug"]:
        # The dosage fields and full openfda blocks of real records (NDC lists, SPL ids, classes).
        drug.update(drugdosagetext="1 DF, QD", drugstructuredosagenumb="1", drugstructuredosageunit="032", drugstartdateformat="102", drugstartdate="20190101", actiondrug="5")
        if "openfda" in drug:
            drug["openfda"].update(
                application_number=[f"ANDA{rng.randint(100000, 999999)}" for _ in range(3)],
                product_ndc=[f"{rng.randint(10000, 99999)}-{rng.randint(100, 999)}" for _ in range(12)],
                package_ndc=[f"{rng.randint(10000, 99999)}-{rng.randint(100, 999)}-{rng.randint(10, 99)}" for _ in range(20)],
                spl_id=[f"{rng.getrandbits(128):032x}" for _ in range(4)],
                spl_set_id=[f"{rng.getrandbits(128):032x}" for _ in range(4)],
                pharm_class_epc=["Opioid Agonist [EPC]"], pharm_class_moa=["Opioid Agonists [MoA]"], nui=["N0000175690", "N0000000174"],
            )
    return report


def page_path(number: int) -> Path:
    return CACHE / f"page-{number:04d}.json"


def ensure_pages(reports: int) -> list[Path]:
    """The result arrays (JSON text) of the first reports/1000 pages, made if missing."""
    CACHE.mkdir(exist_ok=True)
    paths = []
    for number in range((reports + PAGE - 1) // PAGE):
        path = page_path(number)
        if not path.exists():
            records = [record(i) for i in range(number * PAGE, (number + 1) * PAGE)]
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(records, separators=(",", ":")), encoding="utf-8")
            tmp.rename(path)
        paths.append(path)
    return paths
