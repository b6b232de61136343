"""A town's districts from its official list: a CSV table or a GeoJSON file with the boundaries.

Towns publish their Stadtteile in many shapes (semicolons or commas, German or English headers, UTF-8 or Windows
encoding, decimal commas, GeoJSON in longitude/latitude or in UTM metres). This module reads them into plain rows:
number, name, a reference point and the boundary (a GeoJSON Polygon or MultiPolygon in WGS 84, or None). It writes
nothing; busapp/planning/districts.py stores the rows.

Columns and properties are found by name, case and umlauts aside: the number in "number", "nr", "nummer",
"stadtteilnummer", "schluessel" ...; the name in "name", "stadtteil", "ortsteil", "bezirk", "bezeichnung" ...;
the point in "lat"/"lon" ("breite"/"laenge", "latitude"/"longitude"). Another column is named with the `columns`
argument (`flask town districts FILE --number-column X --name-column Y`).
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

MAX_NUMBER = 4  # District.number
MAX_NAME = 80  # District.name
# Boundaries are simplified to about this many metres: the API then sends a town's districts in a few kilobytes
# instead of the survey office's millimetres.
SIMPLIFY_METRES = 5.0

ALIASES = {
    "number": ("number", "nr", "nummer", "no", "num", "id", "code", "key", "schluessel", "kennziffer", "kennung",
               "stadtteilnr", "stadtteilnummer", "stadtteilschluessel", "ortsteilnr", "ortsteilnummer", "bezirksnr",
               "bezirksnummer", "stadtbezirksnr", "stadtbezirksnummer", "stnr", "sttnr", "otnr"),
    "name": ("name", "stadtteil", "stadtteilname", "ortsteil", "ortsteilname", "bezirk", "bezirksname",
             "stadtbezirk", "stadtbezirksname", "bezeichnung", "district", "districtname", "sttname", "otname"),
    "slug": ("slug",),
    "lat": ("lat", "latitude", "breite", "breitengrad", "geobreite", "ycoord"),
    "lon": ("lon", "lng", "long", "longitude", "laenge", "laengengrad", "geolaenge", "xcoord"),
}


class DistrictFileError(ValueError):
    """The file cannot be read as a list of districts; the message says where and why."""


@dataclass
class DistrictRow:
    number: str
    name: str
    lat: float | None
    lon: float | None
    boundary: dict | None = None
    slug: str | None = None


def _key(text: str) -> str:
    """A header as compared: lower case, umlauts spelt out, nothing but letters and digits."""
    text = text.strip().lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", text)


def _find(names: list[str], what: str, chosen: str | None) -> str | None:
    keys = {_key(n): n for n in names}
    if chosen:
        if _key(chosen) not in keys:
            raise DistrictFileError(f"there is no column {chosen!r}; the file has: {', '.join(names)}")
        return keys[_key(chosen)]
    for alias in ALIASES[what]:
        if alias in keys:
            return keys[alias]
    return None


def number_of(value) -> str:
    """An official number as stored: digits keep at least two places ("1" -> "01", as in 01-10)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value if value is not None else "").strip()
    return text.zfill(2) if text.isdigit() else text


