"""A researcher's own query (`kratom-ae sql`): one statement, any DuckDB type in the result.

pandas' conversion of a DuckDB result fails or loses digits on many types a query can return
(UUID, BIT, UHUGEINT, TIME WITH TIME ZONE, an INTERVAL of millions of years, an infinite DATE,
HUGEINT as a float...). So values are fetched as Python objects where those are exact (numbers,
booleans, text) and as DuckDB's own text otherwise; nested values (lists, structs, maps) as
DuckDB's text for a table or CSV, and as JSON for JSON (fetched together, from one run).
"""

from __future__ import annotations

import decimal
import json
import math
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from kratom_ae.ingest.errors import KratomAEError

NUMERIC_TYPES = {"tinyint", "smallint", "integer", "bigint", "hugeint", "utinyint", "usmallint", "uinteger", "ubigint", "uhugeint", "float", "double", "decimal"}
EXACT_TYPES = NUMERIC_TYPES | {"boolean", "varchar"}
NESTED_TYPES = {"list", "struct", "map", "array", "union"}
EXAMPLE = 'kratom-ae sql "SELECT count(*) FROM scope_reports"'


@dataclass
class Result:
    names: list[str]  # as the query wrote them (possibly the same name twice)
    numeric: list[bool]
    rows: list[tuple]  # nested values as DuckDB's text
    json_rows: list[tuple] = field(default_factory=list)  # nested values parsed from JSON
    key: tuple[str, ...] = ()  # the columns --key names

    @property
    def unique_names(self) -> list[str]:
        """Names for files, which need each once: a repeated name gets _1, _2 (as DuckDB names
        the columns of a subquery)."""
        seen: set[str] = set()
        out = []
        for name in self.names:
            candidate, n = name, 0
            while candidate in seen:
                n += 1
                candidate = f"{name}_{n}"
            seen.add(candidate)
            out.append(candidate)
        return out

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame, each column typed so that no integer becomes a float (an
        integer column with empty values is Int64; wider numbers stay Python objects)."""
        columns = {}
        for i, name in enumerate(self.unique_names):
            values = [row[i] for row in self.rows]
            columns[name] = pd.Series(values, dtype=column_dtype(values) if self.numeric[i] else object)
        return pd.DataFrame(columns) if columns else pd.DataFrame()

    def json_text(self) -> str:
        """JSON records, like the tables' --format json; numbers keep every digit, NaN and
        infinities (which JSON cannot hold) become null."""
        names = [json.dumps(name, ensure_ascii=False) for name in self.unique_names]
        records = [",\n".join(f"  {name}:{json_value(value)}" for name, value in zip(names, row)) for row in self.json_rows]
        return "[\n" + ",\n".join(" {\n" + record + "\n }" for record in records) + "\n]" if records else "[]"


def column_dtype(values: list):
    """Int64 for integers that fit it, float64 for floats, else object (HUGEINT, DECIMAL)."""
    present = [v for v in values if v is not None]
    if all(isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63 for v in present):
        return "Int64"
    if all(isinstance(v, float) for v in present):
        return "float64"
    return object


def single_statement(statement: str) -> None:
    """Refuse an empty text or several statements with one sentence (parse errors raise)."""
    count = len(duckdb.extract_statements(statement))
    if count == 0:
        raise KratomAEError(f"The query is empty; give one SQL statement, such as {EXAMPLE}.")
    if count > 1:
        raise KratomAEError(f"Give one SQL statement at a time, not {count}; run each with its own kratom-ae sql.")


def run(con: duckdb.DuckDBPyConnection, statement: str) -> Result:
    """Run the statement once: nested values come back both as DuckDB's text (for a table or
    CSV) and as JSON (for --format json), so that both outputs show the same rows."""
    single_statement(statement)
    relation = con.sql(statement)
    if relation is None:  # a statement that returns nothing
        return Result([], [], [])
    names, kinds = list(relation.columns), [str(t.id) for t in relation.types]
    nested = [i for i, kind in enumerate(kinds) if kind in NESTED_TYPES]
    expressions = [column_expression(i + 1, kind) for i, kind in enumerate(kinds)]
    # By position: a query may name two columns alike.
    expressions += [f"CAST(to_json(#{i + 1}) AS VARCHAR)" for i in nested]
    fetched = relation.select(", ".join(f"{e} AS c{n}" for n, e in enumerate(expressions))).fetchall()
    rows = [row[: len(kinds)] for row in fetched]
    json_rows = []
    for row in fetched:
        values = list(row[: len(kinds)])
        for i, text in zip(nested, row[len(kinds):]):
            values[i] = None if text is None else json.loads(text, parse_float=decimal.Decimal, parse_constant=lambda _: None)
        json_rows.append(tuple(values))
    return Result(names, [k in NUMERIC_TYPES for k in kinds], rows, json_rows)


def column_expression(position: int, kind: str) -> str:
    column = f"#{position}"
    return column if kind in EXACT_TYPES else f"CAST({column} AS VARCHAR)"


def json_value(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "null"
    if isinstance(value, decimal.Decimal):
        return str(value) if value.is_finite() else "null"
    if isinstance(value, list):
        return "[" + ",".join(json_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{json_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value), ensure_ascii=False)
