//! The real server on an ephemeral port over the demo province: tiles,
//! TileJSON, catalog, health and errors, checked over HTTP. Every case runs
//! against both stores (GeoPackage and PostGIS) from this one definition.

use agrimap_model::{Access, Audience, FeatureQuery, Filter, Value, layer};
use agrimap_suite::{StoreKind, TestServer};
use agrimap_tiles::mvt::{DecodedLayer, decode};
use agrimap_tiles::{TileCoord, TileProjector, tile_bounds, tile_containing};
use geo::{BoundingRect, Contains, InteriorPoint, Point};
use std::collections::BTreeMap;

const ALL: &str = "admin_province,admin_district,admin_commune,water,roads,places,crop,aquaculture,monitoring,growing_area,ocop,irrigation_works,irrigated_areas,forest_plots,livestock_farms";

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

/// The code of the commune of that name, and its centre (from `places`),
/// where the demo province's farmland is densest.
fn commune_point(server: &TestServer, name: &str) -> (String, Point<f64>) {
    let communes = layer("admin_commune").expect("layer");
    let query = FeatureQuery {
        filter: Some(Filter::eq("name", name)),
        ..FeatureQuery::default()
    };
    let found = block_on(server.store.features(communes, &query)).expect("query");
    assert_eq!(found.len(), 1, "exactly one commune named {name}");
    let code = found[0].properties[0].as_str().expect("code").to_owned();
    let centre = FeatureQuery {
        commune: Some(code.clone()),
        filter: Some(Filter::eq("kind", "commune_centre")),
        ..FeatureQuery::default()
    };
    let places = block_on(server.store.features(layer("places").expect("places"), &centre)).expect("query");
    let point = match places.first().map(|p| &p.geometry) {
        Some(geo::Geometry::Point(p)) => *p,
        _ => found[0].geometry.interior_point().expect("interior point"),
    };
    assert!(found[0].geometry.contains(&point), "the centre of {name} lies in it");
    (code, point)
}

