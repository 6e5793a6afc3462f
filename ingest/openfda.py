"""Talking to openFDA: one requests session, request pacing, retries and paging.

Everything here follows openFDA's documented behaviour (see docs/openfda-api-notes.md):

* search pages of at most 1000 records; the next page comes from the ``Link: <...>;
  rel="next"`` header, which carries a ``search_after`` cursor when the first request has no
  ``skip``, so result sets larger than the 26,000 that ``skip`` can reach come back whole.
  A server that sends no Link header is paged with ``skip`` (up to 25,000);
* 404 ``NOT_FOUND`` is "no matches", not an error;
* 429, 5xx, timeouts, dropped connections and bodies that are not JSON are retried with
  exponential backoff, honouring ``Retry-After``, a bounded number of times;
* requests are spaced evenly to stay within 240 per minute, retries included;
* the API key travels as the HTTP Basic user name (documented by openFDA), so it never
  appears in a URL, a log line, an error message or a recorded cassette's URI.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from dataclasses import dataclass
from typing import Callable, Iterator
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import requests

from ingest.errors import KratomAEError

DEFAULT_BASE_URL = "https://api.fda.gov"
MAX_LIMIT = 1000
MAX_SKIP = 25000
REQUESTS_PER_MINUTE = 240
RETRY_STATUSES = {429, 500, 502, 503, 504}


class OpenFDAError(KratomAEError):
    """openFDA could not be reached or refused the request; the message says which."""


class InvalidPage(ValueError):
    """A 200 response whose body is not a JSON object: asked for again, like a 5xx."""


@dataclass
class Page:
    """One page of search results, with what openFDA said about the whole result set. The
    records themselves are wherever the page reader put them (for the fetch: DuckDB)."""

    endpoint: str
    search: str
    number: int  # 1 for the first page
    last_updated: str | None
    total: int
    count: int  # records on this page
    results: list[dict] | None = None  # only with the plain-Python reader, json_page


@dataclass
class PageContent:
    last_updated: str | None
    total: int | None
    count: int
    results: list[dict] | None = None


def json_object(body: bytes) -> dict:
    """The body as a JSON object, or InvalidPage."""
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise InvalidPage(str(exc)) from None
    if not isinstance(value, dict):
        raise InvalidPage("not a JSON object")
    return value


def json_page(body: bytes) -> PageContent:
    """Page reader in plain Python (small pages, tests); the fetch reads pages with DuckDB."""
    value = json_object(body)
    meta = value.get("meta") or {}
    results = value.get("results")
    total = (meta.get("results") or {}).get("total")
    if not isinstance(results, list) or not isinstance(total, int):
        return PageContent(meta.get("last_updated"), None, 0)
    return PageContent(meta.get("last_updated"), total, len(results), results)


def wait(seconds: float) -> None:
    """The one place this module sleeps (tests replace it to run without waiting)."""
    time.sleep(seconds)


class Pacer:
    """Spaces calls at least ``interval`` seconds apart: 240/min without bursts is 0.25 s."""

    def __init__(self, interval: float = 60.0 / REQUESTS_PER_MINUTE, clock=time.monotonic, sleep: Callable[[float], None] | None = None):
        self.interval, self.clock, self.sleep = interval, clock, sleep or wait
        self._last: float | None = None

    def wait(self) -> None:
        if self._last is not None:
            remaining = self.interval - (self.clock() - self._last)
            if remaining > 0:
                self.sleep(remaining)
        self._last = self.clock()


def public_url(base_url: str) -> str:
    """The base URL without user info, query or fragment: safe to print and store."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def without_user_info(url: str) -> str:
    """The URL as it may be shown in a message: no user name or password."""
    return re.sub(r"(//)[^/@]*@", r"\1", url)


