"""What an openFDA response looks like: {"meta": {...}, "results": [...]}. Both ways a page
is read need it (ingest/openfda.py, which asks again for a body that is not JSON, and
ingest/staging.py, which reads pages with DuckDB), so it lives in neither."""

from __future__ import annotations

import json


class InvalidPage(ValueError):
    """A 200 response whose body is not a JSON object: asked for again, like a 5xx."""


class WrongPage(ValueError):
    """A 200 response that is valid JSON but not the answer asked for (results an object, meta
    a string): asking again would bring the same answer, so it is not retried."""


def json_object(body: bytes) -> dict:
    """The body as a JSON object of openFDA's layout: InvalidPage if it is not JSON (a
    transfer gone wrong), WrongPage if it is JSON of another layout."""
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise InvalidPage(str(exc)) from None
    problem = layout_problem(value)
    if problem:
        raise WrongPage(problem)
    return value


def layout_problem(value) -> str | None:
    """What keeps a parsed JSON value from being an openFDA response, {"meta": {...},
    "results": [...]} (either may be missing), or None."""
    if not isinstance(value, dict):
        return f"a JSON {json_kind(value)}, not an object"
    if value.get("meta") is not None and not isinstance(value["meta"], dict):
        return f"its meta is a JSON {json_kind(value['meta'])}, not an object"
    if value.get("results") is not None and not isinstance(value["results"], list):
        return f"its results are a JSON {json_kind(value['results'])}, not a list"
    results = value["meta"].get("results") if isinstance(value.get("meta"), dict) else None
    if results is not None and not isinstance(results, dict):
        return f"its meta.results is a JSON {json_kind(results)}, not an object"
    return None


def json_kind(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    return {dict: "object", list: "array", str: "string", int: "number", float: "number", type(None): "null"}.get(type(value), type(value).__name__)