fn get_tile(server: &TestServer, layers: &str, t: TileCoord) -> Vec<DecodedLayer> {
    let r = server.get(
        &format!("/tiles/{layers}/{}/{}/{}.mvt", t.z, t.x, t.y),
        &[("accept-encoding", "gzip")],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/vnd.mapbox-vector-tile"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    decode(&r.decoded_body()).expect("tile decodes")
}

fn health_names_the_store(kind: StoreKind) {
    let server = kind.demo_server("health_names_the_store");
    let r = server.get("/health", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["store"], kind.name());
    assert_eq!(r.json()["status"], "ok");
}

fn catalog_lists_every_layer_with_typed_fields_and_access(kind: StoreKind) {
    let server = kind.demo_server("catalog_lists_every_layer_with_typed_fields_and_access");
    let v = server.get("/catalog", &[]).json();
    let layers = v["layers"].as_array().expect("layers");
    let ids: Vec<&str> = layers.iter().map(|l| l["id"].as_str().expect("id")).collect();
    assert_eq!(ids, ALL.split(',').collect::<Vec<_>>());
    let crop = &layers[6];
    let phone = crop["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["name"] == "owner_phone")
        .expect("owner_phone");
    assert_eq!(phone["access"], "restricted");
    let area = crop["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["name"] == "area_ha")
        .expect("area_ha");
    assert_eq!(
        (area["type"].as_str(), area["unit"].as_str()),
        (Some("real"), Some("ha"))
    );
}

fn tilejson_describes_public_fields_with_absolute_urls(kind: StoreKind) {
    let server = kind.demo_server("tilejson_describes_public_fields_with_absolute_urls");
    let r = server.get(&format!("/tiles/{ALL}.json"), &[]);
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["tilejson"], "3.0.0");
    assert_eq!(
        v["tiles"][0],
        format!("{}/tiles/{ALL}/{{z}}/{{x}}/{{y}}.mvt", server.base)
    );
    let manifest = agrimap_demo::read_manifest(&agrimap_suite::demo_dir()).expect("manifest");
    let b: Vec<f64> = v["bounds"]
        .as_array()
        .expect("bounds")
        .iter()
        .map(|x| x.as_f64().expect("num"))
        .collect();
    // The layers cover the province; rivers and the national road run a little beyond it.
    let province = manifest.bounds;
    assert!(
        b[0] <= province[0] && b[1] <= province[1] && b[2] >= province[2] && b[3] >= province[3],
        "bounds {b:?} vs province {province:?}"
    );
    for (got, want) in b.iter().zip(province) {
        assert!(
            (got - want).abs() < 0.1,
            "bounds {b:?} reach far beyond the province {province:?}"
        );
    }
    let center = &v["center"];
    assert!(center[0].as_f64().expect("lon") > b[0] && center[0].as_f64().expect("lon") < b[2]);
    assert_eq!(v["minzoom"], 0);
    assert_eq!(v["maxzoom"], 16);
    let vl = v["vector_layers"].as_array().expect("vector_layers");
    assert_eq!(vl.len(), 15);
    let crop = vl.iter().find(|l| l["id"] == "crop").expect("crop");
    assert!(
        crop["fields"]["crop_type"]
            .as_str()
            .expect("described")
            .starts_with("String")
    );
    assert!(
        crop["fields"].get("owner_phone").is_none(),
        "restricted field advertised"
    );
    assert_eq!(crop["minzoom"], 11);
    // Below zoom 13 a crop tile holds one merged shape per crop type.
    assert_eq!(
        crop["coalesced"],
        serde_json::json!({"below_zoom": 13, "fields": ["crop_type"]})
    );
    let ponds = vl.iter().find(|l| l["id"] == "aquaculture").expect("aquaculture");
    assert_eq!(ponds["coalesced"]["fields"], serde_json::json!(["species", "mode"]));
    let communes = vl.iter().find(|l| l["id"] == "admin_commune").expect("communes");
    assert!(communes.get("coalesced").is_none());
}

fn z14_tile_at_my_xuong_holds_its_parcels_with_public_attributes_and_true_geometry(kind: StoreKind) {
    let server = kind.demo_server("z14_tile_at_my_xuong_holds_its_parcels_with_public_attributes_and_true_geometry");
    let (code, inside) = commune_point(&server, "Mỹ Xương");
    let t = tile_containing(inside.x(), inside.y(), 14);
    let layers = get_tile(&server, "admin_commune,crop,places", t);
    let by_name: BTreeMap<&str, &DecodedLayer> = layers.iter().map(|l| (l.name.as_str(), l)).collect();
    assert_eq!(
        by_name.keys().copied().collect::<Vec<_>>(),
        vec!["admin_commune", "crop", "places"]
    );

    let communes = by_name["admin_commune"];
    assert!(
        communes
            .features
            .iter()
            .any(|f| f.properties.get("name") == Some(&Value::from("Mỹ Xương"))
                && f.properties.get("code") == Some(&Value::Text(code.clone())))
    );

    // Every parcel wholly inside the tile is in it, whole, with its public attributes.
    let crop = layer("crop").expect("crop");
    let bounds = tile_bounds(t);
    let in_store = block_on(server.store.features(crop, &FeatureQuery::in_bbox(bounds))).expect("query");
    let whole: Vec<_> = in_store
        .iter()
        .filter(|f| f.geometry.bounding_rect().is_some_and(|r| bounds.contains(&r)))
        .collect();
    assert!(whole.len() > 20, "expected a farmed tile, got {} parcels", whole.len());
    let decoded: BTreeMap<u64, _> = by_name["crop"]
        .features
        .iter()
        .map(|f| (f.id.expect("id"), f))
        .collect();
    let projector = TileProjector::new(t, 4096);
    for f in &whole {
        let d = decoded
            .get(&u64::try_from(f.id).expect("id"))
            .unwrap_or_else(|| panic!("parcel {} missing", f.id));
        for (i, field) in crop.fields.iter().enumerate() {
            match field.access {
                Access::Public if !f.properties[i].is_null() => {
                    assert_eq!(d.properties.get(field.name), Some(&f.properties[i]), "{}", field.name);
                }
                Access::Restricted => assert!(!d.properties.contains_key(field.name), "{} leaked", field.name),
                Access::Public => {}
            }
        }
        // Decoded vertices land within a tile unit (~0.6 m) of the stored parcel's outline.
        let stored = f.geometry.bounding_rect().expect("bbox");
        let drawn = d.geometry.bounding_rect().expect("bbox");
        let (x1, y1) = projector.unproject(drawn.min().x, drawn.max().y);
        let (x2, y2) = projector.unproject(drawn.max().x, drawn.min().y);
        let tol = 2.0 * (bounds.width() / 4096.0);
        for (got, want) in [
            (x1, stored.min().x),
            (y1, stored.min().y),
            (x2, stored.max().x),
            (y2, stored.max().y),
        ] {
            assert!((got - want).abs() < tol, "parcel {}: {got} vs {want}", f.id);
        }
    }
    assert!(
        by_name["places"]
            .features
            .iter()
            .all(|f| f.properties.contains_key("kind"))
    );
}

/// Square tile units of a decoded polygonal geometry.
fn drawn_area(geometry: &geo::Geometry<f64>) -> f64 {
    use geo::Area;
    match geometry {
        geo::Geometry::Polygon(p) => p.unsigned_area(),
        geo::Geometry::MultiPolygon(mp) => mp.unsigned_area(),
        other => panic!("polygonal expected: {other:?}"),
    }
}

fn z12_tile_merges_parcels_by_crop_type_and_keeps_the_area_of_each(kind: StoreKind) {
    use geo::{Area, MapCoords};
    let server = kind.demo_server("z12_tile_merges_parcels_by_crop_type_and_keeps_the_area_of_each");
    let (_, inside) = commune_point(&server, "Mỹ Xương");
    let t = tile_containing(inside.x(), inside.y(), 12);
    let layers = get_tile(&server, "crop", t);
    let drawn = &layers[0];
    assert_eq!(drawn.name, "crop");

    // The exact area of each crop type in the buffered tile: every parcel
    // projected to tile units and clipped to the tile and its 64-unit buffer.
    let crop = layer("crop").expect("crop");
    let buffered = agrimap_tiles::tile_bounds_buffered(t, 64, 4096);
    let parcels = block_on(server.store.features(crop, &FeatureQuery::in_bbox(buffered))).expect("query");
    assert!(parcels.len() > 1000, "a farmed tile: {} parcels", parcels.len());
    let projector = TileProjector::new(t, 4096);
    let clip = geo::Rect::new(geo::coord! { x: -64.0, y: -64.0 }, geo::coord! { x: 4160.0, y: 4160.0 });
    let mut exact: BTreeMap<String, f64> = BTreeMap::new();
    for p in &parcels {
        let geo::Geometry::MultiPolygon(mp) = &p.geometry else {
            panic!("parcels are multipolygons")
        };
        let projected = mp.map_coords(|c| projector.project_coord(c));
        let area = agrimap_tiles::clip::clip_multi_polygon(&projected, &clip).unsigned_area();
        *exact
            .entry(crop.text_of(p, "crop_type").expect("crop type").to_owned())
            .or_default() += area;
    }

    // One feature per crop type, carrying the crop type alone and no id.
    let mut by_class: BTreeMap<String, f64> = BTreeMap::new();
    for f in &drawn.features {
        assert_eq!(f.id, None);
        assert_eq!(f.properties.keys().collect::<Vec<_>>(), ["crop_type"]);
        let class = f.properties["crop_type"].as_str().expect("text").to_owned();
        assert!(
            by_class.insert(class, drawn_area(&f.geometry)).is_none(),
            "one feature per class"
        );
    }
    assert_eq!(
        by_class.keys().collect::<Vec<_>>(),
        exact.keys().collect::<Vec<_>>(),
        "every crop type of the tile is drawn"
    );
    for (class, want) in &exact {
        let got = by_class[class];
        assert!(
            (got - want).abs() <= 0.05 * want,
            "{class}: {got:.0} drawn against {want:.0} exact (square tile units)"
        );
    }
}

fn restricted_fields_never_appear_in_any_layer(kind: StoreKind) {
    let server = kind.demo_server("restricted_fields_never_appear_in_any_layer");
    let (_, inside) = commune_point(&server, "Tân Thuận Tây");
    for z in [8, 11, 14] {
        let t = tile_containing(inside.x(), inside.y(), z);
        for l in get_tile(&server, ALL, t) {
            let def = layer(&l.name).expect("catalog layer");
            let public: Vec<&str> = def.readable_fields(Audience::Public).map(|(_, f)| f.name).collect();
            for f in &l.features {
                for k in f.properties.keys() {
                    assert!(public.contains(&k.as_str()), "z{z} {}: '{k}' is not public", l.name);
                }
            }
        }
    }
}

fn low_zoom_tiles_leave_out_parcels_and_are_compact(kind: StoreKind) {
    let server = kind.demo_server("low_zoom_tiles_leave_out_parcels_and_are_compact");
    let (_, inside) = commune_point(&server, "Mỹ Xương");
    let t = tile_containing(inside.x(), inside.y(), 8);
    let r = server.get(
        &format!("/tiles/{ALL}/{}/{}/{}.mvt", t.z, t.x, t.y),
        &[("accept-encoding", "gzip")],
    );
    assert_eq!(r.status, 200);
    let names: Vec<String> = decode(&r.decoded_body())
        .expect("decode")
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert!(names.contains(&"admin_commune".to_owned()), "{names:?}");
    assert!(
        !names.contains(&"crop".to_owned()),
        "parcels must not be drawn at z8: {names:?}"
    );
}

fn gzip_etag_and_empty_tiles(kind: StoreKind) {
    let server = kind.demo_server("gzip_etag_and_empty_tiles");
    let (_, inside) = commune_point(&server, "Mỹ Xương");
    let t = tile_containing(inside.x(), inside.y(), 13);
    let path = format!("/tiles/crop/{}/{}/{}.mvt", t.z, t.x, t.y);
    let zipped = server.get(&path, &[("accept-encoding", "gzip")]);
    let plain = server.get(&path, &[]);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(
        zipped.decoded_body(),
        plain.body,
        "gzip and identity carry the same tile"
    );
    assert!(zipped.body.len() < plain.body.len());
    let etag = zipped.header("etag").expect("etag").to_owned();
    assert!(
        zipped
            .header("cache-control")
            .expect("cache-control")
            .contains("max-age")
    );
    let again = server.get(&path, &[("if-none-match", &etag)]);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());

    // Open sea off West Africa: nothing there.
    let empty = server.get("/tiles/crop,admin_commune/14/8192/8192.mvt", &[]);
    assert_eq!(empty.status, 204);
    assert!(empty.body.is_empty());
}

fn a_write_invalidates_cached_tiles(kind: StoreKind) {
    let server = kind.demo_server("a_write_invalidates_cached_tiles");
    let store = server.store.clone();
    let (code, inside) = commune_point(&server, "Mỹ Xương");
    let t = tile_containing(inside.x(), inside.y(), 15);
    let path = format!("/tiles/ocop/{}/{}/{}.mvt", t.z, t.x, t.y);
    let before = server.get(&path, &[]);
    let ocop = layer("ocop").expect("ocop");
    let mut properties = vec![Value::Null; ocop.fields.len()];
    for (f, v) in [
        ("product_id", "OCOP-TEST-1"),
        ("commune_code", code.as_str()),
        ("boundary_set", "pre-2025"),
        ("name", "Bánh tét lá cẩm"),
    ] {
        properties[ocop.field_index(f).expect("field")] = Value::from(v);
    }
    properties[ocop.field_index("stars").expect("stars")] = Value::Int(4);
    let batch = agrimap_store::WriteBatch {
        layers: vec![agrimap_store::LayerWrite {
            layer: ocop,
            replace: false,
            features: vec![agrimap_model::Feature {
                id: 0,
                geometry: inside.into(),
                properties,
            }],
        }],
        readings: vec![],
        ..Default::default()
    };
    block_on(store.write(batch)).expect("write");
    let after = server.get(&path, &[]);
    assert_eq!(after.status, 200);
    assert_ne!(before.header("etag"), after.header("etag"));
    let names: Vec<Value> = decode(&after.body).expect("decode")[0]
        .features
        .iter()
        .filter_map(|f| f.properties.get("name").cloned())
        .collect();
    assert!(names.contains(&Value::from("Bánh tét lá cẩm")), "{names:?}");
}

/// A crop parcel: a square of `side` degrees centred on `at`.
fn parcel_at(id: &str, code: &str, crop_type: &str, at: Point<f64>, side: f64) -> agrimap_model::Feature {
    let crop = layer("crop").expect("crop");
    let mut properties = vec![Value::Null; crop.fields.len()];
    for (f, v) in [
        ("parcel_id", id),
        ("commune_code", code),
        ("boundary_set", "pre-2025"),
        ("crop_type", crop_type),
        ("season", "he_thu"),
    ] {
        properties[crop.field_index(f).expect("field")] = Value::from(v);
    }
    let h = side / 2.0;
    agrimap_model::Feature {
        id: 0,
        geometry: geo::Rect::new(
            geo::coord! { x: at.x() - h, y: at.y() - h },
            geo::coord! { x: at.x() + h, y: at.y() + h },
        )
        .to_polygon()
        .into(),
        properties,
    }
}

fn coalesced_tile_layers_are_kept_by_the_store_until_a_write_reaches_them(kind: StoreKind) {
    use agrimap_store::OverviewKey;
    let server = kind.demo_server("coalesced_tile_layers_are_kept_by_the_store_until_a_write_reaches_them");
    let store = server.store.clone();
    let (code, inside) = commune_point(&server, "Mỹ Xương");
    let near = tile_containing(inside.x(), inside.y(), 12);
    // Another farmed z12 tile, well away from the first.
    let crop = layer("crop").expect("crop");
    let parcels = block_on(store.features(crop, &FeatureQuery::default())).expect("parcels");
    let far = parcels
        .iter()
        .filter_map(|p| p.geometry.bounding_rect())
        .map(|r| tile_containing(r.center().x, r.center().y, 12))
        .find(|t| t.x.abs_diff(near.x) > 2 || t.y.abs_diff(near.y) > 2)
        .expect("a farmed tile away from Mỹ Xương");
    let key = |t: TileCoord| OverviewKey {
        layer: "crop",
        options: agrimap_core::tiles::served_options().fingerprint(),
        z: t.z,
        x: t.x,
        y: t.y,
    };
    let path = |layers: &str, t: TileCoord| format!("/tiles/{layers}/{}/{}/{}.mvt", t.z, t.x, t.y);

    // Drawn once, the crop layer is kept: a crop-only tile is its kept bytes.
    let near_tile = server.get(&path("crop", near), &[]);
    assert_eq!(near_tile.status, 200);
    let kept = block_on(store.overview(&key(near)))
        .expect("read")
        .expect("the near tile's crop layer is kept");
    assert_eq!(kept, near_tile.body);
    assert_eq!(server.get(&path("crop", far), &[]).status, 200);
    assert!(block_on(store.overview(&key(far))).expect("read").is_some());

    // What is kept is what is served: a kept empty layer (at the current
    // version) leaves crop out of a tile the server has not cached yet.
    let version = block_on(store.versions()).expect("versions")["crop"];
    let bounds = agrimap_tiles::tile_bounds_buffered(near, 64, 4096);
    assert!(block_on(store.keep_overview(&key(near), bounds, version, &[])).expect("keep"));
    let names = |layers: &[DecodedLayer]| layers.iter().map(|l| l.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&get_tile(&server, "crop,admin_commune", near)), ["admin_commune"]);

    // A parcel of lotus written in the near tile forgets its kept layer (and
    // only its own): the tile is drawn afresh, with the lotus.
    let lotus = parcel_at("PS-KEPT-1", &code, "lotus", inside, 0.002);
    let batch = agrimap_store::WriteBatch {
        layers: vec![agrimap_store::LayerWrite {
            layer: crop,
            replace: false,
            features: vec![lotus],
        }],
        ..Default::default()
    };
    block_on(store.write(batch)).expect("write");
    assert_eq!(block_on(store.overview(&key(near))).expect("read"), None);
    assert!(block_on(store.overview(&key(far))).expect("read").is_some());
    let drawn = get_tile(&server, "crop,aquaculture", near);
    let classes: Vec<Value> = drawn
        .iter()
        .find(|l| l.name == "crop")
        .expect("crop is drawn again")
        .features
        .iter()
        .map(|f| f.properties["crop_type"].clone())
        .collect();
    assert!(classes.contains(&Value::from("lotus")), "{classes:?}");
    assert!(
        block_on(store.overview(&key(near))).expect("read").is_some(),
        "kept again"
    );
}

