"""``complaint-bot teams-package``: the app package Teams accepts (manifest with the
bot's app id, a 192x192 colour icon and a 32x32 white-on-transparent outline icon)."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

from tests.support.cli import run, write_config

APP_ID = "8b5f3c2e-0000-4000-8000-00000000b07a"
TEAMS = f'''kind = "teams"
app_id = "{APP_ID}"
tenant_id = "4a1f0e7d-0000-4000-8000-000000000a07"
triage_channel = "19:triage@thread.tacv2"
'''


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the RGBA pixels of an 8-bit RGBA PNG written without filters."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (8, 6)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + 4 * width
    pixels = [
        raw[y * stride + 1 + 4 * x : y * stride + 5 + 4 * x]
        for y in range(height)
        for x in range(width)
    ]
    return width, height, pixels


def test_the_package_holds_the_manifest_and_both_icons(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path, db_url).read_text().replace('kind = "console"', TEAMS)
    (tmp_path / "config.toml").write_text(cfg)
    out = tmp_path / "dist" / "teams-app.zip"
    ran = run(tmp_path / "config.toml", "teams-package", "--out", str(out), "--version", "1.2.0")
    assert APP_ID in ran.stdout
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(z.read("manifest.json"))
        color = read_png(z.read("color.png"))
        outline = read_png(z.read("outline.png"))
    assert manifest["id"] == APP_ID and manifest["bots"][0]["botId"] == APP_ID
    assert manifest["version"] == "1.2.0"
    assert {"team", "personal"} <= set(manifest["bots"][0]["scopes"])
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert manifest["developer"]["privacyUrl"].startswith("https://")
    assert color[:2] == (192, 192) and len({p for p in color[2]}) > 2
    assert all(p[3] == 255 for p in color[2])  # the colour icon is opaque
    assert outline[:2] == (32, 32)
    assert {p[:3] for p in outline[2] if p[3]} == {b"\xff\xff\xff"}  # white, else clear
    assert any(p[3] == 0 for p in outline[2]) and any(p[3] == 255 for p in outline[2])


def test_without_an_app_id_it_says_what_is_missing(tmp_path: Path, db_url: str) -> None:
    ran = run(write_config(tmp_path, db_url), "teams-package", check=False)
    assert ran.returncode == 2
    assert "app_id" in ran.stderr
