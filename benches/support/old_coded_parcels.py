"""Crop parcels over the old Đồng Tháp as its department coded them: a grid
of 55 m squares, each coded by the pre-2025 commune it lies in (point in
polygon, holes respected), written as one GeoJSON FeatureCollection.

Usage: old_coded_parcels.py COMMUNES.geojson SPACING_DEGREES > parcels.geojson
"""
import json
import sys


def inside(x, y, ring):
    c = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i][:2]
        xj, yj = ring[j][:2]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            c = not c
        j = i
    return c


def main():
    source, spacing = sys.argv[1], float(sys.argv[2])
    communes = []
    for f in json.load(open(source))["features"]:
        code = f["properties"].get("code")
        if not code:
            continue
        g = f["geometry"]
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        xs = [p[0] for poly in polys for p in poly[0]]
        ys = [p[1] for poly in polys for p in poly[0]]
        communes.append((code, polys, (min(xs), min(ys), max(xs), max(ys))))

    def locate(x, y):
        for code, polys, (w, s, e, n) in communes:
            if w <= x <= e and s <= y <= n:
                for poly in polys:
                    if inside(x, y, poly[0]) and not any(inside(x, y, h) for h in poly[1:]):
                        return code
        return None

    west = min(c[2][0] for c in communes)
    south = min(c[2][1] for c in communes)
    east = max(c[2][2] for c in communes)
    north = max(c[2][3] for c in communes)
    h = 0.00025
    features = []
    y = south
    while y < north:
        x = west
        while x < east:
            code = locate(x, y)
            if code:
                ring = [[x - h, y - h], [x + h, y - h], [x + h, y + h], [x - h, y + h], [x - h, y - h]]
                features.append({
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {"parcel_id": f"P-{len(features) + 1}", "crop_type": "rice",
                                   "season": "dong_xuan", "commune_code": code, "boundary_set": "pre-2025"},
                })
            x += spacing
        y += spacing
    json.dump({"type": "FeatureCollection", "features": features}, sys.stdout)


main()
