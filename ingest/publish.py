"""Publishing a fetch: the one step that writes the user's database. A source's staged rows
(ingest/staging.py) are swapped in for its old ones, grouped into probable cases
(ingest/cases.py) and recorded with their runs, in one transaction, so that an interrupted or
failed fetch leaves the database as it was."""

from __future__ import annotations

from contextlib import suppress

import duckdb
import pandas as pd

from kratom_ae.ingest import cases
from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest.sqlfiles import sql
from kratom_ae.ingest.store import WRITE_MEMORY_LIMIT, rollback_quietly

# The publish needs less than a fetch (store.WRITE_MEMORY_LIMIT): it streams the staged files into the tables, and its largest steps
# (the raw records, the case rules' joins) spill. What needs more held in memory is a key's
# index, which is why four tables have none (schema.sql). Less memory for the buffers of what
# was just written keeps a large fetch's peak near a small one's (BENCHMARKS.md).
PUBLISH_MEMORY_LIMIT = "128MB"

# Tables that had a PRIMARY KEY before issue 12 (see drop_primary_keys).
UNKEYED_TABLES = ("reports", "products", "reactions", "raw_reports")


def publish(con: duckdb.DuckDBPyConnection, source: str, runs: list[dict], staged) -> None:
    """Swap a fetch's staged rows (ingest.staging.Staged: Parquet files in its scratch folder,
    the raw records compressed with staged.dictionary) in for the source's old ones, group
    them into probable cases, and record its runs, in one transaction."""
    # DuckDB cannot size read_parquet of a list held in a variable (it estimates 0 rows), and
    # would then build the hash table of `stage_seq IN (winners)` from the raw records: every
    # raw record in memory at once, out of memory from a few hundred MB of reports on.
    con.execute("SET disabled_optimizers = 'build_side_probe_side'")
    # No table's meaning depends on the order of its rows (report_key, product_seq and
    # reaction_seq say it), and keeping the order made DuckDB buffer the joins: inserting 300,000
    # raw records took twice as long.
    con.execute("SET preserve_insertion_order = false")
    try:
        con.execute(f"SET memory_limit = '{PUBLISH_MEMORY_LIMIT}'")
        con.begin()
        try:
            con.execute("SET VARIABLE source = $source", {"source": source})
            drop_primary_keys(con)
            for name, files in (("stage_reports", staged.reports), ("stage_products", staged.products), ("stage_ingredients", staged.ingredients), ("stage_reactions", staged.reactions), ("stage_case_facts", staged.case_facts), ("raw_files", staged.raw)):
                con.execute(f"SET VARIABLE {name} = $files", {"files": files})
            con.execute("SET VARIABLE stage_problems = $f", {"f": staged.problems})
            con.execute("SET VARIABLE match_terms = $f", {"f": staged.terms})
            con.execute("SET VARIABLE dictionary = $d::BLOB", {"d": staged.dictionary})
            con.execute(sql("publish"))
            check_keys(con, source)
            con.execute(sql("publish_problems"))
            con.execute(sql("shaping_macros"))  # term_key and reference_key, for the case rules
            cases.assign(con, source)
            # Registered by name: with file access off, DuckDB does not look up Python variables.
            con.register("runs_input", pd.DataFrame.from_records(runs))
            con.execute("INSERT INTO fetch_runs BY NAME SELECT * FROM runs_input")
            con.unregister("runs_input")
            con.execute(sql("views"))
            con.commit()
        except BaseException:
            rollback_quietly(con)
            raise
    finally:
        for setting in ("disabled_optimizers", "preserve_insertion_order"):
            with suppress(duckdb.Error):
                con.execute(f"RESET {setting}")
        with suppress(duckdb.Error):  # the writing connection's own (connect)
            con.execute(f"SET memory_limit = '{WRITE_MEMORY_LIMIT}'")


def check_keys(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Fail the publish (its caller rolls back) if a key of the published rows repeats."""
    repeated = con.execute(sql("publish_check")).fetchall()
    if repeated:
        what = ", ".join(f"{count:,} in {table}" for table, count in repeated)
        raise KratomAEError(f"kratom-ae would have stored {source} rows twice (repeated keys: {what}), so it left the {source} rows as they were; please report this bug.")


def drop_primary_keys(con: duckdb.DuckDBPyConnection) -> None:
    """A database made before issue 12 has PRIMARY KEYs on UNKEYED_TABLES, whose indexes ran a
    publish of a few hundred thousand reports out of memory (schema.sql). Each such table is
    made again without one, with the other sources' rows (this one's are replaced), inside the
    publish's transaction (its variable `source`). DuckDB cannot drop a key from a table, and a
    table's name cannot be a parameter, hence the f-strings."""
    keyed = [
        table
        for (table,) in con.execute(
            "SELECT DISTINCT table_name FROM duckdb_constraints() WHERE database_name = current_database() AND schema_name = 'main' "
            "AND constraint_type = 'PRIMARY KEY' AND list_contains($tables, table_name) ORDER BY table_name",
            {"tables": list(UNKEYED_TABLES)},
        ).fetchall()
    ]
    for table in keyed:
        con.execute(f"ALTER TABLE {table} RENAME TO {table}_keyed")
    if keyed:
        con.execute(sql("schema"))
    for table in keyed:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {table}_keyed WHERE source <> getvariable('source')")
        con.execute(f"DROP TABLE {table}_keyed")