/// The server merges a coalesced layer's parcels as the store streams them
/// in; the bytes are those of the whole tile encoded at once from every
/// parcel it reaches, at every coalesced zoom.
fn coalesced_tiles_drawn_from_streamed_parcels_equal_the_tile_of_all_parcels_at_once(kind: StoreKind) {
    let server = kind.demo_server("coalesced_tiles_drawn_from_streamed_parcels_equal_the_tile_of_all_parcels_at_once");
    let (_, inside) = commune_point(&server, "Mỹ Xương");
    let layers = [layer("crop").expect("crop"), layer("aquaculture").expect("aquaculture")];
    let opts = agrimap_core::tiles::served_options();
    // Parcels are drawn from z11, and coalesced below z13.
    for z in [11, 12] {
        let t = tile_containing(inside.x(), inside.y(), z);
        let read = tile_features(&server, &layers, t);
        assert!(read[0].len() > 500, "z{z}: a farmed tile, {} parcels", read[0].len());
        let parts: Vec<(&agrimap_model::LayerDef, &[agrimap_model::Feature])> =
            layers.iter().copied().zip(read.iter().map(Vec::as_slice)).collect();
        let at_once = agrimap_tiles::encode_tile(t, &parts, Audience::Public, &opts);
        let path = format!("/tiles/crop,aquaculture/{}/{}/{}.mvt", t.z, t.x, t.y);
        let streamed = server.get(&path, &[]);
        assert_eq!(streamed.status, 200, "z{z}");
        assert_eq!(streamed.decoded_body(), at_once, "z{z}: {path}");
        assert!(
            decode(&at_once)
                .expect("valid")
                .iter()
                .all(|l| l.features.iter().all(|f| f.id.is_none())),
            "z{z}: the layers are coalesced there"
        );
    }
}