def _float(value, what: str, where: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return float(str(value).strip().replace(",", "."))
    except ValueError:
        raise DistrictFileError(f"{where}: {what} {value!r} is not a number") from None


def _check(rows: list[DistrictRow], source: str) -> list[DistrictRow]:
    if not rows:
        raise DistrictFileError(f"{source}: no districts found")
    seen: dict[str, str] = {}
    names: dict[str, str] = {}
    for row in rows:
        row.name = " ".join(row.name.split())
        where = f"{source}, district {row.number or '?'} {row.name!r}"
        if not row.number:
            raise DistrictFileError(f"{where}: the official number is missing")
        if len(row.number) > MAX_NUMBER:
            raise DistrictFileError(f"{where}: the number {row.number!r} is longer than {MAX_NUMBER} characters")
        if not row.name:
            raise DistrictFileError(f"{where}: the name is missing")
        if len(row.name) > MAX_NAME:
            raise DistrictFileError(f"{where}: the name is longer than {MAX_NAME} characters")
        if row.number in seen:
            raise DistrictFileError(f"{where}: the number {row.number} is also {seen[row.number]!r}")
        if row.name.lower() in names:
            raise DistrictFileError(f"{where}: the name is also number {names[row.name.lower()]}")
        seen[row.number], names[row.name.lower()] = row.name, row.number
        if row.lat is not None and not -90 <= row.lat <= 90 or row.lon is not None and not -180 <= row.lon <= 180:
            raise DistrictFileError(f"{where}: the point ({row.lat}, {row.lon}) is not a latitude and longitude")
        if row.lat is None and row.boundary:
            row.lat, row.lon = inner_point(row.boundary)
    return rows


# --- CSV --------------------------------------------------------------------------------------------------------

def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DistrictFileError("the file is neither UTF-8 nor Windows-1252 text")  # cp1252 decodes almost anything


def read_csv(data: bytes, source: str = "CSV", columns: dict | None = None) -> list[DistrictRow]:
    """Districts from a CSV table with a header line (separated by ; , or tab)."""
    columns = columns or {}
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first.count)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    names = [n for n in (reader.fieldnames or []) if n]
    if not names:
        raise DistrictFileError(f"{source}: the file has no header line")
    found = {what: _find(names, what, columns.get(what)) for what in ALIASES}
    for what in ("number", "name"):
        if not found[what]:
            raise DistrictFileError(
                f"{source}: no column for the district's {what} among: {', '.join(names)}. Name it with "
                f"--{what}-column")
    rows = []
    for line, record in enumerate(reader, start=2):
        if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue
        where = f"{source}, line {line}"

        def get(what):
            return record.get(found[what]) if found[what] else None

        rows.append(DistrictRow(number=number_of(get("number")), name=(get("name") or ""),
                                lat=_float(get("lat"), "latitude", where), lon=_float(get("lon"), "longitude", where),
                                slug=(get("slug") or "").strip() or None))
    return _check(rows, source)


# --- GeoJSON ----------------------------------------------------------------------------------------------------

def _crs_zone(doc: dict) -> tuple[int, bool] | None:
    """(UTM zone, northern) when the (pre-RFC 7946) "crs" member names ETRS89 or WGS 84 UTM, else None."""
    name = str(((doc.get("crs") or {}).get("properties") or {}).get("name", ""))
    match = re.search(r"EPSG:{1,2}(\d+)$", name)
    if not match:
        return None
    code = int(match.group(1))
    if 25828 <= code <= 25838:  # ETRS89 / UTM zones 28N-38N, what German survey offices publish
        return code - 25800, True
    if 32601 <= code <= 32660:
        return code - 32600, True
    if code in (4326, 4258):
        return None
    raise DistrictFileError(f"the file's coordinates are in {name}; please convert it to WGS 84 (EPSG:4326) or "
                            "ETRS89/UTM (EPSG:25832, 25833)")


def utm_to_lonlat(easting: float, northing: float, zone: int) -> tuple[float, float]:
    """A UTM coordinate (northern hemisphere, GRS 80, which ETRS89 and WGS 84 share to a millimetre) as longitude
    and latitude in degrees, by the series of Krüger (accurate to well under a millimetre within a zone)."""
    a, f = 6378137.0, 1 / 298.257222101
    n = f / (2 - f)
    big_a = a / (1 + n) * (1 + n ** 2 / 4 + n ** 4 / 64)
    beta = (n / 2 - 2 * n ** 2 / 3 + 37 * n ** 3 / 96, n ** 2 / 48 + n ** 3 / 15, 17 * n ** 3 / 480)
    delta = (2 * n - 2 * n ** 2 / 3 - 2 * n ** 3, 7 * n ** 2 / 3 - 8 * n ** 3 / 5, 56 * n ** 3 / 15)
    k0, false_easting = 0.9996, 500000.0
    xi = northing / (k0 * big_a)
    eta = (easting - false_easting) / (k0 * big_a)
    xi1 = xi - sum(b * math.sin(2 * j * xi) * math.cosh(2 * j * eta) for j, b in enumerate(beta, 1))
    eta1 = eta - sum(b * math.cos(2 * j * xi) * math.sinh(2 * j * eta) for j, b in enumerate(beta, 1))
    chi = math.asin(math.sin(xi1) / math.cosh(eta1))
    lat = chi + sum(d * math.sin(2 * j * chi) for j, d in enumerate(delta, 1))
    lon0 = math.radians(6 * zone - 183)
    lon = lon0 + math.atan2(math.sinh(eta1), math.cos(xi1))
    return math.degrees(lon), math.degrees(lat)


