"""The openFDA client: pacing, retries, errors and paging, on cassettes and a local fake server."""

import time

import pytest
import requests

import synthetic
from fake_openfda import FakeOpenFDA, real_error
from kratom_ae.ingest.openfda import OpenFDAClient, OpenFDAError, Pacer, next_params, public_url, retry_after_seconds

SEARCH = "patient.drug.medicinalproduct:*kratom* OR patient.drug.activesubstance.activesubstancename:*kratom* OR patient.drug.openfda.brand_name:*kratom* OR patient.drug.openfda.generic_name:*kratom* OR patient.drug.openfda.substance_name:*kratom*"


def records(client, endpoint="drug/event", search=SEARCH):
    return [r for page in client.search(endpoint, search) for r in page.results]


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_pacer_spaces_requests_a_quarter_second_apart():
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.wait()  # first request: no wait
    clock.now += 0.1  # the request took 0.1 s
    pacer.wait()
    pacer.wait()
    assert clock.sleeps == [pytest.approx(0.15), pytest.approx(0.25)]


def test_240_requests_take_at_least_a_minute_without_bursts():
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(241):
        pacer.wait()
    assert clock.now - start == pytest.approx(60.0)


@pytest.mark.parametrize("value,seconds", [("1", 1.0), ("120", 120.0), (None, None), ("soon", None), ("Wed, 25 Nov 2026 13:00:10 GMT", 10.0)])
def test_retry_after(value, seconds):
    import email.utils

    now = email.utils.parsedate_to_datetime("Wed, 25 Nov 2026 13:00:00 GMT").timestamp()
    assert retry_after_seconds(value, now=now) == seconds


def response_with_link(link: str) -> requests.Response:
    response = requests.Response()
    response.headers["Link"] = link
    return response


def test_next_link_drops_skip_beside_search_after_and_any_key():
    link = '<https://api.fda.gov/drug/event.json?search=x%3Ay&limit=100&sort=receivedate%3Aasc&skip=0&search_after=0%3D1068076800000%3B1%3Dsafetyreport%25234022687&api_key=SECRET>; rel="Next"'
    assert next_params(response_with_link(link)) == {"search": "x:y", "limit": "100", "sort": "receivedate:asc", "search_after": "0=1068076800000;1=safetyreport%234022687"}


def test_next_link_with_plain_skip_is_kept():
    assert next_params(response_with_link('<http://h/drug/event.json?search=a&limit=10&skip=20>; rel="next"')) == {"search": "a", "limit": "10", "skip": "20"}
    assert next_params(requests.Response()) is None


def test_public_url_hides_credentials():
    assert public_url("https://user:pw@mirror.example.org:8443/openfda/?api_key=x") == "https://mirror.example.org:8443/openfda"


def test_bad_base_url_and_page_size():
    with pytest.raises(OpenFDAError.__mro__[1], match="must start with http:// or https://"):
        OpenFDAClient("ftp://example.org")
    with pytest.raises(OpenFDAError.__mro__[1], match="page size must be between 1 and 1000"):
        OpenFDAClient(page_size=5000)


# ---- recorded cassettes -------------------------------------------------------------------

def test_429_is_retried_after_retry_after(replay, sleeps):
    client = OpenFDAClient(pacer=Pacer(0))
    with replay("synthetic_429_then_ok"):
        assert len(records(client)) == 5
    assert client.requests_sent == 2
    assert sleeps == [1.0]  # the Retry-After header, not the backoff


def test_500_is_retried_with_backoff(replay, sleeps):
    client = OpenFDAClient(pacer=Pacer(0), backoff=1.5)
    with replay("synthetic_500_then_ok"):
        assert len(records(client)) == 5
    assert sleeps == [1.5]


def test_invalid_json_is_retried(replay, sleeps):
    client = OpenFDAClient(pacer=Pacer(0))
    with replay("synthetic_badjson_then_ok"):
        assert len(records(client)) == 5
    assert client.requests_sent == 2


