"""Install art: the app icons drawn from the brand mark (`flask pwa icons`) and screenshots taken in Chromium
(`flask pwa screenshots`). Pillow and Playwright are test and tooling dependencies, imported when a command runs."""
from __future__ import annotations

import click
from flask import current_app

from . import bp
from .views import APPLE_TOUCH_ICON, BACKGROUND_COLOR, ICONS, SCREENSHOTS, theme_color

BRAND_SVG = "icons/bus.svg"
# On the brand-coloured maskable background the bus body turns white and its windows take the town's colour.
BUS_BODY, BUS_WINDOW = "#0b4f6c", "#e8f4f8"


def _shapes(svg_path) -> list[tuple]:
    """The rectangles and circles of the brand mark, in its 64-unit coordinates."""
    import xml.etree.ElementTree as ET

    shapes = []
    for node in ET.parse(svg_path).getroot().iter():
        tag = node.tag.rsplit("}", 1)[-1]
        a = node.attrib
        if tag == "rect":
            shapes.append(("rect", float(a["x"]), float(a["y"]), float(a["width"]), float(a["height"]),
                           float(a.get("rx", 0)), a["fill"]))
        elif tag == "circle":
            shapes.append(("circle", float(a["cx"]), float(a["cy"]), float(a["r"]), a["fill"]))
    return shapes


def draw_icon(svg_path, size: int, *, background: str | None, corner: float, fill: float,
              colours: dict | None = None):
    """The brand mark on a square canvas; `fill` is the share of the width the bus takes."""
    from PIL import Image, ImageDraw

    scale = 4  # drawn large and scaled down, for smooth edges
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if background:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=int(big * corner), fill=background)
    shapes = _shapes(svg_path)
    xs, ys = [], []
    for s in shapes:
        if s[0] == "rect":
            xs += [s[1], s[1] + s[3]]
            ys += [s[2], s[2] + s[4]]
        else:
            xs += [s[1] - s[3], s[1] + s[3]]
            ys += [s[2] - s[3], s[2] + s[3]]
    k = big * fill / (max(xs) - min(xs))
    dx = big / 2 - k * (min(xs) + max(xs)) / 2
    dy = big / 2 - k * (min(ys) + max(ys)) / 2
    colours = colours or {}
    for s in shapes:
        if s[0] == "rect":
            _, x, y, w, h, rx, colour = s
            box = (dx + k * x, dy + k * y, dx + k * (x + w), dy + k * (y + h))
            draw.rounded_rectangle(box, radius=k * rx, fill=colours.get(colour, colour))
        else:
            _, cx, cy, r, colour = s
            draw.ellipse((dx + k * (cx - r), dy + k * (cy - r), dx + k * (cx + r), dy + k * (cy + r)),
                         fill=colours.get(colour, colour))
    return image.resize((size, size), Image.LANCZOS)


@bp.cli.command("icons")
def make_icons() -> None:
    """Draw the app icons (any, maskable, apple-touch-icon) from static/icons/bus.svg."""
    from pathlib import Path

    static = Path(current_app.static_folder)
    svg = static / BRAND_SVG
    for name, size, purpose in ICONS:
        if purpose == "maskable":
            # Full bleed: the launcher cuts its own shape; the bus stays inside the central safe circle.
            image = draw_icon(svg, size, background=theme_color(), corner=0, fill=0.56,
                              colours={BUS_BODY: "#ffffff", BUS_WINDOW: theme_color()})
        else:
            image = draw_icon(svg, size, background=BACKGROUND_COLOR, corner=0.22, fill=0.76)
        image.save(static / name, optimize=True)
        click.echo(f"{name} {size}x{size} {purpose}")
    name, size = APPLE_TOUCH_ICON
    # iOS shows transparency as black and rounds the corners itself: an opaque square. Every page links it, so it
    # is kept small: 64 colours (the smoothed edges of a few flat colours) instead of 552, 2 kB instead of 6.5 kB.
    image = draw_icon(svg, size, background=BACKGROUND_COLOR, corner=0, fill=0.72).convert("RGB")
    from PIL import Image

    image.quantize(64, method=Image.Quantize.MEDIANCUT).save(static / name, optimize=True)
    click.echo(f"{name} {size}x{size}")


@bp.cli.command("screenshots")
@click.option("--chromium", default="/usr/bin/chromium", show_default=True, help="The browser to take them with.")
def make_screenshots(chromium: str) -> None:
    """Take the install screenshots (narrow and wide) of the home page in Chromium, serving this app's database."""
    import threading
    from pathlib import Path

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    app = current_app._get_current_object()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    static = Path(app.static_folder)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            for name, width, height, factor in SCREENSHOTS:
                scale = 2 if factor == "narrow" else 1
                context = browser.new_context(viewport={"width": width // scale, "height": height // scale},
                                              device_scale_factor=scale, locale="de-DE", service_workers="block")
                page = context.new_page()
                page.goto(base + "/")
                page.screenshot(path=str(static / name))
                context.close()
                click.echo(f"{name} {width}x{height} {factor}")
            browser.close()
    finally:
        server.shutdown()