def _rings(geometry: dict) -> list[list[list[list[float]]]]:
    """A Polygon or MultiPolygon as a list of polygons, each a list of rings of [lon, lat]."""
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon":
        return [coords]
    if kind == "MultiPolygon":
        return list(coords)
    raise DistrictFileError(f"a boundary must be a Polygon or MultiPolygon, got {kind}")


def _clean_ring(ring, convert, where: str) -> list[list[float]]:
    out = []
    for point in ring:
        if not isinstance(point, (list, tuple)) or len(point) < 2:
            raise DistrictFileError(f"{where}: a boundary point is not [longitude, latitude]")
        x, y = float(point[0]), float(point[1])
        if convert:
            x, y = convert(x, y)
        elif not (-180 <= x <= 180 and -90 <= y <= 90):
            raise DistrictFileError(f"{where}: the boundary's coordinates ({x}, {y}) are not longitude and "
                                    "latitude. Name the file's coordinate system in its \"crs\" member, or convert "
                                    "it to WGS 84 (EPSG:4326)")
        out.append([x, y])
    if len(out) < 4 or out[0] != out[-1]:
        if len(out) >= 3:
            out.append(list(out[0]))
        else:
            raise DistrictFileError(f"{where}: a boundary ring has fewer than three points")
    return out


