"""Probable duplicate cases: which reports of a source describe one patient's event.

openFDA collapses the versions of a report but not duplicate cases: one event is often
reported by a consumer, a clinician and one or more companies, and a published case by every
company that read the article. ingest/sql/case_pairs.sql finds the pairs of reports that its
rules (company number, duplicate number, literature reference, then the demographic-clinical
rule) judge one case; here the pairs are joined transitively (a union-find), so that every
report belongs to exactly one case. No report is deleted: a case is a label on reports.

Decided at fetch time, inside the publishing transaction, and reproducible: the same reports
give the same cases, each named '<source>:<its first report_id>'.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from kratom_ae.ingest.store import sql


def find_root(parent: dict[int, int], key: int) -> int:
    while parent[key] != key:
        parent[key] = parent[parent[key]]  # path halving keeps the trees flat
        key = parent[key]
    return key


def group(keys: list[int], pairs: list[tuple[int, int, object]]) -> tuple[dict[int, int], dict[int, tuple[object, int]]]:
    """Union-find over the pairs (a, b, why), taken in order, strongest rule first: each key's
    root, and for each linked key the first pair's `why` with the other report's key."""
    parent = {key: key for key in keys}
    linked_by: dict[int, tuple[str, int]] = {}
    for a, b, why in pairs:
        root_a, root_b = find_root(parent, a), find_root(parent, b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
        linked_by.setdefault(a, (why, b))
        linked_by.setdefault(b, (why, a))
    return {key: find_root(parent, key) for key in keys}, linked_by


def assign(con: duckdb.DuckDBPyConnection, source: str) -> int:
    """Group the source's reports into cases (inside the caller's transaction); returns the
    number of reports that share their case with another."""
    con.execute("SET VARIABLE source = $source", {"source": source})
    con.execute(sql("case_pairs"))
    pairs = con.execute("SELECT a, b, rule, detail FROM case_pairs ORDER BY rule_order, a, b").fetchall()
    if not pairs:
        return 0
    linked = sorted({k for a, b, *_ in pairs for k in (a, b)})
    ids = dict(con.execute("SELECT report_key, report_id FROM case_facts WHERE list_contains($k::BIGINT[], report_key)", {"k": linked}).fetchall())
    roots, linked_by = group(linked, [(a, b, (rule, detail)) for a, b, rule, detail in pairs])
    members: dict[int, list[int]] = {}
    for key, root in roots.items():
        members.setdefault(root, []).append(key)
    rows = []
    for keys in members.values():
        case_id = f"{source}:{min(ids[k] for k in keys)}"
        for key in keys:
            (rule, detail), other = linked_by[key]
            rows.append((key, case_id, f"{rule} with {ids[other]} ({detail})"))
    # Registered by name: with file access off, DuckDB does not look up Python variables.
    con.register("case_input", pd.DataFrame(rows, columns=["report_key", "case_id", "case_rule"]))
    con.execute("UPDATE reports SET case_id = f.case_id, case_rule = f.case_rule FROM case_input AS f WHERE reports.report_key = f.report_key")
    con.unregister("case_input")
    return len(rows)
