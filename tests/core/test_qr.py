"""QR codes rendered by the app decode back to what they encode (a real decoder: zxing-cpp)."""
import pytest
import zxingcpp

from busapp.core import qr
from tests.qrtools import rasterise


@pytest.mark.parametrize("data", ["https://bus.example/f", "https://bus.example/s/42?lang=en", "T1.ABCDEF.sig"])
@pytest.mark.parametrize("level", ["M", "Q", "H"])
def test_svg_decodes_to_its_data(data, level):
    svg = qr.svg(data, label="Code", level=level)
    results = zxingcpp.read_barcodes(rasterise(str(svg)))
    assert [r.text for r in results] == [data]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode


def test_svg_scales_and_has_accessible_name():
    svg = str(qr.svg("x", label="Feedback <form>"))
    assert 'viewBox="0 0' in svg and "width=" not in svg.split(">")[0]
    assert 'aria-label="Feedback &lt;form&gt;"' in svg
    assert 'aria-hidden="true"' in str(qr.svg("x"))


def test_svg_document_has_print_size():
    doc = qr.svg_document("x", size_mm=80)
    assert doc.startswith("<?xml") and 'width="80mm"' in doc
