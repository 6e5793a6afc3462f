"""The SQL of the ingest layer, kept as files in ingest/sql/ (one statement or script each)."""

from importlib import resources


def sql(name: str) -> str:
    """The text of ingest/sql/<name>.sql."""
    return resources.files("kratom_ae.ingest").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")
