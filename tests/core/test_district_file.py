"""A town's districts from its official list (busapp/core/districtfile.py): CSV as towns publish it, GeoJSON with
the boundaries in longitude/latitude or UTM metres. Storing them: tests/planning/test_district_list.py."""
from __future__ import annotations

import json
import math

import pytest

from busapp.core import districtfile, townprofile
from busapp.core.districtfile import DistrictFileError


def _square(west, south, east, north):
    return [[west, south], [east, south], [east, north], [west, north], [west, south]]


def _geojson(*features, crs: str | None = None) -> bytes:
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": geometry} for props, geometry in features]}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(doc).encode()


# --- CSV ----------------------------------------------------------------------------------------------------------

def test_a_csv_as_towns_publish_it_semicolons_german_headers_windows_encoding_and_decimal_commas():
    data = "Stadtteil-Nr.;Stadtteil;Einwohner;Breite;Länge\r\n1;Innenstadt;12000;53,8667;10,687\r\n" \
           "10;Travemünde;13561;53,962;10,87\r\n;;;;\r\n".encode("cp1252")
    rows = districtfile.read_csv(data, "stadtteile.csv")
    assert [(r.number, r.name, r.lat, r.lon) for r in rows] == [
        ("01", "Innenstadt", 53.8667, 10.687), ("10", "Travemünde", 53.962, 10.87)]
    assert all(r.boundary is None for r in rows)


def test_a_csv_with_a_byte_order_mark_and_commas_reads_the_same():
    data = "\ufeffnumber,name,lat,lon\n02,St. Jürgen,53.855,10.697\n".encode("utf-8")
    (row,) = districtfile.read_csv(data)
    assert (row.number, row.name, row.lat) == ("02", "St. Jürgen", 53.855)


def test_unknown_headers_are_named_and_can_be_chosen():
    data = "Kennung;Gebiet\nA1;Nord\n".encode()
    with pytest.raises(DistrictFileError, match="no column for the district's name among: Kennung, Gebiet"):
        districtfile.read_csv(data)
    (row,) = districtfile.read_csv(data, columns={"number": "Kennung", "name": "gebiet"})
    assert (row.number, row.name, row.lat) == ("A1", "Nord", None)
    with pytest.raises(DistrictFileError, match="there is no column 'Bezirk'"):
        districtfile.read_csv(data, columns={"name": "Bezirk"})


@pytest.mark.parametrize("body, problem", [
    ("Nr;Name\n1;Nord\n01;Süd\n", "the number 01 is also 'Nord'"),
    ("Nr;Name\n1;Nord\n2;nord\n", "the name is also number 01"),
    ("Nr;Name\n1;\n", "the name is missing"),
    ("Nr;Name\n12345;Nord\n", "longer than 4 characters"),
    ("Nr;Name;lat;lon\n1;Nord;53,8;abc\n", "longitude 'abc' is not a number"),
    ("Nr;Name;lat;lon\n1;Nord;153.8;10\n", "is not a latitude and longitude"),
    ("Nr;Name\n", "no districts found"),
])
def test_a_wrong_list_is_refused_with_where_and_why(body, problem):
    with pytest.raises(DistrictFileError, match=problem.replace("(", r"\(")):
        districtfile.read_csv(body.encode(), "liste.csv")


# --- GeoJSON ------------------------------------------------------------------------------------------------------

def test_geojson_boundaries_become_districts_with_a_point_inside_each():
    c_shape = [[0, 0], [3, 0], [3, 1], [1, 1], [1, 2], [3, 2], [3, 3], [0, 3], [0, 0]]  # centre (1.3, 1.5) is outside
    data = _geojson(({"STT_NR": 7, "STT_NAME": "Hufeisen"}, {"type": "Polygon", "coordinates": [c_shape]}),
                    ({"STT_NR": "8", "STT_NAME": "Inseln"}, {"type": "MultiPolygon", "coordinates": [
                        [_square(5, 5, 6, 6)], [_square(8, 8, 8.1, 8.1)]]}),
                    ({"STT_NR": "9", "STT_NAME": "Punkt"}, {"type": "Point", "coordinates": [10.7, 53.9]}))
    hufeisen, inseln, punkt = districtfile.read_geojson(data)
    assert hufeisen.number == "07" and hufeisen.boundary["type"] == "Polygon"
    assert districtfile.contains(hufeisen.boundary, hufeisen.lat, hufeisen.lon)
    assert not districtfile.contains(hufeisen.boundary, 1.5, 2.0)  # in the C's mouth
    assert inseln.boundary["type"] == "MultiPolygon" and (inseln.lat, inseln.lon) == (5.5, 5.5)
    assert (punkt.lat, punkt.lon, punkt.boundary) == (53.9, 10.7, None)
    assert districtfile.bbox([hufeisen.boundary, inseln.boundary]) == (0, 0, 8.1, 8.1)


def test_a_hole_in_a_boundary_is_outside_it():
    boundary = {"type": "Polygon", "coordinates": [_square(0, 0, 4, 4), _square(1, 1, 3, 3)]}
    assert districtfile.contains(boundary, 0.5, 0.5) and not districtfile.contains(boundary, 2, 2)
    lat, lon = districtfile.inner_point(boundary)
    assert districtfile.contains(boundary, lat, lon)


