//! Livestock farms of the demo province: pigs, poultry and cattle, near
//! the commune centres and hamlets where people live.

use crate::admin::Admin;
use crate::feature::FeatureBuilder;
use crate::names;
use crate::rng::Rng;
use agrimap_model::Feature;
use geo::{Coord, Point, coord};

/// The farms: a few around each commune centre and each hamlet.
#[must_use]
pub fn build(seed: u64, admin: &Admin, hamlets: &[Coord<f64>]) -> Vec<Feature> {
    let mut rng = Rng::stream(seed, "livestock");
    let settlements: Vec<Coord<f64>> = admin
        .communes
        .iter()
        .map(|c| c.centre)
        .chain(hamlets.iter().copied())
        .collect();
    let mut out = Vec::new();
    for home in settlements {
        for _ in 0..=rng.below(2) {
            let at = coord! { x: home.x + rng.range(-700.0, 700.0), y: home.y + rng.range(-700.0, 700.0) };
            let Some(ci) = admin.commune_at(at) else { continue };
            let c = &admin.communes[ci];
            let species = match rng.f64() {
                r if r < 0.42 => "pig",
                r if r < 0.64 => "chicken",
                r if r < 0.82 => "duck",
                r if r < 0.95 => "cattle",
                _ => "buffalo",
            };
            // Head counts by scale as Decree 13/2020 counts livestock units
            // (a pig about 0.1–0.3 units, a cow 1, a hen 0.01).
            let (scale, head) = match (species, rng.f64()) {
                ("pig", r) if r < 0.08 => ("large", 3_000 + rng.below(4_000)),
                ("pig", r) if r < 0.30 => ("medium", 300 + rng.below(1_200)),
                ("pig", r) if r < 0.65 => ("small", 60 + rng.below(200)),
                ("pig", _) => ("household", 5 + rng.below(40)),
                ("chicken" | "duck", r) if r < 0.10 => ("large", 30_000 + rng.below(40_000)),
                ("chicken" | "duck", r) if r < 0.35 => ("medium", 3_000 + rng.below(20_000)),
                ("chicken" | "duck", r) if r < 0.70 => ("small", 500 + rng.below(2_000)),
                ("chicken" | "duck", _) => ("household", 30 + rng.below(300)),
                (_, r) if r < 0.20 => ("medium", 100 + rng.below(200)),
                (_, r) if r < 0.55 => ("small", 10 + rng.below(60)),
                _ => ("household", 2 + rng.below(8)),
            };
            let biosecurity = match (scale, rng.f64()) {
                ("large", r) if r < 0.5 => "disease_free",
                ("large" | "medium", r) if r < 0.6 => "vietgahp",
                (_, r) if r < 0.08 => "vietgahp",
                _ => "none",
            };
            let n = out.len();
            let point: Point<f64> = admin.frame.lonlat(at).into();
            out.push(
                FeatureBuilder::new("livestock_farms", n, point.into())
                    .set("farm_id", format!("CN-99-{:04}", n + 1))
                    .set("commune_code", c.code.clone())
                    .set("species", species)
                    .set("head_count", i64::try_from(head).unwrap_or(0))
                    .set("scale", scale)
                    .set("biosecurity", biosecurity)
                    .set("owner_name", names::person(&mut rng))
                    .set("owner_phone", names::phone(&mut rng))
                    .build(),
            );
        }
    }
    out
}
