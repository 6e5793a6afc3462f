"""Open a local page in headless Chromium (Debian's `chromium`) and watch it through the
DevTools protocol: every request the page makes, every console error and uncaught exception,
and a screenshot. For the report test; websocket-client is the only dependency.

    page = open_page(Path("report.html"), width=1200, height=1400)
    page.requests, page.errors, page.screenshot (PNG bytes)
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps", "--mute-audio",
    "--hide-scrollbars", "--remote-debugging-port=0",
]


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class Page:
    requests: list[str] = field(default_factory=list)  # URL of every request the page sent
    errors: list[str] = field(default_factory=list)  # console errors, exceptions, error log entries
    screenshot: bytes = b""
    loaded: bool = False


class DevTools:
    """A flat-session DevTools connection: commands wait for their answer; events received
    meanwhile are handed to on_event."""

    def __init__(self, url: str, on_event):
        import websocket

        self.socket = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.ids = itertools.count(1)
        self.on_event = on_event

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        message_id = next(self.ids)
        message = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = self.receive()
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def receive(self) -> dict:
        reply = json.loads(self.socket.recv())
        if "method" in reply:
            self.on_event(reply)
        return reply

    def wait_for(self, method: str, deadline: float) -> bool:
        seen = []
        previous = self.on_event

        def watch(event):
            previous(event)
            if event["method"] == method:
                seen.append(event)

        self.on_event = watch
        try:
            while not seen and time.monotonic() < deadline:
                self.socket.settimeout(max(0.1, deadline - time.monotonic()))
                self.receive()
        finally:
            self.on_event = previous
        return bool(seen)

    def drain(self, seconds: float) -> None:
        """Read events for a moment more: a late request or error still gets counted."""
        import websocket

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.socket.settimeout(max(0.05, end - time.monotonic()))
            try:
                self.receive()
            except websocket.WebSocketTimeoutException:
                break


def devtools_url(profile: Path, process: subprocess.Popen, deadline: float) -> str:
    """Chromium writes its DevTools port and browser path into the profile once it listens."""
    marker = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with code {process.returncode}: {process.stderr.read().decode(errors='replace')[-2000:]}")
        if marker.exists():
            lines = marker.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.1)
    raise RuntimeError("chromium did not open its DevTools port in time")


def open_page(path: Path, width: int = 1200, height: int = 1400, timeout: float = 90) -> Page:
    page = Page()
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="kratom-ae-chromium-") as profile:
        process = subprocess.Popen([chromium(), *FLAGS, f"--user-data-dir={profile}", "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            session = {}

            def on_event(event):
                if event.get("sessionId") != session.get("id"):
                    return
                method, params = event["method"], event.get("params", {})
                if method == "Network.requestWillBeSent":
                    page.requests.append(params["request"]["url"])
                elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                    page.errors.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
                elif method == "Runtime.exceptionThrown":
                    page.errors.append("exception: " + params["exceptionDetails"].get("text", ""))
                elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                    page.errors.append("log: " + params["entry"].get("text", ""))

            tools = DevTools(devtools_url(Path(profile), process, deadline), on_event)
            target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session["id"] = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Network", "Runtime", "Log", "Page"):
                tools.send(f"{domain}.enable", session=session["id"])
            tools.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session["id"])
            tools.send("Page.navigate", {"url": Path(path).resolve().as_uri()}, session=session["id"])
            page.loaded = tools.wait_for("Page.loadEventFired", deadline)
            tools.drain(1.0)
            shot = tools.send("Page.captureScreenshot", {"format": "png"}, session=session["id"])
            page.screenshot = base64.b64decode(shot["data"])
            try:
                tools.send("Browser.close")
            except Exception:  # the browser may close the socket before it answers
                pass
        finally:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return page


if __name__ == "__main__":  # python tests/browser.py PAGE.html OUT.png
    import sys

    result = open_page(Path(sys.argv[1]))
    Path(sys.argv[2]).write_bytes(result.screenshot)
    print(json.dumps({"loaded": result.loaded, "requests": result.requests, "errors": result.errors}, indent=1))
    os._exit(0)
