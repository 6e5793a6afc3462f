"""Probable duplicate cases: which reports of a source describe one patient's event.

openFDA collapses the versions of a report but not duplicate cases: one event is often
reported by a consumer, a clinician and one or more companies, and a published case by every
company that read the article. ingest/sql/case_pairs.sql finds the pairs of reports that its
rules (company number, duplicate number, literature reference, then the demographic-clinical
rule) judge one case; here the pairs become cases, so that every report belongs to exactly
one case. No report is deleted: a case is a label on reports.

The rule (docs/methods.md "Probable cases"): links are taken strongest rule first, and within
a rule by the later report's id, then the earlier's (ids compared as text). A link joins the
two reports' cases unless some report of one contradicts some report of the other on sex,
age, country or event date (case_pairs.sql says what contradicts; a missing value never
does); such a link is left out, and both its reports' case_rule says so. Every two reports
with one company number are linked (case_pairs.sql lists each with the first report of that
number; here a report refused by that one's case tries the cases of the number's other
reports, in id order). So no case ever holds two contradicting reports, however many reports
with a field left out lie between them, and a group with no contradiction is joined whole,
transitively, as before.

Pairs are judged one at a time but never joined blindly: a case keeps the values its reports
give (one sex, one country, the overlap of their ages and of their event dates), so asking
whether a whole case contradicts another is one comparison.

Decided at fetch time, inside the publishing transaction, and reproducible: the same reports
give the same cases, each named '<source>:<its first report_id>'.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from kratom_ae.ingest.sqlfiles import sql

COMPANY_NUMBER = 1  # case_pairs.sql's rule_order of the company-number rule


@dataclass(frozen=True)
class Facts:
    """What can contradict: sex, country (ISO code), and ages (whole years) and event dates as
    closed intervals; None where not given. A case's facts are its reports' combined."""

    sex: str | None = None
    country: str | None = None
    age: tuple | None = None
    event: tuple | None = None


def overlap(x: tuple | None, y: tuple | None) -> tuple | None:
    return (max(x[0], y[0]), min(x[1], y[1])) if x and y else x or y


def contradictions(x: Facts, y: Facts) -> list[str]:
    """The fields on which x and y cannot be one patient: both given, and different."""
    def apart(u, v):
        return u is not None and v is not None and u != v

    def disjoint(u, v):
        return u is not None and v is not None and max(u[0], v[0]) > min(u[1], v[1])

    return [name for name, clash in (("sex", apart(x.sex, y.sex)), ("age", disjoint(x.age, y.age)),
                                     ("country", apart(x.country, y.country)), ("event date", disjoint(x.event, y.event))) if clash]


def combined(x: Facts, y: Facts) -> Facts:
    # Only called for facts that do not contradict: one sex, one country, overlapping intervals.
    # Intervals that overlap pairwise share a point (Helly, on a line), so a case whose
    # overlap is empty would hold two reports that contradict: comparing overlaps is enough.
    return Facts(x.sex or y.sex, x.country or y.country, overlap(x.age, y.age), overlap(x.event, y.event))


@dataclass
class Grouping:
    roots: dict        # key -> the key naming its case
    linked_by: dict    # key -> (why, other key): the first link that put it in its case
    kept_apart: dict   # key -> (why, other key, (key, key) contradicting, fields): the first link left out


def group(keys: list, ids: dict, pairs: list[tuple], facts: dict | None = None) -> Grouping:
    """Join the pairs (a, b, rule_order, why) into cases by the rule in the module docstring.
    `ids` orders the pairs (report ids); `facts` (key -> Facts) decides contradictions (none
    without it). A company-number pair links a report to its number's first report."""
    facts = facts or {}
    parent = {key: key for key in keys}
    members = {key: [key] for key in keys}
    known = {key: facts.get(key, Facts()) for key in keys}  # per root: its case's combined facts
    linked_by: dict = {}
    kept_apart: dict = {}

    def find(key):
        while parent[key] != key:
            parent[key] = parent[parent[key]]  # path halving keeps the trees flat
            key = parent[key]
        return key

    def join(a, b, why) -> bool:
        root_a, root_b = find(a), find(b)
        if root_a == root_b:
            linked_by.setdefault(a, (why, b))
            linked_by.setdefault(b, (why, a))
            return True
        if contradictions(known[root_a], known[root_b]):
            clash = contradicting_pair(root_a, root_b)
            kept_apart.setdefault(a, (why, b, *clash))
            kept_apart.setdefault(b, (why, a, *clash))
            return False
        small, large = sorted((root_a, root_b), key=lambda r: len(members[r]))
        parent[small] = large
        members[large] += members.pop(small)
        known[large] = combined(known.pop(small), known[large])
        linked_by.setdefault(a, (why, b))
        linked_by.setdefault(b, (why, a))
        return True

    def contradicting_pair(root_a, root_b):
        # A report of one case contradicting the other's combined facts contradicts one of its
        # reports (Helly again); the first such two, by id, are named.
        for side, other in ((root_a, root_b), (root_b, root_a)):
            for y in sorted(members[side], key=ids.get):
                if contradictions(facts.get(y, Facts()), known[other]):
                    for x in sorted(members[other], key=ids.get):
                        fields = contradictions(facts.get(x, Facts()), facts.get(y, Facts()))
                        if fields:
                            return tuple(sorted((x, y), key=ids.get)), fields
        raise AssertionError("cases that contradict hold two reports that do")

    # Per company number (by its first report): the cases its reports are in, in the order of
    # their first report, so that a report refused by one tries the next.
    number_cases: dict = {}
    for a, b, rule_order, why in sorted(pairs, key=lambda p: (p[2], max(ids[p[0]], ids[p[1]]), min(ids[p[0]], ids[p[1]]))):
        if rule_order != COMPANY_NUMBER:
            join(a, b, why)
            continue
        report, first = (a, b) if ids[a] > ids[b] else (b, a)
        cases = number_cases.setdefault(first, [first])
        for earlier in cases:
            if find(earlier) != find(report):
                join(report, earlier, why)
        seen, kept = set(), []
        for key in cases + [report]:
            if find(key) not in seen:
                seen.add(find(key))
                kept.append(key)
        number_cases[first] = kept
    return Grouping({key: find(key) for key in keys}, linked_by, kept_apart)


