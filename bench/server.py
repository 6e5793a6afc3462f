"""A local server that pages the benchmark reports like openFDA: 1000 per page, the next page
named by a Link header with a search_after cursor (so past 26,000 too). Every request to
/n<REPORTS>/drug/event.json gets the first <REPORTS> reports, whatever the search.

    python bench/server.py PORT_FILE     (writes its port there, serves until killed)

A page not yet in bench/.cache is waited for (up to WAIT seconds): a test serves pages while
bench/data.py is still making the later ones.
"""

from __future__ import annotations

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from data import PAGE, page_path

WAIT = 300
META = '{{"meta":{{"disclaimer":"SYNTHETIC benchmark data","terms":"","license":"","last_updated":"2026-11-18","results":{{"skip":0,"limit":{limit},"total":{total}}}}},"results":'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        parts = urlsplit(self.path)
        prefix, _, endpoint = parts.path.lstrip("/").partition("/")
        params = dict(parse_qsl(parts.query))
        total = int(prefix[1:])
        number = int(params["search_after"].split(";")[0].split("=")[1]) + 1 if "search_after" in params else 0
        pages = (total + PAGE - 1) // PAGE
        results = wait_for(page_path(number)).read_bytes()
        if (number + 1) * PAGE > total:  # a last partial page: cut the array
            import json

            results = json.dumps(json.loads(results)[: total - number * PAGE], separators=(",", ":")).encode()
        body = META.format(limit=PAGE, total=total).encode() + results + b"}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if number + 1 < pages:
            following = {k: v for k, v in params.items() if k not in ("skip", "search_after")}
            following.update(skip=0, search_after=f"0={number};1=page{number}")
            self.send_header("Link", f'<http://{self.headers["Host"]}/{prefix}/{endpoint}?{urlencode(following)}>; rel="next"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def wait_for(path: Path) -> Path:
    give_up = time.monotonic() + WAIT
    while not path.exists() and time.monotonic() < give_up:
        time.sleep(0.05)
    return path


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Path(sys.argv[1]).write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
