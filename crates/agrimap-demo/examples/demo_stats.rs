use agrimap_demo::{DemoOptions, generate};
use geo::{Area, Contains, Validation, Winding};
use std::collections::BTreeMap;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let parcels: usize = args.get(1).map_or(60_000, |s| s.parse().unwrap());
    let seed: u64 = args.get(2).map_or(2025, |s| s.parse().unwrap());
    let t = std::time::Instant::now();
    let p = generate(&DemoOptions { seed, parcels });
    println!("generate {parcels}: {:?}", t.elapsed());
    for (l, f) in &p.layers {
        println!("{} {}", l.id, f.len());
    }
    if args.len() > 3 { return; }
    let dir = std::env::temp_dir().join("demo-stats");
    let t = std::time::Instant::now();
    let m = agrimap_demo::write_dir(&p, &DemoOptions { seed, parcels }, &dir).unwrap();
    println!("write: {:?} {:?}", t.elapsed(), m.bounds);
    let mut tot = 0;
    for e in std::fs::read_dir(&dir).unwrap() { let e = e.unwrap(); let n = e.metadata().unwrap().len(); tot += n; println!("  {:?} {n}", e.file_name()); }
    println!("total {tot}");
    // validity
    for (l, fs) in &p.layers {
        let mut invalid = 0; let mut cw = 0;
        for f in fs {
            if !f.geometry.is_valid() { invalid += 1; if invalid < 3 { println!("invalid {} {}: {:?}", l.id, f.id, f.geometry.check_validation()); } }
            let polys: Vec<geo::Polygon<f64>> = match &f.geometry { geo::Geometry::Polygon(p) => vec![p.clone()], geo::Geometry::MultiPolygon(m) => m.0.clone(), _ => vec![] };
            for pg in polys { if !pg.exterior().is_ccw() { cw += 1; } for i in pg.interiors() { if i.is_ccw() { cw += 1; } } }
        }
        println!("{}: invalid {invalid}, wrong orientation {cw}", l.id);
    }
    let crop = p.layer("crop");
    let l = agrimap_model::layer("crop").unwrap();
    let fi = |n: &str| l.field_index(n).unwrap();
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    let mut seasons: BTreeMap<String, usize> = BTreeMap::new();
    for f in crop { *by.entry(f.properties[fi("crop_type")].as_str().unwrap().to_owned()).or_default() += 1;
      *seasons.entry(format!("{} {} {}", f.properties[fi("crop_type")].as_str().unwrap(), f.properties[fi("season")].as_str().unwrap(), &f.properties[fi("planting_date")].as_str().unwrap()[..7])).or_default() += 1; }
    for (k, v) in &by { println!("  {k}: {:.1}%", 100.0 * *v as f64 / crop.len() as f64); }
    for (k, v) in &seasons { println!("    {k}: {v}"); }
    let communes = p.layer("admin_commune");
    let cl = agrimap_model::layer("admin_commune").unwrap();
    let by_code: BTreeMap<&str, &agrimap_model::Feature> = communes.iter().map(|f| (f.properties[cl.field_index("code").unwrap()].as_str().unwrap(), f)).collect();
    let inside = crop.iter().filter(|f| by_code[f.properties[fi("commune_code")].as_str().unwrap()].geometry.contains(&f.geometry)).count();
    println!("inside share {:.4}", inside as f64 / crop.len() as f64);
    let areas: Vec<f64> = crop.iter().map(|f| f.properties[fi("area_ha")].as_f64().unwrap()).collect();
    let maxa = areas.iter().cloned().fold(0.0, f64::max);
    let clipped = areas.iter().filter(|a| **a < maxa * 0.97).count();
    println!("clipped share {:.4}", clipped as f64 / crop.len() as f64);
    println!("area mean {:.4} max {:.4}", areas.iter().sum::<f64>() / areas.len() as f64, areas.iter().cloned().fold(0.0, f64::max));
    let coded = crop.iter().filter(|f| !f.properties[fi("growing_area_code")].is_null()).count();
    println!("coded {coded}");
    let ga = p.layer("growing_area"); let gl = agrimap_model::layer("growing_area").unwrap();
    let mut gab: BTreeMap<String, usize> = BTreeMap::new();
    for f in ga { *gab.entry(f.properties[gl.field_index("crop_type").unwrap()].as_str().unwrap().to_owned()).or_default() += 1; }
    println!("growing areas {gab:?}");
    let _ = p.layer("admin_province")[0].geometry.unsigned_area();
    for f in p.layer("monitoring") { println!("  {:?}", f.properties); }
    for f in p.layer("admin_district") { println!("  {:?}", f.properties); }
    for f in p.layer("water") { println!("  {:?}", f.properties); }
    let mut rng: BTreeMap<(String,String),(f64,f64)> = BTreeMap::new();
    for r in &p.readings { let e = rng.entry((r.station_id.clone(), r.parameter.clone())).or_insert((f64::MAX, f64::MIN)); e.0 = e.0.min(r.value); e.1 = e.1.max(r.value); }
    for (k, v) in &rng { println!("  {k:?} {v:?}"); }
}