def test_coordinates_that_are_not_longitude_and_latitude_are_refused_unless_named():
    metres = [[610000, 5970000], [611000, 5970000], [611000, 5971000], [610000, 5971000], [610000, 5970000]]
    feature = ({"nr": "1", "name": "Mitte"}, {"type": "Polygon", "coordinates": [metres]})
    with pytest.raises(DistrictFileError, match="not longitude and latitude"):
        districtfile.read_geojson(_geojson(feature))
    (row,) = districtfile.read_geojson(_geojson(feature, crs="urn:ogc:def:crs:EPSG::25832"))
    west, south, east, north = districtfile.bbox([row.boundary])
    assert 10.67 < west < east < 10.69 and 53.86 < south < north < 53.88  # Lübeck's old town lies there
    with pytest.raises(DistrictFileError, match="please convert it"):
        districtfile.read_geojson(_geojson(feature, crs="urn:ogc:def:crs:EPSG::31467"))


def _lonlat_to_utm(lon: float, lat: float, zone: int) -> tuple[float, float]:
    """The forward projection, written from its own series (Krüger's alpha), to check the inverse against."""
    a, f = 6378137.0, 1 / 298.257222101
    n = f / (2 - f)
    big_a = a / (1 + n) * (1 + n ** 2 / 4 + n ** 4 / 64)
    alpha = (n / 2 - 2 * n ** 2 / 3 + 5 * n ** 3 / 16, 13 * n ** 2 / 48 - 3 * n ** 3 / 5, 61 * n ** 3 / 240)
    phi, lam = math.radians(lat), math.radians(lon - (6 * zone - 183))
    e = 2 * math.sqrt(n) / (1 + n)
    t = math.sinh(math.atanh(math.sin(phi)) - e * math.atanh(e * math.sin(phi)))
    xi, eta = math.atan2(t, math.cos(lam)), math.atanh(math.sin(lam) / math.sqrt(1 + t * t))
    x = eta + sum(al * math.cos(2 * j * xi) * math.sinh(2 * j * eta) for j, al in enumerate(alpha, 1))
    y = xi + sum(al * math.sin(2 * j * xi) * math.cosh(2 * j * eta) for j, al in enumerate(alpha, 1))
    return 500000 + 0.9996 * big_a * x, 0.9996 * big_a * y


def _meridian_arc(lat: float) -> float:
    """Metres from the equator along the central meridian (GRS 80), integrated numerically (Simpson's rule)."""
    a, f = 6378137.0, 1 / 298.257222101
    e2 = f * (2 - f)
    steps, h = 2000, math.radians(lat) / 2000

    def radius(phi):
        return a * (1 - e2) / (1 - e2 * math.sin(phi) ** 2) ** 1.5

    total = radius(0) + radius(steps * h) + sum((4 if i % 2 else 2) * radius(i * h) for i in range(1, steps))
    return total * h / 3


def test_utm_metres_turn_into_longitude_and_latitude_to_the_centimetre():
    # On the central meridian the northing is the meridian arc times the scale factor.
    lon, lat = districtfile.utm_to_lonlat(500000, 0.9996 * _meridian_arc(54.0), 32)
    assert lon == pytest.approx(9.0, abs=1e-9) and lat == pytest.approx(54.0, abs=1e-7)
    for lon, lat, zone in ((10.687, 53.8667, 32), (13.35, 52.93, 33), (7.1, 50.7, 32), (11.9, 47.5, 32)):
        back = districtfile.utm_to_lonlat(*_lonlat_to_utm(lon, lat, zone), zone)
        assert back == pytest.approx((lon, lat), abs=1e-7)  # 1e-7 degrees: about a centimetre


def test_boundaries_are_simplified_within_five_metres():
    # A straight edge with 2,000 survey points a few centimetres off the line, and one real corner.
    edge = [[10.6 + i * 1e-5, 53.8 + (1e-7 if i % 2 else 0)] for i in range(2000)]
    ring = edge + [[10.62, 53.81], [10.6, 53.81], [10.6, 53.8]]
    simple = districtfile.simplify(ring)
    assert len(simple) <= 6 and simple[0] == simple[-1] == [10.6, 53.8] and [10.62, 53.81] in simple


def test_the_shipped_lists_read_and_the_demo_places_lie_in_their_districts():
    muster = townprofile.load("musterstadt")
    rows = districtfile.read(muster.districts_file)
    assert [r.name for r in rows] == ["Altstadt", "Nordstadt", "Mühlenviertel", "Lindenhof", "Am See"]
    places = json.loads(muster.demo_file.read_text(encoding="utf-8"))["places"]
    for row in rows:
        assert row.boundary and districtfile.contains(row.boundary, row.lat, row.lon)
        for place in places[row.number]:
            assert districtfile.contains(row.boundary, place["lat"], place["lon"]), place["name"]
    luebeck = districtfile.read(townprofile.load("luebeck").districts_file)
    assert [r.slug for r in luebeck][:2] == ["innenstadt", "st-juergen"] and len(luebeck) == 10