def assign(con: duckdb.DuckDBPyConnection, source: str) -> int:
    """Group the source's reports into cases (inside the caller's transaction); returns the
    number of reports that share their case with another."""
    con.execute("SET VARIABLE source = $source", {"source": source})
    con.execute(sql("case_pairs"))
    pairs = con.execute("SELECT a, b, rule_order, rule, detail FROM case_pairs").fetchall()
    if not pairs:
        return 0
    linked = sorted({k for a, b, *_ in pairs for k in (a, b)})
    rows = con.execute("SELECT report_key, report_id, sex, country_code, age_lo, age_hi, event_lo, event_hi FROM case_facts "
                       "WHERE list_contains($k::BIGINT[], report_key)", {"k": linked}).fetchall()
    ids = {key: report_id for key, report_id, *_ in rows}
    facts = {key: Facts(sex, country, (age_lo, age_hi) if age_lo is not None else None, (event_lo, event_hi) if event_lo is not None else None)
             for key, _, sex, country, age_lo, age_hi, event_lo, event_hi in rows}
    grouping = group(linked, ids, [(a, b, order, (rule, detail)) for a, b, order, rule, detail in pairs], facts)
    members: dict = {}
    for key, root in grouping.roots.items():
        members.setdefault(root, []).append(key)
    out = []
    for keys in members.values():
        case_id = f"{source}:{min(ids[k] for k in keys)}"
        for key in keys:
            if key in grouping.linked_by:
                (rule, detail), other = grouping.linked_by[key]
                why = f"{rule} with {ids[other]} ({detail})"
            else:
                why = "single report"
            if key in grouping.kept_apart:
                (rule, _), other, (x, y), fields = grouping.kept_apart[key]
                why += f"; not joined with {ids[other]} ({rule}): {ids[x]} and {ids[y]} differ in {', '.join(fields)}"
            out.append((key, case_id, why))
    # Registered by name: with file access off, DuckDB does not look up Python variables.
    con.register("case_input", pd.DataFrame(out, columns=["report_key", "case_id", "case_rule"]))
    con.execute("UPDATE reports SET case_id = f.case_id, case_rule = f.case_rule FROM case_input AS f WHERE reports.report_key = f.report_key")
    con.unregister("case_input")
    return sum(len(keys) for keys in members.values() if len(keys) > 1)
