"""kratom-ae: every public openFDA adverse-event report that mentions kratom, in DuckDB.

The repository keeps its folders `ingest/`, `queries/`, `cli/` and `report/` at the top; the
wheel installs them as `kratom_ae.ingest`, `kratom_ae.queries`, ... (pyproject.toml maps them),
so that installing kratom-ae claims one name in site-packages, not four generic ones.
"""

from importlib import metadata

try:
    __version__ = metadata.version("kratom-ae")
except metadata.PackageNotFoundError:  # run from a folder that was never installed (bench --code)
    __version__ = "unknown"
