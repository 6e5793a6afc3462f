"""Talking to openFDA: one requests session, request pacing, retries and paging.

Everything here follows openFDA's documented behaviour (see docs/openfda-api-notes.md):

* search pages of at most 1000 records; the next page comes from the ``Link: <...>;
  rel="next"`` header, which carries a ``search_after`` cursor when the first request has no
  ``skip``, so result sets larger than the 26,000 that ``skip`` can reach come back whole.
  A server that sends no Link header is paged with ``skip`` (up to 25,000);
* 404 ``NOT_FOUND`` is "no matches", not an error;
* 429, 5xx, timeouts, dropped connections and bodies that are not JSON are retried with
  exponential backoff, honouring ``Retry-After``, a bounded number of times;
* a response must arrive whole within a deadline (a server that drips bytes never trips a
  read timeout) and may not expand to more than MAX_PAGE_BYTES (a gzip bomb);
* a result set must come back whole and once: a Link back to a page already fetched, a
  record sent twice, or a count of records other than meta.results.total stops the fetch;
* requests are spaced evenly to stay within 240 per minute, retries included;
* the API key travels as the HTTP Basic user name (documented by openFDA), so it never
  appears in a URL, a log line, an error message or a recorded cassette's URI.
"""

from __future__ import annotations

import email.utils
import functools
import json
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from kratom_ae.ingest.errors import KratomAEError, OpenFDAError  # noqa: F401 (OpenFDAError: raised here, imported from here)
from kratom_ae.ingest.pages import InvalidPage, WrongPage, json_object  # noqa: F401

# requests (with urllib3, and ingest.deadline built on them) is imported when the first
# request is made: a tenth of a second that `signals` with its background cached, and every
# command that only reads the database, never needs.
if TYPE_CHECKING:
    import requests

    from kratom_ae.ingest.deadline import Deadline

DEFAULT_BASE_URL = "https://api.fda.gov"
MAX_LIMIT = 1000
MAX_SKIP = 25000
REQUESTS_PER_MINUTE = 240
RETRY_STATUSES = {429, 500, 502, 503, 504}
# The largest response body accepted, after decompression. openFDA reports average up to
# ~72 KB for some drugs, so a page of 1000 can be ~70 MB; this leaves room for 3.5 times that.
MAX_PAGE_BYTES = 256 * 1024 * 1024
# The longest a whole response (headers and body) may take: a 70 MB page at 1 MB/s, 4 times over.
DEADLINE = 300.0
CHUNK = 1 << 16
# More reports than any openFDA endpoint could hold (FAERS has about 30 million): a total or a
# count above it is a server's mistake, and would not fit the database's BIGINT either.
MAX_REPORTS = 10**12


class _Retry(Exception):
    """A failed attempt worth repeating: a timeout, a broken connection, a 5xx, a bad body."""

    def __init__(self, problem: str, retry_after: float | None = None):
        super().__init__(problem)
        self.problem, self.retry_after = problem, retry_after


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
    repeated: int = 0  # records on this page that the reader saw earlier in the same query


def is_report_count(value) -> bool:
    """Whether a value is a count of reports as openFDA sends one (meta.results.total, a
    count= bucket): not a float (1e20), a boolean, or a number no database of reports reaches."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_REPORTS


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


def error_body(body: bytes) -> tuple[str | None, str | None]:
    """(code, message) from openFDA's {"error": {"code", "message"}} envelope, if it is one."""
    try:
        error = json.loads(body).get("error") or {}
    except (ValueError, AttributeError):
        return None, None
    if not isinstance(error, dict):
        return None, None
    return error.get("code"), error.get("message")


def cut_json(response: requests.Response, body: bytes) -> bool:
    """A body that says it is JSON, or starts like it, but does not parse: it was cut short."""
    if "json" not in response.headers.get("Content-Type", "").lower() and body.lstrip()[:1] not in (b"{", b"["):
        return False
    try:
        json.loads(body)
    except ValueError:
        return True
    return False