def check_base_url(base_url: str) -> str:
    """The base URL, if requests can send to it; else one sentence saying what is wrong."""
    shown = without_user_info(base_url)
    if any(c.isspace() or not c.isprintable() for c in base_url):
        raise KratomAEError(f"The base URL must not contain spaces or control characters, not {shown!r}.")
    try:
        parts = urlsplit(base_url)
        parts.port  # noqa: B018 (parsing the port is the check: 99999 or abc raise here)
    except ValueError as exc:
        raise KratomAEError(f"The base URL {shown!r} cannot be used: {str(exc).rstrip('.')}.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise KratomAEError(f"The base URL must start with http:// or https:// and name a host, not {shown!r}.")
    return base_url


def check_api_key(api_key: str) -> str:
    """The key as it can be sent: HTTP headers carry Latin-1 at most, and openFDA's keys are
    letters and digits. Surrounding whitespace (a key read from a file) is dropped. The key is
    never part of the message."""
    key = api_key.strip()
    if not key or not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise KratomAEError("The API key holds characters openFDA keys never have (spaces, control characters or letters outside ASCII); check --api-key or OPENFDA_API_KEY.")
    return key


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_body(response: requests.Response) -> tuple[str | None, str | None]:
    """(code, message) from openFDA's {"error": {"code", "message"}} envelope, if it is one."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return None, None
    if not isinstance(error, dict):
        return None, None
    return error.get("code"), error.get("message")


def next_params(response: requests.Response) -> dict | None:
    """Query parameters of the Link rel="next" URL (rel matched case-insensitively).

    openFDA's own next link carries ``skip=0`` beside ``search_after``; skip is dropped then,
    since the two are documented as not working together. Only the query is kept: the next
    page is asked of our own base URL, so mirrors and proxies keep working.
    """
    for link in response.links.values():
        if str(link.get("rel", "")).lower() == "next" and link.get("url"):
            params = dict(parse_qsl(urlsplit(link["url"]).query, keep_blank_values=True))
            params.pop("api_key", None)
            if "search_after" in params:
                params.pop("skip", None)
            return params
    return None


class OpenFDAClient:
    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        page_size: int = MAX_LIMIT,
        max_retries: int = 5,
        backoff: float = 1.0,
        max_wait: float = 120.0,
        timeout: tuple[float, float] = (10.0, 120.0),
        pacer: Pacer | None = None,
        sleep: Callable[[float], None] | None = None,
        on_retry: Callable[[str, float], None] | None = None,
        session: requests.Session | None = None,
    ):
        if not 1 <= page_size <= MAX_LIMIT:
            raise KratomAEError(f"The page size must be between 1 and {MAX_LIMIT}, not {page_size}.")
        base_url = check_base_url((base_url or DEFAULT_BASE_URL).rstrip("/"))
        self.base_url = base_url
        self.page_size = page_size
        self.max_retries, self.backoff, self.max_wait, self.timeout = max_retries, backoff, max_wait, timeout
        self.pacer = pacer or Pacer()
        self.sleep = sleep or wait
        self.on_retry = on_retry
        self.requests_sent = 0
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "kratom-ae (+https://open.fda.gov research client)"
        if api_key:
            # Basic auth with the key as user name and an empty password (openFDA docs).
            self.session.auth = (check_api_key(api_key), "")

    # -- one request ---------------------------------------------------------------------
    def get(self, endpoint: str, params: dict, read: Callable[[bytes], object] = json_object) -> tuple[object, requests.Response | None]:
        """GET one openFDA page with retries. Returns (read(body), response), or (None, None)
        for openFDA's 404 "No matches found!". `read` raising InvalidPage means the body was
        not JSON: the request is retried."""
        url = f"{self.base_url}/{endpoint}.json"
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            self.pacer.wait()
            self.requests_sent += 1
            retry_after = None
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except requests.exceptions.ConnectionError as exc:
                if _is_name_resolution_error(exc):
                    raise OpenFDAError(
                        f"Cannot reach openFDA at {public_url(self.base_url)}: the host name could not be resolved (is this machine offline?)."
                    ) from None
                problem = f"Cannot reach openFDA at {public_url(self.base_url)}: the connection failed"
            except requests.exceptions.Timeout:
                problem = f"Cannot reach openFDA at {public_url(self.base_url)}: the request timed out"
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
                problem = f"Cannot reach openFDA at {public_url(self.base_url)}: the connection broke off"
            except requests.exceptions.RequestException as exc:
                raise OpenFDAError(f"Cannot reach openFDA at {public_url(self.base_url)}: {type(exc).__name__}.") from None
            else:
                status = response.status_code
                if status == 200:
                    try:
                        return read(response.content), response
                    except InvalidPage:
                        problem = f"openFDA at {public_url(self.base_url)} sent a page that is not valid JSON"
                elif status == 404 and error_body(response)[0] == "NOT_FOUND":
                    return None, None
                elif status in RETRY_STATUSES:
                    code, _ = error_body(response)
                    problem = f"openFDA at {public_url(self.base_url)} answered HTTP {status}" + (f" {code}" if code else "")
                    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                else:
                    raise OpenFDAError(self._refusal(endpoint, response)) from None
            if attempt == attempts:
                raise OpenFDAError(f"{problem}, and still did after {attempts} attempts; the fetch was abandoned.")
            delay = self.backoff * 2 ** (attempt - 1) if retry_after is None else retry_after
            if delay > self.max_wait:
                raise OpenFDAError(f"{problem} and asked us to wait {delay:.0f} s, longer than the {self.max_wait:.0f} s we wait; try again later.")
            if self.on_retry:
                self.on_retry(problem, delay)
            self.sleep(delay)
        raise AssertionError("unreachable")

    def _refusal(self, endpoint: str, response: requests.Response) -> str:
        code, message = error_body(response)
        status = response.status_code
        if code in ("API_KEY_INVALID", "API_KEY_MISSING", "API_KEY_DISABLED", "API_KEY_UNAUTHORIZED") or status in (401, 403):
            what = {"API_KEY_MISSING": "requires an API key"}.get(code, "rejected the API key")
            return f"openFDA {what} (HTTP {status}{' ' + code if code else ''}); check --api-key or OPENFDA_API_KEY."
        if code == "BAD_REQUEST":
            return f"openFDA rejected the request to {endpoint} (HTTP {status}): {message or 'no reason given'}."
        if status == 404:
            return f"{public_url(self.base_url)} has no openFDA endpoint {endpoint} (HTTP 404); check --base-url."
        return f"openFDA at {public_url(self.base_url)} answered HTTP {status} for {endpoint}{': ' + message if message else ''}."

    # -- a whole result set --------------------------------------------------------------
    def search(self, endpoint: str, search: str, read_page: Callable[[bytes], PageContent] = json_page) -> Iterator[Page]:
        """Every page of a search, in order. Each body goes to read_page (which returns its
        last_updated, total and record count). Raises OpenFDAError if the result set cannot
        be had whole (openFDA updated mid-fetch, pages stopping short of meta.results.total)."""
        params: dict = {"search": search, "limit": self.page_size}
        received, number, last_updated = 0, 0, None
        while True:
            content, response = self.get(endpoint, params, read=read_page)
            number += 1
            if content is None:
                if number == 1:
                    yield Page(endpoint, search, number, None, 0, 0)
                    return
                raise OpenFDAError(f"openFDA stopped answering {endpoint} after {received} records (404 on page {number}); the fetch was abandoned.")
            if content.total is None:
                raise OpenFDAError(f"The server at {public_url(self.base_url)} did not send an openFDA search response (no results list or meta.results.total).")
            if number == 1:
                last_updated = content.last_updated
            elif content.last_updated != last_updated:
                raise OpenFDAError(
                    f"openFDA updated {endpoint} during the fetch (last_updated {last_updated} became {content.last_updated}); run the fetch again."
                )
            received += content.count
            yield Page(endpoint, search, number, last_updated, content.total, content.count, getattr(content, "results", None))
            if received >= content.total:
                return
            if not content.count:
                raise OpenFDAError(f"openFDA sent an empty page after {received} of {content.total} records for {endpoint}; the fetch was abandoned.")
            following = next_params(response)
            if following is None:
                if received > MAX_SKIP:
                    raise OpenFDAError(
                        f"The server sent no Link header to page past {received} of {content.total} records, and skip stops at {MAX_SKIP}; the fetch was abandoned."
                    )
                following = {"search": search, "limit": self.page_size, "skip": received}
            params = following

    # -- counts for the disproportionality background ----------------------------------------
    def total(self, endpoint: str, search: str | None = None) -> tuple[int, str | None]:
        """(meta.results.total, meta.last_updated) of a search, or of the whole endpoint; one
        record is asked for, since only the envelope is wanted."""
        params = {"limit": 1}
        if search:
            params["search"] = search
        body, _ = self.get(endpoint, params)
        if body is None:
            return 0, None
        meta = body.get("meta") or {}
        total = (meta.get("results") or {}).get("total")
        if not isinstance(total, int):
            raise OpenFDAError(f"The server at {public_url(self.base_url)} sent no meta.results.total for {endpoint}.")
        return total, meta.get("last_updated")

    def count(self, endpoint: str, field: str, limit: int = MAX_LIMIT) -> tuple[list[tuple[str, int]], str | None]:
        """openFDA's count= endpoint: the `limit` most frequent values of a field with the
        number of records (reports) holding each, and meta.last_updated."""
        body, _ = self.get(endpoint, {"count": field, "limit": limit})
        if body is None:  # 404 "Nothing to count"
            return [], None
        results = body.get("results")
        if not isinstance(results, list) or any(not isinstance(r, dict) or "term" not in r or "count" not in r for r in results):
            raise OpenFDAError(f"The server at {public_url(self.base_url)} did not send an openFDA count response for {endpoint}.")
        return [(str(r["term"]), int(r["count"])) for r in results], (body.get("meta") or {}).get("last_updated")


def _is_name_resolution_error(exc: BaseException) -> bool:
    text = repr(exc)
    return "NameResolutionError" in text or "Name or service not known" in text or "nodename nor servname" in text or "Temporary failure in name resolution" in text
