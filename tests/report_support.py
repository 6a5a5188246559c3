"""Helpers for the report tests: a strict well-formedness check on top of
html.parser, the page's external references, and a small PNG reader (zlib and
struct only) to tell a rendered screenshot from a blank one."""

from __future__ import annotations

import re
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "source", "wbr"}
# Inline SVG elements the template closes with "/>".
SELF_CLOSING_SVG = {"rect", "line", "circle", "polygon", "path"}
EXTERNAL = re.compile(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|https?:", re.I)


class WellFormed(HTMLParser):
    """Fails on a close tag that does not match the open one, and on tags left open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID | SELF_CLOSING_SVG:
            self.problems.append(f"<{tag}/> is not a void element")

    def handle_endtag(self, tag):
        if tag in VOID:
            self.problems.append(f"</{tag}> closes a void element")
        elif not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> while {self.stack[-1:]} is open")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse_page(html: str) -> WellFormed:
    """Parse the page; assert it is well formed; return the parser (tags, text)."""
    assert html.startswith("<!DOCTYPE html>")
    parser = WellFormed()
    parser.feed(html)
    parser.close()
    assert parser.problems == [], parser.problems[:5]
    assert parser.stack == [], f"left open: {parser.stack}"
    return parser


def external_references(html: str, parser: WellFormed) -> list[str]:
    """Anything that could make a browser fetch: URLs in the text or attributes,
    scripts, stylesheets, images, frames."""
    found = [m.group(0) for m in EXTERNAL.finditer(html)]
    for tag, attrs in parser.tags:
        if tag in ("script", "link", "img", "iframe", "object", "embed"):
            found.append(f"<{tag}>")
        found += [f"{tag}[{k}]={v}" for k, v in attrs.items() if k in ("src", "href")]
    return found


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, idat, header = 8, b"", None
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    return width, height, _unfilter(zlib.decompress(idat), width, 4 if colour == 6 else 3, height)


def _unfilter(raw: bytes, width: int, channels: int, height: int) -> list[bytes]:
    stride, rows, previous = width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            line[i] = (line[i] + _predict(kind, left, up, corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return rows


def _predict(kind: int, left: int, up: int, corner: int) -> int:
    if kind == 0:
        return 0
    if kind == 1:
        return left
    if kind == 2:
        return up
    if kind == 3:
        return (left + up) // 2
    estimate = left + up - corner
    pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
    return left if pa <= pb and pa <= pc else (up if pb <= pc else corner)


def luminance_stats(path: Path, step: int = 4) -> tuple[float, int]:
    """(variance of the grey level, number of distinct colours) over a grid of pixels."""
    width, _, rows = png_pixels(path)
    channels = len(rows[0]) // width
    greys, colours = [], set()
    for row in rows[::step]:
        for x in range(0, width, step):
            r, g, b = row[x * channels : x * channels + 3]
            greys.append((299 * r + 587 * g + 114 * b) / 1000)
            colours.add((r, g, b))
    mean = sum(greys) / len(greys)
    return sum((v - mean) ** 2 for v in greys) / len(greys), len(colours)
