"""The library of summary tables: .sql files discovered in queries/ (and a user's own
folder), each opening with a `-- key: value` header, run over the filtered scope of kratom
reports that queries/_scope.sql defines."""

from __future__ import annotations

import difflib
import datetime as dt
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

from kratom_ae.ingest import failures
from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest.inputs import read_bytes
from kratom_ae.ingest.text import quoted
from kratom_ae.ingest.sqlfiles import sql

BUNDLED = Path(str(resources.files("kratom_ae.queries")))
FILTERS = ("source", "since", "until", "role", "serious", "top", "unit")
TABLE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,99}")
SKIN_TERMS = BUNDLED / "skin_terms.csv"
PIGMENTING_DRUGS = BUNDLED / "pigmenting_drugs.csv"


@dataclass(frozen=True)
class Query:
    name: str
    path: Path
    description: str
    row: str
    counts: str
    columns: str
    parameters: tuple[str, ...]
    requires: tuple[str, ...] = ()
    # The columns that tell the rows apart (-- key:): every part of a table split for the
    # terminal repeats them. None declared: the first column.
    key: tuple[str, ...] = ()

    @property
    def sql(self) -> str:
        return sql_text(self.path)


@dataclass
class Filters:
    """What a researcher narrowed the tables to; None/defaults mean no narrowing."""

    source: str = "all"
    since: dt.date | None = None
    until: dt.date | None = None
    role: str = "any"
    serious: bool = False
    top: int | None = None
    unit: str = "report"  # or "case": probable cases (queries/_scope.sql)
    given: set[str] = field(default_factory=set)  # the filters the user actually set

    def describe(self) -> dict:
        return {
            "source": self.source,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "role": self.role,
            "serious_only": self.serious,
            "top": self.top,
            "unit": self.unit,
        }


# A table's SQL is a few kilobytes; a file of more is not one.
MAX_SQL_BYTES = 4 * 2**20


def sql_text(path: Path) -> str:
    """A table's .sql file (a user's may be anything a folder holds), or one sentence."""
    try:
        return read_bytes(path, "a table file", MAX_SQL_BYTES).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KratomAEError(f"The table file {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at position {exc.start}); save it as UTF-8.") from None


def parse_header(path: Path) -> dict:
    return header_of(sql_text(path))


def header_of(text: str) -> dict:
    """The `-- field: value` lines a table's file opens with."""
    header = {}
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        match = re.match(r"--\s*([a-z_]+):\s*(.*)", line)
        if match:
            header[match.group(1)] = match.group(2).strip()
    return header


def discover(extra_dir: Path | None = None) -> dict[str, Query]:
    """Every table: the bundled .sql files, then the user's (which may replace one by name)."""
    folders = [BUNDLED] + ([Path(extra_dir)] if extra_dir else [])
    if extra_dir and not Path(extra_dir).is_dir():
        raise KratomAEError(f"The queries folder {extra_dir} does not exist.")
    found = {}
    for folder in folders:
        for path in sorted(folder.glob("*.sql")):
            if path.name.startswith("_"):
                continue
            header = parse_header(path)
            name = header.get("name") or path.stem
            if not TABLE_NAME.fullmatch(name):
                # It names the export's file: ../x or /x would write outside the folder.
                raise KratomAEError(f"{path}: a table's name may hold only letters, digits, _ and - (it names the file NAME.csv of an export), not {quoted(name)}.")
            parameters = names(header.get("parameters", ""))
            unknown = set(parameters) - set(FILTERS)
            if unknown:
                raise KratomAEError(f"{path} names unknown parameters: {', '.join(sorted(unknown))} (known: {', '.join(FILTERS)}).")
            found[name] = Query(
                name=name,
                path=path,
                description=header.get("description", "(no description in the file's header)"),
                row=header.get("row", ""),
                counts=header.get("counts", ""),
                columns=header.get("columns", ""),
                parameters=parameters,
                requires=names(header.get("requires", "")),
                key=names(header.get("key", "")),
            )
    return found


def names(text: str) -> tuple[str, ...]:
    """A list of a header or an option: names separated by commas (one given twice counts once)."""
    return tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))


def internal_key(name: str) -> tuple[str, ...]:
    """The key of an internal table (queries/_NAME.sql), as `-- key:` declares it."""
    return names(header_of(internal_sql(name)).get("key", ""))


def check_key(key: tuple[str, ...], columns, where: str) -> None:
    """A key names columns of the result (a typing mistake would silently repeat none)."""
    missing = [k for k in key if k not in list(columns)]
    if missing:
        raise KratomAEError(
            f"{where} names {', '.join(map(quoted, missing))}, but the result has no such column "
            f"(its columns: {', '.join(map(str, columns))}); name the columns that tell its rows apart."
        )