def read_geojson(data: bytes, source: str = "GeoJSON", columns: dict | None = None) -> list[DistrictRow]:
    """Districts from a GeoJSON FeatureCollection: properties give number and name, the geometry the boundary
    (Polygon or MultiPolygon) or the point."""
    columns = columns or {}
    try:
        doc = json.loads(_decode(data))
    except json.JSONDecodeError as exc:
        raise DistrictFileError(f"{source}: not JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise DistrictFileError(f"{source}: a GeoJSON FeatureCollection was expected")
    zone = _crs_zone(doc)

    def convert(x, y):
        return utm_to_lonlat(x, y, zone[0])

    features = [f for f in doc.get("features") or [] if isinstance(f, dict)]
    names = sorted({str(k) for f in features for k in (f.get("properties") or {})})
    found = {what: _find(names, what, columns.get(what)) for what in ALIASES}
    for what in ("number", "name"):
        if not found[what]:
            raise DistrictFileError(f"{source}: no property for the district's {what} among: {', '.join(names)}. "
                                    f"Name it with --{what}-column")
    rows = []
    for i, feature in enumerate(features, start=1):
        props = feature.get("properties") or {}
        where = f"{source}, feature {i}"
        geometry = feature.get("geometry") or {}
        lat = _float(props.get(found["lat"]) if found["lat"] else None, "latitude", where)
        lon = _float(props.get(found["lon"]) if found["lon"] else None, "longitude", where)
        boundary = None
        if geometry.get("type") == "Point":
            x, y = (float(v) for v in geometry["coordinates"][:2])
            lon, lat = convert(x, y) if zone else (x, y)
        elif geometry:
            polygons = [[_clean_ring(r, convert if zone else None, where) for r in p] for p in _rings(geometry)]
            polygons = [[simplify(r) for r in p] for p in polygons]
            boundary = ({"type": "Polygon", "coordinates": polygons[0]} if len(polygons) == 1
                        else {"type": "MultiPolygon", "coordinates": polygons})
        slug = props.get(found["slug"]) if found["slug"] else None
        rows.append(DistrictRow(number=number_of(props.get(found["number"])), name=str(props.get(found["name"]) or ""),
                                lat=lat, lon=lon, boundary=boundary, slug=str(slug).strip() if slug else None))
    return _check(rows, source)


def read(path: Path | str, columns: dict | None = None) -> list[DistrictRow]:
    """The districts in a .csv, .geojson or .json file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DistrictFileError(f"{path}: cannot be read ({exc.strerror})") from exc
    if path.suffix.lower() in (".geojson", ".json"):
        return read_geojson(data, path.name, columns)
    if path.suffix.lower() in (".csv", ".txt"):
        return read_csv(data, path.name, columns)
    raise DistrictFileError(f"{path.name}: a district list is a .csv or a .geojson file")


# --- geometry ---------------------------------------------------------------------------------------------------

def polygons(boundary: dict) -> list[list[list[list[float]]]]:
    return _rings(boundary)


def bbox(boundaries) -> tuple[float, float, float, float] | None:
    """[west, south, east, north] around the boundaries (None without any)."""
    xs, ys = [], []
    for boundary in boundaries:
        for polygon in polygons(boundary):
            for x, y in polygon[0]:
                xs.append(x)
                ys.append(y)
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def _in_ring(x: float, y: float, ring) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def contains(boundary: dict, lat: float, lon: float) -> bool:
    """Whether the point lies inside the boundary (inside an outer ring and outside its holes)."""
    return any(_in_ring(lon, lat, p[0]) and not any(_in_ring(lon, lat, hole) for hole in p[1:])
               for p in polygons(boundary))


def inner_point(boundary: dict) -> tuple[float, float]:
    """(lat, lon) of a point inside the boundary: the centre of its largest polygon when that lies inside, else the
    middle of the widest stretch inside along the line through that centre."""
    def area_and_centre(ring):
        a = cx = cy = 0.0
        for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
            cross = x1 * y2 - x2 * y1
            a += cross
            cx += (x1 + x2) * cross
            cy += (y1 + y2) * cross
        if not a:
            return 0.0, ring[0][0], ring[0][1]
        return abs(a / 2), cx / (3 * a), cy / (3 * a)

    largest = max(polygons(boundary), key=lambda p: area_and_centre(p[0])[0])
    _area, x, y = area_and_centre(largest[0])
    if contains(boundary, y, x):
        return round(y, 6), round(x, 6)
    crossings = sorted(
        x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        for ring in largest for (x1, y1), (x2, y2) in zip(ring, ring[1:]) if (y1 > y) != (y2 > y))
    pairs = list(zip(crossings[::2], crossings[1::2])) or [(largest[0][0][0], largest[0][0][0])]
    a, b = max(pairs, key=lambda ab: ab[1] - ab[0])
    return round(y, 6), round((a + b) / 2, 6)


def simplify(ring: list[list[float]], metres: float = SIMPLIFY_METRES) -> list[list[float]]:
    """The ring with points dropped that lie within `metres` of the line of their neighbours (Douglas-Peucker),
    rounded to 6 decimals (about 10 cm); a ring never falls below four points."""
    if len(ring) <= 5:
        return [[round(x, 6), round(y, 6)] for x, y in ring]
    lat = sum(y for _x, y in ring) / len(ring)
    kx, ky = 111_320 * math.cos(math.radians(lat)), 110_540  # metres per degree here

    def distance(p, a, b):
        px, py, ax, ay, bx, by = p[0] * kx, p[1] * ky, a[0] * kx, a[1] * ky, b[0] * kx, b[1] * ky
        dx, dy = bx - ax, by - ay
        if dx == dy == 0:
            return math.hypot(px - ax, py - ay)
        t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
        return math.hypot(px - ax - t * dx, py - ay - t * dy)

    keep = [False] * len(ring)
    keep[0] = keep[-1] = True
    # A closed ring is split at its farthest point from the start, so both halves have distinct ends.
    far = max(range(1, len(ring) - 1), key=lambda i: distance(ring[i], ring[0], ring[0]))
    keep[far] = True
    stack = [(0, far), (far, len(ring) - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        index, worst = first, 0.0
        for i in range(first + 1, last):
            d = distance(ring[i], ring[first], ring[last])
            if d > worst:
                index, worst = i, d
        if worst > metres:
            keep[index] = True
            stack += [(first, index), (index, last)]
    out = [ring[i] for i in range(len(ring)) if keep[i]]
    if len(out) < 4:
        out = ring
    return [[round(x, 6), round(y, 6)] for x, y in out]