/// At z13 the dense layers are drawn parcel by parcel, with their public
/// fields, and kept whole: what is kept is what is served, and an update of
/// a field the merged shapes below do not draw (the season) forgets it, so
/// the tile is drawn again with the new value.
fn dense_layers_are_kept_whole_at_the_first_legible_zoom(kind: StoreKind) {
    use agrimap_store::{OverviewKey, Upsert};
    let server = kind.demo_server("dense_layers_are_kept_whole_at_the_first_legible_zoom");
    let store = server.store.clone();
    let (_, inside) = commune_point(&server, "Mỹ Xương");
    let crop = layer("crop").expect("crop");
    let t = tile_containing(inside.x(), inside.y(), 13);
    let key = OverviewKey {
        layer: "crop",
        options: agrimap_core::tiles::served_options().fingerprint(),
        z: t.z,
        x: t.x,
        y: t.y,
    };
    let path = format!("/tiles/crop/{}/{}/{}.mvt", t.z, t.x, t.y);
    let first = server.get(&path, &[]);
    assert_eq!(first.status, 200);
    let kept = block_on(store.overview(&key)).expect("read").expect("kept whole");
    assert_eq!(kept, first.decoded_body());

    let season = crop.field_index("season").expect("field");
    let parcel = tile_features(&server, &[crop], t)
        .remove(0)
        .into_iter()
        .find(|p| p.properties[season] != Value::from("thu_dong"))
        .expect("a parcel of another season");
    let mut autumn = parcel.clone();
    autumn.properties[season] = Value::from("thu_dong");
    block_on(store.upsert(Upsert {
        layer: crop,
        features: vec![autumn],
        update: vec!["season"],
        insert_new: true,
    }))
    .expect("season");
    assert_eq!(block_on(store.overview(&key)).expect("read"), None, "forgotten");
    let drawn = get_tile(&server, "crop", t);
    let seasons: Vec<&Value> = drawn[0]
        .features
        .iter()
        .filter(|f| f.id == u64::try_from(parcel.id).ok())
        .map(|f| &f.properties["season"])
        .collect();
    assert_eq!(seasons, [&Value::from("thu_dong")]);
    assert!(block_on(store.overview(&key)).expect("read").is_some(), "kept again");
}

