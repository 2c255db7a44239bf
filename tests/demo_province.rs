//! What ships in data/demo is a plausible province: the counts the issue asks
//! for, Vietnamese names, parcels that tessellate and mostly lie inside their
//! commune, codes that resolve, restricted fields filled in.

use agrimap_demo::{read_layer, read_manifest, read_readings};
use agrimap_model::{Feature, Value, layer};
use agrimap_suite::demo_dir;
use geo::{BoundingRect, Contains, Intersects, Rect};
use std::collections::{BTreeMap, BTreeSet};

fn features(id: &str) -> Vec<Feature> {
    read_layer(&demo_dir(), layer(id).expect("layer")).expect("demo layer reads")
}

fn text<'a>(id: &str, f: &'a Feature, field: &str) -> &'a str {
    let i = layer(id).and_then(|l| l.field_index(field)).expect("field");
    f.properties[i].as_str().unwrap_or("")
}

#[test]
fn counts_and_names() {
    let m = read_manifest(&demo_dir()).expect("manifest");
    assert!(m.synthetic && m.name.contains("mô phỏng"), "{}", m.name);
    let c = &m.counts;
    assert!((8..=12).contains(&c["admin_district"]), "{c:?}");
    assert!((100..=150).contains(&c["admin_commune"]), "{c:?}");
    assert!(
        c["crop"] >= 50_000 && c["growing_area"] >= 90 && c["ocop"] >= 140 && c["monitoring"] >= 20,
        "{c:?}"
    );
    assert!(
        c["aquaculture"] > 1_000 && c["water"] >= 3 && c["roads"] > 50 && c["places"] > 100,
        "{c:?}"
    );

    let communes = features("admin_commune");
    let names: BTreeSet<&str> = communes.iter().map(|f| text("admin_commune", f, "name")).collect();
    assert_eq!(names.len(), communes.len(), "commune names are unique");
    for n in ["Mỹ Xương", "Tân Thuận Tây"] {
        assert!(names.contains(n), "{n} missing");
    }
    assert!(
        names.iter().filter(|n| !n.is_ascii()).count() > communes.len() / 2,
        "Vietnamese diacritics"
    );

    // Thirty days of hourly readings for every parameter of every station,
    // and the light traps' catch sorted by species once a trap-night.
    let stations = features("monitoring");
    let readings = read_readings(&demo_dir()).expect("readings");
    let mut per_series: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in &readings {
        *per_series
            .entry((r.station_id.clone(), r.parameter.clone()))
            .or_default() += 1;
    }
    assert!(
        per_series
            .iter()
            .all(|((_, p), &n)| n == if p.starts_with("pest_count:") { 30 } else { 30 * 24 }),
        "{per_series:?}"
    );
    let sorted: BTreeSet<&str> = per_series
        .keys()
        .filter_map(|(_, p)| p.strip_prefix("pest_count:"))
        .collect();
    assert_eq!(sorted.len(), 6, "{sorted:?}");
    let kinds: BTreeSet<&str> = stations.iter().map(|s| text("monitoring", s, "kind")).collect();
    assert!(
        kinds.contains("water_quality") && kinds.contains("insect_trap"),
        "{kinds:?}"
    );
    for s in &stations {
        let params = text("monitoring", s, "parameters");
        let id = text("monitoring", s, "station_id");
        for p in params.split(',') {
            assert!(
                per_series.contains_key(&(id.to_owned(), p.to_owned())),
                "{id} has no {p} readings"
            );
        }
    }
}

#[test]
fn every_thematic_feature_names_an_existing_commune_and_lies_in_or_on_it() {
    let communes = features("admin_commune");
    let by_code: BTreeMap<&str, &Feature> = communes.iter().map(|f| (text("admin_commune", f, "code"), f)).collect();
    for id in ["crop", "aquaculture", "monitoring", "growing_area", "ocop"] {
        for f in features(id) {
            let code = text(id, &f, "commune_code");
            let commune = by_code
                .get(code)
                .unwrap_or_else(|| panic!("{id} {}: unknown commune {code}", f.id));
            assert!(
                commune.geometry.intersects(&f.geometry),
                "{id} {} is not in commune {code}",
                f.id
            );
            assert_eq!(text(id, &f, "boundary_set"), "pre-2025");
        }
    }
}

#[test]
fn parcels_tessellate_mostly_inside_their_commune_with_some_straddling() {
    let communes = features("admin_commune");
    let by_code: BTreeMap<&str, &Feature> = communes.iter().map(|f| (text("admin_commune", f, "code"), f)).collect();
    let crop = features("crop");

    // No two parcels overlap: their boxes may touch but never share area
    // (parcels are cells of one grid, some clipped smaller).
    let mut boxes: Vec<Rect<f64>> = crop.iter().map(|f| f.geometry.bounding_rect().expect("bbox")).collect();
    boxes.sort_by(|a, b| a.min().x.total_cmp(&b.min().x));
    let eps = 1e-9;
    for (i, a) in boxes.iter().enumerate() {
        for b in &boxes[i + 1..] {
            if b.min().x >= a.max().x - eps {
                break;
            }
            let overlap_y = a.max().y.min(b.max().y) - a.min().y.max(b.min().y);
            assert!(overlap_y <= eps, "parcels overlap: {a:?} {b:?}");
        }
    }

    let inside = crop
        .iter()
        .filter(|f| by_code[text("crop", f, "commune_code")].geometry.contains(&f.geometry))
        .count();
    let share = inside as f64 / crop.len() as f64;
    assert!(share > 0.9, "only {share:.3} of parcels lie inside their commune");
    assert!(share < 0.999, "no parcel straddles a commune boundary ({share:.4})");

    // Restricted fields are filled, public ones typed and plausible.
    let crop_layer = layer("crop").expect("crop");
    let phone = crop_layer.field_index("owner_phone").expect("field");
    let area = crop_layer.field_index("area_ha").expect("field");
    assert!(
        crop.iter()
            .all(|f| matches!(&f.properties[phone], Value::Text(p) if p.len() == 10 && p.starts_with('0')))
    );
    assert!(
        crop.iter()
            .all(|f| f.properties[area].as_f64().is_some_and(|a| a > 0.0 && a < 1.0))
    );
    let rice = crop.iter().filter(|f| text("crop", f, "crop_type") == "rice").count();
    assert!(
        rice * 2 > crop.len(),
        "rice dominates the delta: {rice} of {}",
        crop.len()
    );
    let coded = crop
        .iter()
        .filter(|f| !text("crop", f, "growing_area_code").is_empty())
        .count();
    assert!(coded > 1_000, "{coded} parcels carry a growing-area code");
}