def find(name: str, extra_dir: Path | None = None) -> Query:
    queries = discover(extra_dir)
    if name not in queries:
        raise KratomAEError(f"There is no table called {name!r}; the tables are: {', '.join(queries)}.")
    return queries[name]


def internal_sql(name: str) -> str:
    return (BUNDLED / f"_{name}.sql").read_text(encoding="utf-8")


def has_meddra(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'meddra_terms'").fetchone()[0] == 1


def prepare_scope(con: duckdb.DuckDBPyConnection, filters: Filters) -> None:
    """Set the filter variables and create the scope (tables and views) every table reads."""
    has_reports = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'reports'").fetchone()[0] == 1
    if not has_reports or con.execute("SELECT count(*) FROM reports").fetchone()[0] == 0:
        raise KratomAEError("The database holds no reports yet; run `kratom-ae fetch` first.")
    for name in FILTERS:
        con.execute(f"SET VARIABLE {name} = $value", {"value": getattr(filters, name)})
    # Read here, not by DuckDB: connections to the user's database may read no file.
    con.register("skin_terms_csv", pd.read_csv(SKIN_TERMS, dtype=str, keep_default_na=False))
    con.execute(sql("shaping_macros"))  # term_key: the curated skin list is matched by term key
    narrow_listing(con, Listing())
    con.execute(internal_sql("age_bands"))
    con.execute(internal_sql("scope"))
    con.execute(internal_sql("skin_meddra" if has_meddra(con) else "skin_curated"))
    con.register("pigmenting_drugs_csv", pigmenting_drugs())
    con.execute(internal_sql("clinical"))


def pigmenting_drugs() -> pd.DataFrame:
    """queries/pigmenting_drugs.csv: every entry must say where the association is described."""
    frame = pd.read_csv(PIGMENTING_DRUGS, dtype=str, keep_default_na=False)
    unsourced = frame.loc[frame["source"].str.strip() == "", "ingredient"].tolist()
    if unsourced:
        raise KratomAEError(f"{PIGMENTING_DRUGS} lists {', '.join(map(quoted, unsourced))} without a source; give each drug the publication that describes it pigmenting the skin.")
    return frame


@dataclass
class Listing:
    """How the `cases` command narrows the line listing beyond the filters (queries/cases.sql)."""

    terms: tuple[str, ...] = ()  # any spelling: matched by term key
    skin: bool = False
    pigmentation: bool = False
    soc: str | None = None


def narrow_listing(con: duckdb.DuckDBPyConnection, listing: Listing) -> None:
    con.execute("SET VARIABLE case_terms = (SELECT coalesce(list(term_key(t)), []::VARCHAR[]) FROM unnest($t::VARCHAR[]) AS u(t))", {"t": list(listing.terms)})
    con.execute("SET VARIABLE case_skin = $v", {"v": listing.skin})
    con.execute("SET VARIABLE case_pigmentation = $v", {"v": listing.pigmentation})
    con.execute("SET VARIABLE case_soc = $v::VARCHAR", {"v": listing.soc})


def listing(con: duckdb.DuckDBPyConnection, filters: Filters, narrowed: Listing) -> pd.DataFrame:
    """The line listing (queries/cases.sql) of the scope (prepare_scope must have run)."""
    if narrowed.soc is not None:
        if not has_meddra(con):
            raise KratomAEError("--soc needs MedDRA; load your licensed release with `kratom-ae meddra load DIR` first.")
        known = [row[0] for row in con.execute("SELECT DISTINCT soc_name FROM term_socs ORDER BY 1").fetchall()]
        if narrowed.soc.lower() not in {name.lower() for name in known}:
            raise KratomAEError(f"There is no primary SOC called {narrowed.soc!r} in the loaded MedDRA; the SOCs are: {', '.join(known)}.")
    check_named_terms(con, narrowed.terms)
    narrow_listing(con, narrowed)
    try:
        return run(con, find("cases"), filters)
    finally:
        narrow_listing(con, Listing())


def check_named_terms(con: duckdb.DuckDBPyConnection, terms: tuple[str, ...]) -> None:
    """Refuse, in one sentence, a --term that no kratom report in scope names: an empty listing
    would read as "no such reports" when the term is misspelt or the filters exclude it."""
    if not terms:
        return
    con.execute("SET VARIABLE named_terms = $t", {"t": list(terms)})
    named = con.execute(internal_sql("named_terms")).fetchall()
    missing = [(given, in_database) for given, in_scope, in_database in named if not in_scope]
    if not missing:
        return
    reported = [row[0] for row in con.execute(internal_sql("reported_terms")).fetchall()]
    raise KratomAEError("No kratom report in scope names " + " or ".join(why_unnamed(given, in_database, reported) for given, in_database in missing) + ".")


def why_unnamed(given: str, in_database: int, reported: list[str]) -> str:
    if in_database:
        return f"{quoted(given)} ({in_database:,} kratom reports in the database do, outside the filters)"
    by_key = {term.upper(): term for term in reported}
    closest = difflib.get_close_matches(" ".join(given.upper().split()), list(by_key), n=3, cutoff=0.6)
    if not closest:
        return f"{quoted(given)} (nor does any kratom report in the database; `kratom-ae query reactions` lists the terms reported)"
    return f"{quoted(given)} (the closest terms reported are {', '.join(quoted(by_key[c]) for c in closest)})"


def scope_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Kratom reports in scope, in all and per source: the denominators of the percentages."""
    per_source = dict(con.execute("SELECT source, count(*) FROM scope_reports GROUP BY source ORDER BY source").fetchall())
    return {"all": sum(per_source.values()), **per_source}


def check_filters(query: Query, filters: Filters) -> None:
    unused = sorted(filters.given - set(query.parameters))
    if unused:
        options = ", ".join(f"--{name}" for name in unused)
        raise KratomAEError(f"The {query.name} table does not take {options}; it takes {', '.join('--' + p for p in query.parameters) or 'no filters'}.")


# With --unit case a table counts probable cases: its columns say so (issue 19), as its header
# and footer do. summary's count column holds its first row's report count beside the cases.
CASE_COLUMNS = {"summary": {"reports": "count"}}


def unit_names(query: Query, columns, unit: str) -> dict[str, str]:
    """The columns of a table that takes --unit renamed for the unit counted: with unit = case,
    `reports` in a name becomes `cases` (reports -> cases, pct_of_kratom_reports ->
    pct_of_kratom_cases, serious_reports -> serious_cases)."""
    if "unit" not in query.parameters:
        return {}
    return case_columns(columns, unit, CASE_COLUMNS.get(query.name, {}))


def case_columns(columns, unit: str, special: dict | None = None) -> dict[str, str]:
    if unit != "case":
        return {}
    renamed = {c: (special or {}).get(c, c.replace("reports", "cases")) for c in columns}
    return {old: new for old, new in renamed.items() if old != new}


def run(con: duckdb.DuckDBPyConnection, query: Query, filters: Filters, *, check: bool = True, fetch=None, unit_names_columns: bool = True):
    """Run one table over the scope (prepare_scope must have run on this connection): a
    DataFrame, or what fetch(relation) makes of the result as DuckDB holds it (typed). Its
    columns are named for the unit counted (unit_names) unless unit_names_columns is False
    (the report's figures read the SQL's own names)."""
    if check:
        check_filters(query, filters)
    if "meddra" in query.requires and not has_meddra(con):
        raise KratomAEError(f"The {query.name} table needs MedDRA; load your licensed release with `kratom-ae meddra load DIR` first.")
    try:
        if fetch is None:
            frame = con.execute(query.sql).df()
        else:
            con.abort()  # a result left unfinished (by a fetchone) would keep DuckDB from streaming this one
            relation = con.sql(query.sql)
            if relation is None:
                raise KratomAEError(f"The {query.name} query ({query.path}) returns no table; its last statement must be a SELECT.")
            check_key(query.key, relation.columns, f"The `-- key:` line of {query.path}")
            renamed = unit_names(query, relation.columns, filters.unit) if unit_names_columns else {}
            if renamed:
                quote = lambda name: '"' + name.replace('"', '""') + '"'  # noqa: E731
                relation = relation.project(", ".join(f"{quote(c)} AS {quote(renamed.get(c, c))}" for c in relation.columns))
            return fetch(relation)
    except duckdb.Error as exc:
        if failures.is_damage(exc):
            raise
        raise KratomAEError(f"The {query.name} query ({query.path}) failed: {failures.first_line(str(exc))}.") from None
    check_key(query.key, frame.columns, f"The `-- key:` line of {query.path}")
    return frame.rename(columns=unit_names(query, frame.columns, filters.unit)) if unit_names_columns else frame


def read_only_query(con: duckdb.DuckDBPyConnection, statement: str, key: str = ""):
    """Run a researcher's own query on a read-only connection, with the scope views at hand
    and no access to files (so COPY ... TO cannot write one either); see queries/adhoc.py."""
    from kratom_ae.queries import adhoc

    try:
        prepare_scope(con, Filters())
    except KratomAEError:
        pass  # an empty database: the tables are still there to query
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    try:
        result = adhoc.run(con, statement)
    except duckdb.Error as exc:
        if failures.is_damage(exc):
            raise
        raise KratomAEError(f"The query failed: {failures.first_line(str(exc))}.") from None
    result.key = names(key)
    if result.names:
        check_key(result.key, result.names, "--key")
    return result


JUDGED = ("all", "kratom", "look-alike", "not-kratom")


def kratom_names(con: duckdb.DuckDBPyConnection, source: str = "all", judged: str = "all") -> pd.DataFrame:
    """Every product name of the fetched reports with how it was judged (queries/_kratom_names.sql),
    so that a researcher can review the kratom decision before publishing."""
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'products'").fetchone()[0] == 0:
        raise KratomAEError("The database holds no reports yet; run `kratom-ae fetch` first.")
    con.execute(sql("shaping_macros"))  # normalize_name and squeeze, for the near misses
    con.execute("SET VARIABLE source = $value", {"value": source})
    con.execute("SET VARIABLE judged = $value", {"value": judged})
    return con.execute(internal_sql("kratom_names")).df()


def ingredient_names(con: duckdb.DuckDBPyConnection, source: str = "all", name: str | None = None) -> pd.DataFrame:
    """Every product name of the kratom reports with the active ingredients the drugs table
    counted it under and the field each came from (queries/_ingredient_names.sql)."""
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'product_ingredients'").fetchone()[0] == 0:
        raise KratomAEError("The database holds no reports yet; run `kratom-ae fetch` first.")
    con.execute(sql("shaping_macros"))  # normalize_name: a name is matched as the stored ones were normalized
    if name is not None and con.execute("SELECT normalize_name($n) IS NULL", {"n": name}).fetchone()[0]:
        raise KratomAEError(f"--name {quoted(name)} has no letter or digit to look for; give part of a product or ingredient name, such as gabapentin.")
    con.execute("SET VARIABLE source = $value", {"value": source})
    con.execute("SET VARIABLE ingredient_name = $value::VARCHAR", {"value": name})
    return con.execute(internal_sql("ingredient_names")).df()


# The skin groups `profile` takes as shortcuts, as the skin tables name their rows.
PROFILE_GROUPS = {"skin": "(any skin term)", "pigmentation": "(any pigmentation term)", "hyperpigmentation": "(any hyperpigmentation term)"}


def profile_query() -> Query:
    """The profile's table (queries/_profile.sql): internal, since it needs the terms asked for."""
    path = BUNDLED / "_profile.sql"
    header = parse_header(path)
    return Query(name="profile", path=path, description=header["description"], row=header["row"], counts=header["counts"], columns=header["columns"],
                 parameters=names(header["parameters"]), key=names(header["key"]))


def profile(con: duckdb.DuckDBPyConnection, filters: Filters, terms: tuple[str, ...] = (), groups: tuple[str, ...] = (), **run_options) -> pd.DataFrame:
    """The clinical profile of each group (PROFILE_GROUPS) and term asked for, in that order
    (prepare_scope must have run). A term no kratom report in scope names is refused, as the
    listing refuses it."""
    if not terms and not groups:
        raise KratomAEError("Name the reactions to profile: one or more MedDRA terms (kratom-ae profile HYPERPIGMENTATION), or --hyperpigmentation, --pigmentation or --skin.")
    check_named_terms(con, terms)
    asked, seen = [], set()
    for group in groups:
        asked.append((PROFILE_GROUPS[group], group, None))
    for given in terms:
        key, label = con.execute("SELECT term_key($t), coalesce((SELECT label FROM term_labels WHERE reaction_pt = term_key($t)), term_key($t))", {"t": given}).fetchone()
        if key not in seen:
            seen.add(key)
            asked.append((label, "term", given))
    con.abort()  # the fetchone above leaves its result open
    request = pd.DataFrame({"o": range(1, len(asked) + 1), "label": [a[0] for a in asked], "kind": [a[1] for a in asked], "term": [a[2] for a in asked]}).astype({"term": object})
    con.register("profile_request_frame", request)
    con.execute("CREATE OR REPLACE TEMP TABLE profile_request AS SELECT o::INTEGER AS o, label::VARCHAR AS label, kind::VARCHAR AS kind, term::VARCHAR AS term FROM profile_request_frame")
    return run(con, profile_query(), filters, **run_options)