def test_retries_are_bounded_and_then_fail_in_one_sentence(replay, sleeps):
    client = OpenFDAClient(pacer=Pacer(0), max_retries=5)
    with replay("synthetic_429_exhausted"), pytest.raises(OpenFDAError) as caught:
        records(client)
    assert str(caught.value) == "openFDA at https://api.fda.gov answered HTTP 429 OVER_RATE_LIMIT, and still did after 6 attempts; the fetch was abandoned."
    assert sleeps == [1.0] * 5


def test_rejected_key_is_not_retried(replay):
    client = OpenFDAClient(api_key="WRONG-KEY", pacer=Pacer(0))
    with replay("synthetic_403_key_rejected"), pytest.raises(OpenFDAError) as caught:
        records(client)
    assert str(caught.value) == "openFDA rejected the API key (HTTP 403 API_KEY_INVALID); check --api-key or OPENFDA_API_KEY."
    assert "WRONG-KEY" not in str(caught.value)
    assert client.requests_sent == 1


def test_no_matches_is_an_empty_result(replay):
    client = OpenFDAClient(pacer=Pacer(0))
    search = SEARCH.replace("kratom", "krattom")
    with replay("synthetic_fetch_all"):
        pages = list(client.search("drug/event", search))
    assert [(p.total, p.count, p.last_updated) for p in pages] == [(0, 0, None)]


def test_several_pages_follow_the_link_header(replay):
    client = OpenFDAClient(pacer=Pacer(0))
    with replay("synthetic_fetch_all"):
        pages = list(client.search("drug/event", SEARCH))
    total = len(synthetic.search_hits(synthetic.fixture_dataset()[0], SEARCH))
    assert total > 1000
    assert [(p.number, len(p.results), p.total) for p in pages] == [(1, 1000, total), (2, total - 1000, total)]
    assert pages[0].last_updated == synthetic.LAST_UPDATED


# ---- a live local server ------------------------------------------------------------------

def small(n=5):
    import random

    rng = random.Random(2)
    return [synthetic.faers_record(rng, str(40_000_000 + i), "KRATOM") for i in range(n)]


def test_dropped_connection_is_retried():
    with FakeOpenFDA(small()) as server:
        server.faults = [("drop",)]
        client = OpenFDAClient(server.url, pacer=Pacer(0))
        assert len(records(client)) == 5
        assert len(server.requests) == 2


def test_timeout_is_retried(capsys):
    with FakeOpenFDA(small()) as server:
        server.faults = [("sleep", 1.0)]
        client = OpenFDAClient(server.url, pacer=Pacer(0), timeout=(2.0, 0.3))
        assert len(records(client)) == 5
        assert len(server.requests) == 2
        time.sleep(1.0)  # the first handler wakes and writes to the socket the client gave up on
    # ...and says nothing: a server thread's traceback would land in another test's captured output
    assert capsys.readouterr().err == ""


def test_unreachable_server_fails_in_one_sentence():
    with FakeOpenFDA([]) as server:
        url = server.url
    client = OpenFDAClient(url, pacer=Pacer(0), max_retries=2)
    with pytest.raises(OpenFDAError) as caught:
        records(client)
    assert str(caught.value) == f"Cannot reach openFDA at {url}: the connection failed, and still did after 3 attempts; the fetch was abandoned."


def test_wrong_path_is_not_mistaken_for_no_matches():
    with FakeOpenFDA(small()) as server:
        client = OpenFDAClient(server.url + "/nothing-here", pacer=Pacer(0))
        with pytest.raises(OpenFDAError, match=r"has no openFDA endpoint drug/event \(HTTP 404\); check --base-url"):
            records(client)


def test_bad_request_message_is_passed_on():
    with FakeOpenFDA(small()) as server:
        server.faults = [("status", 400, b'{"error":{"code":"BAD_REQUEST","message":"Invalid parameter: foo"}}', {})]
        client = OpenFDAClient(server.url, pacer=Pacer(0))
        with pytest.raises(OpenFDAError) as caught:
            records(client)
    assert str(caught.value) == "openFDA rejected the request to drug/event (HTTP 400): Invalid parameter: foo."


def test_key_travels_as_basic_auth_never_in_the_url():
    with FakeOpenFDA(small()) as server:
        records(OpenFDAClient(server.url, api_key="SECRET-KEY-123", pacer=Pacer(0)))
        request = server.requests[0]
    assert "SECRET" not in request["raw_query"]
    assert request["headers"]["Authorization"].startswith("Basic ")


