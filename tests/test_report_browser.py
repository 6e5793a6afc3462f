"""report.html in a real browser: headless Chromium (Debian's package) loads it with no network
request and no console error, and its screenshot is not blank. The same screenshot is the
README's docs/report.png (`make screenshot` writes it there)."""

import io
import os
from pathlib import Path

import pytest
from PIL import Image

import browser

DOCS_SCREENSHOT = Path(__file__).parents[1] / "docs" / "report.png"

pytestmark = pytest.mark.skipif(
    browser.chromium() is None and not os.environ.get("CI"),
    reason="no chromium (apt-get install chromium; .ci/run installs it, and CI fails without it)",
)


def short(urls):
    return [u[:80] for u in urls]


def test_the_watcher_sees_requests_and_console_errors(tmp_path):
    """The checks below can fail: a page that asks the network and logs an error is caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body><img src="http://127.0.0.1:9/x.png">'
        '<script>console.error("broken")</script></body></html>',
        encoding="utf-8",
    )
    seen = browser.open_page(page, width=400, height=300)
    assert seen.loaded
    assert "http://127.0.0.1:9/x.png" in seen.requests
    assert any("broken" in e for e in seen.errors)


def test_report_opens_offline_with_no_request_and_no_error(report_dir):
    page = report_dir / "report.html"
    seen = browser.open_page(page, width=1200, height=1400)
    assert seen.loaded
    assert [u for u in seen.requests if u != page.resolve().as_uri() and not u.startswith("data:")] == [], short(seen.requests)
    assert seen.errors == []
    with Image.open(io.BytesIO(seen.screenshot)) as image:
        assert image.size == (1200, 1400)
        colours = image.convert("RGB").getcolors(1 << 24)
    # A blank (or error) page has a handful of colours; text and figures have hundreds.
    assert len(colours) > 300
    assert max(count for count, _ in colours) < 0.95 * 1200 * 1400
    if os.environ.get("KRATOM_AE_UPDATE_SCREENSHOT"):  # make screenshot
        with Image.open(io.BytesIO(seen.screenshot)) as image:
            image.convert("RGB").quantize(256).save(DOCS_SCREENSHOT, optimize=True)
