"""The HTML report in a real headless browser: it renders its charts and fetches nothing.

Chromium (the Debian package: ``apt-get install -y chromium``) opens the report from a
``file://`` URL with every proxy setting pointing at a recording HTTP proxy on 127.0.0.1.
Anything the page asked for over the network would reach that proxy: the test asserts that
nothing did (beyond Chromium's own background calls to Google's update and sign-in services,
listed in ``BROWSER_SERVICE_HOSTS``, which come with any page, even a blank one). A control
page that does load remote resources proves that the proxy sees them.

The screenshot (1280×2400) is decoded with the standard library (``zlib``) and must show the
chart colours. Set ``CSM_BROWSER_ARTIFACTS=/some/folder`` to keep the screenshot and page.

Skipped, saying why, when no Chromium is installed. ``CSM_CHROMIUM`` names another binary.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socketserver
import struct
import subprocess
import threading
import zlib
from collections import Counter
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import csmetrics as csm
from csmetrics.report.charts import PALETTE
from csmetrics.report.summary import Report

WIDTH, HEIGHT = 1280, 2400

# Hosts Chromium itself calls (component and extension updates, network time, sign-in), with
# or without a page; a report never names them (test_html checks the page has no URL at all).
BROWSER_SERVICE_HOSTS = frozenset(
    {
        "update.googleapis.com",
        "accounts.google.com",
        "clients1.google.com",
        "clients2.google.com",
        "clientservices.googleapis.com",
        "optimizationguide-pa.googleapis.com",
        "safebrowsing.googleapis.com",
        "content-autofill.googleapis.com",
        "www.google.com",  # Chromium 150's connectivity checks, on a blank page too
    }
)


def _chromium() -> str | None:
    configured = os.environ.get("CSM_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium not found: install it (Debian: apt-get install -y chromium) or set "
    "CSM_CHROMIUM to run the headless-browser test of the HTML report",
)


class _Recorder(socketserver.StreamRequestHandler):
    """Records the request line of every connection and answers 502: nothing is fetched."""

    requests: list[str]

    def handle(self) -> None:
        line = self.rfile.readline(65536).decode("latin-1").strip()
        if line:
            self.server.requests.append(line)  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")


class _Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.requests: list[str] = []


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    server = _Proxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _host(request_line: str) -> str:
    target = request_line.split(" ")[1] if " " in request_line else request_line
    if request_line.startswith("CONNECT "):
        return target.rsplit(":", 1)[0]
    return urlsplit(target).hostname or target


def page_requests(proxy: _Proxy) -> list[str]:
    """The requests the proxy saw, without Chromium's own background calls."""
    return [r for r in proxy.requests if _host(r) not in BROWSER_SERVICE_HOSTS]


def screenshot(
    page: Path, png: Path, proxy: _Proxy, profile: Path
) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    address = f"127.0.0.1:{proxy.server_address[1]}"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--proxy-server=http://{address}",
        "--proxy-bypass-list=<-loopback>",  # send even 127.0.0.1 and localhost to the proxy
        f"--screenshot={png}",
        f"--window-size={WIDTH},{HEIGHT}",
        page.resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert png.exists(), f"Chromium wrote no screenshot; stderr: {result.stderr[-2000:]}"
    return result


def _unfilter(kind: int, line: bytes, prev: bytearray, bpp: int) -> bytearray:
    """One scan line of a PNG without its filter (PNG spec §9)."""
    size = len(line)
    if kind == 0:
        return bytearray(line)
    if kind == 2:  # up: byte-wise sum with the line above, via 0x7f/0x80 masks on big ints
        low = int.from_bytes(b"\x7f" * size, "big")
        a, b = int.from_bytes(line, "big"), int.from_bytes(prev, "big")
        return bytearray((((a & low) + (b & low)) ^ ((a ^ b) & ~low)).to_bytes(size, "big"))
    out = bytearray(line)
    if kind == 1:  # sub: running sums per channel
        for channel in range(bpp):
            out[channel::bpp] = bytes(map((255).__and__, accumulate(line[channel::bpp])))
        return out
    if kind == 3:  # average
        for i in range(size):
            left = out[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + ((left + prev[i]) >> 1)) & 255
        return out
    for i in range(size):  # paeth
        b = prev[i]
        if i < bpp:
            out[i] = (out[i] + b) & 255
            continue
        c = prev[i - bpp]
        a = out[i - bpp]
        if b == c:  # the common flat case: the predictor is the left byte
            out[i] = (out[i] + a) & 255
            continue
        pa, pb = abs(b - c), abs(a - c)
        pc = abs(a + b - 2 * c)
        predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        out[i] = (out[i] + predictor) & 255
    return out


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB pixel rows of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks = 8, []
    width = height = bpp = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8, depth
            assert color in (2, 6), color
            assert interlace == 0, interlace
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        prev = _unfilter(raw[start], raw[start + 1 : start + 1 + stride], prev, bpp)
        rgb = bytes(prev) if bpp == 3 else b"".join(prev[i : i + 3] for i in range(0, stride, 4))
        rows.append(rgb)
    return width, height, rows


def colour_counts(rows: list[bytes]) -> Counter[bytes]:
    counts: Counter[bytes] = Counter()
    for row in rows:
        counts.update(row[i : i + 3] for i in range(0, len(row), 3))
    return counts