/// Waits for a server's pass of keeping ahead to end (its log line), and
/// returns how many tile layers it drew.
fn kept_ahead(server: &agrimap_suite::ServeProcess) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(5);
    loop {
        let log = server.log();
        if let Some(line) = log.lines().find(|l| l.contains("tile layers kept ahead")) {
            let drawn = line.split("drawn=").nth(1).and_then(|r| r.split_whitespace().next());
            return drawn.and_then(|n| n.parse::<usize>().ok()).expect("the count drawn");
        }
        assert!(std::time::Instant::now() < deadline, "no pass ended:\n{log}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Two servers started together over one database keep the province's
/// tiles ahead once between them: one holds the store's lease and draws
/// them, the other waits for it and then finds every one kept.
#[test]
fn two_servers_over_one_database_keep_the_tiles_ahead_once_postgis() {
    use agrimap_suite::{PgDatabase, ServeProcess, demo_dir, scratch_dir};
    let test = "two_servers_keep_ahead_once";
    let database = PgDatabase::demo(test);
    let store: std::sync::Arc<dyn agrimap_store::Store> = std::sync::Arc::new(database.store());
    let tiles = agrimap_core::tiles::TileService::new(store, 0, agrimap_core::metrics::CoreMetrics::default());
    let wanted = block_on(tiles.layers_to_keep()).expect("the province's tiles").len();
    let seed = demo_dir();
    let dirs = [scratch_dir(&format!("{test}_a")), scratch_dir(&format!("{test}_b"))];
    // Started at once, so that their passes overlap.
    let servers: Vec<ServeProcess> = std::thread::scope(|scope| {
        let starting: Vec<_> = dirs
            .iter()
            .map(|dir| {
                let (seed, url) = (&seed, database.url.as_str());
                scope.spawn(move || {
                    let env = [
                        ("AGRIMAP_DATA_DIR", dir.as_os_str()),
                        ("AGRIMAP_SEED_DIR", seed.as_os_str()),
                        ("AGRIMAP_KEEP_TILES_AHEAD", std::ffi::OsStr::new("true")),
                    ];
                    ServeProcess::start(&["--database", url], &env)
                })
            })
            .collect();
        starting.into_iter().map(|s| s.join().expect("started")).collect()
    });
    let drawn: Vec<usize> = servers.iter().map(kept_ahead).collect();
    assert_eq!(drawn.iter().sum::<usize>(), wanted, "drawn by each: {drawn:?}");
    assert!(drawn.contains(&0), "one server drew every layer: {drawn:?}");
}

/// `agrimap serve` keeps ahead: at start it draws, in the background, every
/// dense layer's tile over the province from its first zoom to z13 that the
/// store does not keep, so no one waits for a first draw; started again, it
/// finds them kept and draws none.
fn serve_keeps_the_province_tiles_ahead(kind: StoreKind) {
    use agrimap_store::OverviewKey;
    use agrimap_suite::{PgDatabase, ServeProcess, demo_dir, scratch_dir, shared_store_path};
    let test = "serve_keeps_the_province_tiles_ahead";
    let dir = scratch_dir(test);
    let seed = demo_dir();
    let env = [
        ("AGRIMAP_DATA_DIR", dir.as_os_str()),
        ("AGRIMAP_SEED_DIR", seed.as_os_str()),
        ("AGRIMAP_KEEP_TILES_AHEAD", std::ffi::OsStr::new("true")),
    ];
    let database = (kind == StoreKind::PostGis).then(|| PgDatabase::demo(test));
    let args: Vec<&str> = database
        .as_ref()
        .map(|db| vec!["--database", db.url.as_str()])
        .unwrap_or_default();
    let store: std::sync::Arc<dyn agrimap_store::Store> = if let Some(db) = &database {
        std::sync::Arc::new(db.store())
    } else {
        let path = dir.join("agrimap.gpkg");
        std::fs::copy(shared_store_path(), &path).expect("copying the demo store");
        std::sync::Arc::new(agrimap_store::GpkgStore::open(&path).expect("open"))
    };
    let tiles = agrimap_core::tiles::TileService::new(store.clone(), 0, agrimap_core::metrics::CoreMetrics::default());
    let wanted = block_on(tiles.layers_to_keep()).expect("the province's tiles");
    let zooms: std::collections::BTreeSet<u8> = wanted.iter().map(|(_, t)| t.z).collect();
    assert_eq!(zooms.into_iter().collect::<Vec<_>>(), [10, 11, 12, 13]);
    assert!(wanted.iter().any(|(l, _)| l.id == "crop") && wanted.iter().any(|(l, _)| l.id == "aquaculture"));

    let options = agrimap_core::tiles::served_options().fingerprint();
    let kept = |(layer, t): &(&agrimap_model::LayerDef, TileCoord)| {
        let key = OverviewKey {
            layer: layer.id,
            options: options.clone(),
            z: t.z,
            x: t.x,
            y: t.y,
        };
        block_on(store.overview(&key)).expect("read").is_some()
    };
    // (The shared demo store may hold layers other tests drew.)
    let kept_before = wanted.iter().filter(|w| kept(w)).count();
    assert!(
        kept_before < wanted.len() / 2,
        "{kept_before} of {} kept before",
        wanted.len()
    );
    let server = ServeProcess::start(&args, &env);
    assert_eq!(kept_ahead(&server), wanted.len() - kept_before);
    for w in &wanted {
        assert!(kept(w), "{} {:?} is kept", w.0.id, w.1);
    }
    drop(server);
    let again = ServeProcess::start(&args, &env);
    assert_eq!(kept_ahead(&again), 0, "everything was kept already");
}

/// The features of `layers` that the server's tile query reads for `t`.
fn tile_features(
    server: &TestServer,
    layers: &[&'static agrimap_model::LayerDef],
    t: TileCoord,
) -> Vec<Vec<agrimap_model::Feature>> {
    let opts = agrimap_core::tiles::served_options();
    let query = FeatureQuery {
        bbox: Some(agrimap_tiles::tile_bounds_buffered(t, opts.buffer, opts.extent)),
        min_extent: Some(tile_bounds(t).width() / f64::from(opts.extent)),
        ..FeatureQuery::default()
    };
    layers
        .iter()
        .map(|&l| block_on(server.store.features(l, &query)).expect("query"))
        .collect()
}

/// A write over a tile whose coalesced layer was kept leaves the layer's
/// edges in the store with the write's old and new versions beside them;
/// the tile is then drawn from those, and its bytes are those of a drawing
/// of every parcel the tile reaches after the write.
// One server's story told in order: each step reads what the one before wrote.
#[allow(clippy::too_many_lines)]
fn a_tile_a_write_reached_is_drawn_from_its_kept_edges_as_from_every_parcel(kind: StoreKind) {
    use agrimap_store::{Change, OverviewKey, Upsert, WriteBatch};
    let server = kind.demo_server("a_tile_a_write_reached_is_drawn_from_its_kept_edges_as_from_every_parcel");
    let store = server.store.clone();
    let (code, inside) = commune_point(&server, "Mỹ Xương");
    let layers = [layer("crop").expect("crop"), layer("aquaculture").expect("aquaculture")];
    let crop = layers[0];
    let opts = agrimap_core::tiles::served_options();
    let tiles = [11, 12].map(|z| tile_containing(inside.x(), inside.y(), z));
    let path = |t: TileCoord| format!("/tiles/crop,aquaculture/{}/{}/{}.mvt", t.z, t.x, t.y);
    let key = |t: TileCoord| OverviewKey {
        layer: "crop",
        options: opts.fingerprint(),
        z: t.z,
        x: t.x,
        y: t.y,
    };
    for &t in &tiles {
        assert_eq!(server.get(&path(t), &[]).status, 200);
        let edges = block_on(store.overview_edges(&key(t)))
            .expect("read")
            .expect("edges kept with the layer");
        assert!(edges.changes.is_empty(), "z{}: nothing written yet", t.z);
    }

    // The write, well inside the z12 tile: one parcel recoded and moved,
    // one deleted, one new.
    let mut parcels = tile_features(&server, &[crop], tiles[1]).remove(0);
    let centre = tile_bounds(tiles[1]).center();
    parcels.sort_by(|a, b| {
        let d = |f: &agrimap_model::Feature| {
            let c = f.geometry.bounding_rect().expect("box").center();
            (c.x - centre.x).hypot(c.y - centre.y)
        };
        d(a).total_cmp(&d(b))
    });
    let (recoded, deleted) = (&parcels[0], &parcels[1]);
    let crop_type = crop.field_index("crop_type").expect("field");
    assert_ne!(recoded.properties[crop_type], Value::from("lotus"));
    let mut moved = recoded.clone();
    moved.properties[crop_type] = Value::from("lotus");
    moved.geometry = geo::Translate::translate(&moved.geometry, 0.0004, 0.0003);
    block_on(store.upsert(Upsert {
        layer: crop,
        features: vec![moved],
        update: vec!["crop_type"],
        insert_new: true,
    }))
    .expect("upsert");
    let parcel_id = crop.field_index("parcel_id").expect("field");
    block_on(store.write(WriteBatch {
        layers: vec![agrimap_store::LayerWrite {
            layer: crop,
            replace: false,
            features: vec![parcel_at("PS-EDGES-1", &code, "lotus", centre.into(), 0.001)],
        }],
        changes: vec![Change {
            at: agrimap_model::UtcTime::now(),
            layer: crop,
            put: Vec::new(),
            remove: vec![vec![deleted.properties[parcel_id].clone()]],
        }],
        ..WriteBatch::default()
    }))
    .expect("write");

    // Each tile's encoded layer is forgotten; its edges stay, with the
    // write's versions: the recoded parcel's old and new, the deleted one's
    // old, the new one.
    for &t in &tiles {
        assert_eq!(block_on(store.overview(&key(t))).expect("read"), None);
        if let Some(edges) = block_on(store.overview_edges(&key(t))).expect("read")
            && !edges.changes.is_empty()
        {
            let removed = edges.changes.iter().filter(|c| c.removed).count();
            assert_eq!((removed, edges.changes.len() - removed), (2, 2), "z{}", t.z);
            let lotus = edges
                .changes
                .iter()
                .filter(|c| !c.removed && c.feature.properties[crop_type] == Value::from("lotus"))
                .count();
            assert_eq!(lotus, 2, "z{}: the new versions carry their class", t.z);
        }
        // (else the server's background redraw has folded them already)
    }

    let taken_up = |server: &TestServer| {
        let metrics = String::from_utf8(server.get("/metrics", &[]).body).expect("text");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("agrimap_tile_layers_taken_up_total "))
            .and_then(|n| n.trim().parse::<f64>().ok())
            .expect("the counter is served")
    };
    for &t in &tiles {
        let read = tile_features(&server, &layers, t);
        let parts: Vec<(&agrimap_model::LayerDef, &[agrimap_model::Feature])> =
            layers.iter().copied().zip(read.iter().map(Vec::as_slice)).collect();
        let from_every_parcel = agrimap_tiles::encode_tile(t, &parts, Audience::Public, &opts);
        let answer = server.get(&path(t), &[]);
        assert_eq!(answer.status, 200);
        assert!(
            answer.decoded_body() == from_every_parcel,
            "z{}: {} is not the drawing of every parcel",
            t.z,
            path(t)
        );
        let edges = block_on(store.overview_edges(&key(t)))
            .expect("read")
            .expect("edges kept");
        assert!(edges.changes.is_empty(), "z{}: the write is folded into the edges", t.z);
        assert!(
            block_on(store.overview(&key(t))).expect("read").is_some(),
            "z{}: kept again",
            t.z
        );
    }
    // Both tiles' crop layers (at least) were taken up, not drawn afresh.
    assert!(taken_up(&server) >= 2.0);
}

fn bad_requests_get_json_errors(kind: StoreKind) {
    let server = kind.demo_server("bad_requests_get_json_errors");
    for (path, status, code) in [
        ("/tiles/nope/1/0/0.mvt", 404, "unknown_layer"),
        ("/tiles/crop,nope.json", 404, "unknown_layer"),
        ("/tiles/crop/3/9/0.mvt", 400, "bad_tile"),
        ("/tiles/crop/abc/0/0.mvt", 400, "bad_tile"),
        ("/tiles/crop/99/0/0.mvt", 400, "bad_tile"),
        ("/tiles/crop/-1/0/0.mvt", 400, "bad_tile"),
        ("/tiles/crop,crop/1/0/0.mvt", 400, "bad_layers"),
        ("/tiles/crop/1/0/0.png", 404, "bad_tile"),
        ("/tiles/crop/1/0", 404, "not_found"),
        ("/tiles/%FF/1/0/0.mvt", 400, "bad_encoding"),
        ("/styles/satellite.json", 404, "unknown_style"),
        ("/no/such/thing", 404, "not_found"),
    ] {
        let r = server.get(path, &[]);
        assert_eq!((r.status, r.error_code().as_str()), (status, code), "{path}");
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
    }
    let r = agrimap_suite::request("POST", &format!("{}/health", server.base), &[]);
    assert_eq!((r.status, r.error_code().as_str()), (405, "method_not_allowed"));
}

agrimap_suite::store_suite!(
    health_names_the_store,
    catalog_lists_every_layer_with_typed_fields_and_access,
    tilejson_describes_public_fields_with_absolute_urls,
    z14_tile_at_my_xuong_holds_its_parcels_with_public_attributes_and_true_geometry,
    z12_tile_merges_parcels_by_crop_type_and_keeps_the_area_of_each,
    restricted_fields_never_appear_in_any_layer,
    low_zoom_tiles_leave_out_parcels_and_are_compact,
    gzip_etag_and_empty_tiles,
    bad_requests_get_json_errors,
    a_write_invalidates_cached_tiles,
    coalesced_tile_layers_are_kept_by_the_store_until_a_write_reaches_them,
    coalesced_tiles_drawn_from_streamed_parcels_equal_the_tile_of_all_parcels_at_once,
    a_tile_a_write_reached_is_drawn_from_its_kept_edges_as_from_every_parcel,
    dense_layers_are_kept_whole_at_the_first_legible_zoom,
    serve_keeps_the_province_tiles_ahead,
);
