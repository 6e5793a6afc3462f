"""The ingest path of today makes exactly the rows the previous path made from the same pages
(issue 12: the redesign for speed must not change one value). The previous path's rows were
recorded with its own code (commit 33d3205) by tests/record_reference_rows.py."""

from __future__ import annotations

import duckdb
import pytest
import reference_rows
from pandas.testing import assert_frame_equal


def recorded(scenario: str, table: str):
    return duckdb.connect().execute("FROM read_parquet($f)", {"f": str(reference_rows.FIXTURES / f"{scenario}-{table}.parquet")}).df()


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    work = tmp_path_factory.mktemp("paths")
    databases = {}
    for scenario in reference_rows.SCENARIOS:
        databases[scenario] = work / f"{scenario}.duckdb"
        reference_rows.fetch(scenario, databases[scenario])
    return databases


@pytest.mark.parametrize("table", reference_rows.TABLES)
@pytest.mark.parametrize("scenario", reference_rows.SCENARIOS)
def test_rows_equal_the_previous_paths(fetched, scenario, table):
    """On the columns the previous path had: columns added since (issue 20's drug details)
    have no reference, and are checked against the oracle instead (test_queries.py)."""
    expected = recorded(scenario, table)
    got = reference_rows.rows(fetched[scenario], table)
    assert len(expected) > 0 or table == "fetch_problems"
    assert set(expected.columns) <= set(got.columns)
    assert set(got.columns) - set(expected.columns) == reference_rows.ADDED.get(table, set())
    assert_frame_equal(got[list(expected.columns)].reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False)


def test_the_reference_holds_what_its_inputs_hold():
    """The recorded rows are what the inputs hold (so the comparison above compares something):
    the cassette's 2,381 reports, 2,500 bench reports, 5 + 2 stored malformed records."""
    counts = {s: len(recorded(s, "reports")) for s in reference_rows.SCENARIOS}
    assert counts == {"cassette": 2381, "bench": 2500, "malformed": 7}
    problems = recorded("malformed", "fetch_problems")
    assert sorted(problems["stored"]) == [False, False, True, True, True, True, True]
