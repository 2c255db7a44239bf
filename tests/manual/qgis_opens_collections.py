#!/usr/bin/python3
"""QGIS opens agrimap's OGC API - Features collections (issue 5, "real clients").

Not part of `tests/run.sh`: QGIS is a 1.5 GB install. On Debian:

    apt-get install --no-install-recommends python3-qgis qgis-providers
    /usr/bin/python3 tests/manual/qgis_opens_collections.py http://127.0.0.1:8080

Each collection is opened through QGIS's own OAPIF provider, as the QGIS
"WFS / OGC API - Features" dialog does; the features QGIS reads must be as many
as /ogc says the collection holds, with their Vietnamese names intact.
Exits non-zero on the first difference.
"""

import json
import os
import sys
import urllib.request

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import Qgis, QgsApplication, QgsVectorLayer  # noqa: E402

base = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080").rstrip("/")
app = QgsApplication([], False)
app.initQgis()
print("QGIS", Qgis.version())
failed = False
collections = json.load(urllib.request.urlopen(base + "/ogc/collections?f=json"))["collections"]
for collection in collections:
    cid = collection["id"]
    with urllib.request.urlopen(f"{base}/ogc/collections/{cid}/items?f=json&limit=1") as r:
        expected = json.load(r)["numberMatched"]
    layer = QgsVectorLayer(f"url='{base}/ogc' typename='{cid}' restrictToRequestBBOX='0'", cid, "OAPIF")
    if not layer.isValid():
        print(f"{cid}: QGIS cannot open it: {layer.error().summary()}")
        failed = True
        continue
    features = list(layer.getFeatures())
    names = [f["name"] for f in features[:2]] if "name" in layer.fields().names() else []
    ok = len(features) == expected
    failed |= not ok
    print(f"{cid}: {'ok' if ok else 'MISMATCH'} {len(features)} features (server: {expected}), "
          f"{len(layer.fields())} fields, {layer.crs().authid()}, names {names}")
# QGIS 3.22's Python teardown (exitQgis and interpreter exit) crashes with
# SIGSEGV after the work is done, so the result is reported without it.
sys.stdout.flush()
os._exit(1 if failed else 0)
