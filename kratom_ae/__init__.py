"""kratom-ae: every public openFDA adverse-event report that mentions kratom, in DuckDB.

The repository keeps its folders `ingest/`, `queries/`, `cli/` and `report/` at the top; the
wheel installs them as `kratom_ae.ingest`, `kratom_ae.queries`, ... (pyproject.toml maps them),
so that installing kratom-ae claims one name in site-packages, not four generic ones.
"""

from functools import cache


@cache
def installed_version() -> str:
    from importlib import metadata  # 20 ms of imports that `kratom-ae --help` does not need

    try:
        return metadata.version("kratom-ae")
    except metadata.PackageNotFoundError:  # run from a folder that was never installed (bench --code)
        return "unknown"


def __getattr__(name: str) -> str:
    """kratom_ae.__version__, looked up when first asked for, not at every start-up."""
    if name == "__version__":
        return installed_version()
    raise AttributeError(f"module 'kratom_ae' has no attribute {name!r}")