def test_png_reader_round_trip() -> None:
    # a 3×2 image, one scan line per filter type the reader handles fast (none, up)
    pixels = [bytes([255, 0, 0, 0, 255, 0, 0, 0, 255]), bytes([1, 2, 3, 4, 5, 6, 7, 8, 9])]
    up = bytes((b - a) & 255 for a, b in zip(pixels[0], pixels[1], strict=True))
    raw = b"\x00" + pixels[0] + b"\x02" + up

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    assert read_png(data) == (3, 2, pixels)


def test_paeth_and_sub_filters() -> None:
    prev = bytearray([10, 20, 30, 40, 50, 60])
    line = bytes([1, 2, 3, 4, 5, 6])
    # sub, bpp 3: 1,2,3 then 4+1, 5+2, 6+3
    assert _unfilter(1, line, prev, 3) == bytearray([1, 2, 3, 5, 7, 9])
    # paeth: the first pixel's predictor is the byte above (a = c = 0): 11, 22, 33; then
    # a=11, b=40, c=10: p = 41, |p-a|=30, |p-b|=1, |p-c|=31 -> b: 4+40 = 44 (and so on)
    assert _unfilter(4, line, prev, 3) == bytearray([11, 22, 33, 44, 55, 66])


def test_control_page_requests_reach_the_proxy(tmp_path: Path, proxy: _Proxy) -> None:
    # the check below is only worth something if a page that loads remote files is caught
    page = tmp_path / "control.html"
    page.write_text(
        '<!DOCTYPE html><html><head><link rel="stylesheet" href="https://fonts.example.test/a.css">'
        '</head><body><img src="http://images.example.test/x.png"><p>control</p></body></html>',
        encoding="utf-8",
    )
    screenshot(page, tmp_path / "control.png", proxy, tmp_path / "profile")
    hosts = {_host(r) for r in page_requests(proxy)}
    assert {"fonts.example.test", "images.example.test"} <= hosts, proxy.requests


def test_report_renders_its_charts_offline(tmp_path: Path, proxy: _Proxy) -> None:
    page = tmp_path / "report.html"
    Report(csm.datasets.sample_log()).to_html(page)
    png = tmp_path / "report.png"
    screenshot(page, png, proxy, tmp_path / "profile")

    # no request left the page: only Chromium's own service calls, if any, reached the proxy
    assert page_requests(proxy) == []

    width, height, rows = read_png(png.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    counts = colour_counts(rows)
    white = counts[b"\xff\xff\xff"]
    assert white < 0.97 * width * height, "the page looks blank"
    assert len(counts) > 500, "too few colours for tables and charts"
    # the charts: every channel colour of the box plots and lines is drawn, solid
    for colour in PALETTE[:7]:
        assert counts[bytes.fromhex(colour[1:])] > 100, f"chart colour {colour} not on screen"

    keep = os.environ.get("CSM_BROWSER_ARTIFACTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / "report.png")
        shutil.copy(page, Path(keep) / "report.html")


def test_report_with_85_teams_has_a_complete_legend_in_distinct_colours(
    tmp_path: Path, proxy: _Proxy
) -> None:
    # issue 18: with 80 teams legends were cut after about 13 names and colours repeated
    from csmetrics.report._data import OTHER_LABEL, TOP_GROUPS
    from csmetrics.report.charts import OTHER_COLOR

    from .many_groups import many_teams_frame

    report = Report(many_teams_frame(), by="team", period="week")
    page = tmp_path / "teams.html"
    report.to_html(page)
    data = report.collect()
    assert data.chart_groups[-1] == OTHER_LABEL
    assert len(data.chart_groups) == TOP_GROUPS + 1

    png = tmp_path / "teams.png"
    screenshot(page, png, proxy, tmp_path / "profile")
    assert page_requests(proxy) == []
    width, height, rows = read_png(png.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    counts = colour_counts(rows)

    # the legend: top N and (other), each in its own colour, drawn on screen
    colours = [*PALETTE[:TOP_GROUPS], OTHER_COLOR]
    assert len(set(colours)) == TOP_GROUPS + 1
    for colour in colours:
        assert counts[bytes.fromhex(colour[1:])] > 100, f"legend colour {colour} not on screen"
    # every legend entry of the volume chart is drawn inside the chart: find each swatch
    html = page.read_text(encoding="utf-8")
    over_time = html.split('id="over-time"')[1].split("</figure>")[0]
    swatches = [
        (float(y), fill)
        for y, fill in re.findall(
            r'<rect class="legend" x="[^"]+" y="([^"]+)" width="12" height="3" fill="([^"]+)"',
            over_time,
        )
    ]
    chart_height = float(re.search(r'<svg [^>]*height="([^"]+)"', over_time)[1])
    assert [fill for _, fill in swatches] == colours
    assert all(y < chart_height for y, _ in swatches)
    # and no colour stands for two series in that chart
    strokes = re.findall(r'<polyline [^>]*stroke="([^"]+)"', over_time)
    assert set(strokes) == set(colours)

    keep = os.environ.get("CSM_BROWSER_ARTIFACTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / "teams.png")
        shutil.copy(page, Path(keep) / "teams.html")
