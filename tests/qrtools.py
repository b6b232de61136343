"""Decode the QR codes the app renders, with a real decoder (zxing-cpp)."""
import re

import zxingcpp
from PIL import Image


def rasterise(svg: str, scale: int = 6) -> Image.Image:
    """Paint the SVG's path (our own simple subset: M x y h w v1 h-w z) onto a bitmap."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    img = Image.new("L", (size * scale, size * scale), 255)
    px = img.load()
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg):
        x, y, w = int(x), int(y), int(w)
        for i in range(x * scale, (x + w) * scale):
            for j in range(y * scale, (y + 1) * scale):
                px[i, j] = 0
    return img


def decode(svg: str) -> list[str]:
    """The texts of all QR codes found in an SVG rendered by busapp.core.qr."""
    return [r.text for r in zxingcpp.read_barcodes(rasterise(str(svg))) if r.format == zxingcpp.BarcodeFormat.QRCode]