def test_more_than_26000_matches_come_back_whole_through_search_after():
    import random

    rng = random.Random(1)
    many = [synthetic.faers_record(rng, str(50_000_000 + i), "KRATOM", extra_drugs=0) for i in range(27_500)]
    with FakeOpenFDA(many) as server:
        client = OpenFDAClient(server.url, pacer=Pacer(0))
        got = records(client)
        sent = [r["params"] for r in server.requests]
    assert len(got) == 27_500
    assert len({r["safetyreportid"] for r in got}) == 27_500
    assert len(sent) == 28
    assert all(not ("skip" in p and "search_after" in p) for p in sent)
    assert all("search_after" in p for p in sent[1:])


def test_server_without_link_header_is_paged_with_skip(monkeypatch):
    # A mirror that sends no Link header: skip paging, which stops at openFDA's 25,000 limit.
    monkeypatch.setattr("kratom_ae.ingest.openfda.next_params", lambda response: None)
    with FakeOpenFDA(small(25)) as server:
        client = OpenFDAClient(server.url, pacer=Pacer(0), page_size=10)
        assert len(records(client)) == 25
        assert [r["params"].get("skip") for r in server.requests] == [None, "10", "20"]


def test_retries_are_paced_too():
    clock = FakeClock()
    with FakeOpenFDA(small()) as server:
        server.faults = [real_error("error-500_SERVER_ERROR_food-enforcement-bad-date_FDA-openfda-issue56.json", 500)]
        client = OpenFDAClient(server.url, pacer=Pacer(clock=clock, sleep=clock.sleep), sleep=clock.sleep)
        records(client)
    assert client.requests_sent == 2
    assert clock.sleeps == [1.0]  # the backoff already spaces the retry beyond 0.25 s


# ---- sessions are closed -----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["fetch", "bulk download"])
def test_a_command_closes_every_session_it_opens_with_resource_warnings_as_errors(tmp_path, monkeypatch, command):
    """The command's requests session was left to the garbage collector, its connections open
    until then (a ResourceWarning at exit). Run in-process with ResourceWarning an error (one
    raised where the garbage collector closes a socket is an unraisable exception, collected
    here): no warning, and every session the command opened is closed when it returns."""
    import gc
    import random
    import sys
    import warnings

    from typer.testing import CliRunner

    from fake_bulk import FakeBulk
    from kratom_ae.cli.main import app

    opened, closed, unraisable = [], [], []
    real_init, real_close = requests.Session.__init__, requests.Session.close

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        opened.append(self)

    def close(self):
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(requests.Session, "__init__", init)
    monkeypatch.setattr(requests.Session, "close", close)
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    rng = random.Random(3)
    faers = [synthetic.faers_record(rng, str(15_500_000 + i), "KRATOM", era="faers") for i in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        if command == "fetch":
            with FakeOpenFDA(faers, []) as server:
                result = CliRunner().invoke(app, ["fetch", "--db", str(tmp_path / "db.duckdb"), "--source", "faers", "--base-url", server.url, "--requests-per-minute", "0", "--quiet"])
        else:
            with FakeBulk({"faers": [faers]}) as server:
                result = CliRunner().invoke(app, ["bulk", "download", str(tmp_path / "cache"), "--listing-url", server.listing_url, "--source", "faers", "--quiet"])
        assert result.exit_code == 0, result.output
        assert len(opened) == 1 and closed == opened  # closed by the command, not found open later
        del result
        gc.collect()
    assert [u.exc_value for u in unraisable] == []


def test_a_client_closes_the_session_it_made_and_not_one_it_was_given(monkeypatch):
    closed = []
    monkeypatch.setattr(requests.Session, "close", lambda self: closed.append(self))
    given = requests.Session()
    with OpenFDAClient("http://127.0.0.1:9", session=given) as client:
        assert client.session is given
    with OpenFDAClient("http://127.0.0.1:9") as client:
        made = client.session
    with OpenFDAClient("http://127.0.0.1:9"):
        pass  # no request sent: no session made, none closed
    assert closed == [made]
