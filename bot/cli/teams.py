"""``complaint-bot teams-package``: the Teams app package to upload (docs/teams.md).

The package is a zip of ``manifest.json`` (from ``templates/teams/manifest.json``, with
the bot's Entra app id, the organisation's name and links filled in from the
configuration) and two icons drawn here: ``color.png`` (192x192, full colour) and
``outline.png`` (32x32, white on transparent), as Teams requires. The icons are made by
code, not kept as binaries, so they can be restyled in one place.
"""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from bot.cli.common import ConfigOpt, config_from, fail
from bot.config import Config

ACCENT = (0x1F, 0x6F, 0x8B)  # the manifest's accentColor
WHITE = (255, 255, 255)
SAMPLES = 4  # sub-pixels per side, for smooth edges

Shape = Callable[[float, float], bool]


# --- icons -------------------------------------------------------------------


def _bubble(x: float, y: float) -> bool:
    """A speech bubble with a tail, in a unit square."""
    body = ((x - 0.5) / 0.36) ** 2 + ((y - 0.44) / 0.29) ** 2 <= 1.0
    # the tail: a triangle below-left of the bubble
    ax, ay, bx, by, cx, cy = 0.30, 0.60, 0.46, 0.70, 0.22, 0.86
    d = (by - cy) * (ax - cx) + (cx - bx) * (ay - cy)
    u = ((by - cy) * (x - cx) + (cx - bx) * (y - cy)) / d
    v = ((cy - ay) * (x - cx) + (ax - cx) * (y - cy)) / d
    return body or (u >= 0 and v >= 0 and u + v <= 1)


def _dots(x: float, y: float) -> bool:
    """Three dots inside the bubble (someone is talking)."""
    return any((x - cx) ** 2 + (y - 0.44) ** 2 <= 0.05**2 for cx in (0.36, 0.5, 0.64))


def _coverage(size: int, shape: Shape, px: int, py: int) -> float:
    hits = 0
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            x = (px + (sx + 0.5) / SAMPLES) / size
            y = (py + (sy + 0.5) / SAMPLES) / size
            hits += shape(x, y)
    return hits / SAMPLES**2


def _png(size: int, pixel: Callable[[int, int], tuple[int, int, int, int]]) -> bytes:
    """An RGBA PNG of ``size`` x ``size`` pixels."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def color_icon(size: int = 192) -> bytes:
    """The full-colour icon: a white speech bubble on the accent colour."""

    def pixel(px: int, py: int) -> tuple[int, int, int, int]:
        white = _coverage(size, lambda x, y: _bubble(x, y) and not _dots(x, y), px, py)
        r, g, b = (round(a + (w - a) * white) for a, w in zip(ACCENT, WHITE, strict=True))
        return r, g, b, 255

    return _png(size, pixel)


def outline_icon(size: int = 32) -> bytes:
    """The outline icon: the bubble in white on transparent (Teams tints it)."""

    def pixel(px: int, py: int) -> tuple[int, int, int, int]:
        alpha = _coverage(size, lambda x, y: _bubble(x, y) and not _dots(x, y), px, py)
        return 255, 255, 255, round(255 * alpha)

    return _png(size, pixel)


# --- the manifest and the zip -------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else url


def manifest(cfg: Config, version: str) -> dict[str, Any]:
    """The manifest for this installation: the bot's app id, the organisation's name and links."""
    data: dict[str, Any] = json.loads(
        files("templates").joinpath("teams/manifest.json").read_text(encoding="utf-8")
    )
    app_id = cfg.chat.app_id
    data["id"] = app_id
    data["version"] = version
    data["bots"][0]["botId"] = app_id
    # Resource-specific consent: the bot hears every post in the team's channels (intake
    # without an @mention), granted by whoever adds the app to the team.
    data["webApplicationInfo"]["id"] = app_id
    org = cfg.organisation
    privacy = org.privacy_url
    data["developer"] = {
        "name": org.name[:32],
        "websiteUrl": _origin(privacy),
        "privacyUrl": privacy,
        "termsOfUseUrl": privacy,
    }
    return data


def build_package(cfg: Config, out: Path, version: str = "1.0.0") -> Path:
    """Write the app package (manifest.json, color.png, outline.png) to ``out``."""
    if not cfg.chat.app_id:
        raise ValueError("[chat] app_id is empty: register the app in Entra ID first")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "manifest.json", json.dumps(manifest(cfg, version), ensure_ascii=False, indent=2)
        )
        z.writestr("color.png", color_icon())
        z.writestr("outline.png", outline_icon())
    return out


def teams_package(
    config: ConfigOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the zip.")] = Path(
        "teams-app.zip"
    ),
    version: Annotated[
        str, typer.Option(help="The app's version (raise it for each new upload).")
    ] = "1.0.0",
) -> None:
    """Build the Teams app package to upload in Teams (Apps -> Manage your apps)."""
    cfg = config_from(config)
    try:
        path = build_package(cfg, out, version)
    except ValueError as exc:
        fail(str(exc), 2)
    typer.echo(f"wrote {path} (app id {cfg.chat.app_id}, version {version})")


def register(app: typer.Typer) -> None:
    """Add ``teams-package`` to the main ``complaint-bot`` app."""
    app.command("teams-package")(teams_package)
