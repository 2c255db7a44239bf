//! Irrigation of the demo province: the works along its canals and rivers
//! (sluice gates where a canal meets the water it draws from, pumping
//! stations on the canal banks, dykes along the rivers, embankments along
//! the canals) and the irrigated areas (khu tưới) over its rice farmland.

use crate::admin::Admin;
use crate::feature::{FeatureBuilder, geodesic_ha};
use crate::network::Waterway;
use crate::plane::{distance, round7};
use crate::rng::Rng;
use agrimap_model::{Feature, Value, layer};
use geo::{BooleanOps, Coord, Geodesic, Length, LineString, MapCoords, MultiPolygon, Point, Rect, coord};
use std::collections::BTreeMap;

/// Works and areas, in the catalog's layers.
pub struct Irrigation {
    pub works: Vec<Feature>,
    pub areas: Vec<Feature>,
}

/// Points every `step` metres along a polyline of the plane.
fn along(line: &[Coord<f64>], step: f64, offset: f64) -> Vec<(Coord<f64>, Coord<f64>)> {
    let mut out = Vec::new();
    let mut next = step / 2.0;
    let mut walked = 0.0;
    for w in line.windows(2) {
        let len = distance(w[0], w[1]);
        if len <= 0.0 {
            continue;
        }
        let dir = coord! { x: (w[1].x - w[0].x) / len, y: (w[1].y - w[0].y) / len };
        while next <= walked + len {
            let t = next - walked;
            let at = coord! { x: w[0].x + dir.x * t - dir.y * offset, y: w[0].y + dir.y * t + dir.x * offset };
            out.push((at, dir));
            next += step;
        }
        walked += len;
    }
    out
}

fn managing_body(rng: &mut Rng, admin: &Admin, commune: usize, big: bool) -> String {
    let c = &admin.communes[commune];
    if big {
        "Công ty TNHH MTV Khai thác công trình thủy lợi Phù Sa".to_owned()
    } else if rng.f64() < 0.5 {
        format!("UBND {}", c.name)
    } else {
        format!("HTX nông nghiệp {}", c.name)
    }
}

fn condition(rng: &mut Rng) -> &'static str {
    match rng.f64() {
        r if r < 0.55 => "good",
        r if r < 0.80 => "fair",
        r if r < 0.95 => "degraded",
        _ => "damaged",
    }
}

