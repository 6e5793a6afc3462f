"""A local HTTP server that answers like openFDA (see synthetic.respond), for tests, for
recording the synthetic cassettes and for benchmarks. Binds to 127.0.0.1 only.

Faults can be queued to test the client's error handling: each request takes the next one
(None: answer normally).
    ("status", 429, body_bytes, {"Retry-After": "1"})   send this response instead
    ("drop",)                                            close the connection, no response
    ("sleep", 2.0)                                       wait, then answer normally
    ("badjson",)                                         200 with a cut-off JSON body
    ("gzip", gzip_bytes)                                 200 with Content-Encoding: gzip and this body
    ("drip", 0.2, 3.0)                                   the answer's body a byte every 0.2 s, for 3 s at most
    ("drip_headers", 0.2, 3.0)                           the same from the status line on
    ("link", {"search": ..., "search_after": ...})      answer normally, with a Link to this query instead
    ("total", 3)                                         answer normally, but say meta.results.total is 3
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import synthetic


class _QuietServer(ThreadingHTTPServer):
    """Tests time out and drop connections on purpose; the server then writes to a closed
    socket. The default handle_error prints that traceback to sys.stderr from a server thread,
    where it lands in whatever output the test running at that moment is capturing."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # broken pipe, reset, aborted
            super().handle_error(request, client_address)


class LocalServer:
    """A fake server on 127.0.0.1 (port chosen by the system) in a thread of its own, used as
    `with Fake(...) as server:`; a subclass gives _handler() and calls _listen() in __init__."""

    def _listen(self) -> None:
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


class FakeOpenFDA(LocalServer):
    def __init__(self, faers: list[dict] | None = None, caers: list[dict] | None = None, *, gateway_links: bool = False, disclaimer: str | None = None):
        self.data = {"/drug/event.json": faers or [], "/food/event.json": caers or []}
        self.gateway_links = gateway_links
        self.disclaimer = disclaimer  # meta.disclaimer of search pages; None: the synthetic one
        self.faults: list[tuple] = []
        self.cache: dict = {}
        self.requests: list[dict] = []
        self._listen()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                params = dict(parse_qsl(parts.query, keep_blank_values=True))
                fake.requests.append({"path": parts.path, "params": params, "headers": dict(self.headers), "raw_query": parts.query, "time": time.monotonic()})
                fault = fake.faults.pop(0) if fake.faults else None
                if fault and fault[0] == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault and fault[0] == "sleep":
                    time.sleep(fault[1])
                if fault and fault[0] == "status":
                    return self._send(fault[1], {"Content-Type": "application/json", **fault[3]}, fault[2])
                if fault and fault[0] == "gzip":
                    return self._send(200, {"Content-Type": "application/json", "Content-Encoding": "gzip"}, fault[1])
                if parts.path not in fake.data:
                    return self._send(404, {"Content-Type": "text/html"}, b"<html>Not Found</html>")
                link_base = "https://api.fda.gov" if fake.gateway_links else fake.url
                extra = {"disclaimer": fake.disclaimer} if fake.disclaimer else {}
                status, headers, body = synthetic.respond(fake.data[parts.path], parts.path, params, link_base, cache=fake.cache, **extra)
                if fault and fault[0] == "badjson":
                    status, body = 200, body[: len(body) // 2]
                if fault and fault[0] == "link":
                    headers = {**headers, "Link": f'<{fake.url}{parts.path}?{urlencode(fault[1])}>; rel="next"'}
                if fault and fault[0] == "total":
                    page = json.loads(body)
                    page["meta"]["results"]["total"] = fault[1]
                    body = json.dumps(page).encode()
                if fault and fault[0] in ("drip", "drip_headers"):
                    return self._drip(status, headers, body, *fault)
                self._send(status, headers, body)

            def _send(self, status, headers, body):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _drip(self, status, headers, body, kind, interval, longest):
                """A byte at a time, each well within any read timeout, then hang up."""
                head = f"HTTP/1.1 {status} OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in {**headers, "Content-Length": len(body)}.items()) + "\r\n"
                if kind == "drip":
                    self.wfile.write(head.encode())
                    self.wfile.flush()
                    rest = body
                else:
                    rest = head.encode() + body
                stop = time.monotonic() + longest
                for i in range(len(rest)):
                    if time.monotonic() > stop:
                        break
                    self.wfile.write(rest[i : i + 1])
                    self.wfile.flush()
                    time.sleep(interval)
                self.close_connection = True

        return Handler


def real_error(name: str, status: int, headers: dict | None = None) -> tuple:
    """A fault that answers with one of the real archived openFDA error bodies, verbatim."""
    return ("status", status, synthetic.real_body(name), headers or {})


if __name__ == "__main__":  # serve the synthetic fixture dataset by hand: python tests/fake_openfda.py
    faers, caers = synthetic.fixture_dataset()
    with FakeOpenFDA(faers, caers) as server:
        print(f"fake openFDA at {server.url} (SYNTHETIC data); Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