def request_key(params: dict) -> tuple:
    """The request a set of parameters makes, for spotting a page asked for twice
    (skip=0 asks for the same page as no skip)."""
    return tuple(sorted((name, str(value)) for name, value in params.items() if not (name == "skip" and str(value) == "0")))


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
        deadline: float | None = None,
        max_page_bytes: int | None = None,
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
        self.deadline = DEADLINE if deadline is None else deadline
        self.max_page_bytes = MAX_PAGE_BYTES if max_page_bytes is None else max_page_bytes
        self.pacer = pacer or Pacer()
        self.sleep = sleep or wait
        self.on_retry = on_retry
        self.requests_sent = 0
        self._given_session = session
        # Basic auth with the key as user name and an empty password (openFDA docs).
        self._auth = (check_api_key(api_key), "") if api_key else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        """Close the connections of the session the client made (one given to it is its
        owner's to close): at the end of a command, not whenever the garbage collector gets to
        them, which left sockets open at exit (ResourceWarning). Asked again, it makes a new one."""
        session = self.__dict__.pop("session", None)
        if session is not None and self._given_session is None:
            session.close()

    @functools.cached_property
    def session(self) -> requests.Session:
        import requests

        from kratom_ae.ingest.deadline import DeadlineAdapter

        session = self._given_session or requests.Session()
        for prefix in ("http://", "https://"):
            session.mount(prefix, DeadlineAdapter())
        session.headers["User-Agent"] = "kratom-ae (+https://open.fda.gov research client)"
        if self._auth:
            session.auth = self._auth
        return session

    # -- one request ---------------------------------------------------------------------
    def get(self, endpoint: str, params: dict, read: Callable[[bytes], object] = json_object) -> tuple[object, requests.Response | None]:
        """GET one openFDA page with retries. Returns (read(body), response), or (None, None)
        for openFDA's 404 "No matches found!". `read` raising InvalidPage means the body was
        not JSON: the request is retried."""
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            self.pacer.wait()
            self.requests_sent += 1
            try:
                return self._attempt(endpoint, params, read)
            except _Retry as retry:
                problem, retry_after = retry.problem, retry.retry_after
            if attempt == attempts:
                raise OpenFDAError(f"{problem}, and still did after {attempts} attempts; the fetch was abandoned.")
            delay = self.backoff * 2 ** (attempt - 1) if retry_after is None else retry_after
            if delay > self.max_wait:
                raise OpenFDAError(f"{problem} and asked us to wait {delay:.0f} s, longer than the {self.max_wait:.0f} s we wait; try again later.")
            if self.on_retry:
                self.on_retry(problem, delay)
            self.sleep(delay)
        raise AssertionError("unreachable")

    def _attempt(self, endpoint: str, params: dict, read: Callable[[bytes], object]) -> tuple[object, requests.Response | None]:
        """One request: the result, or _Retry, or OpenFDAError for what asking again cannot mend."""
        import requests

        from kratom_ae.ingest.deadline import Deadline

        where = public_url(self.base_url)
        deadline = Deadline(self.deadline)
        try:
            with deadline:
                response = self.session.get(f"{self.base_url}/{endpoint}.json", params=params, timeout=self.timeout, stream=True)
                with response:
                    body = self._body(response, deadline)
        except requests.exceptions.RequestException as exc:
            raise self._transport_problem(exc, deadline) from None
        status = response.status_code
        if status == 200:
            try:
                return read(body), response
            except InvalidPage:
                raise _Retry(f"openFDA at {where} sent a page that is not valid JSON") from None
            except WrongPage as exc:
                raise OpenFDAError(f"The server at {where} sent JSON that is not an openFDA response to {endpoint} ({exc}); the fetch was abandoned.") from None
        code, message = error_body(body)
        if status == 404 and code == "NOT_FOUND":
            return None, None
        if status == 404 and cut_json(response, body):
            raise _Retry(f"openFDA at {where} sent a 404 whose body is not valid JSON")
        if status in RETRY_STATUSES:
            raise _Retry(f"openFDA at {where} answered HTTP {status}" + (f" {code}" if code else ""), retry_after_seconds(response.headers.get("Retry-After")))
        raise OpenFDAError(self._refusal(endpoint, status, code, message))

    def _body(self, response: requests.Response, deadline: Deadline) -> bytearray:
        """The body, decompressed, read in chunks: refused past max_page_bytes, so that a gzip
        bomb is stopped before it fills the memory."""
        body = bytearray()
        for chunk in response.iter_content(CHUNK):
            body += chunk
            if len(body) > self.max_page_bytes:
                raise OpenFDAError(
                    f"openFDA at {public_url(self.base_url)} sent a response larger than {self.max_page_bytes / 2**20:.0f} MiB "
                    "once decompressed, more than kratom-ae accepts for one page; the fetch was abandoned."
                )
            if deadline.expired:
                raise self._transport_problem(None, deadline)
        return body

    def _transport_problem(self, exc: requests.exceptions.RequestException | None, deadline: Deadline) -> Exception:
        import requests

        where = public_url(self.base_url)
        if deadline.expired:  # whatever the read that the deadline cut short raised
            return _Retry(f"openFDA at {where} took longer than {deadline.seconds:g} s to send a response")
        if isinstance(exc, requests.exceptions.ConnectionError):
            if _is_name_resolution_error(exc):
                return OpenFDAError(f"Cannot reach openFDA at {where}: the host name could not be resolved (is this machine offline?).")
            return _Retry(f"Cannot reach openFDA at {where}: the connection failed")
        if isinstance(exc, requests.exceptions.Timeout):
            return _Retry(f"Cannot reach openFDA at {where}: the request timed out")
        if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
            return _Retry(f"Cannot reach openFDA at {where}: the connection broke off")
        return OpenFDAError(f"Cannot reach openFDA at {where}: {type(exc).__name__}.")

    def _refusal(self, endpoint: str, status: int, code: str | None, message: str | None) -> str:
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
        be had whole and once: openFDA updated mid-fetch, pages stopping short of
        meta.results.total or going past it, a Link back to a page already fetched, records
        sent twice."""
        where = public_url(self.base_url)
        params: dict = {"search": search, "limit": self.page_size}
        requested = {request_key(params)}
        received, number, last_updated, total = 0, 0, None, None
        while True:
            content, response = self.get(endpoint, params, read=read_page)
            number += 1
            if content is None:
                if number == 1:
                    yield Page(endpoint, search, number, None, 0, 0)
                    return
                raise OpenFDAError(f"openFDA stopped answering {endpoint} after {received} records (404 on page {number}); the fetch was abandoned.")
            if content.total is None:
                raise OpenFDAError(f"The server at {where} did not send an openFDA search response (no results list or meta.results.total).")
            if not is_report_count(content.total):
                raise OpenFDAError(f"The server at {where} sent a meta.results.total of {shown_number(content.total)} for a query on {endpoint}, which no openFDA endpoint holds; the fetch was abandoned.")
            if number == 1:
                last_updated, total = content.last_updated, content.total
            elif content.last_updated != last_updated:
                raise OpenFDAError(
                    f"openFDA updated {endpoint} during the fetch (last_updated {last_updated} became {content.last_updated}); run the fetch again."
                )
            elif content.total != total:
                raise OpenFDAError(
                    f"The server at {where} changed meta.results.total of a query on {endpoint} from {total:,} to {content.total:,} on page {number}; the fetch was abandoned."
                )
            if getattr(content, "repeated", 0):  # a reader that compares records with earlier pages
                raise OpenFDAError(
                    f"The server at {where} sent {content.repeated:,} records on page {number} of a query on {endpoint} that it had already sent in that query; the fetch was abandoned."
                )
            received += content.count
            if received > total:
                raise OpenFDAError(
                    f"The server at {where} sent {received:,} records for a query on {endpoint} whose meta.results.total is {total:,}; the fetch was abandoned."
                )
            yield Page(endpoint, search, number, last_updated, total, content.count, getattr(content, "results", None))
            if received == total:
                return
            if not content.count:
                raise OpenFDAError(f"openFDA sent an empty page after {received} of {total} records for {endpoint}; the fetch was abandoned.")
            following = next_params(response)
            if following is None:
                if received > MAX_SKIP:
                    raise OpenFDAError(
                        f"The server sent no Link header to page past {received} of {total} records, and skip stops at {MAX_SKIP}; the fetch was abandoned."
                    )
                following = {"search": search, "limit": self.page_size, "skip": received}
            if request_key(following) in requested:
                raise OpenFDAError(
                    f"The server at {where} sent a Link on page {number} of a query on {endpoint} back to a page it had already sent; the fetch was abandoned."
                )
            requested.add(request_key(following))
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
        if "total" not in (meta.get("results") or {}):
            raise OpenFDAError(f"The server at {public_url(self.base_url)} sent no meta.results.total for {endpoint}.")
        if not is_report_count(total):
            raise OpenFDAError(f"The server at {public_url(self.base_url)} sent a meta.results.total of {shown_number(total)} for {endpoint}, not a count of reports; the background was not counted.")
        return total, text_or_none(meta.get("last_updated"))

    def count(self, endpoint: str, field: str, limit: int = MAX_LIMIT, search: str | None = None) -> tuple[list[tuple[str, int]], str | None]:
        """openFDA's count= endpoint: the `limit` most frequent values of a field with the
        number of records (reports) holding each, and meta.last_updated; with a search, among
        the records it finds only."""
        params = {"count": field, "limit": limit}
        if search:
            params = {"search": search, **params}
        body, _ = self.get(endpoint, params)
        if body is None:  # 404 "Nothing to count"
            return [], None
        results = body.get("results")
        if not isinstance(results, list) or any(not isinstance(r, dict) or not isinstance(r.get("term"), str) or "count" not in r for r in results):
            raise OpenFDAError(f"The server at {public_url(self.base_url)} did not send an openFDA count response for {endpoint}.")
        wrong = next((r for r in results if not is_report_count(r["count"])), None)
        if wrong is not None:
            raise OpenFDAError(
                f"The server at {public_url(self.base_url)} counted {shown_number(wrong['count'])} reports of {wrong['term']!r} on {endpoint}, not a count of reports; the background was not counted."
            )
        return [(r["term"], r["count"]) for r in results], text_or_none((body.get("meta") or {}).get("last_updated"))


def shown_number(value) -> str:
    """A value sent as a count, as a message shows it: whole numbers with separators, anything
    else as its JSON text (1e+20, "12", true), cut short if long."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = f"{value:,}"
    else:
        text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def text_or_none(value) -> str | None:
    return value if isinstance(value, str) else None


def _is_name_resolution_error(exc: BaseException) -> bool:
    text = repr(exc)
    return "NameResolutionError" in text or "Name or service not known" in text or "nodename nor servname" in text or "Temporary failure in name resolution" in text