/// Builds the works and the irrigated areas.
#[must_use]
pub fn build(seed: u64, admin: &Admin, water: &[Waterway], crop: &[Feature]) -> Irrigation {
    let mut rng = Rng::stream(seed, "irrigation");
    let frame = admin.frame;
    let mut works = Vec::new();
    // Points on the canals: a sluice gate every ~6 km, a pumping station
    // between two gates, on the bank.
    let mut stations: Vec<(Coord<f64>, String, usize)> = Vec::new();
    for canal in water.iter().filter(|w| w.kind == "canal") {
        for (k, (at, _)) in along(&canal.line, 3_000.0, canal.width_m / 2.0 + 25.0)
            .into_iter()
            .enumerate()
        {
            let Some(commune) = admin.commune_at(at) else { continue };
            let gate = k % 2 == 0;
            let n = works.len();
            let work_id = format!("CTTL-99-{:04}", n + 1);
            let (kind, name, capacity) = if gate {
                (
                    "sluice_gate",
                    format!("Cống {} số {}", canal.name.trim_start_matches("Kênh "), k / 2 + 1),
                    round2(rng.range(8.0, 45.0)),
                )
            } else {
                (
                    "pumping_station",
                    format!("Trạm bơm {}", admin.communes[commune].name),
                    round2(rng.range(0.3, 2.5)),
                )
            };
            let point: Point<f64> = frame.lonlat(at).into();
            works.push(
                FeatureBuilder::new("irrigation_works", n, point.into())
                    .set("work_id", work_id.clone())
                    .set("commune_code", admin.communes[commune].code.clone())
                    .set("name", name)
                    .set("kind", kind)
                    .set("capacity", capacity)
                    .set("condition", condition(&mut rng))
                    .set("managing_body", managing_body(&mut rng, admin, commune, gate))
                    .set("built_year", i64::try_from(1995 + rng.below(30)).unwrap_or(2010))
                    .build(),
            );
            stations.push((at, work_id, commune));
        }
    }
    // Lines: dykes along both rivers, embankments along the canals, in
    // pieces of a few kilometres, each coded by the commune of its middle.
    for w in water {
        let (kind, piece, offset) = if w.kind == "river" {
            ("dyke", 24, w.width_m / 2.0 + 120.0)
        } else {
            ("embankment", 8, w.width_m / 2.0 + 10.0)
        };
        let pts: Vec<Coord<f64>> = along(&w.line, 400.0, offset).into_iter().map(|(p, _)| p).collect();
        for chunk in pts.chunks(piece).filter(|c| c.len() >= 4) {
            if kind == "embankment" && rng.f64() < 0.6 {
                continue;
            }
            let middle = chunk[chunk.len() / 2];
            let Some(commune) = admin.commune_at(middle) else {
                continue;
            };
            if chunk.iter().any(|p| admin.commune_at(*p).is_none()) {
                continue;
            }
            let line: LineString<f64> = frame.line(chunk);
            let n = works.len();
            let name = if kind == "dyke" {
                format!("Đê bao {} đoạn {}", w.name, admin.communes[commune].name)
            } else {
                format!("Bờ bao {}", w.name)
            };
            works.push(
                FeatureBuilder::new("irrigation_works", n, geo::MultiLineString(vec![line.clone()]).into())
                    .set("work_id", format!("CTTL-99-{:04}", n + 1))
                    .set("commune_code", admin.communes[commune].code.clone())
                    .set("name", name)
                    .set("kind", kind)
                    .set("length_m", Geodesic.length(&line).round())
                    .set("condition", condition(&mut rng))
                    .set("managing_body", managing_body(&mut rng, admin, commune, kind == "dyke"))
                    .set("built_year", i64::try_from(1990 + rng.below(35)).unwrap_or(2005))
                    .build(),
            );
        }
    }
    let areas = irrigated_areas(&mut rng, admin, crop, &stations);
    Irrigation { works, areas }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The irrigated areas: each rural commune's land in quarters around its
/// centre, the quarters that hold rice parcels, served by the nearest gate
/// or pumping station of the commune.
fn irrigated_areas(
    rng: &mut Rng,
    admin: &Admin,
    crop: &[Feature],
    stations: &[(Coord<f64>, String, usize)],
) -> Vec<Feature> {
    let crop_layer = layer("crop").expect("crop");
    let (type_at, commune_at) = (
        crop_layer.field_index("crop_type").expect("crop_type"),
        crop_layer.field_index("commune_code").expect("commune_code"),
    );
    let index: BTreeMap<&str, usize> = admin
        .communes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.code.as_str(), i))
        .collect();
    // Rice parcels per commune and quarter.
    let mut rice: BTreeMap<(usize, u8), usize> = BTreeMap::new();
    for f in crop {
        let (Value::Text(t), Value::Text(code)) = (&f.properties[type_at], &f.properties[commune_at]) else {
            continue;
        };
        let (Some(&ci), Some(r)) = (index.get(code.as_str()), geo::BoundingRect::bounding_rect(&f.geometry)) else {
            continue;
        };
        if t == "rice" {
            let centre = frame_centre(admin, ci);
            *rice.entry((ci, quarter(centre, r.center()))).or_default() += 1;
        }
    }
    let mut out = Vec::new();
    for (ci, c) in admin.communes.iter().enumerate() {
        if c.kind != "xa" {
            continue;
        }
        let centre = frame_centre(admin, ci);
        let shape = MultiPolygon(vec![c.polygon.clone()]);
        for q in 0..4u8 {
            if rice.get(&(ci, q)).copied().unwrap_or(0) < 20 {
                continue;
            }
            let far = 1.0;
            let (dx, dy) = (if q & 1 == 0 { -far } else { far }, if q & 2 == 0 { -far } else { far });
            let rect = Rect::new(centre, coord! { x: round7(centre.x + dx), y: round7(centre.y + dy) });
            let part = shape
                .intersection(&MultiPolygon(vec![rect.to_polygon()]))
                .map_coords(|p| coord! { x: round7(p.x), y: round7(p.y) });
            if part.0.is_empty() {
                continue;
            }
            let (irrigation, drainage) = match rng.f64() {
                r if r < 0.72 => ("active", "active"),
                r if r < 0.86 => ("active", "not_active"),
                _ => ("not_active", "not_active"),
            };
            let source = if c.coastal {
                "tidal"
            } else if rng.f64() < 0.75 {
                "pumping"
            } else {
                "gravity"
            };
            let plane_centre = c.centre;
            let served_by = stations
                .iter()
                .filter(|(_, _, sc)| *sc == ci)
                .min_by(|a, b| distance(a.0, plane_centre).total_cmp(&distance(b.0, plane_centre)))
                .map(|(_, id, _)| id.clone());
            let g: geo::Geometry<f64> = part.into();
            let n = out.len();
            out.push(
                FeatureBuilder::new("irrigated_areas", n, g.clone())
                    .set("area_id", format!("KT-{}-{}", c.code, q + 1))
                    .set("commune_code", c.code.clone())
                    .set("irrigation", irrigation)
                    .set("drainage", drainage)
                    .set("source", source)
                    .set_opt("served_by", served_by)
                    .set("area_ha", geodesic_ha(&g))
                    .build(),
            );
        }
    }
    out
}

/// A commune's centre in longitude/latitude.
fn frame_centre(admin: &Admin, commune: usize) -> Coord<f64> {
    admin.frame.lonlat(admin.communes[commune].centre)
}

/// Which quarter around `centre` a point is in: bit 0 east, bit 1 north.
fn quarter(centre: Coord<f64>, p: Coord<f64>) -> u8 {
    u8::from(p.x >= centre.x) | (u8::from(p.y >= centre.y) << 1)
}
