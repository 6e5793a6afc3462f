"""The one vcrpy configuration used to record and to replay cassettes.

* The API key is removed twice over: the Authorization header (where the client sends it)
  is dropped, and an api_key query parameter, should one ever be sent, is filtered out.
* Requests are matched on method, host, path and the whole query, so a change in what the
  client sends (search string, limit, cursor) fails loudly instead of replaying silently.
* Recording against the local fake server stores the requests as if sent to api.fda.gov,
  which is where the client sends them by default.
"""

from __future__ import annotations

from pathlib import Path

import vcr

CASSETTES = Path(__file__).parent / "cassettes"
OPENFDA = "https://api.fda.gov"
DROP_RESPONSE_HEADERS = {"date", "server", "connection", "keep-alive"}


def make_vcr(record_mode: str = "none", rewrite_from: str | None = None) -> vcr.VCR:
    def before_record_request(request):
        if rewrite_from and request.uri.startswith(rewrite_from):
            request.uri = OPENFDA + request.uri[len(rewrite_from) :]
        return request

    def before_record_response(response):
        response["headers"] = {k: v for k, v in response["headers"].items() if k.lower() not in DROP_RESPONSE_HEADERS}
        return response

    return vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        serializer="json",
        record_mode=record_mode,
        match_on=["method", "scheme", "host", "port", "path", "query"],
        filter_headers=["authorization"],
        filter_query_parameters=["api_key"],
        before_record_request=before_record_request,
        before_record_response=before_record_response,
        decode_compressed_response=True,
    )
